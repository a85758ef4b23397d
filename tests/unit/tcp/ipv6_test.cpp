// IPv6 in the TCP layer: RFC 6528 ISNs and SYN cookies over the wire addresses behind the handles, the cookie's
// IPv6 MSS table, MSS 1440 by default, and whole connections between two stacks whose keys hold handles of
// their own address tables (each segment's addresses translated as the engine does).
#include "tcp/stack.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace synwave::tcp {
namespace {

using namespace wire::tcpflag;

Ipv6 v6(uint32_t low) {
    Ipv6 a = *Ipv6::parse("2001:db8::");
    return a.with_low32(low);
}

std::vector<uint8_t> serialise(const Ipv6& a, const Ipv6& b, uint16_t c, uint16_t d, uint32_t e) {
    std::vector<uint8_t> m(a.b.begin(), a.b.end());
    m.insert(m.end(), b.b.begin(), b.b.end());
    for (int i = 0; i < 2; ++i) m.push_back(static_cast<uint8_t>(c >> (8 * i)));
    for (int i = 0; i < 2; ++i) m.push_back(static_cast<uint8_t>(d >> (8 * i)));
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<uint8_t>(e >> (8 * i)));
    return m;
}

TEST(Ipv6Hash, SixTupleIsSipHashOfTheSerialisation) {
    const SipKey k{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    const Ipv6 a = v6(1), b = v6(0xabcdef01);
    auto m = serialise(a, b, 80, 40000, 7);
    EXPECT_EQ((siphash_6tuple<2, 4>(k, a, b, 80, 40000, 7, nullptr)), (siphash<2, 4>(k, m)));
    const uint32_t x = 0xdeadbeef;
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<uint8_t>(x >> (8 * i)));
    EXPECT_EQ((siphash_6tuple<1, 3>(k, a, b, 80, 40000, 7, &x)), (siphash<1, 3>(k, m)));
}

