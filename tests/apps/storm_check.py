#!/usr/bin/env python3
"""Runs `synwave storm` for a few seconds and checks its JSON summary: every connection completed, none
failed, and the two sides' counters agree exactly (what one sent, the other received).

Usage: storm_check.py <synwave executable> [lanes]
  lanes: `storm --lanes 2` instead (2 client and 2 server lcores, sharing the CPUs here): both client lanes
  complete connections, their source slices are disjoint and cover --src, each lane talks only to its own
  server lane, and every side total is the sum of its lanes."""
import ipaddress, json, os, subprocess, sys, tempfile

def run_storm(exe, args):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "storm.json")
        p = subprocess.run([exe, "storm", "--quiet", "--json", out] + args, capture_output=True, text=True,
                           timeout=120)
        print(p.stdout)
        print(p.stderr, file=sys.stderr)
        if p.returncode != 0:
            print(f"FAIL: storm {' '.join(args)} exited {p.returncode}")
            return None
        return json.load(open(out))

def report(checks, j):
    bad = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    if bad:
        print(json.dumps(j, indent=1)[:4000])
    return 1 if bad else 0

def span(text, parse):
    """'a-b' or 'a' -> (lo, hi) inclusive."""
    lo, _, hi = text.partition("-")
    return parse(lo), parse(hi or lo)

def nic_checks(j):
    """The ports' own counters (rte_eth_stats of the net_ring pairs): every frame a worker handed to its TX ring
    the ring port counted as sent and its peer port as received, and no port dropped any."""
    nic = j.get("nic", {})
    c, s = j["client"]["engine"], j["server"]["engine"]
    lanes = j["client"]["lanes"]
    ports = list(nic.values())
    return [
        (f"nic: two ports per lane, each with its counters ({sorted(nic)})",
         len(ports) == 2 * lanes and all("ipackets" in p and "error" not in p for p in ports)),
        ("nic: the ports received what the workers received",
         sum(p.get("ipackets", 0) for p in ports) == c["rx_packets"] + s["rx_packets"]),
        ("nic: the ports sent what the workers sent",
         sum(p.get("opackets", 0) for p in ports) == c["tx_packets"] + s["tx_packets"]),
        ("nic: no device drops (imissed, ierrors, rx_nombuf, oerrors all 0)",
         all(p.get(k, 1) == 0 for p in ports for k in ("imissed", "ierrors", "rx_nombuf", "oerrors"))),
    ]

def lanes_main(exe):
    lanes = 2
    # Smaller tables than the storm's defaults (2000 open connections and 2 s of TIME_WAIT need far fewer):
    # building four lanes' tables is most of the run's time otherwise.
    src = "10.1.0.1-10.1.0.64"
    j = run_storm(exe, ["--lanes", str(lanes), "--duration", "2", "--src", src, "--max-conns", "16384",
                        "--max-timewait", "1048576"])
    if j is None:
        return 1
    c, s = j["client"], j["server"]
    cl, sl = c.get("per_lane", []), s.get("per_lane", [])
    checks = [
        ("both sides ran 2 lanes, each listed", c["lanes"] == s["lanes"] == lanes and len(cl) == len(sl) == lanes),
        ("no failed connections", j["connections"]["failed"] == 0),
        ("attempted == completed", j["connections"]["attempted"] == j["connections"]["completed"]),
    ]
    if len(cl) != lanes or len(sl) != lanes:
        return report(checks, j)
    checks.append(("completed > 0 on every client lane", all(l["app"]["conn_completed"] > 0 for l in cl)))
    checks.append(("completed > 0 on every server lane", all(l["app"]["conn_completed"] > 0 for l in sl)))
    # The slices: address range x port range per client lane, pairwise disjoint, together all of --src.
    slices = [(span(l["src"], lambda a: int(ipaddress.IPv4Address(a))), span(l["src_ports"], int)) for l in cl]
    def overlap(x, y):
        return x[0] <= y[1] and y[0] <= x[1]
    disjoint = all(not (overlap(slices[a][0], slices[b][0]) and overlap(slices[a][1], slices[b][1]))
                   for a in range(lanes) for b in range(a + 1, lanes))
    checks.append(("client lanes' source slices are disjoint", disjoint))
    want = span(src, lambda a: int(ipaddress.IPv4Address(a)))
    addrs = sorted(sl_[0] for sl_ in slices)
    checks.append(("the address slices are contiguous and cover --src (the addresses outnumber the lanes)",
                   addrs[0][0] == want[0] and addrs[-1][1] == want[1]
                   and all(addrs[k][1] + 1 == addrs[k + 1][0] for k in range(lanes - 1))
                   and all(sl_[1] == (1024, 65535) for sl_ in slices)))
    checks.append(("no source tuple found busy", all(l["app"]["port_busy"] == 0 for l in cl)))
    # Each side's totals are the sum of its lanes, for every application counter and the lane figures.
    for side, per in (("client", cl), ("server", sl)):
        app = j[side]["app"]
        bad = [k for k in app if sum(l["app"][k] for l in per) != app[k]]
        checks.append((f"{side}: every app counter == sum over its lanes" + (f" (not {bad})" if bad else ""), not bad))
        checks.append((f"{side}: rx/tx packets, active, TIME_WAIT == sum over its lanes",
                       sum(l["rx_packets"] for l in per) == j[side]["engine"]["rx_packets"]
                       and sum(l["tx_packets"] for l in per) == j[side]["engine"]["tx_packets"]
                       and sum(l["active"] for l in per) == j[side]["active"]
                       and sum(l["timewait"] for l in per) == j[side]["timewait"]))
    checks.append(("summary connections == client totals",
                   j["connections"]["completed"] == c["app"]["conn_completed"]
                   and j["connections"]["attempted"] == c["app"]["conn_attempted"]))
    # Lane i's client talks only to lane i's server (its own ring pair, lossless): frames and connections match.
    checks.append(("lane i's client frames == lane i's server frames, both ways",
                   all(cl[i]["tx_packets"] == sl[i]["rx_packets"] and sl[i]["tx_packets"] == cl[i]["rx_packets"]
                       for i in range(lanes))))
    checks.append(("lane i's server accepted == lane i's client connected",
                   all(sl[i]["app"]["conn_accepted"] == cl[i]["app"]["conn_connected"] for i in range(lanes))))
    checks.append(("distinct lcores for the four lanes",
                   len({l["lcore"] for l in cl + sl}) == 2 * lanes))
    checks.append(("no parser or TX ring drops",
                   c["engine"]["rx_dropped"] == s["engine"]["rx_dropped"] == 0
                   and c["engine"]["tx_ring_full"] == s["engine"]["tx_ring_full"] == 0))
    checks.append(("memory figures for 2 lanes per side",
                   c["memory"]["lanes"] == s["memory"]["lanes"] == lanes and c["memory"]["mbuf_pool_bytes"] > 0))
    checks += nic_checks(j)
    return report(checks, j)

