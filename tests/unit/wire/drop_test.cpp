// Every Drop reason, produced by a frame made from a real capture with one thing wrong (checksums fixed
// afterwards unless the checksum is the thing), and the frames that look odd but must pass.
#include "wire_test_util.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <string_view>

using namespace synwave;
using namespace synwave::wire;
using namespace synwave::wire::testutil;
namespace cap = synwave::wire::captures;

namespace {

struct DropCase {
    std::string name;
    Drop expect;
    std::function<Bytes()> make;
};

Bytes tcp_ack() { return bytes_of(cap::kTcpAck); }  // 66 bytes: 14 eth, 20 ip, 32 tcp (NOP NOP TS)
Bytes tcp_syn() { return bytes_of(cap::kTcpSyn); }  // options at 54..73
Bytes ping() { return bytes_of(cap::kIcmpEchoRequest); }

// Replaces the TCP options of the SYN (20 bytes at offset 54) with `opts`, padded with EOL to 20 bytes.
Bytes syn_with_options(std::initializer_list<uint8_t> opts) {
    Bytes f = tcp_syn();
    std::fill(f.begin() + 54, f.end(), 0);
    std::copy(opts.begin(), opts.end(), f.begin() + 54);
    fix_csums(f);
    return f;
}

Bytes tcp_with_flags(uint8_t flags) {
    Bytes f = tcp_ack();
    f[34 + tcp::kOffFlags] = flags;
    fix_csums(f);
    return f;
}

// The handshake ACK with its IPv4 header edited (and its header checksum fixed, unless told not to).
Bytes with_ip(const std::function<void(uint8_t* ip)>& edit, bool fix = true) {
    Bytes f = tcp_ack();
    edit(&f[14]);
    if (fix) fix_ip_csum(f);
    return f;
}

// ---- IPv6 ----
Bytes tcp6() { return bytes_of(cap::kTcp6Data); }  // 119 bytes: 14 eth, 40 ipv6, 32 tcp, 33 payload
Bytes echo6() { return bytes_of(cap::kEcho6Request); }

// The frame with its IPv6 header edited (the TCP/ICMPv6 checksum fixed, unless told not to).
Bytes with_ip6(Bytes f, const std::function<void(uint8_t* ip)>& edit, bool fix = true) {
    edit(&f[l3_of(f)]);
    if (fix) fix_csum6(f);
    return f;
}
void set_ip6(uint8_t* p, const char* text) { store_ipv6(p, *Ipv6::parse(text)); }

// `n` destination options headers of 8 bytes (PadN), chained, between the IPv6 header and TCP.
Bytes dest_opts_chain(int n) {
    Bytes f = tcp6(), ext;
    for (int i = 0; i < n; ++i) ext.insert(ext.end(), {ipv6::kNextDestOpts, 0, 1, 4, 0, 0, 0, 0});
    insert_ext6(f, ipv6::kNextDestOpts, ext, ext.size() - 8);
    fix_csum6(f);
    return f;
}
Bytes with_ext(Bytes f, uint8_t first, const Bytes& ext, size_t last_off) {
    insert_ext6(f, first, ext, last_off);
    fix_csum6(f);
    return f;
}
// The ICMPv6 message of an NS or NA edited (checksum fixed).
Bytes nd_edit(Bytes f, const std::function<void(uint8_t* ip, uint8_t* m)>& edit) {
    edit(&f[14], &f[54]);
    fix_csum6(f);
    return f;
}
// The NS with its ICMPv6 message cut or grown to `len` bytes (payload length follows).
Bytes ns_of_len(uint16_t len) {
    Bytes f = bytes_of(cap::kNs6);
    resize_to(f, 54 + len);
    store_be16(&f[14 + 4], len);
    fix_csum6(f);
    return f;
}

Bytes vlan_in_vlan() {
    Bytes f = bytes_of(cap::kVlanTcpSynAck);
    const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x07};  // a second C-tag behind the first
    f.insert(f.begin() + 16, tag, tag + 4);
    return f;
}

