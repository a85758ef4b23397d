#!/usr/bin/env python3
"""Runs `synwave storm` for a few seconds and checks its JSON summary: every connection completed, none
failed, and the two sides' counters agree exactly (what one sent, the other received).

Usage: storm_check.py <synwave executable> [lanes|family]
  lanes: `storm --lanes 2` instead (2 client and 2 server lcores, sharing the CPUs here): both client lanes
  complete connections, their source slices are disjoint and cover --src, each lane talks only to its own
  server lane, and every side total is the sum of its lanes.
  family: `storm --family 46 --lanes 2` over VLAN 100, then `storm --family 6` (see family_main).
  tuples: three destinations on two ports in random order (see tuples_main).
  series: the per-second series in the JSON and the CSV (see series_main)."""
import csv, datetime, ipaddress, json, os, re, struct, subprocess, sys, tempfile

def storm_in(exe, d, args, quiet=True):
    """`storm --json d/storm.json ARGS` (files it writes, a capture or a CSV, go to d too): its output printed;
    returns the JSON (None when it failed) and its stdout."""
    out = os.path.join(d, "storm.json")
    p = subprocess.run([exe, "storm"] + (["--quiet"] if quiet else []) + ["--json", out] + args,
                       capture_output=True, text=True, timeout=120)
    print(p.stdout)
    print(p.stderr, file=sys.stderr)
    if p.returncode != 0:
        print(f"FAIL: storm {' '.join(args)} exited {p.returncode}")
        return None, p.stdout
    return json.load(open(out)), p.stdout

def run_storm(exe, args):
    with tempfile.TemporaryDirectory() as d:
        return storm_in(exe, d, args)[0]

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

def pcap_frames(path):
    """The frames of a classic pcap file (microsecond or nanosecond, little-endian as synwave writes it)."""
    data = open(path, "rb").read()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out

def vlan_capture(exe):
    """A short `storm --family 46 --vlan 100 --vlan-pcp 5 --pcap`: every frame either lcore sent or received
    carries the 802.1Q tag (TPID 0x8100, PCP 5, VID 100) and then IPv4, IPv6 or ARP."""
    with tempfile.TemporaryDirectory() as d:
        j, _ = storm_in(exe, d, ["--family", "46", "--vlan", "100", "--vlan-pcp", "5", "--total", "200",
                                 "--concurrency", "20", "--duration", "10", "--pcap", os.path.join(d, "cap"),
                                 "--max-conns", "16384", "--max-timewait", "65536"])
        frames = [f for name in sorted(os.listdir(d)) if name.endswith(".pcap")
                  for f in pcap_frames(os.path.join(d, name))]
    tags = [(f[12:14], struct.unpack(">H", f[14:16])[0], f[16:18]) for f in frames if len(f) >= 18]
    inner = {b"\x08\x00": "IPv4", b"\x86\xdd": "IPv6", b"\x08\x06": "ARP"}
    kinds = {inner.get(t[2], t[2].hex()) for t in tags}
    checks = [
        ("vlan capture: the run completed its 200 connections", j is not None),
        (f"vlan capture: {len(frames)} frames captured, all tagged 0x8100 with PCP 5 and VID 100",
         len(frames) > 1000 and len(tags) == len(frames)
         and all(t[0] == b"\x81\x00" and t[1] >> 13 == 5 and t[1] & 0xfff == 100 for t in tags)),
        (f"vlan capture: IPv4 and IPv6 inside the tag ({sorted(kinds)})", {"IPv4", "IPv6"} <= kinds
         and kinds <= {"IPv4", "IPv6", "ARP"}),
    ]
    return report(checks, j)

