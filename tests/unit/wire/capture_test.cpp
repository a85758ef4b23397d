// Frames captured from the Linux kernel (captures.hpp): parsed field by field against what tcpdump and
// scapy decode from the same bytes, and rebuilt byte for byte where synwave builds the same kind of frame.
#include "wire_test_util.hpp"

#include <gtest/gtest.h>

#include <string_view>

using namespace synwave;
using namespace synwave::wire;
using namespace synwave::wire::testutil;
namespace cap = synwave::wire::captures;

namespace {

const Mac kClientMac{{0x02, 0, 0, 0, 0, 0x0a}};
const Mac kServerMac{{0x02, 0, 0, 0, 0, 0x0b}};
const Ipv4 kClientIp{0xC0000201};   // 192.0.2.1
const Ipv4 kServerIp{0xC0000202};   // 192.0.2.2
const Ipv4 kScapyIp{0xC0000203};    // 192.0.2.3

std::string_view payload_str(const TcpSegment& s) {
    return {reinterpret_cast<const char*>(s.payload), s.payload_len};
}

// Rebuilding a parsed TCP frame with its own addresses must give back the captured bytes.
void expect_rebuilds(const Bytes& frame) {
    ParsedFrame f;
    ASSERT_EQ(parse(frame, f), Drop::None);
    ASSERT_EQ(f.kind, FrameKind::Tcp);
    uint8_t buf[256];
    const uint32_t n = build_tcp_frame(buf, sizeof buf, l2l3_of(f), f.tcp, CsumMode::Software);
    ASSERT_EQ(n, frame.size());
    EXPECT_EQ(Bytes(buf, buf + n), frame);
}

ParsedFrame parsed(const Bytes& frame) {
    ParsedFrame f;
    EXPECT_EQ(parse(frame, f), Drop::None);
    return f;
}

}  // namespace

TEST(ArpParse, LinuxRequest) {
    const ParsedFrame f = parsed(bytes_of(cap::kArpRequest));
    EXPECT_EQ(f.kind, FrameKind::Arp);
    EXPECT_EQ(f.dst, Mac::broadcast());
    EXPECT_EQ(f.src, kClientMac);
    EXPECT_FALSE(f.has_vlan);
    EXPECT_EQ(f.ethertype, eth::kTypeArp);
    EXPECT_EQ(f.l3_offset, 14);
    EXPECT_EQ(f.arp.op, arp::kOpRequest);
    EXPECT_EQ(f.arp.sha, kClientMac);
    EXPECT_EQ(f.arp.spa, kClientIp);
    EXPECT_EQ(f.arp.tha, Mac{});
    EXPECT_EQ(f.arp.tpa, kServerIp);
}

TEST(ArpParse, LinuxReply) {
    const ParsedFrame f = parsed(bytes_of(cap::kArpReply));
    EXPECT_EQ(f.kind, FrameKind::Arp);
    EXPECT_EQ(f.dst, kClientMac);
    EXPECT_EQ(f.src, kServerMac);
    EXPECT_EQ(f.arp.op, arp::kOpReply);
    EXPECT_EQ(f.arp.sha, kServerMac);
    EXPECT_EQ(f.arp.spa, kServerIp);
    EXPECT_EQ(f.arp.tha, kClientMac);
    EXPECT_EQ(f.arp.tpa, kClientIp);
}

// Our reply to the kernel's request is byte for byte the kernel's own reply.
TEST(ArpBuild, ReplyToLinuxRequestEqualsLinuxReply) {
    const ParsedFrame req = parsed(bytes_of(cap::kArpRequest));
    uint8_t buf[64];
    const uint32_t n = build_arp_reply(buf, sizeof buf, req, kServerMac);
    EXPECT_EQ(Bytes(buf, buf + n), bytes_of(cap::kArpReply));
}

TEST(ArpBuild, RequestEqualsLinuxRequest) {
    uint8_t buf[64];
    const uint32_t n = build_arp_request(buf, sizeof buf, kClientMac, kClientIp, kServerIp);
    EXPECT_EQ(Bytes(buf, buf + n), bytes_of(cap::kArpRequest));
}

