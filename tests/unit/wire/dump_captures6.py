#!/usr/bin/python3
"""Writes captures6.hpp from the pcap that make_captures6.sh records (run with Debian's /usr/bin/python3,
which has scapy). Frames are picked by what they are, not by position, and two 802.1Q-tagged frames are
made with scapy (this kernel has no VLAN module): the Linux SYN-ACK and the Linux Neighbor Solicitation
with a tag inserted. Usage: dump_captures6.py capture.pcap > captures6.hpp"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (TCP, Dot1Q, Ether, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6MLReport2,  # noqa: E402
                       ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RS, IPv6, IPv6ExtHdrHopByHop, rdpcap)

frames = [bytes(p) for p in rdpcap(sys.argv[1])]
pkts = [Ether(f) for f in frames]


def pick(pred, what):
    for f, p in zip(frames, pkts):
        if IPv6 in p and pred(p):
            return f
    sys.exit(f"no frame for {what}")


def tcp(p, src, flags, payload=None):
    if TCP not in p or p[IPv6].src != src or str(p[TCP].flags) != flags:
        return False
    return payload is None or (len(p[TCP].payload) > 0) == payload


chosen = [
    ("kNs6Dad", "DAD probe for 2001:db8::2: NS from :: to ff02::1:ff00:2, nonce option (RFC 7527), no SLLA",
     pick(lambda p: ICMPv6ND_NS in p and p[IPv6].src == "::" and p[ICMPv6ND_NS].tgt == "2001:db8::2", "dad ns")),
    ("kNs6", "NS who-has 2001:db8::2 from 2001:db8::1 to ff02::1:ff00:2, SLLA 02:00:00:00:00:0a",
     pick(lambda p: ICMPv6ND_NS in p and p[IPv6].src == "2001:db8::1", "ns")),
    ("kNa6", "the Linux kernel's NA to it: 2001:db8::2 is-at 02:00:00:00:00:0b, flags S and O, TLLA",
     pick(lambda p: ICMPv6ND_NA in p and p[IPv6].src == "2001:db8::2", "na")),
    ("kRs6", "Router Solicitation from fe80::ff:fe00:a to ff02::2 with SLLA (an ICMPv6 type synwave drops)",
     pick(lambda p: ICMPv6ND_RS in p and p[IPv6].src == "fe80::ff:fe00:a", "rs")),
    ("kMld6Report", "MLDv2 report from fe80::ff:fe00:a to ff02::16 behind a hop-by-hop header (Router Alert, PadN)",
     pick(lambda p: IPv6ExtHdrHopByHop in p and ICMPv6MLReport2 in p and p[IPv6].src == "fe80::ff:fe00:a",
          "mld")),
    ("kEcho6Request", "ping -6 2001:db8::1 -> 2001:db8::2, 56 data bytes (iputils ping)",
     pick(lambda p: ICMPv6EchoRequest in p, "echo request")),
    ("kEcho6Reply", "the Linux kernel's echo reply to it (its own flow label)",
     pick(lambda p: ICMPv6EchoReply in p, "echo reply")),
    ("kTcp6Syn", "Linux client SYN over IPv6: mss 1440, sackOK, TS, nop, wscale",
     pick(lambda p: tcp(p, "2001:db8::1", "S"), "syn")),
    ("kTcp6SynAck", "Linux server SYN-ACK over IPv6: mss 1440, sackOK, TS, nop, wscale",
     pick(lambda p: tcp(p, "2001:db8::2", "SA"), "syn-ack")),
    ("kTcp6Data", "Linux client request over IPv6, PSH|ACK with 33 bytes: nop, nop, TS",
     pick(lambda p: tcp(p, "2001:db8::1", "PA", payload=True), "data")),
    ("kTcp6Fin", "Linux server FIN|ACK over IPv6: nop, nop, TS",
     pick(lambda p: tcp(p, "2001:db8::2", "FA"), "fin")),
]

synack = Ether(chosen[8][2])
chosen.append(("kVlanTcp6SynAck", "the Linux SYN-ACK above with an 802.1Q tag (PCP 5, VID 100) inserted (scapy)",
               bytes(Ether(src=synack.src, dst=synack.dst) / Dot1Q(prio=5, vlan=100) / synack[IPv6])))
ns = Ether(chosen[1][2])
chosen.append(("kVlanNs6", "the Linux NS above with an 802.1Q tag (VID 100) inserted (scapy)",
               bytes(Ether(src=ns.src, dst=ns.dst) / Dot1Q(vlan=100) / ns[IPv6])))

out = sys.stdout
out.write("""// Known IPv6 frames from the Linux kernel, for the wire tests and as fuzzing seeds. Generated: do not edit.
// Made by tests/unit/wire/make_captures6.sh (the Linux kernel in two network namespaces joined by a veth
// pair, checksum offload off, captured with tcpdump on the client side) and dump_captures6.py.
// Addresses: 2001:db8::1 / 02:00:00:00:00:0a (client), 2001:db8::2 / 02:00:00:00:00:0b (server);
// link-local fe80::ff:fe00:a and fe80::ff:fe00:b (EUI-64 from the MACs, RFC 4291 Appendix A).
#pragma once
#include "captures.hpp"

#include <cstddef>
#include <cstdint>

namespace synwave::wire::captures {

""")
for name, what, data in chosen:
    out.write(f"// {what}\ninline constexpr uint8_t {name}[] = {{\n")
    for i in range(0, len(data), 16):
        out.write("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 16]) + ",\n")
    out.write("};\n\n")
out.write("inline constexpr Capture kAll6[] = {\n")
for name, _, _ in chosen:
    out.write(f"    {{\"{name}\", {name}, sizeof({name})}},\n")
out.write("};\n\n}  // namespace synwave::wire::captures\n")
