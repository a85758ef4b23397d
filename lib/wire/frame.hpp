// Frames as values: parse_frame() turns the bytes of one Ethernet frame into a ParsedFrame (or a Drop
// reason), and the builders write frames into a buffer (an mbuf's data area, in the io layer).
//
// What is understood: Ethernet II with at most one 802.1Q tag; ARP (Ethernet/IPv4, request and reply);
// IPv4 without fragments (options skipped); ICMP echo request and reply; IPv6 without fragments (hop-by-hop,
// destination options and spent routing headers skipped); ICMPv6 echo request and reply, Neighbor
// Solicitation and Advertisement; TCP over either with MSS, window scale, SACK-permitted, SACK, timestamps.
// Everything else is a Drop with a reason (drop.hpp).
//
// The TCP state machine consumes and produces TcpSegment and never sees bytes. ParsedFrame points into the
// frame's bytes (TCP payload, ICMP data): it is valid only while the frame is.
#pragma once
#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"
#include "core/seq.hpp"
#include "wire/checksum.hpp"
#include "wire/drop.hpp"
#include "wire/tcp_options.hpp"
#include "wire/views.hpp"

#include <cstdint>
#include <cstring>

namespace synwave::wire {

struct TcpSegment {
    uint16_t src_port = 0, dst_port = 0;
    Seq seq, ack;
    uint8_t flags = 0;     // tcpflag::*
    uint16_t window = 0;   // as on the wire: not scaled
    uint16_t urgent = 0;
    TcpOptions opt;
    const uint8_t* payload = nullptr;
    uint32_t payload_len = 0;

    // SEG.LEN (RFC 9293 §3.3.1): payload octets plus one for SYN and one for FIN.
    [[nodiscard]] constexpr uint32_t seg_len() const {
        return payload_len + ((flags & tcpflag::SYN) ? 1u : 0u) + ((flags & tcpflag::FIN) ? 1u : 0u);
    }
    // Equal headers, options (as TcpOptions compares them) and payload bytes; the payload pointers may differ.
    friend bool operator==(const TcpSegment& a, const TcpSegment& b) {
        return a.src_port == b.src_port && a.dst_port == b.dst_port && a.seq == b.seq && a.ack == b.ack &&
               a.flags == b.flags && a.window == b.window && a.urgent == b.urgent && a.opt == b.opt &&
               a.payload_len == b.payload_len &&
               (a.payload_len == 0 || a.payload == b.payload ||
                std::memcmp(a.payload, b.payload, a.payload_len) == 0);
    }
};

struct ArpInfo {
    uint16_t op = 0;  // arp::kOpRequest or arp::kOpReply
    Mac sha;          // sender hardware and protocol address
    Ipv4 spa;
    Mac tha;          // target hardware and protocol address
    Ipv4 tpa;
};

struct IcmpEchoInfo {
    uint8_t type = 0;  // icmp::kTypeEchoRequest/Reply, or for ICMPv6 icmp6::kTypeEchoRequest/Reply
    uint8_t code = 0;
    uint16_t id = 0, seq = 0;
    const uint8_t* data = nullptr;
    uint32_t data_len = 0;
};

// A Neighbor Solicitation or Advertisement (RFC 4861 §4.3, §4.4) that passed the §7.1 validity checks.
struct NdInfo {
    Ipv6 target;
    bool has_lladdr = false;  // the NS's Source or the NA's Target Link-Layer Address option was present
    Mac lladdr;
    uint8_t flags = 0;        // NA: icmp6::kNaRouter | kNaSolicited | kNaOverride as on the wire; NS: 0
};

// Tcp is TCP over IPv4 or IPv6 (ip_version tells which).
enum class FrameKind : uint8_t { Arp, IcmpEcho, Tcp, Icmp6Echo, NdSolicit, NdAdvert };

struct ParsedFrame {
    Mac dst, src;
    bool has_vlan = false;
    uint16_t vlan_tci = 0;   // PCP, DEI and VID as on the wire; 0 when untagged
    uint16_t ethertype = 0;  // the inner one when tagged
    uint16_t l3_offset = 0;  // start of ARP, IPv4 or IPv6
    uint16_t l4_offset = 0;  // start of ICMP, ICMPv6 or TCP (after any IPv6 extension headers); 0 for ARP
    FrameKind kind = FrameKind::Arp;
    uint8_t ip_version = 4;  // every kind but Arp: 4 or 6; which of the address pairs below is meaningful
    // IPv4 (ip_version 4).
    Ipv4 ip_src, ip_dst;
    uint16_t ip_total_len = 0;  // the frame's meaningful length is l3_offset + ip_total_len (the rest is padding)
    uint16_t ip_id = 0;
    uint8_t ip_tos = 0;         // IPv4 TOS; for IPv6 the traffic class (the same DSCP and ECN bits)
    uint8_t ttl = 0;
    // IPv6 (ip_version 6): ip_total_len, ip_id and ttl stay 0.
    uint8_t hop_limit = 0;
    uint16_t ip6_payload_len = 0;  // the meaningful length is l3_offset + 40 + ip6_payload_len
    Ipv6 ip6_src, ip6_dst;
    ArpInfo arp;        // kind Arp
    IcmpEchoInfo icmp;  // kinds IcmpEcho, Icmp6Echo
    NdInfo nd;          // kinds NdSolicit, NdAdvert
    TcpSegment tcp;     // kind Tcp

