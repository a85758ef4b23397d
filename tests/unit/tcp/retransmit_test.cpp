// Timers of a synchronized connection: retransmission (RFC 6298: backoff, RTT samples, retry limits),
// congestion control (RFC 5681 slow start and fast retransmit, RFC 6582 NewReno recovery) and keepalive
// (RFC 9293 §3.8.4).
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

// ------------------------------------------------------------------ retransmission (RFC 6298)

TEST_F(Retransmit, SynBackoffThenTimeoutAborts) {
    cfg.syn_retries = 3;
    make();
    to_syn_sent();
    uint32_t waits[] = {1001, 2001, 4001};
    for (uint32_t w : waits) {
        auto out = advance_ms(w);
        ASSERT_EQ(out.size(), 1u) << w;
        EXPECT_EQ(out[0].seg.flags, SYN);
        EXPECT_EQ(out[0].seg.seq.raw(), iss);
    }
    EXPECT_TRUE(advance_ms(8001).empty());
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->counters().syn_rtx, 3u);
    EXPECT_EQ(st->counters().syn_timeouts, 1u);
    ASSERT_EQ(count(EventKind::Aborted), 1u);
    EXPECT_EQ(events.back().reason, AbortReason::SynTimeout);
}

TEST_F(Retransmit, RttSampleSetsRto) {
    to_syn_sent();
    now += Duration{50 * kMs};
    auto sa = peer(SYN | ACK, kPeerIsn, iss + 1);
    (void)deliver(sa);
    // First sample R = 50 ms: SRTT = 50, RTTVAR = 25, RTO = 50 + 4 * 25 = 150 -> clamped to 200 ms.
    EXPECT_EQ(tcb().rtt.srtt_us(), 50'000u);
    EXPECT_EQ(st->rto_ms(tcb()), 200u);
}

TEST_F(Retransmit, DataTimeoutGoesBackNAndBacksOff) {
    to_established_passive();
    static const std::string body(3000, 'd');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 3000));
    ASSERT_EQ(take().size(), 3u);
    // The handshake gave an RTT sample of ~0, so RTO = RTO.min = 200 ms.
    EXPECT_EQ(st->rto_ms(tcb()), 200u);
    auto out = advance_ms(201);
    ASSERT_EQ(out.size(), 1u);  // cwnd = 1 SMSS after a timeout
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1, 1460);
    EXPECT_EQ(tcb().cwnd, 1460u);
    EXPECT_EQ(tcb().ssthresh, 2920u);  // max(FlightSize / 2, 2 SMSS) = max(1500, 2920)
    EXPECT_EQ(tcb().main_at_ms - st->now_ms(), 400u);  // backed off
    // The ACK of the first segment lets two more go (slow start: cwnd 2920).
    out = deliver(peer(ACK, kPeerIsn + 1, iss + 1461));
    ASSERT_EQ(out.size(), 2u);
    expect_seg(out[0], ACK, iss + 1461, kPeerIsn + 1, 1460);
    expect_seg(out[1], ACK | PSH, iss + 2921, kPeerIsn + 1, 80);
}

TEST_F(Retransmit, RetriesExhaustedAborts) {
    cfg.retries2 = 2;
    make();
    to_established_passive();
    static const std::string body = "x";
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 1));
    (void)take();
    EXPECT_EQ(advance_ms(1000).size(), 1u);
    EXPECT_EQ(advance_ms(2000).size(), 1u);
    EXPECT_TRUE(advance_ms(4000).empty());
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->counters().rtx_abort, 1u);
    EXPECT_EQ(events.back().reason, AbortReason::RtxTimeout);
}

// An orphan (closed by the application, FIN sent) gives up after orphan_retries, not retries2 (Linux's
// tcp_orphan_retries); a connection the application still holds keeps retries2.
TEST_F(Retransmit, OrphanGivesUpAfterOrphanRetries) {
    cfg.orphan_retries = 2;
    cfg.retries2 = 3;
    make();
    to_fin_wait1();
    auto out = advance_ms(201);  // RTO 200 ms (handshake sample ~0)
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(advance_ms(401).size(), 1u);
    EXPECT_TRUE(advance_ms(801).empty());  // third timeout: orphan_retries (2) reached
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->counters().orphan_rtx_abort, 1u);
    EXPECT_EQ(st->counters().rtx_abort, 1u);
    EXPECT_EQ(st->counters().orphan_pressure_abort, 0u);
    EXPECT_EQ(events.back().reason, AbortReason::RtxTimeout);
    // Not closed: retries2 (3) retransmissions, then the abort.
    make();
    to_established_passive();
    static const std::string body = "x";
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 1));
    (void)take();
    for (uint32_t w : {201u, 401u, 801u}) EXPECT_EQ(advance_ms(w).size(), 1u) << w;
    EXPECT_TRUE(advance_ms(1601).empty());
    EXPECT_EQ(st->counters().rtx_abort, 1u);
    EXPECT_EQ(st->counters().orphan_rtx_abort, 0u);
}

