#!/usr/bin/env python3
"""Checks scripts/plot and `synwave plot` on runs' JSON (TAP, a case per check): the PNG is a PNG of the figure's
size, --dump (what matplotlib holds in its lines) equals the series of the JSON, several runs are told apart,
bad inputs exit 2 naming the file, and `synwave plot` is the script. The inputs are made here following the
run JSON of 0.14.0 (series: one object per second), then a real 3-second `synwave storm --json`.

Usage: plot_check.py <synwave executable> <scripts/plot>
The script runs under /usr/bin/python3 (Debian's, with python3-matplotlib); this checker needs no matplotlib."""
import json, os, struct, subprocess, sys, tempfile

PYTHON = "/usr/bin/python3"
# The TCP states drawn one by one beside active, timewait (TIME-WAIT) and half_open (SYN-RECEIVED).
OPEN_STATES = ("SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK")
WIDTH, HEIGHT = 900, 990  # the figure: 10 x 11 inches at 90 dpi
cases = []


def check(name, ok, detail=""):
    cases.append((name, bool(ok), detail))


def side(t, k, client, kinds=("connect",)):
    """One second of one side; k makes each run's numbers its own. Second 2 has no latency sample."""
    c = {"opened": 100 * t * k, "completed": 90 * t * k + 7, "failed": (t * k) % 3, "opened_v6": 0,
         "opened_total": 0, "completed_total": 0, "failed_total": 0,
         "active": 50 + t * k, "timewait": 10 * t * k, "half_open": 3 + k,
         "states": {"ESTABLISHED": 50 + t * k, "TIME-WAIT": 10 * t * k}, "rtx": t + k, "drops": t * k % 2}
    if client:
        c["latency"] = {kind: {"count": 0 if t == 2 else 40, "p50": 21000 * t * k + 300 * i,
                               "p90": 33000 * t * k, "p99": 47000 * t * k + 500 * i, "max": 90000 * t * k,
                               "buckets": []} for i, kind in enumerate(kinds)}
    else:
        c["opened"] += 1  # server: accepted, not the client's count
    return c


def run_json(seconds, k, instance=(0, 1), kinds=("connect",), sides=("client", "server"), last=1.0):
    """`last`: the length of the last interval (a run ends within a second: its last interval is partial)."""
    return {"mode": "storm" if len(sides) == 2 else sides[0], "duration_s": seconds,
            "synwave": {"version": "0.14.0", "commit": "000000000000"},
            "start": {"unix_s": 1765000000.5, "utc": "2025-12-06T05:46:40.500Z"},
            "instance": {"index": instance[0], "count": instance[1]},
            "series": [dict({"t": t, "unix_s": 1765000000.5 + t - (1 - last) * (t == seconds), "nic_drops": t % 2},
                            **{s: side(t, k, s == "client", kinds) for s in sides}) for t in range(1, seconds + 1)]}


