"""The kernel-side peers of the client-role e2e tests (tests/e2e/client_role.py): nginx, a python server with
several closing behaviours, and two NFQUEUE helpers in the peer namespace (a userspace netem that loses,
duplicates, delays and reorders, and the stage that makes synwave's and the kernel's FINs cross).
"""
import json
import os
import shutil
import subprocess
import time

from lab import check

# What the python server answers (its length goes to --response-bytes).
PY_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n"


def pinned(cmd):
    """Peer processes on CPU 1: synwave busy-polls lcore 0 (CPU 0), and a server sharing its core stalls it
    for whole scheduler slices."""
    return (["taskset", "-c", "1"] + cmd) if (os.cpu_count() or 1) >= 2 and shutil.which("taskset") else cmd


# ---------------------------------------------------------------------------------------------- peers

NGINX_CONF = """worker_processes 1;
master_process off;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  {http}
  server_tokens off;
  client_body_temp_path {d}/nginx-body;
  proxy_temp_path {d}/nginx-proxy;
  fastcgi_temp_path {d}/nginx-fastcgi;
  uwsgi_temp_path {d}/nginx-uwsgi;
  scgi_temp_path {d}/nginx-scgi;
  server {{
{listens}    {server}
  }}
}}
"""

# A kernel TCP server in the peer namespace. Modes:
#   close  read the request, answer, close (the server closes first)
#   wait   read the request, answer, wait for the client's FIN, then close (the kernel ends in LAST-ACK)
#   rst    SO_LINGER {1,0} and close on accept (an RST right after the handshake)
#   shut   close on accept (no request expected)
# SIGTERM prints its counters as JSON on stdout.
PY_SERVER = r'''
import json, os, signal, socket, struct, sys, threading
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
RESP = %r
stats = {"accepted": 0, "requests": 0, "client_fin": 0, "errors": 0}
lock = threading.Lock()
def bump(k):
    with lock:
        stats[k] += 1
def on_term(*_):
    sys.stdout.write(json.dumps(stats) + "\n")
    sys.stdout.flush()
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port))
ls.listen(4096)
print("ready", flush=True)
def serve(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                bump("errors")
                return
            buf += d
        bump("requests")
        c.sendall(RESP)
        if mode == "wait":
            while c.recv(4096):
                pass
            bump("client_fin")
    except OSError:
        bump("errors")
    finally:
        c.close()
while True:
    c, _ = ls.accept()
    bump("accepted")
    if mode == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    elif mode == "shut":
        c.close()
    else:
        threading.Thread(target=serve, args=(c,), daemon=True).start()
''' % (PY_RESPONSE,)

