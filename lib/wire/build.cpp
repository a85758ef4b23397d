// Builders: TCP/IPv4 and TCP/IPv6 frames, ARP frames, Neighbor Solicitations and Advertisements, ICMP and
// ICMPv6 echo replies in place. Layouts in views.hpp.
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

// Writes the TCP header, its options and the payload (unless it already lies in place) at `t`; returns the
// TCP length (header + payload). The checksum field is left 0. Inlined into both TCP builders: as a call it
// costs each frame about 20 instructions (callgrind).
[[gnu::always_inline]] inline uint32_t write_tcp(uint8_t* t, const TcpSegment& seg, const TcpOptionsLayout& lay) {
    const uint32_t tcp_hlen = tcp::kMinHeader + lay.len;
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
    return tcp_hlen + seg.payload_len;
}

// Writes an IPv6 header without extension headers (flow label 0).
void write_ipv6(uint8_t* ip, uint8_t tclass, uint16_t payload_len, uint8_t next, uint8_t hop_limit,
                const Ipv6& src, const Ipv6& dst) {
    store_be32(ip + ipv6::kOffVerTcFl, (6u << 28) | (uint32_t{tclass} << 20));
    store_be16(ip + ipv6::kOffPayloadLen, payload_len);
    ip[ipv6::kOffNext] = next;
    ip[ipv6::kOffHopLimit] = hop_limit;
    store_ipv6(ip + ipv6::kOffSrc, src);
    store_ipv6(ip + ipv6::kOffDst, dst);
}

