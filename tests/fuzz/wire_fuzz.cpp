// libFuzzer target for lib/wire: any bytes through parse_frame() (checksums verified, and not, so the
// fuzzer reaches past them), and every accepted frame rebuilt and parsed again. Aborts on any broken
// promise, which libFuzzer (and the replay driver, wire_fuzz_replay.cpp) report as a crash:
//  - the parser never reads outside the input (ASan, with the input in its own allocation) and returns a
//    known reason;
//  - an accepted frame's offsets and pointers lie inside the input and inside the IPv4 total length;
//  - a TCP segment rebuilt with build_tcp_frame() (both checksum modes) parses back to the same segment,
//    addresses and fields, SACK blocks cut to what fits; an ARP frame and an ICMP echo reply likewise.
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

void check_tcp(const uint8_t* data, const ParsedFrame& f) {
    const TcpSegment& s = f.tcp;
    const uint8_t* l3_end = data + f.l3_offset + f.ip_total_len;
    CHECK(f.l4_offset >= f.l3_offset + 20 && f.l4_offset + 20u <= f.l3_offset + f.ip_total_len);
    CHECK(s.payload_len == 0 || inside(s.payload, s.payload_len, data + f.l4_offset + 20, l3_end));
    CHECK(s.opt.num_sack <= 4);
    CHECK(tcp_flags_valid(s.flags));

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
            CHECK(f.l3_offset + uint32_t{f.ip_total_len} <= len);
            check_tcp(data, f);
            break;
        }
    }
    return 0;
}
