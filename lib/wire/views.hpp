// Checked views over the bytes of one header: Ethernet (+ one 802.1Q tag), ARP, IPv4, ICMP echo, IPv6 (and
// its extension header chain), ICMPv6, TCP.
//
// A view is made only by its `check()`, which verifies that every byte an accessor reads is inside the
// buffer and that the header's own length fields are consistent; after that no accessor can fail or read
// out of bounds. Checksums are verified separately (`checksum_ok()`), because an offloading NIC may
// already have done it. Views never copy and never write; builders (frame.hpp) write headers in place.
//
// Layouts: IEEE 802.3 / 802.1Q, RFC 826 (ARP), RFC 791 (IPv4), RFC 792 (ICMP), RFC 8200 (IPv6),
// RFC 4443 (ICMPv6), RFC 4861 §4.3-4.4 (Neighbor Solicitation and Advertisement), RFC 9293 §3.1 (TCP).
#pragma once
#include "core/cacheline.hpp"
#include "core/endian.hpp"
#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"
#include "core/seq.hpp"
#include "wire/checksum.hpp"
#include "wire/drop.hpp"

#include <cstdint>
#include <cstring>

namespace synwave::wire {

namespace eth {
inline constexpr uint32_t kHeaderLen = 14;
inline constexpr uint32_t kVlanTagLen = 4;
inline constexpr uint32_t kOffDst = 0, kOffSrc = 6, kOffType = 12, kOffTci = 14, kOffInnerType = 16;
inline constexpr uint16_t kTypeIpv4 = 0x0800, kTypeArp = 0x0806, kTypeIpv6 = 0x86DD;
inline constexpr uint16_t kTypeVlan = 0x8100;                          // IEEE 802.1Q C-tag
inline constexpr uint16_t kTypeQinQ = 0x88A8, kTypeQinQLegacy = 0x9100;  // 802.1ad S-tag and its pre-standard value
[[nodiscard]] constexpr bool is_tag(uint16_t t) { return t == kTypeVlan || t == kTypeQinQ || t == kTypeQinQLegacy; }
}  // namespace eth

namespace arp {
inline constexpr uint32_t kLen = 28;  // Ethernet/IPv4 ARP (RFC 826 with hlen 6, plen 4)
inline constexpr uint16_t kHtypeEthernet = 1, kPtypeIpv4 = 0x0800;
inline constexpr uint16_t kOpRequest = 1, kOpReply = 2;
inline constexpr uint32_t kOffHtype = 0, kOffPtype = 2, kOffHlen = 4, kOffPlen = 5, kOffOp = 6, kOffSha = 8,
                          kOffSpa = 14, kOffTha = 18, kOffTpa = 24;
}  // namespace arp

namespace ipv4 {
inline constexpr uint32_t kMinHeader = 20, kMaxHeader = 60;
inline constexpr uint32_t kOffVerIhl = 0, kOffTos = 1, kOffTotalLen = 2, kOffId = 4, kOffFrag = 6, kOffTtl = 8,
                          kOffProto = 9, kOffCsum = 10, kOffSrc = 12, kOffDst = 16;
inline constexpr uint16_t kFlagDf = 0x4000, kFlagMf = 0x2000, kFragOffsetMask = 0x1FFF;
inline constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6;
inline constexpr uint32_t kMaxTotalLen = 65535;
}  // namespace ipv4

namespace icmp {
inline constexpr uint32_t kEchoHeaderLen = 8;
inline constexpr uint32_t kOffType = 0, kOffCode = 1, kOffCsum = 2, kOffId = 4, kOffSeq = 6;
inline constexpr uint8_t kTypeEchoReply = 0, kTypeEchoRequest = 8;
}  // namespace icmp

namespace ipv6 {
inline constexpr uint32_t kHeaderLen = 40;
inline constexpr uint32_t kOffVerTcFl = 0, kOffPayloadLen = 4, kOffNext = 6, kOffHopLimit = 7, kOffSrc = 8,
                          kOffDst = 24;
// Next Header values (IANA "Assigned Internet Protocol Numbers"; RFC 8200 §4).
inline constexpr uint8_t kNextHopByHop = 0, kNextTcp = 6, kNextRouting = 43, kNextFragment = 44, kNextIcmp6 = 58,
                         kNextNone = 59, kNextDestOpts = 60;
// Extension headers walked before giving up: RFC 8200 §4.1 expects at most one of each (two Destination
// Options), so eight is generous; a longer chain is an attack on the walk, not traffic.
inline constexpr uint32_t kMaxExtHeaders = 8;
// Hop-by-hop, routing and destination options headers: next header, length in 8-octet units not counting
// the first 8 (RFC 8200 §4.3-4.6); a routing header's segments left is its fourth octet (§4.4).
inline constexpr uint32_t kExtOffNext = 0, kExtOffLen = 1, kRoutingOffSegmentsLeft = 3;
// Options of hop-by-hop and destination options headers (§4.2): Pad1 is one byte, every other option is
// type, length, data; the two high bits of an unrecognized option's type say what to do with the packet.
inline constexpr uint8_t kOptPad1 = 0, kOptActionMask = 0xC0;
// Fragment header (§4.5): next header, reserved, offset (13 bits) | res (2) | M (1), identification.
inline constexpr uint32_t kFragLen = 8, kFragOffOffsetFlags = 2;
inline constexpr uint16_t kFragOffsetMask = 0xFFF8, kFragMore = 0x0001;
inline constexpr uint32_t kMaxPayloadLen = 65535;  // no jumbograms (RFC 2675)
}  // namespace ipv6

namespace icmp6 {
inline constexpr uint32_t kHeaderLen = 4, kEchoHeaderLen = 8;
inline constexpr uint32_t kOffType = 0, kOffCode = 1, kOffCsum = 2, kOffId = 4, kOffSeq = 6;
inline constexpr uint8_t kTypeEchoRequest = 128, kTypeEchoReply = 129, kTypeNs = 135, kTypeNa = 136;
// NS and NA: 4-byte ICMPv6 header, 4 bytes of flags/reserved, the 16-byte target, then options (RFC 4861 §4.3,
// §4.4). Options are type, length in 8-octet units (0 is invalid), data (§4.6).
inline constexpr uint32_t kNdLen = 24, kOffNdFlags = 4, kOffNdTarget = 8, kOffNdOptions = 24;
inline constexpr uint8_t kOptSlla = 1, kOptTlla = 2;
inline constexpr uint32_t kOptLladdrLen = 8;  // type, length 1, 6-byte MAC: Ethernet (RFC 2464 §8)
// NA flags, in the first byte after the ICMPv6 header (RFC 4861 §4.4).
inline constexpr uint8_t kNaRouter = 0x80, kNaSolicited = 0x40, kNaOverride = 0x20;
// ND messages are sent and accepted with hop limit 255 only, so no router can have forwarded them
// (RFC 4861 §7.1.1, §11.2).
inline constexpr uint8_t kNdHopLimit = 255;
}  // namespace icmp6

namespace tcp {
inline constexpr uint32_t kMinHeader = 20, kMaxHeader = 60, kMaxOptions = 40;
inline constexpr uint32_t kOffSrcPort = 0, kOffDstPort = 2, kOffSeq = 4, kOffAck = 8, kOffDataOff = 12,
                          kOffFlags = 13, kOffWindow = 14, kOffCsum = 16, kOffUrgent = 18;
}  // namespace tcp

// TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168).
namespace tcpflag {
inline constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40,
                         CWR = 0x80;
}

[[nodiscard]] inline Mac load_mac(const uint8_t* p) {
    Mac m;
    std::memcpy(m.b.data(), p, 6);
    return m;
}
inline void store_mac(uint8_t* p, const Mac& m) { std::memcpy(p, m.b.data(), 6); }
[[nodiscard]] inline Ipv6 load_ipv6(const uint8_t* p) {
    Ipv6 a;
    std::memcpy(a.b.data(), p, 16);
    return a;
}
inline void store_ipv6(uint8_t* p, const Ipv6& a) { std::memcpy(p, a.b.data(), 16); }

// Ethernet II header with at most one 802.1Q tag.
class EthView {
public:
    // EthTooShort if the header or its tag is cut off; VlanNested for a second tag or an 802.1ad tag.
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, EthView& out) {
        if (SYNWAVE_UNLIKELY(len < eth::kHeaderLen)) return Drop::EthTooShort;
        const uint16_t type = load_be16(p + eth::kOffType);
        uint32_t hlen = eth::kHeaderLen;
        if (type == eth::kTypeVlan) {
            if (SYNWAVE_UNLIKELY(len < eth::kHeaderLen + eth::kVlanTagLen)) return Drop::EthTooShort;
            if (SYNWAVE_UNLIKELY(eth::is_tag(load_be16(p + eth::kOffInnerType)))) return Drop::VlanNested;
            hlen += eth::kVlanTagLen;
        } else if (SYNWAVE_UNLIKELY(eth::is_tag(type))) {  // an 802.1ad/QinQ service tag
            return Drop::VlanNested;
        }
        out.p_ = p;
        out.hlen_ = hlen;
        return Drop::None;
    }
    [[nodiscard]] Mac dst() const { return load_mac(p_ + eth::kOffDst); }
    [[nodiscard]] Mac src() const { return load_mac(p_ + eth::kOffSrc); }
    [[nodiscard]] bool has_vlan() const { return hlen_ != eth::kHeaderLen; }
    [[nodiscard]] uint16_t vlan_tci() const { return has_vlan() ? load_be16(p_ + eth::kOffTci) : 0; }
    // The payload's ethertype: the inner one when tagged.
    [[nodiscard]] uint16_t ethertype() const { return load_be16(p_ + hlen_ - 2); }
    [[nodiscard]] uint32_t header_len() const { return hlen_; }

private:
    const uint8_t* p_ = nullptr;
    uint32_t hlen_ = 0;
};

