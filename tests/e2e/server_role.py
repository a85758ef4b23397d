#!/usr/bin/env python3
"""Kernel clients (curl, wrk, python sockets, hping3, ping) against `synwave server` in the namespace lab.
Every case keeps a capture of the peer's veth and has tshark judge synwave's frames."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from lab import check  # noqa: E402

tap = lab.Tap()
BODY = 1000  # response body bytes: more than one segment's worth of headers, less than one MSS

def build():
    return os.environ["SYNWAVE_E2E_BUILD"]

def expected_body(n=BODY):
    """synwave's test pattern (engine::pattern_byte): 16-byte records, each its number in hex and a newline."""
    return "".join("%015x\n" % k for k in range(n // 16 + 1))[:n]

def server(L, *extra):
    sw = L.synwave("server", ["--ip", L.dut_ip, "--port", "80", "--body", str(BODY)] + list(extra))
    L.wait_reachable()
    return sw

def wrk_stats(out):
    """Requests done and the error summary from wrk's output."""
    reqs = None
    errors = None
    non2xx = 0
    for line in out.splitlines():
        line = line.strip()
        if " requests in " in line:
            reqs = int(line.split()[0])
        if line.startswith("Socket errors:"):
            errors = line
        if line.startswith("Non-2xx"):
            non2xx = int(line.split()[-1])
    return reqs, errors, non2xx


@tap.case("server: ping and ARP answered")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        # Forget synwave's MAC (learned from its gratuitous ARP or an earlier reply): the kernel must ask.
        L.peer(["ip", "neigh", "flush", "dev", L.peer_if], check=True)
        with L.capture() as cap:
            r = L.peer(["ping", "-c", "5", "-i", "0.2", "-W", "1", L.dut_ip])
        neigh = L.peer(["ip", "neigh", "show", L.dut_ip], check=True).stdout
        j = sw.stop()
        check(r.returncode == 0 and " 0% packet loss" in r.stdout, "ping lost packets:\n" + r.stdout)
        e = j["server"]["engine"]
        check(e["icmp_echo_replies"] >= 5, "icmp_echo_replies < 5")
        check(e["arp_requests_tx"] >= 1, "no gratuitous ARP at start")
        check(e["arp_rx"] >= 1 and e["arp_replies_tx"] >= 1, f"ARP: received {e['arp_rx']}, replied {e['arp_replies_tx']}")
        replies = cap.fields(f"ip.src == {L.dut_ip} && icmp.type == 0", ["frame.number"])
        check(len(replies) == 5, f"{len(replies)} echo replies captured, 5 expected")
        arp = cap.fields(f"arp.opcode == 2 && arp.src.proto_ipv4 == {L.dut_ip}", ["arp.src.hw_mac"])
        check(len(arp) >= 1 and arp[0][0] in neigh, f"ARP reply {arp} not what the kernel stored: {neigh}")


@tap.case("server: curl GET, body byte-exact, SYN-ACK options answer the kernel's SYN")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer(["curl", "-s", "-m", "5", "-D", "-", f"http://{L.dut_ip}/"], check=True)
        j = sw.stop()
        head, _, body = r.stdout.partition("\r\n\r\n")
        check(head.startswith("HTTP/1.1 200 OK"), "status line: " + head[:60])
        check(f"Content-Length: {BODY}" in head, "Content-Length missing")
        check(body == expected_body(), f"body differs ({len(body)} bytes)")
        syn = cap.fields(f"ip.dst == {L.dut_ip} && tcp.flags.syn == 1 && tcp.flags.ack == 0",
                         ["tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval"])
        synack = cap.fields(f"ip.src == {L.dut_ip} && tcp.flags.syn == 1 && tcp.flags.ack == 1",
                            ["tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm",
                             "tcp.options.timestamp.tsecr", "tcp.window_size_value"])
        check(len(syn) == 1 and len(synack) == 1, f"{len(syn)} SYN, {len(synack)} SYN-ACK captured")
        mss, shift, sack, tsecr, win = synack[0]
        check(mss == "1460", f"SYN-ACK MSS {mss}")
        check(shift != "", "SYN-ACK without window scale although the SYN had one")
        check(sack != "", "SYN-ACK without SACK-permitted although the SYN had it")
        check(tsecr == syn[0][3], f"SYN-ACK TSecr {tsecr} does not echo the SYN's TSval {syn[0][3]}")
        check(win == "65535", f"SYN-ACK window {win}")
        cap.judge(L.dut_ip)
        s = j["server"]
        check(s["app"]["conn_accepted"] == 1 and s["app"]["responses_sent"] == 1, "accepted/responses != 1")
        check(s["app"]["conn_failed"] == 0, "a connection failed")


@tap.case("server: wrk with Connection: close, every request answered")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer(["wrk", "-t1", "-c16", "-d1", "-H", "Connection: close", f"http://{L.dut_ip}/"], check=True)
        time.sleep(0.5)
        j = sw.stop()
        reqs, errors, non2xx = wrk_stats(r.stdout)
        check(reqs and reqs > 500, "wrk did too few requests:\n" + r.stdout)
        check(errors is None, "wrk saw socket errors: " + str(errors))
        check(non2xx == 0, f"{non2xx} non-2xx responses")
        s = j["server"]
        check(s["app"]["responses_sent"] >= reqs, f"server sent {s['app']['responses_sent']} < wrk's {reqs}")
        # wrk resets the connections still open when its time is up (at most one per connection it keeps).
        check(s["app"]["conn_failed"] == s["app"]["conn_failed_reset"] and s["app"]["conn_failed"] <= 16,
              f"{s['app']['conn_failed']} server connections failed, {s['app']['conn_failed_reset']} by reset")
        # The server closes first: a completed connection ends in TIME_WAIT on synwave's side, or, when wrk
        # closed it first (as its time ran out), through LAST-ACK; never otherwise, and the latter are few.
        last_ack = s["entered_state"]["LAST-ACK"]
        check(s["app"]["conn_completed"] == s["tcp"]["tw_entered"] + last_ack,
              f"completed {s['app']['conn_completed']} != TIME_WAIT {s['tcp']['tw_entered']} + LAST-ACK {last_ack}")
        check(last_ack <= 64, f"{last_ack} connections closed by wrk first")
        lab.judge_clean(cap, L, s)
        print(f"# wrk close: {reqs} requests in 1 s")


@tap.case("server: wrk keep-alive, every request answered on 8 connections")
def _():
    with lab.Lab(build()) as L:
        sw = server(L, "--http-keepalive")
        with L.capture() as cap:
            r = L.peer(["wrk", "-t1", "-c8", "-d1", f"http://{L.dut_ip}/"], check=True)
        j = sw.stop()
        reqs, errors, non2xx = wrk_stats(r.stdout)
        check(reqs and reqs > 1000, "wrk did too few requests:\n" + r.stdout)
        check(errors is None, "wrk saw socket errors: " + str(errors))
        check(non2xx == 0, f"{non2xx} non-2xx responses")
        s = j["server"]
        # wrk opens its 8 connections (and may open one more as it starts); they carry every request.
        check(8 <= s["app"]["conn_accepted"] <= 10, f"{s['app']['conn_accepted']} connections accepted for wrk -c8")
        check(s["app"]["responses_sent"] >= reqs, "fewer responses than wrk counted")
        check(s["tcp"]["send_refused"] == 0, "a response was refused (pipelined request?)")
        lab.judge_clean(cap, L, s)
        print(f"# wrk keep-alive: {reqs} requests in 1 s")


HALF_CLOSE = r'''
import socket, sys
s = socket.create_connection(("10.77.0.1", 80), timeout=5)
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

@tap.case("server: half-close (shutdown SHUT_WR), response read to EOF")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer_python(HALF_CLOSE)
        j = sw.stop()
        check(r.returncode == 0, "client failed: " + r.stderr[-500:])
        head, _, body = r.stdout.partition("\r\n\r\n")
        check(head.startswith("HTTP/1.1 200 OK") and body == expected_body(), "response differs")
        s = j["server"]
        check(s["app"]["conn_completed"] == 1 and s["app"]["conn_failed"] == 0, "connection did not complete")
        cap.judge(L.dut_ip)


LINGER_RST = r'''
import socket, struct, time
s = socket.create_connection(("10.77.0.1", 80), timeout=5)
time.sleep(0.2)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
'''

@tap.case("server: RST from SO_LINGER {1,0} ends the connection, counted")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer_python(LINGER_RST)
            time.sleep(0.3)
        j = sw.stop()
        check(r.returncode == 0, "client failed: " + r.stderr[-500:])
        s = j["server"]
        check(s["tcp"]["conn_reset"] == 1, f"conn_reset {s['tcp']['conn_reset']}")
        check(s["app"]["conn_failed_reset"] == 1, "the app did not see the reset")
        check(s["active"] == 0, "connection left open")
        rst = cap.fields(f"ip.dst == {L.dut_ip} && tcp.flags.reset == 1", ["frame.number"])
        check(len(rst) == 1, f"{len(rst)} RSTs from the kernel")
        cap.judge(L.dut_ip)


KEEPALIVE = r'''
import socket, sys, time
s = socket.create_connection(("10.77.0.1", 80), timeout=10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 2)
time.sleep(4.5)   # idle: the kernel probes every second; two unanswered would kill the socket
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode())
'''

@tap.case("server: the kernel's keepalive probes are answered, the connection lives")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer_python(KEEPALIVE, timeout=30)
        j = sw.stop()
        check(r.returncode == 0, "keepalive client failed (connection killed?): " + r.stderr[-500:])
        check(r.stdout.endswith(expected_body()), "no full response after the idle period")
        probes = cap.fields(f"ip.dst == {L.dut_ip} && tcp.analysis.keep_alive", ["frame.number"])
        answers = cap.fields(f"ip.src == {L.dut_ip} && tcp.analysis.keep_alive_ack", ["frame.number"])
        check(len(probes) >= 3, f"{len(probes)} keepalive probes captured")
        check(len(answers) == len(probes), f"{len(answers)} answers to {len(probes)} probes")
        check(j["server"]["app"]["conn_completed"] == 1, "connection did not complete")
        cap.judge(L.dut_ip, allow=("tcp.analysis.keep_alive_ack",))
        print(f"# {len(probes)} probes, {len(answers)} answered")


@tap.case("server: SYN cookies always: curl and wrk served, options survive in the cookie")
def _():
    with lab.Lab(build()) as L:
        sw = server(L, "--cookies", "always")
        with L.capture() as cap:
            r = L.peer(["curl", "-s", "-m", "5", f"http://{L.dut_ip}/"], check=True)
            w = L.peer(["wrk", "-t1", "-c8", "-d1", "-H", "Connection: close", f"http://{L.dut_ip}/"], check=True)
        j = sw.stop()
        check(r.stdout == expected_body(), "curl body differs")
        reqs, errors, non2xx = wrk_stats(w.stdout)
        check(reqs and reqs > 300 and errors is None and non2xx == 0, "wrk under cookies:\n" + w.stdout)
        t = j["server"]["tcp"]
        check(t["passive_opens"] == 0, "a SYN-RECEIVED TCB was made although cookies are always on")
        check(t["syncookies_ok"] == j["server"]["app"]["conn_accepted"], "accepted != valid cookie ACKs")
        check(t["syncookies_failed"] == 0, f"{t['syncookies_failed']} cookies failed")
        lab.judge_clean(cap, L, j["server"])
        # The kernel's SYN offers wscale 7, SACK and timestamps: the cookie SYN-ACK offers them back and the
        # connection uses them (window scaling seen on synwave's later segments).
        synack = cap.fields(f"ip.src == {L.dut_ip} && tcp.flags.syn == 1 && tcp.flags.ack == 1",
                            ["tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval"])
        check(synack and all(a[0] != "" and a[1] != "" and a[2] != "" for a in synack),
              "a cookie SYN-ACK lacks window scale, SACK-permitted or timestamps")


@tap.case("server: SYN flood (hping3) while curl keeps working; counters show the flood")
def _():
    with lab.Lab(build()) as L:
        sw = server(L, "--half-open-limit", "64")
        # A spoofing flooder never answers SYN-ACKs: keep the peer kernel's RSTs for them off the wire.
        L.peer(["iptables", "-A", "OUTPUT", "-p", "tcp", "--tcp-flags", "RST", "RST", "-d", L.dut_ip, "-j", "DROP"],
               check=True)
        with L.capture() as cap:
            flood = L.peer_popen(["timeout", "8", "hping3", "-q", "-S", "-p", "80", "-i", "u200", "-c", "20000",
                                  L.dut_ip], stdout=lab.subprocess.DEVNULL, stderr=lab.subprocess.DEVNULL)
            time.sleep(1)
            ok = 0
            for _ in range(20):
                r = L.peer(["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", f"http://{L.dut_ip}/"])
                ok += r.stdout == "200"
                time.sleep(0.1)
            flood.wait(timeout=30)
        j = sw.stop()
        t = j["server"]["tcp"]
        # The half-open TCBs' SYN-ACKs are retransmitted by their timers (hping3 never answers): tshark's
        # retransmissions from synwave must be exactly those, and nothing else may be flagged.
        rtx = cap.fields(f"ip.src == {L.dut_ip} && tcp.analysis.retransmission", ["frame.number"])
        check(len(rtx) == t["synack_rtx"], f"{len(rtx)} retransmissions captured, synack_rtx {t['synack_rtx']}")
        # hping3's source port walks through curl's ephemeral ports: a flood SYN on a 4-tuple whose curl
        # connection is in synwave's TIME_WAIT, and not newer (RFC 6191), is answered with an ACK of that old
        # connection (tw_acked); on a tuple still half-open, with a challenge ACK (RFC 5961 §4). tshark sees
        # both as acknowledging segments of another stream; they must be exactly those.
        acks = cap.fields(f"ip.src == {L.dut_ip} && tcp.analysis.ack_lost_segment", ["frame.number"])
        check(len(acks) == t["syn_in_synchronized"] + t["tw_acked"] or cap.dropped > 0,
              f"{len(acks)} ACKs of unseen segments with a complete capture; syn_in_synchronized "
              f"{t['syn_in_synchronized']}, tw_acked {t['tw_acked']}")
        if cap.dropped:
            print(f"# tcpdump dropped {cap.dropped} frames under the flood")
        n = cap.judge(L.dut_ip, allow=("tcp.analysis.retransmission", "tcp.analysis.ack_lost_segment"))
        check(n > 10000, f"only {n} frames from synwave captured during the flood")
        t = j["server"]["tcp"]
        check(ok == 20, f"{ok} of 20 curl requests succeeded during the flood")
        check(t["syncookies_sent"] > 1000, f"syncookies_sent {t['syncookies_sent']}: the flood did not engage cookies")
        check(t["passive_opens"] <= 64 + 20 + 64, f"passive_opens {t['passive_opens']} beyond the half-open limit")
        print(f"# flood: {t['syncookies_sent']} cookie SYN-ACKs, {t['passive_opens']} SYN-RECEIVED TCBs,"
              f" {t['synack_timeouts']} SYN-ACK timeouts; 20/20 curl ok")


@tap.case("server: echo to nc (half-closing with -N), bytes back in order")
def _():
    with lab.Lab(build()) as L:
        sw = L.synwave("server", ["--ip", L.dut_ip, "--port", "7", "--behaviour", "echo"])
        L.wait_reachable()
        text = "".join(f"line {i} of the echo test\n" for i in range(200))  # 5 KB: more than one segment
        with L.capture() as cap:
            r = L.peer(["nc", "-N", "-w", "5", L.dut_ip, "7"], input=text.encode())
        j = sw.stop()
        check(r.returncode == 0, "nc failed: " + r.stderr[-300:])
        check(r.stdout == text, f"echo differs: {len(r.stdout)} of {len(text)} bytes back")
        a = j["server"]["app"]
        check(a["echo_bytes"] == len(text), f"echo_bytes {a['echo_bytes']}")
        check(a["conn_completed"] == 1 and a["conn_failed"] == 0 and a["echo_overflow"] == 0, str(a))
        lab.judge_clean(cap, L, j["server"])


REUSE_PORT = r'''
import socket, sys, time
def get(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.77.0.2", port))
    s.settimeout(5)
    s.connect(("10.77.0.1", 80))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data
a = get(45678)
time.sleep(0.05)   # a newer timestamp for the second SYN
b = get(45678)     # same 4-tuple: the SYN meets synwave's TIME_WAIT record
sys.stdout.write("%d %d" % (len(a), len(b)))
'''

@tap.case("server: a new SYN on a 4-tuple in synwave's TIME_WAIT reopens it (RFC 6191)")
def _():
    with lab.Lab(build()) as L:
        sw = server(L)
        with L.capture() as cap:
            r = L.peer_python(REUSE_PORT)
        j = sw.stop()
        check(r.returncode == 0, "client failed: " + r.stderr[-500:])
        a, b = (int(x) for x in r.stdout.split())
        check(a == b and a > BODY, f"responses of {a} and {b} bytes")
        t = j["server"]["tcp"]
        check(t["tw_reopened"] == 1, f"tw_reopened {t['tw_reopened']}")
        check(t["tw_entered"] == 2 and j["server"]["app"]["conn_completed"] == 2, "two closes, two TIME_WAITs")
        syns = cap.fields(f"ip.dst == {L.dut_ip} && tcp.flags.syn == 1 && tcp.srcport == 45678", ["frame.number"])
        check(len(syns) == 2, f"{len(syns)} SYNs from port 45678 (a retransmitted SYN means the reuse failed)")
        lab.judge_clean(cap, L, j["server"])


if __name__ == "__main__":
    lab.main(tap)
