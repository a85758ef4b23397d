"""What the IPv6, VLAN and routed e2e tests (ipv6_role.py, vlan_route_role.py) share: nginx listening on the
addresses given and logging each request's source and status, `synwave client` runs and their completion
check, MAC addresses of the lab's interfaces, and the judge of synwave's ICMPv6 frames."""
import json
import time

from lab import check, note
from client_peers import nginx as peers_nginx

BODY = 1000  # `synwave server --body`: more than one segment's worth of headers, less than one MSS
NS, NA = 135, 136  # ICMPv6 Neighbor Solicitation / Advertisement (RFC 4861 §4.3, §4.4)


def expected_body(n=BODY):
    """synwave's test pattern (engine::pattern_byte): 16-byte records, each its number in hex and a newline."""
    return "".join("%015x\n" % k for k in range(n // 16 + 1))[:n]


def link_mac(L, ns, ifname):
    r = L.peer(["ip", "-j", "link", "show", ifname], ns=ns, check=True)
    return json.loads(r.stdout)[0]["address"]


def reachable(L, sw, ip):
    """Until synwave answers ping at ip; its log in the failure if it does not (e.g. it refused an option)."""
    try:
        L.wait_reachable(ip=ip)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{sw.log()}") from None


def clean_icmpv6(cap, src):
    """ICMPv6 frames from src (echo replies, Neighbor Advertisements) that tshark flags; raises on any."""
    rows = cap.fields(f"ipv6.src == {src} && icmpv6 && (icmpv6.checksum.status == 0 || _ws.malformed"
                      f' || _ws.expert.severity >= "Warning")', ["frame.number", "icmpv6.type", "_ws.expert.message"])
    check(not rows, f"tshark flags {len(rows)} ICMPv6 frame(s) from {src}: {rows[:10]}")


def nginx(L, addrs):
    """nginx in the peer namespace listening on each address (IPv6 in brackets), logging who asked and the
    status it answered, one line a request."""
    return peers_nginx(L, http=f"log_format fam '$remote_addr $status';\n  access_log {L.tmp}/access.log fam;",
                       addrs=addrs)


def access_log(L, n):
    """(remote address, status) of each request nginx logged, once n are there (nginx logs as it finishes)."""
    rows = []
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(L.path("access.log")) as f:
            rows = [tuple(line.split()) for line in f if line.strip()]
        if len(rows) >= n:
            break
        time.sleep(0.1)
    return rows


def check_log(L, n, by):
    """nginx logged exactly n requests, all answered 200, as many from each synwave address as `by` says."""
    log = access_log(L, n)
    got = {ip: sum(1 for r in log if r == (ip, "200")) for ip in by}
    check(len(log) == n and got == by, f"nginx logged {len(log)} requests ({n} expected); with status 200 by "
          f"source {got}, expected {by}; first lines {log[:4]}")


def client(L, src, dst, n, extra=()):
    """`synwave client` for n connections, nginx closing each (--close server); its JSON once it has exited."""
    args = ["--src", src, "--dst", dst, "--port", "80", "--total", str(n), "--concurrency", "20",
            "--close", "server", "--duration", "10", "--fail-tolerance", "0"] + list(extra)
    j = L.synwave("client", args).wait(timeout=30)
    note(f"synwave ran {j['duration_s']:.1f} s, exit status {j['exit_status']}")
    return j


def check_complete(j, n, n6):
    """Every one of n connections attempted, connected, completed with its response; n6 of them over IPv6."""
    a = j["client"]["app"]
    got = {k: a[k] for k in ("conn_attempted", "conn_connected", "conn_completed", "conn_failed",
                             "responses_done", "conn_attempted_v6", "conn_completed_v6")}
    want = {"conn_attempted": n, "conn_connected": n, "conn_completed": n, "conn_failed": 0, "responses_done": n,
            "conn_attempted_v6": n6, "conn_completed_v6": n6}
    check(got == want, f"counters {got}, expected {want}")
    check(j["exit_status"] == 0 and j["client"]["active"] == 0,
          f"exit status {j['exit_status']}, {j['client']['active']} connections still open")
