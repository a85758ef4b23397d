// parse_frame(): Ethernet -> ARP | IPv4 -> ICMP echo | TCP, each step through its checked view.
// Check order and the reasons are documented in drop.hpp and views.hpp.
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

Drop parse_tcp(const Ipv4View& ip, const ParseConfig& cfg, ParsedFrame& out) {
    TcpView t;
    if (const Drop d = TcpView::check(ip.payload(), ip.payload_len(), t); d != Drop::None) return d;
    if (cfg.verify_l4_checksum && SYNWAVE_UNLIKELY(!t.checksum_ok(out.ip_src, out.ip_dst)))
        return Drop::TcpBadChecksum;
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

Drop parse_ipv4(const uint8_t* p, uint32_t len, const ParseConfig& cfg, ParsedFrame& out) {
    Ipv4View ip;
    if (const Drop d = Ipv4View::check(p, len, ip); d != Drop::None) return d;
    if (cfg.verify_ip_checksum && SYNWAVE_UNLIKELY(!ip.checksum_ok())) return Drop::Ipv4BadChecksum;
    if (SYNWAVE_UNLIKELY(ip.is_fragment())) return Drop::Ipv4Fragment;
    out.ip_src = ip.src();
    out.ip_dst = ip.dst();
    out.ip_total_len = ip.total_len();
    out.ip_id = ip.id();
    out.ip_tos = ip.tos();
    out.ttl = ip.ttl();
    out.l4_offset = static_cast<uint16_t>(out.l3_offset + ip.header_len());
    switch (ip.proto()) {
    case ipv4::kProtoTcp: return parse_tcp(ip, cfg, out);
    case ipv4::kProtoIcmp: return parse_icmp(ip, out);
    default: return Drop::Ipv4UnsupportedProto;
    }
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
    switch (out.ethertype) {
    case eth::kTypeIpv4: return parse_ipv4(l3, l3_len, cfg, out);
    case eth::kTypeArp: return parse_arp(l3, l3_len, out);
    default: return Drop::UnsupportedEthertype;
    }
}

}  // namespace synwave::wire
