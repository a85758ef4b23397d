// lib/io's vdevs and ports on real virtual devices: vdev probe and removal, ring pair ports (byte-exact
// frames, no RSS, queue refusals), net_null ports (RSS key and RETA, MTU range) and RSS keys for any device
// key length.
#include <gtest/gtest.h>

#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "io/rss.hpp"
#include "io/txbatch.hpp"
#include "io/vdev.hpp"
#include "io_test_util.hpp"

namespace synwave::io {
namespace {

using namespace testutil;

TEST(Vdev, BogusVdevIsAnErrorNotACrash) {
    auto r = probe_vdev("net_bogus7,foo=bar");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rfind("cannot probe vdev 'net_bogus7,foo=bar': ", 0), 0u) << r.error();
    auto rm = remove_vdev("net_bogus7");
    EXPECT_FALSE(rm.ok());
}

TEST(Vdev, NullVdevProbesToAPortAndIsRemoved) {
    auto r = probe_vdev("net_null_probe");
    ASSERT_TRUE(r.ok()) << r.error();
    uint16_t pid = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_null_probe", &pid), 0);
    EXPECT_EQ(*r, pid);
    auto dup = probe_vdev("net_null_probe");
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error(), "vdev 'net_null_probe' already exists (port " + std::to_string(pid) + ")");
    ASSERT_TRUE(remove_vdev("net_null_probe").ok());
    EXPECT_NE(rte_eth_dev_get_port_by_name("net_null_probe", &pid), 0);
}

TEST(RingPort, FramesArriveByteExactAndPortReportsNoRss) {
    RingRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.setup("x", 511, 256, true));
    auto& [pool, pair, a, b, pools] = rig;

    const PortInfo& ia = a->info();
    EXPECT_EQ(ia.name, "net_ring_x_a");
    EXPECT_EQ(ia.driver, "net_ring");
    EXPECT_EQ(ia.queues, 1);
    EXPECT_FALSE(ia.rss);
    EXPECT_TRUE(ia.reta.empty());
    EXPECT_TRUE(ia.rss_key.empty());
    EXPECT_FALSE(ia.tx_csum_offload);  // rings offer no checksum offload
    EXPECT_FALSE(ia.rx_csum_offload);
    EXPECT_EQ(ia.mtu, 1500);
    // A ring port has no MAC of its own (it reports all zeros): open() gives it a locally administered
    // unicast address made from the port id.
    const Mac want_mac{{0x02, 0x53, 0x57, 0x00, 0x00, static_cast<uint8_t>(pair->port_a())}};
    EXPECT_EQ(a->mac(), want_mac) << a->mac().str();
    const std::vector<std::string> notes = {"no RSS on this device: 1 queue, served by 1 lcore",
                                            "no TX IPv4+TCP checksum offload: checksums computed in software",
                                            "device has no MAC address: using " + want_mac.str()};
    EXPECT_EQ(ia.notes, notes);
    EXPECT_TRUE(a->link().up);

    const std::array<uint16_t, 4> lens = {60, 64, 1000, 1514};
    TxBatch tx(pair->port_a(), 0, Duration{100'000});
    for (size_t i = 0; i < lens.size(); ++i) tx.push(make_frame(pool.get(), lens[i], static_cast<uint8_t>(i)));
    EXPECT_EQ(tx.flush(), 4);

    std::array<rte_mbuf*, 8> rx{};
    ASSERT_EQ(rte_eth_rx_burst(pair->port_b(), 0, rx.data(), rx.size()), 4);
    for (size_t i = 0; i < lens.size(); ++i) {
        auto got = frame_bytes(rx[i]);
        const auto want = expected_frame(lens[i], static_cast<uint8_t>(i));
        EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), want) << "frame " << i;
        rte_pktmbuf_free(rx[i]);
    }
    auto sa = a->stats();
    auto sb = b->stats();
    ASSERT_TRUE(sa.ok() && sb.ok());
    EXPECT_EQ(sa->opackets, 4u);
    EXPECT_EQ(sa->ipackets, 0u);
    EXPECT_EQ(sb->ipackets, 4u);
    EXPECT_EQ(sb->opackets, 0u);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 511u);
    ASSERT_TRUE(a->reset_stats().ok());
    EXPECT_EQ(a->stats()->opackets, 0u);
}

