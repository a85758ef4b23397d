#!/usr/bin/python3
"""Writes captures.hpp from the pcap that make_captures.sh records (run with Debian's /usr/bin/python3,
which has scapy). Frames are picked by what they are, not by position, and two 802.1Q-tagged frames are
made with scapy (this kernel has no VLAN module): the Linux SYN-ACK with a tag inserted, and a tagged
ARP request. Usage: dump_captures.py capture.pcap > captures.hpp"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, ICMP, IP, TCP, Dot1Q, Ether, rdpcap  # noqa: E402

frames = [bytes(p) for p in rdpcap(sys.argv[1])]
pkts = [Ether(f) for f in frames]


def pick(pred, what):
    for f, p in zip(frames, pkts):
        if pred(p):
            return f
    sys.exit(f"no frame for {what}")


def tcp(p, src, flags, sack=None, payload=None):
    if TCP not in p or p[IP].src != src or str(p[TCP].flags) != flags:
        return False
    has_sack = [o for o in p[TCP].options if o[0] == "SAck"]
    if sack is not None and (len(has_sack[0][1]) // 2 if has_sack else 0) != sack:
        return False
    return payload is None or (len(p[TCP].payload) > 0) == payload


chosen = [
    ("kArpRequest", "ARP who-has 192.0.2.2 tell 192.0.2.1 (Linux neighbour resolution)",
     pick(lambda p: ARP in p and p[ARP].op == 1, "arp request")),
    ("kArpReply", "ARP 192.0.2.2 is-at 02:00:00:00:00:0b (Linux)",
     pick(lambda p: ARP in p and p[ARP].op == 2, "arp reply")),
    ("kIcmpEchoRequest", "ping 192.0.2.1 -> 192.0.2.2, 56 data bytes (iputils ping)",
     pick(lambda p: ICMP in p and p[ICMP].type == 8, "echo request")),
    ("kIcmpEchoReply", "the Linux kernel's echo reply to it",
     pick(lambda p: ICMP in p and p[ICMP].type == 0, "echo reply")),
    ("kTcpSyn", "Linux client SYN: mss 1460, sackOK, TS, nop, wscale 10",
     pick(lambda p: tcp(p, "192.0.2.1", "S"), "syn")),
    ("kTcpSynAck", "Linux server SYN-ACK: mss 1460, sackOK, TS, nop, wscale 10",
     pick(lambda p: tcp(p, "192.0.2.2", "SA") and p[TCP].dport != 40000, "syn-ack")),
    ("kTcpAck", "Linux client ACK of the SYN-ACK: nop, nop, TS",
     pick(lambda p: tcp(p, "192.0.2.1", "A", payload=False), "ack")),
    ("kTcpData", "Linux client request, PSH|ACK with 33 bytes: nop, nop, TS",
     pick(lambda p: tcp(p, "192.0.2.1", "PA", payload=True), "data")),
    ("kTcpFin", "Linux server FIN|ACK: nop, nop, TS",
     pick(lambda p: tcp(p, "192.0.2.2", "FA") and p[TCP].dport != 40000, "fin")),
    ("kTcpSackOne", "Linux server duplicate ACK, TS and one SACK block (sequence numbers past 2^32)",
     pick(lambda p: tcp(p, "192.0.2.2", "A", sack=1, payload=False), "sack 1")),
    ("kTcpSackTwo", "Linux server duplicate ACK, TS and two SACK blocks",
     pick(lambda p: tcp(p, "192.0.2.2", "A", sack=2, payload=False), "sack 2")),
    ("kTcpDataSack", "Linux server response, PSH|ACK with 43 bytes, TS and one SACK block",
     pick(lambda p: tcp(p, "192.0.2.2", "PA", sack=1, payload=True), "data+sack")),
]

synack = Ether(chosen[5][2])
vlan_synack = Ether(src=synack.src, dst=synack.dst) / Dot1Q(prio=5, vlan=100) / synack[IP]
chosen.append(("kVlanTcpSynAck", "the Linux SYN-ACK above with an 802.1Q tag (PCP 5, VID 100) inserted (scapy)",
               bytes(vlan_synack)))
vlan_arp = (Ether(src="02:00:00:00:00:0a", dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=100) /
            ARP(op=1, hwsrc="02:00:00:00:00:0a", psrc="198.51.100.1", pdst="198.51.100.2"))
chosen.append(("kVlanArpRequest", "ARP who-has 198.51.100.2 tell 198.51.100.1 on VLAN 100 (scapy)",
               bytes(vlan_arp)))

out = sys.stdout
out.write("""// Known frames from real stacks, for the wire tests and as fuzzing seeds. Generated: do not edit.
// Made by tests/unit/wire/make_captures.sh (the Linux kernel in two network namespaces joined by a veth
// pair, checksum offload off, captured with tcpdump on the client side) and dump_captures.py.
// Addresses: 192.0.2.1 / 02:00:00:00:00:0a (client), 192.0.2.2 / 02:00:00:00:00:0b (server),
// 192.0.2.3 (a scapy client whose request arrives out of order, so the server sends SACK blocks).
#pragma once
#include <cstddef>
#include <cstdint>

namespace synwave::wire::captures {

""")
for name, what, data in chosen:
    out.write(f"// {what}\ninline constexpr uint8_t {name}[] = {{\n")
    for i in range(0, len(data), 16):
        out.write("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + 16]) + ",\n")
    out.write("};\n\n")
out.write("struct Capture {\n    const char* name;\n    const uint8_t* data;\n    size_t len;\n};\n\n")
out.write("inline constexpr Capture kAll[] = {\n")
for name, _, _ in chosen:
    out.write(f"    {{\"{name}\", {name}, sizeof({name})}},\n")
out.write("};\n\n}  // namespace synwave::wire::captures\n")
