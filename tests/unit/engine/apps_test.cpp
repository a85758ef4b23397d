// engine::Server and engine::Client driven over two real tcp::Stacks, segments passed as values (no DPDK):
// what each close mode leaves where, that counters, byte counts and histograms agree, and that the client's
// pacing and concurrency limits hold, and that the sink checks every byte against the test pattern.
#include "apps_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace synwave;
using namespace synwave::engine;

using namespace synwave::engine::testing;

TEST_F(AppsTest, HttpServerClosesFirstLeavesTimeWaitOnServer) {
    ServerConfig s;
    s.body_bytes = 64;
    make(s, http_client(1000, CloseMode::ServerFirst));
    run_until_done(1000);
    const auto& c = client->c;
    EXPECT_EQ(c.conn_attempted, 1000u);
    EXPECT_EQ(c.conn_connected, 1000u);
    EXPECT_EQ(c.requests_sent, 1000u);
    EXPECT_EQ(c.responses_done, 1000u);
    EXPECT_EQ(c.response_bytes, 1000u * http_response(64, false).size());
    EXPECT_EQ(c.conn_completed, 1000u);
    EXPECT_EQ(c.conn_failed, 0u);
    EXPECT_EQ(server->c.conn_accepted, 1000u);
    EXPECT_EQ(server->c.responses_sent, 1000u);
    EXPECT_EQ(server->c.conn_completed, 1000u);
    EXPECT_EQ(client->connect_ns.count(), 1000u);
    EXPECT_EQ(client->response_ns.count(), 1000u);
    // Six segments a connection: SYN, SYN-ACK, request (carrying the handshake's ACK), response + FIN,
    // the client's FIN (carrying the ACK of the server's), the server's last ACK.
    EXPECT_EQ(segments, 6000u);
    EXPECT_EQ(sst->timewait_count(), 1000u);
    EXPECT_EQ(cst->timewait_count(), 0u);
    EXPECT_EQ(sst->active_conns(), 0u);
    EXPECT_EQ(cst->active_conns(), 0u);
}

// The server closes first; the client's FIN (carrying its ACK) reaches a server that no longer has the
// connection (its TIME_WAIT ran out while our FIN was being retransmitted), which answers with a RST. The
// exchange was complete: counted completed, and as reset at close, not failed. A RST before the response
// still counts as a failure.
TEST_F(AppsTest, PeerRstAfterOurFinCompletesButRstBeforeResponseFails) {
    ServerConfig s;
    s.body_bytes = 64;
    make(s, http_client(2, CloseMode::ServerFirst));
    auto rst_for = [](const tcp::OutSegment& o) {  // RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>
        wire::TcpSegment r;
        r.src_port = o.seg.dst_port;
        r.dst_port = o.seg.src_port;
        r.seq = o.seg.ack;
        r.flags = wire::tcpflag::RST;
        return tcp::InSegment{o.dst, o.src, r};
    };
    now += Duration{kMs};
    client->tick(*cst, now);  // two SYNs
    ASSERT_EQ(cst->out().size(), 2u);
    const uint16_t port1 = cst->out()[0].seg.src_port, port2 = cst->out()[1].seg.src_port;
    bool reset_late = false, reset_early = false;
    for (int round = 0; round < 16; ++round) {
        auto a = std::move(cst->out());
        cst->out().clear();
        auto b = std::move(sst->out());
        sst->out().clear();
        for (const auto& o : a) {
            const bool fin = (o.seg.flags & wire::tcpflag::FIN) != 0;
            const bool request = o.seg.payload_len != 0;
            if (fin && o.seg.src_port == port1 && !reset_late) {
                reset_late = true;  // connection 1: the server "forgot" it; its RST answers our FIN
                cst->input(rst_for(o), now);
            } else if (request && o.seg.src_port == port2 && !reset_early) {
                reset_early = true;  // connection 2: reset before any response
                cst->input(rst_for(o), now);
            } else {
                sst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            }
        }
        for (const auto& o : b) cst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
    }
    ASSERT_TRUE(reset_late);
    ASSERT_TRUE(reset_early);
    const auto& c = client->c;
    EXPECT_EQ(c.responses_done, 1u);
    EXPECT_EQ(c.conn_completed, 1u);
    EXPECT_EQ(c.conn_reset_at_close, 1u);
    EXPECT_EQ(c.conn_failed, 1u);
    EXPECT_EQ(c.conn_failed_reset, 1u);
    EXPECT_EQ(cst->counters().conn_reset, 2u);
    EXPECT_EQ(cst->active_conns(), 0u);
}