# The NFQUEUE plumbing the two userspace stand-ins below share: binds queue argv[1] in copy-packet mode;
# packets() yields (packet id, hook, IP packet) for each packet the kernel queued (hook: NF_INET_LOCAL_IN = 1,
# LOCAL_OUT = 3), verdict() lets one through or drops it. Verdicts may be issued out of order by packet id.
# One receive buffer for the helper's life: a 1 MiB bytes object per recv() made every netlink read cost an
# mmap, a munmap and, under meson's MALLOC_PERTURB_ (meson test sets it; glibc then fills each block on malloc
# and free), two 1 MiB memsets: enough to hold each packet here for 80-300 ms on this 2-core machine.
NFQ = r"""
import heapq, json, os, random, select, signal, socket, struct, sys, time
q = int(sys.argv[1])
QUEUE_SUBSYS = 3                      # NFNL_SUBSYS_QUEUE
PACKET, VERDICT, CONFIG = 0, 1, 2     # NFQNL_MSG_*
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NF_DROP, NF_ACCEPT = 0, 1
LOCAL_IN, LOCAL_OUT = 1, 3
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((0, 0))
seq = 0
def attr(t, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, t) + data + b"\0" * ((4 - n % 4) % 4)
def send(msg, attrs, flags=NLM_F_REQUEST):
    global seq
    seq += 1
    body = struct.pack("=BBH", socket.AF_INET, 0, socket.htons(q)) + b"".join(attrs)
    s.send(struct.pack("=IHHII", 16 + len(body), (QUEUE_SUBSYS << 8) | msg, flags, seq, 0) + body)
def verdict(pid, v):
    send(VERDICT, [attr(2, struct.pack("!II", v, pid))])           # NFQA_VERDICT_HDR
send(CONFIG, [attr(1, struct.pack("!BxH", 1, 0))], NLM_F_REQUEST | NLM_F_ACK)      # NFQA_CFG_CMD: bind
send(CONFIG, [attr(2, struct.pack("!IB", 0xffff, 2))], NLM_F_REQUEST | NLM_F_ACK)  # NFQA_CFG_PARAMS: copy packet
rbuf = bytearray(1 << 20)
def packets():
    n = s.recv_into(rbuf)
    buf = memoryview(rbuf)[:n]
    off = 0
    while off + 16 <= n:
        ln, typ = struct.unpack_from("=IH", buf, off)
        if ln < 16:
            break
        if typ == 2:  # NLMSG_ERROR: the acks of our configuration
            err = struct.unpack_from("=i", buf, off + 16)[0]
            if err:
                print("netlink error", err, file=sys.stderr, flush=True)
                os._exit(1)
        elif typ == (QUEUE_SUBSYS << 8) | PACKET:
            a, pid, hook, payload = off + 20, None, None, None
            while a + 4 <= off + ln:
                al, at = struct.unpack_from("=HH", buf, a)
                if al < 4:
                    break
                if at & 0x7fff == 1:     # NFQA_PACKET_HDR
                    pid, _, hook = struct.unpack_from("!IHB", buf, a + 4)
                elif at & 0x7fff == 10:  # NFQA_PAYLOAD
                    payload = bytes(buf[a + 4:a + al])
                a += (al + 3) & ~3
            yield pid, hook, payload
        off += (ln + 3) & ~3
"""

# A userspace netem on NFQUEUE (this machine's kernel has no sch_netem: `tc qdisc add ... netem` answers
# "Specified qdisc kind is unknown", so lab.Lab(netem=...) cannot come up). iptables queues the peer's TCP
# to and from synwave; each packet is dropped with probability LOSS, else accepted at once with probability
# REORDER (correlated CORR, as netem's reorder) or after DELAY_MS (so the immediate ones overtake the delayed
# ones); a packet the kernel sends is also copied with probability DUP (sent through a raw socket whose mark
# the iptables rule skips).
# Usage: impair.py QUEUE LOSS DUP DELAY_MS REORDER CORR; SIGTERM prints per-direction counters as JSON.
IMPAIR = NFQ + r"""
loss, dup, delay_ms, reorder, corr = (float(x) for x in sys.argv[2:7])
MARK = 0x77
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.SOL_SOCKET, 36, MARK)                                          # SO_MARK
stats = {d: {"seen": 0, "dropped": 0, "delayed": 0, "immediate": 0, "duplicated": 0} for d in ("to_peer", "to_dut")}
def on_term(*_):
    print(json.dumps(stats), flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
last = [random.random()]
def crand():
    last[0] = random.random() * (1 - corr) + last[0] * corr
    return last[0]
due, n = [], 0   # heap of (when, n, packet id or None, copy to send or None)
print("ready", flush=True)
while True:
    now = time.monotonic()
    while due and due[0][0] <= now:
        _, _, pid, copy = heapq.heappop(due)
        if pid is not None:
            verdict(pid, NF_ACCEPT)
        else:
            raw.sendto(copy, (socket.inet_ntoa(copy[16:20]), 0))
    r, _, _ = select.select([s], [], [], max(0.0, due[0][0] - now) if due else None)
    if not r:
        continue
    for pid, hook, payload in packets():
        d = stats["to_peer" if hook == LOCAL_IN else "to_dut"]
        d["seen"] += 1
        now = time.monotonic()
        if random.random() < loss:
            d["dropped"] += 1
            verdict(pid, NF_DROP)
        else:
            when = now
            if delay_ms == 0 or crand() < reorder:
                d["immediate"] += 1
                verdict(pid, NF_ACCEPT)
            else:
                d["delayed"] += 1
                when = now + delay_ms / 1000
                n += 1
                heapq.heappush(due, (when, n, pid, None))
            if hook == LOCAL_OUT and payload and random.random() < dup:
                d["duplicated"] += 1
                n += 1
                heapq.heappush(due, (when, n, None, payload))
"""