const DropCase kCases[] = {
    {"EthTooShort_13Bytes", Drop::EthTooShort, [] { Bytes f = tcp_ack(); f.resize(13); return f; }},
    {"EthTooShort_TagCutOff", Drop::EthTooShort,
     [] { Bytes f = bytes_of(cap::kVlanTcpSynAck); f.resize(17); return f; }},
    {"VlanNested_QinQ8100", Drop::VlanNested, vlan_in_vlan},
    {"VlanNested_ServiceTag88a8", Drop::VlanNested,
     [] { Bytes f = bytes_of(cap::kVlanTcpSynAck); f[12] = 0x88; f[13] = 0xA8; return f; }},
    {"VlanNested_LegacyServiceTag9100", Drop::VlanNested,
     [] { Bytes f = bytes_of(cap::kVlanTcpSynAck); f[12] = 0x91; f[13] = 0x00; return f; }},
    {"VlanNested_ServiceTagInsideCTag", Drop::VlanNested,
     [] { Bytes f = bytes_of(cap::kVlanTcpSynAck); f[16] = 0x88; f[17] = 0xA8; return f; }},
    {"EthTooShort_Ipv6TagCutOff", Drop::EthTooShort,
     [] { Bytes f = bytes_of(cap::kVlanNs6); f.resize(17); return f; }},
    {"UnsupportedEthertype_Lldp", Drop::UnsupportedEthertype,
     [] { Bytes f = tcp_ack(); f[12] = 0x88; f[13] = 0xCC; return f; }},
    {"UnsupportedEthertype_TaggedLldp", Drop::UnsupportedEthertype,
     [] { Bytes f = bytes_of(cap::kVlanArpRequest); f[16] = 0x88; f[17] = 0xCC; return f; }},
    {"ArpMalformed_Truncated", Drop::ArpMalformed,
     [] { Bytes f = bytes_of(cap::kArpRequest); f.resize(41); return f; }},
    {"ArpMalformed_NotEthernet", Drop::ArpMalformed,
     [] { Bytes f = bytes_of(cap::kArpRequest); f[15] = 6; return f; }},  // htype 6 (IEEE 802)
    {"ArpMalformed_HlenNot6", Drop::ArpMalformed,
     [] { Bytes f = bytes_of(cap::kArpRequest); f[18] = 8; return f; }},
    {"ArpUnsupportedOp_Rarp", Drop::ArpUnsupportedOp,
     [] { Bytes f = bytes_of(cap::kArpRequest); f[21] = 3; return f; }},
    {"Ipv4TooShort_19Bytes", Drop::Ipv4TooShort, [] { Bytes f = tcp_ack(); f.resize(14 + 19); return f; }},
    {"Ipv4BadVersion_6", Drop::Ipv4BadVersion, [] { return with_ip([](uint8_t* ip) { ip[0] = 0x65; }); }},
    {"Ipv4BadIhl_4", Drop::Ipv4BadIhl, [] { return with_ip([](uint8_t* ip) { ip[0] = 0x44; }, false); }},
    {"Ipv4BadIhl_LongerThanPacket", Drop::Ipv4BadIhl,
     [] { return with_ip([](uint8_t* ip) { ip[0] = 0x4F; store_be16(ip + 2, 40); }, false); }},
    {"Ipv4BadTotalLength_PastFrame", Drop::Ipv4BadTotalLength,
     [] { return with_ip([](uint8_t* ip) { store_be16(ip + 2, 53); }); }},  // 52 bytes present
    {"Ipv4BadTotalLength_Below20", Drop::Ipv4BadTotalLength,
     [] { return with_ip([](uint8_t* ip) { store_be16(ip + 2, 19); }); }},
    {"Ipv4BadChecksum_TtlChanged", Drop::Ipv4BadChecksum,
     [] { return with_ip([](uint8_t* ip) { ip[8] = 63; }, false); }},
    {"Ipv4Fragment_MoreFragments", Drop::Ipv4Fragment,
     [] { return with_ip([](uint8_t* ip) { store_be16(ip + 6, ipv4::kFlagMf); }); }},
    {"Ipv4Fragment_NonZeroOffset", Drop::Ipv4Fragment,
     [] { return with_ip([](uint8_t* ip) { store_be16(ip + 6, ipv4::kFlagDf | 185); }); }},
    {"Ipv4UnsupportedProto_Udp", Drop::Ipv4UnsupportedProto,
     [] { return with_ip([](uint8_t* ip) { ip[9] = 17; }); }},
    {"Ipv4MartianSrc_ThisNetwork", Drop::Ipv4MartianSrc,
     [] { Bytes f = tcp_ack(); store_be32(&f[14 + 12], 0x00010203); fix_csums(f); return f; }},  // 0.1.2.3
    {"Ipv6TooShort_39Bytes", Drop::Ipv6TooShort, [] { Bytes f = tcp6(); f.resize(14 + 39); return f; }},
    {"Ipv6BadVersion_4", Drop::Ipv6BadVersion, [] { return with_ip6(tcp6(), [](uint8_t* ip) { ip[0] = 0x40; }); }},
    {"Ipv6BadVersion_Ipv4HeaderUnderIpv6Type", Drop::Ipv6BadVersion,
     [] { Bytes f = tcp_ack(); f[12] = 0x86; f[13] = 0xDD; resize_to(f, 80); return f; }},
    {"Ipv6BadPayloadLength_PastFrame", Drop::Ipv6BadPayloadLength,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { store_be16(ip + 4, 66); }, false); }},  // 65 present
    {"Ipv6ExtTruncated_ChainCutShort", Drop::Ipv6ExtTruncated,  // a destination options header, 4 of its 8 bytes
     [] { Bytes f = tcp6(); f.resize(54 + 4); f[14 + 6] = 60; store_be16(&f[14 + 4], 4); return f; }},
    {"Ipv6ExtTruncated_LengthPastPayload", Drop::Ipv6ExtTruncated,
     [] { return with_ext(tcp6(), 60, {0, 9, 1, 4, 0, 0, 0, 0}, 0); }},  // says 80 bytes
    {"Ipv6ExtTruncated_OptionPastHeader", Drop::Ipv6ExtTruncated,
     [] { return with_ext(tcp6(), 60, {0, 0, 1, 5, 0, 0, 0, 0}, 0); }},  // PadN of 7 bytes in 6
    {"Ipv6OptionUnrecognized_JumboPayload", Drop::Ipv6OptionUnrecognized,
     [] { return with_ext(tcp6(), 0, {0, 0, 0xC2, 4, 0, 1, 0, 0}, 0); }},
    {"Ipv6OptionUnrecognized_DiscardTypeAfterPadding", Drop::Ipv6OptionUnrecognized,  // Pad1, then type 01xxxxxx
     [] { return with_ext(tcp6(), 60, {0, 0, 0, 0x4F, 2, 0, 0, 0}, 0); }},
    {"Ipv6ExtTooMany_NineDestOpts", Drop::Ipv6ExtTooMany, [] { return dest_opts_chain(9); }},
    {"Ipv6ExtMisplaced_HopByHopSecond", Drop::Ipv6ExtMisplaced,
     [] { return with_ext(tcp6(), 60, {0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0}, 8); }},
    {"Ipv6ExtMisplaced_HopByHopAfterRouting", Drop::Ipv6ExtMisplaced,
     [] { return with_ext(tcp6(), 43, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0}, 8); }},
    {"Ipv6RoutingSegmentsLeft_One", Drop::Ipv6RoutingSegmentsLeft,  // type 0, one address still to visit
     [] { Bytes r(24, 0); r[1] = 2; r[3] = 1; r[8] = 0x20; return with_ext(tcp6(), 43, r, 0); }},
    {"Ipv6Fragment_First", Drop::Ipv6Fragment,
     [] { return with_ext(tcp6(), 44, {0, 0, 0x00, 0x01, 0, 0, 0x12, 0x34}, 0); }},  // offset 0, M set
    {"Ipv6Fragment_Last", Drop::Ipv6Fragment,
     [] { return with_ext(tcp6(), 44, {0, 0, 0x05, 0xC8, 0, 0, 0x12, 0x34}, 0); }},  // offset 185, M clear
    {"Ipv6UnsupportedNext_Udp", Drop::Ipv6UnsupportedNext,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { ip[6] = 17; }); }},
    {"Ipv6UnsupportedNext_NoNextHeader", Drop::Ipv6UnsupportedNext,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { ip[6] = ipv6::kNextNone; }); }},
    {"Ipv6UnsupportedNext_UdpAfterDestOpts", Drop::Ipv6UnsupportedNext,
     [] { Bytes f = tcp6(); insert_ext6(f, 60, {17, 0, 1, 4, 0, 0, 0, 0}, 0, false); return f; }},
    {"Ipv6MartianSrc_TcpFromMulticast", Drop::Ipv6MartianSrc,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { set_ip6(ip + 8, "ff02::1"); }); }},
    {"Ipv6MartianSrc_TcpFromUnspecified", Drop::Ipv6MartianSrc,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { set_ip6(ip + 8, "::"); }); }},
    {"Ipv6MartianSrc_TcpFromV4Mapped", Drop::Ipv6MartianSrc,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { set_ip6(ip + 8, "::ffff:192.0.2.1"); }); }},
    {"Ipv6MartianSrc_EchoFromLoopback", Drop::Ipv6MartianSrc,
     [] { return with_ip6(echo6(), [](uint8_t* ip) { set_ip6(ip + 8, "::1"); }); }},
    {"Ipv6MartianSrc_NaFromUnspecified", Drop::Ipv6MartianSrc,
     [] { return nd_edit(bytes_of(cap::kNa6), [](uint8_t* ip, uint8_t*) { set_ip6(ip + 8, "::"); }); }},
    {"Ipv6MartianSrc_NsFromMulticast", Drop::Ipv6MartianSrc,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t* ip, uint8_t*) { set_ip6(ip + 8, "ff02::2"); }); }},
    {"IcmpMalformed_7Bytes", Drop::IcmpMalformed,
     [] { Bytes f = ping(); store_be16(&f[16], 27); fix_ip_csum(f); f.resize(14 + 27); return f; }},
    {"IcmpBadChecksum_DataChanged", Drop::IcmpBadChecksum, [] { Bytes f = ping(); f[60] ^= 0x40; return f; }},
    {"IcmpUnsupportedType_DestUnreachable", Drop::IcmpUnsupportedType,
     [] { Bytes f = ping(); f[34] = 3; f[35] = 3; fix_csums(f); return f; }},
    {"IcmpUnsupportedType_Timestamp", Drop::IcmpUnsupportedType,
     [] { Bytes f = ping(); f[34] = 13; fix_csums(f); return f; }},
    {"Icmp6Malformed_3Bytes", Drop::Icmp6Malformed,
     [] { Bytes f = echo6(); f.resize(54 + 3); store_be16(&f[14 + 4], 3); return f; }},
    {"Icmp6Malformed_Echo7Bytes", Drop::Icmp6Malformed,
     [] { Bytes f = echo6(); f.resize(54 + 7); store_be16(&f[14 + 4], 7); fix_csum6(f); return f; }},
    {"Icmp6BadChecksum_DataChanged", Drop::Icmp6BadChecksum, [] { Bytes f = echo6(); f[80] ^= 0x40; return f; }},
    {"Icmp6BadChecksum_PseudoHeaderAddress", Drop::Icmp6BadChecksum,
     [] { return with_ip6(echo6(), [](uint8_t* ip) { ip[39] ^= 1; }, false); }},
    {"Icmp6BadChecksum_ChecksumZero", Drop::Icmp6BadChecksum,  // RFC 4443 has no "no checksum" (UDP/IPv4 has)
     [] { Bytes f = echo6(); store_be16(&f[56], 0); return f; }},
    {"Icmp6UnsupportedType_RouterSolicitation", Drop::Icmp6UnsupportedType, [] { return bytes_of(cap::kRs6); }},
    {"Icmp6UnsupportedType_PacketTooBig", Drop::Icmp6UnsupportedType,
     [] { Bytes f = echo6(); f[54] = 2; fix_csum6(f); return f; }},
    {"NdMalformed_HopLimit254", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t* ip, uint8_t*) { ip[7] = 254; }); }},
    {"NdMalformed_NaHopLimit64", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNa6), [](uint8_t* ip, uint8_t*) { ip[7] = 64; }); }},
    {"NdMalformed_Code1", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t*, uint8_t* m) { m[1] = 1; }); }},
    {"NdMalformed_Shorter24", Drop::NdMalformed, [] { return ns_of_len(20); }},
    {"NdMalformed_MulticastTarget", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t*, uint8_t* m) { set_ip6(m + 8, "ff02::1"); }); }},
    {"NdMalformed_NaMulticastTarget", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNa6), [](uint8_t*, uint8_t* m) { set_ip6(m + 8, "ff05::2"); }); }},
    {"NdMalformed_OptionLengthZero", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t*, uint8_t* m) { m[25] = 0; }); }},
    {"NdMalformed_OptionPastEnd", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t*, uint8_t* m) { m[25] = 2; }); }},
    {"NdMalformed_OptionHalf", Drop::NdMalformed, [] { Bytes f = ns_of_len(33); return f; }},  // 1 byte after SLLA
    {"NdMalformed_SllaNotEthernetLength", Drop::NdMalformed,
     [] { Bytes f = ns_of_len(40); f[54 + 25] = 2; fix_csum6(f); return f; }},
    {"NdMalformed_DadProbeWithSlla", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6), [](uint8_t* ip, uint8_t*) { set_ip6(ip + 8, "::"); }); }},
    {"NdMalformed_DadProbeToUnicast", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNs6Dad), [](uint8_t* ip, uint8_t*) { set_ip6(ip + 24, "2001:db8::2"); }); }},
    {"NdMalformed_SolicitedNaToMulticast", Drop::NdMalformed,
     [] { return nd_edit(bytes_of(cap::kNa6), [](uint8_t* ip, uint8_t*) { set_ip6(ip + 24, "ff02::1"); }); }},
    {"TcpTooShort_19Bytes", Drop::TcpTooShort,
     [] { Bytes f = tcp_ack(); store_be16(&f[16], 20 + 19); fix_ip_csum(f); return f; }},
    {"TcpBadDataOffset_4", Drop::TcpBadDataOffset,
     [] { Bytes f = tcp_ack(); f[34 + 12] = 0x40; fix_csums(f); return f; }},
    {"TcpBadDataOffset_PastSegment", Drop::TcpBadDataOffset,
     [] { Bytes f = tcp_ack(); f[34 + 12] = 0x90; fix_csums(f); return f; }},  // 36 > 32 bytes
    {"TcpBadChecksum_PayloadChanged", Drop::TcpBadChecksum,
     [] { Bytes f = bytes_of(cap::kTcpData); f[70] ^= 0x01; return f; }},
    {"TcpBadChecksum_Ipv6PayloadChanged", Drop::TcpBadChecksum, [] { Bytes f = tcp6(); f[90] ^= 0x01; return f; }},
    {"TcpBadChecksum_Ipv6PseudoHeaderAddress", Drop::TcpBadChecksum,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { ip[20] ^= 0x10; }, false); }},
    {"TcpTooShort_Ipv6_19Bytes", Drop::TcpTooShort,
     [] { return with_ip6(tcp6(), [](uint8_t* ip) { store_be16(ip + 4, 19); }, false); }},
    {"TcpBadFlags_Ipv6SynFin", Drop::TcpBadFlags, [] { Bytes f = tcp6(); f[54 + 13] = 0x03; fix_csum6(f); return f; }},
    {"TcpBadChecksum_PseudoHeaderAddress", Drop::TcpBadChecksum,
     [] { Bytes f = tcp_ack(); f[14 + 15] ^= 0x01; fix_ip_csum(f); return f; }},  // source address
    {"TcpBadFlags_None", Drop::TcpBadFlags, [] { return tcp_with_flags(0); }},
    {"TcpBadFlags_FinOnly", Drop::TcpBadFlags, [] { return tcp_with_flags(tcpflag::FIN); }},
    {"TcpBadFlags_Xmas", Drop::TcpBadFlags,
     [] { return tcp_with_flags(tcpflag::FIN | tcpflag::PSH | tcpflag::URG); }},
    {"TcpBadFlags_SynFin", Drop::TcpBadFlags, [] { return tcp_with_flags(tcpflag::SYN | tcpflag::FIN); }},
    {"TcpBadFlags_SynRst", Drop::TcpBadFlags, [] { return tcp_with_flags(tcpflag::SYN | tcpflag::RST); }},
    {"TcpBadFlags_SynFinAck", Drop::TcpBadFlags,
     [] { return tcp_with_flags(tcpflag::SYN | tcpflag::FIN | tcpflag::ACK); }},
    {"TcpBadOptionLength_Zero", Drop::TcpBadOptionLength, [] { return syn_with_options({30, 0}); }},
    {"TcpBadOptionLength_One", Drop::TcpBadOptionLength, [] { return syn_with_options({1, 1, 30, 1}); }},
    {"TcpBadOptionLength_PastHeader", Drop::TcpBadOptionLength,
     [] { return syn_with_options({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 4}); }},
    {"TcpBadOptionLength_KindWithoutLength", Drop::TcpBadOptionLength,
     [] { return syn_with_options({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}); }},
    {"TcpBadOptionLength_Mss3", Drop::TcpBadOptionLength, [] { return syn_with_options({2, 3, 5, 0}); }},
    {"TcpBadOptionLength_Wscale4", Drop::TcpBadOptionLength, [] { return syn_with_options({3, 4, 7, 0}); }},
    {"TcpBadOptionLength_SackPermitted3", Drop::TcpBadOptionLength,
     [] { return syn_with_options({4, 3, 0, 0}); }},
    {"TcpBadOptionLength_Timestamp8", Drop::TcpBadOptionLength,
     [] { return syn_with_options({8, 8, 0, 0, 0, 1, 0, 0}); }},
    {"TcpBadOptionLength_SackNoBlock", Drop::TcpBadOptionLength, [] { return syn_with_options({5, 2}); }},
    {"TcpBadOptionLength_SackPartialBlock", Drop::TcpBadOptionLength,
     [] { return syn_with_options({5, 9, 0, 0, 0, 1, 0, 0, 0}); }},
};

