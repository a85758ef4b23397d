// IPv6: the builders (TCP/IPv6 from a template, NS, NA, unsolicited NA, ICMPv6 echo reply in place) through
// parse_frame() and against the naive reference checksum; limits; the pseudo-header sum; and the extension
// header chains and ND frames that look odd but must pass.
#include "wire_test_util.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace synwave;
using namespace synwave::wire;
using namespace synwave::wire::testutil;
namespace cap = synwave::wire::captures;

namespace {

const Mac kUs{{0x02, 0, 0, 0, 0, 0x01}};
const Mac kPeer{{0x02, 0, 0, 0, 0, 0x02}};
const Ipv6 kUsIp = *Ipv6::parse("2001:db8::1:0:0:1");
const Ipv6 kPeerIp = *Ipv6::parse("2001:db8:ffff::a0b:c0d");

L2 test_l2(bool vlan = false) { return L2{kUs, kPeer, vlan, static_cast<uint16_t>(vlan ? 0x2064 : 0)}; }

TcpSegment syn_ack() {
    TcpSegment s;
    s.src_port = 443;
    s.dst_port = 50000;
    s.seq = Seq(0xFFFFFFFFu);
    s.ack = Seq(7);
    s.flags = tcpflag::SYN | tcpflag::ACK;
    s.window = 65535;
    s.opt.has_mss = true;
    s.opt.mss = 1440;
    s.opt.sack_permitted = true;
    s.opt.has_ts = true;
    s.opt.tsval = 0x01020304;
    s.opt.tsecr = 0x0A0B0C0D;
    s.opt.has_wscale = true;
    s.opt.wscale = 9;
    return s;
}

ParsedFrame parsed(const uint8_t* p, uint32_t n) {
    ParsedFrame f;
    EXPECT_EQ(parse_frame(p, n, {}, f), Drop::None);
    return f;
}

Ipv6 random_ipv6(std::mt19937& rng) {
    Ipv6 a;
    for (auto& b : a.b) b = static_cast<uint8_t>(rng());
    a.b[0] = static_cast<uint8_t>(0x20 | (a.b[0] & 0x1F));  // global unicast 2000::/3: never martian
    return a;
}

}  // namespace

TEST(Checksum6, PseudoHeaderMatchesReference) {
    std::mt19937 rng(6);
    for (int i = 0; i < 10000; ++i) {
        Ipv6 s, d;
        for (auto& b : s.b) b = static_cast<uint8_t>(rng());
        for (auto& b : d.b) b = static_cast<uint8_t>(i % 7 == 0 ? 0xFF : rng());
        const auto next = static_cast<uint8_t>(rng());
        const uint32_t len = i % 3 == 0 ? static_cast<uint32_t>(rng()) : rng() % 65536;
        const uint16_t fast = csum_fold(csum_pseudo6(s, d, next, len));
        uint8_t b[2];
        std::memcpy(b, &fast, 2);
        ASSERT_EQ(load_be16(b), ref_sum(nullptr, 0, ref_pseudo6(s, d, next, len))) << i;
    }
}

TEST(Tcp6Build, SoftwareChecksumAndHeader) {
    const TcpSegment s = syn_ack();
    uint8_t buf[128];
    const uint32_t n = build_tcp_frame6(buf, sizeof buf, make_tcp_template6(test_l2(), 61, 0xB8), kPeer, kUsIp,
                                        kPeerIp, s, CsumMode::Software);
    ASSERT_EQ(n, 14u + 40 + 40);
    Bytes f(buf, buf + n), g = f;
    fix_csum6(g);
    EXPECT_EQ(g, f);  // the reference computes the same checksum
    EXPECT_EQ(load_be16(&f[12]), eth::kTypeIpv6);
    EXPECT_EQ(load_be32(&f[14]), 0x6B800000u);  // version 6, traffic class 0xB8 (EF, ECN 0), flow label 0
    EXPECT_EQ(load_be16(&f[14 + 4]), 40);
    EXPECT_EQ(f[14 + 6], ipv6::kNextTcp);
    EXPECT_EQ(f[14 + 7], 61);
    const ParsedFrame p = parsed(buf, n);
    EXPECT_EQ(p.kind, FrameKind::Tcp);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.tcp, s);
    EXPECT_EQ(p.src, kUs);
    EXPECT_EQ(p.dst, kPeer);
    EXPECT_EQ(p.ip6_src, kUsIp);
    EXPECT_EQ(p.ip6_dst, kPeerIp);
    EXPECT_EQ(p.hop_limit, 61);
    EXPECT_EQ(p.ip_tos, 0xB8);
    EXPECT_EQ(p.ip_end(), n);
}

