// Drop and full-ring paths: a TX ring nobody drains (ring-full counted, including the TX batch's mid-turn
// flushes and Worker::flush()), ARP that is never answered (the hold queue's bound), a pool too small for the
// burst (no-mbuf counted), injected RX loss (rx_loss), and net_null in both roles. Every mbuf comes back in
// every case.
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "engine_test_util.hpp"
#include "io/mempool.hpp"
#include "io/vdev.hpp"
#include "wire/frame.hpp"

namespace synwave::engine {
namespace {

using namespace testutil;

// Writes zeros over every mbuf's data room, so a device that hands out mbufs without writing them
// (net_null) delivers frames of known content whatever earlier tests left in that memory.
void zero_pool(rte_mempool* pool, uint32_t n) {
    std::vector<rte_mbuf*> all(n);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool, all.data(), n), 0);
    for (rte_mbuf* m : all) std::memset(m->buf_addr, 0, m->buf_len);
    rte_pktmbuf_free_bulk(all.data(), n);
}

ClientConfig syn_client(uint64_t n) {
    ClientConfig c;
    c.src_lo = c.src_hi = Ipv4{0x0A01'0001};
    c.dsts = {Ipv4{0x0A00'0001}};
    c.dports = {80};
    c.concurrency = 100'000;
    c.max_connections = n;
    c.launch_burst = 32;
    return c;
}

// Runs a client worker alone until it has launched everything, then `extra` turns more. All well inside
// the SYN's 1 s RTO: each SYN leaves exactly once.
void launch_all(Worker& w, const Client& c, uint64_t n, int extra) {
    const TscRate rate = tsc_rate();
    const Instant start = tsc_now();
    Instant now = start;
    while (c.c.conn_attempted < n && now < start + rate.ms(500)) w.run_once(now = tsc_now());
    for (int i = 0; i < extra; ++i) w.run_once(tsc_now());
    ASSERT_EQ(c.c.conn_attempted, n);
    ASSERT_LT(rate.to_ms(tsc_now() - start), 900u) << "ran into the SYN retransmission timeout";
}

TEST(EngineDrops, TxRingNobodyDrainsCountsRingFullAndFreesTheRest) {
    constexpr uint32_t kRing = 64;
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kPoolMbufs = 1023;
    io::MempoolPtr pool = pool_or_fail("eng_ringfull", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engfull", kRing);
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());  // port B is never opened nor read
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 2000));

        const EngineCounters& e = w.counters();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
        EXPECT_EQ(w.stack().counters().syn_rtx, 0u);
        EXPECT_EQ(e.tx_packets, kRing);
        EXPECT_EQ(e.tx_ring_full, kSyns - kRing);
        EXPECT_EQ(e.tx_no_mbuf, 0u);
        EXPECT_EQ(e.rx_packets, 0u);
        EXPECT_EQ(rte_ring_count(pair->ring_ab()), kRing);
        // The ring holds 64 SYNs; every refused frame went back to the pool.
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kRing);
        EXPECT_EQ(w.stack().active_conns(), kSyns);  // SYN-SENT, waiting for their RTO
        port->close();
    }  // the pair frees the 64 SYNs left in its ring
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

// The same full ring, but more frames per turn than the TX batch holds (64): TxBatch::push() flushes the full
// batch itself, in the middle of the turn, and what that flush cannot place is dropped too. Every SYN the
// stack emitted must be accounted for as sent or ring-full; and Worker::flush() (shutdown) likewise.
TEST(EngineDrops, RingFullDropsInMidTurnFlushesAndInFlushAreCounted) {
    constexpr uint32_t kRing = 64;
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kPoolMbufs = 1023;
    io::MempoolPtr pool = pool_or_fail("eng_ringfull2", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engfull2", kRing);
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        ClientConfig cc = syn_client(kSyns);
        cc.launch_burst = 128;  // two full TX batches per turn
        Client client(cc, rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 10));
        const EngineCounters& e = w.counters();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
        EXPECT_EQ(e.tx_packets, kRing);
        EXPECT_EQ(e.tx_ring_full, kSyns - kRing) << "ring-full drops of TxBatch::push()'s own flushes are lost";
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kRing);

        // One more SYN, sent by Worker::flush() (what a lane does when it stops): the ring is still full.
        const uint64_t full_before = e.tx_ring_full;
        uint32_t conn = 0;
        ASSERT_EQ(w.stack().connect(Ipv4{0x0A01'0001}, 9999, Ipv4{0x0A00'0001}, 80, 0, tsc_now(), &conn),
                  tcp::Stack::ConnectResult::Ok);
        w.flush();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns + 1);
        EXPECT_EQ(e.tx_packets, kRing);
        EXPECT_EQ(e.tx_ring_full, full_before + 1) << "Worker::flush() does not count its ring-full drops";
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kRing);
        port->close();
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