class DropReasons : public ::testing::TestWithParam<DropCase> {};

TEST_P(DropReasons, Produces) {
    const DropCase& c = GetParam();
    const Bytes f = c.make();
    ParsedFrame out;
    const Drop d = parse(f, out);
    EXPECT_EQ(d, c.expect) << "got " << drop_name(d) << ", want " << drop_name(c.expect);
}

INSTANTIATE_TEST_SUITE_P(Parse, DropReasons, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

}  // namespace

TEST(DropReasons, EveryReasonHasACase) {
    std::set<Drop> seen;
    for (const auto& c : kCases) seen.insert(c.expect);
    for (size_t i = 1; i < kDropCount; ++i) {
        EXPECT_TRUE(seen.count(static_cast<Drop>(i))) << drop_name(static_cast<Drop>(i)) << " has no case";
    }
}

TEST(DropReasons, NamesAreDistinctSnakeCase) {
    std::set<std::string> names;
    EXPECT_EQ(std::string_view(drop_name(Drop::None)), "accepted");
    for (size_t i = 0; i < kDropCount; ++i) {
        const std::string n = drop_name(static_cast<Drop>(i));
        EXPECT_TRUE(names.insert(n).second) << n;
        for (char ch : n) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_') << n;
        EXPECT_GT(std::string_view(drop_help(static_cast<Drop>(i))).size(), 10u);
    }
    EXPECT_EQ(std::string_view(drop_name(Drop::TcpBadChecksum)), "tcp_bad_checksum");
    EXPECT_EQ(std::string_view(drop_name(static_cast<Drop>(kDropCount))), "unknown");
    static_assert(kDropCount == static_cast<size_t>(Drop::TcpBadOptionLength) + 1);
}