TEST_F(AppsTest, HttpClientClosesFirstLeavesTimeWaitOnClient) {
    ServerConfig s;
    s.close = CloseMode::ClientFirst;
    make(s, http_client(500, CloseMode::ClientFirst));
    run_until_done(1000);
    EXPECT_EQ(client->c.conn_completed, 500u);
    EXPECT_EQ(client->c.responses_done, 500u);
    EXPECT_EQ(client->c.conn_failed, 0u);
    EXPECT_EQ(server->c.conn_completed, 500u);
    EXPECT_EQ(cst->timewait_count(), 500u);
    EXPECT_EQ(sst->timewait_count(), 0u);
    EXPECT_EQ(cst->counters().tw_entered, 500u);
}

TEST_F(AppsTest, ClientRstAfterResponseIsCountedAsResetOnServer) {
    ServerConfig s;
    s.close = CloseMode::ClientFirst;  // the server waits; the client aborts
    make(s, http_client(200, CloseMode::Rst));
    run_until_done(1000);
    EXPECT_EQ(client->c.conn_completed, 200u);
    EXPECT_EQ(client->c.conn_failed, 0u);
    EXPECT_EQ(cst->counters().conn_aborted_local, 200u);
    EXPECT_EQ(server->c.conn_failed_reset, 200u);
    EXPECT_EQ(sst->active_conns(), 0u);
    EXPECT_EQ(sst->timewait_count() + cst->timewait_count(), 0u);
}

TEST_F(AppsTest, AcceptThenCloseWithoutRequest) {
    ServerConfig s;
    s.behaviour = ServerBehaviour::Close;
    ClientConfig c = http_client(300, CloseMode::ServerFirst);
    c.send_request = false;
    c.response_bytes = 0;
    make(s, c);
    run_until_done(1000);
    EXPECT_EQ(client->c.conn_completed, 300u);
    EXPECT_EQ(client->c.requests_sent, 0u);
    EXPECT_EQ(server->c.conn_accepted, 300u);
    EXPECT_EQ(server->c.responses_sent, 0u);
    EXPECT_EQ(sst->timewait_count(), 300u);
}

TEST_F(AppsTest, RateIsPaced) {
    ServerConfig s;
    ClientConfig c = http_client(0, CloseMode::ServerFirst);
    c.rate = 1000;  // one per ms
    c.concurrency = 100000;
    make(s, c);
    for (int i = 0; i < 100; ++i) step();
    // 100 ms at 1000/s: 100 launches, give or take the first tick's credit.
    EXPECT_GE(client->c.conn_attempted, 99u);
    EXPECT_LE(client->c.conn_attempted, 101u);
    EXPECT_EQ(client->c.conn_failed, 0u);
}

TEST_F(AppsTest, ConcurrencyIsCapped) {
    ServerConfig s;
    ClientConfig c = http_client(0, CloseMode::ServerFirst);
    c.concurrency = 10;
    make(s, c);
    for (int i = 0; i < 5; ++i) client->tick(*cst, now);  // SYNs not delivered: nothing completes
    EXPECT_EQ(client->c.conn_attempted, 10u);
    EXPECT_EQ(client->open(), 10u);
    EXPECT_GT(client->c.launch_limited, 0u);
    EXPECT_EQ(cst->out().size(), 10u);
}

