#!/usr/bin/env python3
"""`synwave client` against the Linux kernel's TCP (nginx, python servers) in the namespace lab: who closes
first and where TIME_WAIT lands, resets and refusals, a dropped final ACK (TIME_WAIT re-ACKs the kernel's
retransmitted FIN), a simultaneous close right after the handshake (FINs made to cross on NFQUEUE), and a
lossy, reordering, duplicating, delaying wire.

The kernel-side peers (nginx, the python server, the NFQUEUE helpers) are in client_peers.py.
Every case keeps a capture of the peer's veth and has tshark judge synwave's frames; counters are asserted
exactly where the scenario makes them exact. Usage: /usr/bin/python3 tests/e2e/client_role.py <build dir>
Debugging: CLIENT_ROLE_ONLY=2,5 runs only those cases; CLIENT_ROLE_KEEP=<dir> keeps each case's pcap, JSON
and logs there.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from lab import check  # noqa: E402
from client_peers import (  # noqa: E402
    FinCrosser, Impairer, PY_RESPONSE, PyServer, nginx, peer_mac, response_length)

tap = lab.Tap()

# Flags tshark raises on synwave's frames when the wire loses, duplicates or reorders packets.
LOSS_FLAGS = ("tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.duplicate_ack",
              "tcp.analysis.out_of_order", "tcp.analysis.spurious_retransmission", "tcp.analysis.lost_segment",
              "tcp.analysis.ack_lost_segment")
KERNEL_RTX = lab.KERNEL_RTX


def build():
    return os.environ["SYNWAVE_E2E_BUILD"]


class Lab(lab.Lab):
    """lab.Lab that, with CLIENT_ROLE_KEEP=<dir> set, copies each case's temp dir (pcap, JSON, logs) there."""

    def __exit__(self, *exc):
        keep = os.environ.get("CLIENT_ROLE_KEEP")
        if keep:
            shutil.copytree(self.tmp, os.path.join(keep, os.path.basename(self.tmp)), dirs_exist_ok=True)
        return super().__exit__(*exc)


note = lab.note


# ---------------------------------------------------------------------------------------------- synwave

def client(L, n, concurrency, close, extra=(), duration=5, mac=True, port=80):
    """Starts `synwave client` for n connections (mac: a fixed next hop, so no SYN waits for ARP)."""
    args = ["--src", L.dut_ip, "--dst", L.peer_ip, "--port", str(port), "--total", str(n),
            "--concurrency", str(concurrency), "--close", close, "--duration", str(duration),
            "--fail-tolerance", "0"] + list(extra)
    if mac:
        args += ["--peer-mac", peer_mac(L)]
    return L.synwave("client", args)


def finish(sw, duration):
    """Waits for the client's own end (after --total N, or at --duration) and returns its JSON."""
    j = sw.wait(timeout=duration + 20)
    note(f"synwave ran {j['duration_s']:.1f} s, exit status {j['exit_status']}")
    return j


def counters(j):
    c = j["client"]
    return c["app"], c["tcp"], c["entered_state"], c["engine"]


def check_all_complete(j, n):
    app, _, _, _ = counters(j)
    got = {k: app[k] for k in ("conn_attempted", "conn_connected", "conn_completed", "conn_failed")}
    check(got == {"conn_attempted": n, "conn_connected": n, "conn_completed": n, "conn_failed": 0},
          f"expected {n} attempted/connected/completed and 0 failed: {got}")
    check(j["exit_status"] == 0, f"exit status {j['exit_status']} although every connection completed")
    check(j["client"]["active"] == 0, f"{j['client']['active']} connections still open at the end")


def judge_clean(cap, L, j, syn_rtx=0, rto_rtx=0):
    return lab.judge_clean(cap, L, j["client"], syn_rtx, rto_rtx)