    // Where the IP packet ends (Ethernet padding follows); 0 for ARP.
    [[nodiscard]] constexpr uint32_t ip_end() const {
        if (kind == FrameKind::Arp) return 0;
        return ip_version == 6 ? uint32_t{l3_offset} + 40 + ip6_payload_len : uint32_t{l3_offset} + ip_total_len;
    }
};

// What to verify in software. The io layer turns a check off when the NIC reported it good
// (RTE_MBUF_F_RX_IP_CKSUM_GOOD / RTE_MBUF_F_RX_L4_CKSUM_GOOD). verify_ip_checksum is the IPv4 header's
// (IPv6 has none); verify_l4_checksum covers TCP over IPv4 and IPv6 only: ICMP and ICMPv6 checksums are
// always verified, since no NIC offload checks them.
struct ParseConfig {
    bool verify_ip_checksum = true;
    bool verify_l4_checksum = true;
};

// Parses one frame of `len` bytes. On Drop::None, `out` describes it; on any other value `out` is
// partly written and must not be used. Never reads outside [data, data + len).
[[nodiscard]] Drop parse_frame(const uint8_t* data, uint32_t len, const ParseConfig& cfg, ParsedFrame& out);

// ---- Builders ----------------------------------------------------------------------------------------

struct L2 {
    Mac src, dst;
    bool vlan = false;
    uint16_t vlan_tci = 0;
};

struct L2L3 {
    L2 l2;
    Ipv4 ip_src, ip_dst;
    uint16_t ip_id = 0;
    uint8_t ttl = 64;  // Linux's default (net.ipv4.ip_default_ttl)
    uint8_t tos = 0;   // DSCP and ECN bits
};

// The addresses of a parsed IPv4 frame, in the same direction (to rebuild it).
[[nodiscard]] L2L3 l2l3_of(const ParsedFrame& f);

enum class CsumMode : uint8_t {
    Software,  // both checksums computed here
    // For a NIC with RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | TCP_CKSUM: the IPv4 checksum is left 0 and the TCP
    // checksum holds the folded pseudo-header sum, not inverted (what rte_ipv4_phdr_cksum() returns, and
    // what Linux leaves in a CHECKSUM_PARTIAL skb). The io layer sets the mbuf's ol_flags and l2/l3/l4_len.
    Offload,
};

[[nodiscard]] constexpr uint32_t l2_header_len(const L2& l2) {
    return eth::kHeaderLen + (l2.vlan ? eth::kVlanTagLen : 0);
}
// Where the TCP payload starts in a frame built with these headers and options. A caller that writes the
// payload there itself and passes `seg.payload == buf + tcp_payload_offset(...)` saves the copy.
[[nodiscard]] constexpr uint32_t tcp_payload_offset(const L2L3& h, const TcpOptions& o) {
    return l2_header_len(h.l2) + ipv4::kMinHeader + tcp::kMinHeader + tcp_options_length(o);
}

// The part of a TCP/IPv4 frame that is the same for every segment a worker sends: the Ethernet header (+ tag)
// and the IPv4 header's constant words (version/IHL, TOS, DF, TTL, protocol), with the one's-complement sum of
// those words. A frame built from it costs a copy of the prefix, the patch of the destination MAC, length, ID
// and addresses, and an IPv4 checksum from five words instead of a pass over the header (RFC 1071 §2(C): the
// sum is associative, so the constant part is added once).
struct TcpFrameTemplate {
    uint8_t bytes[eth::kHeaderLen + eth::kVlanTagLen + ipv4::kMinHeader] = {};
    uint8_t l2_len = 0;   // 14, or 18 with a tag; the IPv4 header follows
    uint32_t ip_sum = 0;  // partial sum of the constant IPv4 words (memory representation)
};
// The template for frames with this Ethernet header (its destination is patched per frame), TTL and TOS.
[[nodiscard]] TcpFrameTemplate make_tcp_template(const L2& l2, uint8_t ttl = 64, uint8_t tos = 0);

// Writes Ethernet (+ tag), IPv4 (20 bytes, DF set, no options) and TCP headers, the options (encoded as
// tcp_options.hpp says, SACK blocks cut to what fits) and the payload (copied from seg.payload unless it
// already lies in place; otherwise it must not overlap the frame) into buf. Returns the frame length, or 0
// if it would exceed `cap` or the IPv4 total length would exceed 65535. The frame is not padded to
// Ethernet's 60-byte minimum (the NIC does it).
[[nodiscard]] uint32_t build_tcp_frame(uint8_t* buf, uint32_t cap, const L2L3& h, const TcpSegment& seg,
                                       CsumMode mode);
// The same frame from a template: `dst` is the Ethernet destination, the rest of the L2 header, TTL and TOS
// come from `tpl`.
[[nodiscard]] uint32_t build_tcp_frame(uint8_t* buf, uint32_t cap, const TcpFrameTemplate& tpl, const Mac& dst,
                                       Ipv4 ip_src, Ipv4 ip_dst, uint16_t ip_id, const TcpSegment& seg,
                                       CsumMode mode);

// ---- IPv6 --------------------------------------------------------------------------------------------

// Where the TCP payload starts in a TCP/IPv6 frame with this Ethernet header and these options.
[[nodiscard]] constexpr uint32_t tcp_payload_offset6(const L2& l2, const TcpOptions& o) {
    return l2_header_len(l2) + ipv6::kHeaderLen + tcp::kMinHeader + tcp_options_length(o);
}

// The constant part of a TCP/IPv6 frame: the Ethernet header (+ tag) and the IPv6 header's first word
// (version, traffic class, flow label 0: RFC 6437 §2 allows unlabelled packets), next header TCP and the hop
// limit. IPv6 has no header checksum, so nothing is summed ahead.
struct TcpFrameTemplate6 {
    uint8_t bytes[eth::kHeaderLen + eth::kVlanTagLen + ipv6::kHeaderLen] = {};
    uint8_t l2_len = 0;  // 14, or 18 with a tag; the IPv6 header follows
};
// The template for frames with this Ethernet header (its destination is patched per frame), hop limit and
// traffic class (64: Linux's net.ipv6.conf.*.hop_limit default).
[[nodiscard]] TcpFrameTemplate6 make_tcp_template6(const L2& l2, uint8_t hop_limit = 64, uint8_t tclass = 0);

// build_tcp_frame()'s contract over IPv6: Ethernet (+ tag), the 40-byte IPv6 header (no extension headers),
// TCP header, options and payload (in place or copied). Returns the frame length, or 0 if it would exceed
// `cap` or the IPv6 payload length would exceed 65535. CsumMode::Offload leaves the folded pseudo-header sum
// (not inverted) in the TCP checksum field, as rte_ipv6_phdr_cksum() returns for RTE_MBUF_F_TX_TCP_CKSUM.
[[nodiscard]] uint32_t build_tcp_frame6(uint8_t* buf, uint32_t cap, const TcpFrameTemplate6& tpl, const Mac& dst,
                                        const Ipv6& src, const Ipv6& dst_ip, const TcpSegment& seg,
                                        CsumMode mode);

// A Neighbor Solicitation for `target` (RFC 4861 §4.3, §7.2.2): to the target's solicited-node group and its
// multicast MAC (the Ethernet destination is set here: l2.dst is not used), from l2.src with l2's tag, hop
// limit 255, with a Source Link-Layer Address option = l2.src. With src :: (a DAD probe, RFC 4862 §5.4.2)
// there is no SLLA option (RFC 4861 §4.3 forbids it). 0 if cap is too small.
[[nodiscard]] uint32_t build_ns(uint8_t* buf, uint32_t cap, const L2& l2, const Ipv6& src, const Ipv6& target);
// The solicited Advertisement answering a parsed NS (kind NdSolicit) whose target is ours (RFC 4861 §7.2.4):
// from the target to the NS's IPv6 and Ethernet source, flags Solicited and Override, a Target Link-Layer
// Address option = self_mac, hop limit 255, the NS's VLAN tag. An NS from :: (DAD) is answered to ff02::1
// and 33:33:00:00:00:01 with Solicited clear. 0 if `ns` is not an NS or cap is too small.
[[nodiscard]] uint32_t build_na(uint8_t* buf, uint32_t cap, const ParsedFrame& ns, Mac self_mac);
// An unsolicited Advertisement of `self` (RFC 4861 §7.2.6), as a node announces a new address: to ff02::1 and
// 33:33:00:00:00:01, from l2.src with l2's tag, Override set, Solicited clear, TLLA = l2.src.
[[nodiscard]] uint32_t build_unsolicited_na(uint8_t* buf, uint32_t cap, const L2& l2, const Ipv6& self);

// Turns a parsed ICMPv6 echo request into its echo reply in the same bytes (RFC 4443 §4.2): from the address
// the request was sent to, to its source, hop limit 64, type 129, Ethernet addresses swapped (our MAC as
// source), traffic class and flow label kept (reflected), checksum updated incrementally (RFC 1624: swapping
// the addresses leaves the pseudo-header's sum unchanged, so only the type word changes). Extension headers
// of the request are removed (the ICMPv6 message moves up behind the IPv6 header; its checksum does not
// cover them): a reply owes nothing to the request's options, and a routing header must not be reversed
// without authentication (RFC 8200 §4.4). Returns the reply's frame length (padding dropped), 0 if `request`
// is not an ICMPv6 echo request, or was sent to a multicast address (RFC 4443 §4.2 allows a reply from a
// unicast address of ours, which the engine would have to choose: it does not answer those) or to one no
// reply may come from (::, ::1, IPv4-mapped: ipv6_martian_src()).
[[nodiscard]] uint32_t icmp6_echo_reply_in_place(uint8_t* frame, const ParsedFrame& request, Mac self_mac);

// An ARP frame (RFC 826) with the given Ethernet header and ARP fields; 0 if cap is too small.
[[nodiscard]] uint32_t build_arp_frame(uint8_t* buf, uint32_t cap, const L2& l2, const ArpInfo& arp);
// A broadcast who-has for `target` from (self_mac, self_ip).
[[nodiscard]] uint32_t build_arp_request(uint8_t* buf, uint32_t cap, Mac self_mac, Ipv4 self_ip, Ipv4 target,
                                         bool vlan = false, uint16_t vlan_tci = 0);
// The is-at answer to a parsed request (kind Arp, op request) whose target address is ours: sent to the
// requester, with the request's VLAN tag. 0 if `request` is not an ARP request or cap is too small.
[[nodiscard]] uint32_t build_arp_reply(uint8_t* buf, uint32_t cap, const ParsedFrame& request, Mac self_mac);

// Turns a parsed echo request into its echo reply in the same bytes (RFC 792; as Linux's icmp_reply):
// Ethernet and IPv4 addresses swapped (our MAC as source), TTL reset to 64, type 0; both checksums updated
// incrementally (RFC 1624). Returns the reply's frame length (Ethernet padding dropped), 0 if `request`
// is not an echo request. `frame` must be the bytes `request` was parsed from.
[[nodiscard]] uint32_t icmp_echo_reply_in_place(uint8_t* frame, const ParsedFrame& request, Mac self_mac);

}  // namespace synwave::wire
