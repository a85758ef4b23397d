// The synchronized states (RFC 9293 §3.10.7.4): ESTABLISHED (data in and out, delayed ACK, the sequence and
// RST/SYN checks of RFC 5961, the peer's window, PAWS) and the closing states FIN-WAIT-1, FIN-WAIT-2,
// CLOSE-WAIT, LAST-ACK and CLOSING (RFC 9293 §3.6), then one whole active lifecycle down to no state at all.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

// ------------------------------------------------------------------ ESTABLISHED

TEST_F(Established, InOrderDataIsDeliveredAndAckDelayed) {
    to_established_passive();
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "0123456789"));
    EXPECT_TRUE(out.empty());
    ASSERT_EQ(count(EventKind::Data), 1u);
    EXPECT_EQ(events[0].len, 10u);
    EXPECT_EQ(tcb().rcv_nxt.raw(), kPeerIsn + 11);  // crossed 2^32
    EXPECT_EQ(tcb().delack_at_ms - st->now_ms(), 40u);
    // The delayed-ACK timer fires after 40 ms with exactly one ACK.
    EXPECT_TRUE(advance_ms(39).empty());
    out = advance_ms(2);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 11);
    EXPECT_EQ(st->counters().delayed_acks, 1u);
}

TEST_F(Established, SecondSegmentIsAckedAtOnce) {
    to_established_passive();
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 1, std::string(100, 'a'))).empty());
    auto out = deliver(peer(ACK, kPeerIsn + 101, iss + 1, std::string(100, 'b')));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 201);
}

TEST_F(Established, ResponseFromDataEventPiggybacksAck) {
    to_established_passive();
    static const std::string resp = "HTTP/1.1 200 OK\r\n\r\n";
    on_ev = [](Stack& s, const Event& e) {
        if (e.kind == EventKind::Data) {
            EXPECT_TRUE(s.send(e.conn, reinterpret_cast<const uint8_t*>(resp.data()), static_cast<uint32_t>(resp.size())));
        }
    };
    auto out = deliver(peer(ACK | PSH, kPeerIsn + 1, iss + 1, "GET /"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | PSH, iss + 1, kPeerIsn + 6, static_cast<uint32_t>(resp.size()));
    EXPECT_EQ(tcb().delack_at_ms, 0u);
    EXPECT_EQ(tcb().main_timer, MainTimer::Rtx);
    // The ACK of the response releases the buffer (SendDone) and stops the timer.
    events.clear();
    out = deliver(peer(ACK, kPeerIsn + 6, iss + 1 + static_cast<uint32_t>(resp.size())));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(count(EventKind::SendDone), 1u);
    EXPECT_EQ(tcb().main_timer, MainTimer::None);
    EXPECT_FALSE(st->has_deadline(conn()));
}

TEST_F(Established, SendAndCloseInDataEventLeaveAsOneSegment) {
    to_established_passive();
    static const std::string resp = "HTTP/1.1 200 OK\r\n\r\n";
    on_ev = [](Stack& s, const Event& e) {
        if (e.kind == EventKind::Data) {
            EXPECT_TRUE(s.send(e.conn, reinterpret_cast<const uint8_t*>(resp.data()), static_cast<uint32_t>(resp.size())));
            s.close(e.conn);
        }
    };
    auto out = deliver(peer(ACK | PSH, kPeerIsn + 1, iss + 1, "GET /"));
    ASSERT_EQ(out.size(), 1u);  // data, FIN and the ACK of the request in one segment
    expect_seg(out[0], ACK | PSH | FIN, iss + 1, kPeerIsn + 6, static_cast<uint32_t>(resp.size()));
    EXPECT_EQ(state(), State::FinWait1);
    EXPECT_EQ(tcb().snd_max.raw(), iss + 2 + static_cast<uint32_t>(resp.size()));
}

TEST_F(Established, OutOfOrderSegmentHeldWithImmediateDupAck) {
    to_established_passive();
    auto out = deliver(peer(ACK, kPeerIsn + 101, iss + 1, "later"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(out[0].seg.opt.num_sack, 0u);  // SACK was not permitted by this peer's SYN
    EXPECT_EQ(st->counters().ooo_queued, 1u);
    EXPECT_EQ(st->counters().ooo_dropped, 0u);
    EXPECT_EQ(st->reasm_blocks_used(), 1u);
    EXPECT_EQ(count(EventKind::Data), 0u);
}

TEST_F(Established, OldDuplicateDataGetsAck) {
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "abc"));
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "abc"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 4);
    EXPECT_EQ(count(EventKind::Data), 1u);
}

