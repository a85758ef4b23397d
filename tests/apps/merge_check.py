#!/usr/bin/env python3
"""`synwave merge` on hand-built run JSONs of two instances: every counter the exact sum, the merged histograms
bucket for bucket those of all the samples, latency_ns and each second's percentiles recomputed from them, the
series aligned by floor(unix_s) (instance 1 started 0.5 s later and ran a second longer), and bad inputs refused
with exit 2 naming the file. TAP."""
import json, math, os, random, subprocess, sys, tempfile

SUB_BITS, MAX_BITS = 6, 42

def bucket_index(v):
    v = min(v, (1 << MAX_BITS) - 1)
    e = (v | 1).bit_length() - 1
    s = e - SUB_BITS if e > SUB_BITS else 0
    return s * 64 + (v >> s)

def bucket_upper(i):
    if i < 128:
        return i
    s = (i >> 6) - 1
    return (((i & 63) + 64) << s) + (1 << s) - 1

def nearest_rank(q, n):
    return min(max(math.ceil(q / 100 * n - 1e-9), 1), n)

def buckets(samples):
    b = {}
    for v in samples:
        b[bucket_index(v)] = b.get(bucket_index(v), 0) + 1
    return [[i, b[i]] for i in sorted(b)]

def percentile(samples, q):
    """stats::LatencyHistogram::percentile: the upper edge of the bucket holding the nearest rank, capped at
    the max; the last rank is the max itself."""
    s = sorted(samples)
    rank = nearest_rank(q, len(s))
    return s[-1] if rank == len(s) else min(bucket_upper(bucket_index(s[rank - 1])), s[-1])

def hist(samples):
    return {"unit": "ns", "sub_bits": SUB_BITS, "max_bits": MAX_BITS, "count": len(samples), "sum": sum(samples),
            "min": min(samples), "max": max(samples), "buckets": buckets(samples)}

def second_latency(samples):
    return {"count": len(samples), "p50": percentile(samples, 50), "p90": percentile(samples, 90),
            "p99": percentile(samples, 99), "max": max(samples), "buckets": buckets(samples)}

def run_json(index, start, seconds, rng):
    """One instance's JSON: counters from the generator, a series of `seconds` seconds from `start`, its
    connect samples (all of them and per second) returned beside it."""
    per_s = [[rng.randrange(800, 4_000_000) for _ in range(rng.randrange(200, 400))] for _ in range(seconds)]
    allc = [v for s in per_s for v in s]
    fb = [rng.randrange(2000, 9_000_000) for _ in range(len(allc))]
    att = len(allc) + 7
    c = lambda: rng.randrange(0, 10**6)
    side = lambda: {"lanes": 1, "app": {"conn_attempted": att, "conn_completed": len(allc), "conn_failed": 7},
                    "tcp": {"rx_syn": c(), "rtx_segments": c()}, "entered_state": {"ESTABLISHED": c(), "TIME-WAIT": c()},
                    "engine": {"rx_packets": c(), "tx_packets": c()}, "rx_drops": {"bad_csum": c()}, "active": c(),
                    "timewait": c(), "memory": {"lanes": 1, "measured_bytes": c(), "mbuf_pool_bytes": c(),
                                                "tcb_bytes": 256, "per_connection_slot_bytes": 301.5}}
    series, totals = [], 0
    for t, s in enumerate(per_s, 1):
        totals += len(s)
        series.append({"t": t, "unix_s": start + t, "interval_s": 1 + 0.001 * index, "rx_packets": c(), "tx_packets": c(), "rx_bytes": c(),
                       "tx_bytes": c(), "gbps_rx": 0.0, "gbps_tx": 0.0, "nic_drops": c() % 5,
                       "client": {"opened": len(s), "completed": len(s), "failed": 0, "opened_total": totals,
                                  "completed_total": totals, "failed_total": 0, "active": c(), "states": {"SYN-SENT": c()},
                                  "latency": {"connect": second_latency(s)}}})
    j = {"synwave": {"version": "0.14.0", "commit": "035d6a0abcde"},
         "start": {"unix_s": start, "utc": "2026-12-06T10:30:00.000Z"},
         "instance": {"index": index, "count": 2},
         "config": {"rate": 1000, "src": "10.1.0.1-10.1.0.64", "instance": f"{index}/2", "json": f"r{index}.json"},
         "mode": "client", "duration_s": float(seconds) + 0.01 * index,
         "connections": {"attempted": att, "completed": len(allc), "failed": 7, "v6": {"attempted": 0}},
         "latency_ns": {"connect": {"count": len(allc)}, "first_byte": {"count": len(fb)}},
         "client": dict(side(), per_lane=[{"lcore": 1, "src": f"10.1.0.{1 + 32 * index}-10.1.0.{32 + 32 * index}",
                                            "src_ports": "1024-65535", "app": {"conn_attempted": att}}]),
         "nic": {"0": {"name": "p0", "ipackets": c(), "imissed": c()}},
         "connections_per_s": 1.0, "packets_per_s": 1.0,
         "histograms": {"connect": hist(allc), "first_byte": hist(fb)},
         "series": series}
    return j, allc, fb, per_s

