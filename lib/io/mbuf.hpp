// mbuf <-> bytes, frame allocation, and checksum offload metadata. Hot path: inline, no allocation, no
// strings, failures are nullptr or a counter.
//
// Follows: RFC 791 §3.1 (IPv4 header checksum), RFC 9293 §3.1 (TCP checksum over the pseudo-header),
// and DPDK's mbuf offload contract (rte_mbuf_core.h, "RTE_MBUF_F_TX_TCP_CKSUM"): to have the NIC fill
// the checksums, the IPv4 header checksum field must be 0 and the TCP checksum field must hold the
// pseudo-header sum (addresses, protocol, TCP length; not complemented), as rte_ipv4_phdr_cksum() gives.
#pragma once
#include <rte_mbuf.h>

#include <cstdint>
#include <span>

#include "core/cacheline.hpp"

namespace synwave::io {

// The bytes of a frame's first segment. synwave's frames fit one segment (MTU 1500, data room 2048), so
// this is the whole frame; the RX path can confirm with m->nb_segs == 1.
[[nodiscard]] inline std::span<uint8_t> frame_bytes(rte_mbuf* m) {
    return {rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m)};
}
[[nodiscard]] inline std::span<const uint8_t> frame_bytes(const rte_mbuf* m) {
    return {rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)};
}

// Largest frame alloc_frame() can place in one mbuf of this pool.
[[nodiscard]] inline uint16_t max_frame_len(const rte_mempool* pool) {
    return static_cast<uint16_t>(rte_pktmbuf_data_room_size(const_cast<rte_mempool*>(pool)) - RTE_PKTMBUF_HEADROOM);
}

// A one-segment mbuf holding `len` bytes (uninitialised) for the caller to fill, or nullptr when the pool
// is empty or `len` exceeds max_frame_len(pool). The caller counts the failure; the overload below does.
[[nodiscard]] inline rte_mbuf* alloc_frame(rte_mempool* pool, uint16_t len) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (SYNWAVE_UNLIKELY(m == nullptr)) return nullptr;
    if (SYNWAVE_UNLIKELY(rte_pktmbuf_append(m, len) == nullptr)) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    return m;
}

// As above, adding 1 to `alloc_failures` (e.g. the lcore's pool-empty counter) on failure.
[[nodiscard]] inline rte_mbuf* alloc_frame(rte_mempool* pool, uint16_t len, uint64_t& alloc_failures) {
    rte_mbuf* m = alloc_frame(pool, len);
    alloc_failures += (m == nullptr);
    return m;
}

// All-or-nothing bulk allocation of out.size() frames of `len` bytes (rte_pktmbuf_alloc_bulk: one pass over
// the lcore's cache instead of one per mbuf). Returns false, with nothing allocated, on failure.
[[nodiscard]] inline bool alloc_frames(rte_mempool* pool, std::span<rte_mbuf*> out, uint16_t len) {
    if (SYNWAVE_UNLIKELY(len > max_frame_len(pool))) return false;
    if (rte_pktmbuf_alloc_bulk(pool, out.data(), static_cast<unsigned>(out.size())) != 0) return false;
    for (rte_mbuf* m : out) {
        m->data_len = len;
        m->pkt_len = len;
    }
    return true;
}

// Marks an Ethernet/IPv4/TCP frame for IPv4 header and TCP checksum offload. The caller has written 0 in
// the IPv4 checksum field and the pseudo-header sum in the TCP checksum field (see the file comment).
// l2_len: Ethernet header (14, or 18 with a VLAN tag); l3_len: IPv4 header with options (IHL * 4).
// Only for ports whose PortInfo::tx_csum_offload is true; elsewhere the checksums are computed in software.
inline void set_tx_tcp_csum_offload(rte_mbuf* m, uint16_t l2_len, uint16_t l3_len) {
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
    m->l2_len = l2_len & 0x7f;   // 7-bit field
    m->l3_len = l3_len & 0x1ff;  // 9-bit field
}
// The same for TCP over IPv6: no header checksum, the TCP one over the IPv6 pseudo-header.
inline void set_tx_tcp6_csum_offload(rte_mbuf* m, uint16_t l2_len, uint16_t l3_len) {
    m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
    m->l2_len = l2_len & 0x7f;
    m->l3_len = l3_len & 0x1ff;
}

// Whether a received mbuf, done with, can carry one of our frames next instead of going back to the pool and
// another coming out: a direct, single-segment buffer of `pool` that nobody else holds (refcnt 1). If so it is
// reset as rte_pktmbuf_alloc() would leave it (empty, default headroom, no offload flags); its lines are still
// in this core's cache.
[[nodiscard]] inline bool reuse_for_tx(rte_mbuf* m, const rte_mempool* pool) {
    if (m->pool != pool || m->nb_segs != 1 || !RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1) return false;
    rte_pktmbuf_reset(m);
    return true;
}

// Removes TX offload requests, e.g. from an RX mbuf reused for a reply with software checksums.
inline void clear_tx_offload(rte_mbuf* m) {
    m->ol_flags &= ~(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
}

// The device's verdict on a received checksum (RTE_MBUF_F_RX_*_CKSUM_*).
enum class RxCsum : uint8_t {
    Unknown,  // no verdict (no offload): verify in software
    Bad,      // the checksum is wrong: drop and count
    Good,     // verified by the device: skip the software check
    None,     // the checksum in the packet is not valid but the data is (e.g. a virtual device's partial
              // checksum from the same host): accept without checking
};

struct RxCsumStatus {
    RxCsum ip = RxCsum::Unknown;
    RxCsum l4 = RxCsum::Unknown;
};

[[nodiscard]] inline RxCsumStatus rx_csum_status(const rte_mbuf* m) {
    auto map = [](uint64_t v, uint64_t bad, uint64_t good) {
        if (v == (bad | good)) return RxCsum::None;
        if (v == good) return RxCsum::Good;
        if (v == bad) return RxCsum::Bad;
        return RxCsum::Unknown;
    };
    return {map(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_GOOD),
            map(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_GOOD)};
}

}  // namespace synwave::io