TEST_F(Established, OverlappingSegmentDeliversOnlyNewBytes) {
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "abc"));
    events.clear();
    (void)deliver(peer(ACK, kPeerIsn + 2, iss + 1, "bcdef"));
    ASSERT_EQ(count(EventKind::Data), 1u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(events[0].data), events[0].len), "def");
}

TEST_F(Established, SegmentBeyondWindowGetsAckNotSilence) {
    to_established_passive();
    auto out = deliver(peer(ACK, kPeerIsn + 1 + cfg.rcv_wnd, iss + 1, "x"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(st->counters().unacceptable_seq, 1u);
}

TEST_F(Established, ExactRstResets) {
    to_established_passive();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn + 1, 0)).empty());
    EXPECT_EQ(conn(), kNoConn);
    ASSERT_EQ(count(EventKind::Aborted), 1u);
    EXPECT_EQ(events[0].reason, AbortReason::Reset);
    EXPECT_EQ(st->counters().conn_reset, 1u);
    EXPECT_EQ(st->timers_pending(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
}

TEST_F(Established, InWindowRstGetsChallengeAck) {
    to_established_passive();
    auto out = deliver(peer(RST, kPeerIsn + 100, 0));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(st->counters().rst_in_window, 1u);
    EXPECT_EQ(st->counters().challenge_acks, 1u);
}

TEST_F(Established, OutOfWindowRstIsDropped) {
    to_established_passive();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn - 100, 0)).empty());
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(st->counters().rst_out_of_window, 1u);
}

TEST_F(Established, SynGetsChallengeAck) {
    to_established_passive();
    auto out = deliver(peer(SYN, kPeerIsn + 1, 0));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(st->counters().syn_in_synchronized, 1u);
}

TEST_F(Established, ChallengeAcksAreRateLimited) {
    cfg.challenge_ack_per_sec = 3;
    make();
    to_established_passive();
    for (int i = 0; i < 5; ++i) (void)deliver(peer(RST, kPeerIsn + 100 + static_cast<uint32_t>(i), 0));
    EXPECT_EQ(st->counters().challenge_acks, 3u);
    EXPECT_EQ(st->counters().challenge_acks_limited, 2u);
    (void)advance_ms(1000);  // a new second refills the budget
    EXPECT_EQ(deliver(peer(RST, kPeerIsn + 100, 0)).size(), 1u);
}

TEST_F(Established, AckOfUnsentDataGetsAckAndIsDropped) {
    to_established_passive();
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 100, "zz"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);  // data not taken
    EXPECT_EQ(st->counters().ack_too_new, 1u);
    EXPECT_EQ(count(EventKind::Data), 0u);
}

TEST_F(Established, SegmentWithoutAckIsDropped) {
    to_established_passive();
    EXPECT_TRUE(deliver(peer(PSH, kPeerIsn + 1, 0, "x")).empty());
    EXPECT_EQ(st->counters().no_ack_dropped, 1u);
}

TEST_F(Established, FinEntersCloseWaitAndAcksAtOnce) {
    to_established_passive();
    auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 1));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 2);
    EXPECT_EQ(state(), State::CloseWait);
    EXPECT_EQ(count(EventKind::PeerFin), 1u);
}

TEST_F(Established, CloseSendsFinAndEntersFinWait1) {
    to_established_passive();
    st->close(conn());
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(state(), State::FinWait1);
    EXPECT_EQ(tcb().main_timer, MainTimer::Rtx);
}