def expect(cond_map):
    """Checks name -> (got, want) pairs and reports every mismatch at once."""
    bad = [f"{k}: {g} (expected {w})" for k, (g, w) in cond_map.items() if g != w]
    check(not bad, "; ".join(bad))


# ---------------------------------------------------------------------------------------------- cases

@tap.case("client: exits by itself once --total N are done (no hang until --duration)")
def _():
    with Lab(build()) as L:
        srv = PyServer(L, "close")
        t0 = time.time()
        sw = client(L, 20, 5, "server", duration=30)
        try:
            sw.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            pass
        still = sw.proc.poll() is None
        j = sw.stop() if still else sw.result()
        app, _, _, _ = counters(j)
        srv.stats()
        note(f"completed {app['conn_completed']} of 20; " +
             ("still running after 8 s" if still else f"exited by itself after {time.time() - t0:.1f} s"))
        check(app["conn_completed"] == 20, f"only {app['conn_completed']} of 20 completed")
        check(not still, "synwave client still running 8 s after its 20 connections completed: --total N "
                         "stops launching, but the process runs on until --duration")
        check(j["exit_status"] == 0, f"exit status {j['exit_status']}")


@tap.case("client closes first against nginx: all complete, TIME_WAIT on synwave's side (tw_entered == N)")
def _():
    n = 500
    with Lab(build()) as L:
        nginx(L)
        rlen = response_length(L)
        note(f"nginx's response to synwave's request: {rlen} bytes")
        with L.capture() as cap:
            sw = client(L, n, 50, "client", ["--response-bytes", str(rlen)])
            j = finish(sw, 5)
        check_all_complete(j, n)
        app, tcp, st, _ = counters(j)
        expect({"responses_done": (app["responses_done"], n), "response_bytes": (app["response_bytes"], n * rlen),
                "tw_entered": (tcp["tw_entered"], n), "TIME-WAIT entered": (st["TIME-WAIT"], n),
                "FIN-WAIT-1 entered": (st["FIN-WAIT-1"], n), "LAST-ACK entered": (st["LAST-ACK"], 0),
                "CLOSE-WAIT entered": (st["CLOSE-WAIT"], 0), "conn_reset": (tcp["conn_reset"], 0)})
        # nginx closes too (the request says Connection: close): most closes cross on the wire.
        note(f"from FIN-WAIT-1: FIN-WAIT-2 {st['FIN-WAIT-2']}, CLOSING {st['CLOSING']}")
        c = j["latency_ns"]["connect"]
        note(f"connect latency min/p50/max {c['min']}/{c['p50']}/{c['max']} ns (the client reads the clock of its "
             f"last tick: a SYN-ACK back within one loop turn reads 0)")
        check(st["FIN-WAIT-2"] + st["CLOSING"] == n, "every FIN-WAIT-1 goes on to FIN-WAIT-2 or CLOSING")
        note(f"{judge_clean(cap, L, j)} frames from synwave judged")


@tap.case("nginx closes first (Connection: close, --close server): all complete, no TIME_WAIT on synwave")
def _():
    n = 500
    with Lab(build()) as L:
        nginx(L)
        rlen = response_length(L)
        with L.capture() as cap:
            # No --peer-mac here: the first SYNs meet an empty ARP cache.
            sw = client(L, n, 50, "server", mac=False)
            j = finish(sw, 5)
        check_all_complete(j, n)
        app, tcp, st, eng = counters(j)
        expect({"responses_done": (app["responses_done"], n), "response_bytes": (app["response_bytes"], n * rlen),
                "tw_entered": (tcp["tw_entered"], 0), "TIME-WAIT entered": (st["TIME-WAIT"], 0),
                "CLOSE-WAIT entered": (st["CLOSE-WAIT"], n), "LAST-ACK entered": (st["LAST-ACK"], n),
                "FIN-WAIT-1 entered": (st["FIN-WAIT-1"], 0)})
        # synwave holds the SYNs it cannot address yet (no ARP entry) and sends them when the reply comes, as
        # Linux queues them on the unresolved neighbour: none is lost, none retransmitted.
        note(f"SYNs held for ARP {eng['arp_held']}, released {eng['arp_released']}, syn_rtx {tcp['syn_rtx']}")
        check(eng["arp_held"] > 0, "no SYN met the empty ARP cache (the case means to cover that)")
        expect({"arp_released": (eng["arp_released"], eng["arp_held"]), "tx_no_arp": (eng["tx_no_arp"], 0)})
        judge_clean(cap, L, j, syn_rtx=0)