TEST(Tcp6Build, TemplateDestinationMacIsPerFrameAndTagIsKept) {
    const TcpFrameTemplate6 tpl = make_tcp_template6(test_l2(true));
    EXPECT_EQ(tpl.l2_len, 18);
    uint8_t buf[128];
    const Mac other{{0x0a, 1, 2, 3, 4, 5}};
    const uint32_t n = build_tcp_frame6(buf, sizeof buf, tpl, other, kUsIp, kPeerIp, syn_ack(), CsumMode::Software);
    ASSERT_EQ(n, 18u + 40 + 40);
    const ParsedFrame p = parsed(buf, n);
    EXPECT_EQ(p.dst, other);
    EXPECT_TRUE(p.has_vlan);
    EXPECT_EQ(p.vlan_tci, 0x2064);
    EXPECT_EQ(p.l4_offset, 58);
    EXPECT_EQ(p.hop_limit, 64);
}

// Offload: the TCP checksum holds the folded pseudo-header sum; completing it over the segment (the NIC's
// part) gives the software frame.
TEST(Tcp6Build, OffloadLeavesPseudoHeaderSum) {
    TcpSegment s = syn_ack();
    const char msg[] = "odd-length payload";
    s.payload = reinterpret_cast<const uint8_t*>(msg);
    s.payload_len = sizeof msg - 1;
    const TcpFrameTemplate6 tpl = make_tcp_template6(test_l2(true));
    uint8_t sw[256], hw[256];
    const uint32_t n = build_tcp_frame6(sw, sizeof sw, tpl, kPeer, kUsIp, kPeerIp, s, CsumMode::Software);
    ASSERT_EQ(build_tcp_frame6(hw, sizeof hw, tpl, kPeer, kUsIp, kPeerIp, s, CsumMode::Offload), n);
    const uint32_t l4 = 58, tcp_len = n - l4;
    EXPECT_EQ(load_be16(hw + l4 + tcp::kOffCsum), ref_sum(nullptr, 0, ref_pseudo6(kUsIp, kPeerIp, 6, tcp_len)));
    ParsedFrame p;
    EXPECT_EQ(parse_frame(hw, n, {.verify_ip_checksum = true, .verify_l4_checksum = false}, p), Drop::None);
    store_raw16(hw + l4 + tcp::kOffCsum, csum_finish(csum_add(hw + l4, tcp_len, 0)));
    EXPECT_EQ(Bytes(hw, hw + n), Bytes(sw, sw + n));
}

TEST(Tcp6Build, ReturnsZeroWhenCapTooSmall) {
    const TcpSegment s = syn_ack();
    uint8_t buf[128];
    EXPECT_EQ(build_tcp_frame6(buf, 93, make_tcp_template6(test_l2()), kPeer, kUsIp, kPeerIp, s, CsumMode::Software), 0u);
    EXPECT_EQ(build_tcp_frame6(buf, 94, make_tcp_template6(test_l2()), kPeer, kUsIp, kPeerIp, s, CsumMode::Software),
              94u);
    EXPECT_EQ(build_tcp_frame6(buf, 97, make_tcp_template6(test_l2(true)), kPeer, kUsIp, kPeerIp, s, CsumMode::Offload),
              0u);
    EXPECT_EQ(build_tcp_frame6(buf, 98, make_tcp_template6(test_l2(true)), kPeer, kUsIp, kPeerIp, s, CsumMode::Offload),
              98u);
}