// ARP for IPv4 over Ethernet.
class ArpView {
public:
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, ArpView& out) {
        if (SYNWAVE_UNLIKELY(len < arp::kLen)) return Drop::ArpMalformed;
        if (SYNWAVE_UNLIKELY(load_be16(p + arp::kOffHtype) != arp::kHtypeEthernet ||
                             load_be16(p + arp::kOffPtype) != arp::kPtypeIpv4 || p[arp::kOffHlen] != 6 ||
                             p[arp::kOffPlen] != 4))
            return Drop::ArpMalformed;
        const uint16_t op = load_be16(p + arp::kOffOp);
        if (SYNWAVE_UNLIKELY(op != arp::kOpRequest && op != arp::kOpReply)) return Drop::ArpUnsupportedOp;
        out.p_ = p;
        return Drop::None;
    }
    [[nodiscard]] uint16_t op() const { return load_be16(p_ + arp::kOffOp); }
    [[nodiscard]] Mac sha() const { return load_mac(p_ + arp::kOffSha); }
    [[nodiscard]] Ipv4 spa() const { return Ipv4{load_be32(p_ + arp::kOffSpa)}; }
    [[nodiscard]] Mac tha() const { return load_mac(p_ + arp::kOffTha); }
    [[nodiscard]] Ipv4 tpa() const { return Ipv4{load_be32(p_ + arp::kOffTpa)}; }

