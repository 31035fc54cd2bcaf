#!/usr/bin/env python3
"""Turns the raw outputs that bench/run.sh collects into tables and results JSON.

Each measured run is a directory under --raw holding:
  meta          key=value lines written by run.sh (tool, part, role, vus, duration_s, ...)
  rc            the exit code of the tool (under `timeout`)
  time          `/usr/bin/time -f '%e %U %S %M'`: elapsed, user, sys, max RSS (KiB)
  stdout/stderr the tool's own output (wrk's figures are parsed from stdout)
  summary.json  k6's handleSummary data or Volley's --summary-json (same k6 shape)

This script only reads those files and writes the results JSON; it runs nothing and
sends no traffic. Standard library only.
"""

import argparse
import json
import os
import platform
import re
import sys
import time

GOALS = {
    "volley_vs_wrk_min": 0.90,  # SPEC §8: >= 90 % of wrk's requests per CPU-second
    "volley_vs_k6_min": 8.0,  # SPEC §8: >= 8x k6's requests per CPU-second
    "kib_per_vu_max": 32.0,  # SPEC §8: <= 32 KiB per VU holding a connection
    "arrival_hold_pct": 1.0,  # SPEC §8: rate held within 1 %, no drops
    "https_vs_wrk_min": 0.90,  # issue 17: HTTPS keep-alive >= 0.9x wrk over TLS
    "https_vs_k6_min": 10.0,  # issue 17: HTTPS keep-alive >= 10x k6
    "h2_vs_h2load_min": 0.80,  # issue 17: HTTP/2 >= 0.8x h2load
}

# The throughput parts: part number -> (title, reference tool, goal vs the reference, goal
# vs k6). Each is part 1's shape (50 VUs, a GET and a check per iteration).
TP_PARTS = {
    1: ("throughput (50 VUs, GET + check, requests per generator CPU-second)", "wrk",
        "volley_vs_wrk_min", "volley_vs_k6_min"),
    4: ("HTTPS keep-alive (50 VUs, GET + check over TLS, HTTP/1.1, requests per generator CPU-second)",
        "wrk", "https_vs_wrk_min", "https_vs_k6_min"),
    5: ("HTTP/2 over TLS (50 VUs, one connection and stream each, requests per generator CPU-second)",
        "h2load", "h2_vs_h2load_min", None),
}