@tap.case("python server answers and closes first: all complete, tw_entered == 0, server saw N requests")
def _():
    n = 300
    with Lab(build()) as L:
        srv = PyServer(L, "close")
        with L.capture() as cap:
            sw = client(L, n, 30, "server")
            j = finish(sw, 5)
        s = srv.stats()
        check_all_complete(j, n)
        app, tcp, st, _ = counters(j)
        expect({"responses_done": (app["responses_done"], n),
                "response_bytes": (app["response_bytes"], n * len(PY_RESPONSE)),
                "tw_entered": (tcp["tw_entered"], 0), "LAST-ACK entered": (st["LAST-ACK"], n),
                "server accepted": (s["accepted"], n), "server requests": (s["requests"], n),
                "server errors": (s["errors"], 0)})
        judge_clean(cap, L, j)


@tap.case("python server answers and waits for the client's FIN: synwave closes first, tw_entered == N")
def _():
    n = 300
    with Lab(build()) as L:
        srv = PyServer(L, "wait")
        with L.capture() as cap:
            sw = client(L, n, 30, "client", ["--response-bytes", str(len(PY_RESPONSE))])
            j = finish(sw, 5)
        s = srv.stats()
        check_all_complete(j, n)
        app, tcp, st, _ = counters(j)
        expect({"responses_done": (app["responses_done"], n), "tw_entered": (tcp["tw_entered"], n),
                "FIN-WAIT-1 entered": (st["FIN-WAIT-1"], n), "FIN-WAIT-2 entered": (st["FIN-WAIT-2"], n),
                "CLOSING entered": (st["CLOSING"], 0), "CLOSE-WAIT entered": (st["CLOSE-WAIT"], 0),
                "server requests": (s["requests"], n), "server saw the client's FIN": (s["client_fin"], n),
                "server errors": (s["errors"], 0)})
        fins = cap.fields(f"ip.src == {L.peer_ip} && tcp.flags.fin == 1 && !{KERNEL_RTX}", ["frame.number"])
        check(len(fins) == n, f"{len(fins)} FINs from the kernel captured, {n} expected")
        judge_clean(cap, L, j)


@tap.case("server resets on accept (SO_LINGER 0): counted as resets, exit status 1, no hang")
def _():
    n = 100
    with Lab(build()) as L:
        srv = PyServer(L, "rst")
        with L.capture() as cap:
            sw = client(L, n, 10, "server")
            j = finish(sw, 5)
        s = srv.stats()
        app, tcp, st, _ = counters(j)
        note(f"conn_failed_reset {app['conn_failed_reset']}, refused {app['conn_failed_refused']}, "
             f"requests_sent {app['requests_sent']}")
        expect({"exit status": (j["exit_status"], 1), "conn_attempted": (app["conn_attempted"], n),
                "conn_connected": (app["conn_connected"], n), "conn_completed": (app["conn_completed"], 0),
                "conn_failed": (app["conn_failed"], n), "conn_failed_reset": (app["conn_failed_reset"], n),
                "conn_reset": (tcp["conn_reset"], n), "server accepted": (s["accepted"], n),
                "active at the end": (j["client"]["active"], 0)})
        # synwave sends no RST of its own here, except to a segment of a connection already reset (a kernel
        # ACK the veth delivered after the RST): each such RST is counted as rst_no_conn.
        rsts = len(cap.fields(f"ip.src == {L.dut_ip} && tcp.flags.reset == 1", ["frame.number"]))
        expect({"synwave RSTs captured vs rst_no_conn": (rsts, tcp["rst_no_conn"])})
        cap.judge(L.dut_ip, allow=("tcp.flags.reset == 1",) if rsts else ())


