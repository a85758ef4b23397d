// lib/io's mempools and mbuf helpers on the real EAL: allocation from empty pools, creation errors, pool
// sizing, TX checksum offload metadata, RX checksum verdicts and the frame byte view.
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io_test_util.hpp"

namespace synwave::io {
namespace {

using namespace testutil;

TEST(Mempool, EmptyPoolAllocationIsNullptrAndCounted) {
    MempoolPtr pool = pool_or_fail("swt_empty", 31, 0);
    ASSERT_TRUE(pool);
    std::vector<rte_mbuf*> held;
    uint64_t pool_empty = 0;
    for (int i = 0; i < 31; ++i) {
        rte_mbuf* m = alloc_frame(pool.get(), 100, pool_empty);
        ASSERT_NE(m, nullptr) << i;
        EXPECT_EQ(rte_pktmbuf_data_len(m), 100);
        EXPECT_EQ(rte_pktmbuf_pkt_len(m), 100u);
        held.push_back(m);
    }
    EXPECT_EQ(pool_empty, 0u);
    EXPECT_EQ(alloc_frame(pool.get(), 100, pool_empty), nullptr);
    EXPECT_EQ(alloc_frame(pool.get(), 100, pool_empty), nullptr);
    EXPECT_EQ(pool_empty, 2u);
    std::array<rte_mbuf*, 2> bulk{};
    EXPECT_FALSE(alloc_frames(pool.get(), bulk, 60));
    rte_pktmbuf_free_bulk(held.data(), static_cast<unsigned>(held.size()));
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);
    // A frame longer than the data room fails the same way, and takes nothing from the pool.
    EXPECT_EQ(max_frame_len(pool.get()), 2048);
    EXPECT_EQ(alloc_frame(pool.get(), 2049, pool_empty), nullptr);
    EXPECT_EQ(pool_empty, 3u);
    EXPECT_FALSE(alloc_frames(pool.get(), bulk, 2049));
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);
    ASSERT_TRUE(alloc_frames(pool.get(), bulk, 1514));
    EXPECT_EQ(rte_pktmbuf_pkt_len(bulk[1]), 1514u);
    rte_pktmbuf_free_bulk(bulk.data(), 2);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);
}

TEST(Mempool, CreationErrorsSayWhy) {
    MempoolPtr a = pool_or_fail("swt_dup", 63, 0);
    ASSERT_TRUE(a);
    auto dup = make_pktmbuf_pool("swt_dup", 63, 0);
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.error().find("already exists"), std::string::npos) << dup.error();
    auto longname = make_pktmbuf_pool(std::string(40, 'n'), 63, 0);
    ASSERT_FALSE(longname.ok());
    EXPECT_NE(longname.error().find("name longer than"), std::string::npos) << longname.error();
    auto huge = make_pktmbuf_pool("swt_huge", 4'000'000, 0);  // ~9 GB with -m 256
    ASSERT_FALSE(huge.ok());
    EXPECT_NE(huge.error().find("raise EAL's -m"), std::string::npos) << huge.error();
    auto cache = make_pktmbuf_pool("swt_cache", 63, 600);
    ASSERT_FALSE(cache.ok());
    EXPECT_NE(cache.error().find("invalid size"), std::string::npos) << cache.error();
}

TEST(Mempool, SizingCountsEveryPlaceAnMbufCanBe) {
    // 2 queues x (1024 + 1024 + 32 + 64) + 2 x 384 (cache 256 x 1.5) = 4288 + 768 = 5056 -> 8191.
    PoolSizing s = size_pktmbuf_pool({.connections = 100000, .burst = 32, .queues = 2});
    EXPECT_EQ(s.n_mbufs, 8191u);
    EXPECT_EQ(s.cache, 256u);
    // One mbuf per connection: 5056 + 100000 = 105056 -> 131071.
    s = size_pktmbuf_pool({.connections = 100000, .queues = 2, .mbufs_per_connection = 1});
    EXPECT_EQ(s.n_mbufs, 131071u);
    // Exactly 2^k - 1 needed stays there: 1 x (64 + 64 + 0 + 0) + 0 = 128 -> 255; 127 -> 127.
    s = size_pktmbuf_pool({.burst = 0, .rx_desc = 64, .tx_desc = 63, .tx_batch = 0, .cache = 0});
    EXPECT_EQ(s.n_mbufs, 127u);
    EXPECT_EQ(s.cache, 0u);
    s = size_pktmbuf_pool({.burst = 0, .rx_desc = 64, .tx_desc = 64, .tx_batch = 0, .cache = 0});
    EXPECT_EQ(s.n_mbufs, 255u);
    // Cache clamped to RTE_MEMPOOL_CACHE_MAX_SIZE (512), then to 2/3 of a small pool.
    s = size_pktmbuf_pool({.queues = 1, .rx_desc = 4096, .tx_desc = 4096, .cache = 1000});
    EXPECT_EQ(s.cache, 512u);
    s = size_pktmbuf_pool({.burst = 0, .rx_desc = 8, .tx_desc = 8, .tx_batch = 0, .cache = 100});
    // 16 + 150 = 166 -> 255, cache 100 <= 170.
    EXPECT_EQ(s.n_mbufs, 255u);
    EXPECT_EQ(s.cache, 100u);
    // The sizing is usable as is.
    auto pool = make_pktmbuf_pool("swt_sized", s.n_mbufs, s.cache);
    EXPECT_TRUE(pool.ok()) << pool.error();
}