TEST(Tcp6Build, ReturnsZeroPastPayloadLength) {
    std::vector<uint8_t> big(70000, 0x5A), buf(70000);
    const TcpFrameTemplate6 tpl = make_tcp_template6(test_l2());
    TcpSegment s;
    s.flags = tcpflag::ACK;
    s.payload = big.data();
    s.payload_len = 65535 - 20;
    EXPECT_EQ(build_tcp_frame6(buf.data(), 70000, tpl, kPeer, kUsIp, kPeerIp, s, CsumMode::Software), 14u + 40 + 65535);
    ParsedFrame p;
    ASSERT_EQ(parse_frame(buf.data(), 14 + 40 + 65535, {}, p), Drop::None);
    EXPECT_EQ(p.ip6_payload_len, 65535);
    EXPECT_EQ(p.tcp.payload_len, 65515u);
    s.payload_len = 65535 - 19;
    EXPECT_EQ(build_tcp_frame6(buf.data(), 70000, tpl, kPeer, kUsIp, kPeerIp, s, CsumMode::Software), 0u);
    s.payload_len = 0xFFFFFFF0u;  // would wrap a 32-bit length sum
    EXPECT_EQ(build_tcp_frame6(buf.data(), 70000, tpl, kPeer, kUsIp, kPeerIp, s, CsumMode::Software), 0u);
}

TEST(Tcp6Build, PayloadAlreadyInPlaceIsNotCopied) {
    TcpSegment s;
    s.flags = tcpflag::ACK;
    s.opt.has_ts = true;
    uint8_t buf[256];
    const uint32_t off = tcp_payload_offset6(test_l2(true), s.opt);
    EXPECT_EQ(off, 18u + 40 + 20 + 12);
    std::memcpy(buf + off, "in place", 8);
    s.payload = buf + off;
    s.payload_len = 8;
    const uint32_t n =
        build_tcp_frame6(buf, sizeof buf, make_tcp_template6(test_l2(true)), kPeer, kUsIp, kPeerIp, s, CsumMode::Software);
    ASSERT_EQ(n, off + 8);
    const ParsedFrame p = parsed(buf, n);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.tcp.payload), 8), "in place");
}

// Property: random segments and headers survive build -> parse unchanged (fixed seed), both checksum modes,
// tagged and untagged, and the software checksum is the reference's.
TEST(Tcp6RoundTrip, RandomSegmentsBuildThenParse) {
    std::mt19937 rng(0x6EED);
    std::vector<uint8_t> payload(1500), buf(2048);
    for (auto& b : payload) b = static_cast<uint8_t>(rng());
    auto bit = [&] { return (rng() & 1) != 0; };
    for (int iter = 0; iter < 5000; ++iter) {
        L2 l2;
        for (auto& b : l2.src.b) b = static_cast<uint8_t>(rng());
        for (auto& b : l2.dst.b) b = static_cast<uint8_t>(rng());
        l2.vlan = bit();
        l2.vlan_tci = l2.vlan ? static_cast<uint16_t>(rng()) : 0;
        const Ipv6 src = random_ipv6(rng), dst = random_ipv6(rng);
        const auto hop = static_cast<uint8_t>(rng()), tc = static_cast<uint8_t>(rng());
        TcpSegment s;
        s.src_port = static_cast<uint16_t>(rng());
        s.dst_port = static_cast<uint16_t>(rng());
        s.seq = Seq(static_cast<uint32_t>(rng()));
        s.ack = Seq(static_cast<uint32_t>(rng()));
        do s.flags = static_cast<uint8_t>(rng()); while (!tcp_flags_valid(s.flags));
        s.window = static_cast<uint16_t>(rng());
        s.opt.has_mss = bit();
        s.opt.mss = s.opt.has_mss ? static_cast<uint16_t>(rng()) : 0;
        s.opt.has_ts = bit();
        s.opt.tsval = s.opt.has_ts ? static_cast<uint32_t>(rng()) : 0;
        s.opt.num_sack = static_cast<uint8_t>(rng() % 5);
        for (int b = 0; b < s.opt.num_sack; ++b) s.opt.sack[b] = {Seq(static_cast<uint32_t>(rng())), Seq(5)};
        s.payload_len = rng() % 4 == 0 ? 0 : rng() % 1441;
        s.payload = s.payload_len ? payload.data() + rng() % (1500 - s.payload_len + 1) : nullptr;
        const CsumMode mode = bit() ? CsumMode::Software : CsumMode::Offload;

        const uint32_t n = build_tcp_frame6(buf.data(), static_cast<uint32_t>(buf.size()),
                                            make_tcp_template6(l2, hop, tc), l2.dst, src, dst, s, mode);
        ASSERT_EQ(n, tcp_payload_offset6(l2, s.opt) + s.payload_len) << iter;
        ParsedFrame p;
        const bool sw = mode == CsumMode::Software;
        ASSERT_EQ(parse_frame(buf.data(), n, {sw, sw}, p), Drop::None) << iter;
        TcpSegment want = s;
        want.opt.num_sack = tcp_options_layout(s.opt).num_sack;
        ASSERT_EQ(p.tcp, want) << iter;
        ASSERT_EQ(p.ip6_src, src);
        ASSERT_EQ(p.ip6_dst, dst);
        ASSERT_EQ(p.hop_limit, hop);
        ASSERT_EQ(p.ip_tos, tc);
        ASSERT_EQ(p.has_vlan, l2.vlan);
        ASSERT_EQ(p.vlan_tci, l2.vlan_tci);
        if (sw) {
            Bytes f(buf.data(), buf.data() + n), g = f;
            fix_csum6(g);
            ASSERT_EQ(g, f) << iter;
        }
    }
}