TEST(ArpParse, VlanTaggedRequest) {
    const ParsedFrame f = parsed(bytes_of(cap::kVlanArpRequest));
    EXPECT_EQ(f.kind, FrameKind::Arp);
    EXPECT_TRUE(f.has_vlan);
    EXPECT_EQ(f.vlan_tci, 100);
    EXPECT_EQ(f.ethertype, eth::kTypeArp);
    EXPECT_EQ(f.l3_offset, 18);
    EXPECT_EQ(f.arp.op, arp::kOpRequest);
    EXPECT_EQ(f.arp.spa, Ipv4{0xC6336401});  // 198.51.100.1
    EXPECT_EQ(f.arp.tpa, Ipv4{0xC6336402});
    // The reply keeps the tag.
    uint8_t buf[64];
    const uint32_t n = build_arp_reply(buf, sizeof buf, f, kServerMac);
    ASSERT_EQ(n, 46u);
    ParsedFrame r;
    ASSERT_EQ(parse_frame(buf, n, {}, r), Drop::None);
    EXPECT_TRUE(r.has_vlan);
    EXPECT_EQ(r.vlan_tci, 100);
    EXPECT_EQ(r.dst, kClientMac);
    EXPECT_EQ(r.arp.op, arp::kOpReply);
    EXPECT_EQ(r.arp.sha, kServerMac);
    EXPECT_EQ(r.arp.spa, Ipv4{0xC6336402});
    EXPECT_EQ(r.arp.tha, kClientMac);
    EXPECT_EQ(r.arp.tpa, Ipv4{0xC6336401});
}

TEST(IcmpParse, PingRequest) {
    const Bytes frame = bytes_of(cap::kIcmpEchoRequest);
    const ParsedFrame f = parsed(frame);
    EXPECT_EQ(f.kind, FrameKind::IcmpEcho);
    EXPECT_EQ(f.ip_src, kClientIp);
    EXPECT_EQ(f.ip_dst, kServerIp);
    EXPECT_EQ(f.ttl, 64);
    EXPECT_EQ(f.ip_id, 37591);
    EXPECT_EQ(f.ip_total_len, 84);
    EXPECT_EQ(f.l4_offset, 34);
    EXPECT_EQ(f.icmp.type, icmp::kTypeEchoRequest);
    EXPECT_EQ(f.icmp.code, 0);
    EXPECT_EQ(f.icmp.id, 9910);
    EXPECT_EQ(f.icmp.seq, 1);
    EXPECT_EQ(f.icmp.data_len, 56u);
    EXPECT_EQ(f.icmp.data, frame.data() + 42);  // points into the frame, no copy
}

// Our in-place reply carries the same ICMP message as the kernel's (same checksum 0x2603), with addresses
// swapped. Its IPv4 header differs from Linux's only in ID and DF, which we keep from the request.
TEST(IcmpBuild, ReplyInPlaceMatchesLinuxReply) {
    Bytes frame = bytes_of(cap::kIcmpEchoRequest);
    const Bytes linux_reply = bytes_of(cap::kIcmpEchoReply);
    const ParsedFrame req = parsed(frame);
    const uint32_t n = icmp_echo_reply_in_place(frame.data(), req, kServerMac);
    ASSERT_EQ(n, linux_reply.size());
    EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 14), Bytes(linux_reply.begin(), linux_reply.begin() + 14));
    EXPECT_EQ(Bytes(frame.begin() + 34, frame.end()), Bytes(linux_reply.begin() + 34, linux_reply.end()));
    EXPECT_EQ(load_be16(&frame[34 + 2]), 0x2603);
    ParsedFrame r;
    ASSERT_EQ(parse(frame, r), Drop::None);  // both checksums verify
    const ParsedFrame lr = parsed(linux_reply);
    EXPECT_EQ(r.ip_src, lr.ip_src);
    EXPECT_EQ(r.ip_dst, lr.ip_dst);
    EXPECT_EQ(r.ttl, 64);
    EXPECT_EQ(r.icmp.type, icmp::kTypeEchoReply);
    EXPECT_EQ(r.icmp.id, lr.icmp.id);
    EXPECT_EQ(r.icmp.seq, lr.icmp.seq);
}

TEST(IcmpParse, LinuxReply) {
    const ParsedFrame f = parsed(bytes_of(cap::kIcmpEchoReply));
    EXPECT_EQ(f.kind, FrameKind::IcmpEcho);
    EXPECT_EQ(f.icmp.type, icmp::kTypeEchoReply);
    EXPECT_EQ(f.icmp.id, 9910);
    EXPECT_EQ(f.icmp.seq, 1);
    EXPECT_EQ(f.ip_id, 47753);
    // An echo reply is not answered.
    Bytes frame = bytes_of(cap::kIcmpEchoReply);
    EXPECT_EQ(icmp_echo_reply_in_place(frame.data(), f, kServerMac), 0u);
}

