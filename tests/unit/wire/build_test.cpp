// Builders: option encoding (Linux's order and layout), SACK blocks cut to fit, checksum modes, limits,
// and the build -> parse round trip over random segments.
#include "wire_test_util.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace synwave;
using namespace synwave::wire;
using namespace synwave::wire::testutil;

namespace {

Bytes encode(const TcpOptions& o) {
    uint8_t buf[64];
    const uint32_t n = write_tcp_options(buf, o);
    EXPECT_EQ(n, tcp_options_length(o));
    return Bytes(buf, buf + n);
}

TcpOptions syn_options(bool sack_perm, bool ts, bool ws) {
    TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.sack_permitted = sack_perm;
    o.has_ts = ts;
    o.tsval = 0x01020304;
    o.tsecr = 0x0A0B0C0D;
    o.has_wscale = ws;
    o.wscale = 7;
    return o;
}

L2L3 test_l2l3(bool vlan = false) {
    L2L3 h;
    h.l2.src = Mac{{0x02, 0, 0, 0, 0, 0x01}};
    h.l2.dst = Mac{{0x02, 0, 0, 0, 0, 0x02}};
    h.l2.vlan = vlan;
    h.l2.vlan_tci = vlan ? 0x2064 : 0;
    h.ip_src = Ipv4{0xC0000201};
    h.ip_dst = Ipv4{0xC0000202};
    h.ip_id = 0x1234;
    return h;
}

}  // namespace

TEST(TcpOptionsBuild, LinuxSynLayout) {
    // mss, sackOK, TS, nop, wscale: what Linux sends (compare kTcpSyn's bytes 54..73).
    EXPECT_EQ(encode(syn_options(true, true, true)),
              (Bytes{2, 4, 0x05, 0xB4, 4, 2, 8, 10, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 1, 3, 3, 7}));
}

TEST(TcpOptionsBuild, TimestampsWithoutSackPermittedUseNops) {
    EXPECT_EQ(encode(syn_options(false, true, true)),
              (Bytes{2, 4, 0x05, 0xB4, 1, 1, 8, 10, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D, 1, 3, 3, 7}));
}

TEST(TcpOptionsBuild, SackPermittedWithoutTimestamps) {
    EXPECT_EQ(encode(syn_options(true, false, true)), (Bytes{2, 4, 0x05, 0xB4, 1, 1, 4, 2, 1, 3, 3, 7}));
}

TEST(TcpOptionsBuild, MssOnly) { EXPECT_EQ(encode(syn_options(false, false, false)), (Bytes{2, 4, 0x05, 0xB4})); }

TEST(TcpOptionsBuild, NoOptions) { EXPECT_EQ(tcp_options_length(TcpOptions{}), 0u); }

TEST(TcpOptionsBuild, SackBlocksAfterTimestamps) {
    TcpOptions o;
    o.has_ts = true;
    o.tsval = 1;
    o.tsecr = 2;
    o.num_sack = 1;
    o.sack[0] = {Seq(0xFFFFFFFD), Seq(3)};
    EXPECT_EQ(encode(o), (Bytes{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 5, 10, 0xFF, 0xFF, 0xFF, 0xFD, 0, 0, 0, 3}));
}

// 40 bytes of options at most: with timestamps (12) only 3 blocks fit (4 + 24), without them all 4 (4 + 32).
TEST(TcpOptionsBuild, SackBlocksCutToFit) {
    TcpOptions o;
    o.num_sack = 4;
    for (int i = 0; i < 4; ++i) o.sack[i] = {Seq(100u * i), Seq(100u * i + 50)};
    EXPECT_EQ(tcp_options_layout(o).num_sack, 4);
    EXPECT_EQ(tcp_options_length(o), 36u);
    o.has_ts = true;
    EXPECT_EQ(tcp_options_layout(o).num_sack, 3);
    EXPECT_EQ(tcp_options_length(o), 40u);
    o.has_wscale = true;  // 12 + 4 leaves 24: 2 blocks
    EXPECT_EQ(tcp_options_layout(o).num_sack, 2);
    o.has_mss = true;  // 4 + 12 + 4 leaves 20: 2 blocks
    EXPECT_EQ(tcp_options_layout(o).num_sack, 2);
    EXPECT_EQ(tcp_options_length(o), 40u);
    o.num_sack = 9;  // out of range: treated as 4
    o.has_ts = o.has_wscale = o.has_mss = false;
    EXPECT_EQ(tcp_options_layout(o).num_sack, 4);
    // The blocks sent are the first ones (the most recent, RFC 2018 §4).
    o.num_sack = 4;
    o.has_ts = true;
    const Bytes b = encode(o);
    TcpOptions back;
    ASSERT_EQ(parse_tcp_options(b.data(), static_cast<uint32_t>(b.size()), back), Drop::None);
    ASSERT_EQ(back.num_sack, 3);
    EXPECT_EQ(back.sack[2].left, Seq(200));
}