private:
    const uint8_t* p_ = nullptr;
};

// IPv4 header; options are skipped via IHL, bytes past the total length (Ethernet padding) are ignored.
class Ipv4View {
public:
    // Ipv4TooShort, Ipv4BadVersion, Ipv4BadIhl, Ipv4BadTotalLength: in that order.
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, Ipv4View& out) {
        if (SYNWAVE_UNLIKELY(len < ipv4::kMinHeader)) return Drop::Ipv4TooShort;
        const uint8_t vi = p[ipv4::kOffVerIhl];
        if (SYNWAVE_UNLIKELY((vi >> 4) != 4)) return Drop::Ipv4BadVersion;
        const uint32_t ihl = (vi & 0x0Fu) * 4;
        if (SYNWAVE_UNLIKELY(ihl < ipv4::kMinHeader)) return Drop::Ipv4BadIhl;
        const uint32_t total = load_be16(p + ipv4::kOffTotalLen);
        if (SYNWAVE_UNLIKELY(total < ipv4::kMinHeader || total > len)) return Drop::Ipv4BadTotalLength;
        if (SYNWAVE_UNLIKELY(ihl > total)) return Drop::Ipv4BadIhl;
        out.p_ = p;
        return Drop::None;
    }
    [[nodiscard]] bool checksum_ok() const { return csum_ok(csum_add(p_, header_len(), 0)); }
    // RFC 791: "more fragments" set, or a non-zero fragment offset.
    [[nodiscard]] bool is_fragment() const {
        return (load_be16(p_ + ipv4::kOffFrag) & (ipv4::kFlagMf | ipv4::kFragOffsetMask)) != 0;
    }
    [[nodiscard]] uint32_t header_len() const { return (p_[ipv4::kOffVerIhl] & 0x0Fu) * 4; }
    [[nodiscard]] uint16_t total_len() const { return load_be16(p_ + ipv4::kOffTotalLen); }
    [[nodiscard]] uint8_t tos() const { return p_[ipv4::kOffTos]; }
    [[nodiscard]] uint16_t id() const { return load_be16(p_ + ipv4::kOffId); }
    [[nodiscard]] uint16_t frag() const { return load_be16(p_ + ipv4::kOffFrag); }
    [[nodiscard]] uint8_t ttl() const { return p_[ipv4::kOffTtl]; }
    [[nodiscard]] uint8_t proto() const { return p_[ipv4::kOffProto]; }
    [[nodiscard]] Ipv4 src() const { return Ipv4{load_be32(p_ + ipv4::kOffSrc)}; }
    [[nodiscard]] Ipv4 dst() const { return Ipv4{load_be32(p_ + ipv4::kOffDst)}; }
    [[nodiscard]] const uint8_t* payload() const { return p_ + header_len(); }
    [[nodiscard]] uint32_t payload_len() const { return total_len() - header_len(); }