// With 3/4 of the TCBs in use, an orphan whose retransmission timer expires is reset and freed (Linux's
// tcp_out_of_resources): <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK>. A connection not closed is retransmitted.
TEST_F(Retransmit, OrphanTimingOutUnderTcbPressureIsResetAndFreed) {
    cfg.max_conns = 4;  // pressure from 3 TCBs in use
    make();
    to_fin_wait1();
    uint32_t c = 0;
    ASSERT_EQ(st->connect(kUs, 1000, kPeer, 5000, 0, now, &c), Stack::ConnectResult::Ok);  // 2 TCBs
    (void)take();
    auto out = advance_ms(201);  // below the mark: the FIN is retransmitted
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 1);
    ASSERT_EQ(st->connect(kUs, 1001, kPeer, 5000, 0, now, &c), Stack::ConnectResult::Ok);  // 3 TCBs
    (void)take();
    out = advance_ms(401);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST | ACK, iss + 2, kPeerIsn + 1);
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->active_conns(), 2u);
    EXPECT_EQ(st->counters().orphan_pressure_abort, 1u);
    EXPECT_EQ(st->counters().rtx_abort, 1u);
    EXPECT_EQ(events.back().reason, AbortReason::RtxTimeout);
    // Still 3 TCBs with this one: an established connection with data out is retransmitted, not reset.
    to_established_passive();
    static const std::string body = "x";
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 1));
    (void)take();
    out = advance_ms(201);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.flags & RST, 0);
    EXPECT_EQ(out[0].seg.payload_len, 1u);
    EXPECT_EQ(st->counters().orphan_pressure_abort, 1u);
}

// ------------------------------------------------------------------ congestion control (RFC 5681, RFC 6582)

TEST_F(Congestion, InitialWindowIsTenSegments) {
    to_established_passive();
    static const std::string body(20 * 1460, 'c');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), static_cast<uint32_t>(body.size())));
    EXPECT_EQ(take().size(), 10u);  // min(10 * 1460, max(2 * 1460, 14600)) = 14600
    EXPECT_EQ(tcb().cwnd, 14600u);
}

TEST_F(Congestion, SlowStartGrowsByAckedBytes) {
    to_established_passive();
    static const std::string body(30 * 1460, 'c');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), static_cast<uint32_t>(body.size())));
    (void)take();
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1 + 1460));
    EXPECT_EQ(tcb().cwnd, 14600u + 1460u);
    EXPECT_EQ(out.size(), 2u);  // one acked + one more of window
}

TEST_F(Congestion, ThreeDupAcksFastRetransmitThenNewRenoRecovery) {
    to_established_passive();
    static const std::string body(10 * 1460, 'c');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), static_cast<uint32_t>(body.size())));
    ASSERT_EQ(take().size(), 10u);
    // Segment 1 is lost: the peer ACKs iss+1 three more times.
    for (int i = 0; i < 2; ++i) EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 1)).empty());
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1, 1460);
    EXPECT_EQ(st->counters().fast_retransmits, 1u);
    EXPECT_EQ(tcb().ssthresh, 7300u);               // FlightSize 14600 / 2
    EXPECT_EQ(tcb().cwnd, 7300u + 3 * 1460u);       // ssthresh + 3 SMSS
    EXPECT_TRUE(tcb().flags & tcbflag::kInRecovery);
    // A partial ACK (segments 1..3 acked, 4 lost too) retransmits segment 4 at once (RFC 6582).
    out = deliver(peer(ACK, kPeerIsn + 1, iss + 1 + 3 * 1460));
    ASSERT_GE(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1 + 3 * 1460, kPeerIsn + 1, 1460);
    EXPECT_EQ(st->counters().partial_acks, 1u);
    // The full ACK ends recovery with cwnd = min(ssthresh, FlightSize + SMSS).
    out = deliver(peer(ACK, kPeerIsn + 1, iss + 1 + 10 * 1460));
    EXPECT_FALSE(tcb().flags & tcbflag::kInRecovery);
    EXPECT_EQ(tcb().cwnd, 1460u);  // nothing left in flight: min(7300, 0 + 1460)
    EXPECT_EQ(count(EventKind::SendDone), 1u);
}

// ------------------------------------------------------------------ keepalive

TEST_F(Keepalive, DeadPeerIsDetectedAndAborted) {
    cfg.keepalive = true;
    cfg.ka_idle_ms = 10'000;
    cfg.ka_intvl_ms = 1'000;
    cfg.ka_probes = 3;
    make();
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1));  // any segment (re)starts the idle timer
    EXPECT_EQ(tcb().main_timer, MainTimer::Keepalive);
    auto out = advance_ms(10'001);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss, kPeerIsn + 1);  // SEG.SEQ = SND.NXT - 1
    EXPECT_EQ(advance_ms(1001).size(), 1u);
    EXPECT_EQ(advance_ms(1001).size(), 1u);
    EXPECT_TRUE(advance_ms(1001).empty());
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->counters().keepalive_probes, 3u);
    EXPECT_EQ(st->counters().keepalive_abort, 1u);
    EXPECT_EQ(events.back().reason, AbortReason::KeepaliveTimeout);
}

TEST_F(Keepalive, LivePeerReplyResetsProbes) {
    cfg.keepalive = true;
    cfg.ka_idle_ms = 10'000;
    cfg.ka_intvl_ms = 1'000;
    cfg.ka_probes = 3;
    make();
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1));
    EXPECT_EQ(advance_ms(10'001).size(), 1u);
    EXPECT_EQ(tcb().ka_probes_sent, 1u);
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1));  // the reply
    EXPECT_EQ(tcb().ka_probes_sent, 0u);
    EXPECT_EQ(tcb().main_at_ms - st->now_ms(), 10'000u);
    EXPECT_EQ(state(), State::Established);
}
