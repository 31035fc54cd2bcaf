#!/usr/bin/env python3
"""Times `volley lsp` on a large file, as an editor drives it (bench/lsp.sh runs it).

  lsp_client.py VOLLEY FILE [--edits N] [--json OUT]

Starts `VOLLEY lsp` in FILE's directory, speaks LSP over stdio (Content-Length framing),
opens FILE and times until its diagnostics arrive (the first check), then sends N edits
one at a time, each a `didChange` with a range, and times each until the diagnostics of
that version arrive. The edits cycle through three kinds: a comment line appended at the
end, a number changed in a `let` in the middle of the file, and a statement inserted into
a flow in the middle. Prints the first check and the per-edit minimum, median and maximum
(all edits and per kind) in milliseconds; fails when a check reports an error.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import queue
import time


class Client:
    def __init__(self, volley, cwd):
        self.proc = subprocess.Popen(
            [volley, "lsp"], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=None if os.environ.get("VOLLEY_LOG") else subprocess.DEVNULL)
        self.inbox = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.inbox.put(json.loads(out.read(length)))

    def send(self, msg):
        body = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            m = self.inbox.get(timeout=120)
            if m.get("id") == self.next_id:
                return m

    def diagnostics(self, uri, version):
        while True:
            m = self.inbox.get(timeout=120)
            if m.get("method") == "textDocument/publishDiagnostics":
                p = m["params"]
                if p["uri"] == uri and p.get("version") == version:
                    return p["diagnostics"]


def cpu_ms(pid):
    """User + system CPU time of a process so far, in ms (clock-tick resolution)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def position(text, offset):
    """The LSP position (line, UTF-16 column) of a byte offset into an ASCII text."""
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return {"line": line, "character": col}


def edits(text, n):
    """N edits (kind, start offset, end offset, new text), applied one after another."""
    mid = text.find("let team_", len(text) // 2)
    if mid < 0:
        sys.exit("the file is not bench/gen_large.py's")
    team = text[mid + 4:text.index("_pages", mid)]
    let_marker = f"let {team}_pages = pages("
    cart_marker = f"flow {team}_cart("
    out = []
    for i in range(n):
        kind = ("append", "let", "flow")[i % 3]
        if kind == "append":
            start = end = len(text)
            new = f"// edit {i}\n"
        elif kind == "let":
            start = text.index(let_marker) + len(let_marker)
            end = text.index(")", start)
            new = str(200 + i)
        else:
            start = end = text.index("  check \"cart 201\"", text.index(cart_marker))
            new = f"  check \"edit {i}\": cart.status < 500\n"
        out.append((kind, start, end, new))
        text = text[:start] + new + text[end:]
    return out


def summary(ms):
    return {"min": min(ms), "median": statistics.median(ms), "max": max(ms), "n": len(ms)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("volley")
    ap.add_argument("file")
    ap.add_argument("--edits", type=int, default=15)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    path = os.path.abspath(args.file)
    text = open(path, encoding="utf-8").read()
    uri = "file://" + path
    root = os.path.dirname(path)
    c = Client(args.volley, root)
    c.request("initialize", {"processId": None, "rootUri": "file://" + root,
                             "workspaceFolders": [{"uri": "file://" + root, "name": "b"}],
                             "capabilities": {}})
    c.notify("initialized", {})
    cpu0 = cpu_ms(c.proc.pid)
    t = time.perf_counter()
    c.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "volley", "version": 1, "text": text}})
    d = c.diagnostics(uri, 1)
    first = (time.perf_counter() - t) * 1000
    cpu1 = cpu_ms(c.proc.pid)
    errors = [x for x in d if x.get("severity") == 1]
    if errors:
        sys.exit(f"the file has errors: {errors[0]['message']}")
    times = {"append": [], "let": [], "flow": []}
    for v, (kind, start, end, new) in enumerate(edits(text, args.edits), start=2):
        rng = {"start": position(text, start), "end": position(text, end)}
        t = time.perf_counter()
        c.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": v},
            "contentChanges": [{"range": rng, "text": new}]})
        d = c.diagnostics(uri, v)
        times[kind].append((time.perf_counter() - t) * 1000)
        text = text[:start] + new + text[end:]
        errors = [x for x in d if x.get("severity") == 1]
        if errors:
            sys.exit(f"edit {v - 1} ({kind}) gave an error: {errors[0]['message']}")
    cpu2 = cpu_ms(c.proc.pid)
    c.request("shutdown", None)
    c.notify("exit", None)
    c.proc.wait(timeout=10)
    every = [x for k in times for x in times[k]]
    result = {"lines": text.count("\n"), "first_check_ms": first,
              "first_check_cpu_ms": cpu1 - cpu0, "edit_cpu_ms": (cpu2 - cpu1) / len(every),
              "edit_ms": summary(every), "by_kind": {k: summary(v) for k, v in times.items() if v}}
    print(f"first check: {first:.1f} ms ({cpu1 - cpu0:.0f} ms of the server's CPU)")
    print(f"server CPU per edit: {result['edit_cpu_ms']:.1f} ms (average)")
    print("after an edit (ms):   min  median     max   n")
    for name, s in [("all", result["edit_ms"])] + list(result["by_kind"].items()):
        print(f"  {name:<8} {s['min']:8.1f} {s['median']:7.1f} {s['max']:7.1f} {s['n']:3d}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