def leaves(j, path=""):
    if isinstance(j, dict):
        for k, v in j.items():
            yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(j, (int, float)) and not isinstance(j, bool):
        yield path, j

def main(exe):
    rng = random.Random(14)
    tmp = tempfile.mkdtemp(prefix="synwave-merge-")
    a, ca, fa, sa = run_json(0, 1_765_000_000.2, 3, rng)
    b, cb, fb, sb = run_json(1, 1_765_000_000.7, 4, rng)  # 0.5 s later, one second longer
    def write(name, j):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(j if isinstance(j, str) else json.dumps(j))
        return p
    pa, pb, out = write("a.json", a), write("b.json", b), os.path.join(tmp, "all.json")
    checks = []
    def check(name, ok, why=""):
        checks.append((name, bool(ok), why))
    r = subprocess.run([exe, "merge", pb, pa, "-o", out], capture_output=True, text=True, timeout=60)
    check("merge exits 0 and prints a summary", r.returncode == 0 and "attempted" in r.stdout and
          "connect latency" in r.stdout, r.stdout + r.stderr)
    m = json.load(open(out)) if r.returncode == 0 else {}
    la, lb = dict(leaves(a)), dict(leaves(b))
    own = ("duration_s", "connections_per_s", "packets_per_s", "start.", "synwave.", "instance.", "config.", "latency_ns.",
           "histograms.", "series", "client.memory.tcb_bytes", "client.memory.per_connection_slot_bytes")
    wrong = [(k, la[k] + lb[k], m.get(k)) for k in la if not k.startswith(own)
             if dict(leaves(m)).get(k) != la[k] + lb[k]]
    check("every counter (connections, client app/tcp/engine/entered_state/rx_drops, gauges, nic, memory) the sum",
          m and not wrong, f"wrong: {wrong[:5]}")
    check("sizes of one lane (memory) kept, not summed",
          m and m["client"]["memory"]["tcb_bytes"] == 256 and m["client"]["memory"]["per_connection_slot_bytes"] == 301.5)
    check("per_lane lists appended, each lane tagged with its instance",
          m and [(l["instance"], l["src"]) for l in m["client"]["per_lane"]] ==
          [(1, "10.1.0.33-10.1.0.64"), (0, "10.1.0.1-10.1.0.32")], m.get("client", {}).get("per_lane"))
    allc, allf = ca + cb, fa + fb
    check("merged histograms are those of all the samples", m and m["histograms"]["connect"] == hist(allc) and
          m["histograms"]["first_byte"] == hist(allf), json.dumps(m.get("histograms", {}))[:300])
    lat = m.get("latency_ns", {}).get("connect", {})
    want = {"count": len(allc), "min": min(allc), "mean": sum(allc) / len(allc), "p50": percentile(allc, 50),
            "p90": percentile(allc, 90), "p99": percentile(allc, 99), "p99.9": percentile(allc, 99.9), "max": max(allc)}
    check("latency_ns recomputed from the merged histogram",
          lat and all(abs(lat[k] - v) <= 1e-6 * max(1, v) for k, v in want.items()), f"{lat} vs {want}")
    check("duration the longest, connections_per_s over it", m and m["duration_s"] == 4.01 and
          abs(m["connections_per_s"] - len(allc) / 4.01) < 1e-6, f"{m.get('duration_s')} {m.get('connections_per_s')}")
    check("instances: both, in order, with versions and one config digest (output files aside)", m and
          [(i["index"], i["count"], i["synwave"]["version"]) for i in m["instances"]] == [(0, 2, "0.14.0"), (1, 2, "0.14.0")]
          and len({i["config_digest"] for i in m["instances"]}) == 1 and m.get("config") == {"rate": 1000, "src": "10.1.0.1-10.1.0.64"}
          and "instance" not in m and m["start"]["unix_s"] == a["start"]["unix_s"], json.dumps(m.get("instances")))
    # Series: A's seconds end at .2 (floors 1765000001..3), B's at .7 (1765000001..4).
    s = m.get("series", [])
    ok = len(s) == 4 and [x["t"] for x in s] == [1, 2, 3, 4]
    why = f"{len(s)} seconds"
    for k in range(min(len(s), 4)):
        x, ea, eb = s[k], a["series"][k] if k < 3 else None, b["series"][k]
        both = [e for e in (ea, eb) if e]
        samples = sa[k] + sb[k] if k < 3 else sb[k]
        lat = x["client"]["latency"]["connect"]
        exp = {"count": len(samples), "p50": percentile(samples, 50), "p90": percentile(samples, 90),
               "p99": percentile(samples, 99), "max": max(samples), "buckets": buckets(samples)}
        carry = a["series"][2]["client"]["opened_total"] if k == 3 else 0
        checks_k = [x["rx_packets"] == sum(e["rx_packets"] for e in both),
                    x["gbps_tx"] == sum(e["tx_bytes"] for e in both) * 8 / 1e9,
                    x["unix_s"] == max(e["unix_s"] for e in both),
                    x["interval_s"] == max(e["interval_s"] for e in both),
                    x["client"]["opened"] == sum(e["client"]["opened"] for e in both),
                    x["client"]["active"] == sum(e["client"]["active"] for e in both),
                    x["client"]["states"]["SYN-SENT"] == sum(e["client"]["states"]["SYN-SENT"] for e in both),
                    x["client"]["opened_total"] == sum(e["client"]["opened_total"] for e in both) + carry,
                    lat == exp]
        if not all(checks_k):
            ok, why = False, f"second {k + 1}: {checks_k}: {json.dumps(x)[:400]}"
    check("series aligned by floor(unix_s): sums, gauges, carried totals, per-second percentiles recomputed", ok, why)

    bad_hist = json.loads(json.dumps(b))
    bad_hist["histograms"]["connect"]["sub_bits"] = 5
    bad_sec = json.loads(json.dumps(b))
    bad_sec["series"][1]["client"]["latency"]["connect"]["buckets"][0][0] = 10**6
    other_n = json.loads(json.dumps(b))
    other_n["instance"]["count"] = 3
    storm = json.loads(json.dumps(b))
    storm["mode"] = "storm"
    old = {k: v for k, v in a.items() if k not in ("synwave", "instance", "histograms", "series")}
    bad = [("not JSON", write("x.json", "{\"synwave\": "), "x.json: not JSON"),
           ("a list, not a run", write("l.json", "[1, 2]"), "l.json: not the JSON of a synwave run"),
           ("a run from before 0.14 (no version, no histograms)", write("old.json", old), "old.json: not the JSON of a synwave run"),
           ("histograms of another layout", write("h.json", bad_hist), "h.json: histograms.connect: "),
           ("a second's bucket out of range", write("s.json", bad_sec), "s.json: series second t=2: client.latency.connect"),
           ("instances of another N", write("n.json", other_n), "n.json: instance 1/3, but"),
           ("another mode", write("m.json", storm), "m.json: mode \"storm\", but"),
           ("an instance twice", pa, "a.json: instance 0 again")]
    for name, p, want in bad:
        r = subprocess.run([exe, "merge", pa, p, "-o", os.path.join(tmp, "bad.json")], capture_output=True, text=True,
                           timeout=60)
        check("refused: " + name, r.returncode == 2 and want in r.stderr, f"exit {r.returncode}: {r.stderr}")
    r = subprocess.run([exe, "merge", pa], capture_output=True, text=True, timeout=60)
    check("no -o: exit 2 naming it", r.returncode == 2 and "-o" in r.stderr, r.stderr)
    print(f"1..{len(checks)}")
    for n, (name, ok, why) in enumerate(checks, 1):
        print(("ok" if ok else "not ok") + f" {n} - {name}")
        if not ok:
            print("# " + str(why).replace("\n", "\n# "))
    return 0 if all(ok for _, ok, _ in checks) else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
