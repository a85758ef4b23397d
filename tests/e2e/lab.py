"""Harness for the end-to-end tests: the Linux kernel's TCP as synwave's peer in network namespaces made by
scripts/lab, tools nobody here wrote (curl, wrk, nginx, python sockets, hping3), captures judged by tshark.

Each test file builds a Tap, adds cases, and runs them. Output is TAP (meson protocol 'tap'), one line per
case, so the suite's `N passed, N failed` counts scenarios. Processes started here are ended by PID only.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "scripts", "lab")


def lab_unavailable():
    """Why this machine cannot run the lab, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "tcpdump", "tshark", "ethtool"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (scripts/bootstrap installs it)"
    probe = f"swprobe{os.getpid() % 100000}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create network namespaces: " + r.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def family_field(ip):
    """tshark's field prefix for an address: ip or ipv6."""
    return "ipv6" if ":" in ip else "ip"


class Lab:
    """One lab (two namespaces and a veth pair; with routed=True a router namespace between them) for the life
    of a `with` block. ipv6, vlan (an ID) and routed are scripts/lab's --ipv6, --vlan ID and --routed; the
    addresses are then read back from `scripts/lab env` (dut_ip6, peer_ip6, gw_ip, gw_ip6, vlan_dut_ip, ...)."""

    def __init__(self, build, netem=None, lcores="0", ipv6=False, vlan=None, routed=False):
        self.build = build
        self.id = f"swe{os.getpid() % 10000}"
        self.env = dict(os.environ, LAB_ID=self.id, SYNWAVE_BUILD=build, LAB_LCORES=lcores)
        self.netem = netem
        self.options = (["--ipv6"] if ipv6 else []) + (["--vlan", str(vlan)] if vlan else []) + \
            (["--routed"] if routed else [])
        self.dut_ip = "10.77.0.1"
        self.peer_ip = "10.77.0.2"
        self.peer_ns = f"{self.id}-peer"
        self.dut_ns = f"{self.id}-dut"
        self.peer_if = f"{self.id}p"
        self.dut_if = f"{self.id}d"
        self.rtr_ns = f"{self.id}-rtr"
        self.rtr_if = f"{self.id}a"
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="swe2e-")

    def __enter__(self):
        args = [LAB, "up"] + (["--netem", self.netem] if self.netem else []) + self.options
        r = subprocess.run(args, env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            self.__exit__(None, None, None)  # remove what `lab up` made before it failed
            raise AssertionError("lab up failed: " + r.stderr.strip()[-500:])
        if self.options:
            r = subprocess.run([LAB, "env"], env=self.env, capture_output=True, text=True, check=True)
            for line in r.stdout.splitlines():
                k, _, v = line.partition("=")
                setattr(self, k.lower(), v)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run([LAB, "down"], env=self.env, capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def path(self, name):
        return os.path.join(self.tmp, name)

    # ---- processes ----
    def peer_popen(self, cmd, ns=None, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", ns or self.peer_ns] + cmd, env=self.env, **kw)
        self.procs.append(p)
        return p

    def peer(self, cmd, timeout=60, check=False, ns=None, **kw):
        """Runs a command in the peer namespace (or ns, e.g. the router's)."""
        r = subprocess.run(["ip", "netns", "exec", ns or self.peer_ns] + cmd, env=self.env, capture_output=True,
                           timeout=timeout, **kw)
        # Decoded by hand: text mode would turn HTTP's \r\n into \n.
        r.stdout = r.stdout.decode("utf-8", "replace")
        r.stderr = r.stderr.decode("utf-8", "replace")
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-800:]}")
        return r

    def peer_python(self, code, timeout=60):
        """Runs Python code in the peer namespace (Debian's interpreter, which has scapy)."""
        return self.peer(["/usr/bin/python3", "-c", code], timeout=timeout)

    def synwave(self, mode, args, json_name="synwave.json"):
        """Starts synwave in the DUT namespace; returns a Synwave handle."""
        jpath = self.path(json_name)
        out = open(self.path(json_name + ".log"), "w")
        cmd = [LAB, "synwave", mode, "--json", jpath, "--quiet"] + args
        p = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return Synwave(self, p, jpath, out.name)

    def wait_reachable(self, timeout=10, ip=None):
        """Until synwave answers ARP (or Neighbor Discovery) and ICMP (or ICMPv6) echo for its address."""
        ip = ip or self.dut_ip
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.peer(["ping", "-c", "1", "-W", "1", ip], timeout=5)
            if r.returncode == 0:
                return
        raise AssertionError(f"{ip} did not answer ping within {timeout} s")

    # ---- capture ----
    def capture(self, name="peer.pcap", snaplen=256, bpf=None, router=False):
        """tcpdump on the peer's veth, or (router=True) on the router's leg facing synwave."""
        return Capture(self, self.path(name), snaplen, bpf, router)


class Synwave:
    def __init__(self, lab, proc, json_path, log_path):
        self.lab, self.proc, self.json_path, self.log_path = lab, proc, json_path, log_path

    def stop(self, timeout=20):
        """SIGINT (synwave prints and writes its summary), then the JSON summary as a dict."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("synwave did not stop within %d s after SIGINT\n%s" % (timeout, self.log()))
        return self.result()

    def wait(self, timeout=120):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("synwave still running after %d s (a hang)\n%s" % (timeout, self.log()))
        return self.result()

    def result(self):
        if not os.path.exists(self.json_path):
            raise AssertionError("synwave wrote no JSON summary\n" + self.log())
        with open(self.json_path) as f:
            j = json.load(f)
        j["exit_status"] = self.proc.returncode
        return j

    def log(self):
        try:
            with open(self.log_path) as f:
                return "".join(l for l in f if "TELEMETRY" not in l)[-3000:]
        except OSError:
            return ""


class Capture:
    """tcpdump on the peer's veth for the life of a `with` block; judge() asks tshark about the frames."""

    def __init__(self, lab, path, snaplen=256, bpf=None, router=False):
        self.lab, self.path, self.proc = lab, path, None
        self.snaplen, self.bpf = snaplen, bpf
        self.ns, self.iface = (lab.rtr_ns, lab.rtr_if) if router else (lab.peer_ns, lab.peer_if)
        self.dropped = 0  # frames tcpdump lost (kernel buffer full): the capture is then incomplete

    def __enter__(self):
        self.proc = self.lab.peer_popen(["tcpdump", "-i", self.iface, "--immediate-mode", "-U", "-B", "65536",
                                         "-s", str(self.snaplen), "-w", self.path] + ([self.bpf] if self.bpf else []),
                                        ns=self.ns, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # tcpdump says "listening on ..." once the capture runs; frames before that would be missed.
        deadline = time.time() + 10
        line = ""
        while time.time() < deadline and "listening on" not in line:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise AssertionError("tcpdump exited before capturing")
        time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        time.sleep(0.3)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                rest = self.proc.communicate(timeout=10)[1] or ""
                m = re.search(r"(\d+) packets dropped by kernel", rest)
                self.dropped = int(m.group(1)) if m else 0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False

    def fields(self, display_filter, fields):
        """Rows of the given tshark fields for frames matching the display filter."""
        cmd = ["tshark", "-r", self.path, "-o", "tcp.check_checksum:TRUE", "-Y", display_filter, "-T", "fields"]
        for f in fields:
            cmd += ["-e", f]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError("tshark failed: " + r.stderr[-500:])
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def judge(self, src_ip, allow=()):
        """Frames sent by src_ip (synwave) that tshark flags: bad checksums, malformed, expert info >= warning,
        TCP analysis flags. `allow` lists tcp.analysis field names that the scenario expects (e.g. under
        loss: tcp.analysis.retransmission). A D-SACK block (RFC 2883: octets that arrived twice, which tshark
        marks as a warning) is always allowed: the duplicate is the peer's or the path's, the report is right.
        Raises with the offending frames printed. An IPv6 src_ip: ipv6.src, and ICMPv6 checksums (ND, echo) too."""
        allow = tuple(allow) + ("tcp.options.sack.dsack",)
        fam = family_field(src_ip)
        bad = "tcp.checksum.status == 0 || ip.checksum.status == 0 || _ws.malformed"
        if fam == "ipv6":
            bad += " || icmpv6.checksum.status == 0"
        base = f'{fam}.src == {src_ip} && ({bad} || _ws.expert.severity >= "Warning" || tcp.analysis.flags)'
        rows = self.fields(base, ["frame.number", "tcp.flags.str", "tcp.seq_raw", "tcp.ack_raw",
                                  "_ws.expert.message"])
        if allow:
            # Keep a frame only if it has a problem not on the allowed list.
            allowed = " || ".join(allow)
            strict = (f'{fam}.src == {src_ip} && ({bad}'
                      f' || ((_ws.expert.severity >= "Warning" || tcp.analysis.flags) && !({allowed})))')
            rows = self.fields(strict, ["frame.number", "tcp.flags.str", "tcp.seq_raw", "tcp.ack_raw",
                                        "_ws.expert.message"])
        if rows:
            lines = "\n".join("  " + " | ".join(r) for r in rows[:30])
            raise AssertionError(f"tshark flags {len(rows)} frame(s) from {src_ip} in {self.path}:\n{lines}")
        n = len(self.fields(f"{fam}.src == {src_ip} && tcp", ["frame.number"]))
        if n == 0:
            raise AssertionError(f"the capture has no TCP frame from {src_ip}")
        return n


class Tap:
    """A TAP producer: ok / not ok / skip per case, details as comments."""

    def __init__(self):
        self.cases = []

    def case(self, name):
        def deco(fn):
            self.cases.append((name, fn))
            return fn
        return deco

    def run(self, skip_all=None):
        only = os.environ.get("E2E_ONLY")  # e.g. E2E_ONLY=2,9: run only those cases (debugging)
        if only:
            keep = {int(x) for x in only.split(",")}
            self.cases = [c for i, c in enumerate(self.cases, 1) if i in keep]
        print(f"1..{len(self.cases)}", flush=True)
        failed = 0
        for i, (name, fn) in enumerate(self.cases, 1):
            if skip_all:
                print(f"ok {i} - {name} # SKIP {skip_all}", flush=True)
                continue
            t0 = time.time()
            try:
                fn()
                print(f"ok {i} - {name}", flush=True)  # the name stays the same run to run (JUnit)
                print(f"# {time.time() - t0:.1f} s", flush=True)
            except Exception as e:  # noqa: BLE001 - every failure becomes a TAP line with its reason
                failed += 1
                print(f"not ok {i} - {name}", flush=True)
                detail = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
                for line in detail.splitlines()[-60:]:
                    print(f"# {line}", flush=True)
        return 1 if failed else 0


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def note(msg):
    """A TAP comment line (shown in meson's log, ignored by the TAP parser)."""
    for line in str(msg).splitlines():
        print(f"# {line}", flush=True)


KERNEL_RTX = "(tcp.analysis.retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.fast_retransmission)"


def judge_clean(cap, L, side, syn_rtx=0, rto_rtx=0, pairs=None):
    """A wire without loss: synwave retransmits nothing, and tshark flags none of its frames except duplicate
    ACKs that its counters account for. Two things make a lossless lab send synwave segments it already has:
    the kernel's tail-loss probe, a few ms after its FIN, when synwave (busy-polling; two cores shared with
    the peer, tcpdump and other work) is descheduled that long; and the veth itself, which reorders when the
    kernel transmits from both CPUs. synwave must answer each with one ACK and count it: unacceptable_seq,
    tw_fin_reacked, or tw_acked in TIME_WAIT. When the veth delivers the kernel's last ACK before its
    retransmitted FIN, synwave has closed the connection (LAST-ACK) by the time the FIN comes: it answers with an
    RST, <SEQ=SEG.ACK> (RFC 9293 §3.10.7.1), counted as rst_no_conn; each such RST must answer a retransmission
    of the kernel's in the same stream. `side` is synwave's JSON section ("client" or "server").
    `rto_rtx`: segments synwave retransmits on its RTO because the scenario itself holds one of its segments
    longer than that (client_role's FinCrosser); rtx_segments and rto_expired must both be exactly that, and
    exactly that many of synwave's frames tshark flags as retransmissions (the caller checks which).
    `pairs`: the (synwave, kernel) addresses whose frames to judge; (L.dut_ip, L.peer_ip) unless given (an IPv6
    or dual-stack run). Returns the number of TCP frames from synwave judged."""
    pairs = pairs or [(L.dut_ip, L.peer_ip)]
    tcp, eng = side["tcp"], side["engine"]
    keys = ("rtx_segments", "rto_expired", "fast_retransmits", "challenge_acks", "bad_ack_rst",
            "paws_rejected", "ooo_dropped", "syn_in_synchronized")
    want = {"rtx_segments": rto_rtx, "rto_expired": rto_rtx}
    nz = {k: tcp[k] for k in keys if tcp[k] != want.get(k, 0)}
    check(not nz and tcp["syn_rtx"] == syn_rtx, f"on a clean wire: {nz} (expected 0"
          + (f"; rtx_segments and rto_expired {rto_rtx}" if rto_rtx else "")
          + f"), syn_rtx {tcp['syn_rtx']} (expected {syn_rtx})")
    # A kernel with IPv6 sends Multicast Listener Reports for its groups (RFC 3810 §6) to every host on the link;
    # synwave takes no ICMPv6 beyond echo and ND and counts them as icmp6_unsupported_type. Nothing else.
    drops = side.get("rx_drops") or {}
    background = drops.get("icmp6_unsupported_type", 0) if any(":" in d for d, _ in pairs) else 0
    check(eng["rx_dropped"] == background and eng["tx_ring_full"] == 0 and eng["tx_no_mbuf"] == 0,
          f"engine drops: {eng}; by reason {drops}")
    krtx = sum(len(cap.fields(f"{family_field(p)}.src == {p} && {KERNEL_RTX}", ["frame.number"])) for _, p in pairs)
    dups = sum(len(cap.fields(f"{family_field(d)}.src == {d} && tcp.analysis.duplicate_ack", ["frame.number"]))
               for d, _ in pairs)
    answered = tcp["unacceptable_seq"] + tcp["tw_fin_reacked"] + tcp["tw_acked"]
    if krtx or dups or answered:
        note(f"kernel retransmissions {krtx}; synwave's duplicate ACKs {dups}; unacceptable_seq "
             f"{tcp['unacceptable_seq']}, tw_fin_reacked {tcp['tw_fin_reacked']}, tw_acked {tcp['tw_acked']}, "
             f"tw_rst_killed {tcp['tw_rst_killed']}")
    check(dups <= answered, f"{dups} duplicate ACKs from synwave, but its counters account for {answered}")
    allow = ("tcp.analysis.duplicate_ack",) if dups else ()
    rsts, late = [], set()
    for d, p in pairs:
        rsts += cap.fields(f"{family_field(d)}.src == {d} && tcp.flags.reset == 1", ["tcp.stream", "tcp.seq_raw"])
        late |= {tuple(r) for r in cap.fields(f"{family_field(p)}.src == {p} && {KERNEL_RTX}",
                                              ["tcp.stream", "tcp.ack_raw"])}
    stray = [r for r in rsts if tuple(r) not in late]
    check(len(rsts) == tcp["rst_no_conn"] and not stray, f"{len(rsts)} RSTs from synwave captured (rst_no_conn "
          f"{tcp['rst_no_conn']}); not answering a kernel retransmission (stream, seq): {stray[:5]}")
    if rsts:
        note(f"{len(rsts)} RSTs from synwave, each answering a kernel retransmission that came after the last ACK")
        allow += ("tcp.flags.reset == 1",)
    if rto_rtx:
        rtx = sum(len(cap.fields(f"{family_field(d)}.src == {d} && {KERNEL_RTX}", ["frame.number"])) for d, _ in pairs)
        check(rtx == rto_rtx, f"{rtx} retransmissions from synwave captured, {rto_rtx} expected")
        allow += ("tcp.analysis.retransmission", "tcp.analysis.spurious_retransmission")
    return sum(cap.judge(d, allow=allow) for d, _ in pairs)


def main(tap):
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    if not os.path.isabs(build):
        build = os.path.abspath(build)
    os.environ["SYNWAVE_E2E_BUILD"] = build
    sys.exit(tap.run(skip_all=lab_unavailable()))
