// IPv6 through the engine: the storm over IPv6 with neighbours found by Neighbor Discovery (no static MACs),
// and mixed IPv4/IPv6 traffic by a share, both over a net_ring pair with every counter exact on both sides and
// the address tables back to their pinned entries afterwards.
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

struct StormResult {
    AppCounters ca, sa;
    tcp::TcpCounters ct, stc;
    EngineCounters ce, se;
    uint32_t cli_addrs = 0, srv_addrs = 0;
    uint64_t drops = 0;
    uint32_t tables = 0;
    bool done = false;
};

// kConns connections from 4 IPv4 and 4 IPv6 sources, v6_share of them over IPv6, the server closing first;
// MSL 100 ms so every TIME_WAIT record is gone before the end.
StormResult run_storm(const char* name, uint64_t conns, double v6_share, bool static_neighbours) {
    constexpr uint32_t kPoolMbufs = 8191;
    const Ipv4 server_ip{0x0A00'0001};
    const Ipv4 client_lo{0x0A01'0001}, client_hi{0x0A01'0004};
    const Ipv6 server6 = *Ipv6::parse("fd00::1"), client6 = *Ipv6::parse("fd00:1::1");
    StormResult r;
    io::MempoolPtr spool = pool_or_fail(std::string(name) + "_s", kPoolMbufs, 64);
    io::MempoolPtr cpool = pool_or_fail(std::string(name) + "_c", kPoolMbufs, 64);
    auto pair = io::RingPair::create(name, 8192);
    EXPECT_TRUE(pair.ok()) << pair.error();
    if (!spool || !cpool || !pair.ok()) return r;
    auto sport = open_port(pair->port_a(), spool.get());
    auto cport = open_port(pair->port_b(), cpool.get());
    if (!sport || !cport) return r;
    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();

    tcp::StackConfig st;
    st.msl_ms = 100;
    st.max_conns = 4096;
    st.max_timewait = 1u << 16;
    Server server(ServerConfig{});
    server.set_slots(st.max_conns);
    ClientConfig cc;
    cc.src_lo = client_lo;
    cc.src_hi = client_hi;
    cc.src6_lo = client6;
    cc.src6_count = 4;
    cc.dsts = {server_ip};
    cc.dsts6 = {server6};
    cc.v6_share = v6_share;
    cc.concurrency = 1000;
    cc.max_connections = conns;
    cc.response_bytes = http_response(64, false).size();
    Client client(cc, rate);
    client.set_slots(st.max_conns);

    WorkerConfig ws = worker_config(*sport, spool.get(), server_ip, server_ip);
    ws.ip6_lo = server6;
    ws.ip6_count = 1;
    ws.stack = st;
    WorkerConfig wc = worker_config(*cport, cpool.get(), client_lo, client_hi);
    wc.ip6_lo = client6;
    wc.ip6_count = 4;
    wc.stack = st;
    if (static_neighbours) {
        ws.static_neighbour = wc.static_neighbour = true;
        ws.neighbour_mac = cport->mac();
        wc.neighbour_mac = sport->mac();
    }
    auto sw = std::make_unique<Worker>(ws, rate, t0, kServerSecrets, &server);
    auto cw = std::make_unique<Worker>(wc, rate, t0, kClientSecrets, &client);
    sw->stack().listen(80);
    Instant now = t0;
    while (!client.done() && now < t0 + rate.sec(15)) {
        cw->run_once(now = tsc_now());
        sw->run_once(tsc_now());
    }
    r.done = client.done();
    const Instant quiet = tsc_now() + rate.ms(300);  // 2MSL + the wheel's tick
    while ((now = tsc_now()) < quiet) {
        cw->run_once(now);
        sw->run_once(tsc_now());
    }
    cw->flush();
    sw->flush();
    r.ca = client.c;
    r.sa = server.c;
    r.ct = cw->stack().counters();
    r.stc = sw->stack().counters();
    r.ce = cw->counters();
    r.se = sw->counters();
    r.cli_addrs = cw->stack().addrs().size();
    r.srv_addrs = sw->stack().addrs().size();
    r.drops = drop_sum(*cw) + drop_sum(*sw);
    r.tables = cw->stack().table_size() + sw->stack().table_size() + cw->stack().timers_pending() +
               sw->stack().timers_pending();
    EXPECT_EQ(rte_ring_count(pair->ring_ab()) + rte_ring_count(pair->ring_ba()), 0u);
    cw.reset();
    sw.reset();
    EXPECT_EQ(rte_mempool_avail_count(spool.get()), kPoolMbufs);
    EXPECT_EQ(rte_mempool_avail_count(cpool.get()), kPoolMbufs);
    sport->close();
    cport->close();
    return r;
}

// What holds for any share: every connection completed on both sides, frames == segments (+ control frames),
// what one side sent the other received, nothing dropped or retransmitted, tables and wheels empty.
void expect_clean(const StormResult& r, uint64_t conns) {
    ASSERT_TRUE(r.done) << "completed " << r.ca.conn_completed << " of " << conns;
    EXPECT_EQ(r.ca.conn_attempted, conns);
    EXPECT_EQ(r.ca.conn_completed, conns);
    EXPECT_EQ(r.ca.responses_done, conns);
    EXPECT_EQ(r.ca.conn_failed + r.sa.conn_failed, 0u);
    EXPECT_EQ(r.sa.conn_accepted, conns);
    EXPECT_EQ(r.sa.conn_completed, conns);
    EXPECT_EQ(r.stc.tw_entered, conns);
    EXPECT_EQ(r.stc.tw_expired, conns);
    EXPECT_EQ(r.ct.syn_rtx + r.ct.rtx_segments + r.stc.synack_rtx + r.stc.rtx_segments, 0u);
    const uint64_t cctl = r.ce.arp_requests_tx + r.ce.arp_replies_tx + r.ce.nd_solicits_tx + r.ce.nd_adverts_tx;
    const uint64_t sctl = r.se.arp_requests_tx + r.se.arp_replies_tx + r.se.nd_solicits_tx + r.se.nd_adverts_tx;
    EXPECT_EQ(r.ce.tx_packets, r.ct.tx_segments + cctl);
    EXPECT_EQ(r.se.tx_packets, r.stc.tx_segments + sctl);
    EXPECT_EQ(r.se.rx_packets, r.ce.tx_packets);
    EXPECT_EQ(r.ce.rx_packets, r.se.tx_packets);
    EXPECT_EQ(r.stc.rx_segments, r.ct.tx_segments);
    EXPECT_EQ(r.ct.rx_segments, r.stc.tx_segments);
    EXPECT_EQ(r.drops, 0u);
    EXPECT_EQ(r.ce.rx_not_ours + r.se.rx_not_ours + r.ce.rx_vlan_other + r.se.rx_vlan_other, 0u);
    EXPECT_EQ(r.ce.addr_table_full + r.se.addr_table_full + r.ce.tx_no_arp + r.se.tx_no_arp, 0u);
    EXPECT_EQ(r.tables, 0u);
    // Only the pinned addresses are left: the server's own, the client's four sources and its destination.
    EXPECT_EQ(r.srv_addrs, 1u);
    EXPECT_EQ(r.cli_addrs, 5u);
}

TEST(EngineIpv6, StormOverIpv6WithNeighborDiscovery) {
    constexpr uint64_t kConns = 20'000;
    const StormResult r = run_storm("eng6", kConns, 1.0, false);
    expect_clean(r, kConns);
    EXPECT_EQ(r.ca.conn_attempted_v6, kConns);
    EXPECT_EQ(r.ca.conn_completed_v6, kConns);
    EXPECT_EQ(r.sa.conn_accepted_v6, kConns);
    EXPECT_EQ(r.sa.conn_completed_v6, kConns);
    // Every TCP segment went over IPv6, every frame received was IPv6 (NS, NA and TCP).
    EXPECT_EQ(r.ce.tx_ipv6, r.ct.tx_segments);
    EXPECT_EQ(r.se.tx_ipv6, r.stc.tx_segments);
    EXPECT_EQ(r.se.rx_ipv6, r.se.rx_packets);
    EXPECT_EQ(r.ce.rx_ipv6, r.ce.rx_packets);
    // RFC 4861: the client solicits the server once (the answer comes long before the 100 ms retry); the
    // server learns the client's MAC from the solicitation's source link-layer option and never asks.
    EXPECT_EQ(r.ce.nd_solicits_tx, 1u);
    EXPECT_EQ(r.se.nd_rx, 1u);
    EXPECT_EQ(r.se.nd_adverts_tx, 1u);
    EXPECT_EQ(r.ce.nd_rx, 1u);
    EXPECT_EQ(r.se.nd_solicits_tx, 0u);
    EXPECT_EQ(r.ce.arp_requests_tx + r.se.arp_requests_tx, 0u);
    // The first launch waited for the advertisement.
    EXPECT_EQ(r.ce.arp_held, 32u);
    EXPECT_EQ(r.ce.arp_released, 32u);
}

TEST(EngineIpv6, MixedFamiliesByShare) {
    constexpr uint64_t kConns = 20'000;
    const StormResult r = run_storm("eng46", kConns, 0.5, true);
    expect_clean(r, kConns);
    // An even share alternates exactly.
    EXPECT_EQ(r.ca.conn_attempted_v6, kConns / 2);
    EXPECT_EQ(r.ca.conn_completed_v6, kConns / 2);
    EXPECT_EQ(r.sa.conn_accepted_v6, kConns / 2);
    EXPECT_EQ(r.sa.conn_completed_v6, kConns / 2);
    EXPECT_GT(r.ce.tx_ipv6, 0u);
    EXPECT_LT(r.ce.tx_ipv6, r.ct.tx_segments);
    EXPECT_EQ(r.ce.rx_ipv6 + r.se.rx_ipv6, r.ce.tx_ipv6 + r.se.tx_ipv6);
}

}  // namespace
}  // namespace synwave::engine
