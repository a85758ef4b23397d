#!/usr/bin/env python3
"""IPv6 against the Linux kernel in the namespace lab (scripts/lab up --ipv6): `synwave server` answering
ping -6 (Neighbor Discovery both ways), curl -6, wrk and python IPv6 sockets while IPv4 is still served, and
`synwave client` against nginx listening on IPv6, alone and mixed with IPv4 (--v6-share 0.5).
Every case keeps a capture of the peer's veth and has tshark judge synwave's frames (TCP and ICMPv6
checksums, malformed frames, TCP analysis flags). Usage: /usr/bin/python3 tests/e2e/ipv6_role.py <build dir>
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from lab import check, note  # noqa: E402
from net_peers import (  # noqa: E402
    BODY, NA, NS, check_complete, check_log, clean_icmpv6, client, expected_body, link_mac, nginx, reachable)

tap = lab.Tap()


def build():
    return os.environ["SYNWAVE_E2E_BUILD"]


def server(L):
    """`synwave server` on both families at once (dual stack), reachable over IPv6."""
    sw = L.synwave("server", ["--ip", f"{L.dut_ip},{L.dut_ip6}", "--port", "80", "--body", str(BODY)])
    reachable(L, sw, L.dut_ip6)
    return sw


def wrk_stats(out):
    reqs, errors, non2xx = None, None, 0
    for line in out.splitlines():
        line = line.strip()
        if " requests in " in line:
            reqs = int(line.split()[0])
        if line.startswith("Socket errors:"):
            errors = line
        if line.startswith("Non-2xx"):
            non2xx = int(line.split()[-1])
    return reqs, errors, non2xx


# ---------------------------------------------------------------------------------------------- server

@tap.case("ipv6 server: ping -6 after the kernel's neighbour cache is flushed: ND both ways, echo replies")
def _():
    with lab.Lab(build(), ipv6=True) as L:
        sw = server(L)
        mac = link_mac(L, L.dut_ns, L.dut_if)
        # Forget synwave's MAC: the kernel must solicit it (RFC 4861 §7.2.2) before its echo requests go out.
        L.peer(["ip", "-6", "neigh", "flush", "dev", L.peer_if], check=True)
        with L.capture() as cap:
            r = L.peer(["ping", "-6", "-c", "5", "-i", "0.2", "-W", "1", L.dut_ip6])
        neigh = L.peer(["ip", "-6", "neigh", "show", L.dut_ip6, "dev", L.peer_if], check=True).stdout
        j = sw.stop()
        check(r.returncode == 0 and " 0% packet loss" in r.stdout, "ping -6 lost packets:\n" + r.stdout)
        e = j["server"]["engine"]
        note(f"nd_rx {e['nd_rx']}, nd_adverts_tx {e['nd_adverts_tx']}, nd_solicits_tx {e['nd_solicits_tx']}, "
             f"icmp6_echo_replies {e['icmp6_echo_replies']}, rx_ipv6 {e['rx_ipv6']}")
        check(e["icmp6_echo_replies"] >= 5, f"icmp6_echo_replies {e['icmp6_echo_replies']} < 5")
        check(e["nd_rx"] >= 1 and e["nd_adverts_tx"] >= 1, f"ND: received {e['nd_rx']}, advertised "
              f"{e['nd_adverts_tx']}")
        sol = cap.fields(f"icmpv6.type == {NS} && icmpv6.nd.ns.target_address == {L.dut_ip6}", ["ipv6.src"])
        check(sol, "the kernel sent no Neighbor Solicitation for synwave's address after the flush")
        adv = cap.fields(f"icmpv6.type == {NA} && icmpv6.nd.na.target_address == {L.dut_ip6}",
                         ["ipv6.src", "ipv6.dst", "icmpv6.nd.na.flag.s", "icmpv6.opt.linkaddr", "eth.src"])
        check(adv, f"no Neighbor Advertisement for {L.dut_ip6} answered the kernel's solicitation")
        src, dst, solicited, tlla, esrc = adv[0]
        # RFC 4861 §7.2.4: a solicited advertisement, to the soliciting node, with our link-layer address.
        check(solicited in ("1", "True") and src == L.dut_ip6, f"NA from {src}, solicited flag {solicited}")
        check(tlla == mac and esrc == mac, f"NA target link-layer address {tlla} (frame from {esrc}), synwave {mac}")
        check(mac in neigh, f"the kernel's neighbour entry for {L.dut_ip6} is not synwave's MAC {mac}: {neigh}")
        replies = cap.fields(f"ipv6.src == {L.dut_ip6} && icmpv6.type == 129", ["frame.number"])
        check(len(replies) == 5, f"{len(replies)} echo replies captured, 5 expected")
        # synwave resolves the kernel in turn: from the solicitation's source link-layer option (§7.2.3) or with
        # a solicitation of its own, which the kernel must then have answered.
        own = cap.fields(f"ipv6.src == {L.dut_ip6} && icmpv6.type == {NS}", ["icmpv6.nd.ns.target_address"])
        if own:
            ans = cap.fields(f"icmpv6.type == {NA} && icmpv6.nd.na.target_address == {L.peer_ip6}", ["frame.number"])
            check(ans, f"synwave solicited {own} but no advertisement from the kernel was captured")
        clean_icmpv6(cap, L.dut_ip6)


@tap.case("ipv6 server: curl -6 byte-exact and curl -4 in the same run (dual stack), MSS 1440 over IPv6")
def _():
    with lab.Lab(build(), ipv6=True) as L:
        sw = server(L)
        with L.capture() as cap:
            r6 = L.peer(["curl", "-6", "-s", "-m", "5", "-D", "-", f"http://[{L.dut_ip6}]/"], check=True)
            r4 = L.peer(["curl", "-4", "-s", "-m", "5", f"http://{L.dut_ip}/"], check=True)
        j = sw.stop()
        head, _, body = r6.stdout.partition("\r\n\r\n")
        check(head.startswith("HTTP/1.1 200 OK") and f"Content-Length: {BODY}" in head, "status: " + head[:80])
        check(body == expected_body(), f"IPv6 body differs ({len(body)} bytes)")
        check(r4.stdout == expected_body(), f"IPv4 body differs ({len(r4.stdout)} bytes)")
        # RFC 9293 §3.7.1: MSS = MTU - fixed IP header - TCP header: 1500 - 40 - 20 over IPv6, - 20 - 20 over IPv4.
        for ip, want in ((L.dut_ip6, "1440"), (L.dut_ip, "1460")):
            synack = cap.fields(f"{lab.family_field(ip)}.src == {ip} && tcp.flags.syn == 1 && tcp.flags.ack == 1",
                                ["tcp.options.mss_val"])
            check(synack == [[want]], f"SYN-ACK from {ip}: MSS {synack} (expected one, {want})")
        a, e = j["server"]["app"], j["server"]["engine"]
        got = {k: a[k] for k in ("conn_accepted", "conn_accepted_v6", "responses_sent", "conn_completed",
                                 "conn_completed_v6", "conn_failed")}
        want = {"conn_accepted": 2, "conn_accepted_v6": 1, "responses_sent": 2, "conn_completed": 2,
                "conn_completed_v6": 1, "conn_failed": 0}
        check(got == want, f"counters {got}, expected {want}")
        check(e["rx_ipv6"] > 0 and e["tx_ipv6"] > 0, f"rx_ipv6 {e['rx_ipv6']}, tx_ipv6 {e['tx_ipv6']}")
        lab.judge_clean(cap, L, j["server"], pairs=[(L.dut_ip6, L.peer_ip6), (L.dut_ip, L.peer_ip)])


@tap.case("ipv6 server: wrk to http://[fd77::1]/ with Connection: close, every request answered")
def _():
    with lab.Lab(build(), ipv6=True) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer(["wrk", "-t1", "-c16", "-d1", "-H", "Connection: close", f"http://[{L.dut_ip6}]/"], check=True)
        time.sleep(0.5)
        j = sw.stop()
        reqs, errors, non2xx = wrk_stats(r.stdout)
        check(reqs and reqs > 300, "wrk did too few requests:\n" + r.stdout)
        check(errors is None, "wrk saw socket errors: " + str(errors))
        check(non2xx == 0, f"{non2xx} non-2xx responses")
        a = j["server"]["app"]
        check(a["responses_sent"] >= reqs, f"server sent {a['responses_sent']} < wrk's {reqs}")
        check(a["conn_accepted_v6"] == a["conn_accepted"], f"{a['conn_accepted']} accepted, "
              f"{a['conn_accepted_v6']} of them over IPv6 (wrk used IPv6 only)")
        # wrk resets the connections still open when its time is up (at most one per connection it keeps).
        check(a["conn_failed"] == a["conn_failed_reset"] and a["conn_failed"] <= 16,
              f"{a['conn_failed']} server connections failed, {a['conn_failed_reset']} by reset")
        lab.judge_clean(cap, L, j["server"], pairs=[(L.dut_ip6, L.peer_ip6)])
        note(f"wrk -6 close: {reqs} requests in 1 s")


HALF_CLOSE = r'''
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=5)
assert s.family == socket.AF_INET6
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode())
'''


@tap.case("ipv6 server: python IPv6 socket half-closes (shutdown SHUT_WR), response read to EOF")
def _():
    with lab.Lab(build(), ipv6=True) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer(["/usr/bin/python3", "-c", HALF_CLOSE, L.dut_ip6])
        j = sw.stop()
        check(r.returncode == 0, "client failed: " + r.stderr[-500:])
        head, _, body = r.stdout.partition("\r\n\r\n")
        check(head.startswith("HTTP/1.1 200 OK") and body == expected_body(), "response differs")
        a = j["server"]["app"]
        check(a["conn_completed"] == 1 and a["conn_completed_v6"] == 1 and a["conn_failed"] == 0,
              f"completed {a['conn_completed']} (v6 {a['conn_completed_v6']}), failed {a['conn_failed']}")
        fins = cap.fields(f"ipv6.src == {L.peer_ip6} && tcp.flags.fin == 1", ["tcp.len"])
        check(fins and fins[0] == ["0"], f"the kernel's FIN (half-close) not captured: {fins}")
        lab.judge_clean(cap, L, j["server"], pairs=[(L.dut_ip6, L.peer_ip6)])


# ---------------------------------------------------------------------------------------------- client

@tap.case("ipv6 client against nginx on [fd77::2]: all complete over IPv6, synwave solicits the kernel (ND)")
def _():
    n = 200
    with lab.Lab(build(), ipv6=True) as L:
        nginx(L, [f"[{L.peer_ip6}]"])
        with L.capture() as cap:
            # No --peer-mac: the first SYNs wait for synwave's own Neighbor Solicitation to be answered.
            j = client(L, L.dut_ip6, L.peer_ip6, n)
        check_complete(j, n, n)
        e = j["client"]["engine"]
        note(f"nd_solicits_tx {e['nd_solicits_tx']}, nd_rx {e['nd_rx']}, held {e['arp_held']}, "
             f"released {e['arp_released']}, tx_ipv6 {e['tx_ipv6']}")
        check(e["nd_solicits_tx"] >= 1 and e["nd_rx"] >= 1, "synwave did not resolve the kernel by ND")
        check(e["arp_released"] == e["arp_held"] and e["tx_no_arp"] == 0,
              f"held {e['arp_held']}, released {e['arp_released']}, tx_no_arp {e['tx_no_arp']}")
        sol = cap.fields(f"icmpv6.type == {NS} && icmpv6.nd.ns.target_address == {L.peer_ip6} && "
                         f"eth.src == {link_mac(L, L.dut_ns, L.dut_if)}", ["ipv6.dst"])
        check(sol, f"no Neighbor Solicitation from synwave for {L.peer_ip6} captured")
        adv = cap.fields(f"icmpv6.type == {NA} && icmpv6.nd.na.target_address == {L.peer_ip6}", ["frame.number"])
        check(adv, "the kernel's Neighbor Advertisement not captured")
        mss = {r[0] for r in cap.fields(f"ipv6.src == {L.dut_ip6} && tcp.flags.syn == 1", ["tcp.options.mss_val"])}
        check(mss == {"1440"}, f"synwave's IPv6 SYNs offer MSS {mss} (expected 1440)")
        check_log(L, n, {L.dut_ip6: n})
        clean_icmpv6(cap, L.dut_ip6)
        lab.judge_clean(cap, L, j["client"], pairs=[(L.dut_ip6, L.peer_ip6)])


@tap.case("dual-stack client, --v6-share 0.5: half the connections over each family, all complete")
def _():
    n = 200
    with lab.Lab(build(), ipv6=True) as L:
        nginx(L, [L.peer_ip, f"[{L.peer_ip6}]"])
        with L.capture() as cap:
            j = client(L, f"{L.dut_ip},{L.dut_ip6}", f"{L.peer_ip},{L.peer_ip6}", n, ["--v6-share", "0.5"])
        # The client alternates the families for a share of one half: exactly n / 2 each.
        check_complete(j, n, n // 2)
        check_log(L, n, {L.dut_ip: n // 2, L.dut_ip6: n // 2})
        for ip in (L.dut_ip, L.dut_ip6):
            syns = cap.fields(f"{lab.family_field(ip)}.src == {ip} && tcp.flags.syn == 1 && tcp.flags.ack == 0",
                              ["frame.number"])
            check(len(syns) == n // 2, f"{len(syns)} SYNs from {ip} captured, {n // 2} expected")
        lab.judge_clean(cap, L, j["client"], pairs=[(L.dut_ip, L.peer_ip), (L.dut_ip6, L.peer_ip6)])


if __name__ == "__main__":
    lab.main(tap)