TEST(RingPort, MoreThanOneQueueWithoutRssIsRefused) {
    RingRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.setup("q", 255, 64, false));
    auto& [pool, pair, a, b, pools] = rig;
    // A ring pair port has exactly one queue pair.
    auto two = Port::open(PortConfig{.port_id = pair->port_a(), .queues = 2}, pools);
    ASSERT_FALSE(two.ok());
    EXPECT_EQ(two.error(), "port " + std::to_string(pair->port_a()) +
                               " (net_ring_q_a, driver net_ring): 2 queues requested, the device has at most 1 RX "
                               "and 1 TX");
    auto zero = Port::open(PortConfig{.port_id = pair->port_a(), .queues = 0}, pools);
    ASSERT_FALSE(zero.ok());
    EXPECT_NE(zero.error().find("queues must be at least 1"), std::string::npos);
    auto bad_id = Port::open(PortConfig{.port_id = RTE_MAX_ETHPORTS - 1}, pools);
    ASSERT_FALSE(bad_id.ok());
    EXPECT_EQ(bad_id.error(), "port " + std::to_string(RTE_MAX_ETHPORTS - 1) + ": no such port");
    // The refusals left the port usable.
    auto one = Port::open(PortConfig{.port_id = pair->port_a()}, pools);
    EXPECT_TRUE(one.ok()) << one.error();
}