TEST(TcpParse, SynWithAllOptions) {
    const Bytes frame = bytes_of(cap::kTcpSyn);
    const ParsedFrame f = parsed(frame);
    EXPECT_EQ(f.kind, FrameKind::Tcp);
    EXPECT_EQ(f.dst, kServerMac);
    EXPECT_EQ(f.src, kClientMac);
    EXPECT_EQ(f.ip_src, kClientIp);
    EXPECT_EQ(f.ip_dst, kServerIp);
    EXPECT_EQ(f.ip_id, 16240);
    EXPECT_EQ(f.ttl, 64);
    EXPECT_EQ(f.ip_tos, 0);
    EXPECT_EQ(f.ip_total_len, 60);
    EXPECT_EQ(f.l3_offset, 14);
    EXPECT_EQ(f.l4_offset, 34);
    const TcpSegment& s = f.tcp;
    EXPECT_EQ(s.src_port, 42934);
    EXPECT_EQ(s.dst_port, 8080);
    EXPECT_EQ(s.seq, Seq(4160145922u));
    EXPECT_EQ(s.ack, Seq(0));
    EXPECT_EQ(s.flags, tcpflag::SYN);
    EXPECT_EQ(s.window, 64240);
    EXPECT_EQ(s.urgent, 0);
    EXPECT_TRUE(s.opt.has_mss);
    EXPECT_EQ(s.opt.mss, 1460);
    EXPECT_TRUE(s.opt.sack_permitted);
    EXPECT_TRUE(s.opt.has_ts);
    EXPECT_EQ(s.opt.tsval, 1261713990u);
    EXPECT_EQ(s.opt.tsecr, 0u);
    EXPECT_TRUE(s.opt.has_wscale);
    EXPECT_EQ(s.opt.wscale, 10);
    EXPECT_EQ(s.opt.num_sack, 0);
    EXPECT_EQ(s.payload_len, 0u);
    EXPECT_EQ(s.seg_len(), 1u);
    EXPECT_EQ(tcp_options_length(s.opt), 20u);
    expect_rebuilds(frame);
}

TEST(TcpParse, SynAckWithAllOptions) {
    const Bytes frame = bytes_of(cap::kTcpSynAck);
    const ParsedFrame f = parsed(frame);
    const TcpSegment& s = f.tcp;
    EXPECT_EQ(f.ip_src, kServerIp);
    EXPECT_EQ(f.ip_dst, kClientIp);
    EXPECT_EQ(f.ip_id, 0);  // Linux sends SYN-ACKs with ID 0 and DF
    EXPECT_EQ(s.src_port, 8080);
    EXPECT_EQ(s.dst_port, 42934);
    EXPECT_EQ(s.seq, Seq(3516635324u));
    EXPECT_EQ(s.ack, Seq(4160145923u));
    EXPECT_EQ(s.flags, tcpflag::SYN | tcpflag::ACK);
    EXPECT_EQ(s.window, 65160);
    EXPECT_EQ(s.opt.mss, 1460);
    EXPECT_TRUE(s.opt.has_mss && s.opt.sack_permitted && s.opt.has_ts && s.opt.has_wscale);
    EXPECT_EQ(s.opt.tsval, 584515544u);
    EXPECT_EQ(s.opt.tsecr, 1261713990u);
    EXPECT_EQ(s.opt.wscale, 10);
    EXPECT_EQ(s.seg_len(), 1u);
    expect_rebuilds(frame);
}

TEST(TcpParse, HandshakeAckWithTimestamps) {
    const Bytes frame = bytes_of(cap::kTcpAck);
    const TcpSegment s = parsed(frame).tcp;
    EXPECT_EQ(s.seq, Seq(4160145923u));
    EXPECT_EQ(s.ack, Seq(3516635325u));
    EXPECT_EQ(s.flags, tcpflag::ACK);
    EXPECT_EQ(s.window, 63);  // unscaled: 63 << 10 bytes
    EXPECT_FALSE(s.opt.has_mss);
    EXPECT_FALSE(s.opt.has_wscale);
    EXPECT_FALSE(s.opt.sack_permitted);
    EXPECT_TRUE(s.opt.has_ts);
    EXPECT_EQ(s.opt.tsval, 1261713990u);
    EXPECT_EQ(s.opt.tsecr, 584515544u);
    EXPECT_EQ(s.payload_len, 0u);
    EXPECT_EQ(s.seg_len(), 0u);
    expect_rebuilds(frame);
}

TEST(TcpParse, DataSegment) {
    const Bytes frame = bytes_of(cap::kTcpData);
    const ParsedFrame f = parsed(frame);
    const TcpSegment& s = f.tcp;
    EXPECT_EQ(f.ip_id, 16242);
    EXPECT_EQ(s.flags, tcpflag::PSH | tcpflag::ACK);
    EXPECT_EQ(s.seq, Seq(4160145923u));
    EXPECT_EQ(s.ack, Seq(3516635325u));
    EXPECT_EQ(s.window, 63);
    EXPECT_EQ(s.opt.tsval, 1261713990u);
    EXPECT_EQ(s.payload_len, 33u);
    EXPECT_EQ(s.payload, frame.data() + 66);
    EXPECT_EQ(payload_str(s), "GET / HTTP/1.1\r\nHost: synwave\r\n\r\n");
    EXPECT_EQ(s.seg_len(), 33u);
    expect_rebuilds(frame);
}