TEST(NdBuild, SolicitationFields) {
    uint8_t buf[128];
    const uint32_t n = build_ns(buf, sizeof buf, test_l2(true), kUsIp, kPeerIp);
    ASSERT_EQ(n, 18u + 40 + 32);
    const ParsedFrame p = parsed(buf, n);
    EXPECT_EQ(p.kind, FrameKind::NdSolicit);
    EXPECT_EQ(p.dst, (Mac{{0x33, 0x33, 0xff, 0x0b, 0x0c, 0x0d}}));  // l2.dst is not used
    EXPECT_EQ(p.src, kUs);
    EXPECT_TRUE(p.has_vlan);
    EXPECT_EQ(p.vlan_tci, 0x2064);
    EXPECT_EQ(p.ip6_src, kUsIp);
    EXPECT_EQ(p.ip6_dst, *Ipv6::parse("ff02::1:ff0b:c0d"));
    EXPECT_EQ(p.hop_limit, 255);
    EXPECT_EQ(p.nd.target, kPeerIp);
    EXPECT_TRUE(p.nd.has_lladdr);
    EXPECT_EQ(p.nd.lladdr, kUs);
    Bytes f(buf, buf + n), g = f;
    fix_csum6(g);
    EXPECT_EQ(g, f);
    EXPECT_EQ(build_ns(buf, n - 1, test_l2(true), kUsIp, kPeerIp), 0u);
}

TEST(NdBuild, DadProbeHasNoSourceLinkLayerOption) {
    uint8_t buf[128];
    const uint32_t n = build_ns(buf, sizeof buf, test_l2(), Ipv6{}, kUsIp);
    ASSERT_EQ(n, 14u + 40 + 24);
    const ParsedFrame p = parsed(buf, n);
    EXPECT_EQ(p.kind, FrameKind::NdSolicit);
    EXPECT_TRUE(p.ip6_src.is_unspecified());
    EXPECT_EQ(p.ip6_dst, kUsIp.solicited_node());
    EXPECT_FALSE(p.nd.has_lladdr);
}