private:
    const uint8_t* p_ = nullptr;
};

// ICMP echo request or reply (RFC 792); `len` is the whole ICMP message (IP payload).
class IcmpView {
public:
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, IcmpView& out) {
        if (SYNWAVE_UNLIKELY(len < icmp::kEchoHeaderLen)) return Drop::IcmpMalformed;
        out.p_ = p;
        out.len_ = len;
        return Drop::None;
    }
    [[nodiscard]] bool checksum_ok() const { return csum_ok(csum_add(p_, len_, 0)); }
    [[nodiscard]] bool is_echo() const {
        return type() == icmp::kTypeEchoRequest || type() == icmp::kTypeEchoReply;
    }
    [[nodiscard]] uint8_t type() const { return p_[icmp::kOffType]; }
    [[nodiscard]] uint8_t code() const { return p_[icmp::kOffCode]; }
    [[nodiscard]] uint16_t id() const { return load_be16(p_ + icmp::kOffId); }
    [[nodiscard]] uint16_t seq() const { return load_be16(p_ + icmp::kOffSeq); }
    [[nodiscard]] const uint8_t* data() const { return p_ + icmp::kEchoHeaderLen; }
    [[nodiscard]] uint32_t data_len() const { return len_ - icmp::kEchoHeaderLen; }

private:
    const uint8_t* p_ = nullptr;
    uint32_t len_ = 0;
};