# --- reading one run -------------------------------------------------------------------


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_meta(run_dir):
    meta = {}
    for line in (read_text(os.path.join(run_dir, "meta")) or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            meta[k.strip()] = v.strip()
    return meta


def read_time(run_dir):
    """Parses the last line of /usr/bin/time's output (earlier lines may be its notes)."""
    text = read_text(os.path.join(run_dir, "time")) or ""
    for line in reversed(text.strip().splitlines()):
        parts = line.split()
        if len(parts) == 4:
            try:
                elapsed, user, sys_s, rss = (float(p) for p in parts)
            except ValueError:
                continue
            return {"elapsed_s": elapsed, "user_s": user, "sys_s": sys_s, "peak_rss_kib": int(rss)}
    return None


WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_duration_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    return float(m.group(1)) * WRK_UNITS[m.group(2)] if m else None


def parse_wrk(stdout):
    out = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", stdout)
    if m:
        out["requests"] = int(m.group(1))
        out["run_s"] = float(m.group(2)) * WRK_UNITS[m.group(3)] / 1e3
    m = re.search(r"Requests/sec:\s+([\d.]+)", stdout)
    if m:
        out["rps"] = float(m.group(1))
    m = re.search(r"^\s*99%\s+(\S+)", stdout, re.M)
    if m:
        out["p99_ms"] = wrk_duration_ms(m.group(1))
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", stdout)
    if m:
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
    if m:
        errors += int(m.group(1))
    out["errors"] = errors
    return out


def parse_h2load(stdout):
    """h2load's end-of-run figures. It prints no percentiles (only min/max/mean/sd of the
    request time), so its p99 stays unknown rather than being estimated."""
    out = {}
    m = re.search(r"finished in ([\d.]+)(us|ms|s|m|h), ([\d.]+) req/s", stdout)
    if m:
        out["run_s"] = float(m.group(1)) * WRK_UNITS[m.group(2)] / 1e3
        out["rps"] = float(m.group(3))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", stdout)
    if m:
        out["requests"] = int(m.group(4))
        out["errors"] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", stdout)
    if m:
        out["errors"] = out.get("errors", 0) + int(m.group(3)) + int(m.group(4))
    m = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", stdout)
    if m:
        out["mean_ms"] = wrk_duration_ms(m.group(3))
    if "requests" not in out:
        out["parse_error"] = "no h2load figures in its output"
    return out


def metric_values(summary, name):
    """A metric's values in either k6 shape: handleSummary (`values`) or summary-export."""
    metric = (summary.get("metrics") or {}).get(name)
    if not isinstance(metric, dict):
        return None
    values = metric.get("values")
    return values if isinstance(values, dict) else metric


def num(values, *keys):
    if not values:
        return None
    for key in keys:
        v = values.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def parse_summary(path):
    """Reads the k6-shaped summary that both k6 (handleSummary) and Volley write."""
    text = read_text(path)
    if text is None:
        return None, "no summary JSON written"
    try:
        summary = json.loads(text)
    except ValueError as e:
        return None, f"summary JSON unreadable: {e}"
    reqs = metric_values(summary, "http_reqs")
    dur = metric_values(summary, "http_req_duration")
    its = metric_values(summary, "iterations")
    dropped = metric_values(summary, "dropped_iterations")
    failed = metric_values(summary, "http_req_failed")
    checks = metric_values(summary, "checks")
    vus_max = metric_values(summary, "vus_max")
    out = {
        "requests": num(reqs, "count"),
        "rps": num(reqs, "rate"),
        "p99_ms": num(dur, "p(99)", "p99"),
        "p95_ms": num(dur, "p(95)", "p95"),
        "med_ms": num(dur, "med", "p(50)"),
        "iterations": num(its, "count"),
        # k6 leaves dropped_iterations out of the summary when nothing was dropped.
        "dropped_iterations": num(dropped, "count") if dropped else 0.0,
        "http_req_failed_rate": num(failed, "rate", "value"),
        "checks_passes": num(checks, "passes"),
        "checks_fails": num(checks, "fails"),
        "vus_max": num(vus_max, "max", "value"),
    }
    if out["requests"] is not None:
        out["requests"] = int(out["requests"])
    for key in ("iterations", "dropped_iterations", "checks_passes", "checks_fails", "vus_max"):
        if out[key] is not None:
            out[key] = int(out[key])
    return out, None


def read_run(run_dir):
    meta = read_meta(run_dir)
    rec = {k: meta[k] for k in meta}
    for key in ("vus", "requested_vus", "rate", "part", "processes"):
        if key in rec:
            try:
                rec[key] = int(rec[key])
            except ValueError:
                pass
    if "duration_s" in rec:
        rec["duration_s"] = float(rec["duration_s"])
    rc_text = (read_text(os.path.join(run_dir, "rc")) or "").strip()
    rec["exit_code"] = int(rc_text) if rc_text.lstrip("-").isdigit() else None
    problems = []
    t = read_time(run_dir)
    if t:
        rec.update(t)
        rec["cpu_s"] = round(t["user_s"] + t["sys_s"], 3)
    else:
        problems.append("no /usr/bin/time figures")
    tool = meta.get("tool", "")
    if tool == "wrk":
        rec.update(parse_wrk(read_text(os.path.join(run_dir, "stdout")) or ""))
    elif tool == "h2load":
        rec.update(parse_h2load(read_text(os.path.join(run_dir, "stdout")) or ""))
        if rec.get("parse_error"):
            problems.append(rec.pop("parse_error"))
    elif tool in ("k6", "volley"):
        parsed, err = parse_summary(os.path.join(run_dir, "summary.json"))
        if parsed:
            rec.update(parsed)
        else:
            problems.append(err)
    if rec.get("exit_code") == 124 or rec.get("exit_code") == 137:
        problems.append("killed by timeout")
    elif rec.get("exit_code") not in (0, 99, None):
        # 99 is "a threshold failed": the run completed and its figures stand.
        problems.append(f"exit code {rec.get('exit_code')}")
    if rec.get("requests") and rec.get("cpu_s"):
        rec["req_per_cpu_s"] = round(rec["requests"] / rec["cpu_s"], 1)
    if problems:
        stderr = (read_text(os.path.join(run_dir, "stderr")) or "").strip().splitlines()
        rec["error"] = "; ".join(problems)
        rec["stderr_tail"] = stderr[-5:]
    return rec


def load_runs(raw):
    runs = {}
    if not os.path.isdir(raw):
        return runs
    for name in sorted(os.listdir(raw)):
        d = os.path.join(raw, name)
        if os.path.isfile(os.path.join(d, "meta")):
            runs[name] = read_run(d)
    return runs


# --- the three parts -------------------------------------------------------------------


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def median_run(runs):
    """The run with the median requests per CPU-second (the lower middle of an even count)
    among the runs that have the figure; a failed round is never the one reported while a
    good one exists (it is listed under "failed" all the same)."""
    good = sorted((r for r in runs if r.get("req_per_cpu_s") is not None), key=lambda r: r["req_per_cpu_s"])
    if not good:
        return runs[0] if runs else {}
    return good[(len(good) - 1) // 2]


def throughput_part(runs, part):
    """Parts 1, 4 and 5: each tool's median round, the ratios to the reference tool and to
    k6, every round's figures. The ratio keys keep part 1's names (`volley_vs_wrk`) and
    name the reference of the others (`volley_vs_h2load`)."""
    _, ref, ref_goal, k6_goal = TP_PARTS[part]
    by_tool = {}
    for r in runs.values():
        if r.get("part") == part:
            by_tool.setdefault(r["tool"], []).append(r)
    tools = {t: median_run(rs) for t, rs in by_tool.items()}
    v, w, k = (tools.get(t, {}) for t in ("volley", ref, "k6"))
    vw = ratio(v.get("req_per_cpu_s"), w.get("req_per_cpu_s"))
    vk = ratio(v.get("req_per_cpu_s"), k.get("req_per_cpu_s"))
    # Every round's figures, and the ratios of the tools within each round.
    rounds = {}
    for t, rs in by_tool.items():
        for r in rs:
            rounds.setdefault(r.get("round", "1"), {})[t] = r.get("req_per_cpu_s")
    per_round = []
    for n in sorted(rounds, key=lambda n: int(n) if str(n).isdigit() else 0):
        row = rounds[n]
        per_round.append({
            "round": n,
            "req_per_cpu_s": row,
            f"volley_vs_{ref}": ratio(row.get("volley"), row.get(ref)),
            "volley_vs_k6": ratio(row.get("volley"), row.get("k6")),
        })
    goals = {f"volley_vs_{ref}_min": GOALS[ref_goal]}
    met = {f"volley_vs_{ref}": None if vw is None else vw >= GOALS[ref_goal], "volley_vs_k6": None}
    if k6_goal:
        goals["volley_vs_k6_min"] = GOALS[k6_goal]
        met["volley_vs_k6"] = None if vk is None else vk >= GOALS[k6_goal]
    return {
        "reference": ref,
        "runs": tools,
        "rounds": per_round,
        # Failed runs of any round, not only of the medians: a failure is never hidden.
        "failed": [r for rs in by_tool.values() for r in rs if r.get("error")],
        "ratios": {f"volley_vs_{ref}": vw, "volley_vs_k6": vk},
        "goals": goals,
        "met": met,
    }


def part1(runs):
    return throughput_part(runs, 1)


def part4(runs):
    return throughput_part(runs, 4)


def part5(runs):
    return throughput_part(runs, 5)


def combine_split(parts):
    """One record for the processes of a split run (run.sh split_volley): VUs, peak RSS and
    requests add up; a failure of any process is the record's."""
    first = parts[0]
    rec = {k: first.get(k) for k in ("tool", "part", "role", "requested_vus", "duration_s")}
    rec["processes"] = len(parts)
    for key in ("vus", "peak_rss_kib", "requests"):
        values = [p.get(key) for p in parts]
        rec[key] = sum(values) if all(isinstance(v, (int, float)) for v in values) else None
    failed = [(p.get("http_req_failed_rate"), p.get("requests")) for p in parts]
    if all(isinstance(f, (int, float)) and n for f, n in failed):
        rec["http_req_failed_rate"] = round(sum(f * n for f, n in failed) / sum(n for _, n in failed), 6)
    codes = [p.get("exit_code") for p in parts]
    rec["exit_code"] = next((c for c in codes if c not in (0, 99)), codes[0])
    errors = [f"{p.get('split')}.{i + 1}: {p['error']}" for i, p in enumerate(parts) if p.get("error")]
    if errors:
        rec["error"] = "; ".join(errors)
        rec["stderr_tail"] = next(p.get("stderr_tail") for p in parts if p.get("error"))
    return rec


def part2(runs):
    mine = {n: r for n, r in runs.items() if r.get("part") == 2}
    splits = {}
    for name, r in list(mine.items()):
        if r.get("split"):
            splits.setdefault(r["split"], []).append((name, r))
            del mine[name]
    for split, parts in splits.items():
        mine[split] = combine_split([r for _, r in sorted(parts)])
    baselines = {r["tool"]: r for r in mine.values() if r.get("role") == "baseline"}
    results = {}
    for name, r in mine.items():
        if r.get("role") != "load":
            continue
        base = baselines.get(r["tool"], {})
        entry = dict(r)
        entry["baseline_rss_kib"] = base.get("peak_rss_kib")
        vus = r.get("vus")
        procs = r.get("processes") or 1
        if r.get("peak_rss_kib") and base.get("peak_rss_kib") and vus:
            entry["kib_per_vu"] = round((r["peak_rss_kib"] - procs * base["peak_rss_kib"]) / vus, 2)
            if r["tool"] == "volley":
                entry["met"] = entry["kib_per_vu"] <= GOALS["kib_per_vu_max"]
        results[name] = entry
    return {"runs": results, "baselines": baselines, "goals": {"kib_per_vu_max": GOALS["kib_per_vu_max"]}}


def part3(runs):
    out = {}
    for r in runs.values():
        if r.get("part") != 3:
            continue
        entry = dict(r)
        its, dur, rate = r.get("iterations"), r.get("duration_s"), r.get("rate")
        if its is not None and dur:
            entry["achieved_per_s"] = round(its / dur, 1)
            if rate:
                entry["hold_pct"] = round(100.0 * its / (dur * rate), 2)
        dropped = r.get("dropped_iterations")
        if dropped is not None and rate and dur:
            entry["dropped_pct"] = round(100.0 * dropped / (rate * dur), 3)
        if "hold_pct" in entry and dropped is not None and r["tool"] == "volley":
            entry["met"] = abs(100.0 - entry["hold_pct"]) <= GOALS["arrival_hold_pct"] and dropped == 0
        out[r["tool"]] = entry
    return {"runs": out, "goals": {"hold_within_pct": GOALS["arrival_hold_pct"], "dropped": 0}}


# --- printing --------------------------------------------------------------------------


def fmt(v, digits=None):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if digits is None:
            digits = 2 if abs(v) < 100 else 1
        return f"{v:,.{digits}f}"
    return str(v)


def table(headers, rows):
    cells = [headers] + [[fmt(c) if not isinstance(c, str) else c for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_errors(runs):
    for r in runs:
        if r.get("error"):
            what = f"{r.get('vus')} VUs" if r.get("vus") else f"{r.get('rate')}/s"
            print(f"  ! {r.get('tool')} {r.get('role', '')} ({what}): {r['error']}")
            for line in r.get("stderr_tail", []):
                print(f"      {line}")


def print_throughput(p, part):
    title, ref, ref_goal, k6_goal = TP_PARTS[part]
    rounds = p.get("rounds") or []
    print(f"\n== Part {part}: {title}")
    if len(rounds) > 1:
        print(f"   each tool's median of {len(rounds)} interleaved rounds")
    rows = []
    for tool in (ref, "k6", "volley"):
        r = p["runs"].get(tool)
        if r:
            rows.append([tool, r.get("requests"), r.get("rps"), r.get("p99_ms"), r.get("cpu_s"),
                         r.get("req_per_cpu_s"), r.get("peak_rss_kib"), r.get("exit_code")])
    print(table(["tool", "requests", "RPS", "p99 ms", "CPU s", "req/CPU-s", "peak RSS KiB", "rc"], rows))
    if ref == "h2load":
        print("   (h2load prints no percentiles: its p99 is not known)")
    if len(rounds) > 1:
        rows = [[str(x["round"]), x["req_per_cpu_s"].get(ref), x["req_per_cpu_s"].get("k6"),
                 x["req_per_cpu_s"].get("volley"), x[f"volley_vs_{ref}"], x["volley_vs_k6"]] for x in rounds]
        print()
        print(table(["round", f"{ref} req/CPU-s", "k6 req/CPU-s", "volley req/CPU-s", f"volley/{ref}", "volley/k6"],
                    rows))
    ra, met = p["ratios"], p["met"]
    print(f"Volley/{ref} req/CPU-s: {fmt(ra[f'volley_vs_{ref}'], 3)} (goal >= {GOALS[ref_goal]}, "
          f"met: {fmt(met[f'volley_vs_{ref}'])})")
    k6_text = f"goal >= {GOALS[k6_goal]}, met: {fmt(met['volley_vs_k6'])}" if k6_goal else "no goal"
    print(f"Volley/k6 req/CPU-s: {fmt(ra['volley_vs_k6'], 3)} ({k6_text})")
    print_errors(p.get("failed", []))


def print_part1(p):
    print_throughput(p, 1)


def print_part4(p):
    print_throughput(p, 4)


def print_part5(p):
    print_throughput(p, 5)


def print_part2(p):
    print("\n== Part 2: memory per VU (GET then sleep 1s; peak RSS minus a 1-VU baseline)")
    rows = []
    for r in sorted(p["runs"].values(), key=lambda r: (r.get("tool", ""), r.get("vus") or 0)):
        vus = fmt(r.get("vus"))
        if r.get("requested_vus") and r.get("requested_vus") != r.get("vus"):
            vus += f" (of {fmt(r['requested_vus'])})"
        if r.get("processes"):
            vus += f" in {r['processes']} processes"
        rows.append([r.get("tool"), vus, r.get("peak_rss_kib"), r.get("baseline_rss_kib"),
                     r.get("kib_per_vu"), r.get("requests"), r.get("http_req_failed_rate"), r.get("exit_code")])
    print(table(["tool", "VUs", "peak RSS KiB", "baseline KiB", "KiB/VU", "requests", "failed rate", "rc"], rows))
    print(f"goal: Volley <= {GOALS['kib_per_vu_max']} KiB per VU")
    for r in p["runs"].values():
        if r.get("capped"):
            print(f"  note: {r['tool']} ran {fmt(r.get('vus'))} VUs, not {fmt(r.get('requested_vus'))}: {r['capped']}")
        if r.get("processes"):
            print(f"  note: {fmt(r.get('vus'))} {r['tool']} VUs ran in {r['processes']} processes at once (one holds"
                  f" fewer: open files); peak RSS is their sum, minus {r['processes']} baselines")
    print_errors(list(p["runs"].values()) + list(p["baselines"].values()))


def print_part3(p):
    print("\n== Part 3: open model (constant arrival rate on one core)")
    rows = []
    for tool in ("k6", "volley"):
        r = p["runs"].get(tool)
        if r:
            rows.append([tool, r.get("rate"), r.get("iterations"), r.get("achieved_per_s"), r.get("hold_pct"),
                         r.get("dropped_iterations"), r.get("dropped_pct"), r.get("p99_ms"), r.get("cpu_s"),
                         r.get("exit_code")])
    print(table(["tool", "target/s", "iterations", "achieved/s", "hold %", "dropped", "dropped %", "p99 ms",
                 "CPU s", "rc"], rows))
    print(f"goal: Volley holds the rate within {GOALS['arrival_hold_pct']} % with no drops")
    print_errors(p["runs"].values())


# --- main ------------------------------------------------------------------------------


def machine_info():
    model = None
    for line in (read_text("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True, help="directory of raw runs")
    ap.add_argument("--out", required=True, help="results JSON to write (merged per part)")
    ap.add_argument("--parts", required=True, help="parts run this time, e.g. '1 2 3'")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--info", default="", help="file of key=value lines (versions, pinning)")
    args = ap.parse_args()

    runs = load_runs(args.raw)
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
    parts = [p for p in args.parts.replace(",", " ").split() if p]
    builders = {"1": (part1, print_part1), "2": (part2, print_part2), "3": (part3, print_part3),
                "4": (part4, print_part4), "5": (part5, print_part5)}
    failed = False
    for part in parts:
        build, show = builders[part]
        data = build(runs)
        data["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data["quick"] = args.quick
        data["info"] = info
        results[f"part{part}"] = data
        show(data)
        all_runs = list(data["runs"].values()) + list(data.get("baselines", {}).values()) + data.get("failed", [])
        failed = failed or not all_runs or any(r.get("error") for r in all_runs)
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