// A unicast NS without SLLA (neighbour unreachability detection, RFC 4861 §7.2.2) is answered to the
// Ethernet source it came from.
TEST(NdBuild, AdvertisementAnswersUnicastProbe) {
    Bytes ns = bytes_of(cap::kNs6);
    std::copy(kUsIp.b.begin(), kUsIp.b.end(), ns.begin() + 14 + 24);  // to our unicast address
    std::copy(kUsIp.b.begin(), kUsIp.b.end(), ns.begin() + 54 + 8);   // for it
    ns.resize(54 + 24);                                                // without the SLLA
    store_be16(&ns[14 + 4], 24);
    fix_csum6(ns);
    const ParsedFrame req = parsed(ns.data(), static_cast<uint32_t>(ns.size()));
    ASSERT_EQ(req.kind, FrameKind::NdSolicit);
    EXPECT_FALSE(req.nd.has_lladdr);
    uint8_t buf[128];
    EXPECT_EQ(build_na(buf, 85, req, kUs), 0u);
    const uint32_t n = build_na(buf, 86, req, kUs);
    ASSERT_EQ(n, 86u);
    const ParsedFrame na = parsed(buf, n);
    EXPECT_EQ(na.kind, FrameKind::NdAdvert);
    EXPECT_EQ(na.dst, req.src);
    EXPECT_EQ(na.src, kUs);
    EXPECT_EQ(na.ip6_src, kUsIp);
    EXPECT_EQ(na.ip6_dst, req.ip6_src);
    EXPECT_EQ(na.hop_limit, 255);
    EXPECT_EQ(na.nd.target, kUsIp);
    EXPECT_EQ(na.nd.flags, icmp6::kNaSolicited | icmp6::kNaOverride);
    EXPECT_EQ(na.nd.lladdr, kUs);
}

TEST(NdBuild, AdvertisementOnlyForSolicitations) {
    uint8_t buf[128];
    const Bytes na = bytes_of(cap::kNa6), echo = bytes_of(cap::kEcho6Request);
    EXPECT_EQ(build_na(buf, sizeof buf, parsed(na.data(), static_cast<uint32_t>(na.size())), kUs), 0u);
    EXPECT_EQ(build_na(buf, sizeof buf, parsed(echo.data(), static_cast<uint32_t>(echo.size())), kUs), 0u);
    EXPECT_EQ(build_na(buf, sizeof buf, ParsedFrame{}, kUs), 0u);  // kind Arp
}

TEST(NdBuild, UnsolicitedAdvertisement) {
    uint8_t buf[128];
    EXPECT_EQ(build_unsolicited_na(buf, 89, test_l2(true), kUsIp), 0u);
    const uint32_t n = build_unsolicited_na(buf, sizeof buf, test_l2(true), kUsIp);
    ASSERT_EQ(n, 90u);
    const ParsedFrame p = parsed(buf, n);
    EXPECT_EQ(p.kind, FrameKind::NdAdvert);
    EXPECT_EQ(p.dst, (Mac{{0x33, 0x33, 0, 0, 0, 1}}));
    EXPECT_EQ(p.src, kUs);
    EXPECT_EQ(p.vlan_tci, 0x2064);
    EXPECT_EQ(p.ip6_src, kUsIp);
    EXPECT_EQ(p.ip6_dst, Ipv6::all_nodes());
    EXPECT_EQ(p.hop_limit, 255);
    EXPECT_EQ(p.nd.target, kUsIp);
    EXPECT_EQ(p.nd.flags, icmp6::kNaOverride);
    EXPECT_TRUE(p.nd.has_lladdr);
    EXPECT_EQ(p.nd.lladdr, kUs);
}

TEST(Icmp6Build, NoReplyFromAMulticastDestination) {
    Bytes f = bytes_of(cap::kEcho6Request);
    store_ipv6(&f[14 + 24], Ipv6::all_nodes());
    fix_csum6(f);
    const ParsedFrame req = parsed(f.data(), static_cast<uint32_t>(f.size()));
    ASSERT_EQ(req.kind, FrameKind::Icmp6Echo);
    EXPECT_EQ(icmp6_echo_reply_in_place(f.data(), req, kUs), 0u);
}

