// Packet mbuf pools: creation with a readable error, and a sizing rule that says where every mbuf can be.
//
// A pool that is too small does not crash anything: RX refill fails (PortStats::rx_nombuf grows) and
// frame allocation returns nullptr (the engine's pool-empty counter grows). Both are visible, but the
// connections they belong to stall, so size_pktmbuf_pool() counts every place an mbuf can sit at once.
#pragma once
#include <rte_config.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "io/result.hpp"

struct rte_mempool;

namespace synwave::io {

// rte_mempool_free on destruction. Free a pool only after the ports using it are closed and every mbuf
// is back (rte_mempool_avail_count == size).
struct MempoolDeleter {
    void operator()(rte_mempool* mp) const noexcept;
};
using MempoolPtr = std::unique_ptr<rte_mempool, MempoolDeleter>;

// DPDK's default mbuf data room: 2048 bytes of data after RTE_PKTMBUF_HEADROOM (128), enough for a
// 1518-byte frame (1500 MTU + Ethernet header + FCS room) in one segment.
inline constexpr uint16_t kDefaultDataRoom = 2048 + RTE_PKTMBUF_HEADROOM;

// rte_pktmbuf_pool_create with the cause spelled out on failure (name taken, name longer than
// RTE_MEMPOOL_NAMESIZE - 1, not enough memory for n mbufs with -m, bad cache size).
// socket: a NUMA socket id, or -1 (SOCKET_ID_ANY).
[[nodiscard]] Result<MempoolPtr> make_pktmbuf_pool(const std::string& name, uint32_t n_mbufs, uint32_t cache,
                                                   uint16_t data_room = kDefaultDataRoom, int socket = -1);

struct PoolSizingInput {
    uint32_t connections = 0;
    uint16_t burst = 32;        // RX burst size
    uint16_t queues = 1;        // RX/TX queue pairs drawing from this pool, one lcore each
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    uint16_t tx_batch = 64;     // TxBatch::kCapacity
    // synwave's connection records hold no mbufs (replies are built on demand, retransmissions rebuilt
    // from the TCB), hence 0. Raise it if an application keeps frames per connection.
    uint32_t mbufs_per_connection = 0;
    uint32_t cache = 256;       // per-lcore cache wanted (DPDK examples' MEMPOOL_CACHE_SIZE)
};

struct PoolSizing {
    uint32_t n_mbufs = 0;
    uint32_t cache = 0;
};

// The sizing rule. An mbuf can be, at one moment:
//   in an RX ring, posted and waiting for a packet ........ rx_desc per queue
//   in a TX ring, sent but not yet reclaimed .............. tx_desc per queue
//   in the RX burst being processed ....................... burst per queue
//   in the TX batch being filled .......................... tx_batch per queue
//   in an lcore's mempool cache, up to its flush threshold  1.5 x cache per lcore (RTE_MEMPOOL_CACHE_FLUSHTHRESH_MULTIPLIER)
//   held by a connection .................................. connections x mbufs_per_connection
//   n = sum, rounded up to 2^k - 1 (rte_mempool.h: "the optimum size ... is when n is a power of two minus one").
// The cache is clamped to RTE_MEMPOOL_CACHE_MAX_SIZE and to n / 1.5, the limits rte_mempool_create checks.
[[nodiscard]] constexpr PoolSizing size_pktmbuf_pool(const PoolSizingInput& in) {
    const uint32_t cache = std::min<uint32_t>(in.cache, RTE_MEMPOOL_CACHE_MAX_SIZE);
    const uint64_t per_queue = uint64_t{in.rx_desc} + in.tx_desc + in.burst + in.tx_batch;
    const uint64_t caches = uint64_t{in.queues} * ((cache * 3 + 1) / 2);
    const uint64_t conns = uint64_t{in.connections} * in.mbufs_per_connection;
    const uint64_t need = uint64_t{in.queues} * per_queue + caches + conns;
    uint64_t n = 1;
    while (n - 1 < need) n <<= 1;
    const uint64_t n_mbufs = std::min<uint64_t>(n - 1, UINT32_MAX);
    PoolSizing out;
    out.n_mbufs = static_cast<uint32_t>(n_mbufs);
    out.cache = static_cast<uint32_t>(std::min<uint64_t>(cache, n_mbufs * 2 / 3));
    return out;
}

}  // namespace synwave::io