@tap.case("no listener: every SYN refused (conn_failed_refused == N), exit status 1, no hang")
def _():
    n = 200
    with Lab(build()) as L:
        with L.capture() as cap:
            sw = client(L, n, 20, "server")
            j = finish(sw, 5)
        app, tcp, st, _ = counters(j)
        expect({"exit status": (j["exit_status"], 1), "conn_attempted": (app["conn_attempted"], n),
                "conn_failed": (app["conn_failed"], n), "conn_failed_refused": (app["conn_failed_refused"], n),
                "conn_connected": (app["conn_connected"], 0), "conn_completed": (app["conn_completed"], 0),
                "conn_refused": (tcp["conn_refused"], n), "syn_rtx": (tcp["syn_rtx"], 0),
                "active at the end": (j["client"]["active"], 0)})
        syns = cap.fields(f"ip.src == {L.dut_ip} && tcp.flags.syn == 1", ["frame.number"])
        rsts = cap.fields(f"ip.src == {L.peer_ip} && tcp.flags.reset == 1", ["frame.number"])
        expect({"SYNs captured": (len(syns), n), "kernel RSTs captured": (len(rsts), n)})
        cap.judge(L.dut_ip)


@tap.case("final ACK dropped: the kernel retransmits its FIN from LAST-ACK and TIME_WAIT re-ACKs it")
def _():
    n = 80
    with Lab(build()) as L:
        srv = PyServer(L, "wait")
        # synwave's pure ACK with timestamps: 20 IP + 32 TCP = 52 bytes of IP datagram (checked below).
        rule = ["-s", L.dut_ip, "-p", "tcp", "--tcp-flags", "ALL", "ACK", "-m", "length", "--length", "52",
                "-m", "statistic", "--mode", "random", "--probability", "0.3", "-j", "DROP"]
        L.peer(["iptables", "-w", "-A", "INPUT"] + rule, check=True)
        with L.capture() as cap:
            # Paced (20/s) so synwave is still there for the retransmitted FINs even once it exits on its own.
            sw = client(L, n, 20, "client", ["--response-bytes", str(len(PY_RESPONSE)), "--rate", "20"],
                        duration=8)
            j = finish(sw, 8)
        out = L.peer(["iptables", "-w", "-L", "INPUT", "-v", "-n", "-x"], check=True).stdout
        s = srv.stats()
        dropped = sum(int(l.split()[0]) for l in out.splitlines() if "DROP" in l)
        app, tcp, st, _ = counters(j)
        kfin_rtx = len(cap.fields(f"ip.src == {L.peer_ip} && tcp.flags.fin == 1 && {KERNEL_RTX}", ["frame.number"]))
        # Retransmissions synwave could answer: those before its last frame (it exits once all are done, and
        # a FIN retransmitted for the last connections may come after that).
        last = max(float(r[0]) for r in cap.fields(f"ip.src == {L.dut_ip}", ["frame.time_relative"]))
        krtx = len(cap.fields(f"ip.src == {L.peer_ip} && {KERNEL_RTX} && frame.time_relative <= {last}",
                              ["frame.number"]))
        note(f"iptables dropped {dropped} pure ACK(s) of synwave; the kernel retransmitted {kfin_rtx} FIN(s) "
             f"({krtx} segments while synwave ran); tw_fin_reacked {tcp['tw_fin_reacked']}, unacceptable_seq "
             f"{tcp['unacceptable_seq']}; the server saw {s['client_fin']} client FINs")
        check_all_complete(j, n)
        lens = {r[0] for r in cap.fields(f"ip.src == {L.dut_ip} && tcp.flags == 0x010 && tcp.len == 0", ["ip.len"])}
        check(lens == {"52"}, f"synwave's pure ACKs have IP lengths {lens}; the iptables rule assumes 52")
        check(dropped > 0, "iptables dropped nothing")
        check(tcp["tw_fin_reacked"] > 0, "no retransmitted FIN re-ACKed in TIME_WAIT")
        expect({"tw_entered": (tcp["tw_entered"], n), "server saw the client's FIN": (s["client_fin"], n),
                "FIN-WAIT-2 entered": (st["FIN-WAIT-2"], n), "syn_rtx": (tcp["syn_rtx"], 0),
                "rtx_segments": (tcp["rtx_segments"], 0),
                "re-ACKed + unacceptable == kernel retransmissions while synwave ran":
                    (tcp["tw_fin_reacked"] + tcp["unacceptable_seq"], krtx)})
        cap.judge(L.dut_ip, allow=LOSS_FLAGS)


