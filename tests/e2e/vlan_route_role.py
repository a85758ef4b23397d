#!/usr/bin/env python3
"""VLAN tags and a router between synwave and the kernel, in the namespace lab:
- `synwave server --vlan 100` talking to the peer's VLAN sub-interface (scripts/lab up --vlan 100), every frame
  of synwave's tagged, while untagged frames from the parent interface to the same address are ignored and
  counted (rx_vlan_other);
- `synwave client --gateway` on one subnet, nginx on another behind a Linux router (scripts/lab up --routed),
  over IPv4 and over IPv6: every frame synwave sends goes to the router's MAC.
Every case keeps a capture and has tshark judge synwave's frames. Usage: /usr/bin/python3
tests/e2e/vlan_route_role.py <build dir>
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from lab import check, note  # noqa: E402
from net_peers import (  # noqa: E402
    BODY, NA, NS, check_complete, check_log, clean_icmpv6, client, expected_body, link_mac, nginx, reachable)

tap = lab.Tap()
VID, PCP = 100, 3


def build():
    return os.environ["SYNWAVE_E2E_BUILD"]


def vlan_server(L, addrs):
    sw = L.synwave("server", ["--ip", ",".join(addrs), "--port", "80", "--body", str(BODY), "--vlan", str(VID),
                              "--vlan-pcp", str(PCP)])
    reachable(L, sw, L.vlan_dut_ip)
    return sw


@tap.case("vlan: synwave server --vlan 100 answers curl -4 and -6 over the peer's VLAN; all its frames tagged")
def _():
    with lab.Lab(build(), ipv6=True, vlan=VID) as L:
        sw = vlan_server(L, [L.vlan_dut_ip, L.vlan_dut_ip6])
        mac = link_mac(L, L.dut_ns, L.dut_if)
        # The kernel forgets synwave's MAC on the VLAN: its ARP request and Neighbor Solicitation travel tagged,
        # and synwave's answers must carry the tag back.
        L.peer(["ip", "neigh", "flush", "dev", L.vlan_if], check=True)
        with L.capture() as cap:
            r4 = L.peer(["curl", "-4", "-s", "-m", "5", f"http://{L.vlan_dut_ip}/"], check=True)
            r6 = L.peer(["curl", "-6", "-s", "-m", "5", f"http://[{L.vlan_dut_ip6}]/"], check=True)
            ping = L.peer(["ping", "-c", "2", "-i", "0.2", "-W", "1", L.vlan_dut_ip6])
        j = sw.stop()
        check(r4.stdout == expected_body(), f"IPv4 body over the VLAN differs ({len(r4.stdout)} bytes)")
        check(r6.stdout == expected_body(), f"IPv6 body over the VLAN differs ({len(r6.stdout)} bytes)")
        check(ping.returncode == 0, "ping -6 over the VLAN lost packets:\n" + ping.stdout)
        # IEEE 802.1Q: every frame synwave sends carries VID 100 with the priority asked for.
        untagged = cap.fields(f"eth.src == {mac} && !(vlan.id == {VID} && vlan.priority == {PCP})",
                              ["frame.number", "vlan.id", "vlan.priority", "_ws.col.Info"])
        check(not untagged, f"{len(untagged)} frame(s) from synwave without tag {VID} / PCP {PCP}: {untagged[:5]}")
        tcp = cap.fields(f"eth.src == {mac} && vlan.id == {VID} && tcp", ["frame.number"])
        arp = cap.fields(f"eth.src == {mac} && vlan.id == {VID} && arp.opcode == 2", ["frame.number"])
        na = cap.fields(f"eth.src == {mac} && vlan.id == {VID} && icmpv6.type == {NA}", ["frame.number"])
        check(tcp and arp and na, f"tagged from synwave: {len(tcp)} TCP, {len(arp)} ARP replies, {len(na)} NAs "
              f"(each expected: the kernel resolved synwave over the VLAN)")
        a = j["server"]["app"]
        check(a["conn_completed"] == 2 and a["conn_completed_v6"] == 1 and a["conn_failed"] == 0,
              f"completed {a['conn_completed']} (v6 {a['conn_completed_v6']}), failed {a['conn_failed']}")
        clean_icmpv6(cap, L.vlan_dut_ip6)
        lab.judge_clean(cap, L, j["server"], pairs=[(L.vlan_dut_ip, L.vlan_peer_ip),
                                                     (L.vlan_dut_ip6, L.vlan_peer_ip6)])
        note(f"rx_vlan_other {j['server']['engine']['rx_vlan_other']} (untagged frames on the link)")


@tap.case("vlan: untagged frames to synwave's address are ignored and counted (rx_vlan_other); tagged still work")
def _():
    with lab.Lab(build(), vlan=VID) as L:
        sw = vlan_server(L, [L.vlan_dut_ip])
        mac = link_mac(L, L.dut_ns, L.dut_if)
        # Send to synwave's address from the untagged parent, with its MAC known, so that TCP itself arrives
        # untagged (not only ARP): a host route and a static neighbour on the parent.
        L.peer(["ip", "route", "add", f"{L.vlan_dut_ip}/32", "dev", L.peer_if], check=True)
        L.peer(["ip", "neigh", "replace", L.vlan_dut_ip, "lladdr", mac, "dev", L.peer_if], check=True)
        with L.capture() as cap:
            r = L.peer(["curl", "-s", "-m", "2", f"http://{L.vlan_dut_ip}/"])
            L.peer(["ip", "route", "del", f"{L.vlan_dut_ip}/32", "dev", L.peer_if], check=True)
            ok = L.peer(["curl", "-s", "-m", "5", f"http://{L.vlan_dut_ip}/"])
        j = sw.stop()
        check(r.returncode != 0, f"curl over the untagged parent got an answer (exit 0, {len(r.stdout)} bytes)")
        check(ok.returncode == 0 and ok.stdout == expected_body(), f"curl over the VLAN afterwards: exit "
              f"{ok.returncode}, {len(ok.stdout)} bytes")
        syns = cap.fields(f"!vlan && ip.dst == {L.vlan_dut_ip} && tcp.flags.syn == 1", ["frame.number"])
        check(len(syns) >= 2, f"{len(syns)} untagged SYNs captured (the kernel retries within 2 s)")
        answered = cap.fields(f"eth.src == {mac} && !vlan", ["frame.number", "_ws.col.Info"])
        check(not answered, f"synwave sent {len(answered)} untagged frame(s): {answered[:5]}")
        untagged_in = cap.fields(f"eth.dst == {mac} && !vlan", ["frame.number"])
        e, a = j["server"]["engine"], j["server"]["app"]
        note(f"untagged frames to synwave's MAC {len(untagged_in)}, rx_vlan_other {e['rx_vlan_other']}")
        check(e["rx_vlan_other"] >= len(untagged_in),
              f"rx_vlan_other {e['rx_vlan_other']} < the {len(untagged_in)} untagged frames sent to synwave")
        check(a["conn_accepted"] == 1 and a["conn_completed"] == 1, f"accepted {a['conn_accepted']}, completed "
              f"{a['conn_completed']} (only the tagged curl)")
        lab.judge_clean(cap, L, j["server"], pairs=[(L.vlan_dut_ip, L.vlan_peer_ip)])


def routed(L, dut, peer, gw, ns_type, target_field):
    """synwave client on subnet A to nginx on subnet B through the router, captured on the router's leg facing
    synwave: all n complete, every frame synwave sends is for the router's MAC, and the gateway (never the
    peer, which is not on-link) is what synwave resolved."""
    n = 200
    nginx(L, [peer if ":" not in peer else f"[{peer}]"])
    mac = link_mac(L, L.dut_ns, L.dut_if)
    rmac = link_mac(L, L.rtr_ns, L.rtr_if)
    with L.capture(router=True) as cap:
        j = client(L, dut, peer, n, ["--gateway", gw])
    check_complete(j, n, n if ":" in dut else 0)
    check_log(L, n, {dut: n})
    sent = cap.fields(f"eth.src == {mac}", ["eth.dst", "frame.number"])
    bad = [r for r in sent if r[0] not in (rmac, "ff:ff:ff:ff:ff:ff") and not r[0].startswith("33:33:")]
    check(not bad, f"{len(bad)} frame(s) from synwave not for the router's MAC {rmac}: {bad[:5]}")
    tcp = cap.fields(f"eth.src == {mac} && tcp && eth.dst == {rmac}", ["frame.number"])
    # At least a SYN, the request (with the handshake's ACK) and a FIN (with the ACK of nginx's) each.
    check(len(tcp) >= 3 * n, f"{len(tcp)} TCP frames from synwave to the router for {n} connections")
    # What synwave asked for: the gateway, besides the announcement of its own address (RFC 5227 §2.3).
    asked = {r[0] for r in cap.fields(f"eth.src == {mac} && {ns_type}", [target_field])} - {dut}
    check(asked == {gw}, f"synwave resolved {asked}, expected only the gateway {gw}")
    e = j["client"]["engine"]
    note(f"{len(tcp)} TCP frames to {rmac}; held {e['arp_held']}, released {e['arp_released']}")
    check(e["arp_released"] == e["arp_held"] and e["tx_no_arp"] == 0,
          f"held {e['arp_held']}, released {e['arp_released']}, tx_no_arp {e['tx_no_arp']}")
    return cap, j


@tap.case("routed: synwave client --gateway 10.78.0.254 to nginx on 10.79.0.2 behind a router: all complete")
def _():
    with lab.Lab(build(), routed=True) as L:
        cap, j = routed(L, L.dut_ip, L.peer_ip, L.gw_ip, "arp.opcode == 1", "arp.dst.proto_ipv4")
        lab.judge_clean(cap, L, j["client"])


@tap.case("routed: synwave client --gateway fd78::fe to nginx on fd79::2 behind a router: all complete")
def _():
    with lab.Lab(build(), routed=True, ipv6=True) as L:
        cap, j = routed(L, L.dut_ip6, L.peer_ip6, L.gw_ip6, f"icmpv6.type == {NS}", "icmpv6.nd.ns.target_address")
        clean_icmpv6(cap, L.dut_ip6)
        lab.judge_clean(cap, L, j["client"], pairs=[(L.dut_ip6, L.peer_ip6)])


if __name__ == "__main__":
    lab.main(tap)