// Nobody answers ARP: the SYNs wait in the hold queue (256 frames at most, like Linux's unres_qlen), the rest
// are counted as tx_no_arp, one request goes out, and the worker frees what it still holds when destroyed.
TEST(EngineDrops, UnansweredArpHoldsAtMost256FramesAndTheWorkerFreesThem) {
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kHold = 256;  // Worker::kHoldSlots
    constexpr uint32_t kPoolMbufs = 1023;
    io::MempoolPtr pool = pool_or_fail("eng_noarp", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engnoarp", 1024);
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        {
            Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
            ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 100));
            const EngineCounters& e = w.counters();
            EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
            EXPECT_EQ(e.arp_requests_tx, 1u);  // one per address per 100 ms
            EXPECT_EQ(e.tx_packets, 1u);       // the request alone
            EXPECT_EQ(e.arp_held, kHold);
            EXPECT_EQ(e.tx_no_arp, kSyns - kHold);
            EXPECT_EQ(e.arp_released, 0u);
            EXPECT_EQ(rte_ring_count(pair->ring_ab()), 1u);
            // The request is a broadcast who-has for the server from our first address.
            rte_mbuf* m = nullptr;
            ASSERT_EQ(rte_ring_dequeue(pair->ring_ab(), reinterpret_cast<void**>(&m)), 0);
            wire::ParsedFrame f;
            ASSERT_EQ(wire::parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), {}, f),
                      wire::Drop::None);
            EXPECT_EQ(f.kind, wire::FrameKind::Arp);
            EXPECT_EQ(f.dst, Mac::broadcast());
            EXPECT_EQ(f.arp.op, wire::arp::kOpRequest);
            EXPECT_EQ(f.arp.spa, Ipv4{0x0A01'0001});
            EXPECT_EQ(f.arp.tpa, Ipv4{0x0A00'0001});
            EXPECT_EQ(f.arp.sha, port->mac());
            rte_pktmbuf_free(m);
            EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kHold);
        }  // ~Worker frees the held frames
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

TEST(EngineDrops, TinyPoolCountsNoMbufAndRecoversOnceTheRingIsDrained) {
    constexpr uint32_t kPoolMbufs = 63;  // 2^6 - 1
    constexpr uint64_t kSyns = 300;
    io::MempoolPtr pool = pool_or_fail("eng_tiny", kPoolMbufs, 0);  // no cache: every mbuf is countable
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engtiny", 1024);  // room for more than the pool: only mbufs run out
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 2000));

        const EngineCounters& e = w.counters();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
        EXPECT_EQ(e.tx_packets, kPoolMbufs);
        EXPECT_EQ(e.tx_no_mbuf, kSyns - kPoolMbufs);
        EXPECT_EQ(e.tx_ring_full, 0u);
        EXPECT_EQ(rte_ring_count(pair->ring_ab()), kPoolMbufs);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), 0u);

        // Drain the ring by hand (port B's RX): the pool is whole again.
        rte_mbuf* got[64];
        uint32_t drained = 0;
        uint16_t n = 0;
        while ((n = rte_ring_dequeue_burst(pair->ring_ab(), reinterpret_cast<void**>(got), 64, nullptr)) != 0) {
            drained += n;
            rte_pktmbuf_free_bulk(got, n);
        }
        EXPECT_EQ(drained, kPoolMbufs);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

// rx_loss (--loss): a quarter of the client's 300 SYNs vanish on the server's RX, counted, and the rest reach
// the stack; the same seed loses as many again.
TEST(EngineDrops, InjectedRxLossIsCountedAndRepeatsWithItsSeed) {
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kPoolMbufs = 1023;
    auto run = [&](uint64_t seed) -> uint64_t {
        io::MempoolPtr pool = pool_or_fail("eng_loss", kPoolMbufs, 32);
        if (!pool) return 0;
        auto pair = io::RingPair::create("engloss", 1024);
        EXPECT_TRUE(pair.ok()) << pair.error();
        if (!pair.ok()) return 0;
        auto cport = open_port(pair->port_a(), pool.get());
        auto sport = open_port(pair->port_b(), pool.get());
        if (!cport || !sport) return 0;
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*cport, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = sport->mac();
        WorkerConfig ws = worker_config(*sport, pool.get(), Ipv4{0x0A00'0001}, Ipv4{0x0A00'0001});
        ws.static_neighbour = true;
        ws.neighbour_mac = cport->mac();
        ws.rx_loss = 1u << 30;  // 25 %
        ws.loss_seed = seed;
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Server server(ServerConfig{});
        uint64_t lost = 0;
        {
            Worker cw(wc, rate, tsc_now(), kClientSecrets, &client);
            Worker sw(ws, rate, tsc_now(), kServerSecrets, &server);
            sw.stack().listen(80);
            launch_all(cw, client, kSyns, 10);
            for (int i = 0; i < 100; ++i) sw.run_once(tsc_now());
            const EngineCounters& e = sw.counters();
            lost = e.rx_loss_injected;
            EXPECT_EQ(e.rx_packets + lost, kSyns);
            EXPECT_EQ(sw.stack().counters().rx_segments, e.rx_packets);
            EXPECT_EQ(sw.stack().counters().passive_opens, e.rx_packets);
            EXPECT_EQ(e.rx_dropped, 0u);
            // 25 % of 300 is 75, sigma 7.5: far outside [40, 110] only if the share is not 25 %.
            EXPECT_GE(lost, 40u);
            EXPECT_LE(lost, 110u);
            EXPECT_EQ(cw.counters().rx_loss_injected, 0u);  // the client's rx_loss is 0
        }
        cport->close();
        sport->close();
        return lost;
    };
    const uint64_t a = run(7), b = run(7);
    EXPECT_EQ(a, b);
}