def crossing_fins(cap, L):
    """Per connection in the capture: synwave's FIN (seq S, ack K) and the kernel's FIN (seq K, ack S) acknowledge
    neither the other (both were sent before the other arrived: RFC 9293 §3.6, figure 13), and each side then
    acknowledges the other's FIN from beyond its own: synwave <SEQ=S+1><ACK=K+1>, the kernel <SEQ=K+1><ACK=S+1>.
    Every frame of synwave's that tshark flags as a retransmission must be its FIN again (seq S: synwave's RTO
    fired while FinCrosser held the FIN). Returns (connections that match, descriptions of the first few that
    do not, synwave's retransmitted FINs)."""
    # One pass; the last three fields are non-empty on the frames KERNEL_RTX matches.
    rows = cap.fields("tcp", ["tcp.stream", "ip.src", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw",
                              "tcp.analysis.retransmission", "tcp.analysis.spurious_retransmission",
                              "tcp.analysis.fast_retransmission"])
    streams, rtx = {}, {}
    for stream, src, flags, sq, ack, *flagged in rows:
        if not any(flagged):
            streams.setdefault(stream, []).append((src, int(flags, 16), int(sq), int(ack)))
        elif src == L.dut_ip:
            rtx.setdefault(stream, []).append((int(flags, 16), int(sq)))
    good, bad = 0, []
    for stream, frames in sorted(streams.items(), key=lambda kv: int(kv[0])):
        fins = {side: [(sq, ack) for src, fl, sq, ack in frames if src == ip and fl & 0x01]
                for side, ip in (("synwave", L.dut_ip), ("kernel", L.peer_ip))}
        if len(fins["synwave"]) != 1 or len(fins["kernel"]) != 1:
            bad.append(f"stream {stream}: FINs {fins}")
            continue
        (S, dack), (K, kack) = fins["synwave"][0], fins["kernel"][0]
        other = [(hex(fl), sq) for fl, sq in rtx.get(stream, []) if not (fl & 0x01 and sq == S)]
        if other:
            bad.append(f"stream {stream}: S {S}: synwave retransmitted other than its FIN: {other[:3]}")
            continue
        acks = {(src, sq, ack) for src, fl, sq, ack in frames if not fl & 0x01 and fl & 0x10}
        want = {"synwave's FIN does not ack the kernel's": dack == K,
                "the kernel's FIN does not ack synwave's": kack == S,
                "synwave acks the kernel's FIN from S+1": (L.dut_ip, (S + 1) % 2**32, (K + 1) % 2**32) in acks,
                "the kernel acks synwave's FIN from K+1": (L.peer_ip, (K + 1) % 2**32, (S + 1) % 2**32) in acks}
        if all(want.values()):
            good += 1
        else:
            bad.append(f"stream {stream}: S {S} K {K}: " + ", ".join(k for k, v in want.items() if not v))
    bad += [f"stream {stream}: retransmissions of synwave's with no FIN of its own" for stream in rtx
            if stream not in streams]
    return good, bad, sum(len(v) for v in rtx.values())


