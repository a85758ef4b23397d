// Why the parser rejected a frame. One reason per rejection, so a stats layer can keep one counter per
// reason: `std::array<uint64_t, kDropCount>` indexed by `static_cast<size_t>(drop)`, with `drop_name()`
// as the counter's name and `drop_help()` as its help text. Index 0 (`None`) is "accepted".
//
// The list is one X-macro so the enum, the names and the count cannot drift apart. Names are stable
// snake_case identifiers: renaming one renames a counter that dashboards and tests read.
//
// The parser checks in wire order and, within a header, structure before checksum before meaning
// (version/length, then checksum, then fragment/protocol/flags/options). So a frame corrupted in flight
// counts as a bad checksum, and the reasons after the checksum count what a peer really sent.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace synwave::wire {

// X(Enumerator, "counter_name", "help text")
#define SYNWAVE_WIRE_DROPS(X)                                                                                 \
    X(None, "accepted", "frame parsed; not a drop")                                                          \
    X(EthTooShort, "eth_too_short", "shorter than its Ethernet header (14 bytes, 18 with an 802.1Q tag)")    \
    X(VlanNested, "vlan_nested",                                                                             \
      "more than one VLAN tag: 802.1Q inside 802.1Q, or an 802.1ad/QinQ service tag (0x88A8, 0x9100)")       \
    X(UnsupportedEthertype, "unsupported_ethertype", "ethertype neither IPv4, IPv6 nor ARP (LLDP, ...)")     \
    X(ArpMalformed, "arp_malformed",                                                                         \
      "ARP shorter than 28 bytes or not Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4)")              \
    X(ArpUnsupportedOp, "arp_unsupported_op", "ARP operation neither request (1) nor reply (2), e.g. RARP") \
    X(Ipv4TooShort, "ipv4_too_short", "fewer than 20 bytes after the Ethernet header")                      \
    X(Ipv4BadVersion, "ipv4_bad_version", "IP version field is not 4 under ethertype 0x0800")                \
    X(Ipv4BadIhl, "ipv4_bad_ihl", "IHL below 5, or a header longer than the packet's total length")          \
    X(Ipv4BadTotalLength, "ipv4_bad_total_length",                                                           \
      "total length below 20, or past the end of the frame (truncated packet)")                              \
    X(Ipv4BadChecksum, "ipv4_bad_checksum", "IPv4 header checksum does not verify")                          \
    X(Ipv4Fragment, "ipv4_fragment", "a fragment (MF set or offset non-zero); reassembly is not supported") \
    X(Ipv4UnsupportedProto, "ipv4_unsupported_proto", "IP protocol neither TCP (6) nor ICMP (1)")           \
    X(Ipv4MartianSrc, "ipv4_martian_src",                                                                    \
      "TCP from a source in 0.0.0.0/8 (\"this network\", never a valid source: RFC 1122 §3.2.1.3)")          \
    X(Ipv6TooShort, "ipv6_too_short", "fewer than 40 bytes after the Ethernet header")                       \
    X(Ipv6BadVersion, "ipv6_bad_version", "IP version field is not 6 under ethertype 0x86DD")                \
    X(Ipv6BadPayloadLength, "ipv6_bad_payload_length",                                                       \
      "payload length past the end of the frame (truncated packet)")                                         \
    X(Ipv6ExtTruncated, "ipv6_ext_truncated",                                                                \
      "an extension header (or one of its options) cut short, or longer than the rest of the payload")       \
    X(Ipv6ExtTooMany, "ipv6_ext_too_many", "more than 8 extension headers before TCP or ICMPv6")             \
    X(Ipv6ExtMisplaced, "ipv6_ext_misplaced",                                                                \
      "a hop-by-hop options header that is not the first extension header (RFC 8200 §4.1)")                  \
    X(Ipv6OptionUnrecognized, "ipv6_option_unrecognized",                                                    \
      "a hop-by-hop or destination option whose type says discard if unknown (RFC 8200 §4.2): jumbo, ...")   \
    X(Ipv6RoutingSegmentsLeft, "ipv6_routing_segments_left",                                                 \
      "a routing header with segments left: would need forwarding (RFC 8200 §4.4); not a router")            \
    X(Ipv6Fragment, "ipv6_fragment",                                                                         \
      "a fragment header with an offset or M set; reassembly is not supported (atomic fragments pass)")      \
    X(Ipv6UnsupportedNext, "ipv6_unsupported_next",                                                          \
      "next header neither TCP, ICMPv6 nor a skippable extension header (UDP, No Next Header, ...)")         \
    X(Ipv6MartianSrc, "ipv6_martian_src",                                                                    \
      "source multicast, loopback or IPv4-mapped; or :: under TCP, echo or NA (RFC 4291 §2.5, §2.7)")        \
    X(IcmpMalformed, "icmp_malformed", "ICMP message shorter than its 8-byte echo header")                  \
    X(IcmpBadChecksum, "icmp_bad_checksum", "ICMP checksum does not verify")                                 \
    X(IcmpUnsupportedType, "icmp_unsupported_type",                                                          \
      "ICMP type other than echo request (8) or echo reply (0), e.g. destination unreachable")              \
    X(Icmp6Malformed, "icmp6_malformed", "ICMPv6 message shorter than its header (4 bytes; 8 for echo)")     \
    X(Icmp6BadChecksum, "icmp6_bad_checksum", "ICMPv6 checksum (pseudo-header included) does not verify")    \
    X(Icmp6UnsupportedType, "icmp6_unsupported_type",                                                        \
      "ICMPv6 type other than echo (128, 129) and NS/NA (135, 136): RS, RA, MLD, packet too big, ...")       \
    X(NdMalformed, "nd_malformed",                                                                           \
      "NS/NA failing RFC 4861 §7.1: hop limit not 255, code not 0, short, multicast target, bad option, "    \
      "DAD probe with SLLA or not to a solicited-node group, solicited NA to multicast")                     \
    X(TcpTooShort, "tcp_too_short", "fewer than 20 bytes of TCP segment")                                    \
    X(TcpBadDataOffset, "tcp_bad_data_offset", "data offset below 5, or a header longer than the segment")  \
    X(TcpBadChecksum, "tcp_bad_checksum", "TCP checksum (with the pseudo-header) does not verify")           \
    X(TcpBadFlags, "tcp_bad_flags",                                                                          \
      "flags no TCP can accept: none of SYN/ACK/RST, or SYN with FIN, or SYN with RST")                      \
    X(TcpBadOptionLength, "tcp_bad_option_length",                                                           \
      "a TCP option whose length is below 2, runs past the header, or is wrong for its kind")

enum class Drop : uint8_t {
#define SYNWAVE_X(e, name, help) e,
    SYNWAVE_WIRE_DROPS(SYNWAVE_X)
#undef SYNWAVE_X
};

namespace detail {
struct DropText {
    const char* name;
    const char* help;
};
inline constexpr DropText kDropText[] = {
#define SYNWAVE_X(e, name, help) {name, help},
    SYNWAVE_WIRE_DROPS(SYNWAVE_X)
#undef SYNWAVE_X
};
}  // namespace detail

inline constexpr size_t kDropCount = std::size(detail::kDropText);

// The counter name for a reason ("tcp_bad_checksum"); "unknown" for a value outside the enum.
[[nodiscard]] constexpr const char* drop_name(Drop d) {
    const auto i = static_cast<size_t>(d);
    return i < kDropCount ? detail::kDropText[i].name : "unknown";
}

// One line saying what the reason means, for a counter's help text.
[[nodiscard]] constexpr const char* drop_help(Drop d) {
    const auto i = static_cast<size_t>(d);
    return i < kDropCount ? detail::kDropText[i].help : "unknown drop reason";
}

}  // namespace synwave::wire