TEST(RingPort, TwoQueuesWithoutRssAreRefusedWithTheReason) {
    // rte_eth_from_rings with two rings per direction: a port with two queue pairs and no RSS.
    MempoolPtr pool = pool_or_fail("swt_ring_2q", 255, 0);
    ASSERT_TRUE(pool);
    rte_ring* r[4] = {};
    for (int i = 0; i < 4; ++i) {
        r[i] = rte_ring_create(("swt2q" + std::to_string(i)).c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_NE(r[i], nullptr);
    }
    const int pid = rte_eth_from_rings("2q", r, 2, r + 2, 2, 0);  // port "net_ring_2q"
    ASSERT_GE(pid, 0);
    rte_mempool* pools[] = {pool.get()};
    {
        auto p = Port::open(PortConfig{.port_id = static_cast<uint16_t>(pid), .queues = 2}, pools);
        ASSERT_FALSE(p.ok());
        EXPECT_EQ(p.error(), "port " + std::to_string(pid) +
                                 " (net_ring_2q, driver net_ring): no RSS over TCP/IPv4 (flow_type_rss_offloads=0x0), "
                                 "so 2 queues cannot share its connections: open it with 1 queue and give each lcore "
                                 "its own device");
        // Asking for no RSS is the caller's explicit choice: allowed, with a note.
        auto norss = Port::open(PortConfig{.port_id = static_cast<uint16_t>(pid), .queues = 2, .rss = false}, pools);
        ASSERT_TRUE(norss.ok()) << norss.error();
        EXPECT_EQ(norss->queues(), 2);
        EXPECT_FALSE(norss->rss());
        EXPECT_EQ(norss->info().notes.at(0), "RSS off with 2 queues: the device decides which queue receives what");
    }
    EXPECT_EQ(rte_vdev_uninit("net_ring_2q"), 0);
    for (rte_ring* x : r) rte_ring_free(x);
}

TEST(NullPort, RssIsEnabledWithSymmetricKeyAndRoundRobinReta) {
    auto id = probe_vdev("net_null_rss");
    ASSERT_TRUE(id.ok()) << id.error();
    MempoolPtr pool = pool_or_fail("swt_null_rss", 1023, 0);
    ASSERT_TRUE(pool);
    rte_mempool* pools[] = {pool.get(), pool.get()};
    {
        auto p = Port::open(PortConfig{.port_id = *id, .queues = 2}, pools);
        ASSERT_TRUE(p.ok()) << p.error();
        EXPECT_TRUE(p->rss());
        EXPECT_EQ(p->info().rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV6_TCP |
                                        RTE_ETH_RSS_IPV6);
        std::vector<uint8_t> sym(40);
        for (size_t i = 0; i < sym.size(); ++i) sym[i] = i % 2 ? 0x5a : 0x6d;
        EXPECT_EQ(p->info().rss_key, sym);
        ASSERT_EQ(p->reta().size(), 128u);  // net_null's RETA size
        for (size_t i = 0; i < p->reta().size(); ++i) ASSERT_EQ(p->reta()[i], i % 2) << "entry " << i;
        EXPECT_FALSE(p->tx_csum_offload());  // net_null offers no checksum offload
        EXPECT_EQ(p->info().notes,
                  std::vector<std::string>{"no TX IPv4+TCP checksum offload: checksums computed in software"});
        EXPECT_NE(p->mac(), Mac{});  // net_null has a MAC of its own
        // Reopening with the default (Microsoft/Intel) key: close first, the port id is released.
        p->close();
        EXPECT_FALSE(p->is_open());
    }
    ASSERT_TRUE(remove_vdev("net_null_rss").ok());
    auto id2 = probe_vdev("net_null_rss");
    ASSERT_TRUE(id2.ok()) << id2.error();
    {
        auto p = Port::open(PortConfig{.port_id = *id2, .queues = 3, .symmetric = false}, pools);
        ASSERT_FALSE(p.ok());  // two pools for three queues
        EXPECT_NE(p.error().find("give one RX mempool, or one per queue (3), not 2"), std::string::npos) << p.error();
        rte_mempool* one[] = {pool.get()};
        auto q = Port::open(PortConfig{.port_id = *id2, .queues = 3, .symmetric = false}, one);
        ASSERT_TRUE(q.ok()) << q.error();
        EXPECT_EQ(q->info().rss_key, std::vector<uint8_t>(flow::kDefaultRssKey.begin(), flow::kDefaultRssKey.end()));
        ASSERT_EQ(q->reta().size(), 128u);
        for (size_t i = 0; i < q->reta().size(); ++i) ASSERT_EQ(q->reta()[i], i % 3) << "entry " << i;
        auto wrong_key = Port::open(PortConfig{.port_id = *id2, .rss_key = {1, 2, 3}}, one);
        ASSERT_FALSE(wrong_key.ok());
        EXPECT_NE(wrong_key.error().find(": RSS key of 3 bytes, the device takes 40"), std::string::npos)
            << wrong_key.error();
    }
    ASSERT_TRUE(remove_vdev("net_null_rss").ok());
}

// Devices with longer keys (i40e: 52 bytes) get the 40-byte key repeated: the first 40 bytes, all a
// TCP/IPv4 hash reads, are the 40-byte key itself (Microsoft/Intel verification key, or the symmetric one).
TEST(Rss, KeysOfAnyLengthKeepTheFortyByteKeyInFront) {
    for (size_t len : {size_t{40}, size_t{52}, size_t{16}}) {
        SCOPED_TRACE(len);
        const std::vector<uint8_t> def = make_rss_key(len, false);
        const std::vector<uint8_t> sym = make_rss_key(len, true);
        ASSERT_EQ(def.size(), len);
        ASSERT_EQ(sym.size(), len);
        for (size_t i = 0; i < len; ++i) {
            EXPECT_EQ(def[i], flow::kDefaultRssKey[i % 40]) << i;
            EXPECT_EQ(sym[i], i % 2 ? 0x5a : 0x6d) << i;
        }
    }
    EXPECT_EQ(make_rss_key(52, false)[40], 0x6d);  // the repeat starts over
}

TEST(NullPort, MtuOutsideTheDeviceRangeIsRefused) {
    auto id = probe_vdev("net_null_mtu");
    ASSERT_TRUE(id.ok()) << id.error();
    MempoolPtr pool = pool_or_fail("swt_null_mtu", 255, 0);
    rte_mempool* pools[] = {pool.get()};
    {
        auto p = Port::open(PortConfig{.port_id = *id, .mtu = 20}, pools);
        ASSERT_FALSE(p.ok());
        EXPECT_EQ(p.error(), "port " + std::to_string(*id) +
                                 " (net_null_mtu, driver net_null): MTU 20 outside the device's range 46..65535");
        auto q = Port::open(PortConfig{.port_id = *id, .mtu = 9000}, pools);
        ASSERT_TRUE(q.ok()) << q.error();
        EXPECT_EQ(q->info().mtu, 9000);
    }
    ASSERT_TRUE(remove_vdev("net_null_mtu").ok());
}

}  // namespace
}  // namespace synwave::io