// ---- Odd but valid ------------------------------------------------------------------------------

TEST(TcpFlags, AcceptedCombinations) {
    using namespace tcpflag;
    for (uint8_t f : {SYN, uint8_t(SYN | ACK), uint8_t(SYN | ECE | CWR), uint8_t(SYN | ACK | ECE), ACK, RST,
                      uint8_t(RST | ACK), uint8_t(FIN | ACK), uint8_t(FIN | PSH | ACK), uint8_t(RST | FIN),
                      uint8_t(ACK | URG), uint8_t(SYN | PSH)}) {
        SCOPED_TRACE(int(f));
        ParsedFrame out;
        ASSERT_EQ(parse(tcp_with_flags(f), out), Drop::None);
        EXPECT_EQ(out.tcp.flags, f);
    }
}

TEST(TcpFlags, RejectedExactlyWhenNoSynAckRstOrSynWithFinOrRst) {
    for (int f = 0; f < 256; ++f) {
        const bool bad = (f & 0x16) == 0 || ((f & 0x02) && (f & 0x05));
        EXPECT_EQ(tcp_flags_valid(static_cast<uint8_t>(f)), !bad) << f;
    }
}

TEST(TcpOptionsParse, UnknownOptionsSkippedByLength) {
    // MPTCP-ish kind 30 (len 4), then the experimental kind 254 (len 6), then MSS.
    ParsedFrame out;
    ASSERT_EQ(parse(syn_with_options({30, 4, 0, 0, 254, 6, 0xF9, 0x89, 0, 0, 2, 4, 0x05, 0xB4}), out), Drop::None);
    EXPECT_TRUE(out.tcp.opt.has_mss);
    EXPECT_EQ(out.tcp.opt.mss, 1460);
    EXPECT_FALSE(out.tcp.opt.has_ts);
}

