#!/usr/bin/env python3
"""Runs `synwave storm` for a few seconds and checks its JSON summary: every connection completed, none
failed, and the two sides' counters agree exactly (what one sent, the other received)."""
import json, os, subprocess, sys, tempfile

def main(exe):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "storm.json")
        p = subprocess.run([exe, "storm", "--duration", "3", "--quiet", "--json", out],
                           capture_output=True, text=True, timeout=120)
        print(p.stdout)
        print(p.stderr, file=sys.stderr)
        if p.returncode != 0:
            print(f"FAIL: storm exited {p.returncode}")
            return 1
        j = json.load(open(out))
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
    ]
    bad = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(("ok   " if ok else "FAIL ") + name)
    if bad:
        print(json.dumps(j, indent=1)[:4000])
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