@tap.case("close right after the handshake (--no-request) against a server closing on accept")
def _():
    # A simultaneous close (RFC 9293 §3.6, figure 13) on every connection: the kernel's FIN leaves before
    # synwave's FIN reaches it (FinCrosser), so each side sends its FIN from ESTABLISHED, receives the other's
    # in FIN-WAIT-1 and goes through CLOSING to TIME-WAIT. Left alone the kernel never gets there: synwave's
    # FIN rides on its handshake ACK and reaches the kernel before the server's accept() returns.
    # FinCrosser holds synwave's FIN for as long as the server takes to accept and close (no time limit), so
    # the states are the same however the two cores are shared; what timing can still change is whether
    # synwave's RTO fires on the held FIN, and every such retransmission is accounted for exactly below.
    # --duration 60: the client ends by itself once the n connections are done (case 1), well before that.
    n = 300
    with Lab(build()) as L:
        srv = PyServer(L, "shut")
        cross = FinCrosser(L)
        with L.capture() as cap:
            sw = client(L, n, 30, "client", ["--no-request"], duration=60)
            j = finish(sw, 60)
        cx = cross.stats()
        s = srv.stats()
        app, tcp, st, _ = counters(j)
        note(f"crossing: {json.dumps(cx)}")
        note(f"synwave entered CLOSING {st['CLOSING']}, FIN-WAIT-2 {st['FIN-WAIT-2']}, TIME-WAIT {st['TIME-WAIT']}, "
             f"LAST-ACK {st['LAST-ACK']}, CLOSE-WAIT {st['CLOSE-WAIT']} of {n}")
        check_all_complete(j, n)
        # Exact for every connection: the order is enforced per connection, none is left to timing. The kernel
        # had sent its FIN, so was in FIN-WAIT-1, when synwave's FIN reached it, and nothing of synwave's acking
        # that FIN came before; the kernel's FIN reached synwave in FIN-WAIT-1, before the kernel's ACK of
        # synwave's FIN.
        expect({"FINs still held at the end": (cx["still_held"], 0),
                "synwave FINs seen by the peer": (cx["dut_fins"], n), "handshake ACKs split off": (cx["split"], n),
                "synwave FINs released after the kernel's": (cx["released_on_peer_fin"], n),
                "synwave FINs let through after the kernel's": (cx["fin_after_peer_fin"], 0),
                "kernel FINs (first per connection)": (cx["peer_fins"], n),
                "requests_sent": (app["requests_sent"], 0), "FIN-WAIT-1 entered": (st["FIN-WAIT-1"], n),
                "CLOSING entered": (st["CLOSING"], n), "FIN-WAIT-2 entered": (st["FIN-WAIT-2"], 0),
                "TIME-WAIT entered": (st["TIME-WAIT"], n), "tw_entered": (tcp["tw_entered"], n),
                "CLOSE-WAIT entered": (st["CLOSE-WAIT"], 0), "LAST-ACK entered": (st["LAST-ACK"], 0),
                "conn_reset": (tcp["conn_reset"], 0),
                "server accepted": (s["accepted"], n), "server errors": (s["errors"], 0)})
        good, bad, rtx_fins = crossing_fins(cap, L)
        check(good == n and not bad, f"{good} of {n} connections show crossing FINs in the capture; "
                                     + "; ".join(bad[:5]))
        # synwave's RTO on a held FIN: each retransmission is on the wire (the capture), reaches the peer's
        # INPUT hook (dropped there: the kernel's TCP gets the held FIN once) and is counted by synwave, which
        # retransmits nothing else (judge_clean: rtx_segments == rto_expired == this number, and no other frame
        # of synwave's flagged).
        expect({"synwave FIN retransmissions: captured vs dropped at the peer": (rtx_fins, cx["fin_rtx_dropped"])})
        if rtx_fins:
            note(f"synwave's RTO fired {rtx_fins} time(s) on {cx['fin_rtx_ports']} held FIN(s) (held up to "
                 f"{cx['hold_ms']['max']} ms)")
        note(f"capture: {good} of {n} connections with crossing FINs; "
             f"{judge_clean(cap, L, j, rto_rtx=rtx_fins)} frames from synwave judged")


