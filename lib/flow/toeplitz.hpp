// Software Toeplitz hash and RETA mirror: RSS-aware choice of client source ports.
//
// Follows:
// - Microsoft, "RSS Hashing Functions" and "Verifying the RSS Hash Calculation" (NDIS): the Toeplitz hash
//   over the input bytes in network order; for TCP/IPv4 the input is src addr, dst addr, src port,
//   dst port (12 bytes), for TCP/IPv6 the same fields with 16-byte addresses (36 bytes; the IPv6-only hash
//   stops after the addresses, 32 bytes). Intel 82599 datasheet §7.1.2.8 specifies the same and publishes
//   the same verification vectors.
// - DPDK rte_thash.h: rte_softrss() over struct rte_ipv4_tuple {src_addr, dst_addr, sport, dport} in host
//   order gives the same value, as it does over struct rte_ipv6_tuple whose addresses
//   rte_thash_load_v6_addrs() stored as four host-order 32-bit words each (the bytes in wire order again
//   once rte_softrss reads them word by word); the RETA maps the hash to a queue by its low bits
//   (hash % reta_size, reta_size a power of two).
// - Woo and Park, "Scalable TCP Session Monitoring with Symmetric Receive-side Scaling" (2012): a key made
//   of one repeated 16-bit pattern (0x6d5a) makes hash(a->b) == hash(b->a).
//
// Why synwave needs it (share-nothing, README.md: each lcore owns its RX/TX queue pair): a client lcore only
// sees packets on its own RX queue, so when it opens a connection it must choose a source port p for which
// the server's replies (src = server ip:port, dst = client ip:p) hash, through the port's RETA, to that same
// queue.
//
// Toeplitz is linear over XOR: hash(x ^ y) = hash(x) ^ hash(y). ToeplitzV4 therefore precomputes, per byte
// position of the 12-byte tuple and per byte value, the hash of a tuple with only that byte set; a hash is
// then 12 table loads XORed (12 KiB of tables, L1-resident). ToeplitzV6 does the same over 36 bytes (36 KiB,
// 36 loads). PortPicker goes one step further: with every field but the client port fixed, a hash is one
// precomputed base XOR two loads, for either family.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/ipv6addr.hpp"

namespace synwave::flow {

// The RSS key length of Intel and Mellanox NICs and DPDK's default (rte_eth_rss_conf.rss_key_len = 40).
inline constexpr size_t kRssKeyLen = 40;

// The Microsoft/Intel verification key, also DPDK testpmd's default ("rss_intel_key") and the key most
// PMDs program when the application gives none.
inline constexpr std::array<uint8_t, kRssKeyLen> kDefaultRssKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

// Woo and Park's symmetric key: 0x6d5a repeated. Every 32-bit window of a key with period 16 bits depends
// only on the bit position mod 16, so the hash depends only on the XOR of the tuple's 16-bit words (six for
// IPv4, eighteen for IPv6; the 40 bytes cover every window of both), which is the same for both directions
// of a connection. The price: only 2^16 distinct hashes.
inline constexpr std::array<uint8_t, kRssKeyLen> kSymmetricRssKey = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

// The Toeplitz hash of `n` input bytes under `key` (bits most significant first). Input bit i selects the
// 32 key bits starting at bit i, so the key must be at least n + 4 bytes long to cover every window; key
// bits past key_len are taken as zero. Reference implementation, bit at a time; not for per-packet use.
[[nodiscard]] uint32_t toeplitz(const uint8_t* key, size_t key_len, const uint8_t* input, size_t n);

// Precomputed Toeplitz for the IPv4 2-tuple and TCP/UDP 4-tuple, equal to the NIC's RSS hash
// (RTE_ETH_RSS_NONFRAG_IPV4_TCP and RTE_ETH_RSS_IPV4) and to rte_softrss() over rte_ipv4_tuple.
class ToeplitzV4 {
public:
    static constexpr size_t kTupleBytes = 12;            // src addr, dst addr, src port, dst port
    static constexpr size_t kMinKeyLen = kTupleBytes + 4;  // every window of the 4-tuple