TEST(EngineDrops, NetNullServerDropsGarbageAndSendsNothing) {
    constexpr uint32_t kPoolMbufs = 1023;
    constexpr int kTurns = 200;
    io::MempoolPtr pool = pool_or_fail("eng_null_s", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    ASSERT_NO_FATAL_FAILURE(zero_pool(pool.get(), kPoolMbufs));
    const std::string vdev = "net_null_engs";
    auto pid = io::probe_vdev(vdev + ",size=64");
    ASSERT_TRUE(pid.ok()) << pid.error();
    {
        auto port = open_port(*pid, pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A00'0001}, Ipv4{0x0A00'0001});
        Server server(ServerConfig{});
        Worker w(wc, rate, tsc_now(), kServerSecrets, &server);
        w.stack().listen(80);
        for (int i = 0; i < kTurns; ++i) EXPECT_EQ(w.run_once(tsc_now()), 32u);  // net_null fills every burst
        w.flush();
        const EngineCounters& e = w.counters();
        // 64 zero bytes: ethertype 0, neither IPv4 nor ARP.
        EXPECT_EQ(e.rx_packets, uint64_t{kTurns} * 32);
        EXPECT_EQ(e.rx_bursts, uint64_t{kTurns});
        EXPECT_EQ(e.rx_dropped, e.rx_packets);
        EXPECT_EQ(drops_of(w, wire::Drop::UnsupportedEthertype), e.rx_packets);
        EXPECT_EQ(drop_sum(w), e.rx_packets);
        EXPECT_EQ(e.tx_packets, 0u);
        EXPECT_EQ(w.stack().counters().rx_segments + w.stack().counters().tx_segments, 0u);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    ASSERT_TRUE(io::remove_vdev(vdev).ok());
}

TEST(EngineDrops, NetNullClientSynsVanishAndEveryMbufComesBack) {
    constexpr uint32_t kPoolMbufs = 1023;
    constexpr uint64_t kSyns = 300;
    io::MempoolPtr pool = pool_or_fail("eng_null_c", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    ASSERT_NO_FATAL_FAILURE(zero_pool(pool.get(), kPoolMbufs));
    const std::string vdev = "net_null_engc";
    auto pid = io::probe_vdev(vdev);
    ASSERT_TRUE(pid.ok()) << pid.error();
    {
        auto port = open_port(*pid, pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 100));
        w.flush();
        const EngineCounters& e = w.counters();
        EXPECT_EQ(e.tx_packets, kSyns);  // net_null takes every frame and frees it
        EXPECT_EQ(e.tx_ring_full + e.tx_no_mbuf, 0u);
        // net_null hands out mbufs without writing them: once the SYNs it "sent" are freed and reused, RX
        // returns their first 64 bytes (a 74-byte SYN cut to 64: IPv4 total length past the end). Whatever
        // came in, none of it reached the stack.
        EXPECT_GT(e.rx_packets, 0u);
        EXPECT_EQ(e.rx_dropped + e.rx_not_ours, e.rx_packets);
        EXPECT_EQ(drop_sum(w), e.rx_dropped);
        EXPECT_EQ(drops_of(w, wire::Drop::UnsupportedEthertype) + drops_of(w, wire::Drop::Ipv4BadTotalLength),
                  e.rx_dropped);
        EXPECT_EQ(w.stack().counters().rx_segments, 0u);
        EXPECT_EQ(client.c.conn_connected, 0u);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    ASSERT_TRUE(io::remove_vdev(vdev).ok());
}

}  // namespace
}  // namespace synwave::engine