TEST(TcpBuild, SoftwareChecksumsVerify) {
    TcpSegment s;
    s.src_port = 8080;
    s.dst_port = 40000;
    s.seq = Seq(0xFFFFFFFFu);
    s.ack = Seq(7);
    s.flags = tcpflag::SYN | tcpflag::ACK;
    s.window = 65535;
    s.opt = syn_options(true, true, true);
    uint8_t buf[128];
    const uint32_t n = build_tcp_frame(buf, sizeof buf, test_l2l3(), s, CsumMode::Software);
    ASSERT_EQ(n, 14u + 20 + 40);
    Bytes f(buf, buf + n);
    Bytes g = f;
    fix_csums(g);
    EXPECT_EQ(g, f);  // the reference computes the same checksums
    EXPECT_EQ(load_be16(&f[14 + 6]), ipv4::kFlagDf);
    EXPECT_EQ(f[14 + 8], 64);
    ParsedFrame p;
    ASSERT_EQ(parse(f, p), Drop::None);
    EXPECT_EQ(p.tcp, s);
}

// Offload: IPv4 checksum 0, TCP checksum the folded pseudo-header sum (DPDK's and Linux's CHECKSUM_PARTIAL
// convention). What the NIC then computes over the segment gives exactly the software frame.
TEST(TcpBuild, OffloadLeavesPseudoHeaderSum) {
    TcpSegment s;
    s.src_port = 1;
    s.dst_port = 2;
    s.flags = tcpflag::ACK | tcpflag::PSH;
    const char msg[] = "hello, offload";
    s.payload = reinterpret_cast<const uint8_t*>(msg);
    s.payload_len = sizeof msg - 1;
    s.opt.has_ts = true;
    s.opt.tsval = 99;
    uint8_t sw[128], hw[128];
    const L2L3 h = test_l2l3(true);
    const uint32_t n = build_tcp_frame(sw, sizeof sw, h, s, CsumMode::Software);
    ASSERT_EQ(build_tcp_frame(hw, sizeof hw, h, s, CsumMode::Offload), n);
    const uint32_t l3 = 18, l4 = 38, tcp_len = n - l4;
    EXPECT_EQ(load_be16(hw + l3 + ipv4::kOffCsum), 0);
    EXPECT_EQ(load_be16(hw + l4 + tcp::kOffCsum), ref_sum(nullptr, 0, ref_pseudo(h.ip_src, h.ip_dst, 6, tcp_len)));
    // Play the NIC.
    store_raw16(hw + l3 + ipv4::kOffCsum, csum_finish(csum_add(hw + l3, 20, 0)));
    store_raw16(hw + l4 + tcp::kOffCsum, csum_finish(csum_add(hw + l4, tcp_len, 0)));
    EXPECT_EQ(Bytes(hw, hw + n), Bytes(sw, sw + n));
    ParsedFrame p;
    ASSERT_EQ(parse_frame(sw, n, {}, p), Drop::None);
    EXPECT_EQ(p.tcp, s);
}

TEST(TcpBuild, ReturnsZeroWhenCapTooSmall) {
    TcpSegment s;
    s.flags = tcpflag::SYN;
    s.opt = syn_options(true, true, true);
    uint8_t buf[128];
    EXPECT_EQ(build_tcp_frame(buf, 73, test_l2l3(), s, CsumMode::Software), 0u);
    EXPECT_EQ(build_tcp_frame(buf, 74, test_l2l3(), s, CsumMode::Software), 74u);
    EXPECT_EQ(build_tcp_frame(buf, 77, test_l2l3(true), s, CsumMode::Software), 0u);
    EXPECT_EQ(build_tcp_frame(buf, 78, test_l2l3(true), s, CsumMode::Software), 78u);
}

TEST(TcpBuild, ReturnsZeroPastIpv4TotalLength) {
    std::vector<uint8_t> big(70000, 0x5A);
    TcpSegment s;
    s.flags = tcpflag::ACK;
    s.payload = big.data();
    s.payload_len = 65535 - 40;
    std::vector<uint8_t> buf(70000);
    EXPECT_EQ(build_tcp_frame(buf.data(), 70000, test_l2l3(), s, CsumMode::Software), 14u + 65535);
    s.payload_len = 65535 - 39;
    EXPECT_EQ(build_tcp_frame(buf.data(), 70000, test_l2l3(), s, CsumMode::Software), 0u);
    s.payload_len = 0xFFFFFFF0u;  // would wrap a 32-bit length sum
    EXPECT_EQ(build_tcp_frame(buf.data(), 70000, test_l2l3(), s, CsumMode::Software), 0u);
}