TEST(Icmp6Build, ReplyDropsEthernetPadding) {
    Bytes f = bytes_of(cap::kEcho6Request);
    f.resize(54 + 8);  // an echo without data: 62 bytes, then padding
    store_be16(&f[14 + 4], 8);
    fix_csum6(f);
    f.insert(f.end(), {0xAA, 0xAA, 0xAA, 0xAA});
    const ParsedFrame req = parsed(f.data(), static_cast<uint32_t>(f.size()));
    EXPECT_EQ(req.icmp.data_len, 0u);
    ASSERT_EQ(icmp6_echo_reply_in_place(f.data(), req, kUs), 62u);
    const ParsedFrame r = parsed(f.data(), 62);
    EXPECT_EQ(r.icmp.type, icmp6::kTypeEchoReply);
}

// Property: the incrementally updated reply checksum equals a full recomputation, for random requests
// (identifiers, data of every length, odd ones included, traffic class, flow label, hop limit).
TEST(Icmp6Build, IncrementalReplyChecksumEqualsReference) {
    std::mt19937 rng(1624);
    for (int iter = 0; iter < 3000; ++iter) {
        const uint32_t data_len = rng() % 200;
        Bytes f = bytes_of(cap::kEcho6Request);
        f.resize(62 + data_len);
        for (size_t i = 58; i < f.size(); ++i) f[i] = static_cast<uint8_t>(rng());  // id, seq, data
        store_be32(&f[14], 0x60000000u | (static_cast<uint32_t>(rng()) & 0x0FFFFFFF));
        store_be16(&f[14 + 4], static_cast<uint16_t>(8 + data_len));
        f[14 + 7] = static_cast<uint8_t>(rng());
        const Ipv6 src = random_ipv6(rng), dst = random_ipv6(rng);
        store_ipv6(&f[14 + 8], src);
        store_ipv6(&f[14 + 24], dst);
        fix_csum6(f);
        const ParsedFrame req = parsed(f.data(), static_cast<uint32_t>(f.size()));
        ASSERT_EQ(req.kind, FrameKind::Icmp6Echo) << iter;
        const uint32_t word0 = load_be32(&f[14]);
        ASSERT_EQ(icmp6_echo_reply_in_place(f.data(), req, kUs), f.size());
        Bytes g = f;
        fix_csum6(g);
        ASSERT_EQ(g, f) << iter;
        EXPECT_EQ(load_be32(&f[14]), word0);  // traffic class and flow label kept
        EXPECT_EQ(load_ipv6(&f[14 + 8]), dst);
        EXPECT_EQ(load_ipv6(&f[14 + 24]), src);
    }
}

// ---- Odd but valid -------------------------------------------------------------------------------------

// Hop-by-hop first, a spent routing header, an atomic fragment (RFC 6946) and five destination options
// headers: eight, the most the walk takes, then TCP.
TEST(Ipv6Parse, EightExtensionHeadersPass) {
    const Bytes orig = bytes_of(cap::kTcp6Data);  // `want` points into it: it must outlive the comparison
    Bytes f = orig;
    const TcpSegment want = parsed(orig.data(), static_cast<uint32_t>(orig.size())).tcp;
    Bytes ext = {ipv6::kNextRouting, 0, 1, 4, 0, 0, 0, 0,           // hop-by-hop, PadN
                 ipv6::kNextFragment, 2, 4, 0, 0, 0, 0, 0,          // routing type 4 (SRH), segments left 0, 24 bytes
                 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 ipv6::kNextDestOpts, 0, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef};  // atomic fragment
    for (int i = 0; i < 5; ++i) ext.insert(ext.end(), {ipv6::kNextDestOpts, 0, 1, 4, 0, 0, 0, 0});
    insert_ext6(f, ipv6::kNextHopByHop, ext, ext.size() - 8);
    fix_csum6(f);
    const ParsedFrame p = parsed(f.data(), static_cast<uint32_t>(f.size()));
    EXPECT_EQ(p.kind, FrameKind::Tcp);
    EXPECT_EQ(p.l4_offset, 54u + ext.size());
    EXPECT_EQ(p.ip6_payload_len, 65u + ext.size());
    EXPECT_EQ(p.tcp, want);
}