TEST_F(Established, SendThenCloseCarriesFinOnLastSegment) {
    to_established_passive();
    static const std::string body(3000, 'x');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 3000));
    st->close(conn());
    auto out = take();
    ASSERT_EQ(out.size(), 4u);  // 1460 + 1460 + 80 went at send(), within the initial window; then the FIN
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1, 1460);
    expect_seg(out[1], ACK, iss + 1461, kPeerIsn + 1, 1460);
    expect_seg(out[2], ACK | PSH, iss + 2921, kPeerIsn + 1, 80);
    expect_seg(out[3], ACK | FIN, iss + 3001, kPeerIsn + 1);
    EXPECT_EQ(tcb().snd_max.raw(), iss + 3002);
    // A response sent and closed from one event, window permitting, carries the FIN on its last segment.
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 3002));
    EXPECT_EQ(state(), State::FinWait2);
}

TEST_F(Established, AbortSendsRstAck) {
    to_established_passive();
    st->abort(conn());
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST | ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->counters().conn_aborted_local, 1u);
    EXPECT_TRUE(events.empty());
}

TEST_F(Established, SendRefusedWhileBufferOutstanding) {
    to_established_passive();
    static const std::string a = "aaaa";
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(a.data()), 4));
    EXPECT_FALSE(st->send(conn(), reinterpret_cast<const uint8_t*>(a.data()), 4));
    EXPECT_EQ(st->counters().send_refused, 1u);
}

TEST_F(Established, PeerWindowLimitsSending) {
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 1000));  // window update to 1000
    static const std::string body(3000, 'y');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 3000));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1, 1000);
}

TEST_F(Established, ZeroWindowArmsPersistAndProbes) {
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 0));
    static const std::string body(100, 'z');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 100));
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(tcb().main_timer, MainTimer::Persist);
    auto out = advance_ms(1000);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss, kPeerIsn + 1);  // SND.UNA - 1: elicits a window update
    EXPECT_EQ(st->counters().zero_window_probes, 1u);
    // The window opens: data flows.
    out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 5000));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | PSH, iss + 1, kPeerIsn + 1, 100);
}

TEST_F(Established, PawsRejectsOldTimestamp) {
    st->listen(kUsPort);
    auto syn = peer_syn(true);
    auto out = deliver(syn);
    iss = out[0].seg.seq.raw();
    auto ack = peer(ACK, kPeerIsn + 1, iss + 1);
    ack.opt.has_ts = true;
    ack.opt.tsval = 2000;
    ack.opt.tsecr = out[0].seg.opt.tsval;
    (void)deliver(ack);
    ASSERT_EQ(state(), State::Established);
    EXPECT_EQ(tcb().ts_recent, 2000u);
    auto old = peer(ACK, kPeerIsn + 1, iss + 1, "old");
    old.opt.has_ts = true;
    old.opt.tsval = 1500;
    out = deliver(old);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_TRUE(out[0].seg.opt.has_ts);
    EXPECT_EQ(out[0].seg.opt.tsecr, 2000u);
    EXPECT_EQ(st->counters().paws_rejected, 1u);
    EXPECT_EQ(count(EventKind::Data), 0u);
}

// ------------------------------------------------------------------ FIN-WAIT-1 / FIN-WAIT-2

TEST_F(FinWait1, AckOfFinEntersFinWait2) {
    to_fin_wait1();
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 2)).empty());
    EXPECT_EQ(state(), State::FinWait2);
    EXPECT_EQ(tcb().main_timer, MainTimer::FinWait2);
}

TEST_F(FinWait1, FinWithoutAckOfOursEntersClosing) {
    to_fin_wait1();
    auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 1));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(state(), State::Closing);
}

TEST_F(FinWait1, FinAckingOursEntersTimeWait) {
    to_fin_wait1();
    auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 2));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(st->timewait_count(), 1u);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->counters().tw_entered, 1u);
    EXPECT_EQ(count(EventKind::Closed), 1u);
}

TEST_F(FinWait1, DataIsStillReceived) {
    to_fin_wait1();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "more"));
    EXPECT_EQ(count(EventKind::Data), 1u);
    EXPECT_EQ(state(), State::FinWait1);
}

TEST_F(FinWait1, FinIsRetransmittedOnTimeout) {
    to_fin_wait1();
    auto out = advance_ms(1000);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(st->counters().rto_expired, 1u);
    EXPECT_EQ(st->counters().rtx_segments, 1u);
}