# Crossing FINs on NFQUEUE: makes the kernel's FIN leave before synwave's FIN reaches the kernel's TCP, for
# every connection, by the order of events alone: no hold limit, no delay that a descheduled server could
# outlast. synwave with --no-request sends its FIN on the handshake's ACK (ACK|FIN, one segment), so merely
# holding that segment would hold the handshake too: the kernel would take ACK and FIN together and go straight
# to CLOSE-WAIT (then LAST-ACK), never sending a FIN of its own first. So the first FIN of each connection is
# split: a copy with the FIN bit cleared (and no payload) is handed to the kernel's TCP at once, through a raw
# socket to the peer's own address (it arrives on lo, which the INPUT rule does not queue), and completes the
# handshake; the segment itself stays queued. The server accepts and closes, its FIN passes OUTPUT (queued
# too) and is let out first; then synwave's FIN is released, to a kernel in FIN-WAIT-1. Both verdicts come
# from this one process (pinned to one CPU), so the veth delivers the kernel's FIN to synwave before the
# kernel's ACK of synwave's FIN. The capture on the veth still shows synwave's ACK|FIN once, as sent.
# A FIN stays held until the kernel's FIN for its connection comes, however long the server takes (a server
# descheduled for a few hundred ms on a loaded machine is what made a hold limit fail). Holding it past
# synwave's RTO (200 ms at least) makes synwave retransmit it: each retransmission of a held or released FIN
# (same sequence number) is dropped here and counted (fin_rtx_dropped), so the kernel's TCP receives one FIN
# per connection, after its own, whatever the timing; the test accounts for those retransmissions exactly.
# Any other segment of synwave's for a connection whose FIN is held waits behind it, in order. A second kernel
# FIN on a connection is a retransmission (the kernel's RTO or tail-loss probe, when this helper or synwave is
# slow): dropped and counted too (peer_fin_rtx_dropped), as synwave has the original; let through, one queued
# here behind a stalled helper would reach synwave after the kernel's ACK of synwave's FIN (which is not
# queued), with an older timestamp (PAWS). Usage: cross.py QUEUE; SIGTERM prints its counters as JSON.
CROSS = NFQ + r"""
FIN, SYN = 0x01, 0x02
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
held = {}      # synwave's port -> (since, [packet ids]): its FIN and what came after it, in arrival order
fin_seq = {}   # synwave's port -> the sequence number of its FIN there (once split)
peer_fin = {}  # synwave's port -> ack of the kernel's FIN there (the sequence number of synwave's FIN)
stats = {"dut_segments": 0, "dut_fins": 0, "split": 0, "held_behind_fin": 0, "released_on_peer_fin": 0,
         "fin_after_peer_fin": 0, "fin_rtx_dropped": 0, "fin_rtx_ports": 0, "peer_fins": 0, "peer_fin_rtx_dropped": 0,
         "peer_synack_rtx_dropped": 0, "still_held": 0}
holds = []     # ms each FIN was held
rtx_ports = set()
def on_term(*_):
    h = sorted(holds)
    stats["still_held"] = len(held)
    stats["fin_rtx_ports"] = len(rtx_ports)
    stats["hold_ms"] = {"n": len(h), "min": h[0] if h else 0, "p50": h[len(h) // 2] if h else 0,
                        "max": h[-1] if h else 0}
    print(json.dumps(stats), flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
def tcp(p):
    ihl = (p[0] & 15) * 4
    sport, dport, sq, ack, off, flags = struct.unpack_from("!HHIIBB", p, ihl)
    return ihl, sport, dport, sq, ack, (off >> 4) * 4, flags
def checksum(b):
    b += b"\0" * (len(b) & 1)
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while c >> 16:
        c = (c & 0xffff) + (c >> 16)
    return ~c & 0xffff
def ack_only(p):
    # The segment's IP and TCP headers, FIN cleared, TCP checksum recomputed (raw sockets fill in the IP's).
    ihl, _, _, _, _, thl, flags = tcp(p)
    h = bytearray(p[:ihl + thl])
    struct.pack_into("!H", h, 2, len(h))
    h[ihl + 13] = flags & ~FIN
    h[ihl + 16:ihl + 18] = b"\0\0"
    pseudo = bytes(h[12:20]) + struct.pack("!BBH", 0, 6, thl)
    struct.pack_into("!H", h, ihl + 16, checksum(pseudo + bytes(h[ihl:])))
    return bytes(h)
def release(port):
    since, pids = held.pop(port)
    for pid in pids:
        verdict(pid, NF_ACCEPT)
    stats["released_on_peer_fin"] += 1
    holds.append(round((time.monotonic() - since) * 1000, 2))
print("ready", flush=True)
while True:
    for pid, hook, p in packets():
        _, sport, dport, sq, ack, _, flags = tcp(p)
        if hook == LOCAL_OUT and flags & SYN:  # a retransmitted SYN-ACK (see FinCrosser)
            stats["peer_synack_rtx_dropped"] += 1
            verdict(pid, NF_DROP)
            continue
        if hook == LOCAL_OUT:              # a FIN of the kernel's (the OUTPUT rule queues only those else)
            if dport in peer_fin:
                stats["peer_fin_rtx_dropped"] += 1
                verdict(pid, NF_DROP)
                continue
            verdict(pid, NF_ACCEPT)        # on the wire first, before the kernel can answer synwave's FIN
            stats["peer_fins"] += 1
            peer_fin[dport] = ack
            if dport in held:
                release(dport)
            continue
        stats["dut_segments"] += 1
        if flags & FIN and fin_seq.get(sport) == sq:
            stats["fin_rtx_dropped"] += 1  # synwave's RTO fired while (or just after) its FIN was held: the
            rtx_ports.add(sport)           # kernel gets (or got) that FIN once, from the held original
            verdict(pid, NF_DROP)
        elif sport in held:
            held[sport][1].append(pid)
            stats["held_behind_fin"] += 1
        elif flags & FIN:
            stats["dut_fins"] += 1
            if (peer_fin.get(sport, sq + 2) - sq) & 0xffffffff <= 1:
                stats["fin_after_peer_fin"] += 1    # the kernel's FIN is out already: they cross as they are
                fin_seq[sport] = sq
                verdict(pid, NF_ACCEPT)
            else:
                raw.sendto(ack_only(p), (socket.inet_ntoa(p[16:20]), 0))
                stats["split"] += 1
                fin_seq[sport] = sq
                held[sport] = (time.monotonic(), [pid])
        else:
            verdict(pid, NF_ACCEPT)
"""