// An NS or NA frame (RFC 4861 §4.3, §4.4): Ethernet, IPv6 (hop limit 255), the 24-byte message and, if
// `opt_type` is not 0, one link-layer address option carrying `lladdr`. 0 if cap is too small.
uint32_t write_nd(uint8_t* buf, uint32_t cap, const L2& l2, const Ipv6& src, const Ipv6& dst, uint8_t type,
                  uint8_t flags, const Ipv6& target, uint8_t opt_type, const Mac& lladdr) {
    const uint32_t l2_len = l2_header_len(l2);
    const uint32_t icmp_len = icmp6::kNdLen + (opt_type != 0 ? icmp6::kOptLladdrLen : 0);
    if (SYNWAVE_UNLIKELY(l2_len + ipv6::kHeaderLen + icmp_len > cap)) return 0;
    write_l2(buf, l2, eth::kTypeIpv6);
    write_ipv6(buf + l2_len, 0, static_cast<uint16_t>(icmp_len), ipv6::kNextIcmp6, icmp6::kNdHopLimit, src, dst);
    uint8_t* m = buf + l2_len + ipv6::kHeaderLen;
    m[icmp6::kOffType] = type;
    m[icmp6::kOffCode] = 0;
    store_raw16(m + icmp6::kOffCsum, 0);
    store_be32(m + icmp6::kOffNdFlags, uint32_t{flags} << 24);  // flags, then reserved (zero)
    store_ipv6(m + icmp6::kOffNdTarget, target);
    if (opt_type != 0) {
        m[icmp6::kOffNdOptions] = opt_type;
        m[icmp6::kOffNdOptions + 1] = 1;  // 8 octets
        store_mac(m + icmp6::kOffNdOptions + 2, lladdr);
    }
    store_raw16(m + icmp6::kOffCsum, csum_finish(csum_add(m, icmp_len, csum_pseudo6(src, dst, ipv6::kNextIcmp6,
                                                                                    icmp_len))));
    return l2_len + ipv6::kHeaderLen + icmp_len;
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
    const uint32_t tcp_len = write_tcp(t, seg, lay);
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

// ---- IPv6 ----------------------------------------------------------------------------------------------

TcpFrameTemplate6 make_tcp_template6(const L2& l2, uint8_t hop_limit, uint8_t tclass) {
    TcpFrameTemplate6 t;
    write_l2(t.bytes, l2, eth::kTypeIpv6);
    t.l2_len = static_cast<uint8_t>(l2_header_len(l2));
    write_ipv6(t.bytes + t.l2_len, tclass, 0, ipv6::kNextTcp, hop_limit, Ipv6{}, Ipv6{});
    return t;
}

uint32_t build_tcp_frame6(uint8_t* buf, uint32_t cap, const TcpFrameTemplate6& tpl, const Mac& dst,
                          const Ipv6& src, const Ipv6& dst_ip, const TcpSegment& seg, CsumMode mode) {
    const TcpOptionsLayout lay = tcp_options_layout(seg.opt);
    const uint32_t l2_len = tpl.l2_len;
    if (SYNWAVE_UNLIKELY(seg.payload_len > ipv6::kMaxPayloadLen)) return 0;  // keeps the sum below from wrapping
    const uint32_t tcp_len = tcp::kMinHeader + lay.len + seg.payload_len;
    if (SYNWAVE_UNLIKELY(tcp_len > ipv6::kMaxPayloadLen || l2_len + ipv6::kHeaderLen + tcp_len > cap)) return 0;
    std::memcpy(buf, tpl.bytes, sizeof(tpl.bytes));  // fixed size, as in build_tcp_frame()
    store_mac(buf + eth::kOffDst, dst);
    uint8_t* ip = buf + l2_len;
    store_be16(ip + ipv6::kOffPayloadLen, static_cast<uint16_t>(tcp_len));
    store_ipv6(ip + ipv6::kOffSrc, src);
    store_ipv6(ip + ipv6::kOffDst, dst_ip);
    uint8_t* t = ip + ipv6::kHeaderLen;
    write_tcp(t, seg, lay);
    const uint32_t pseudo = csum_pseudo6(src, dst_ip, ipv6::kNextTcp, tcp_len);
    store_raw16(t + tcp::kOffCsum,
                mode == CsumMode::Software ? csum_finish(csum_add(t, tcp_len, pseudo)) : csum_fold(pseudo));
    return l2_len + ipv6::kHeaderLen + tcp_len;
}

uint32_t build_ns(uint8_t* buf, uint32_t cap, const L2& l2, const Ipv6& src, const Ipv6& target) {
    const Ipv6 group = target.solicited_node();
    const L2 out{l2.src, multicast_mac(group), l2.vlan, l2.vlan_tci};
    return write_nd(buf, cap, out, src, group, icmp6::kTypeNs, 0, target,
                    src.is_unspecified() ? uint8_t{0} : icmp6::kOptSlla, l2.src);
}

uint32_t build_na(uint8_t* buf, uint32_t cap, const ParsedFrame& ns, Mac self_mac) {
    if (ns.kind != FrameKind::NdSolicit) return 0;
    const bool dad = ns.ip6_src.is_unspecified();
    const Ipv6 dst = dad ? Ipv6::all_nodes() : ns.ip6_src;
    const L2 l2{self_mac, dad ? multicast_mac(dst) : ns.src, ns.has_vlan, ns.vlan_tci};
    const uint8_t flags = dad ? icmp6::kNaOverride : uint8_t(icmp6::kNaSolicited | icmp6::kNaOverride);
    return write_nd(buf, cap, l2, ns.nd.target, dst, icmp6::kTypeNa, flags, ns.nd.target, icmp6::kOptTlla, self_mac);
}

uint32_t build_unsolicited_na(uint8_t* buf, uint32_t cap, const L2& l2, const Ipv6& self) {
    const Ipv6 dst = Ipv6::all_nodes();
    const L2 out{l2.src, multicast_mac(dst), l2.vlan, l2.vlan_tci};
    return write_nd(buf, cap, out, self, dst, icmp6::kTypeNa, icmp6::kNaOverride, self, icmp6::kOptTlla, l2.src);
}

uint32_t icmp6_echo_reply_in_place(uint8_t* frame, const ParsedFrame& req, Mac self_mac) {
    // The reply comes from the request's destination: not if that is multicast, or an address no packet may
    // come from (::, ::1, v4-mapped).
    if (req.kind != FrameKind::Icmp6Echo || req.icmp.type != icmp6::kTypeEchoRequest ||
        ipv6_martian_src(req.ip6_dst, false))
        return 0;
    store_mac(frame + eth::kOffDst, req.src);
    store_mac(frame + eth::kOffSrc, self_mac);

    uint8_t* ip = frame + req.l3_offset;
    const uint32_t icmp_len = req.ip_end() - req.l4_offset;
    uint8_t* ic = ip + ipv6::kHeaderLen;
    if (req.l4_offset != req.l3_offset + ipv6::kHeaderLen) {  // extension headers: drop them
        std::memmove(ic, frame + req.l4_offset, icmp_len);
        store_be16(ip + ipv6::kOffPayloadLen, static_cast<uint16_t>(icmp_len));
        ip[ipv6::kOffNext] = ipv6::kNextIcmp6;
    }
    store_ipv6(ip + ipv6::kOffSrc, req.ip6_dst);
    store_ipv6(ip + ipv6::kOffDst, req.ip6_src);
    ip[ipv6::kOffHopLimit] = 64;

    const uint16_t old_type_code = load_raw16(ic + icmp6::kOffType);
    ic[icmp6::kOffType] = icmp6::kTypeEchoReply;
    store_raw16(ic + icmp6::kOffCsum,
                csum_update16(load_raw16(ic + icmp6::kOffCsum), old_type_code, load_raw16(ic + icmp6::kOffType)));
    return req.l3_offset + ipv6::kHeaderLen + icmp_len;
}

}  // namespace synwave::wire
