// parse_frame(): Ethernet -> ARP | IPv4 -> ICMP echo | TCP | IPv6 -> extension headers -> ICMPv6 echo | NS |
// NA | TCP, each step through its checked view. Check order and the reasons are documented in drop.hpp and
// views.hpp.
#include "wire/frame.hpp"

namespace synwave::wire {

namespace {

Drop parse_arp(const uint8_t* p, uint32_t len, ParsedFrame& out) {
    ArpView a;
    if (const Drop d = ArpView::check(p, len, a); d != Drop::None) return d;
    out.kind = FrameKind::Arp;
    out.l4_offset = 0;
    out.arp = ArpInfo{a.op(), a.sha(), a.spa(), a.tha(), a.tpa()};
    return Drop::None;
}

Drop parse_icmp(const Ipv4View& ip, ParsedFrame& out) {
    IcmpView ic;
    if (const Drop d = IcmpView::check(ip.payload(), ip.payload_len(), ic); d != Drop::None) return d;
    if (SYNWAVE_UNLIKELY(!ic.checksum_ok())) return Drop::IcmpBadChecksum;
    if (SYNWAVE_UNLIKELY(!ic.is_echo())) return Drop::IcmpUnsupportedType;
    out.kind = FrameKind::IcmpEcho;
    out.icmp = IcmpEchoInfo{ic.type(), ic.code(), ic.id(), ic.seq(), ic.data(), ic.data_len()};
    return Drop::None;
}

// The part of TCP parsing after the checksum, shared by IPv4 and IPv6. Inlined into both: as a call it
// costs the IPv4 path a dozen instructions per frame (callgrind).
[[gnu::always_inline]] inline Drop parse_tcp_fields(const TcpView& t, ParsedFrame& out) {
    if (SYNWAVE_UNLIKELY(!tcp_flags_valid(t.flags()))) return Drop::TcpBadFlags;
    TcpSegment& s = out.tcp;
    if (const Drop d = parse_tcp_options(t.options(), t.options_len(), s.opt); d != Drop::None) return d;
    out.kind = FrameKind::Tcp;
    s.src_port = t.src_port();
    s.dst_port = t.dst_port();
    s.seq = t.seq();
    s.ack = t.ack();
    s.flags = t.flags();
    s.window = t.window();
    s.urgent = t.urgent();
    s.payload = t.payload();
    s.payload_len = t.payload_len();
    return Drop::None;
}

Drop parse_tcp(const Ipv4View& ip, const ParseConfig& cfg, ParsedFrame& out) {
    TcpView t;
    if (const Drop d = TcpView::check(ip.payload(), ip.payload_len(), t); d != Drop::None) return d;
    if (cfg.verify_l4_checksum && SYNWAVE_UNLIKELY(!t.checksum_ok(out.ip_src, out.ip_dst)))
        return Drop::TcpBadChecksum;
    return parse_tcp_fields(t, out);
}

Drop parse_ipv4(const uint8_t* p, uint32_t len, const ParseConfig& cfg, ParsedFrame& out) {
    Ipv4View ip;
    if (const Drop d = Ipv4View::check(p, len, ip); d != Drop::None) return d;
    if (cfg.verify_ip_checksum && SYNWAVE_UNLIKELY(!ip.checksum_ok())) return Drop::Ipv4BadChecksum;
    if (SYNWAVE_UNLIKELY(ip.is_fragment())) return Drop::Ipv4Fragment;
    out.ip_version = 4;
    out.ip_src = ip.src();
    out.ip_dst = ip.dst();
    out.ip_total_len = ip.total_len();
    out.ip_id = ip.id();
    out.ip_tos = ip.tos();
    out.ttl = ip.ttl();
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + ip.header_len());
    switch (ip.proto()) {
    case ipv4::kProtoTcp:
        // 0.0.0.0/8 is "this network": a source only while a host learns its address, never of TCP (RFC 1122
        // §3.2.1.3). After the header checksum, which covers the address.
        if (SYNWAVE_UNLIKELY((out.ip_src.v >> 24) == 0)) return Drop::Ipv4MartianSrc;
        return parse_tcp(ip, cfg, out);
    case ipv4::kProtoIcmp: return parse_icmp(ip, out);
    default: return Drop::Ipv4UnsupportedProto;
    }
}

// ---- IPv6 ----

Drop parse_tcp6(const uint8_t* p, uint32_t len, const ParseConfig& cfg, ParsedFrame& out) {
    TcpView t;
    if (const Drop d = TcpView::check(p, len, t); d != Drop::None) return d;
    if (cfg.verify_l4_checksum && SYNWAVE_UNLIKELY(!t.checksum_ok6(out.ip6_src, out.ip6_dst)))
        return Drop::TcpBadChecksum;
    if (SYNWAVE_UNLIKELY(ipv6_martian_src(out.ip6_src, false))) return Drop::Ipv6MartianSrc;
    return parse_tcp_fields(t, out);
}

// The options of an NS or NA (RFC 4861 §4.6): every one must have a length > 0 and end inside the message
// (§7.1.1, §7.1.2); the link-layer address option `want` (SLLA for an NS, TLLA for an NA) is taken from the
// first one of its type and must be Ethernet's 8 bytes (RFC 2464 §8; Linux drops other lengths too). Other
// options (the DAD nonce of RFC 7527, the other link-layer option, unknown ones) are skipped (§7.1.1).
Drop parse_nd_options(const uint8_t* p, uint32_t len, uint8_t want, NdInfo& nd) {
    uint32_t off = icmp6::kOffNdOptions;
    while (off < len) {
        if (SYNWAVE_UNLIKELY(len - off < 2)) return Drop::NdMalformed;
        const uint32_t olen = uint32_t{p[off + 1]} * 8;
        if (SYNWAVE_UNLIKELY(olen == 0 || olen > len - off)) return Drop::NdMalformed;
        if (p[off] == want && !nd.has_lladdr) {
            if (SYNWAVE_UNLIKELY(olen != icmp6::kOptLladdrLen)) return Drop::NdMalformed;
            nd.has_lladdr = true;
            nd.lladdr = load_mac(p + off + 2);
        }
        off += olen;
    }
    return Drop::None;
}

// RFC 4861 §7.1.1 (NS) and §7.1.2 (NA) validity, after the checksum.
Drop parse_nd(const Icmp6View& ic, ParsedFrame& out) {
    const bool ns = ic.type() == icmp6::kTypeNs;
    if (SYNWAVE_UNLIKELY(out.hop_limit != icmp6::kNdHopLimit || ic.code() != 0 || ic.len() < icmp6::kNdLen))
        return Drop::NdMalformed;
    const uint8_t* p = ic.data();
    NdInfo& nd = out.nd;
    nd = NdInfo{};
    nd.target = load_ipv6(p + icmp6::kOffNdTarget);
    if (SYNWAVE_UNLIKELY(nd.target.is_multicast())) return Drop::NdMalformed;
    if (const Drop d = parse_nd_options(p, ic.len(), ns ? icmp6::kOptSlla : icmp6::kOptTlla, nd); d != Drop::None)
        return d;
    if (ns) {
        // A DAD probe (from ::) goes to a solicited-node group (ff02::1:ff00:0/104) and has no SLLA.
        if (out.ip6_src.is_unspecified()) {
            static constexpr uint8_t kSolicitedPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
            if (SYNWAVE_UNLIKELY(std::memcmp(out.ip6_dst.b.data(), kSolicitedPrefix, 13) != 0 || nd.has_lladdr))
                return Drop::NdMalformed;
        }
        out.kind = FrameKind::NdSolicit;
    } else {
        nd.flags = p[icmp6::kOffNdFlags] & (icmp6::kNaRouter | icmp6::kNaSolicited | icmp6::kNaOverride);
        if (SYNWAVE_UNLIKELY(out.ip6_dst.is_multicast() && (nd.flags & icmp6::kNaSolicited)))
            return Drop::NdMalformed;
        out.kind = FrameKind::NdAdvert;
    }
    // The source rule of RFC 4291 §2.5.2: only an NS (a DAD probe) may come from ::.
    if (SYNWAVE_UNLIKELY(ipv6_martian_src(out.ip6_src, ns))) return Drop::Ipv6MartianSrc;
    return Drop::None;
}

// Out of line: inlined, its registers cost the IPv4 and TCP/IPv6 paths a few instructions each (callgrind).
[[gnu::noinline]] Drop parse_icmp6(const uint8_t* p, uint32_t len, ParsedFrame& out) {
    Icmp6View ic;
    if (const Drop d = Icmp6View::check(p, len, ic); d != Drop::None) return d;
    if (SYNWAVE_UNLIKELY(!ic.checksum_ok(out.ip6_src, out.ip6_dst))) return Drop::Icmp6BadChecksum;
    switch (ic.type()) {
    case icmp6::kTypeEchoRequest:
    case icmp6::kTypeEchoReply:
        if (SYNWAVE_UNLIKELY(len < icmp6::kEchoHeaderLen)) return Drop::Icmp6Malformed;
        if (SYNWAVE_UNLIKELY(ipv6_martian_src(out.ip6_src, false))) return Drop::Ipv6MartianSrc;
        out.kind = FrameKind::Icmp6Echo;
        out.icmp = IcmpEchoInfo{ic.type(), ic.code(), load_be16(p + icmp6::kOffId), load_be16(p + icmp6::kOffSeq),
                                p + icmp6::kEchoHeaderLen, len - icmp6::kEchoHeaderLen};
        return Drop::None;
    case icmp6::kTypeNs:
    case icmp6::kTypeNa: return parse_nd(ic, out);
    default: return Drop::Icmp6UnsupportedType;
    }
}

Drop parse_ipv6(const uint8_t* p, uint32_t len, const ParseConfig& cfg, ParsedFrame& out) {
    Ipv6View ip;
    if (const Drop d = Ipv6View::check(p, len, ip); d != Drop::None) return d;
    Ipv6UpperLayer ul;
    if (const Drop d = ipv6_upper_layer(ip, ul); d != Drop::None) return d;
    out.ip_version = 6;
    out.ip6_src = ip.src();
    out.ip6_dst = ip.dst();
    out.ip6_payload_len = ip.payload_len();
    out.hop_limit = ip.hop_limit();
    out.ip_tos = ip.traffic_class();
    out.ip_total_len = 0;
    out.ip_id = 0;
    out.ttl = 0;
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + ipv6::kHeaderLen + ul.offset);
    const uint8_t* l4 = ip.payload() + ul.offset;
    const uint32_t l4_len = ip.payload_len() - ul.offset;
    if (ul.proto == ipv6::kNextTcp) return parse_tcp6(l4, l4_len, cfg, out);
    return parse_icmp6(l4, l4_len, out);
}

}  // namespace

Drop parse_frame(const uint8_t* data, uint32_t len, const ParseConfig& cfg, ParsedFrame& out) {
    EthView e;
    if (const Drop d = EthView::check(data, len, e); d != Drop::None) return d;
    out.dst = e.dst();
    out.src = e.src();
    out.has_vlan = e.has_vlan();
    out.vlan_tci = e.vlan_tci();
    out.ethertype = e.ethertype();
    out.l3_offset = static_cast<uint16_t>(e.header_len());
    const uint8_t* l3 = data + e.header_len();
    const uint32_t l3_len = len - e.header_len();
    // IPv4 first, by one compare: a three-way switch costs the IPv4 path five instructions more (callgrind).
    if (SYNWAVE_LIKELY(out.ethertype == eth::kTypeIpv4)) return parse_ipv4(l3, l3_len, cfg, out);
    if (out.ethertype == eth::kTypeIpv6) return parse_ipv6(l3, l3_len, cfg, out);
    if (out.ethertype == eth::kTypeArp) return parse_arp(l3, l3_len, out);
    return Drop::UnsupportedEthertype;
}

}  // namespace synwave::wire
