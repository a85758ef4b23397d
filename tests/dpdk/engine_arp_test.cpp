// ARP through the worker over a ring pair: the reply's padding (zeros, not stale mbuf bytes) and two workers
// that find each other by ARP, the client's first SYNs held until the reply and then released.
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <cstring>
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

// An ARP reply is 42 bytes padded to 60 in an mbuf the engine allocates: the 18 padding bytes must be zeros
// (RFC 1042: "padded (with octets of zero)"), not what that mbuf held before ("Etherleak", CVE-2003-0001).
// Every mbuf of the pool is filled with 0xEE first, so stale bytes would show. The request comes in through
// a ring pair: it is enqueued on port A's RX ring and the reply read from its TX ring.
TEST(EngineArp, ReplyPaddingIsZerosNotStaleMbufBytes) {
    constexpr uint32_t kPoolMbufs = 255;
    io::MempoolPtr pool = pool_or_fail("eng_arppad", kPoolMbufs, 0);
    ASSERT_TRUE(pool);
    {
        std::vector<rte_mbuf*> all(kPoolMbufs);
        ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool.get(), all.data(), kPoolMbufs), 0);
        for (rte_mbuf* m : all) std::memset(m->buf_addr, 0xEE, m->buf_len);
        rte_pktmbuf_free_bulk(all.data(), kPoolMbufs);
    }
    auto pair = io::RingPair::create("engarp", 64);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto port = open_port(pair->port_a(), pool.get());
    ASSERT_TRUE(port);
    Server server(ServerConfig{});
    const WorkerConfig wc = worker_config(*port, pool.get(), kOurIp, kOurIp);
    Worker w(wc, tsc_rate(), tsc_now(), kServerSecrets, &server);

    rte_mbuf* req = rte_pktmbuf_alloc(pool.get());
    ASSERT_NE(req, nullptr);
    const uint32_t n = wire::build_arp_request(rte_pktmbuf_mtod(req, uint8_t*), 64, kPeerMac, kPeerIp, kOurIp);
    ASSERT_EQ(n, 42u);
    req->data_len = static_cast<uint16_t>(n);
    req->pkt_len = n;
    ASSERT_EQ(rte_ring_enqueue(pair->ring_ba(), req), 0);  // port A receives from ring "_ba"
    EXPECT_EQ(w.run_once(tsc_now()), 1u);
    EXPECT_EQ(w.counters().arp_replies_tx, 1u);

    void* obj = nullptr;
    ASSERT_EQ(rte_ring_dequeue(pair->ring_ab(), &obj), 0);
    auto* reply = static_cast<rte_mbuf*>(obj);
    const uint8_t* b = rte_pktmbuf_mtod(reply, const uint8_t*);
    ASSERT_EQ(rte_pktmbuf_data_len(reply), 60u);
    wire::ParsedFrame f;
    ASSERT_EQ(wire::parse_frame(b, 60, {}, f), wire::Drop::None);
    EXPECT_EQ(f.arp.op, wire::arp::kOpReply);
    const std::vector<uint8_t> padding(b + 42, b + 60);
    EXPECT_EQ(padding, std::vector<uint8_t>(18, 0)) << "ARP reply padding carries stale mbuf bytes";
    rte_pktmbuf_free(reply);
    port->close();
}

