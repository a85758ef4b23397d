// The worker's control plane: ARP (RFC 826), Neighbor Discovery (RFC 4861), ICMP and ICMPv6 echo (RFC 792,
// RFC 4443 §4), the neighbour caches and the frames held while a next hop is resolved.
#include <cstring>

#include <rte_mbuf.h>

#include "engine/worker.hpp"
#include "io/mbuf.hpp"

namespace synwave::engine {

namespace {
constexpr uint32_t kMinFrame = 60;     // Ethernet's minimum without the FCS
constexpr uint32_t kCtlFrameCap = 128;  // the longest control frame we build: an NS or NA with a tag, 90 bytes
constexpr uint64_t kAskIntervalMs = 100;
}  // namespace

// An answer built from a request carries the request's 802.1Q tag; ours has our priority (the VLAN ID is the
// same: other VLANs never get this far).
void Worker::retag(uint8_t* frame) const {
    if (cfg_.vlan) store_be16(frame + wire::eth::kOffTci, vlan_tci_);
}

// Hands a frame of `len` bytes (padded to Ethernet's minimum) to the TX batch; frees it if building failed.
bool Worker::push_frame(rte_mbuf* m, uint32_t len) {
    if (len == 0) {
        ++c_.tx_build_failed;
        rte_pktmbuf_free(m);
        return false;
    }
    if (len < kMinFrame) {
        // Pad with zeros, never with what the buffer held before (CVE-2003-0001).
        std::memset(rte_pktmbuf_mtod(m, uint8_t*) + len, 0, kMinFrame - len);
        len = kMinFrame;
    }
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    send(m);
    return true;
}

void Worker::hold(rte_mbuf* m, const Ipv6& hop) {
    if (nheld_ == kHoldSlots) {
        ++c_.tx_no_arp;
        rte_pktmbuf_free(m);
        return;
    }
    held_[nheld_++] = Held{m, hop, now_.cycles};
    ++c_.arp_held;
}

void Worker::release_held(const Ipv6& hop, const Mac& mac) {
    for (uint32_t i = 0; i < nheld_;) {
        if (!(held_[i].hop == hop)) {
            ++i;
            continue;
        }
        rte_mbuf* m = held_[i].m;
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), mac.b.data(), mac.b.size());  // Ethernet destination
        held_[i] = held_[--nheld_];
        ++c_.arp_released;
        send(m);
    }
}

void Worker::expire_held() {
    const uint64_t limit = rate_.sec(1).cycles;
    for (uint32_t i = 0; i < nheld_;) {
        if (now_.cycles - held_[i].since < limit) {
            ++i;
            continue;
        }
        rte_pktmbuf_free(held_[i].m);
        held_[i] = held_[--nheld_];
        ++c_.tx_no_arp;
    }
}

bool Worker::resolve4(Ipv4 ip, Mac& out) {
    bool ask = false;
    if (arp_.resolve(ip, now_.cycles, rate_.ms(kAskIntervalMs).cycles, out, ask)) return true;
    if (ask && send_arp_request(ip)) ++c_.arp_requests_tx;
    return false;
}

bool Worker::resolve6(const Ipv6& ip, Mac& out) {
    bool ask = false;
    if (nd_.resolve(ip, now_.cycles, rate_.ms(kAskIntervalMs).cycles, out, ask)) return true;
    if (ask && send_ns(ip)) ++c_.nd_solicits_tx;
    return false;
}

bool Worker::send_arp_request(Ipv4 ip) {
    rte_mbuf* m = io::alloc_frame(cfg_.pool, kMinFrame, c_.tx_no_mbuf);
    if (!m) return false;
    const Ipv4 self = n4_ != 0 ? cfg_.ip_lo : Ipv4{};  // RFC 5227 §1.1 probe form when we have no IPv4 address
    return push_frame(m, wire::build_arp_request(rte_pktmbuf_mtod(m, uint8_t*), kMinFrame, cfg_.mac, self, ip,
                                                 cfg_.vlan, vlan_tci_));
}

// RFC 4861 §7.2.2: to the target's solicited-node group, from one of our addresses (the first), with our MAC
// in the Source Link-Layer Address option so the target can answer without soliciting us in turn.
bool Worker::send_ns(const Ipv6& target) {
    if (cfg_.ip6_count == 0) return false;
    rte_mbuf* m = io::alloc_frame(cfg_.pool, kCtlFrameCap, c_.tx_no_mbuf);
    if (!m) return false;
    return push_frame(m, wire::build_ns(rte_pktmbuf_mtod(m, uint8_t*), kCtlFrameCap, l2(), cfg_.ip6_lo, target));
}