def family_main(exe):
    """`storm --family 46 --lanes 2 --vlan 100 --vlan-pcp 5`: half the connections over IPv6, every one completed on
    both sides, each lane a disjoint slice of each family's sources, every frame tagged and none refused for its
    VLAN; then `storm --family 6`: IPv6 only (the client has no IPv4 source at all)."""
    small = ["--duration", "2", "--max-conns", "16384", "--max-timewait", "1048576"]
    j = run_storm(exe, ["--family", "46", "--lanes", "2", "--vlan", "100", "--vlan-pcp", "5"] + small)
    if j is None:
        return 1
    c, s, conns = j["client"], j["server"], j["connections"]
    v6 = conns["v6"]
    cl = c.get("per_lane", [])
    checks = [
        ("no failed connections, every one completed", conns["failed"] == 0 and conns["attempted"] == conns["completed"] > 0),
        ("about half over IPv6 (v6_share 0.5, within 1 %)", abs(v6["attempted"] - conns["attempted"] / 2) <= conns["attempted"] / 100),
        ("every IPv6 connection completed", v6["failed"] == 0 and v6["attempted"] == v6["completed"]),
        ("server: accepted and completed over IPv6 == client's",
         s["app"]["conn_accepted_v6"] == v6["attempted"] and s["app"]["conn_completed_v6"] == v6["completed"]),
        ("IPv6 frames both ways", s["engine"]["rx_ipv6"] > 0 and c["engine"]["rx_ipv6"] > 0
         and s["engine"]["tx_ipv6"] > 0 and c["engine"]["tx_ipv6"] > 0),
        ("no frame refused for its VLAN (both sides tag with 100)",
         s["engine"]["rx_vlan_other"] == c["engine"]["rx_vlan_other"] == 0),
        ("both client lanes completed IPv4 and IPv6 connections",
         len(cl) == 2 and all(l["app"]["conn_completed_v6"] > 0 for l in cl)
         and all(l["app"]["conn_completed"] > l["app"]["conn_completed_v6"] for l in cl)),
    ]
    if len(cl) == 2:
        six = sorted(span(l.get("src6", "::"), lambda a: int(ipaddress.IPv6Address(a))) for l in cl)
        four = sorted(span(l.get("src", "0.0.0.0"), lambda a: int(ipaddress.IPv4Address(a))) for l in cl)
        lo6, hi6 = int(ipaddress.IPv6Address("fd00:1::1")), int(ipaddress.IPv6Address("fd00:1::40"))
        checks.append(("lanes' IPv6 slices disjoint, contiguous, covering fd00:1::1-fd00:1::40",
                       six[0][0] == lo6 and six[1][1] == hi6 and six[0][1] + 1 == six[1][0]))
        checks.append(("lanes' IPv4 slices disjoint, contiguous, covering 10.1.0.1-10.1.0.64",
                       four[0][0] == int(ipaddress.IPv4Address("10.1.0.1")) and four[0][1] + 1 == four[1][0]
                       and four[1][1] == int(ipaddress.IPv4Address("10.1.0.64"))))
    checks += nic_checks(j)
    rc = report(checks, j)
    rc |= vlan_capture(exe)
    j = run_storm(exe, ["--family", "6"] + small)
    if j is None:
        return 1
    conns = j["connections"]
    checks = [
        ("--family 6: every connection over IPv6 and completed",
         conns["attempted"] > 0 and conns["v6"]["attempted"] == conns["attempted"] == conns["completed"]
         == conns["v6"]["completed"] and conns["failed"] == 0),
        ("--family 6: every TCP segment the client sent went over IPv6 (tx_ipv6 == tx_segments)",
         j["client"]["engine"]["tx_ipv6"] == j["client"]["tcp"]["tx_segments"] > 0),
    ] + nic_checks(j)
    return report(checks, j) | rc