    // Keys shorter than kMinKeyLen are zero-extended (no NIC uses one).
    explicit ToeplitzV4(std::span<const uint8_t> key);

    // Addresses and ports in host byte order, in the direction of the packet being hashed.
    [[nodiscard]] uint32_t hash(uint32_t src_ip, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port) const {
        return hash_l3(src_ip, dst_ip) ^ t_[8][src_port >> 8] ^ t_[9][src_port & 0xff] ^ t_[10][dst_port >> 8] ^
               t_[11][dst_port & 0xff];
    }
    [[nodiscard]] uint32_t hash_l3(uint32_t src_ip, uint32_t dst_ip) const {
        return t_[0][src_ip >> 24] ^ t_[1][(src_ip >> 16) & 0xff] ^ t_[2][(src_ip >> 8) & 0xff] ^
               t_[3][src_ip & 0xff] ^ t_[4][dst_ip >> 24] ^ t_[5][(dst_ip >> 16) & 0xff] ^
               t_[6][(dst_ip >> 8) & 0xff] ^ t_[7][dst_ip & 0xff];
    }
    // The contribution of the destination port alone (hash is linear: hash = hash(.., 0) ^ dst_port_part).
    [[nodiscard]] uint32_t dst_port_part(uint16_t dst_port) const {
        return t_[10][dst_port >> 8] ^ t_[11][dst_port & 0xff];
    }

private:
    friend class PortPicker;
    std::array<std::array<uint32_t, 256>, kTupleBytes> t_;
};
static_assert(sizeof(ToeplitzV4) == 12 * 256 * 4, "12 KiB of tables, fits L1");

// Precomputed Toeplitz for the IPv6 2-tuple and TCP/UDP 4-tuple, equal to the NIC's RSS hash
// (RTE_ETH_RSS_NONFRAG_IPV6_TCP and RTE_ETH_RSS_IPV6, without extension-header addresses) and to
// rte_softrss() over rte_ipv6_tuple. Per-packet use is 36 loads; picking ports for one (server, client)
// pair costs one hash (PortPicker).
class ToeplitzV6 {
public:
    static constexpr size_t kTupleBytes = 36;              // src addr, dst addr, src port, dst port
    static constexpr size_t kMinKeyLen = kTupleBytes + 4;  // = kRssKeyLen: every window of the 4-tuple

    // Keys shorter than kMinKeyLen are zero-extended.
    explicit ToeplitzV6(std::span<const uint8_t> key);

    // Addresses as stored (network order), ports in host byte order, in the direction of the packet.
    [[nodiscard]] uint32_t hash(const Ipv6& src_ip, const Ipv6& dst_ip, uint16_t src_port, uint16_t dst_port) const {
        return hash_l3(src_ip, dst_ip) ^ t_[32][src_port >> 8] ^ t_[33][src_port & 0xff] ^ dst_port_part(dst_port);
    }
    [[nodiscard]] uint32_t hash_l3(const Ipv6& src_ip, const Ipv6& dst_ip) const {
        uint32_t h = 0;
        for (size_t i = 0; i < 16; ++i) h ^= t_[i][src_ip.b[i]] ^ t_[16 + i][dst_ip.b[i]];
        return h;
    }
    // The contribution of the destination port alone (hash = hash(.., 0) ^ dst_port_part).
    [[nodiscard]] uint32_t dst_port_part(uint16_t dst_port) const {
        return t_[34][dst_port >> 8] ^ t_[35][dst_port & 0xff];
    }

private:
    friend class PortPicker;
    std::array<std::array<uint32_t, 256>, kTupleBytes> t_;
};
static_assert(sizeof(ToeplitzV6) == 36 * 256 * 4, "36 KiB of tables");

// A mirror of the port's redirection table: queue = reta[hash % size]. Program the NIC from it (io layer,
// rte_eth_dev_rss_reta_update) or fill it from the NIC (rte_eth_dev_rss_reta_query) so the two agree.
class Reta {
public:
    // NICs report RETA sizes of 64 (VFs) to 512 (ixgbe, i40e, mlx5 default) or 2048 (ice); always powers
    // of two, so hash % size is the low bits of the hash.
    static constexpr uint32_t kMaxSize = 65536;
    [[nodiscard]] static constexpr bool valid_size(uint32_t size) {
        return size != 0 && size <= kMaxSize && (size & (size - 1)) == 0;
    }

