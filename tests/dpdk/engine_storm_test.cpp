// The storm in one thread: a client worker and a server worker over a net_ring pair, 10^5 HTTP connections
// with the server closing first, MSL shortened to 100 ms so every TIME_WAIT record expires within the test.
// Afterwards every counter on both sides adds up exactly, and tables, timer wheels, rings and pools are empty.
#include <gtest/gtest.h>

#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <cstdio>
#include <memory>

#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "engine_test_util.hpp"
#include "io/mempool.hpp"
#include "io/vdev.hpp"

namespace synwave::engine {
namespace {

using namespace testutil;

TEST(EngineStorm, HundredThousandHttpConnectionsOverARingPairAllCompleteAndEverythingIsReturned) {
    constexpr uint64_t kConns = 100'000;
    constexpr uint32_t kMslMs = 100;         // TIME_WAIT = 200 ms instead of 60 s
    constexpr uint32_t kPoolMbufs = 16383;   // 2^14 - 1; in flight at once: a few per open connection
    constexpr uint32_t kBody = 64;
    const Ipv4 server_ip{0x0A00'0001};                          // 10.0.0.1
    const Ipv4 client_lo{0x0A01'0001}, client_hi{0x0A01'0004};  // 10.1.0.1 - 10.1.0.4
    const uint64_t resp_len = http_response(kBody, false).size();
    http::RequestSpec req;  // the client's default request: GET / asking the server to close
    req.host = server_ip.str();
    req.close = true;
    const uint64_t req_len = http::build_request(req).size();

    io::MempoolPtr spool = pool_or_fail("eng_storm_s", kPoolMbufs, 256);
    io::MempoolPtr cpool = pool_or_fail("eng_storm_c", kPoolMbufs, 256);
    ASSERT_TRUE(spool && cpool);
    auto pair = io::RingPair::create("engstorm", 16384);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto sport = open_port(pair->port_a(), spool.get());
    auto cport = open_port(pair->port_b(), cpool.get());
    ASSERT_TRUE(sport && cport);

    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();

    tcp::StackConfig sst;
    sst.msl_ms = kMslMs;
    sst.max_conns = 8192;
    // Server-first close leaves every connection in the server's TIME_WAIT for 200 ms: at a few hundred
    // thousand connections per second that is tens of thousands of records at once. Room for all of them,
    // so a record is never refused (tw_pool_full) and every connection's TIME_WAIT can be counted.
    sst.max_timewait = 1u << 17;
    tcp::StackConfig cst;
    cst.msl_ms = kMslMs;
    cst.max_conns = 8192;
    cst.max_timewait = 1024;

    ServerConfig scfg;
    scfg.behaviour = ServerBehaviour::Http;
    scfg.body_bytes = kBody;
    scfg.close = CloseMode::ServerFirst;
    Server server(scfg);
    server.set_slots(sst.max_conns);

    ClientConfig ccfg;
    ccfg.src_lo = client_lo;
    ccfg.src_hi = client_hi;  // 4 x 64512 source tuples: none is reused, so no TIME_WAIT is reopened
    ccfg.sport_lo = 1024;
    ccfg.sport_hi = 65535;
    ccfg.dsts = {server_ip};
    ccfg.dports = {80};
    ccfg.concurrency = 2000;
    ccfg.max_connections = kConns;
    ccfg.close = CloseMode::ServerFirst;
    ccfg.response_bytes = resp_len;
    Client client(ccfg, rate);
    client.set_slots(cst.max_conns);

    WorkerConfig ws = worker_config(*sport, spool.get(), server_ip, server_ip);
    ws.static_neighbour = true;
    ws.neighbour_mac = cport->mac();
    ws.stack = sst;
    ws.rx_burst = 64;
    WorkerConfig wc = worker_config(*cport, cpool.get(), client_lo, client_hi);
    wc.static_neighbour = true;
    wc.neighbour_mac = sport->mac();
    wc.stack = cst;
    wc.rx_burst = 64;

    auto sw = std::make_unique<Worker>(ws, rate, t0, kServerSecrets, &server);
    auto cw = std::make_unique<Worker>(wc, rate, t0, kClientSecrets, &client);
    sw->stack().listen(80);

    // Run until the client has completed everything (15 s at most: it takes about a second).
    const Instant deadline = t0 + rate.sec(15);
    Instant now = t0;
    while (!client.done() && now < deadline) {
        now = tsc_now();
        cw->run_once(now);
        sw->run_once(tsc_now());
    }
    ASSERT_TRUE(client.done()) << "attempted " << client.c.conn_attempted << ", completed "
                               << client.c.conn_completed << ", open " << client.open();
    const double storm_s = static_cast<double>(rate.to_us(tsc_now() - t0)) / 1e6;

    // Past 2MSL (+100 ms for the wheel's tick and the loop): every TIME_WAIT record must have expired.
    const Instant quiet_until = tsc_now() + rate.ms(2 * kMslMs + 100);
    while ((now = tsc_now()) < quiet_until) {
        cw->run_once(now);
        sw->run_once(tsc_now());
    }
    // Drain: nothing should be in flight any more; a few more turns leave both rings empty.
    for (int i = 0; i < 8; ++i) {
        cw->run_once(tsc_now());
        sw->run_once(tsc_now());
    }
    cw->flush();
    sw->flush();

    const auto& ca = client.c;
    const auto& sa = server.c;
    const tcp::TcpCounters& ct = cw->stack().counters();
    const tcp::TcpCounters& stc = sw->stack().counters();
    const EngineCounters& ce = cw->counters();
    const EngineCounters& se = sw->counters();
    std::printf("storm: %lu connections in %.2f s; client tx %lu rx %lu, server tx %lu rx %lu frames "
                "(%.2f frames/connection); delayed ACKs c %lu s %lu\n",
                ca.conn_completed, storm_s, ce.tx_packets, ce.rx_packets, se.tx_packets, se.rx_packets,
                static_cast<double>(ce.tx_packets + se.tx_packets) / kConns, ct.delayed_acks, stc.delayed_acks);

    // Applications: every connection did its whole exchange.
    EXPECT_EQ(ca.conn_attempted, kConns);
    EXPECT_EQ(ca.conn_connected, kConns);
    EXPECT_EQ(ca.requests_sent, kConns);
    EXPECT_EQ(ca.responses_done, kConns);
    EXPECT_EQ(ca.response_bytes, kConns * resp_len);
    EXPECT_EQ(ca.conn_completed, kConns);
    EXPECT_EQ(ca.conn_failed, 0u);
    EXPECT_EQ(ca.port_busy, 0u);
    EXPECT_EQ(client.open(), 0u);
    EXPECT_EQ(sa.conn_accepted, kConns);
    EXPECT_EQ(sa.responses_sent, kConns);
    EXPECT_EQ(sa.conn_completed, kConns);
    EXPECT_EQ(sa.conn_failed, 0u);

    // TCP: opens match on both sides, nothing lost (no retransmission of any kind: a lost frame would show
    // here, and the whole run is far shorter than the 200 ms minimum RTO per exchange).
    EXPECT_EQ(ct.active_opens, kConns);
    EXPECT_EQ(stc.passive_opens + stc.syncookies_ok, kConns);
    EXPECT_EQ(stc.syncookies_ok, 0u);  // concurrency 2000 < half_open_limit 4096: no cookie needed
    EXPECT_EQ(stc.syncookies_sent, 0u);
    EXPECT_EQ(ct.conn_established, kConns);
    EXPECT_EQ(stc.conn_established, kConns);
    EXPECT_EQ(ct.conn_closed, kConns);
    EXPECT_EQ(stc.conn_closed, kConns);
    EXPECT_EQ(ct.tx_data_bytes, kConns * req_len);
    EXPECT_EQ(stc.tx_data_bytes, kConns * resp_len);
    EXPECT_EQ(ct.rx_data_bytes, kConns * resp_len);
    EXPECT_EQ(stc.rx_data_bytes, kConns * req_len);
    EXPECT_EQ(ct.syn_rtx + ct.rtx_segments + ct.rto_expired, 0u);
    EXPECT_EQ(stc.synack_rtx + stc.rtx_segments + stc.rto_expired, 0u);
    // The server closes first: it alone enters TIME_WAIT; the client goes CLOSE-WAIT -> LAST-ACK.
    EXPECT_EQ(stc.tw_entered, kConns);
    EXPECT_EQ(stc.tw_expired, kConns);
    EXPECT_EQ(stc.tw_pool_full + stc.tw_reopened + stc.tw_rst_killed, 0u);
    EXPECT_EQ(ct.tw_entered, 0u);
    EXPECT_EQ(ct.entered[static_cast<size_t>(tcp::State::CloseWait)], kConns);
    EXPECT_EQ(ct.entered[static_cast<size_t>(tcp::State::LastAck)], kConns);
    EXPECT_EQ(stc.entered[static_cast<size_t>(tcp::State::FinWait1)], kConns);
    for (const tcp::TcpCounters* t : {&ct, &stc}) {
        EXPECT_EQ(t->out_overflow, 0u);
        EXPECT_EQ(t->table_full + t->tcb_pool_empty, 0u);
        EXPECT_EQ(t->conn_reset + t->conn_refused + t->conn_aborted_local, 0u);
        EXPECT_EQ(t->rst_no_conn + t->bad_ack_rst + t->challenge_acks, 0u);
    }

    // Engine: every segment one side's stack emitted became one frame the other side received.
    EXPECT_EQ(ce.tx_packets, ct.tx_segments + ce.arp_requests_tx + ce.arp_replies_tx);
    EXPECT_EQ(se.tx_packets, stc.tx_segments + se.arp_requests_tx + se.arp_replies_tx);
    EXPECT_EQ(se.rx_packets, ce.tx_packets);
    EXPECT_EQ(ce.rx_packets, se.tx_packets);
    EXPECT_EQ(stc.rx_segments, ct.tx_segments);
    EXPECT_EQ(ct.rx_segments, stc.tx_segments);
    for (const EngineCounters* e : {&ce, &se}) {
        EXPECT_EQ(e->rx_dropped, 0u);
        EXPECT_EQ(e->rx_not_ours, 0u);
        EXPECT_EQ(e->tx_ring_full, 0u);
        EXPECT_EQ(e->tx_no_mbuf, 0u);
        EXPECT_EQ(e->tx_build_failed, 0u);
        EXPECT_EQ(e->tx_no_arp + e->arp_held + e->arp_requests_tx, 0u);  // static neighbours
    }
    EXPECT_EQ(drop_sum(*cw), 0u);
    EXPECT_EQ(drop_sum(*sw), 0u);

    // Tables, TIME_WAIT records and the timer wheel are empty on both sides.
    for (Worker* w : {cw.get(), sw.get()}) {
        tcp::Stack& st = w->stack();
        EXPECT_EQ(st.active_conns(), 0u);
        EXPECT_EQ(st.half_open(), 0u);
        EXPECT_EQ(st.timewait_count(), 0u);
        EXPECT_EQ(st.table_size(), 0u);
        EXPECT_EQ(st.timers_pending(), 0u);
        EXPECT_TRUE(st.out().empty());
    }

    // The published snapshot agrees with the live counters.
    sw->publish();
    cw->publish();
    const WorkerStats ss = sw->read();
    const WorkerStats cs = cw->read();
    EXPECT_EQ(ss.engine.rx_packets, se.rx_packets);
    EXPECT_EQ(ss.tcp.tw_expired, kConns);
    EXPECT_EQ(ss.app.conn_completed, kConns);
    EXPECT_EQ(ss.timewait, 0u);
    EXPECT_EQ(cs.engine.tx_packets, ce.tx_packets);
    EXPECT_EQ(cs.app.conn_completed, kConns);
    EXPECT_TRUE(cs.app_done);
    EXPECT_EQ(cs.active, 0u);

    // Every mbuf is back: rings empty, pools full (rte_mempool_avail_count includes the lcore cache).
    EXPECT_EQ(rte_ring_count(pair->ring_ab()), 0u);
    EXPECT_EQ(rte_ring_count(pair->ring_ba()), 0u);
    EXPECT_EQ(rte_mempool_avail_count(spool.get()), kPoolMbufs);
    EXPECT_EQ(rte_mempool_avail_count(cpool.get()), kPoolMbufs);

    cw.reset();
    sw.reset();
    sport->close();
    cport->close();
}

// The storm's lanes mark their frames "checksums good" (WorkerConfig::in_process_link) so the worker a ring away
// does not sum them again. The mark is only given to frames whose sums are really in them: the first SYN of
// a client is read off the ring and its IPv4 and TCP checksums verified here in software. Without the flag,
// or with TX checksum offload (sums left to the device), frames carry no verdict.
TEST(EngineStorm, InProcessLinkMarksFramesWhoseSumsAreInThem) {
    const Ipv4 server_ip{0x0A00'0001}, client_ip{0x0A01'0001};
    io::MempoolPtr pool = pool_or_fail("eng_mark", 1023, 0);
    ASSERT_TRUE(pool);
    auto pair = io::RingPair::create("engmark", 1024);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto aport = open_port(pair->port_a(), pool.get());
    auto bport = open_port(pair->port_b(), pool.get());
    ASSERT_TRUE(aport && bport);
    ASSERT_FALSE(bport->tx_csum_offload());  // net_ring: the sums are computed in software
    const TscRate rate = tsc_rate();
    constexpr uint64_t kGood = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    struct Case {
        bool in_process, offload;
        uint64_t want;
    };
    for (const Case c : {Case{true, false, kGood}, Case{false, false, 0}, Case{true, true, 0}}) {
        SCOPED_TRACE(testing::Message() << "in_process_link " << c.in_process << ", tx_csum_offload " << c.offload);
        ClientConfig ccfg;
        ccfg.src_lo = ccfg.src_hi = client_ip;
        ccfg.dsts = {server_ip};
        ccfg.dports = {80};
        ccfg.concurrency = 1;
        ccfg.max_connections = 1;
        Client client(ccfg, rate);
        WorkerConfig wc = worker_config(*bport, pool.get(), client_ip, client_ip);
        wc.static_neighbour = true;
        wc.neighbour_mac = aport->mac();
        wc.in_process_link = c.in_process;
        wc.tx_csum_offload = c.offload;
        wc.stack.max_conns = 16;
        wc.stack.max_timewait = 16;
        Worker cw(wc, rate, tsc_now(), kClientSecrets, &client);
        cw.run_once(tsc_now());
        cw.flush();
        rte_mbuf* m[4];
        ASSERT_EQ(rte_eth_rx_burst(aport->id(), 0, m, 4), 1);
        EXPECT_EQ(m[0]->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK), c.want);
        wire::ParsedFrame f;
        const wire::Drop d = wire::parse_frame(rte_pktmbuf_mtod(m[0], const uint8_t*), rte_pktmbuf_data_len(m[0]),
                                               wire::ParseConfig{}, f);
        if (!c.offload) {
            EXPECT_EQ(d, wire::Drop::None);
            EXPECT_EQ(f.kind, wire::FrameKind::Tcp);
            EXPECT_EQ(f.tcp.flags, wire::tcpflag::SYN);
        }
        rte_pktmbuf_free(m[0]);
    }
}

}  // namespace
}  // namespace synwave::engine