// A payload already written at tcp_payload_offset() is used where it lies.
TEST(TcpBuild, PayloadAlreadyInPlaceIsNotCopied) {
    TcpSegment s;
    s.flags = tcpflag::ACK;
    s.opt.has_ts = true;
    const L2L3 h = test_l2l3();
    uint8_t buf[256];
    const uint32_t off = tcp_payload_offset(h, s.opt);
    EXPECT_EQ(off, 14u + 20 + 20 + 12);
    std::memcpy(buf + off, "in place", 8);
    s.payload = buf + off;
    s.payload_len = 8;
    const uint32_t n = build_tcp_frame(buf, sizeof buf, h, s, CsumMode::Software);
    ASSERT_EQ(n, off + 8);
    ParsedFrame p;
    ASSERT_EQ(parse_frame(buf, n, {}, p), Drop::None);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.tcp.payload), 8), "in place");
}

TEST(TcpSegment, SegLenCountsSynAndFin) {
    TcpSegment s;
    s.payload_len = 10;
    EXPECT_EQ(s.seg_len(), 10u);
    s.flags = tcpflag::SYN;
    EXPECT_EQ(s.seg_len(), 11u);
    s.flags = tcpflag::SYN | tcpflag::FIN;
    EXPECT_EQ(s.seg_len(), 12u);
    s.flags = tcpflag::FIN | tcpflag::ACK;
    EXPECT_EQ(s.seg_len(), 11u);
}

TEST(TcpOptions, EqualityIgnoresAbsentFields) {
    TcpOptions a, b;
    a.mss = 1000;  // not present: ignored
    b.tsval = 5;
    b.sack[3] = {Seq(1), Seq(2)};
    EXPECT_EQ(a, b);
    a.has_mss = true;
    EXPECT_NE(a, b);
    b.has_mss = true;
    b.mss = 1000;
    EXPECT_EQ(a, b);
    a.num_sack = b.num_sack = 1;
    a.sack[0] = {Seq(1), Seq(3)};
    EXPECT_NE(a, b);
}

TEST(ArpBuild, ReplyOnlyToRequests) {
    ParsedFrame f;
    ASSERT_EQ(parse(bytes_of(captures::kArpReply), f), Drop::None);
    uint8_t buf[64];
    EXPECT_EQ(build_arp_reply(buf, sizeof buf, f, Mac{}), 0u);
    ASSERT_EQ(parse(bytes_of(captures::kArpRequest), f), Drop::None);
    EXPECT_EQ(build_arp_reply(buf, 41, f, Mac{}), 0u);
    EXPECT_EQ(build_arp_reply(buf, 42, f, Mac{}), 42u);
}