TEST_F(AppsTest, RssQueueFilterPicksOnlyPortsWhoseReturnLandsOnOurQueue) {
    const flow::ToeplitzV4 rss(flow::kDefaultRssKey);
    const flow::Reta reta(128, 4);
    ServerConfig s;
    ClientConfig c = http_client(0, CloseMode::ServerFirst);
    c.concurrency = 200;
    c.launch_burst = 200;
    c.rss = &rss;
    c.reta = &reta;
    c.queue = 2;
    make(s, c);
    client->tick(*cst, now);
    const auto& out = cst->out();
    ASSERT_EQ(out.size(), 200u);
    for (const auto& o : out) {
        // The server's reply: src = server, dst = us.
        EXPECT_EQ(reta.queue_of(rss.hash(o.dst.v, o.src.v, o.seg.dst_port, o.seg.src_port)), 2u);
        EXPECT_EQ(o.seg.flags, wire::tcpflag::SYN);
    }
    // About a quarter of the ports walked were usable: the first 200 accepted come from ~800 candidates.
    EXPECT_GT(out.back().seg.src_port - c.sport_lo, 400);
}

// The same over IPv6: the client's IPv6 sources and destination become handles in its stack (pinned in order),
// and the ports it picks hash, by the IPv6 Toeplitz, to our queue.
TEST_F(AppsTest, Ipv6ClientPinsItsAddressesAndPicksPortsByTheIpv6Hash) {
    const flow::ToeplitzV6 rss6(flow::kDefaultRssKey);
    const flow::ToeplitzV4 rss(flow::kDefaultRssKey);
    const flow::Reta reta(128, 4);
    ServerConfig s;
    ClientConfig c = http_client(0, CloseMode::ServerFirst);
    c.concurrency = 100;
    c.launch_burst = 100;
    c.src6_lo = *Ipv6::parse("2001:db8:1::1");
    c.src6_count = 2;
    c.dsts6 = {*Ipv6::parse("2001:db8::80")};
    c.v6_share = 1;
    c.rss = &rss;
    c.rss6 = &rss6;
    c.reta = &reta;
    c.queue = 1;
    make(s, c);
    client->tick(*cst, now);
    const auto& out = cst->out();
    ASSERT_EQ(out.size(), 100u);
    const flow::AddrTable& a = cst->addrs();
    EXPECT_EQ(a.size(), 3u);  // two sources, one destination
    for (const auto& o : out) {
        ASSERT_TRUE(flow::AddrTable::is_handle(o.src.v) && flow::AddrTable::is_handle(o.dst.v));
        EXPECT_EQ(a.addr(o.dst.v), c.dsts6[0]);
        EXPECT_EQ(a.addr(o.src.v), c.src6_lo);  // the walk stays on the first address for its 64k ports
        EXPECT_EQ(reta.queue_of(rss6.hash(c.dsts6[0], a.addr(o.src.v), o.seg.dst_port, o.seg.src_port)), 1u);
        EXPECT_EQ(o.seg.opt.mss, 1440);
    }
    EXPECT_EQ(client->c.conn_attempted_v6, 100u);
}