TEST(TcpOptionsParse, EolEndsTheList) {
    ParsedFrame out;
    // MSS, EOL, then garbage that would be a bad length if read.
    ASSERT_EQ(parse(syn_with_options({2, 4, 0x05, 0xB4, 0, 30, 0, 0xFF}), out), Drop::None);
    EXPECT_EQ(out.tcp.opt.mss, 1460);
}

TEST(TcpOptionsParse, UnalignedTimestampWithoutNops) {
    // The layout a non-Linux stack may send: MSS, WS, SACK-perm, TS packed without padding.
    ParsedFrame out;
    ASSERT_EQ(parse(syn_with_options({2, 4, 0x02, 0x18, 3, 3, 14, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9}), out),
              Drop::None);
    const TcpOptions& o = out.tcp.opt;
    EXPECT_EQ(o.mss, 536);
    EXPECT_EQ(o.wscale, 14);
    EXPECT_TRUE(o.sack_permitted);
    EXPECT_EQ(o.tsval, 7u);
    EXPECT_EQ(o.tsecr, 9u);
}

TEST(TcpOptionsParse, WindowScaleAbove14KeptAsReceived) {
    ParsedFrame out;
    ASSERT_EQ(parse(syn_with_options({1, 3, 3, 15}), out), Drop::None);
    EXPECT_EQ(out.tcp.opt.wscale, 15);  // the TCP layer clamps (RFC 7323 §2.3)
}

