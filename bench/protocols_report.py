#!/usr/bin/env python3
"""Turns the raw outputs of bench/protocols.sh into tables and results JSON.

Reads the run directories under --raw (the layout of bench/report.py: meta, rc, time,
stdout, stderr, summary.json) and writes the sections ws_idle, ws_echo and grpc_unary of
--out, keeping the other sections. Runs nothing, sends no traffic. Standard library only.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import machine_info, metric_values, num, ratio, read_meta, read_text, read_time, table, fmt  # noqa: E402

# Part -> (results section, title, the metric counted as work, its unit).
PARTS = {
    "idle": ("ws_idle", "idle WebSocket sessions (KiB per session: peak RSS minus a 1-session baseline)",
             "ws_sessions", "sessions"),
    "echo": ("ws_echo", "WebSocket echo (messages received per generator CPU-second)",
             "ws_msgs_received", "messages"),
    # One call per iteration: k6's trends carry no count in its summary, so iterations count.
    "grpc": ("grpc_unary", "unary gRPC GetProduct (calls per generator CPU-second)",
             "iterations", "calls"),
}


def read_run(run_dir, work_metric):
    meta = read_meta(run_dir)
    rec = dict(meta)
    for key in ("vus", "round"):
        if key in rec and str(rec[key]).isdigit():
            rec[key] = int(rec[key])
    rc = (read_text(os.path.join(run_dir, "rc")) or "").strip()
    rec["exit_code"] = int(rc) if rc.lstrip("-").isdigit() else None
    problems = []
    t = read_time(run_dir)
    if t:
        rec.update(t)
        rec["cpu_s"] = round(t["user_s"] + t["sys_s"], 3)
    else:
        problems.append("no /usr/bin/time figures")
    text = read_text(os.path.join(run_dir, "summary.json"))
    summary = None
    if text is None:
        problems.append("no summary JSON written")
    else:
        try:
            summary = json.loads(text)
        except ValueError as e:
            problems.append(f"summary JSON unreadable: {e}")
    if summary is not None:
        work = metric_values(summary, work_metric)
        rec["work"] = num(work, "count")
        rec["work_rate"] = num(work, "rate")
        checks = metric_values(summary, "checks")
        rec["checks_passes"] = num(checks, "passes")
        rec["checks_fails"] = num(checks, "fails")
        for name, key in (("ws_connecting", "ws_connecting"), ("grpc_req_duration", "grpc_req_duration"),
                          ("ws_session_duration", "ws_session_duration")):
            v = metric_values(summary, name)
            if v:
                rec[f"{key}_p95_ms"] = num(v, "p(95)", "p95")
                rec[f"{key}_p99_ms"] = num(v, "p(99)", "p99")
        sent = metric_values(summary, "ws_msgs_sent")
        if sent:
            rec["ws_msgs_sent"] = num(sent, "count")
        if rec["work"] is None:
            problems.append(f"no {work_metric} in the summary")
    if rec.get("exit_code") in (124, 137):
        problems.append("killed by timeout")
    elif rec.get("exit_code") not in (0, 99, None):
        problems.append(f"exit code {rec.get('exit_code')}")
    if rec.get("checks_fails"):
        problems.append(f"{int(rec['checks_fails'])} checks failed")
    if rec.get("work") and rec.get("cpu_s"):
        rec["per_cpu_s"] = round(rec["work"] / rec["cpu_s"], 1)
    if problems:
        rec["error"] = "; ".join(problems)
        rec["stderr_tail"] = (read_text(os.path.join(run_dir, "stderr")) or "").strip().splitlines()[-5:]
    return rec


def load(raw, part):
    _, _, metric, _ = PARTS[part]
    runs = {}
    for name in sorted(os.listdir(raw)) if os.path.isdir(raw) else []:
        d = os.path.join(raw, name)
        if name.startswith(part + "-") and os.path.isfile(os.path.join(d, "meta")):
            runs[name] = read_run(d, metric)
    return runs


def idle(runs):
    out = {"runs": runs, "kib_per_session": {}}
    for tool in ("volley", "k6"):
        base, big = runs.get(f"idle-{tool}-1", {}), runs.get(f"idle-{tool}-n", {})
        if base.get("peak_rss_kib") and big.get("peak_rss_kib") and big.get("vus"):
            out["kib_per_session"][tool] = round((big["peak_rss_kib"] - base["peak_rss_kib"]) / big["vus"], 2)
    v, k = out["kib_per_session"].get("volley"), out["kib_per_session"].get("k6")
    out["ratio_k6_over_volley"] = ratio(k, v)
    return out


def median(rs):
    good = sorted((r for r in rs if r.get("per_cpu_s") is not None and not r.get("error")),
                  key=lambda r: r["per_cpu_s"])
    return good[(len(good) - 1) // 2] if good else (rs[0] if rs else {})


def throughput(runs):
    by_tool = {}
    for r in runs.values():
        by_tool.setdefault(r.get("tool"), []).append(r)
    med = {t: median(rs) for t, rs in by_tool.items()}
    rounds = {}
    for t, rs in by_tool.items():
        for r in rs:
            rounds.setdefault(r.get("round"), {})[t] = r.get("per_cpu_s")
    per_round = [{"round": n, "per_cpu_s": row, "volley_vs_k6": ratio(row.get("volley"), row.get("k6"))}
                 for n, row in sorted(rounds.items(), key=lambda kv: kv[0] or 0)]
    return {"runs": med, "rounds": per_round, "all_runs": runs,
            "ratios": {"volley_vs_k6": ratio(med.get("volley", {}).get("per_cpu_s"), med.get("k6", {}).get("per_cpu_s"))},
            "ghz": "not installable from the registries reachable here (Debian, PyPI, npm, crates.io)"}


def show(part, data):
    section, title, _, unit = PARTS[part]
    print(f"\n{section}: {title}")
    if part == "idle":
        rows = []
        for name, r in data["runs"].items():
            rows.append([name, fmt(r.get("vus")), fmt(r.get("work")), fmt(r.get("ws_connecting_p95_ms"), 1),
                         fmt((r.get("peak_rss_kib") or 0) / 1024, 1), fmt(r.get("cpu_s"), 2), r.get("error", "")])
        print(table(["run", "VUs", "sessions", "connect p95 ms", "peak RSS MiB", "CPU s", "error"], rows))
        kps = data["kib_per_session"]
        print(f"KiB per session: Volley {fmt(kps.get('volley'), 2)}, k6 {fmt(kps.get('k6'), 2)}; "
              f"k6/Volley {fmt(data['ratio_k6_over_volley'], 1)}")
        return
    rows = []
    for tool, r in sorted(data["runs"].items()):
        p99 = r.get("grpc_req_duration_p99_ms")
        rows.append([tool, fmt(r.get("work")), fmt(r.get("work_rate"), 0), fmt(p99, 2), fmt(r.get("cpu_s"), 2),
                     fmt(r.get("per_cpu_s"), 0), fmt((r.get("peak_rss_kib") or 0) / 1024, 1)])
    print(table(["tool (median round)", unit, f"{unit}/s", "p99 ms", "CPU s", f"{unit}/CPU-s", "peak RSS MiB"], rows))
    for rd in data["rounds"]:
        print(f"  round {rd['round']}: {rd['per_cpu_s']}, Volley/k6 {rd['volley_vs_k6']}")
    print(f"Volley/k6 in {unit} per CPU-second: {fmt(data['ratios']['volley_vs_k6'], 2)}")
    for r in data["all_runs"].values():
        if r.get("error"):
            print(f"  {r.get('tool')} round {r.get('round')}: {r['error']} {r.get('stderr_tail')}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--parts", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--info", default="")
    args = ap.parse_args()
    try:
        with open(args.out, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {}
    info = {}
    for line in (read_text(args.info) or "").splitlines() if args.info else []:
        if "=" in line:
            k, v = line.split("=", 1)
            info[k.strip()] = v.strip()
    results["machine"] = machine_info()
    failed = False
    for part in args.parts.split():
        runs = load(args.raw, part)
        data = idle(runs) if part == "idle" else throughput(runs)
        data.update(measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), quick=args.quick, info=info)
        results[PARTS[part][0]] = data
        show(part, data)
        failed = failed or not runs or any(r.get("error") for r in runs.values())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"\nresults: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