// IPv6 header (RFC 8200 §3). Bytes past the payload length (Ethernet padding) are ignored. Extension
// headers are walked by ipv6_upper_layer().
class Ipv6View {
public:
    // Ipv6TooShort, Ipv6BadVersion, Ipv6BadPayloadLength: in that order.
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, Ipv6View& out) {
        if (SYNWAVE_UNLIKELY(len < ipv6::kHeaderLen)) return Drop::Ipv6TooShort;
        if (SYNWAVE_UNLIKELY((p[ipv6::kOffVerTcFl] >> 4) != 6)) return Drop::Ipv6BadVersion;
        if (SYNWAVE_UNLIKELY(load_be16(p + ipv6::kOffPayloadLen) > len - ipv6::kHeaderLen))
            return Drop::Ipv6BadPayloadLength;
        out.p_ = p;
        return Drop::None;
    }
    [[nodiscard]] uint8_t traffic_class() const {
        return static_cast<uint8_t>(load_be16(p_ + ipv6::kOffVerTcFl) >> 4);
    }
    [[nodiscard]] uint32_t flow_label() const { return load_be32(p_ + ipv6::kOffVerTcFl) & 0xFFFFFu; }
    [[nodiscard]] uint16_t payload_len() const { return load_be16(p_ + ipv6::kOffPayloadLen); }
    [[nodiscard]] uint8_t next() const { return p_[ipv6::kOffNext]; }
    [[nodiscard]] uint8_t hop_limit() const { return p_[ipv6::kOffHopLimit]; }
    [[nodiscard]] Ipv6 src() const { return load_ipv6(p_ + ipv6::kOffSrc); }
    [[nodiscard]] Ipv6 dst() const { return load_ipv6(p_ + ipv6::kOffDst); }
    [[nodiscard]] const uint8_t* payload() const { return p_ + ipv6::kHeaderLen; }

private:
    const uint8_t* p_ = nullptr;
};

// Where the upper-layer header starts: `proto` is TCP or ICMPv6, at `offset` bytes into the IPv6 payload.
struct Ipv6UpperLayer {
    uint8_t proto = 0;
    uint32_t offset = 0;
};

// The options of a hop-by-hop or destination options header of `hlen` bytes at `h` (RFC 8200 §4.2). synwave
// acts on none of them: Pad1, PadN, Router Alert and the other options whose type starts with the bits 00
// ("skip over this option") are skipped; one starting otherwise asks for the packet to be discarded when
// not recognized (01; 10 and 11 add an ICMPv6 Parameter Problem, which synwave does not send), e.g. Jumbo
// Payload or Home Address: Ipv6OptionUnrecognized. An option running past its header: Ipv6ExtTruncated.
[[nodiscard]] inline Drop ipv6_check_options(const uint8_t* h, uint32_t hlen) {
    uint32_t i = 2;
    while (i < hlen) {
        const uint8_t type = h[i];
        if (type == ipv6::kOptPad1) {
            ++i;
            continue;
        }
        if (SYNWAVE_UNLIKELY(hlen - i < 2 || uint32_t{h[i + 1]} + 2 > hlen - i)) return Drop::Ipv6ExtTruncated;
        if (SYNWAVE_UNLIKELY((type & ipv6::kOptActionMask) != 0)) return Drop::Ipv6OptionUnrecognized;
        i += uint32_t{h[i + 1]} + 2;
    }
    return Drop::None;
}