    // The default every PMD programs at configure time: entry i -> queue i % nb_queues.
    // Preconditions: valid_size(size), nb_queues >= 1 (checked by assert; an invalid size is rounded
    // down to a power of two and clamped to [1, kMaxSize], zero queues becomes one).
    Reta(uint32_t size, uint16_t nb_queues);

    [[nodiscard]] uint16_t queue_of(uint32_t hash) const { return q_[hash & mask_]; }
    [[nodiscard]] uint32_t size() const { return mask_ + 1; }
    [[nodiscard]] uint16_t at(uint32_t index) const { return q_[index & mask_]; }
    void set(uint32_t index, uint16_t queue) { q_[index & mask_] = queue; }

private:
    uint32_t mask_;
    std::vector<uint16_t> q_;
};

// Client source ports whose return traffic comes back to our RX queue.
//
// For a connection client_ip:p -> server_ip:server_port the server's packets are
// (src = server_ip, dst = client_ip, sport = server_port, dport = p). Their hash is
//   base ^ dst_port_part(p),  base = hash(server_ip, client_ip, server_port, 0),
// and their queue is reta.queue_of(that). Holds pointers to `rss` and `reta`, which must outlive it (a
// RETA updated in place is seen at once); cheap to build (one hash), so make one per (server, client ip).
//
// With kSymmetricRssKey the forward direction (client -> server) hashes exactly like the return one, so a
// picked port is right for both directions: e.g. when the server side is also synwave on a port with the
// same key and RETA, the connection lands on queue q at both ends.
//
// The same for IPv6 connections (built from a ToeplitzV6, which must outlive it likewise): only the base
// differs, the per-port work is the same two loads.
class PortPicker {
public:
    PortPicker(const ToeplitzV4& rss, const Reta& reta, uint32_t server_ip, uint16_t server_port,
               uint32_t client_ip);
    PortPicker(const ToeplitzV6& rss, const Reta& reta, const Ipv6& server_ip, uint16_t server_port,
               const Ipv6& client_ip);

    // The RSS hash of the server's packets to client port p.
    [[nodiscard]] uint32_t return_hash(uint16_t client_port) const {
        return base_ ^ port_[0][client_port >> 8] ^ port_[1][client_port & 0xff];
    }
    // The RX queue they land on.
    [[nodiscard]] uint16_t queue_of(uint16_t client_port) const { return reta_->queue_of(return_hash(client_port)); }

    // Writes the ports p in [lo, hi] (ascending) with queue_of(p) == queue into `out`, stopping when it is
    // full; returns how many were written.
    [[nodiscard]] size_t pick(uint16_t queue, uint16_t lo, uint16_t hi, std::span<uint16_t> out) const;
    // How many ports in [lo, hi] land on `queue`.
    [[nodiscard]] uint32_t count(uint16_t queue, uint16_t lo, uint16_t hi) const;
    // The first port in [from, hi] that lands on `queue`, for walking the range on demand.
    [[nodiscard]] std::optional<uint16_t> next(uint16_t queue, uint16_t from, uint16_t hi) const;

private:
    const std::array<uint32_t, 256>* port_;  // the hasher's two destination-port tables (high, low byte)
    const Reta* reta_;
    uint32_t base_;
};

}  // namespace synwave::flow
