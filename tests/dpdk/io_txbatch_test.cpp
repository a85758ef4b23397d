// lib/io's TX batch on real virtual devices: a net_null port (flush when full, drain on a fake clock,
// discard frees) and a ring pair whose ring fills (drops counted, mbufs freed, no hang).
#include <gtest/gtest.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <optional>
#include <utility>

#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "io/txbatch.hpp"
#include "io/vdev.hpp"
#include "io_test_util.hpp"

namespace synwave::io {
namespace {

using namespace testutil;

class NullTx : public ::testing::Test {
protected:
    void SetUp() override {
        auto id = probe_vdev("net_null_tx");
        ASSERT_TRUE(id.ok()) << id.error();
        pool_ = pool_or_fail("swt_null_tx", 255, 0);
        ASSERT_TRUE(pool_);
        rte_mempool* pools[] = {pool_.get()};
        auto p = Port::open(PortConfig{.port_id = *id}, pools);
        ASSERT_TRUE(p.ok()) << p.error();
        port_.emplace(std::move(p).value());
    }
    void TearDown() override {
        port_.reset();
        EXPECT_TRUE(remove_vdev("net_null_tx").ok());
    }
    MempoolPtr pool_;
    std::optional<Port> port_;
};

TEST_F(NullTx, FullBatchFlushesByItself) {
    TxBatch tx(port_->id(), 0, Duration{100'000});
    for (int i = 0; i < TxBatch::kCapacity - 1; ++i) tx.push(make_frame(pool_.get(), 64, 1));
    EXPECT_EQ(tx.size(), TxBatch::kCapacity - 1);
    EXPECT_EQ(tx.counters().tx_packets, 0u);
    tx.push(make_frame(pool_.get(), 64, 1));  // the 64th
    EXPECT_EQ(tx.size(), 0);
    EXPECT_EQ(tx.counters().tx_packets, 64u);
    EXPECT_EQ(tx.counters().tx_bytes, 64u * 64u);
    EXPECT_EQ(tx.counters().tx_bursts, 1u);
    EXPECT_EQ(tx.counters().flushes_full, 1u);
    EXPECT_EQ(tx.counters().tx_ring_full_drops, 0u);
    EXPECT_EQ(port_->stats()->opackets, 64u);
    EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 255u);  // net_null frees what it "sends"
}

TEST_F(NullTx, DrainsWhenTheIntervalPassesOnAFakeClock) {
    const Instant start{(uint64_t{1} << 40) + 12345};
    const Duration drain{100'000};  // 100 us at the 1 GHz test rate
    TxBatch tx(port_->id(), 0, drain, start);
    for (int i = 0; i < 5; ++i) tx.push(make_frame(pool_.get(), 60, 2));
    EXPECT_FALSE(tx.flush_if_due(start + Duration{99'999}));
    EXPECT_EQ(tx.size(), 5);
    EXPECT_TRUE(tx.flush_if_due(start + drain));
    EXPECT_EQ(tx.size(), 0);
    EXPECT_EQ(tx.counters().tx_packets, 5u);
    EXPECT_EQ(tx.counters().flushes_due, 1u);
    // The interval runs from the last drain, not from the push.
    tx.push(make_frame(pool_.get(), 60, 3));
    EXPECT_FALSE(tx.flush_if_due(start + Duration{150'000}));
    EXPECT_TRUE(tx.flush_if_due(start + Duration{200'000}));
    EXPECT_EQ(tx.counters().tx_packets, 6u);
    EXPECT_EQ(tx.counters().tx_bytes, 6u * 60u);
    // An empty batch is not "flushed", but the interval restarts.
    EXPECT_FALSE(tx.flush_if_due(start + Duration{400'000}));
    tx.push(make_frame(pool_.get(), 60, 4));
    EXPECT_FALSE(tx.flush_if_due(start + Duration{450'000}));
    EXPECT_TRUE(tx.flush_if_due(start + Duration{500'000}));
    EXPECT_EQ(tx.counters().flushes_due, 3u);
    EXPECT_EQ(tx.counters().tx_bursts, 3u);
    EXPECT_EQ(port_->stats()->opackets, 7u);
    EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 255u);
}

TEST_F(NullTx, DiscardFreesWithoutSending) {
    {
        TxBatch tx(port_->id(), 0, Duration{1});
        for (int i = 0; i < 10; ++i) tx.push(make_frame(pool_.get(), 60, 5));
        EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 245u);
        TxBatch moved(std::move(tx));
        EXPECT_EQ(tx.size(), 0);
        EXPECT_EQ(moved.size(), 10);
        // `moved` goes out of scope holding 10 frames: the destructor frees them.
    }
    {
        TxBatch tx(port_->id(), 0, Duration{1});
        tx.push(make_frame(pool_.get(), 60, 5));
        tx.discard();  // not sent: not counted
        EXPECT_EQ(tx.counters().tx_bytes, 0u);
    }
    EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 255u);
    EXPECT_EQ(port_->stats()->opackets, 0u);
}

TEST(RingTx, FullRingDropsAreCountedAndFreedWithoutHanging) {
    RingRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.setup("full", 255, 64, true));  // exactly 64 mbufs fit in a ring
    auto& [pool, pair, a, b, pools] = rig;

    TxBatch tx(pair->port_a(), 0, Duration{100'000});
    for (int i = 0; i < 64; ++i) tx.push(make_frame(pool.get(), 128, 6));  // fills the batch and the ring
    EXPECT_EQ(tx.counters().tx_packets, 64u);
    EXPECT_EQ(tx.counters().tx_ring_full_drops, 0u);
    for (int i = 0; i < 36; ++i) tx.push(make_frame(pool.get(), 128, 7));
    EXPECT_EQ(tx.flush(), 0);  // nobody drains the ring
    const TxCounters& c = tx.counters();
    EXPECT_EQ(c.tx_packets, 64u);
    EXPECT_EQ(c.tx_ring_full_drops, 36u);
    EXPECT_EQ(c.tx_bytes, 64u * 128u);  // the 36 refused are not counted
    EXPECT_EQ(c.tx_retries, TxBatch::kMaxRetries);
    EXPECT_EQ(c.tx_bursts, 1u + 1u + TxBatch::kMaxRetries);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 255u - 64u);  // the 36 were freed, 64 wait in the ring

    // Drain the ring from the other side: the pool is whole again, and the ring takes frames again.
    std::array<rte_mbuf*, 64> rx{};
    ASSERT_EQ(rte_eth_rx_burst(pair->port_b(), 0, rx.data(), rx.size()), 64);
    EXPECT_EQ(frame_bytes(rx[0]).size(), 128u);
    EXPECT_EQ(frame_bytes(rx[0])[14], static_cast<uint8_t>(14 * 7 + 6));
    rte_pktmbuf_free_bulk(rx.data(), 64);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 255u);
    for (int i = 0; i < 10; ++i) tx.push(make_frame(pool.get(), 128, 8));
    EXPECT_EQ(tx.flush(), 10);
    EXPECT_EQ(tx.counters().tx_ring_full_drops, 36u);
    EXPECT_EQ(a->stats()->opackets, 74u);
    EXPECT_EQ(tx.counters().tx_bytes, 74u * 128u);
    // What is left in the ring is freed by RingPair's destructor; check the pool after it runs.
    a->close();
    b->close();
    pair.reset();
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 255u);
}

}  // namespace
}  // namespace synwave::io