TEST_F(FinWait2, DataIsReceivedHalfClose) {
    to_fin_wait2();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 2, "still talking"));
    ASSERT_EQ(count(EventKind::Data), 1u);
    EXPECT_EQ(state(), State::FinWait2);
}

TEST_F(FinWait2, FinEntersTimeWaitWithAck) {
    to_fin_wait2();
    auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 2));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(st->timewait_count(), 1u);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(count(EventKind::PeerFin), 1u);
    EXPECT_EQ(count(EventKind::Closed), 1u);
    EXPECT_EQ(st->find(kUs, kUsPort, kPeer, kPeerPort) & kTwBit, kTwBit);
}

TEST_F(FinWait2, TimeoutDropsOrphan) {
    cfg.fin_wait2_timeout_ms = 5000;
    make();
    to_fin_wait2();
    EXPECT_TRUE(advance_ms(4999).empty());
    EXPECT_EQ(state(), State::FinWait2);
    EXPECT_TRUE(advance_ms(2).empty());
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->counters().fin_wait2_timeouts, 1u);
    EXPECT_EQ(count(EventKind::Aborted), 1u);
}

TEST_F(FinWait2, ReceivingDataRestartsTimeout) {
    cfg.fin_wait2_timeout_ms = 5000;
    make();
    to_fin_wait2();
    (void)advance_ms(4000);
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 2, "still here"));
    EXPECT_EQ(tcb().main_at_ms - st->now_ms(), 5000u);
    auto out = advance_ms(4000);  // only the delayed ACK of the data
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 11);
    EXPECT_EQ(state(), State::FinWait2);
    EXPECT_EQ(count(EventKind::Aborted), 0u);
}

// ------------------------------------------------------------------ CLOSE-WAIT / LAST-ACK / CLOSING

TEST_F(CloseWait, CanStillSendThenClose) {
    to_close_wait();
    static const std::string resp = "bye";
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(resp.data()), 3));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | PSH, iss + 1, kPeerIsn + 2, 3);
    st->close(conn());
    out = take();
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 4, kPeerIsn + 2);
    EXPECT_EQ(state(), State::LastAck);
}

TEST_F(CloseWait, CloseFromPeerFinEventSendsFinWithAck) {
    to_established_passive();
    on_ev = [](Stack& s, const Event& e) {
        if (e.kind == EventKind::PeerFin) s.close(e.conn);
    };
    auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 1));
    ASSERT_EQ(out.size(), 1u);  // the FIN carries the ACK of theirs: three-segment close
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 2);
    EXPECT_EQ(state(), State::LastAck);
}

TEST_F(LastAck, AckOfFinCloses) {
    to_last_ack();
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 2, iss + 2)).empty());
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->timewait_count(), 0u);  // the passive closer keeps no TIME_WAIT
    EXPECT_EQ(count(EventKind::Closed), 1u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
    EXPECT_EQ(st->counters().conn_closed, 1u);
}

TEST_F(LastAck, FinRetransmittedOnTimeout) {
    to_last_ack();
    auto out = advance_ms(1000);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 2);
}

TEST_F(Closing, AckOfFinEntersTimeWait) {
    to_closing();
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 2, iss + 2)).empty());
    EXPECT_EQ(st->timewait_count(), 1u);
    EXPECT_EQ(st->active_conns(), 0u);
}

// ------------------------------------------------------------------ full lifecycle

TEST_F(Established, FullActiveLifecycleLeavesNoState) {
    cfg.msl_ms = 100;
    make();
    to_established_active();
    st->close(conn());
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | FIN, iss + 1, kPeerIsn + 1);
    out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 2));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(st->timewait_count(), 1u);
    (void)advance_ms(201);
    EXPECT_EQ(st->timewait_count(), 0u);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
    const auto& e = st->counters().entered;
    EXPECT_EQ(e[static_cast<size_t>(State::SynSent)], 1u);
    EXPECT_EQ(e[static_cast<size_t>(State::Established)], 1u);
    EXPECT_EQ(e[static_cast<size_t>(State::FinWait1)], 1u);
    EXPECT_EQ(e[static_cast<size_t>(State::TimeWait)], 1u);
}