class Nfq:
    """One of the NFQUEUE scripts above in the peer namespace, fed by the given iptables rules."""

    def __init__(self, L, name, script, args, rules, queue):
        self.L = L
        path = L.path(name)
        with open(path, "w") as f:
            f.write(script)
        self.proc = L.peer_popen(pinned(["/usr/bin/python3", path, str(queue)] + [str(x) for x in args]),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        check(line.strip() == "ready", f"{name} did not start: {line!r}")
        q = ["-j", "NFQUEUE", "--queue-num", str(queue)]
        for chain, match in rules:
            L.peer(["iptables", "-w", "-A", chain] + match + q, check=True)

    def stats(self):
        # Take the rules away first (no --queue-bypass: while they are in place nothing passes unimpaired).
        self.L.peer(["iptables", "-w", "-F", "OUTPUT"])
        self.L.peer(["iptables", "-w", "-F", "INPUT"])
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        check(lines, "no counters printed:\n" + out[-1000:])
        return json.loads(lines[-1])


class Impairer(Nfq):
    """The userspace netem above, on the peer's TCP to and from synwave (both directions)."""

    def __init__(self, L, loss, dup, delay_ms, reorder, corr, queue=7):
        super().__init__(L, "impair.py", IMPAIR, (loss, dup, delay_ms, reorder, corr),
                         [("OUTPUT", ["-d", L.dut_ip, "-p", "tcp", "-m", "mark", "!", "--mark", "0x77"]),
                          ("INPUT", ["-s", L.dut_ip, "-p", "tcp"])], queue)


class FinCrosser(Nfq):
    """The crossing FINs above: synwave's TCP as it enters the peer's veth, and the kernel's FINs to it. Not
    synwave's SYNs (! --syn): the kernel answers those at once, so a slow helper cannot delay a SYN-ACK past
    synwave's SYN timeout (1 s). The other way round, a helper slower than the kernel's SYN-ACK timeout (1 s)
    to hand over the split ACK would have the kernel retransmit its SYN-ACK to a synwave in FIN-WAIT-1: the
    second and later SYN-ACKs to a port (hashlimit: one per port passes; synwave has the first) are queued
    too, and dropped by the helper (a DROP in OUTPUT itself would fail the kernel's send, and the kernel
    drops a SYN-RECEIVED entry whose SYN-ACK retransmission fails: RST to the late ACK)."""

    def __init__(self, L, queue=8):
        synack_rtx = ["-d", L.dut_ip, "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK", "-m", "hashlimit",
                      "--hashlimit-name", "synack", "--hashlimit-mode", "dstport", "--hashlimit-above", "1/hour",
                      "--hashlimit-burst", "1", "--hashlimit-htable-expire", "3600000"]
        super().__init__(L, "cross.py", CROSS, (),
                         [("OUTPUT", ["-d", L.dut_ip, "-p", "tcp", "--tcp-flags", "FIN", "FIN"]),
                          ("OUTPUT", synack_rtx),
                          ("INPUT", ["-i", L.peer_if, "-s", L.dut_ip, "-p", "tcp", "!", "--syn"])], queue)


class PeerScript:
    """A python server script run in the peer namespace: it prints "ready" once listening and a JSON line of
    its counters when terminated."""

    def __init__(self, L, name, text, args):
        path = L.path(name)
        with open(path, "w") as f:
            f.write(text)
        self.proc = L.peer_popen(pinned(["/usr/bin/python3", path] + [str(a) for a in args]),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        check(line.strip() == "ready", f"python server did not start: {line!r}")

    def stats(self):
        """Stops the server (SIGTERM) and returns its counters."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        lines = [x for x in out.splitlines() if x.startswith("{")]
        check(lines, "python server printed no counters:\n" + out[-1000:])
        return json.loads(lines[-1])


class PyServer(PeerScript):
    def __init__(self, L, mode, port=80):
        super().__init__(L, f"server-{mode}.py", PY_SERVER, [mode, L.peer_ip, port])


def nginx(L, http="access_log off;", server='location / { return 200 "hello\\n"; }', addrs=None):
    """nginx in the peer namespace on port 80 of each address in addrs (IPv6 in brackets; default the peer's
    IPv4 address): `http` lines in its http block, `server` in its server block."""
    listens = "".join(f"    listen {a}:80 backlog=4096;\n" for a in (addrs or [L.peer_ip]))
    with open(L.path("nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(d=L.tmp, listens=listens, http=http, server=server))
    p = L.peer_popen(pinned(["nginx", "-c", L.path("nginx.conf"), "-p", L.tmp]), stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    wait_listen(L, 80, p)
    return p


def wait_listen(L, port, proc, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        check(proc.poll() is None, f"the server exited ({proc.returncode}) before listening")
        r = L.peer(["ss", "-Hltn", f"sport = :{port}"])
        if r.stdout.strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def response_length(L):
    """Bytes the server at L.peer_ip:80 sends for synwave's exact request, read until its FIN."""
    req = f"GET / HTTP/1.1\r\nHost: {L.peer_ip}\r\nUser-Agent: synwave\r\nConnection: close\r\n\r\n"
    code = (f"import socket\ns = socket.create_connection(({L.peer_ip!r}, 80), timeout=5)\n"
            f"s.sendall({req.encode()!r})\nn = 0\nwhile True:\n    d = s.recv(65536)\n    if not d: break\n"
            f"    n += len(d)\nprint(n)\n")
    r = L.peer_python(code, timeout=20)
    check(r.returncode == 0, "measuring the response failed: " + r.stderr[-500:])
    return int(r.stdout.strip())


def peer_mac(L):
    r = L.peer(["ip", "-j", "link", "show", L.peer_if], check=True)
    return json.loads(r.stdout)[0]["address"]
