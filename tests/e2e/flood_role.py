#!/usr/bin/env python3
"""`synwave client --flood syn` against the Linux kernel in the namespace lab: a listener with a small backlog and
net.ipv4.tcp_syncookies=1 (and tcp_timestamps=2) answers the flood with SYN cookies once its SYN queue is full (TcpExtSyncookiesSent
moves), while a curl on the peer and synwave's own legitimate connections (--legit-rate, from another address)
still get through. synwave counts the kernel's SYN-ACKs (cookie-looking ones among them) without building
connections. A few seconds, traffic only inside the lab's namespaces.
Usage: /usr/bin/python3 tests/e2e/flood_role.py <build dir>
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from lab import check, note  # noqa: E402
from client_peers import peer_mac, pinned, wait_listen  # noqa: E402

tap = lab.Tap()

# A threading HTTP server whose listen backlog (and so its SYN queue, sk_max_ack_backlog) is 8.
HTTP_SERVER = """
import http.server, sys
class S(http.server.ThreadingHTTPServer):
    request_queue_size = 8
    daemon_threads = True
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
"""
PORT = 8080
FLOOD_SRC = "10.77.0.100-10.77.0.163"  # on the lab's /24, apart from synwave's legitimate source 10.77.0.1


def build():
    return os.environ["SYNWAVE_E2E_BUILD"]


def tcp_ext(L, name):
    """A TcpExt counter of the peer namespace (/proc/net/netstat is per namespace)."""
    lines = L.peer(["cat", "/proc/net/netstat"], check=True).stdout.splitlines()
    for keys, vals in zip(lines[::2], lines[1::2]):
        if keys.startswith("TcpExt:"):
            return int(dict(zip(keys.split()[1:], vals.split()[1:]))[name])
    raise AssertionError("no TcpExt line in /proc/net/netstat")


@tap.case("flood: synwave client --flood syn at 20000/s against a kernel listener with syncookies=1 and backlog 8: "
          "the kernel sends cookies, curl and synwave's legitimate connections still complete, SYN-ACKs counted")
def _():
    with lab.Lab(build()) as L:
        # tcp_timestamps=2: timestamps without Linux's per-address-pair random TSval offset, which would hide the
        # options a cookie SYN-ACK encodes in its TSval's low bits (engine/flood.hpp, "cookie-looking").
        L.peer(["sysctl", "-qw", "net.ipv4.tcp_syncookies=1", "net.ipv4.tcp_max_syn_backlog=64",
                "net.ipv4.tcp_timestamps=2"], check=True)
        path = L.path("http_server.py")
        with open(path, "w") as f:
            f.write(HTTP_SERVER)
        srv = L.peer_popen(pinned(["/usr/bin/python3", path, L.peer_ip, str(PORT)]), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        wait_listen(L, PORT, srv)
        cookies0 = tcp_ext(L, "SyncookiesSent")
        sw = L.synwave("client", ["--src", L.dut_ip, "--dst", L.peer_ip, "--port", str(PORT), "--peer-mac", peer_mac(L),
                                  "--flood", "syn", "--flood-src", FLOOD_SRC, "--flood-rate", "20000",
                                  "--legit-rate", "20", "--duration", "3", "--fail-tolerance", "0"])
        time.sleep(1.5)  # the SYN queue is full of the flood's by now
        curl = L.peer(["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                       f"http://{L.peer_ip}:{PORT}/"], timeout=10)
        j = sw.wait(timeout=40)
        cookies = tcp_ext(L, "SyncookiesSent") - cookies0
        overflows = tcp_ext(L, "ListenOverflows")
        f = j["flood"]
        c = j["connections"]
        note(f"flood sent {f['flood_tx']} SYNs ({f['frames_per_s']:.0f}/s); SYN-ACKs {f['flood_syn_ack_rx']} "
             f"(cookie-looking {f['flood_cookie_syn_ack_rx']}), RSTs {f['flood_rst_rx']}, other {f['flood_other_rx']}; "
             f"kernel SyncookiesSent +{cookies}, ListenOverflows {overflows}; legitimate {c['completed']} of "
             f"{c['attempted']}; curl {curl.stdout!r}")
        check(j["exit_status"] == 0, f"synwave exited {j['exit_status']}\n{sw.log()}")
        check(curl.returncode == 0 and curl.stdout == "200", f"curl during the flood: {curl.returncode} "
              f"{curl.stdout!r} {curl.stderr.strip()}")
        check(cookies > 0, "the kernel sent no SYN cookie under the flood")
        check(f["flood_tx"] >= 20000, f"the flood sent {f['flood_tx']} SYNs, about 60000 expected")
        check(f["flood_syn_ack_rx"] > 0 and f["flood_rst_rx"] == 0 and f["flood_other_rx"] == 0,
              f"replies: {f}")
        # Linux encodes our SYN's window scale and SACK-permitted in its cookie SYN-ACK's TSval; its stateful
        # SYN-ACKs match that by chance only, and there are at most 8 x 6 of them (the 8 records of the queue,
        # each sent and retransmitted at most tcp_synack_retries = 5 times).
        check(f["flood_cookie_syn_ack_rx"] <= f["flood_syn_ack_rx"], f"cookie-looking above all SYN-ACKs: {f}")
        check(f["flood_cookie_syn_ack_rx"] >= cookies * 0.9,
              f"{f['flood_cookie_syn_ack_rx']} cookie-looking SYN-ACKs for {cookies} cookies the kernel sent")
        check(f["flood_cookie_syn_ack_rx"] <= cookies + 48,
              f"{f['flood_cookie_syn_ack_rx']} cookie-looking SYN-ACKs for {cookies} cookies the kernel sent")
        check(c["attempted"] >= 40 and c["completed"] == c["attempted"] and c["failed"] == 0,
              f"legitimate connections: {c}")
        # Nothing of the flood reached synwave's stack: only the legitimate connections' segments did.
        check(j["client"]["tcp"]["rst_no_conn"] == 0, f"synwave's stack answered {j['client']['tcp']['rst_no_conn']} "
              "segments to no connection (the flood's SYN-ACKs must not reach it)")


if __name__ == "__main__":
    lab.main(tap)