// No static neighbours: the client resolves the server by ARP. Its first SYNs wait in the hold queue for the
// ARP reply and leave when it comes. The server never asks: it learns the client's first address from the
// ARP request and the second one (connections 600 on) from the source of the SYNs themselves.
TEST(EngineArp, NeighboursResolvedOverARingPairAndHeldFramesReleased) {
    constexpr uint64_t kConns = 1000;
    constexpr uint32_t kPoolMbufs = 4095;
    const Ipv4 server_ip{0x0A00'0001};
    const Ipv4 client_lo{0x0A01'0001}, client_hi{0x0A01'0002};
    io::MempoolPtr spool = pool_or_fail("eng_arp_s", kPoolMbufs, 64);
    io::MempoolPtr cpool = pool_or_fail("eng_arp_c", kPoolMbufs, 64);
    ASSERT_TRUE(spool && cpool);
    auto pair = io::RingPair::create("engarpr", 4096);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto sport = open_port(pair->port_a(), spool.get());
    auto cport = open_port(pair->port_b(), cpool.get());
    ASSERT_TRUE(sport && cport);
    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();

    Server server(ServerConfig{});
    ClientConfig ccfg;
    ccfg.src_lo = client_lo;
    ccfg.src_hi = client_hi;
    ccfg.sport_lo = 20000;
    ccfg.sport_hi = 20599;  // 600 ports per address: connections 600.. come from the second address
    ccfg.dsts = {server_ip};
    ccfg.concurrency = 200;
    ccfg.max_connections = kConns;
    ccfg.response_bytes = http_response(64, false).size();
    Client client(ccfg, rate);
    WorkerConfig ws = worker_config(*sport, spool.get(), server_ip, server_ip);
    WorkerConfig wc = worker_config(*cport, cpool.get(), client_lo, client_hi);
    client.set_slots(wc.stack.max_conns);
    Worker sw(ws, rate, t0, kServerSecrets, &server);
    Worker cw(wc, rate, t0, kClientSecrets, &client);
    sw.stack().listen(80);

    Instant now = t0;
    while (!client.done() && now < t0 + rate.ms(800)) {  // inside the SYN's 1 s RTO
        cw.run_once(now = tsc_now());
        sw.run_once(tsc_now());
    }
    ASSERT_TRUE(client.done()) << "completed " << client.c.conn_completed;
    for (int i = 0; i < 8; ++i) {
        cw.run_once(tsc_now());
        sw.run_once(tsc_now());
    }
    EXPECT_EQ(client.c.conn_completed, kConns);
    EXPECT_EQ(client.c.conn_failed, 0u);
    EXPECT_EQ(server.c.conn_completed, kConns);
    // Connections 600 on came from the second address; the server holds their TIME_WAIT records.
    EXPECT_NE(sw.stack().find(server_ip, 80, client_hi, 20000) & tcp::kTwBit, 0u);
    const EngineCounters& ce = cw.counters();
    const EngineCounters& se = sw.counters();
    // One request (the reply comes long before the 100 ms per-address retry), one reply.
    EXPECT_EQ(ce.arp_requests_tx, 1u);
    EXPECT_EQ(se.arp_replies_tx, 1u);
    EXPECT_EQ(se.arp_rx, 1u);
    EXPECT_EQ(ce.arp_rx, 1u);
    EXPECT_EQ(se.arp_requests_tx + ce.arp_replies_tx, 0u);
    // The client's first launch (one burst of 32 SYNs) waited for the server's MAC.
    EXPECT_EQ(ce.arp_held, 32u);
    EXPECT_EQ(ce.arp_released, 32u);
    EXPECT_EQ(se.arp_held, 0u);
    EXPECT_EQ(ce.tx_no_arp + se.tx_no_arp, 0u);
    // Frames == segments + ARP on both sides, and what one sent the other received.
    EXPECT_EQ(ce.tx_packets, cw.stack().counters().tx_segments + ce.arp_requests_tx + ce.arp_replies_tx);
    EXPECT_EQ(se.tx_packets, sw.stack().counters().tx_segments + se.arp_requests_tx + se.arp_replies_tx);
    EXPECT_EQ(se.rx_packets, ce.tx_packets);
    EXPECT_EQ(ce.rx_packets, se.tx_packets);
    EXPECT_EQ(se.rx_bytes, ce.tx_bytes);
    EXPECT_EQ(ce.rx_bytes, se.tx_bytes);
    // Every frame is at least an Ethernet, an IPv4 and a TCP header (ARP: 42 bytes, at most 2 per side), and
    // the client's requests and the server's responses add their bytes.
    EXPECT_GE(ce.tx_bytes, 54 * ce.tx_packets - 2 * 12);
    EXPECT_GT(se.tx_bytes, 54 * se.tx_packets + kConns * 64);
    EXPECT_EQ(cw.stack().counters().syn_rtx + sw.stack().counters().synack_rtx, 0u);
    EXPECT_EQ(rte_mempool_avail_count(spool.get()), kPoolMbufs);
    EXPECT_EQ(rte_mempool_avail_count(cpool.get()), kPoolMbufs);
    sport->close();
    cport->close();
}

}  // namespace
}  // namespace synwave::engine