// RFC 8200 §4.2: unknown options whose type starts with 00 are skipped, as are Pad1 and PadN.
TEST(Ipv6Parse, SkippableOptionsPass) {
    Bytes f = bytes_of(cap::kEcho6Request);
    insert_ext6(f, ipv6::kNextDestOpts, {0, 1, 0x1E, 4, 1, 2, 3, 4, 0, 1, 0, 0, 0, 0, 0, 0}, 0);
    fix_csum6(f);
    const ParsedFrame p = parsed(f.data(), static_cast<uint32_t>(f.size()));
    EXPECT_EQ(p.kind, FrameKind::Icmp6Echo);
    EXPECT_EQ(p.l4_offset, 54 + 16);
    EXPECT_EQ(p.icmp.data_len, 56u);
}

TEST(Ipv6Parse, EthernetPaddingIgnoredAndParsedFrameReusable) {
    Bytes f = bytes_of(cap::kTcp6SynAck);
    f.insert(f.end(), {0xAA, 0xAA, 0xAA});
    ParsedFrame p;
    ASSERT_EQ(parse(f, p), Drop::None);
    EXPECT_EQ(p.ip_end(), f.size() - 3);
    EXPECT_EQ(p.ip_version, 6);
    // IPv4 after IPv6 and back: the version and the IPv4-only fields follow the frame.
    ASSERT_EQ(parse(bytes_of(cap::kTcpAck), p), Drop::None);
    EXPECT_EQ(p.ip_version, 4);
    EXPECT_EQ(p.ip_end(), sizeof cap::kTcpAck);
    ASSERT_EQ(parse(f, p), Drop::None);
    EXPECT_EQ(p.ip_version, 6);
    EXPECT_EQ(p.ttl, 0);
    EXPECT_EQ(p.ip_total_len, 0);
    EXPECT_EQ(p.tcp, parsed(cap::kTcp6SynAck, sizeof cap::kTcp6SynAck).tcp);
}

TEST(Ipv6Parse, TcpChecksumCanBeLeftToTheNicIcmp6Cannot) {
    Bytes tcp = bytes_of(cap::kTcp6Data), echo = bytes_of(cap::kEcho6Request);
    tcp[90] ^= 1;
    echo[80] ^= 1;
    ParsedFrame p;
    const ParseConfig nic{.verify_ip_checksum = false, .verify_l4_checksum = false};
    EXPECT_EQ(parse(tcp, p), Drop::TcpBadChecksum);
    EXPECT_EQ(parse(tcp, p, nic), Drop::None);
    EXPECT_EQ(parse(echo, p, nic), Drop::Icmp6BadChecksum);
}

// RFC 4861 §7.1.1: options not defined for the message are ignored (a TLLA in an NS, unknown types); of two
// SLLA options the first counts.
TEST(NdParse, ForeignAndUnknownOptionsIgnored) {
    Bytes f = bytes_of(cap::kNs6);
    f.insert(f.end(), {icmp6::kOptTlla, 1, 9, 9, 9, 9, 9, 9, 200, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       icmp6::kOptSlla, 1, 7, 7, 7, 7, 7, 7});
    store_be16(&f[14 + 4], static_cast<uint16_t>(f.size() - 54));
    fix_csum6(f);
    const ParsedFrame p = parsed(f.data(), static_cast<uint32_t>(f.size()));
    EXPECT_EQ(p.kind, FrameKind::NdSolicit);
    EXPECT_EQ(p.nd.lladdr, (Mac{{0x02, 0, 0, 0, 0, 0x0a}}));
}

// An unsolicited NA to all nodes with the Router flag (a router announcing itself) passes; the reserved
// bits after the flags are not reported.
TEST(NdParse, UnsolicitedRouterAdvertisementToAllNodes) {
    Bytes f = bytes_of(cap::kNa6);
    store_ipv6(&f[14 + 24], Ipv6::all_nodes());
    f[54 + 4] = icmp6::kNaRouter | icmp6::kNaOverride | 0x1F;
    fix_csum6(f);
    const ParsedFrame p = parsed(f.data(), static_cast<uint32_t>(f.size()));
    EXPECT_EQ(p.kind, FrameKind::NdAdvert);
    EXPECT_EQ(p.nd.flags, icmp6::kNaRouter | icmp6::kNaOverride);
}
