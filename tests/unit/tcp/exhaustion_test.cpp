// Exhaustion of the stack's fixed resources: the TCB pool, the TIME_WAIT records, the half-open records (SYN
// cookies take over, RFC 4987 §3.6) and the timer wheel under 10^6 expiries in the same tick. Each test names
// the counter that records the refusal and shows that connections established before (and during) the
// shortage keep exchanging data and close cleanly, and that the pool works again once it has room.
//
// The application here is an echo of fixed size: every "ping" the peer sends is answered by "pong" from the
// Data event, and the peer's FIN is answered by our FIN from the PeerFin event (passive close).
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

namespace {

const std::string kPong = "pong";

class Exhaustion : public StackTest {
protected:
    // The peer's side of one connection: its port, its next sequence number and the next one it expects
    // from us.
    struct Peer {
        uint16_t port;
        uint32_t snd;
        uint32_t rcv;
    };

    Exhaustion() {
        on_ev = [](Stack& s, const Event& e) {
            if (e.kind == EventKind::Data) {
                EXPECT_TRUE(s.send(e.conn, reinterpret_cast<const uint8_t*>(kPong.data()), 4));
            }
            if (e.kind == EventKind::PeerFin) s.close(e.conn);
        };
    }

    wire::TcpSegment from(const Peer& p, uint8_t flags, const std::string& data = "") {
        auto s = peer(flags, p.snd, p.rcv, data);
        s.src_port = p.port;
        return s;
    }
    [[nodiscard]] uint32_t handle(const Peer& p) const { return st->find(kUs, kUsPort, kPeer, p.port); }
    [[nodiscard]] State state_of(const Peer& p) const { return st->state_of(handle(p)); }

    // The peer's SYN; returns our SYN-ACK's ISS (a SYN-RECEIVED record's or a cookie's).
    Peer syn(uint16_t port) {
        auto s = peer_syn();
        s.src_port = port;
        auto out = deliver(s);
        EXPECT_EQ(out.size(), 1u);
        if (out.empty()) return Peer{port, kPeerIsn + 1, 0};
        EXPECT_EQ(out[0].seg.flags, SYN | ACK);
        EXPECT_EQ(out[0].seg.ack.raw(), kPeerIsn + 1);
        return Peer{port, kPeerIsn + 1, out[0].seg.seq.raw() + 1};
    }
    // The third segment of the handshake; nothing is sent back.
    void ack(const Peer& p) { EXPECT_TRUE(deliver(from(p, ACK)).empty()); }
    Peer open(uint16_t port) {
        Peer p = syn(port);
        ack(p);
        EXPECT_EQ(state_of(p), State::Established) << "port " << port;
        return p;
    }

    // "ping" in, "pong" out (with the ACK of the ping), then the peer's ACK of the pong.
    void exchange(Peer& p) {
        auto out = deliver(from(p, ACK | PSH, "ping"));
        ASSERT_EQ(out.size(), 1u) << "port " << p.port;
        EXPECT_EQ(out[0].seg.dst_port, p.port);
        EXPECT_EQ(out[0].seg.flags, ACK | PSH);
        EXPECT_EQ(out[0].seg.seq.raw(), p.rcv);
        EXPECT_EQ(out[0].seg.ack.raw(), p.snd + 4);
        ASSERT_EQ(out[0].seg.payload_len, 4u);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(out[0].seg.payload), 4), kPong);
        p.snd += 4;
        p.rcv += 4;
        EXPECT_TRUE(deliver(from(p, ACK)).empty());
    }

    // The peer closes first: its FIN, our FIN with the ACK (LAST-ACK), its ACK: no state left.
    void close_by_peer(Peer& p) {
        const size_t closed = count(EventKind::Closed);
        auto out = deliver(from(p, ACK | FIN));
        ASSERT_EQ(out.size(), 1u) << "port " << p.port;
        EXPECT_EQ(out[0].seg.flags, ACK | FIN);
        EXPECT_EQ(out[0].seg.seq.raw(), p.rcv);
        EXPECT_EQ(out[0].seg.ack.raw(), p.snd + 1);
        EXPECT_EQ(state_of(p), State::LastAck);
        p.snd += 1;
        p.rcv += 1;
        EXPECT_TRUE(deliver(from(p, ACK)).empty());
        EXPECT_EQ(handle(p), kNoConn);
        EXPECT_EQ(count(EventKind::Closed), closed + 1);
    }

    // We close first: our FIN, its ACK (FIN-WAIT-2), its FIN, our last ACK (TIME_WAIT if a record is free).
    void close_by_us(Peer& p) {
        st->close(handle(p));
        auto out = take();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].seg.flags, ACK | FIN);
        EXPECT_EQ(out[0].seg.seq.raw(), p.rcv);
        p.rcv += 1;
        EXPECT_TRUE(deliver(from(p, ACK)).empty());
        EXPECT_EQ(state_of(p), State::FinWait2);
        out = deliver(from(p, ACK | FIN));
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].seg.flags, ACK);
        EXPECT_EQ(out[0].seg.seq.raw(), p.rcv);
        EXPECT_EQ(out[0].seg.ack.raw(), p.snd + 1);
        p.snd += 1;
    }
};