void Worker::announce() {
    // Gratuitous ARP (RFC 5227 §3: an ARP request for our own address) so switches and peers learn us.
    if (n4_ != 0 && send_arp_request(cfg_.ip_lo)) ++c_.arp_requests_tx;
    // RFC 4861 §7.2.6: an unsolicited Neighbor Advertisement does the same for IPv6.
    if (cfg_.ip6_count != 0) {
        if (rte_mbuf* m = io::alloc_frame(cfg_.pool, kCtlFrameCap, c_.tx_no_mbuf)) {
            if (push_frame(m, wire::build_unsolicited_na(rte_pktmbuf_mtod(m, uint8_t*), kCtlFrameCap, l2(),
                                                         cfg_.ip6_lo)))
                ++c_.nd_adverts_tx;
        }
    }
    if (cfg_.static_neighbour) return;
    Mac unused;
    if (cfg_.gateway4) (void)resolve4(*cfg_.gateway4, unused);
    if (cfg_.gateway6) (void)resolve6(*cfg_.gateway6, unused);
}

void Worker::handle_arp(const wire::ParsedFrame& f) {
    ++c_.arp_rx;
    if (f.arp.spa.v != 0) learn4(f.arp.spa, f.arp.sha);  // not from a probe's 0.0.0.0 (RFC 5227 §2.1.1)
    if (f.arp.op != wire::arp::kOpRequest || !(ours4(f.arp.tpa) || flood4(f.arp.tpa))) return;
    rte_mbuf* r = io::alloc_frame(cfg_.pool, kMinFrame, c_.tx_no_mbuf);
    if (!r) return;
    const uint32_t len = wire::build_arp_reply(rte_pktmbuf_mtod(r, uint8_t*), kMinFrame, f, cfg_.mac);
    if (len != 0) retag(rte_pktmbuf_mtod(r, uint8_t*));
    if (push_frame(r, len)) ++c_.arp_replies_tx;
}

void Worker::handle_nd(const wire::ParsedFrame& f) {
    ++c_.nd_rx;
    if (f.kind == wire::FrameKind::NdAdvert) {
        // RFC 4861 §7.2.5: the target's link-layer address, from its TLLA option (the Ethernet source when
        // there is none: on Ethernet it is the same interface).
        learn6(f.nd.target, f.nd.has_lladdr ? f.nd.lladdr : f.src);
        return;
    }
    // RFC 4861 §7.2.3: a solicitation with a source address teaches the sender's MAC (its SLLA option).
    if (!f.ip6_src.is_unspecified() && f.nd.has_lladdr) learn6(f.ip6_src, f.nd.lladdr);
    if (local6(f.nd.target) == 0) return;
    rte_mbuf* r = io::alloc_frame(cfg_.pool, kCtlFrameCap, c_.tx_no_mbuf);
    if (!r) return;
    const uint32_t len = wire::build_na(rte_pktmbuf_mtod(r, uint8_t*), kCtlFrameCap, f, cfg_.mac);
    if (len != 0) retag(rte_pktmbuf_mtod(r, uint8_t*));
    if (push_frame(r, len)) ++c_.nd_adverts_tx;
}

// An echo request to one of our addresses becomes its reply in the same mbuf; true when it did.
bool Worker::echo_reply(rte_mbuf* m, uint8_t* data, const wire::ParsedFrame& f) {
    const bool v6 = f.kind == wire::FrameKind::Icmp6Echo;
    if (v6 ? local6(f.ip6_dst) == 0 : !ours4(f.ip_dst)) {
        ++c_.rx_not_ours;
        return false;
    }
    if (f.icmp.type != (v6 ? wire::icmp6::kTypeEchoRequest : wire::icmp::kTypeEchoRequest)) return false;
    const uint32_t len = v6 ? wire::icmp6_echo_reply_in_place(data, f, cfg_.mac)
                            : wire::icmp_echo_reply_in_place(data, f, cfg_.mac);
    if (len == 0) return false;
    retag(data);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    io::clear_tx_offload(m);
    ++(v6 ? c_.icmp6_echo_replies : c_.icmp_echo_replies);
    return true;
}

}  // namespace synwave::engine