// Three destinations on two ports, 50 source ports: 300 tuples. Both orders use each tuple once in 300
// connections, every destination address and port gets its 50, every connection completes; in sequential order
// consecutive SYNs go round the destinations, in random order they do not follow the sequential order.
TEST_F(AppsTest, ConnectionsSpreadOverEveryDestinationAndPortInBothOrders) {
    for (const TupleOrder order : {TupleOrder::Sequential, TupleOrder::Random}) {
        ServerConfig s;
        s.body_bytes = 64;
        ClientConfig c = http_client(300, CloseMode::ServerFirst);
        c.dsts = {Ipv4{0x0A00'0001}, Ipv4{0x0A00'0002}, Ipv4{0x0A00'0003}};
        c.dports = {80, 8080};
        c.sport_lo = 2000;
        c.sport_hi = 2049;
        c.order = order;
        c.tuple_seed = 3;
        syns.clear();
        make(s, c);
        run_until_done(1000);
        EXPECT_EQ(client->c.conn_completed, 300u);
        EXPECT_EQ(client->c.conn_failed, 0u);
        EXPECT_EQ(client->c.port_busy, 0u);
        EXPECT_EQ(server->c.conn_completed, 300u);
        ASSERT_EQ(syns.size(), 300u);
        std::map<std::pair<uint32_t, uint16_t>, uint32_t> per_dst;
        std::set<std::tuple<uint16_t, uint32_t, uint16_t>> tuples;
        uint32_t in_sequence = 0;
        for (size_t i = 0; i < syns.size(); ++i) {
            const auto& o = syns[i];
            EXPECT_EQ(o.src, kClientIp);
            ++per_dst[{o.dst.v, o.seg.dst_port}];
            EXPECT_TRUE(tuples.insert({o.seg.src_port, o.dst.v, o.seg.dst_port}).second);
            // Sequential: the destination address fastest, then the port, then the source port.
            const size_t k = i % 6;
            in_sequence += o.dst.v == 0x0A00'0001 + k % 3 && o.seg.dst_port == (k < 3 ? 80 : 8080) &&
                           o.seg.src_port == 2000 + i / 6;
        }
        ASSERT_EQ(per_dst.size(), 6u);
        for (const auto& [d, n] : per_dst) EXPECT_EQ(n, 50u) << d.first << ":" << d.second;
        if (order == TupleOrder::Sequential) EXPECT_EQ(in_sequence, 300u);
        else EXPECT_LT(in_sequence, 10u);
        // Consecutive destinations (10.0.0.1-3) but ports that are not (80, 8080): no direct index.
        EXPECT_TRUE(c.tuples().empty());
    }
    ClientConfig c;
    c.dsts = {Ipv4{0x0A00'0001}, Ipv4{0x0A00'0002}};
    c.dports = {8000, 8001, 8002};
    const flow::TupleRange r = c.tuples();
    EXPECT_EQ(r.remote_ip, 0x0A00'0001u);
    EXPECT_EQ(r.remote_ips, 2u);
    EXPECT_EQ(r.remote_port, 8000u);
    EXPECT_EQ(r.remote_ports, 3u);
}

TEST_F(AppsTest, LatenciesAreStampedWithTheTimeOfTheEvent) {
    // The SYN leaves at one instant, the SYN-ACK comes back 5 ms later, the response 3 ms after the request:
    // the histograms hold exactly those times (the client must not stamp events with its last tick's time).
    ServerConfig s;
    make(s, http_client(1, CloseMode::ServerFirst));
    client->tick(*cst, now);
    auto syn = std::move(cst->out());
    cst->out().clear();
    ASSERT_EQ(syn.size(), 1u);
    sst->input(tcp::InSegment{syn[0].src, syn[0].dst, syn[0].seg}, now);
    auto synack = std::move(sst->out());
    sst->out().clear();
    now += Duration{5 * kMs};
    cst->input(tcp::InSegment{synack[0].src, synack[0].dst, synack[0].seg}, now);  // Connected: request sent
    auto req = std::move(cst->out());
    cst->out().clear();
    ASSERT_EQ(req.size(), 1u);
    sst->input(tcp::InSegment{req[0].src, req[0].dst, req[0].seg}, now);
    auto resp = std::move(sst->out());
    sst->out().clear();
    now += Duration{3 * kMs};
    for (const auto& o : resp) cst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
    ASSERT_EQ(client->connect_ns.count(), 1u);
    ASSERT_EQ(client->response_ns.count(), 1u);
    EXPECT_EQ(client->connect_ns.max(), 5'000'000u);
    EXPECT_EQ(client->response_ns.max(), 3'000'000u);
}

namespace {
// A peer for the echo server: sends two messages (the second when the first is acknowledged), collects what
// comes back, closes when all of it has.
class EchoPeer final : public tcp::App {
public:
    void on_event(tcp::Stack& st, const tcp::Event& ev) override {
        switch (ev.kind) {
        case tcp::EventKind::Connected: (void)st.send(ev.conn, msg1, 11); break;
        case tcp::EventKind::SendDone:
            if (!second_sent) {
                second_sent = true;
                (void)st.send(ev.conn, msg2, 5);
            }
            break;
        case tcp::EventKind::Data:
            got.append(reinterpret_cast<const char*>(ev.data), ev.len);
            if (got.size() == 16) st.close(ev.conn);
            break;
        case tcp::EventKind::Aborted: aborted = true; break;
        case tcp::EventKind::Closed: closed = true; break;
        case tcp::EventKind::Accepted:
        case tcp::EventKind::PeerFin: break;
        }
    }
    static constexpr uint8_t msg1[] = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
    static constexpr uint8_t msg2[] = {'a', 'g', 'a', 'i', 'n'};
    std::string got;
    bool second_sent = false, aborted = false, closed = false;
};

struct EchoRig {
    explicit EchoRig(ServerConfig s) : server(s) {
        tcp::StackConfig st;
        st.max_conns = 64;
        st.max_timewait = 64;
        const TscRate rate{1'000'000'000};
        sst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{1, 2}, {3, 4}, {5, 6}}, &server);
        cst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{7, 8}, {9, 10}, {11, 12}}, &peer);
        server.set_slots(st.max_conns);
        sst->listen(7);
        uint32_t conn = 0;
        EXPECT_EQ(cst->connect(kClientIp, 40000, kServerIp, 7, 0, now, &conn), tcp::Stack::ConnectResult::Ok);
        for (int i = 0; i < 32; ++i) {
            now += Duration{kMs};
            auto a = std::move(cst->out());
            cst->out().clear();
            auto b = std::move(sst->out());
            sst->out().clear();
            for (const auto& o : a) sst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            for (const auto& o : b) cst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            cst->poll(now);
            sst->poll(now);
        }
    }
    Instant now{5'000'000'000};
    Server server;
    EchoPeer peer;
    std::unique_ptr<tcp::Stack> sst, cst;
};
}  // namespace

TEST(Echo, EchoesEverythingInOrderThenClosesAfterThePeer) {
    ServerConfig s;
    s.behaviour = ServerBehaviour::Echo;
    EchoRig r(s);
    EXPECT_EQ(r.peer.got, "hello worldagain");
    EXPECT_TRUE(r.peer.closed);
    EXPECT_EQ(r.server.c.echo_bytes, 16u);
    EXPECT_EQ(r.server.c.conn_completed, 1u);
    EXPECT_EQ(r.server.c.conn_failed, 0u);
    EXPECT_EQ(r.sst->active_conns(), 0u);
}

TEST(Echo, PeerOutrunningTheBufferIsAbortedAndCounted) {
    ServerConfig s;
    s.behaviour = ServerBehaviour::Echo;
    s.echo_buffer = 8;  // the first 11-byte message does not fit
    EchoRig r(s);
    EXPECT_EQ(r.server.c.echo_overflow, 1u);
    EXPECT_TRUE(r.peer.aborted);
    EXPECT_EQ(r.peer.got, "");
    EXPECT_EQ(r.sst->active_conns(), 0u);
}

TEST(Echo, NoFreeSlotIsAbortedAndCounted) {
    ServerConfig s;
    s.behaviour = ServerBehaviour::Echo;
    s.echo_slots = 0;
    EchoRig r(s);
    EXPECT_EQ(r.server.c.echo_no_buffer, 1u);
    EXPECT_TRUE(r.peer.aborted);
}

TEST(Pattern, RecordsNameTheirOwnNumberAndHttpBodiesUseIt) {
    std::string head;
    for (uint64_t i = 0; i < 32; ++i) head += static_cast<char>(pattern_byte(i));
    EXPECT_EQ(head, "000000000000000\n000000000000001\n");
    std::string rec;
    for (uint64_t i = 16 * 0xabcdefull; i < 16 * 0xabcdefull + 16; ++i) rec += static_cast<char>(pattern_byte(i));
    EXPECT_EQ(rec, "000000000abcdef\n");
    const std::string r = http_response(100, false);
    const std::string body = r.substr(r.find("\r\n\r\n") + 4);
    ASSERT_EQ(body.size(), 100u);
    for (uint64_t i = 0; i < body.size(); ++i) ASSERT_EQ(static_cast<uint8_t>(body[i]), pattern_byte(i)) << i;
}

namespace {
// Kernel-like senders for the sink: each connection sends its buffer (the pattern, unless a test spoils it)
// and closes once it is acknowledged.
class SinkPeer final : public tcp::App {
public:
    void on_event(tcp::Stack& st, const tcp::Event& ev) override {
        switch (ev.kind) {
        case tcp::EventKind::Connected: (void)st.send(ev.conn, buf.data(), static_cast<uint32_t>(buf.size())); break;
        case tcp::EventKind::SendDone: st.close(ev.conn); break;
        case tcp::EventKind::Closed: ++closed; break;
        case tcp::EventKind::Aborted: ++aborted; break;
        case tcp::EventKind::Data:
        case tcp::EventKind::Accepted:
        case tcp::EventKind::PeerFin: break;
        }
    }
    std::vector<uint8_t> buf;
    int closed = 0, aborted = 0;
};

struct SinkRig {
    Server server{[] {
        ServerConfig s;
        s.behaviour = ServerBehaviour::Sink;
        return s;
    }()};
    SinkPeer peer;
    Instant now{5'000'000'000};
    std::unique_ptr<tcp::Stack> sst, cst;

    explicit SinkRig(size_t bytes) {
        for (uint64_t i = 0; i < bytes; ++i) peer.buf.push_back(pattern_byte(i));
    }
    // `conns` connections at once, run until every one has closed on both sides.
    void run(int conns) {
        tcp::StackConfig st;
        st.max_conns = 64;
        st.max_timewait = 64;
        const TscRate rate{1'000'000'000};
        sst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{1, 2}, {3, 4}, {5, 6}}, &server);
        cst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{7, 8}, {9, 10}, {11, 12}}, &peer);
        server.set_slots(st.max_conns);
        sst->listen(9);
        for (int k = 0; k < conns; ++k) {
            uint32_t conn = 0;
            ASSERT_EQ(cst->connect(kClientIp, static_cast<uint16_t>(40000 + k), kServerIp, 9, 0, now, &conn),
                      tcp::Stack::ConnectResult::Ok);
        }
        for (int i = 0; i < 2000 && (peer.closed + peer.aborted < conns || sst->active_conns() != 0); ++i) {
            now += Duration{kMs};
            auto a = std::move(cst->out());
            cst->out().clear();
            auto b = std::move(sst->out());
            sst->out().clear();
            for (const auto& o : a) sst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            for (const auto& o : b) cst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            cst->poll(now);
            sst->poll(now);
        }
    }
};
}  // namespace