// ------------------------------------------------------------------ TCB pool

TEST_F(Exhaustion, TcbPoolFullRefusesNewConnectionsCountedWhileEstablishedOnesCarryOn) {
    cfg.max_conns = 3;
    cfg.half_open_limit = 1;
    cfg.cookies = CookieMode::Auto;
    make();
    st->listen(kUsPort);
    std::vector<Peer> est = {open(40000), open(40001), open(40002)};
    ASSERT_EQ(st->active_conns(), 3u);

    // A SYN costs a SYN-RECEIVED record, not a TCB; the ACK that would need one is dropped, the record kept.
    Peer rec = syn(40003);
    ack(rec);
    EXPECT_EQ(st->counters().tcb_pool_empty, 1u);
    EXPECT_EQ(state_of(rec), State::SynReceived);
    // Beyond the half-open limit a cookie answers; its valid ACK finds no TCB either: dropped, no state, no RST.
    Peer cookie = syn(40004);
    EXPECT_EQ(st->counters().syncookies_sent, 1u);
    ack(cookie);
    EXPECT_EQ(st->counters().tcb_pool_empty, 2u);
    EXPECT_EQ(st->counters().syncookies_ok, 0u);
    EXPECT_EQ(st->counters().syncookies_failed, 0u);
    EXPECT_EQ(handle(cookie), kNoConn);
    // An active open is refused the same way.
    uint32_t c = 0;
    EXPECT_EQ(st->connect(kUs, 5000, kPeer, 80, 0, now, &c), Stack::ConnectResult::PoolEmpty);
    EXPECT_EQ(st->counters().tcb_pool_empty, 3u);
    EXPECT_EQ(st->counters().table_full, 0u);

    for (Peer& p : est) ASSERT_NO_FATAL_FAILURE(exchange(p));
    EXPECT_EQ(st->counters().rx_data_bytes, 12u);

    // A connection ends: the record's retransmitted ACK now gets the TCB; another: the cookie's next segment.
    ASSERT_NO_FATAL_FAILURE(close_by_peer(est[0]));
    ack(rec);
    EXPECT_EQ(state_of(rec), State::Established);
    ASSERT_NO_FATAL_FAILURE(close_by_peer(est[1]));
    ack(cookie);
    EXPECT_EQ(state_of(cookie), State::Established);
    EXPECT_EQ(st->counters().syncookies_ok, 1u);
    EXPECT_EQ(count(EventKind::Accepted), 5u);

    for (Peer* p : {&est[2], &rec, &cookie}) {
        ASSERT_NO_FATAL_FAILURE(exchange(*p));
        ASSERT_NO_FATAL_FAILURE(close_by_peer(*p));
    }
    EXPECT_EQ(st->counters().conn_closed, 5u);
    EXPECT_EQ(st->counters().tcb_pool_empty, 3u);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->half_open(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

// ------------------------------------------------------------------ TIME_WAIT records

TEST_F(Exhaustion, TimeWaitRecordsFullCloseWithoutTimeWaitCountedAndFreeAgainAfterTwoMsl) {
    cfg.max_timewait = 2;
    cfg.msl_ms = 100;
    cfg.cookies = CookieMode::Off;  // so that an ACK to the listener is just that (no cookie check)
    make();
    st->listen(kUsPort);
    std::vector<Peer> p = {open(40000), open(40001), open(40002), open(40003)};
    ASSERT_NO_FATAL_FAILURE(close_by_us(p[0]));
    ASSERT_NO_FATAL_FAILURE(close_by_us(p[1]));
    EXPECT_EQ(st->timewait_count(), 2u);
    // Like Linux's "time wait bucket table overflow": the third closes at once, without a record.
    ASSERT_NO_FATAL_FAILURE(close_by_us(p[2]));
    EXPECT_EQ(st->counters().tw_pool_full, 1u);
    EXPECT_EQ(st->counters().tw_entered, 2u);
    EXPECT_EQ(st->counters().conn_closed, 3u);
    EXPECT_EQ(count(EventKind::Closed), 3u);
    EXPECT_EQ(handle(p[2]), kNoConn);
    EXPECT_EQ(st->timewait_count(), 2u);
    // The price of no record: the peer's retransmitted FIN (our last ACK lost) meets only the listener, and
    // an ACK in LISTEN is answered by RST (RFC 9293 §3.10.7.2).
    auto out = deliver(from(Peer{p[2].port, p[2].snd - 1, p[2].rcv}, ACK | FIN));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.flags, RST);
    EXPECT_EQ(out[0].seg.seq.raw(), p[2].rcv);
    EXPECT_EQ(st->counters().bad_ack_rst, 1u);

    // The established one carries on while the records are full.
    ASSERT_NO_FATAL_FAILURE(exchange(p[3]));
    ASSERT_NO_FATAL_FAILURE(exchange(p[3]));
    // 2MSL later both records are gone and the next active close gets one again.
    (void)advance_ms(201);
    EXPECT_EQ(st->counters().tw_expired, 2u);
    EXPECT_EQ(st->timewait_count(), 0u);
    ASSERT_NO_FATAL_FAILURE(close_by_us(p[3]));
    EXPECT_EQ(st->timewait_count(), 1u);
    EXPECT_EQ(st->counters().tw_entered, 3u);
    EXPECT_EQ(st->counters().tw_pool_full, 1u);
    (void)advance_ms(201);
    EXPECT_EQ(st->timewait_count(), 0u);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

// ------------------------------------------------------------------ half-open limit

TEST_F(Exhaustion, HalfOpenLimitReachedCookiesTakeOverAndEveryHandshakeCompletes) {
    cfg.half_open_limit = 2;
    cfg.cookies = CookieMode::Auto;
    make();
    st->listen(kUsPort);
    Peer first = open(39999);
    std::vector<Peer> p;
    for (uint16_t i = 0; i < 6; ++i) {
        p.push_back(syn(static_cast<uint16_t>(40000 + i)));
        ASSERT_NO_FATAL_FAILURE(exchange(first));  // served between the SYNs
    }
    EXPECT_EQ(st->half_open(), 2u);
    EXPECT_EQ(st->counters().passive_opens, 3u);  // `first` and the two records
    EXPECT_EQ(st->counters().syncookies_sent, 4u);
    EXPECT_EQ(st->counters().half_open_dropped, 0u);
    EXPECT_EQ(state_of(p[0]), State::SynReceived);
    EXPECT_EQ(state_of(p[1]), State::SynReceived);
    for (size_t i = 2; i < p.size(); ++i) EXPECT_EQ(handle(p[i]), kNoConn);  // a cookie keeps no state

    for (Peer& q : p) ack(q);
    EXPECT_EQ(st->counters().syncookies_ok, 4u);
    EXPECT_EQ(st->counters().syncookies_failed, 0u);
    EXPECT_EQ(st->half_open(), 0u);
    EXPECT_EQ(st->active_conns(), 7u);
    EXPECT_EQ(count(EventKind::Accepted), 7u);
    for (Peer& q : p) {
        ASSERT_NO_FATAL_FAILURE(exchange(q));
        ASSERT_NO_FATAL_FAILURE(close_by_peer(q));
    }
    ASSERT_NO_FATAL_FAILURE(close_by_peer(first));
    EXPECT_EQ(st->counters().conn_closed, 7u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

TEST_F(Exhaustion, HalfOpenLimitWithCookiesOffDropsSynsCountedAndKeepsServing) {
    cfg.half_open_limit = 1;
    cfg.cookies = CookieMode::Off;
    make();
    st->listen(kUsPort);
    Peer first = open(39999);
    Peer rec = syn(40000);
    for (uint16_t i = 1; i <= 3; ++i) {
        auto s = peer_syn();
        s.src_port = static_cast<uint16_t>(40000 + i);
        EXPECT_TRUE(deliver(s).empty());
        ASSERT_NO_FATAL_FAILURE(exchange(first));
    }
    EXPECT_EQ(st->counters().half_open_dropped, 3u);
    EXPECT_EQ(st->counters().syncookies_sent, 0u);
    ack(rec);
    ASSERT_NO_FATAL_FAILURE(exchange(rec));
    ASSERT_NO_FATAL_FAILURE(close_by_peer(rec));
    ASSERT_NO_FATAL_FAILURE(close_by_peer(first));
    EXPECT_EQ(st->table_size(), 0u);
}

// ------------------------------------------------------------------ timer storm

// 10^6 SYN-RECEIVED records armed in the same instant: their SYN-ACK timers all expire in one wheel tick. The
// engine polls the wheel with a budget once per loop turn, after the turn's RX burst; here one turn is one
// data segment of an established connection, then one poll of kBudget. The poll must stop at its budget (the
// wheel's cascade of the 10^6 from level 1 to level 0 is budgeted too), so the connection is served between
// every two batches while the storm lasts, and every timer still fires: each record's SYN-ACK is
// retransmitted once, and after the second expiry (synack_retries 1) every record is gone.
TEST_F(Exhaustion, TimerStormOfAMillionExpiriesIsBudgetedAndRxIsServedBetweenBatches) {
    constexpr uint32_t kRecords = 1'000'000;
    constexpr uint32_t kBudget = 4096;
    cfg.half_open_limit = 1u << 20;
    cfg.max_conns = 16;
    cfg.max_timewait = 16;
    cfg.cookies = CookieMode::Off;
    cfg.synack_retries = 1;
    make();
    st->listen(kUsPort);
    Peer live = open(39999);

    // 16 peer addresses x 62500 ports, all at the same `now`.
    wire::TcpSegment s;
    s.dst_port = kUsPort;
    s.seq = Seq(kPeerIsn);
    s.flags = SYN;
    s.window = 65535;
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    for (uint32_t i = 0; i < kRecords; ++i) {
        s.src_port = static_cast<uint16_t>(1024 + i % 62500);
        st->input(InSegment{Ipv4{0x0B00'0000u + i / 62500}, kUs, s}, now);
        if (st->out().size() >= 1024) st->out().clear();
    }
    st->out().clear();
    ASSERT_EQ(st->half_open(), kRecords);
    ASSERT_EQ(st->counters().passive_opens, kRecords + 1);
    const uint64_t fired0 = st->counters().timers_fired;

    // One tick past the initial RTO (1 s): every record is due.
    now += Duration{1001 * kMs};
    uint32_t polls = 0, rx_between = 0;
    uint64_t synacks = 0;
    while (st->counters().synack_rtx < kRecords && polls < 10 * kRecords / kBudget) {
        const uint32_t fired = st->poll(now, kBudget);
        ++polls;
        EXPECT_LE(fired, kBudget);
        for (const OutSegment& o : st->out()) synacks += o.seg.flags == (SYN | ACK);
        st->out().clear();
        if (st->counters().synack_rtx == kRecords) break;
        // The storm is not over: the next turn's RX is served before any more timers.
        ASSERT_NO_FATAL_FAILURE(exchange(live));
        ++rx_between;
        now += Duration{10'000};  // 10 us per loop turn
    }
    EXPECT_EQ(st->counters().synack_rtx, kRecords);
    EXPECT_EQ(synacks, kRecords);
    EXPECT_EQ(st->counters().timers_fired - fired0, kRecords);
    EXPECT_EQ(st->counters().out_overflow, 0u);
    // At least one batch per kBudget expiries, each followed by a served segment (and as many batches again
    // for the cascade's moves).
    EXPECT_GE(polls, kRecords / kBudget);
    EXPECT_EQ(rx_between, polls - 1);
    EXPECT_EQ(st->counters().rx_data_bytes, 4u * rx_between);
    EXPECT_EQ(st->half_open(), kRecords);

    // The second expiry (2 s backoff) ends every record (synack_retries), again in batches.
    now += Duration{2001 * kMs};
    polls = 0;
    while (st->half_open() != 0 && polls < 10 * kRecords / kBudget) {
        EXPECT_LE(st->poll(now, kBudget), kBudget);
        ++polls;
        st->out().clear();
        if (st->half_open() != 0) {
            ASSERT_NO_FATAL_FAILURE(exchange(live));
        }
        now += Duration{10'000};
    }
    EXPECT_GE(polls, kRecords / kBudget);
    EXPECT_EQ(st->half_open(), 0u);
    EXPECT_EQ(st->counters().synack_timeouts, kRecords);
    EXPECT_EQ(st->table_size(), 1u);  // `live` alone
    ASSERT_NO_FATAL_FAILURE(close_by_peer(live));
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

}  // namespace