// Walks the extension header chain of a checked IPv6 header (RFC 8200 §4) to TCP or ICMPv6.
//  - Hop-by-hop options (only first, §4.1: Ipv6ExtMisplaced elsewhere) and destination options: their
//    options checked by ipv6_check_options(), then skipped by the header's length.
//  - A routing header with segments left 0 is ignored (§4.4) and skipped; with segments left != 0 it would
//    have to be forwarded or answered with a Parameter Problem: Ipv6RoutingSegmentsLeft.
//  - A Fragment header: an atomic fragment (offset 0, M clear: RFC 6946 §4, "MUST process in isolation") is
//    skipped like the others; a real fragment is Ipv6Fragment (no reassembly).
//  - No Next Header (59), UDP and everything else: Ipv6UnsupportedNext.
//  - More than kMaxExtHeaders: Ipv6ExtTooMany; a header cut off by the payload length: Ipv6ExtTruncated.
[[nodiscard]] inline Drop ipv6_upper_layer(const Ipv6View& ip, Ipv6UpperLayer& out) {
    const uint8_t* p = ip.payload();
    const uint32_t len = ip.payload_len();
    uint8_t next = ip.next();
    uint32_t off = 0;
    for (uint32_t n = 0;; ++n) {
        if (SYNWAVE_LIKELY(next == ipv6::kNextTcp || next == ipv6::kNextIcmp6)) {
            out.proto = next;
            out.offset = off;
            return Drop::None;
        }
        if (next != ipv6::kNextHopByHop && next != ipv6::kNextDestOpts && next != ipv6::kNextRouting &&
            next != ipv6::kNextFragment)
            return Drop::Ipv6UnsupportedNext;
        if (SYNWAVE_UNLIKELY(n == ipv6::kMaxExtHeaders)) return Drop::Ipv6ExtTooMany;
        if (SYNWAVE_UNLIKELY(next == ipv6::kNextHopByHop && n != 0)) return Drop::Ipv6ExtMisplaced;
        // Every extension header is at least 8 bytes (its length field counts beyond the first 8).
        if (SYNWAVE_UNLIKELY(len - off < 8)) return Drop::Ipv6ExtTruncated;
        const uint8_t* h = p + off;
        uint32_t hlen = 8;
        if (next == ipv6::kNextFragment) {
            if (SYNWAVE_UNLIKELY((load_be16(h + ipv6::kFragOffOffsetFlags) &
                                  (ipv6::kFragOffsetMask | ipv6::kFragMore)) != 0))
                return Drop::Ipv6Fragment;
        } else {
            hlen = (uint32_t{h[ipv6::kExtOffLen]} + 1) * 8;
            if (SYNWAVE_UNLIKELY(hlen > len - off)) return Drop::Ipv6ExtTruncated;
            if (next == ipv6::kNextRouting) {
                if (SYNWAVE_UNLIKELY(h[ipv6::kRoutingOffSegmentsLeft] != 0)) return Drop::Ipv6RoutingSegmentsLeft;
            } else if (const Drop d = ipv6_check_options(h, hlen); d != Drop::None) {
                return d;
            }
        }
        next = h[ipv6::kExtOffNext];
        off += hlen;
    }
}

// An IPv6 source address no packet synwave accepts can carry: multicast (RFC 4291 §2.7), loopback off the
// loopback interface (§2.5.3), IPv4-mapped (§2.5.5.2: an API representation, never on the wire; Linux's
// TCP drops it too), and the unspecified address unless `allow_unspecified` (§2.5.2: only a node without an
// address yet sends from ::, i.e. Duplicate Address Detection probes, RFC 4862 §5.4.2, and MLD reports).
[[nodiscard]] constexpr bool ipv6_martian_src(const Ipv6& a, bool allow_unspecified) {
    if (a.is_multicast() || a.is_loopback() || a.is_v4_mapped()) return true;
    return !allow_unspecified && a.is_unspecified();
}

// An ICMPv6 message (RFC 4443 §2.1); `len` is the whole message (upper-layer length). The checksum covers
// the IPv6 pseudo-header (§2.3).
class Icmp6View {
public:
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, Icmp6View& out) {
        if (SYNWAVE_UNLIKELY(len < icmp6::kHeaderLen)) return Drop::Icmp6Malformed;
        out.p_ = p;
        out.len_ = len;
        return Drop::None;
    }
    [[nodiscard]] bool checksum_ok(const Ipv6& src, const Ipv6& dst) const {
        return csum_ok(csum_add(p_, len_, csum_pseudo6(src, dst, ipv6::kNextIcmp6, len_)));
    }
    [[nodiscard]] uint8_t type() const { return p_[icmp6::kOffType]; }
    [[nodiscard]] uint8_t code() const { return p_[icmp6::kOffCode]; }
    [[nodiscard]] const uint8_t* data() const { return p_; }
    [[nodiscard]] uint32_t len() const { return len_; }

private:
    const uint8_t* p_ = nullptr;
    uint32_t len_ = 0;
};