// Property: random segments and headers survive build -> parse unchanged (fixed seed, 10^4 cases), in both
// checksum modes, tagged and untagged; SACK blocks come back cut to what the layout says fits.
TEST(TcpRoundTrip, RandomSegmentsBuildThenParse) {
    std::mt19937 rng(0x5EED);
    std::vector<uint8_t> payload(1500);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> buf(2048);
    auto bit = [&] { return (rng() & 1) != 0; };
    for (int iter = 0; iter < 10000; ++iter) {
        L2L3 h;
        for (auto& b : h.l2.src.b) b = static_cast<uint8_t>(rng());
        for (auto& b : h.l2.dst.b) b = static_cast<uint8_t>(rng());
        h.l2.vlan = bit();
        h.l2.vlan_tci = h.l2.vlan ? static_cast<uint16_t>(rng()) : 0;
        h.ip_src = Ipv4{static_cast<uint32_t>(rng()) | 0x0100'0000u};  // never 0.0.0.0/8 (ipv4_martian_src)
        h.ip_dst = Ipv4{static_cast<uint32_t>(rng())};
        h.ip_id = static_cast<uint16_t>(rng());
        h.ttl = static_cast<uint8_t>(rng());
        h.tos = static_cast<uint8_t>(rng());

        TcpSegment s;
        s.src_port = static_cast<uint16_t>(rng());
        s.dst_port = static_cast<uint16_t>(rng());
        s.seq = Seq(0xFFFFFF00u + static_cast<uint32_t>(rng() % 512));  // around the wrap
        s.ack = Seq(static_cast<uint32_t>(rng()));
        do s.flags = static_cast<uint8_t>(rng()); while (!tcp_flags_valid(s.flags));
        s.window = static_cast<uint16_t>(rng());
        s.urgent = static_cast<uint16_t>(rng());
        TcpOptions& o = s.opt;
        o.has_mss = bit();
        o.mss = o.has_mss ? static_cast<uint16_t>(rng()) : 0;
        o.has_wscale = bit();
        o.wscale = o.has_wscale ? static_cast<uint8_t>(rng() % 15) : 0;
        o.sack_permitted = bit();
        o.has_ts = bit();
        if (o.has_ts) {
            o.tsval = static_cast<uint32_t>(rng());
            o.tsecr = static_cast<uint32_t>(rng());
        }
        o.num_sack = static_cast<uint8_t>(rng() % 5);
        for (int b = 0; b < o.num_sack; ++b) {
            o.sack[b].left = Seq(static_cast<uint32_t>(rng()));
            o.sack[b].right = o.sack[b].left + static_cast<uint32_t>(rng() % 100000);
        }
        s.payload_len = rng() % 4 == 0 ? 0 : rng() % 1461;
        s.payload = s.payload_len ? payload.data() + rng() % (1500 - s.payload_len + 1) : nullptr;
        const CsumMode mode = bit() ? CsumMode::Software : CsumMode::Offload;

        const uint32_t n = build_tcp_frame(buf.data(), static_cast<uint32_t>(buf.size()), h, s, mode);
        ASSERT_NE(n, 0u) << "iteration " << iter;
        ParsedFrame p;
        const ParseConfig cfg{mode == CsumMode::Software, mode == CsumMode::Software};
        ASSERT_EQ(parse_frame(buf.data(), n, cfg, p), Drop::None) << "iteration " << iter;

        TcpSegment want = s;
        want.opt.num_sack = tcp_options_layout(s.opt).num_sack;
        ASSERT_EQ(p.tcp, want) << "iteration " << iter;
        ASSERT_EQ(p.kind, FrameKind::Tcp);
        ASSERT_EQ(p.src, h.l2.src);
        ASSERT_EQ(p.dst, h.l2.dst);
        ASSERT_EQ(p.has_vlan, h.l2.vlan);
        ASSERT_EQ(p.vlan_tci, h.l2.vlan_tci);
        const L2L3 back = l2l3_of(p);
        ASSERT_EQ(back.ip_src, h.ip_src);
        ASSERT_EQ(back.ip_dst, h.ip_dst);
        ASSERT_EQ(back.ip_id, h.ip_id);
        ASSERT_EQ(back.ttl, h.ttl);
        ASSERT_EQ(back.tos, h.tos);
        ASSERT_EQ(p.ip_total_len, n - l2_header_len(h.l2));
    }
}

// Property: random edits of a built frame's TCP header, applied incrementally (as a template frame is
// patched per connection: ports, seq, ack, window, timestamps), equal a full software rebuild.
TEST(TcpRoundTrip, IncrementalPatchEqualsRebuild) {
    std::mt19937 rng(99);
    uint8_t a[256], b[256];
    const L2L3 h = test_l2l3();
    for (int iter = 0; iter < 10000; ++iter) {
        TcpSegment s;
        s.src_port = static_cast<uint16_t>(rng());
        s.dst_port = static_cast<uint16_t>(rng());
        s.seq = Seq(static_cast<uint32_t>(rng()));
        s.ack = Seq(static_cast<uint32_t>(rng()));
        s.flags = tcpflag::ACK;
        s.window = static_cast<uint16_t>(rng());
        s.opt.has_ts = true;
        s.opt.tsval = static_cast<uint32_t>(rng());
        s.opt.tsecr = static_cast<uint32_t>(rng());
        const uint32_t n = build_tcp_frame(a, sizeof a, h, s, CsumMode::Software);
        uint8_t* t = a + 34;
        uint16_t c = load_raw16(t + tcp::kOffCsum);
        TcpSegment s2 = s;
        s2.seq = Seq(static_cast<uint32_t>(rng()));
        s2.ack = Seq(static_cast<uint32_t>(rng()));
        s2.window = static_cast<uint16_t>(rng());
        s2.dst_port = static_cast<uint16_t>(rng());
        s2.opt.tsval = static_cast<uint32_t>(rng());
        auto patch32 = [&](uint32_t off, uint32_t v) {
            const uint32_t old = load_raw32(t + off);
            store_be32(t + off, v);
            c = csum_update32(c, old, load_raw32(t + off));
        };
        auto patch16 = [&](uint32_t off, uint16_t v) {
            const uint16_t old = load_raw16(t + off);
            store_be16(t + off, v);
            c = csum_update16(c, old, load_raw16(t + off));
        };
        patch32(tcp::kOffSeq, s2.seq.raw());
        patch32(tcp::kOffAck, s2.ack.raw());
        patch16(tcp::kOffWindow, s2.window);
        patch16(tcp::kOffDstPort, s2.dst_port);
        patch32(20 + 4, s2.opt.tsval);  // NOP NOP kind len | tsval
        store_raw16(t + tcp::kOffCsum, c);
        ASSERT_EQ(build_tcp_frame(b, sizeof b, h, s2, CsumMode::Software), n);
        ASSERT_EQ(Bytes(a, a + n), Bytes(b, b + n)) << "iteration " << iter;
    }
}