TEST(Mbuf, TxChecksumOffloadMetadata) {
    MempoolPtr pool = pool_or_fail("swt_csum", 31, 0);
    rte_mbuf* m = alloc_frame(pool.get(), 54);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM), 0u);
    set_tx_tcp_csum_offload(m, 14, 20);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK),
              RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
    EXPECT_EQ(m->l2_len, 14u);
    EXPECT_EQ(m->l3_len, 20u);
    // DPDK's own validator agrees the metadata is complete for a checksum offload.
    EXPECT_EQ(rte_validate_tx_offload(m), 0);
    set_tx_tcp_csum_offload(m, 18, 60);  // VLAN tag, IPv4 options
    EXPECT_EQ(m->l2_len, 18u);
    EXPECT_EQ(m->l3_len, 60u);
    clear_tx_offload(m);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0u);
    rte_pktmbuf_free(m);
}

TEST(Mbuf, RxChecksumVerdicts) {
    MempoolPtr pool = pool_or_fail("swt_rxcsum", 31, 0);
    rte_mbuf* m = alloc_frame(pool.get(), 60);
    ASSERT_NE(m, nullptr);
    struct Case {
        uint64_t flags;
        RxCsum ip, l4;
    };
    const Case cases[] = {
        {0, RxCsum::Unknown, RxCsum::Unknown},
        {RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, RxCsum::Good, RxCsum::Good},
        {RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD, RxCsum::Good, RxCsum::Bad},
        {RTE_MBUF_F_RX_IP_CKSUM_BAD, RxCsum::Bad, RxCsum::Unknown},
        {RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE, RxCsum::None, RxCsum::None},
        {RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_RSS_HASH, RxCsum::Unknown, RxCsum::Good},
    };
    for (const Case& c : cases) {
        m->ol_flags = c.flags;
        const RxCsumStatus s = rx_csum_status(m);
        EXPECT_EQ(s.ip, c.ip) << std::hex << c.flags;
        EXPECT_EQ(s.l4, c.l4) << std::hex << c.flags;
    }
    rte_pktmbuf_free(m);
}

TEST(Mbuf, FrameBytesViewsTheData) {
    MempoolPtr pool = pool_or_fail("swt_view", 31, 0);
    rte_mbuf* m = make_frame(pool.get(), 77, 9);
    ASSERT_NE(m, nullptr);
    auto v = frame_bytes(m);
    EXPECT_EQ(v.data(), rte_pktmbuf_mtod(m, uint8_t*));
    EXPECT_EQ(v.size(), 77u);
    v[76] = 0xab;
    const rte_mbuf* cm = m;
    EXPECT_EQ(frame_bytes(cm)[76], 0xab);
    rte_pktmbuf_free(m);
}

}  // namespace

// A received mbuf is reused for a frame of ours only when nothing else can see it: a direct, single-segment
// buffer of our own pool with no other reference. Reused, it is what an allocation would have given.
TEST(Mbuf, ReuseForTxOnlyWhenTheMbufIsOursAlone) {
    MempoolPtr pool = pool_or_fail("swt_reuse", 63, 0);
    MempoolPtr other = pool_or_fail("swt_reuse2", 31, 0);
    const unsigned before = rte_mempool_avail_count(pool.get());

    rte_mbuf* m = alloc_frame(pool.get(), 200);  // a received frame with offload flags and a shifted start
    ASSERT_NE(m, nullptr);
    set_tx_tcp_csum_offload(m, 14, 20);
    ASSERT_NE(rte_pktmbuf_adj(m, 14), nullptr);
    EXPECT_TRUE(reuse_for_tx(m, pool.get()));
    EXPECT_EQ(rte_pktmbuf_data_len(m), 0u);
    EXPECT_EQ(rte_pktmbuf_pkt_len(m), 0u);
    EXPECT_EQ(rte_pktmbuf_headroom(m), std::min<uint16_t>(RTE_PKTMBUF_HEADROOM, m->buf_len));
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0u);
    EXPECT_EQ(m->nb_segs, 1u);
    EXPECT_EQ(m->next, nullptr);

    EXPECT_FALSE(reuse_for_tx(m, other.get()));  // another pool's mbuf goes back to its pool

    rte_mbuf_refcnt_update(m, 1);  // someone else holds it (a clone, a capture queue)
    EXPECT_FALSE(reuse_for_tx(m, pool.get()));
    rte_mbuf_refcnt_update(m, -1);

    rte_mbuf* tail = alloc_frame(pool.get(), 10);  // a chained frame
    ASSERT_NE(tail, nullptr);
    ASSERT_EQ(rte_pktmbuf_chain(m, tail), 0);
    EXPECT_FALSE(reuse_for_tx(m, pool.get()));

    rte_mbuf* ind = rte_pktmbuf_alloc(pool.get());  // an indirect mbuf (attached to another's buffer)
    ASSERT_NE(ind, nullptr);
    rte_pktmbuf_attach(ind, tail);
    EXPECT_FALSE(reuse_for_tx(ind, pool.get()));
    rte_pktmbuf_free(ind);

    rte_pktmbuf_free(m);  // frees the chain
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), before);
}

}  // namespace synwave::io