def write(path, obj):
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def png_size(path):
    """(width, height) from the IHDR chunk; None unless the file starts with the PNG signature and IHDR."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def plot(cmd_prefix, args):
    return subprocess.run(cmd_prefix + args, capture_output=True, text=True, timeout=120)


def panel(d, name):
    return next(p for p in d["panels"] if p["name"] == name)


def lines(d, name, run=None):
    return {ln["metric"]: ln for ln in panel(d, name)["lines"] if run is None or ln["run"] == run}


def series_checks(tag, d, j, run, side_name):
    """The drawn lines of one run equal its series: x = t, each panel's metric the JSON's value of that second."""
    ser = j["series"]
    ts = [s["t"] for s in ser]
    # The last interval shorter than 0.95 s: drawn at its end, its counts as a rate (none under 0.05 s).
    per_s = [1] * len(ser)
    length = ser[-1].get("interval_s", ser[-1]["unix_s"] - (ser[-2]["unix_s"] if len(ser) > 1 else j["start"]["unix_s"]))
    if length < 0.95:
        ts[-1] = ser[-1]["t"] - 1 + length
        per_s[-1] = 1 / length if length >= 0.05 else None
    col = lambda f: [f(s[side_name]) if side_name in s else None for s in ser]  # noqa: E731
    rate = lambda vs: [v * k if v is not None and k is not None else None for v, k in zip(vs, per_s)]  # noqa: E731
    want = {("connections", m): rate(col(lambda c, m=m: c[m])) for m in ("opened", "completed", "failed")}
    want.update({("open", m): col(lambda c, m=m: c[m]) for m in ("active", "timewait", "half_open")})
    for st in OPEN_STATES:  # a state's line when some second had a connection in it
        values = col(lambda c, st=st: c.get("states", {}).get(st))
        if any(values):
            want[("open", st)] = values
    want.update({("losses", m): rate(col(lambda c, m=m: c[m])) for m in ("rtx", "drops")})
    want[("losses", "nic_drops")] = rate([s["nic_drops"] for s in ser])
    kinds = {k for s in ser for k in s.get(side_name, {}).get("latency", {})}
    for kind in kinds:
        for p in ("p50", "p99"):
            want[("latency", f"{kind} {p}")] = col(
                lambda c, kind=kind, p=p: c["latency"][kind][p] / 1e6 if c["latency"][kind]["count"] else None)
    for (pname, metric), values in sorted(want.items()):
        ln = lines(d, pname, run).get(metric)
        ok = ln is not None and len(ln["x"]) == len(ts) and all(abs(a - b) < 1e-6 for a, b in zip(ln["x"], ts)) and len(
            ln["y"]) == len(values) and all(
            (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(b)))
            for a, b in zip(ln["y"], values))
        check(f"{tag}: {pname} {metric} drawn = the series ({values[:6]}...)", ok,
              f"drawn {ln and ln['y'][:6]}")
    drawn = {(p["name"], ln["metric"]) for p in d["panels"] for ln in p["lines"] if ln["run"] == run}
    check(f"{tag}: no line beyond the series' metrics", drawn == set(want), f"{sorted(drawn ^ set(want))}")


def main(exe, script):
    tmp = tempfile.mkdtemp(prefix="plot_check.")
    P = lambda n: os.path.join(tmp, n)  # noqa: E731
    script_cmd = [PYTHON, script]
    a = run_json(5, 1, kinds=("connect",))
    b = run_json(4, 2, instance=(1, 2), kinds=("connect", "first_byte", "response"), last=0.25)
    c = run_json(3, 3, last=0.01)
    for x in c["series"]:  # c says its intervals' lengths (b: only from unix_s)
        x["interval_s"] = 0.01 if x["t"] == 3 else 1.0
    write(P("a.json"), a)
    write(P("b.json"), b)
    write(P("c.json"), c)

    # One run: the PNG and what is drawn.
    p = plot(script_cmd, [P("a.json"), "-o", P("a.png"), "--dump"])
    check("one run: exit 0", p.returncode == 0, p.stderr)
    d = json.loads(p.stdout) if p.returncode == 0 else {"panels": [], "figure": {}, "runs": []}
    check(f"one run: a PNG of {WIDTH}x{HEIGHT} (IHDR)", os.path.exists(P("a.png")) and png_size(P("a.png")) == (WIDTH, HEIGHT),
          f"{os.path.exists(P('a.png')) and png_size(P('a.png'))}")
    check("one run: --dump says the same size", (d["figure"].get("width_px"), d["figure"].get("height_px")) == (WIDTH, HEIGHT))
    check("one run: labelled by its file name, client side", [(r["label"], r["side"]) for r in d["runs"]] == [("a", "client")])
    if d["panels"]:
        series_checks("one run", d, a, "a", "client")
        check("one run: latency on a log axis, connect only (no first_byte/response in the JSON)",
              panel(d, "latency")["yscale"] == "log" and panel(d, "latency")["legend"] == ["connect p50", "connect p99"])
        check("one run: the metrics' colours differ", len({ln["colour"] for ln in panel(d, "connections")["lines"]}) == 3)

    # --side server: the server's counts, no latency (a client measure).
    p = plot(script_cmd, [P("a.json"), "--side", "server", "--dump"])
    d = json.loads(p.stdout) if p.returncode == 0 else None
    check("--side server: exit 0, no PNG asked", p.returncode == 0, p.stderr)
    if d:
        series_checks("--side server", d, a, "a", "server")
        check("--side server: no latency line", panel(d, "latency")["lines"] == [])

    # Two runs: two labelled, differently coloured lines per metric, each its own series; first_byte and response
    # drawn for the run that has them.
    p = plot(script_cmd, [P("a.json"), P("b.json"), "-o", P("ab.png"), "--title", "a vs b", "--dump"])
    check("two runs: exit 0", p.returncode == 0, p.stderr)
    d = json.loads(p.stdout) if p.returncode == 0 else None
    if d:
        opened = [ln for ln in panel(d, "connections")["lines"] if ln["metric"] == "opened"]
        check("two runs: two 'opened' lines labelled a and b in two colours",
              sorted(ln["label"] for ln in opened) == ["a: opened", "b: opened"] and len({ln["colour"] for ln in opened}) == 2)
        check("two runs: the figure's legend names both runs", d["figure"]["legend"] == ["a", "b"], d["figure"])
        check("two runs: the title given", d["figure"]["title"] == "a vs b")
        series_checks("two runs, a", d, a, "a", "client")
        series_checks("two runs, b", d, b, "b", "client")
        check("two runs: b's response p99 drawn, a has none",
              "response p99" in lines(d, "latency", "b") and "response p99" not in lines(d, "latency", "a"))
        check(f"two runs: PNG {WIDTH}x{HEIGHT}", png_size(P("ab.png")) == (WIDTH, HEIGHT))
        last = [r["last_partial"] for r in d["runs"]]
        check("two runs: b's last interval (0.25 s) is partial, a's is not",
              last[0] is None and last[1]["t"] == 4 and abs(last[1]["seconds"] - 0.25) < 1e-6, last)
        ln, gauge = lines(d, "connections", "b")["opened"], lines(d, "open", "b")["active"]
        check("two runs: b's last opened drawn at t 3.25 as a rate (4 x its count), its last active as it is",
              abs(ln["x"][-1] - 3.25) < 1e-6 and abs(ln["y"][-1] - 4 * b["series"][-1]["client"]["opened"]) < 1e-6
              and gauge["y"][-1] == b["series"][-1]["client"]["active"], (ln["x"], ln["y"], gauge["y"]))
    # A last interval of 10 ms (interval_s): too short for a rate, so no count drawn for it; its gauges are.
    p = plot(script_cmd, [P("c.json"), "--dump"])
    d = json.loads(p.stdout) if p.returncode == 0 else None
    check("10 ms last interval: exit 0", p.returncode == 0, p.stderr)
    if d:
        series_checks("10 ms last interval", d, c, "c", "client")
        check("10 ms last interval: no rate drawn for it, the open connections are",
              lines(d, "connections")["completed"]["y"][-1] is None and lines(d, "open")["active"]["y"][-1] is not None)
    # The same file name twice (two instances of one test in two directories): the instance tells them apart.
    os.makedirs(P("i1"))
    write(P("i1/a.json"), dict(a, instance={"index": 1, "count": 2}))
    p = plot(script_cmd, [P("a.json"), P("i1/a.json"), "--dump"])
    d = json.loads(p.stdout) if p.returncode == 0 else None
    check("same file names: labelled by instance", d and [r["label"] for r in d["runs"]] == ["a #0/1", "a #1/2"],
          d and d["runs"])

    # `synwave plot` runs the script with the same arguments: the same dump, byte for byte.
    args = [P("a.json"), P("b.json"), "--dump", "-o", P("syn.png")]
    via_exe, via_script = plot([exe, "plot"], args), plot(script_cmd, args)
    check("synwave plot: exit 0, the same --dump as scripts/plot",
          via_exe.returncode == 0 and via_exe.stdout == via_script.stdout and via_exe.stdout.startswith("{"),
          via_exe.stderr)
    check("synwave plot: its PNG", png_size(P("syn.png")) == (WIDTH, HEIGHT))
    env = dict(os.environ, SYNWAVE_PLOT=P("nowhere"))
    p = subprocess.run([exe, "plot", P("a.json"), "--dump"], capture_output=True, text=True, timeout=60, env=env)
    check("synwave plot: SYNWAVE_PLOT not a file -> exit 2 naming it", p.returncode == 2 and P("nowhere") in p.stderr,
          p.stderr)

    # Bad inputs: exit 2, the file named, no PNG left behind.
    write(P("old.json"), {"mode": "storm", "duration_s": 3, "connections": {}})
    write(P("bad.json"), "{not json")
    write(P("empty.json"), dict(a, series=[]))
    write(P("client_only.json"), run_json(2, 1, sides=("client",)))
    bad = [
        ("a missing file", [P("a.json"), P("missing.json"), "-o", P("x.png")], P("missing.json"), "no such file"),
        ("a JSON without series", [P("old.json"), "-o", P("x.png")], P("old.json"), "(0.14.0+)"),
        ("not JSON", [P("bad.json"), "-o", P("x.png")], P("bad.json"), "not JSON"),
        ("an empty series", [P("empty.json"), "-o", P("x.png")], P("empty.json"), "empty"),
        ("--side server of a client run", [P("client_only.json"), "--side", "server", "-o", P("x.png")],
         P("client_only.json"), "server"),
        ("an output in no directory", [P("a.json"), "-o", P("no/dir/x.png")], P("no/dir/x.png"), "-o"),
        ("an output that is a directory", [P("a.json"), "-o", P("i1")], P("i1"), "-o"),
        ("neither -o nor --dump", [P("a.json")], "-o", "-o"),
        ("an unknown --side", [P("a.json"), "--side", "both", "--dump"], "--side", "both"),
    ]
    for what, args, named, says in bad:
        for how, prefix in (("scripts/plot", script_cmd), ("synwave plot", [exe, "plot"])):
            p = plot(prefix, args)
            check(f"{how}: {what} -> exit 2 naming {os.path.basename(named)}",
                  p.returncode == 2 and named in p.stderr and says in p.stderr and not os.path.exists(P("x.png"))
                  and "Traceback" not in p.stderr, f"rc {p.returncode}: {p.stderr.strip()[-300:]}")

    # A real run: 3 seconds of `synwave storm`.
    r = subprocess.run([exe, "storm", "--quiet", "--duration", "3", "--json", P("storm.json")], capture_output=True,
                       text=True, timeout=120)
    check("storm: exit 0", r.returncode == 0, r.stderr[-500:])
    storm = json.load(open(P("storm.json"))) if r.returncode == 0 else {}
    check("storm: its JSON has a series", len(storm.get("series", [])) >= 3, list(storm))
    if storm.get("series"):
        p = plot([exe, "plot"], [P("storm.json"), "-o", P("storm.png"), "--dump"])
        check("storm: synwave plot exit 0", p.returncode == 0, p.stderr)
        d = json.loads(p.stdout) if p.returncode == 0 else None
        check(f"storm: PNG {WIDTH}x{HEIGHT}", png_size(P("storm.png")) == (WIDTH, HEIGHT))
        if d:
            series_checks("storm", d, storm, "storm", "client")
            check("storm: completed connections drawn (some second with more than 0)",
                  any(v and v > 0 for v in lines(d, "connections")["completed"]["y"]))

    print(f"1..{len(cases)}")
    for i, (name, ok, detail) in enumerate(cases, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
        if not ok and detail:
            print("# " + str(detail).replace("\n", "\n# "))
    if all(ok for _, ok, _ in cases):
        subprocess.run(["rm", "-rf", tmp])
    else:
        print(f"# inputs and outputs kept in {tmp}")
    return 0 if all(ok for _, ok, _ in cases) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