def tuples_main(exe):
    """`storm --dst 10.0.0.1-10.0.0.3 --port 80,8080 --tuple-order random` over 2 sources x 100 ports: 1200 tuples,
    2400 connections, so two passes. From the client's own capture: each pass uses every tuple once (each
    destination address and port its 200), the second pass in the same order as the first, and that order is not
    the sequential one; every connection completed, and the server reopened a TIME_WAIT for each of the second
    pass (the tuple came back 1200 connections later, as in sequential order)."""
    dsts, ports, n = ["10.0.0.1", "10.0.0.2", "10.0.0.3"], [80, 8080], 1200
    with tempfile.TemporaryDirectory() as d:
        j, _ = storm_in(exe, d, ["--dst", "10.0.0.1-10.0.0.3", "--port", "80,8080", "--src", "10.1.0.1-10.1.0.2",
                                 "--src-ports", "2000-2099", "--tuple-order", "random", "--tuple-seed", "5",
                                 "--total", str(2 * n), "--concurrency", "50", "--duration", "30",
                                 "--pcap", os.path.join(d, "cap"), "--max-conns", "16384", "--max-timewait", "65536"])
        if j is None:
            return 1
        caps = [pcap_frames(os.path.join(d, name)) for name in sorted(os.listdir(d)) if name.endswith(".pcap")]
    def syns_of(frames):
        """(source address, source port, destination address, destination port) of the client's SYNs."""
        out = []
        for f in frames:
            if len(f) < 54 or f[12:14] != b"\x08\x00":
                continue
            ip = f[14:]
            tcp = ip[(ip[0] & 15) * 4:]
            if ip[9] == 6 and ip[12:14] == bytes([10, 1]) and tcp[13] == 0x02:
                out.append((str(ipaddress.IPv4Address(ip[12:16])), struct.unpack(">H", tcp[0:2])[0],
                            str(ipaddress.IPv4Address(ip[16:20])), struct.unpack(">H", tcp[2:4])[0]))
        return out
    # Two captures, the client lcore's (SYNs sent) and the server lcore's (SYNs received): the same sequence.
    per_cap = [syns_of(f) for f in caps]
    syns = per_cap[0] if per_cap else []
    first, second = syns[:n], syns[n:]
    share = {(a, pt): sum(1 for t in first if t[2] == a and t[3] == pt) for a in dsts for pt in ports}
    # The sequential successor of a tuple: destination address fastest, then its port, source port, address.
    def seq_next(t):
        i = ((((int(t[0].split(".")[3]) - 1) * 100 + t[1] - 2000) * 2 + ports.index(t[3])) * 3 + dsts.index(t[2]) + 1) % n
        a, i = dsts[i % 3], i // 3
        pt, i = ports[i % 2], i // 2
        return (f"10.1.0.{i // 100 + 1}", 2000 + i % 100, a, pt)
    in_seq = sum(1 for k in range(1, len(first)) if seq_next(first[k - 1]) == first[k])
    c, s, conns = j["client"], j["server"], j["connections"]
    checks = [
        ("every connection completed, none failed", conns["attempted"] == conns["completed"] == 2 * n
         and conns["failed"] == 0),
        (f"two captures (client and server lcore), each with one SYN per connection, in the same order "
         f"({[len(x) for x in per_cap]})", len(per_cap) == 2 and len(syns) == 2 * n and per_cap[1] == syns),
        ("the first pass used every tuple once", len(set(first)) == n),
        (f"each destination address and port got 200 of the pass ({sorted(share.values())})",
         all(v == n // 6 for v in share.values())),
        ("the second pass repeated the first one's order", second == first),
        (f"the order is not sequential ({in_seq} of {n - 1} steps to the sequential successor)", in_seq < n // 100),
        ("no source tuple found busy", c["app"]["port_busy"] == 0),
        ("the server accepted every connection", s["app"]["conn_accepted"] == 2 * n),
        ("the second pass reopened the server's TIME_WAIT records (RFC 6191)", s["tcp"]["tw_reopened"] == n),
    ]
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

def mode_table_keys():
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "modes.cpp")).read()
    table = src[src.index("constexpr Rule kRules[] = {"):]
    return set(re.findall(r'^\s*\{"([a-z0-9_]+)", k', table[:table.index("};")], re.M))

def series_main(exe):
    """`storm --rate 2000 --duration 4 --json --csv`: one sample per second plus the final partial interval, on
    the wall clock of the start; the per-second counts add up exactly to the run's totals on both sides, the
    per-second latency buckets to the run's histograms; the CSV holds the same rows; the header names the build."""
    rate, duration = 2000, 4
    with tempfile.TemporaryDirectory() as d:
        cp = os.path.join(d, "storm.csv")
        j, stdout = storm_in(exe, d, ["--duration", str(duration), "--rate", str(rate), "--csv", cp], quiet=False)
        if j is None:
            return 1
        rows = list(csv.DictReader(open(cp)))
    version_hpp = open(os.path.join(os.path.dirname(os.path.abspath(exe)), "version.hpp")).read()
    macro = lambda name: re.search(r'#define ' + name + r' "([^"]*)"', version_hpp).group(1)
    ser = j["series"]
    n = len(ser)
    start = j["start"]["unix_s"]
    c, s, conns = j["client"], j["server"], j["connections"]
    total = lambda side, key: sum(x[side][key] for x in ser)
    lat = j["histograms"]["connect"]
    merged = {}
    for x in ser:
        for i, k in x["client"]["latency"]["connect"]["buckets"]:
            merged[i] = merged.get(i, 0) + k
    by_side = {side: [r for r in rows if r["side"] == side] for side in ("client", "server")}
    lines = stdout.splitlines()
    head = next((i for i, l in enumerate(lines) if l.split()[:3] == ["t", "new", "done"]), None)
    per_second_lines = 0
    if head is not None:
        for l in lines[head + 1:]:
            if not l.strip():
                break
            per_second_lines += 1
    whole = ser[:-1]
    eng = lambda key: c["engine"][key] + s["engine"][key]
    states_ok = all(sum(v for k, v in x[side]["states"].items() if k not in ("SYN-RECEIVED", "TIME-WAIT"))
                    == x[side]["active"] and x[side]["states"]["TIME-WAIT"] == x[side]["timewait"]
                    and x[side]["states"]["SYN-RECEIVED"] == x[side]["half_open"]
                    for x in ser for side in ("client", "server"))
    checks = [
        (f"a sample per whole second and the final partial one ({n} samples, run {j['duration_s']:.2f} s)",
         n >= duration + 1 and [x["t"] for x in ser] == list(range(1, n + 1))
         and all(abs(x["interval_s"] - 1) < 0.5 for x in whole) and 0 <= ser[-1]["interval_s"] < 1.5),
        ("unix_s increasing about 1 s apart from start.unix_s",
         all(0.5 < x["unix_s"] - y["unix_s"] < 1.5 for x, y in zip(whole[1:], whole))
         and ser[-1]["unix_s"] >= whole[-1]["unix_s"]
         and all(abs(x["unix_s"] - start - x["t"]) < 0.5 for x in whole)),
        ("start.utc is start.unix_s", abs(datetime.datetime.strptime(j["start"]["utc"], "%Y-%m-%dT%H:%M:%S.%fZ")
                                          .replace(tzinfo=datetime.timezone.utc).timestamp() - start) < 0.002),
        ("client: per-second opened/completed/failed add up to the totals",
         (total("client", "opened"), total("client", "completed"), total("client", "failed"))
         == (conns["attempted"], conns["completed"], conns["failed"]) and conns["completed"] >= 100 * duration),
        ("server: per-second opened/completed/failed add up to the totals",
         (total("server", "opened"), total("server", "completed"), total("server", "failed"))
         == (s["app"]["conn_accepted"], s["app"]["conn_completed"], s["app"]["conn_failed"])),
        ("running totals end at the totals", ser[-1]["client"]["completed_total"] == conns["completed"]
         and ser[-1]["server"]["opened_total"] == s["app"]["conn_accepted"]),
        ("per-second frames and bytes add up to the engines' totals",
         sum(x["rx_packets"] for x in ser) == eng("rx_packets") and sum(x["tx_packets"] for x in ser) == eng("tx_packets")
         and sum(x["rx_bytes"] for x in ser) == eng("rx_bytes") and sum(x["tx_bytes"] for x in ser) == eng("tx_bytes")),
        ("bytes: more than 54 per frame (headers and HTTP), what one side sent the other received",
         c["engine"]["rx_bytes"] > 54 * c["engine"]["rx_packets"] and s["engine"]["rx_bytes"] > 54 * s["engine"]["rx_packets"]
         and all(x["rx_bytes"] > 54 * x["rx_packets"] for x in ser if x["rx_packets"])
         and c["engine"]["tx_bytes"] == s["engine"]["rx_bytes"] and s["engine"]["tx_bytes"] == c["engine"]["rx_bytes"]),
        ("gbps > 0 every whole second", all(x["gbps_rx"] > 0 and x["gbps_tx"] > 0 for x in whole)),
        ("connect histogram: one sample per connection established",
         lat["count"] == conns["connected"] and lat["unit"] == "ns" and sum(k for _, k in lat["buckets"]) == lat["count"]),
        ("per-second connect latency adds up to the histogram, bucket by bucket",
         sum(x["client"]["latency"]["connect"]["count"] for x in ser) == lat["count"]
         and all(sum(k for _, k in x["client"]["latency"]["connect"]["buckets"]) == x["client"]["latency"]["connect"]["count"]
                 for x in ser)
         and sorted(merged.items()) == [tuple(b) for b in lat["buckets"]]),
        ("states: connections by state add up to active; TIME-WAIT and SYN-RECEIVED are the records", states_ok),
        ("CSV: a row per second and side, completed as in the JSON",
         len(by_side["client"]) == n and len(by_side["server"]) == n
         and [int(r["completed"]) for r in by_side["client"]] == [x["client"]["completed"] for x in ser]
         and [int(r["completed"]) for r in by_side["server"]] == [x["server"]["completed"] for x in ser]
         and [int(r["t"]) for r in by_side["client"]] == list(range(1, n + 1))),
        ("CSV: gbps and latency columns", all(float(r["gbps_rx"]) > 0 for r in rows[:-2])
         and "latency.connect.p99" in rows[0] and "states.ESTABLISHED" in rows[0] and "http.2xx" in rows[0]),
        ("synwave version and commit as the build's version.hpp",
         j["synwave"] == {"version": macro("SYNWAVE_VERSION"), "commit": macro("SYNWAVE_COMMIT")}),
        ("config holds the effective options", j["config"]["rate"] == rate and j["config"]["duration"] == duration
         and j["config"]["mode"] == "storm" and j["instance"] == {"index": 0, "count": 1}),
        # The JSON's config (apps/config_json.cpp) is a list of its own: it must name every option of the mode
        # table (apps/modes.cpp, which the config file's keys come from), but the two command-line switches that
        # are not settings (--check, --no-request), and the mode.
        ("config names every option of the mode table", set(j["config"]) == mode_table_keys() - {"check", "no_request"}
         | {"mode"}),
        ("text: the header groups per-second columns apart from totals, a line per whole second",
         head is not None and "per second" in lines[head - 1] and "totals" in lines[head - 1]
         and "rx_Gbps" in lines[head] and per_second_lines == n - 1),
    ]
    return report(checks, {k: v for k, v in j.items() if k != "series"})

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "lanes":
        sys.exit(lanes_main(sys.argv[1]))
    if len(sys.argv) > 2 and sys.argv[2] == "tuples":
        sys.exit(tuples_main(sys.argv[1]))
    if len(sys.argv) > 2 and sys.argv[2] == "series":
        sys.exit(series_main(sys.argv[1]))
    if len(sys.argv) > 2 and sys.argv[2] == "family":
        sys.exit(family_main(sys.argv[1]))
    sys.exit(main(sys.argv[1]))