@tap.case("loss 5%, duplicates 1%, reordering, 20 ms delay, both ways: nginx, every connection completes")
def _():
    n = 300
    with Lab(build()) as L:
        nginx(L)
        rlen = response_length(L)
        imp = Impairer(L, loss=0.05, dup=0.01, delay_ms=20, reorder=0.25, corr=0.5)
        with L.capture() as cap:
            sw = client(L, n, 50, "server", duration=20)
            j = finish(sw, 20)
        st_imp = imp.stats()
        app, tcp, st, eng = counters(j)
        note(f"impairer: {json.dumps(st_imp)}")
        note("synwave tcp: " + ", ".join(f"{k} {tcp[k]}" for k in (
            "syn_rtx", "rtx_segments", "rto_expired", "fast_retransmits", "dup_acks_rx", "ooo_dropped",
            "unacceptable_seq", "paws_rejected", "syn_in_synchronized", "challenge_acks", "rst_no_conn",
            "tw_fin_reacked")))
        lat = j["latency_ns"]
        note(f"connect p50/p99 {lat['connect']['p50'] / 1e6:.1f}/{lat['connect']['p99'] / 1e6:.1f} ms, "
             f"response p50/p99 {lat['response']['p50'] / 1e6:.1f}/{lat['response']['p99'] / 1e6:.1f} ms")
        check_all_complete(j, n)
        expect({"responses_done": (app["responses_done"], n), "response_bytes": (app["response_bytes"], n * rlen)})
        check(st_imp["to_peer"]["dropped"] > 0 and st_imp["to_dut"]["dropped"] > 0,
              "the impairer dropped nothing in one direction")
        check(tcp["rtx_segments"] + tcp["syn_rtx"] > 0, "packets of synwave's were lost and it retransmitted nothing")
        check(tcp["rtx_segments"] == 0 or tcp["rto_expired"] + tcp["fast_retransmits"] > 0,
              "data retransmitted without an RTO or a fast retransmit")
        # The capture sees every frame synwave sends (its losses happen after, at the peer's INPUT hook).
        rtx = cap.fields(f"ip.src == {L.dut_ip} && {KERNEL_RTX}", ["tcp.flags.syn"])
        syn_rtx = sum(1 for r in rtx if r[0] in ("1", "True"))
        expect({"SYN retransmissions captured vs syn_rtx": (syn_rtx, tcp["syn_rtx"]),
                "other retransmissions captured vs rtx_segments": (len(rtx) - syn_rtx, tcp["rtx_segments"])})
        # synwave's RSTs only answer segments of connections it no longer has (duplicates, late retransmissions).
        rsts = len(cap.fields(f"ip.src == {L.dut_ip} && tcp.flags.reset == 1", ["frame.number"]))
        expect({"synwave RSTs captured vs rst_no_conn + bad_ack_rst": (rsts, tcp["rst_no_conn"] + tcp["bad_ack_rst"])})
        cap.judge(L.dut_ip, allow=LOSS_FLAGS + ("tcp.flags.reset == 1",))


if __name__ == "__main__":
    only = os.environ.get("CLIENT_ROLE_ONLY")  # e.g. "2,5": run only these cases (1-based), for debugging
    if only:
        keep = {int(x) for x in only.split(",")}
        tap.cases = [c for i, c in enumerate(tap.cases, 1) if i in keep]
    lab.main(tap)