TEST(TcpParse, FinAck) {
    const Bytes frame = bytes_of(cap::kTcpFin);
    const TcpSegment s = parsed(frame).tcp;
    EXPECT_EQ(s.flags, tcpflag::FIN | tcpflag::ACK);
    EXPECT_EQ(s.seq, Seq(3516635368u));
    EXPECT_EQ(s.ack, Seq(4160145956u));
    EXPECT_EQ(s.window, 64);
    EXPECT_EQ(s.opt.tsval, 584515544u);
    EXPECT_EQ(s.opt.tsecr, 1261713990u);
    EXPECT_EQ(s.seg_len(), 1u);
    expect_rebuilds(frame);
}

// The scapy client's ISN was 2^32 - 16, so its bytes 9..17 lie past the wrap.
TEST(TcpParse, DupAckWithOneSackBlock) {
    const Bytes frame = bytes_of(cap::kTcpSackOne);
    const ParsedFrame f = parsed(frame);
    const TcpSegment& s = f.tcp;
    EXPECT_EQ(f.ip_dst, kScapyIp);
    EXPECT_EQ(s.ack, Seq(0xFFFFFFF1u));
    EXPECT_EQ(s.flags, tcpflag::ACK);
    EXPECT_TRUE(s.opt.has_ts);
    EXPECT_EQ(s.opt.tsval, 1511466242u);
    EXPECT_EQ(s.opt.tsecr, 1001u);
    ASSERT_EQ(s.opt.num_sack, 1);
    EXPECT_EQ(s.opt.sack[0].left, Seq(9));
    EXPECT_EQ(s.opt.sack[0].right, Seq(18));
    EXPECT_TRUE(s.ack < s.opt.sack[0].left);  // ahead of the cumulative ACK across the wrap
    expect_rebuilds(frame);
}

TEST(TcpParse, DupAckWithTwoSackBlocks) {
    const Bytes frame = bytes_of(cap::kTcpSackTwo);
    const TcpSegment s = parsed(frame).tcp;
    EXPECT_EQ(s.opt.tsval, 1511466466u);
    ASSERT_EQ(s.opt.num_sack, 2);
    EXPECT_EQ(s.opt.sack[0].left, Seq(0xFFFFFFFDu));  // most recent block first (RFC 2018 §4)
    EXPECT_EQ(s.opt.sack[0].right, Seq(3));
    EXPECT_EQ(s.opt.sack[1].left, Seq(9));
    EXPECT_EQ(s.opt.sack[1].right, Seq(18));
    EXPECT_EQ(s.opt.sack[0].right - s.opt.sack[0].left, 6);  // 6 bytes, across 2^32
    expect_rebuilds(frame);
}

TEST(TcpParse, DataWithSackBlock) {
    const Bytes frame = bytes_of(cap::kTcpDataSack);
    const TcpSegment s = parsed(frame).tcp;
    EXPECT_EQ(s.flags, tcpflag::PSH | tcpflag::ACK);
    EXPECT_EQ(s.ack, Seq(3));
    ASSERT_EQ(s.opt.num_sack, 1);
    EXPECT_EQ(s.opt.sack[0].left, Seq(9));
    EXPECT_EQ(payload_str(s), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    expect_rebuilds(frame);
}

TEST(TcpParse, VlanTaggedSynAck) {
    const Bytes frame = bytes_of(cap::kVlanTcpSynAck);
    const ParsedFrame f = parsed(frame);
    EXPECT_TRUE(f.has_vlan);
    EXPECT_EQ(f.vlan_tci, (5 << 13) | 100);  // PCP 5, VID 100
    EXPECT_EQ(f.ethertype, eth::kTypeIpv4);
    EXPECT_EQ(f.l3_offset, 18);
    EXPECT_EQ(f.l4_offset, 38);
    // Same segment as the untagged capture.
    EXPECT_EQ(f.tcp, parsed(bytes_of(cap::kTcpSynAck)).tcp);
    expect_rebuilds(frame);
}

// Every capture verifies with the checksums on, and the parser reports their stored checksums as right:
// the reference checksum over each header agrees.
TEST(Captures, AllParseAndChecksumsAgreeWithReference) {
    for (const auto& c : cap::kAll) {
        SCOPED_TRACE(c.name);
        Bytes f(c.data, c.data + c.len);
        ParsedFrame p;
        ASSERT_EQ(parse(f, p), Drop::None);
        if (p.kind == FrameKind::Arp) continue;
        Bytes g = f;
        fix_csums(g);  // recomputing with the naive reference changes nothing
        EXPECT_EQ(g, f);
    }
}