def main(exe):
    j = run_storm(exe, ["--duration", "3"])
    if j is None:
        return 1
    c, s = j["client"], j["server"]
    checks = [
        ("connections attempted > 10000", j["connections"]["attempted"] > 10000),
        ("no failed connections", j["connections"]["failed"] == 0),
        ("attempted == completed", j["connections"]["attempted"] == j["connections"]["completed"]),
        ("client SYNs == connect() calls", c["tcp"]["active_opens"] == c["app"]["conn_attempted"]),
        ("server accepted == client established",
         s["tcp"]["passive_opens"] + s["tcp"]["syncookies_ok"] == c["tcp"]["conn_established"]),
        ("server responses == client complete responses", s["app"]["responses_sent"] == c["app"]["responses_done"]),
        # Every frame one side sent (TCP segments, plus its gratuitous ARP) arrived on the other.
        ("client frames out == server frames in",
         c["tcp"]["tx_segments"] + c["engine"]["arp_requests_tx"] == s["engine"]["rx_packets"]),
        ("server frames out == client frames in",
         s["tcp"]["tx_segments"] + s["engine"]["arp_requests_tx"] == c["engine"]["rx_packets"]),
        ("one gratuitous ARP each, received as ARP", c["engine"]["arp_requests_tx"] == 1
         and s["engine"]["arp_rx"] == 1 and c["engine"]["arp_rx"] == 1),
        ("no parser drops", c["engine"]["rx_dropped"] == 0 and s["engine"]["rx_dropped"] == 0),
        ("no TX ring drops", c["engine"]["tx_ring_full"] == 0 and s["engine"]["tx_ring_full"] == 0),
        ("server closed first: each close entered TIME_WAIT on the server (or counted the full pool)",
         s["tcp"]["tw_entered"] + s["tcp"]["tw_pool_full"] == s["app"]["responses_sent"]
         and c["tcp"]["tw_entered"] == 0),
        ("connect latency recorded for each connection",
         j["latency_ns"]["connect"]["count"] == c["app"]["conn_connected"]),
        ("rate reported", j["connections_per_s"] > 0 and j["packets_per_s"] > 0),
        ("over IPv4 only: no IPv6 connection counted",
         j["connections"]["v6"] == {"attempted": 0, "completed": 0, "failed": 0}
         and c["app"]["conn_attempted_v6"] == s["app"]["conn_accepted_v6"] == 0),
    ] + nic_checks(j)
    return report(checks, j)

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "lanes":
        sys.exit(lanes_main(sys.argv[1]))
    sys.exit(main(sys.argv[1]))
