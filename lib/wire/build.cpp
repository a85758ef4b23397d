// Builders: TCP/IPv4 frames, ARP frames, ICMP echo replies in place. Layouts in views.hpp.
#include "wire/frame.hpp"

namespace synwave::wire {

namespace {

// Writes the Ethernet header (+ 802.1Q tag): l2_header_len(l2) bytes.
void write_l2(uint8_t* p, const L2& l2, uint16_t ethertype) {
    store_mac(p + eth::kOffDst, l2.dst);
    store_mac(p + eth::kOffSrc, l2.src);
    if (l2.vlan) {
        store_be16(p + eth::kOffType, eth::kTypeVlan);
        store_be16(p + eth::kOffTci, l2.vlan_tci);
        store_be16(p + eth::kOffInnerType, ethertype);
    } else {
        store_be16(p + eth::kOffType, ethertype);
    }
}

}  // namespace

L2L3 l2l3_of(const ParsedFrame& f) {
    return L2L3{L2{f.src, f.dst, f.has_vlan, f.vlan_tci}, f.ip_src, f.ip_dst, f.ip_id, f.ttl, f.ip_tos};
}

TcpFrameTemplate make_tcp_template(const L2& l2, uint8_t ttl, uint8_t tos) {
    TcpFrameTemplate t;
    write_l2(t.bytes, l2, eth::kTypeIpv4);
    t.l2_len = static_cast<uint8_t>(l2_header_len(l2));
    uint8_t* ip = t.bytes + t.l2_len;
    ip[ipv4::kOffVerIhl] = 0x45;  // version 4, IHL 5: no options
    ip[ipv4::kOffTos] = tos;
    store_be16(ip + ipv4::kOffFrag, ipv4::kFlagDf);  // DF: TCP does path MTU discovery (RFC 1191), never fragments
    ip[ipv4::kOffTtl] = ttl;
    ip[ipv4::kOffProto] = ipv4::kProtoTcp;
    t.ip_sum = csum_add(ip, ipv4::kMinHeader, 0);  // length, ID, checksum and addresses are still zero
    return t;
}

uint32_t build_tcp_frame(uint8_t* buf, uint32_t cap, const L2L3& h, const TcpSegment& seg, CsumMode mode) {
    return build_tcp_frame(buf, cap, make_tcp_template(h.l2, h.ttl, h.tos), h.l2.dst, h.ip_src, h.ip_dst, h.ip_id,
                           seg, mode);
}

uint32_t build_tcp_frame(uint8_t* buf, uint32_t cap, const TcpFrameTemplate& tpl, const Mac& dst, Ipv4 ip_src,
                         Ipv4 ip_dst, uint16_t ip_id, const TcpSegment& seg, CsumMode mode) {
    const TcpOptionsLayout lay = tcp_options_layout(seg.opt);
    const uint32_t l2_len = tpl.l2_len;
    const uint32_t tcp_hlen = tcp::kMinHeader + lay.len;
    if (SYNWAVE_UNLIKELY(seg.payload_len > ipv4::kMaxTotalLen)) return 0;  // keeps the sums below from wrapping
    const uint32_t ip_total = ipv4::kMinHeader + tcp_hlen + seg.payload_len;
    if (SYNWAVE_UNLIKELY(ip_total > ipv4::kMaxTotalLen || l2_len + ip_total > cap)) return 0;
    std::memcpy(buf, tpl.bytes, sizeof(tpl.bytes));  // fixed size: a few vector moves; what the tag-less prefix
                                                     // does not use is overwritten by the TCP header below
    store_mac(buf + eth::kOffDst, dst);
    uint8_t* ip = buf + l2_len;
    store_be16(ip + ipv4::kOffTotalLen, static_cast<uint16_t>(ip_total));
    store_be16(ip + ipv4::kOffId, ip_id);
    store_be32(ip + ipv4::kOffSrc, ip_src.v);
    store_be32(ip + ipv4::kOffDst, ip_dst.v);
    uint8_t* t = ip + ipv4::kMinHeader;
    store_be16(t + tcp::kOffSrcPort, seg.src_port);
    store_be16(t + tcp::kOffDstPort, seg.dst_port);
    store_be32(t + tcp::kOffSeq, seg.seq.raw());
    store_be32(t + tcp::kOffAck, seg.ack.raw());
    t[tcp::kOffDataOff] = static_cast<uint8_t>((tcp_hlen / 4) << 4);  // reserved bits zero (RFC 9293 §3.1)
    t[tcp::kOffFlags] = seg.flags;
    store_be16(t + tcp::kOffWindow, seg.window);
    store_raw16(t + tcp::kOffCsum, 0);
    store_be16(t + tcp::kOffUrgent, seg.urgent);
    write_tcp_options(t + tcp::kMinHeader, seg.opt, lay);
    uint8_t* payload = t + tcp_hlen;
    if (seg.payload_len != 0 && seg.payload != payload) std::memcpy(payload, seg.payload, seg.payload_len);
    const uint32_t tcp_len = tcp_hlen + seg.payload_len;
    const uint32_t pseudo = csum_pseudo(ip_src, ip_dst, ipv4::kProtoTcp, static_cast<uint16_t>(tcp_len));
    if (mode == CsumMode::Software) {
        // The words the template left zero, added to its sum: total length, ID, the two addresses.
        const uint64_t s = uint64_t{tpl.ip_sum} + hton16(static_cast<uint16_t>(ip_total)) + hton16(ip_id) +
                           hton32(ip_src.v) + hton32(ip_dst.v);
        store_raw16(ip + ipv4::kOffCsum, csum_finish(detail::fold64(s)));
        store_raw16(t + tcp::kOffCsum, csum_finish(csum_add(t, tcp_len, pseudo)));
    } else {
        store_raw16(t + tcp::kOffCsum, csum_fold(pseudo));
    }
    return l2_len + ip_total;
}

uint32_t build_arp_frame(uint8_t* buf, uint32_t cap, const L2& l2, const ArpInfo& a) {
    const uint32_t l2_len = l2_header_len(l2);
    if (SYNWAVE_UNLIKELY(l2_len + arp::kLen > cap)) return 0;
    write_l2(buf, l2, eth::kTypeArp);
    uint8_t* p = buf + l2_len;
    store_be16(p + arp::kOffHtype, arp::kHtypeEthernet);
    store_be16(p + arp::kOffPtype, arp::kPtypeIpv4);
    p[arp::kOffHlen] = 6;
    p[arp::kOffPlen] = 4;
    store_be16(p + arp::kOffOp, a.op);
    store_mac(p + arp::kOffSha, a.sha);
    store_be32(p + arp::kOffSpa, a.spa.v);
    store_mac(p + arp::kOffTha, a.tha);
    store_be32(p + arp::kOffTpa, a.tpa.v);
    return l2_len + arp::kLen;
}

uint32_t build_arp_request(uint8_t* buf, uint32_t cap, Mac self_mac, Ipv4 self_ip, Ipv4 target, bool vlan,
                           uint16_t vlan_tci) {
    // RFC 826: the target hardware address is unknown, so zero (Linux sends zeros too).
    return build_arp_frame(buf, cap, L2{self_mac, Mac::broadcast(), vlan, vlan_tci},
                           ArpInfo{arp::kOpRequest, self_mac, self_ip, Mac{}, target});
}

uint32_t build_arp_reply(uint8_t* buf, uint32_t cap, const ParsedFrame& req, Mac self_mac) {
    if (req.kind != FrameKind::Arp || req.arp.op != arp::kOpRequest) return 0;
    return build_arp_frame(buf, cap, L2{self_mac, req.arp.sha, req.has_vlan, req.vlan_tci},
                           ArpInfo{arp::kOpReply, self_mac, req.arp.tpa, req.arp.sha, req.arp.spa});
}

uint32_t icmp_echo_reply_in_place(uint8_t* frame, const ParsedFrame& req, Mac self_mac) {
    if (req.kind != FrameKind::IcmpEcho || req.icmp.type != icmp::kTypeEchoRequest) return 0;
    store_mac(frame + eth::kOffDst, req.src);
    store_mac(frame + eth::kOffSrc, self_mac);

    uint8_t* ip = frame + req.l3_offset;
    // Swapping source and destination leaves the header's sum unchanged.
    store_be32(ip + ipv4::kOffSrc, req.ip_dst.v);
    store_be32(ip + ipv4::kOffDst, req.ip_src.v);
    const uint16_t old_ttl_proto = load_raw16(ip + ipv4::kOffTtl);  // TTL and protocol share a 16-bit word
    ip[ipv4::kOffTtl] = 64;
    store_raw16(ip + ipv4::kOffCsum,
                csum_update16(load_raw16(ip + ipv4::kOffCsum), old_ttl_proto, load_raw16(ip + ipv4::kOffTtl)));

    uint8_t* ic = frame + req.l4_offset;
    const uint16_t old_type_code = load_raw16(ic + icmp::kOffType);
    ic[icmp::kOffType] = icmp::kTypeEchoReply;
    store_raw16(ic + icmp::kOffCsum,
                csum_update16(load_raw16(ic + icmp::kOffCsum), old_type_code, load_raw16(ic + icmp::kOffType)));
    return uint32_t{req.l3_offset} + req.ip_total_len;
}

}  // namespace synwave::wire