TEST(TcpOptionsParse, FourSackBlocks) {
    Bytes f = bytes_of(cap::kTcpAck);
    // Replace NOP,NOP,TS (12 bytes) by NOP,NOP,SACK with 4 blocks (36 bytes): data offset 14 words.
    const uint8_t opts[36] = {1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
                              0, 0, 0, 5, 0, 0, 0, 6, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 8};
    f.resize(54);
    f.insert(f.end(), opts, opts + 36);
    f[34 + 12] = 14 << 4;
    store_be16(&f[16], 20 + 56);
    fix_csums(f);
    ParsedFrame out;
    ASSERT_EQ(parse(f, out), Drop::None);
    ASSERT_EQ(out.tcp.opt.num_sack, 4);
    EXPECT_EQ(out.tcp.opt.sack[3].left, Seq(0xFFFFFFFFu));
    EXPECT_EQ(out.tcp.opt.sack[3].right, Seq(8));
    EXPECT_FALSE(out.tcp.opt.has_ts);
}

TEST(Ipv4Parse, OptionsSkippedViaIhl) {
    // The data capture with a 4-byte IPv4 option (NOP x3, EOL) inserted: IHL 6.
    Bytes f = bytes_of(cap::kTcpData);
    const uint8_t opt[4] = {1, 1, 1, 0};
    f.insert(f.begin() + 34, opt, opt + 4);
    f[14] = 0x46;
    store_be16(&f[16], static_cast<uint16_t>(load_be16(&f[16]) + 4));
    fix_ip_csum(f);  // the TCP checksum does not cover IP options
    ParsedFrame out;
    ASSERT_EQ(parse(f, out), Drop::None);
    EXPECT_EQ(out.l4_offset, 38);
    EXPECT_EQ(out.tcp.payload_len, 33u);
    EXPECT_EQ(out.tcp.payload[0], 'G');
}