// TCP header (RFC 9293 §3.1); `len` is the whole segment (IP payload). Options are parsed by
// parse_tcp_options() (tcp_options.hpp), flags judged by tcp_flags_valid().
class TcpView {
public:
    // TcpTooShort, TcpBadDataOffset.
    [[nodiscard]] static Drop check(const uint8_t* p, uint32_t len, TcpView& out) {
        if (SYNWAVE_UNLIKELY(len < tcp::kMinHeader)) return Drop::TcpTooShort;
        const uint32_t doff = (uint32_t{p[tcp::kOffDataOff]} >> 4) * 4;
        if (SYNWAVE_UNLIKELY(doff < tcp::kMinHeader || doff > len)) return Drop::TcpBadDataOffset;
        out.p_ = p;
        out.len_ = len;
        return Drop::None;
    }
    // Verifies the checksum over the pseudo-header and the whole segment.
    [[nodiscard]] bool checksum_ok(Ipv4 src, Ipv4 dst) const {
        return csum_ok(csum_add(p_, len_, csum_pseudo(src, dst, ipv4::kProtoTcp, static_cast<uint16_t>(len_))));
    }
    // The same over the IPv6 pseudo-header (RFC 8200 §8.1).
    [[nodiscard]] bool checksum_ok6(const Ipv6& src, const Ipv6& dst) const {
        return csum_ok(csum_add(p_, len_, csum_pseudo6(src, dst, ipv6::kNextTcp, len_)));
    }
    [[nodiscard]] uint16_t src_port() const { return load_be16(p_ + tcp::kOffSrcPort); }
    [[nodiscard]] uint16_t dst_port() const { return load_be16(p_ + tcp::kOffDstPort); }
    [[nodiscard]] Seq seq() const { return Seq(load_be32(p_ + tcp::kOffSeq)); }
    [[nodiscard]] Seq ack() const { return Seq(load_be32(p_ + tcp::kOffAck)); }
    [[nodiscard]] uint32_t header_len() const { return (uint32_t{p_[tcp::kOffDataOff]} >> 4) * 4; }
    [[nodiscard]] uint8_t flags() const { return p_[tcp::kOffFlags]; }
    [[nodiscard]] uint16_t window() const { return load_be16(p_ + tcp::kOffWindow); }
    [[nodiscard]] uint16_t checksum() const { return load_be16(p_ + tcp::kOffCsum); }
    [[nodiscard]] uint16_t urgent() const { return load_be16(p_ + tcp::kOffUrgent); }
    [[nodiscard]] const uint8_t* options() const { return p_ + tcp::kMinHeader; }
    [[nodiscard]] uint32_t options_len() const { return header_len() - tcp::kMinHeader; }
    [[nodiscard]] const uint8_t* payload() const { return p_ + header_len(); }
    [[nodiscard]] uint32_t payload_len() const { return len_ - header_len(); }

private:
    const uint8_t* p_ = nullptr;
    uint32_t len_ = 0;
};

// RFC 9293 leaves these to the receiver; the parser rejects the combinations that no state can accept, so
// the state machine never sees them (each is a well-known scan or attack pattern):
//  - none of SYN, ACK, RST (a "NULL", FIN or Xmas scan): in LISTEN only SYN or RST is processed
//    (§3.10.7.2), in SYN-SENT only ACK/RST/SYN (§3.10.7.3), and in every other state "if the ACK bit is off
//    drop the segment" (§3.10.7.4, fifth check);
//  - SYN with FIN: Linux discards it in LISTEN (tcp_rcv_state_process), FreeBSD drops it with
//    net.inet.tcp.drop_synfin; no stack sends it;
//  - SYN with RST: contradictory (RST is processed before SYN in every state); no stack sends it.
// Reserved bits, ECE, CWR, PSH and URG are ignored, as RFC 9293 §3.1 and RFC 3168 ask. FIN with RST,
// or RST with data, is left to the state machine (the RST is processed first).
[[nodiscard]] constexpr bool tcp_flags_valid(uint8_t f) {
    using namespace tcpflag;
    if ((f & (SYN | ACK | RST)) == 0) return false;
    if ((f & SYN) && (f & (FIN | RST))) return false;
    return true;
}

}  // namespace synwave::wire
