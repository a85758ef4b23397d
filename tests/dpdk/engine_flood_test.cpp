// The raw handshake flood (engine/flood.hpp) against a Worker running a Server over a net_ring pair, in one
// thread. The flood's worker runs a Server that listens nowhere: its stack must see nothing of the replies.
// Every phase ends well inside the SYN-ACK's 1 s RTO, so each SYN is answered exactly once.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>

#include "engine/apps.hpp"
#include "engine/flood.hpp"
#include "engine/worker.hpp"
#include "engine_test_util.hpp"
#include "io/mempool.hpp"
#include "io/vdev.hpp"

namespace synwave::engine {
namespace {

using namespace testutil;

constexpr Ipv4 kServerIp{0x0A00'0001};                            // 10.0.0.1
constexpr Ipv4 kFloodLo{0x0A02'0001}, kFloodHi{0x0A02'0004};      // 10.2.0.1 - 10.2.0.4

struct Outcome {
    FloodCounters flood;
    EngineCounters fe, se;           // the flood's worker, the server's
    tcp::TcpCounters ft, st;
    uint32_t server_half_open = 0, flood_active = 0, flood_half_open = 0;
    uint64_t ms = 0;                 // how long the run took
};

// `n` frames of `kind` to port `dport` of a server with `half_open_limit`, then a drain.
Outcome run_flood(const char* name, FloodKind kind, uint32_t n, uint16_t dport, uint32_t half_open_limit) {
    Outcome out;
    io::MempoolPtr spool = pool_or_fail(std::string("fl_s_") + name, 8191, 256);
    io::MempoolPtr fpool = pool_or_fail(std::string("fl_f_") + name, 8191, 256);
    EXPECT_TRUE(spool && fpool);
    if (!spool || !fpool) return out;
    auto pair = io::RingPair::create(std::string("fl") + name, 8192);
    EXPECT_TRUE(pair.ok()) << pair.error();
    if (!pair.ok()) return out;
    auto sport = open_port(pair->port_a(), spool.get());
    auto fport = open_port(pair->port_b(), fpool.get());
    EXPECT_TRUE(sport && fport);
    if (!sport || !fport) return out;
    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();

    Server server(ServerConfig{});
    Server idle(ServerConfig{});  // the flood side's application: listens nowhere, opens nothing
    WorkerConfig ws = worker_config(*sport, spool.get(), kServerIp, kServerIp);
    ws.static_neighbour = true;
    ws.neighbour_mac = fport->mac();
    ws.stack.max_conns = 1024;
    ws.stack.max_timewait = 1024;
    ws.stack.half_open_limit = half_open_limit;
    ws.stack.cookies = tcp::CookieMode::Auto;
    ws.rx_burst = 64;
    server.set_slots(ws.stack.max_conns);
    // The flood's worker has no address of its own: its only addresses are the flood's.
    WorkerConfig wf = worker_config(*fport, fpool.get(), Ipv4{1}, Ipv4{0});
    wf.static_neighbour = true;
    wf.neighbour_mac = sport->mac();
    wf.stack.max_conns = 1024;
    wf.stack.max_timewait = 1024;
    idle.set_slots(wf.stack.max_conns);
    wf.flood.kind = kind;
    wf.flood.src_lo = kFloodLo;
    wf.flood.src_hi = kFloodHi;
    wf.flood.sport_lo = 1024;
    wf.flood.sport_hi = 65535;  // 4 x 64512 sources walked in turn: no source twice
    wf.flood.dst = kServerIp;
    wf.flood.dport = dport;
    wf.flood.burst = 32;

    auto sw = std::make_unique<Worker>(ws, rate, t0, kServerSecrets, &server);
    auto fw = std::make_unique<Worker>(wf, rate, t0, kClientSecrets, &idle);
    sw->stack().listen(80);
    Flood& fl = *fw->flood();
    // A burst per turn on each side: the server's RX burst (64) keeps up with the flood's (32), so the ring
    // never fills; the flood stops once it has sent `n`.
    const Instant deadline = t0 + rate.ms(800);
    while (fl.c.flood_tx < n && tsc_now() < deadline) {
        fw->run_once(tsc_now());
        if (fl.c.flood_tx >= n) fl.stop();
        sw->run_once(tsc_now());
    }
    for (int i = 0; i < 200; ++i) {
        fw->run_once(tsc_now());
        sw->run_once(tsc_now());
    }
    fw->flush();
    sw->flush();
    out.ms = rate.to_ms(tsc_now() - t0);
    out.flood = fl.c;
    out.fe = fw->counters();
    out.se = sw->counters();
    out.ft = fw->stack().counters();
    out.st = sw->stack().counters();
    out.server_half_open = sw->stack().half_open();
    out.flood_active = fw->stack().active_conns();
    out.flood_half_open = fw->stack().half_open();
    return out;
}

// What holds for every kind: nothing lost on the way, and the flood's replies kept from its stack.
void expect_clean(const Outcome& o, uint32_t n) {
    EXPECT_LT(o.ms, 900u) << "a retransmission timeout may have fired";
    EXPECT_EQ(o.flood.flood_tx, n);
    EXPECT_EQ(o.fe.tx_packets, n);
    EXPECT_EQ(o.fe.tx_ring_full, 0u);
    EXPECT_EQ(o.se.tx_ring_full, 0u);
    EXPECT_EQ(o.flood.flood_no_mbuf, 0u);
    EXPECT_EQ(o.flood.flood_no_arp, 0u);
    EXPECT_EQ(o.se.rx_packets, n);
    EXPECT_EQ(o.st.rx_segments, n);
    EXPECT_EQ(o.flood.flood_other_rx, 0u);
    EXPECT_EQ(o.ft.rx_segments, 0u);  // the flood's worker gave its stack nothing
    EXPECT_EQ(o.ft.tx_segments, 0u);
    EXPECT_EQ(o.flood_active, 0u);
    EXPECT_EQ(o.flood_half_open, 0u);
    EXPECT_EQ(o.fe.rx_not_ours, 0u);
}

// RFC 4987 §3.6 under a SYN flood: the listener keeps half_open_limit SYN-RECEIVED records and answers every
// SYN past them with a cookie; each SYN gets exactly one SYN-ACK for its own ISN.
TEST(EngineFlood, SynFloodPastTheHalfOpenLimitIsAnsweredByCookiesOneSynAckPerSyn) {
    constexpr uint32_t kN = 4096, kLimit = 64;
    const Outcome o = run_flood("syn", FloodKind::Syn, kN, 80, kLimit);
    std::printf("syn flood: %u SYNs in %lu ms; %lu SYN-ACKs, %lu cookie-looking, server cookies %lu\n", kN, o.ms,
                o.flood.flood_syn_ack_rx, o.flood.flood_cookie_syn_ack_rx, o.st.syncookies_sent);
    expect_clean(o, kN);
    EXPECT_EQ(o.st.passive_opens, kLimit);
    EXPECT_EQ(o.server_half_open, kLimit);  // no memory per SYN beyond the limit
    EXPECT_EQ(o.st.syncookies_sent, kN - kLimit);
    EXPECT_EQ(o.st.synack_rtx, 0u);
    EXPECT_EQ(o.se.tx_packets, kN);
    EXPECT_EQ(o.flood.flood_syn_ack_rx, kN);
    EXPECT_EQ(o.fe.rx_packets, kN);
    // Every cookie SYN-ACK encodes our SYN's options in its TSval; a stateful one matches by chance (1 in 64).
    EXPECT_GE(o.flood.flood_cookie_syn_ack_rx, o.st.syncookies_sent);
    EXPECT_LE(o.flood.flood_cookie_syn_ack_rx, o.st.syncookies_sent + kLimit);
    EXPECT_EQ(o.flood.flood_rst_rx, 0u);
}

// A SYN to a port nobody listens on: RST,ACK with SEG.ACK = ISN + 1 (RFC 9293 §3.10.7.1).
TEST(EngineFlood, SynFloodToAClosedPortIsAnsweredByRsts) {
    constexpr uint32_t kN = 1024;
    const Outcome o = run_flood("closed", FloodKind::Syn, kN, 81, 64);
    expect_clean(o, kN);
    EXPECT_EQ(o.st.rst_no_conn, kN);
    EXPECT_EQ(o.flood.flood_rst_rx, kN);
    EXPECT_EQ(o.flood.flood_syn_ack_rx, 0u);
    EXPECT_EQ(o.server_half_open, 0u);
}

// RFC 9293 §3.10.7.2 LISTEN: "any acknowledgment is bad": a SYN-ACK gets <SEQ=SEG.ACK><CTL=RST>; so does an
// ACK that is not a valid cookie (a listener with cookies checks it first).
TEST(EngineFlood, SynAckAndAckFloodsAreAnsweredByRstsCarryingTheirAck) {
    constexpr uint32_t kN = 1024;
    const Outcome sa = run_flood("synack", FloodKind::SynAck, kN, 80, 64);
    expect_clean(sa, kN);
    EXPECT_EQ(sa.st.bad_ack_rst, kN);
    EXPECT_EQ(sa.flood.flood_rst_rx, kN);
    EXPECT_EQ(sa.server_half_open, 0u);

    const Outcome ack = run_flood("ack", FloodKind::Ack, kN, 80, 64);
    expect_clean(ack, kN);
    EXPECT_EQ(ack.st.syncookies_failed, kN);
    EXPECT_EQ(ack.st.syncookies_ok, 0u);
    EXPECT_EQ(ack.flood.flood_rst_rx, kN);
    EXPECT_EQ(ack.server_half_open, 0u);
}

// "An incoming RST should be ignored" (RFC 9293 §3.10.7.2): nothing comes back.
TEST(EngineFlood, RstFloodGetsNoAnswer) {
    constexpr uint32_t kN = 1024;
    const Outcome o = run_flood("rst", FloodKind::Rst, kN, 80, 64);
    expect_clean(o, kN);
    EXPECT_EQ(o.st.rst_rx_no_conn, kN);
    EXPECT_EQ(o.se.tx_packets, 0u);
    EXPECT_EQ(o.fe.rx_packets, 0u);
    EXPECT_EQ(o.flood.flood_rst_rx + o.flood.flood_syn_ack_rx + o.flood.flood_other_rx, 0u);
}

// The generator alone: sources stay in their ranges, the sequential walk visits each once, the random one
// spreads (about 10^4 draws over 4 x 64512 sources: some 190 repeats expected by the birthday bound), the
// rate is kept and a stopped flood sends nothing.
TEST(EngineFlood, WalksStayInRangeAndThePaceHoldsTheRate) {
    const TscRate rate = tsc_rate();
    const Instant t0{rate.sec(100).cycles};
    FloodConfig c;
    c.kind = FloodKind::Syn;
    c.src_lo = kFloodLo;
    c.src_hi = kFloodHi;
    c.sport_lo = 1024;
    c.sport_hi = 65535;
    c.dst = kServerIp;
    for (bool random : {false, true}) {
        c.random = random;
        Flood f(c, rate, t0);
        std::set<uint64_t> seen;
        FloodFrame fr;
        constexpr uint32_t kDraws = 10000;
        for (uint32_t i = 0; i < kDraws; ++i) {
            f.next(fr, 1);
            ASSERT_TRUE(f.covers(fr.src));
            ASSERT_GE(fr.seg.src_port, 1024);
            EXPECT_EQ(fr.seg.seq.raw(), f.seqs(fr.src, fr.seg.src_port).isn);
            seen.insert((uint64_t{fr.src.v} << 16) | fr.seg.src_port);
        }
        if (random) {
            EXPECT_GT(seen.size(), 9600u);
            EXPECT_LT(seen.size(), kDraws);
        } else {
            EXPECT_EQ(seen.size(), kDraws);
        }
    }
    c.random = false;
    c.rate = 1000;  // frames per second, in bursts of at most 32
    Flood f(c, rate, t0);
    uint64_t sent = 0;
    for (uint32_t ms = 1; ms <= 2000; ++ms) sent += f.due(t0 + rate.ms(ms));
    EXPECT_GE(sent, 1999u);
    EXPECT_LE(sent, 2000u);
    f.stop();
    EXPECT_EQ(f.due(t0 + rate.ms(3000)), 0u);
}

}  // namespace
}  // namespace synwave::engine