TEST(Ipv4Parse, EthernetPaddingIgnored) {
    // A 60-byte minimum frame: the 54-byte segment plus 6 bytes of padding (non-zero on purpose).
    Bytes f = bytes_of(cap::kTcpAck);
    f.resize(54);  // a bare 20-byte TCP header: no options
    f[34 + 12] = 5 << 4;
    store_be16(&f[16], 40);
    fix_csums(f);
    f.insert(f.end(), {0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA});
    ParsedFrame out;
    ASSERT_EQ(parse(tcp_syn(), out), Drop::None);  // `out` reused: the SYN's options must not survive
    ASSERT_EQ(parse(f, out), Drop::None);
    EXPECT_EQ(out.ip_total_len, 40);
    EXPECT_EQ(out.tcp.payload_len, 0u);
    EXPECT_EQ(out.tcp.opt, TcpOptions{});  // no has_*, no SACK blocks
}

TEST(Ipv4Parse, DontFragmentAndReservedBitAccepted) {
    ParsedFrame out;
    EXPECT_EQ(parse(with_ip([](uint8_t* ip) { store_be16(ip + 6, 0xC000); }), out), Drop::None);
}

TEST(ParseConfig, ChecksumChecksCanBeLeftToTheNic) {
    Bytes bad_ip = with_ip([](uint8_t* ip) { ip[8] = 63; }, false);
    Bytes bad_tcp = bytes_of(cap::kTcpData);
    bad_tcp[70] ^= 1;
    ParsedFrame out;
    EXPECT_EQ(parse(bad_ip, out, {.verify_ip_checksum = false, .verify_l4_checksum = true}), Drop::None);
    EXPECT_EQ(parse(bad_tcp, out, {.verify_ip_checksum = true, .verify_l4_checksum = false}), Drop::None);
    EXPECT_EQ(out.tcp.payload_len, 33u);
    // ICMP is verified whatever the config says: no NIC checks it.
    Bytes bad_icmp = ping();
    bad_icmp[60] ^= 1;
    EXPECT_EQ(parse(bad_icmp, out, {.verify_ip_checksum = false, .verify_l4_checksum = false}),
              Drop::IcmpBadChecksum);
}
