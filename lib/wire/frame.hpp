// Frames as values: parse_frame() turns the bytes of one Ethernet frame into a ParsedFrame (or a Drop
// reason), and the builders write frames into a buffer (an mbuf's data area, in the io layer).
//
// What is understood: Ethernet II with at most one 802.1Q tag; ARP (Ethernet/IPv4, request and reply);
// IPv4 without fragments (options skipped); ICMP echo request and reply; TCP with MSS, window scale,
// SACK-permitted, SACK, timestamps. Everything else is a Drop with a reason (drop.hpp).
//
// The TCP state machine consumes and produces TcpSegment and never sees bytes. ParsedFrame points into the
// frame's bytes (TCP payload, ICMP data): it is valid only while the frame is.
#pragma once
#include "core/ipv4addr.hpp"
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
    uint8_t type = 0;  // icmp::kTypeEchoRequest or icmp::kTypeEchoReply
    uint8_t code = 0;
    uint16_t id = 0, seq = 0;
    const uint8_t* data = nullptr;
    uint32_t data_len = 0;
};

enum class FrameKind : uint8_t { Arp, IcmpEcho, Tcp };

struct ParsedFrame {
    Mac dst, src;
    bool has_vlan = false;
    uint16_t vlan_tci = 0;   // PCP, DEI and VID as on the wire; 0 when untagged
    uint16_t ethertype = 0;  // the inner one when tagged
    uint16_t l3_offset = 0;  // start of ARP or IPv4
    uint16_t l4_offset = 0;  // start of ICMP or TCP; 0 for ARP
    FrameKind kind = FrameKind::Arp;
    // IPv4 kinds (IcmpEcho, Tcp).
    Ipv4 ip_src, ip_dst;
    uint16_t ip_total_len = 0;  // the frame's meaningful length is l3_offset + ip_total_len (the rest is padding)
    uint16_t ip_id = 0;
    uint8_t ip_tos = 0;
    uint8_t ttl = 0;
    ArpInfo arp;        // kind Arp
    IcmpEchoInfo icmp;  // kind IcmpEcho
    TcpSegment tcp;     // kind Tcp
};

// What to verify in software. The io layer turns a check off when the NIC reported it good
// (RTE_MBUF_F_RX_IP_CKSUM_GOOD / RTE_MBUF_F_RX_L4_CKSUM_GOOD). verify_l4_checksum covers TCP only:
// ICMP checksums are always verified, since no NIC offload checks them.
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