TEST(Ipv6Hash, IsnAndCookieFollowTheAddressesNotTheHandles) {
    const IsnGenerator isn(SipKey{1, 2}, TscRate{1'000'000'000});
    const Ipv6 l = v6(1), r1 = v6(2), r2 = v6(3);
    // The same handles (1, 2) standing for different addresses: different ISN offsets.
    const Tuple4 t1{Ipv4{1}, Ipv4{2}, 80, 40000, &l, &r1}, t2{Ipv4{1}, Ipv4{2}, 80, 40000, &l, &r2};
    EXPECT_NE(isn.offset(t1), isn.offset(t2));
    const Tuple4 plain{Ipv4{1}, Ipv4{2}, 80, 40000};
    EXPECT_NE(isn.offset(t1), isn.offset(plain));

    const SynCookies c(SipKey{3, 4}, SipKey{5, 6});
    const CookieIsn ck = c.make(t1, Seq(1000), 1440, 7);
    EXPECT_EQ(ck.mss, 1440);
    EXPECT_EQ(c.make(t1, Seq(1000), 9000, 7).mss, 8940);
    EXPECT_EQ(c.make(t1, Seq(1000), 1300, 7).mss, 1220);  // below 1420: the IPv6 minimum's entry
    EXPECT_EQ(c.make(plain, Seq(1000), 1300, 7).mss, 1300);
    EXPECT_EQ(c.check(t1, Seq(1000), ck.isn, 7), std::optional<uint16_t>(1440));
    EXPECT_EQ(c.check(t2, Seq(1000), ck.isn, 7), std::nullopt);  // another peer behind the same handle
}

// Two stacks joined back to back; every segment's handles are turned into addresses and back, as two engines
// on a wire would.
class TwoStacks : public ::testing::Test, public App {
protected:
    void make(CookieMode cookies) {
        StackConfig cfg;
        cfg.cookies = cookies;
        cfg.addrs6 = 64;
        cli = std::make_unique<Stack>(cfg, TscRate{1'000'000'000}, now, Secrets{{1, 2}, {3, 4}, {5, 6}}, this);
        srv = std::make_unique<Stack>(cfg, TscRate{1'000'000'000}, now, Secrets{{7, 8}, {9, 10}, {11, 12}}, this);
        srv->listen(80);
        cli_local = cli->addrs().pin(kClient);
        cli_remote = cli->addrs().pin(kServer);
        srv_local = srv->addrs().pin(kServer);
    }
    void on_event(Stack& s, const Event& e) override {
        (&s == srv.get() ? srv_events : cli_events).push_back(e.kind);
        if (&s == srv.get() && e.kind == EventKind::Data) s.close(e.conn);
    }
    // Moves every queued segment to the other stack; returns how many moved.
    int pump(std::vector<wire::TcpSegment>* seen = nullptr) {
        int n = 0;
        for (int round = 0; round < 50; ++round) {
            bool any = false;
            for (Stack* from : {cli.get(), srv.get()}) {
                Stack* to = from == cli.get() ? srv.get() : cli.get();
                std::vector<OutSegment> out = from->out();
                from->out().clear();
                for (const OutSegment& o : out) {
                    const Ipv6 src = from->addrs().addr(o.src.v), dst = to == srv.get() ? kServer : kClient;
                    EXPECT_EQ(from->addrs().addr(o.dst.v), dst);
                    const uint32_t rs = to->addrs().acquire(src), rd = to->addrs().find(dst);
                    if (seen) seen->push_back(o.seg);
                    to->input(InSegment{Ipv4{rs}, Ipv4{rd}, o.seg}, now);
                    to->addrs().sweep();
                    any = true;
                    ++n;
                }
            }
            if (!any) break;
        }
        return n;
    }
    const Ipv6 kClient = v6(0x0a000001), kServer = v6(0x0b000001);
    Instant now{1'000'000'000};
    std::unique_ptr<Stack> cli, srv;
    uint32_t cli_local = 0, cli_remote = 0, srv_local = 0;
    std::vector<EventKind> cli_events, srv_events;
};

TEST_F(TwoStacks, WholeConnectionOverIpv6) {
    make(CookieMode::Auto);
    uint32_t conn = 0;
    ASSERT_EQ(cli->connect(Ipv4{cli_local}, 40000, Ipv4{cli_remote}, 80, 0, now, &conn), Stack::ConnectResult::Ok);
    std::vector<wire::TcpSegment> seen;
    pump(&seen);
    ASSERT_GE(seen.size(), 2u);
    EXPECT_EQ(seen[0].flags, SYN);
    EXPECT_EQ(seen[0].opt.mss, 1440);  // RFC 9293 §3.7.1: 1500 - 40 - 20
    EXPECT_EQ(seen[1].flags, SYN | ACK);
    EXPECT_EQ(seen[1].opt.mss, 1440);
    EXPECT_EQ(cli->tcb(conn).state, State::Established);
    EXPECT_EQ(cli->tcb(conn).mss, 1440);
    // The server keeps the client's address while its record lives: one reference.
    const uint32_t peer = srv->addrs().find(kClient);
    ASSERT_NE(peer, 0u);
    EXPECT_EQ(srv->addrs().refs(peer), 1u);
    static const uint8_t req[] = "GET / HTTP/1.1\r\n\r\n";
    ASSERT_TRUE(cli->send(conn, req, sizeof(req) - 1));
    pump();  // the server closes on the data: FIN both ways
    cli->close(conn);
    pump();
    EXPECT_EQ(srv->counters().conn_closed + cli->counters().conn_closed, 2u);
    EXPECT_EQ(srv->counters().rx_data_bytes, sizeof(req) - 1);
    EXPECT_EQ(srv->timewait_count(), 1u);  // the server closed first: its TIME_WAIT record holds the address
    EXPECT_EQ(srv->addrs().refs(peer), 1u);
    now += Duration{61'000'000'000ull};
    srv->poll(now);
    cli->poll(now);
    srv->addrs().sweep();
    EXPECT_EQ(srv->timewait_count(), 0u);
    EXPECT_EQ(srv->addrs().find(kClient), 0u);  // gone with the last record
    EXPECT_EQ(srv->addrs().find(kServer), srv_local);  // ours is pinned
}

TEST_F(TwoStacks, CookieHandshakeOverIpv6) {
    make(CookieMode::Always);
    uint32_t conn = 0;
    ASSERT_EQ(cli->connect(Ipv4{cli_local}, 40001, Ipv4{cli_remote}, 80, 0, now, &conn), Stack::ConnectResult::Ok);
    pump();
    EXPECT_EQ(srv->counters().syncookies_sent, 1u);
    EXPECT_EQ(srv->counters().syncookies_ok, 1u);
    EXPECT_EQ(srv->counters().syncookies_failed, 0u);
    EXPECT_EQ(cli->tcb(conn).state, State::Established);
    const uint32_t sc = srv->find(Ipv4{srv_local}, 80, Ipv4{srv->addrs().find(kClient)}, 40001);
    ASSERT_NE(sc, kNoConn);
    EXPECT_EQ(srv->tcb(sc).mss, 1440);  // the cookie carried 1440 from the IPv6 table
}

}  // namespace
}  // namespace synwave::tcp