// Two connections at once, each checked against the pattern from its own stream offset 0 (an offset shared
// between connections, or kept from an earlier connection, would count mismatches).
TEST(Sink, ChecksEveryByteByItsOwnConnectionsOffsetThenClosesAfterThePeer) {
    SinkRig r(200'000);
    r.run(2);
    EXPECT_EQ(r.peer.closed, 2);
    EXPECT_EQ(r.server.c.sink_bytes, 400'000u);
    EXPECT_EQ(r.server.c.sink_mismatch, 0u);
    EXPECT_EQ(r.server.c.sink_first_mismatch, 0u);
    EXPECT_EQ(r.server.c.conn_accepted, 2u);
    EXPECT_EQ(r.server.c.conn_completed, 2u);
    EXPECT_EQ(r.server.c.conn_failed, 0u);
    EXPECT_EQ(r.sst->active_conns(), 0u);
}

// One flipped byte, and one whole record put where another belongs (a segment at the wrong offset looks like
// that): each differing byte counted, the first one's offset kept.
TEST(Sink, BytesAtTheWrongOffsetAreCountedWithTheFirstOffset) {
    SinkRig r(200'000);
    r.peer.buf[70'000] ^= 1;
    std::copy_n(r.peer.buf.begin() + 16 * 5000, 16, r.peer.buf.begin() + 16 * 6000);  // 0x1388 over 0x1770
    r.run(1);
    EXPECT_EQ(r.peer.closed, 1);
    EXPECT_EQ(r.server.c.sink_bytes, 200'000u);
    EXPECT_EQ(r.server.c.sink_mismatch, 4u);  // the flipped byte, and "388" against "770"
    EXPECT_EQ(r.server.c.sink_first_mismatch, 70'001u);
    EXPECT_EQ(r.server.c.conn_completed, 1u);
}
