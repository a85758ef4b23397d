// libFuzzer target for lib/wire: any bytes through parse_frame() (checksums verified, and not, so the
// fuzzer reaches past them), and every accepted frame rebuilt and parsed again. Aborts on any broken
// promise, which libFuzzer (and the replay driver, wire_fuzz_replay.cpp) report as a crash:
//  - the parser never reads outside the input (ASan, with the input in its own allocation) and returns a
//    known reason;
//  - an accepted frame's offsets and pointers lie inside the input and inside the IP packet (IPv4 total
//    length, IPv6 payload length);
//  - a TCP segment rebuilt with build_tcp_frame() or build_tcp_frame6() (both checksum modes) parses back to
//    the same segment, addresses and fields, SACK blocks cut to what fits; an ARP frame, an ICMP or ICMPv6
//    echo reply, and the NA answering an NS likewise; an NS and an unsolicited NA for the parsed addresses
//    parse back.
#include "wire/frame.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace synwave;
using namespace synwave::wire;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "wire_fuzz: broken invariant: %s\n", what);
    std::abort();
}
#define CHECK(cond)                  \
    do {                             \
        if (!(cond)) fail(#cond);    \
    } while (0)

bool inside(const uint8_t* p, uint32_t n, const uint8_t* lo, const uint8_t* hi) {
    return p >= lo && p <= hi && n <= static_cast<size_t>(hi - p);
}

void check_tcp6(const ParsedFrame& f, const TcpSegment& want) {
    static std::vector<uint8_t> buf(70000);
    const L2 l2{f.src, f.dst, f.has_vlan, f.vlan_tci};
    const TcpFrameTemplate6 tpl = make_tcp_template6(l2, f.hop_limit, f.ip_tos);
    const uint32_t expect_len = tcp_payload_offset6(l2, f.tcp.opt) + f.tcp.payload_len;
    for (const CsumMode mode : {CsumMode::Software, CsumMode::Offload}) {
        const uint32_t n = build_tcp_frame6(buf.data(), static_cast<uint32_t>(buf.size()), tpl, f.dst, f.ip6_src,
                                            f.ip6_dst, f.tcp, mode);
        if (expect_len - l2_header_len(l2) - 40 > ipv6::kMaxPayloadLen) {  // the original had shorter options
            CHECK(n == 0);
            continue;
        }
        CHECK(n == expect_len);
        ParsedFrame g;
        const bool sw = mode == CsumMode::Software;
        CHECK(parse_frame(buf.data(), n, ParseConfig{sw, sw}, g) == Drop::None);
        CHECK(g.kind == FrameKind::Tcp && g.ip_version == 6);
        CHECK(g.tcp == want);
        CHECK(g.src == f.src && g.dst == f.dst && g.has_vlan == f.has_vlan && g.vlan_tci == f.vlan_tci);
        CHECK(g.ip6_src == f.ip6_src && g.ip6_dst == f.ip6_dst && g.hop_limit == f.hop_limit && g.ip_tos == f.ip_tos);
    }
}

void check_tcp(const uint8_t* data, const ParsedFrame& f) {
    const TcpSegment& s = f.tcp;
    const uint8_t* l3_end = data + f.ip_end();
    const uint32_t l3_min = f.ip_version == 6 ? 40 : 20;
    CHECK(f.l4_offset >= f.l3_offset + l3_min && f.l4_offset + 20u <= f.ip_end());
    CHECK(s.payload_len == 0 || inside(s.payload, s.payload_len, data + f.l4_offset + 20, l3_end));
    CHECK(s.opt.num_sack <= 4);
    CHECK(tcp_flags_valid(s.flags));
    if (f.ip_version == 6) {
        CHECK(!ipv6_martian_src(f.ip6_src, false));
        TcpSegment want = s;
        want.opt.num_sack = tcp_options_layout(s.opt).num_sack;
        check_tcp6(f, want);
        return;
    }
    CHECK(f.ip_version == 4 && (f.ip_src.v >> 24) != 0);

    static std::vector<uint8_t> buf(70000);
    const L2L3 h = l2l3_of(f);
    TcpSegment want = s;
    want.opt.num_sack = tcp_options_layout(s.opt).num_sack;
    const uint32_t expect_len =
        l2_header_len(h.l2) + 20 + 20 + tcp_options_length(s.opt) + s.payload_len;
    for (const CsumMode mode : {CsumMode::Software, CsumMode::Offload}) {
        const uint32_t n = build_tcp_frame(buf.data(), static_cast<uint32_t>(buf.size()), h, s, mode);
        if (expect_len - l2_header_len(h.l2) > ipv4::kMaxTotalLen) {  // the original had shorter options
            CHECK(n == 0);
            continue;
        }
        CHECK(n == expect_len);
        ParsedFrame g;
        const bool sw = mode == CsumMode::Software;
        CHECK(parse_frame(buf.data(), n, ParseConfig{sw, sw}, g) == Drop::None);
        CHECK(g.kind == FrameKind::Tcp);
        CHECK(g.tcp == want);
        CHECK(g.src == f.src && g.dst == f.dst && g.has_vlan == f.has_vlan && g.vlan_tci == f.vlan_tci);
        CHECK(g.ip_src == f.ip_src && g.ip_dst == f.ip_dst && g.ip_id == f.ip_id && g.ttl == f.ttl &&
              g.ip_tos == f.ip_tos);
    }
}

void check_icmp(const uint8_t* data, uint32_t len, const ParsedFrame& f, bool ip_verified) {
    const uint8_t* l3_end = data + f.l3_offset + f.ip_total_len;
    CHECK(f.icmp.data_len == 0 || inside(f.icmp.data, f.icmp.data_len, data + f.l4_offset + 8, l3_end));
    CHECK(f.icmp.type == icmp::kTypeEchoRequest || f.icmp.type == icmp::kTypeEchoReply);
    std::vector<uint8_t> copy(data, data + len);
    const Mac self{{0x02, 0, 0, 0, 0, 0x99}};
    const uint32_t n = icmp_echo_reply_in_place(copy.data(), f, self);
    if (f.icmp.type != icmp::kTypeEchoRequest) {
        CHECK(n == 0);
        return;
    }
    CHECK(n == f.l3_offset + uint32_t{f.ip_total_len});
    ParsedFrame g;
    // The IPv4 checksum was updated incrementally: right only if it was right before.
    CHECK(parse_frame(copy.data(), n, ParseConfig{ip_verified, true}, g) == Drop::None);
    CHECK(g.kind == FrameKind::IcmpEcho && g.icmp.type == icmp::kTypeEchoReply);
    CHECK(g.icmp.id == f.icmp.id && g.icmp.seq == f.icmp.seq && g.icmp.data_len == f.icmp.data_len);
    CHECK(g.ip_src == f.ip_dst && g.ip_dst == f.ip_src && g.ttl == 64 && g.dst == f.src && g.src == self);
}

void check_icmp6(const uint8_t* data, uint32_t len, const ParsedFrame& f) {
    CHECK(f.ip_version == 6 && f.l4_offset >= f.l3_offset + 40 && f.l4_offset + 8u <= f.ip_end());
    CHECK(f.icmp.data_len == 0 || inside(f.icmp.data, f.icmp.data_len, data + f.l4_offset + 8, data + f.ip_end()));
    CHECK(f.icmp.type == icmp6::kTypeEchoRequest || f.icmp.type == icmp6::kTypeEchoReply);
    std::vector<uint8_t> copy(data, data + len);
    const Mac self{{0x02, 0, 0, 0, 0, 0x99}};
    const uint32_t n = icmp6_echo_reply_in_place(copy.data(), f, self);
    if (f.icmp.type != icmp6::kTypeEchoRequest || ipv6_martian_src(f.ip6_dst, false)) {
        CHECK(n == 0);
        return;
    }
    // Extension headers are removed: the reply is the IPv6 header and the ICMPv6 message.
    CHECK(n == f.l3_offset + 40u + (f.ip_end() - f.l4_offset));
    ParsedFrame g;
    CHECK(parse_frame(copy.data(), n, ParseConfig{}, g) == Drop::None);
    CHECK(g.kind == FrameKind::Icmp6Echo && g.icmp.type == icmp6::kTypeEchoReply && g.l4_offset == f.l3_offset + 40);
    CHECK(g.icmp.id == f.icmp.id && g.icmp.seq == f.icmp.seq && g.icmp.data_len == f.icmp.data_len);
    CHECK(std::memcmp(g.icmp.data, f.icmp.data, f.icmp.data_len) == 0);
    CHECK(g.ip6_src == f.ip6_dst && g.ip6_dst == f.ip6_src && g.hop_limit == 64 && g.dst == f.src && g.src == self &&
          g.ip_tos == f.ip_tos && g.has_vlan == f.has_vlan && g.vlan_tci == f.vlan_tci);
}

void check_nd(const uint8_t* data, const ParsedFrame& f) {
    CHECK(f.ip_version == 6 && f.hop_limit == 255 && f.l4_offset + 24u <= f.ip_end());
    CHECK(!f.nd.target.is_multicast());
    CHECK(!f.nd.has_lladdr || data[f.l4_offset] == (f.kind == FrameKind::NdSolicit ? 135 : 136));
    uint8_t buf[128];
    const Mac self{{0x02, 0, 0, 0, 0, 0x99}};
    const uint32_t n = build_na(buf, sizeof buf, f, self);
    ParsedFrame g;
    if (f.kind == FrameKind::NdSolicit) {
        CHECK(f.nd.flags == 0);
        CHECK(!(f.ip6_src.is_unspecified() && f.nd.has_lladdr));
        CHECK(n == f.l3_offset + 40u + 32);
        const Drop dn = parse_frame(buf, n, {}, g);
        // A target no packet can come from (loopback, v4-mapped, ::): the NA would be a martian. The engine
        // answers only for its own addresses.
        if (ipv6_martian_src(f.nd.target, false)) {
            CHECK(dn == Drop::Ipv6MartianSrc);
            return;
        }
        CHECK(dn == Drop::None);
        const bool dad = f.ip6_src.is_unspecified();
        CHECK(g.kind == FrameKind::NdAdvert && g.nd.target == f.nd.target && g.ip6_src == f.nd.target &&
              g.nd.has_lladdr && g.nd.lladdr == self && g.has_vlan == f.has_vlan && g.vlan_tci == f.vlan_tci);
        CHECK(dad ? g.ip6_dst == Ipv6::all_nodes() && g.nd.flags == icmp6::kNaOverride
                  : g.ip6_dst == f.ip6_src && g.dst == f.src &&
                        g.nd.flags == (icmp6::kNaSolicited | icmp6::kNaOverride));
    } else {
        CHECK(n == 0);
        CHECK(!(f.ip6_dst.is_multicast() && (f.nd.flags & icmp6::kNaSolicited)));
    }
    // An NS for the parsed target from the parsed source, and an unsolicited NA of the target.
    const L2 l2{f.src, f.dst, f.has_vlan, f.vlan_tci};
    const uint32_t m = build_ns(buf, sizeof buf, l2, f.ip6_src, f.nd.target);
    CHECK(m == f.l3_offset + 40u + (f.ip6_src.is_unspecified() ? 24 : 32));
    CHECK(parse_frame(buf, m, {}, g) == Drop::None);
    CHECK(g.kind == FrameKind::NdSolicit && g.nd.target == f.nd.target && g.ip6_dst == f.nd.target.solicited_node() &&
          g.nd.has_lladdr == !f.ip6_src.is_unspecified());
    const uint32_t u = build_unsolicited_na(buf, sizeof buf, l2, f.nd.target);
    CHECK(u == f.l3_offset + 40u + 32);
    const Drop du = parse_frame(buf, u, {}, g);
    CHECK(ipv6_martian_src(f.nd.target, false) ? du == Drop::Ipv6MartianSrc
                                               : du == Drop::None && g.kind == FrameKind::NdAdvert &&
                                                     g.nd.flags == icmp6::kNaOverride);
}

void check_arp(const ParsedFrame& f) {
    uint8_t buf[64];
    const uint32_t n = build_arp_frame(buf, sizeof buf, L2{f.src, f.dst, f.has_vlan, f.vlan_tci}, f.arp);
    CHECK(n == f.l3_offset + 28u);
    ParsedFrame g;
    CHECK(parse_frame(buf, n, {}, g) == Drop::None);
    CHECK(g.kind == FrameKind::Arp && g.arp.op == f.arp.op && g.arp.sha == f.arp.sha && g.arp.spa == f.arp.spa &&
          g.arp.tha == f.arp.tha && g.arp.tpa == f.arp.tpa && g.has_vlan == f.has_vlan && g.vlan_tci == f.vlan_tci);
    const uint32_t r = build_arp_reply(buf, sizeof buf, f, Mac{});
    CHECK((r != 0) == (f.arp.op == arp::kOpRequest));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 0xFFFFFFu) return 0;
    const auto len = static_cast<uint32_t>(size);
    for (const bool verify : {true, false}) {
        ParsedFrame f;
        const Drop d = parse_frame(data, len, ParseConfig{verify, verify}, f);
        CHECK(static_cast<size_t>(d) < kDropCount);
        if (d != Drop::None) continue;
        CHECK(f.l3_offset == (f.has_vlan ? 18 : 14) && f.l3_offset <= len);
        switch (f.kind) {
        case FrameKind::Arp: check_arp(f); break;
        case FrameKind::IcmpEcho:
            CHECK(f.l3_offset + uint32_t{f.ip_total_len} <= len);
            check_icmp(data, len, f, verify);
            break;
        case FrameKind::Tcp:
            CHECK(f.ip_end() <= len);
            check_tcp(data, f);
            break;
        case FrameKind::Icmp6Echo:
            CHECK(f.ip_end() <= len);
            check_icmp6(data, len, f);
            break;
        case FrameKind::NdSolicit:
        case FrameKind::NdAdvert:
            CHECK(f.ip_end() <= len);
            check_nd(data, f);
            break;
        }
    }
    return 0;
}
