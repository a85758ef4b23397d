// Opening a connection (RFC 9293 §3.5, §3.10.7): a segment for no connection (CLOSED: the reset of §3.10.7.1),
// LISTEN, SYN-SENT (active and simultaneous open) and SYN-RECEIVED, which on the passive side is a compact record
// (no Tcb until the handshake completes): its SYN-ACK retransmission (RFC 6298 §2.1, §5.5), RFC 5961 checks,
// PAWS (RFC 7323 §5) and the record's life.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

// ------------------------------------------------------------------ CLOSED (no connection, no listener)

TEST_F(Closed, SynGetsRstAckWithSeqZero) {
    auto out = deliver(peer(SYN, kPeerIsn, 0));
    ASSERT_EQ(out.size(), 1u);
    // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SEG.LEN counts the SYN.
    expect_seg(out[0], RST | ACK, 0, kPeerIsn + 1);
    EXPECT_EQ(st->counters().rst_no_conn, 1u);
    EXPECT_EQ(st->active_conns(), 0u);
}

TEST_F(Closed, AckGetsRstWithSeqOfAck) {
    auto out = deliver(peer(ACK, kPeerIsn, 0x1234'5678, "abc"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST, 0x1234'5678, 0);
    EXPECT_EQ(st->counters().rst_no_conn, 1u);
}

TEST_F(Closed, DataWithoutAckGetsRstAckCoveringData) {
    auto out = deliver(peer(PSH, kPeerIsn, 0, "hello"));  // 5 octets crossing the wrap
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST | ACK, 0, kPeerIsn + 5);
}

TEST_F(Closed, RstIsDroppedSilently) {
    auto out = deliver(peer(RST, kPeerIsn, 0));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(st->counters().rst_rx_no_conn, 1u);
    EXPECT_EQ(st->counters().rst_no_conn, 0u);
}

// ------------------------------------------------------------------ LISTEN

TEST_F(Listen, SynSendsSynAckAndEntersSynReceived) {
    st->listen(kUsPort);
    auto out = deliver(peer_syn());
    ASSERT_EQ(out.size(), 1u);
    const auto& o = out[0];
    EXPECT_EQ(o.seg.flags, SYN | ACK);
    EXPECT_EQ(o.seg.ack.raw(), kPeerIsn + 1);
    EXPECT_EQ(o.seg.window, 65535);  // min(rcv_wnd, 65535): SYN windows are unscaled
    EXPECT_TRUE(o.seg.opt.has_mss);
    EXPECT_EQ(o.seg.opt.mss, 1460);
    EXPECT_FALSE(o.seg.opt.has_ts);      // the peer offered none
    EXPECT_FALSE(o.seg.opt.has_wscale);
    EXPECT_FALSE(o.seg.opt.sack_permitted);
    EXPECT_EQ(state(), State::SynReceived);
    // A compact record, not a Tcb: what the SYN negotiated and the SYN-ACK's timer.
    const SynRecord& r = syn_record();
    EXPECT_EQ(r.iss.raw(), o.seg.seq.raw());
    EXPECT_EQ(r.irs.raw(), kPeerIsn);
    EXPECT_EQ(r.opts.mss, 1460);
    EXPECT_EQ(r.opts.flags, 0);
    EXPECT_EQ(r.retries, 0);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->half_open(), 1u);
    EXPECT_TRUE(st->syn_timer_armed(conn() & kIndexMask));
    expect_fires_at(st->syn_timer_expiry(conn() & kIndexMask), now + Duration{1000 * kMs});  // RFC 6298 §2.1
    EXPECT_EQ(st->timers_pending(), 1u);
    EXPECT_EQ(st->counters().passive_opens, 1u);
    EXPECT_EQ(st->counters().entered[static_cast<size_t>(State::SynReceived)], 1u);
    EXPECT_TRUE(events.empty());
}

TEST_F(Listen, AckWithoutCookiesGetsRst) {
    cfg.cookies = CookieMode::Off;
    make();
    st->listen(kUsPort);
    auto out = deliver(peer(ACK, kPeerIsn, 0xABCD));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST, 0xABCD, 0);
    EXPECT_EQ(st->counters().bad_ack_rst, 1u);
}

TEST_F(Listen, RstIsIgnored) {
    st->listen(kUsPort);
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn, 0)).empty());
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->counters().rst_rx_no_conn, 1u);
    EXPECT_EQ(st->counters().rst_no_conn, 0u);
}

TEST_F(Listen, SegmentWithoutSynOrAckIsDropped) {
    st->listen(kUsPort);
    EXPECT_TRUE(deliver(peer(PSH, kPeerIsn, 0, "x")).empty());
    EXPECT_EQ(st->counters().no_ack_dropped, 1u);
}

TEST_F(Listen, SynBeyondHalfOpenLimitWithCookiesOffIsDropped) {
    cfg.cookies = CookieMode::Off;
    cfg.half_open_limit = 1;
    make();
    st->listen(kUsPort);
    ASSERT_EQ(deliver(peer_syn()).size(), 1u);
    auto s2 = peer_syn();
    s2.src_port = kPeerPort + 1;
    EXPECT_TRUE(deliver(s2).empty());
    EXPECT_EQ(st->counters().half_open_dropped, 1u);
    EXPECT_EQ(st->half_open(), 1u);
}

TEST_F(Listen, SynWithDataCountsIgnoredData) {
    st->listen(kUsPort);
    auto s = peer_syn();
    s.payload = reinterpret_cast<const uint8_t*>("early");
    s.payload_len = 5;
    auto out = deliver(s);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.ack.raw(), kPeerIsn + 1);  // data not acknowledged
    EXPECT_EQ(st->counters().syn_data_ignored, 1u);
}

TEST_F(SynReceived, AckWithTcbPoolEmptyKeepsTheRecord) {
    // SYN-RECEIVED costs no Tcb; the Tcb is taken when the handshake completes. With none free the ACK is
    // dropped (counted) and the record waits for the peer's retransmission.
    cfg.max_conns = 1;
    cfg.cookies = CookieMode::Off;
    make();
    st->listen(kUsPort);
    auto first = deliver(peer_syn());
    ASSERT_EQ(first.size(), 1u);
    auto s2 = peer_syn();
    s2.src_port = kPeerPort + 1;
    auto second = deliver(s2);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(st->half_open(), 2u);
    EXPECT_EQ(st->active_conns(), 0u);
    auto a1 = peer(ACK, kPeerIsn + 1, first[0].seg.seq.raw() + 1);
    EXPECT_TRUE(deliver(a1).empty());
    EXPECT_EQ(state(), State::Established);
    auto a2 = peer(ACK, kPeerIsn + 1, second[0].seg.seq.raw() + 1);
    a2.src_port = kPeerPort + 1;
    EXPECT_TRUE(deliver(a2).empty());
    EXPECT_EQ(st->counters().tcb_pool_empty, 1u);
    const uint32_t v = st->find(kUs, kUsPort, kPeer, kPeerPort + 1);
    EXPECT_EQ(st->state_of(v), State::SynReceived);
    EXPECT_EQ(st->half_open(), 1u);
    EXPECT_EQ(st->active_conns(), 1u);
    EXPECT_EQ(count(EventKind::Accepted), 1u);
}

// ------------------------------------------------------------------ SYN-SENT

TEST_F(SynSent, ConnectSendsSynWithAllOptions) {
    uint32_t c = 0;
    ASSERT_EQ(st->connect(kUs, kUsPort, kPeer, kPeerPort, 5, now, &c), Stack::ConnectResult::Ok);
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    const auto& s = out[0].seg;
    EXPECT_EQ(s.flags, SYN);
    EXPECT_EQ(s.window, 65535);
    EXPECT_TRUE(s.opt.has_mss);
    EXPECT_EQ(s.opt.mss, 1460);
    EXPECT_TRUE(s.opt.has_ts);
    EXPECT_EQ(s.opt.tsecr, 0u);
    EXPECT_TRUE(s.opt.has_wscale);
    EXPECT_EQ(s.opt.wscale, 2);  // 262140 needs a shift of 2 to fit 16 bits
    EXPECT_TRUE(s.opt.sack_permitted);
    EXPECT_EQ(st->tcb(c).state, State::SynSent);
    EXPECT_EQ(st->tcb(c).snd_nxt, s.seq + 1);
    EXPECT_EQ(st->tcb(c).main_timer, MainTimer::Rtx);
    EXPECT_EQ(st->counters().active_opens, 1u);
}

TEST_F(SynSent, ConnectTwiceSameTupleIsExists) {
    to_syn_sent();
    uint32_t c = 0;
    EXPECT_EQ(st->connect(kUs, kUsPort, kPeer, kPeerPort, 5, now, &c), Stack::ConnectResult::Exists);
}

TEST_F(SynSent, SynAckEstablishesAndAcks) {
    to_syn_sent();
    auto sa = peer(SYN | ACK, kPeerIsn, iss + 1);
    sa.opt.has_mss = true;
    sa.opt.mss = 1400;
    auto out = deliver(sa);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(tcb().mss, 1400);
    EXPECT_EQ(tcb().snd_wscale, 0);  // the peer sent no WS: neither side scales (RFC 7323 §2.2)
    EXPECT_EQ(tcb().rcv_wscale, 0);
    EXPECT_EQ(tcb().snd_wnd, 65535u);
    EXPECT_EQ(out[0].seg.window, 65535);
    EXPECT_FALSE(out[0].seg.opt.has_ts);
    ASSERT_EQ(count(EventKind::Connected), 1u);
    EXPECT_EQ(events[0].user, 77u);
    EXPECT_FALSE(st->has_deadline(conn()));  // nothing outstanding
    EXPECT_EQ(st->counters().conn_established, 1u);
}

TEST_F(SynSent, SynAckWithBadAckGetsRst) {
    to_syn_sent();
    auto out = deliver(peer(SYN | ACK, kPeerIsn, iss + 5));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST, iss + 5, 0);
    EXPECT_EQ(state(), State::SynSent);
    EXPECT_EQ(st->counters().bad_ack_rst, 1u);
}

TEST_F(SynSent, AckEqualToIssGetsRst) {
    to_syn_sent();
    auto out = deliver(peer(ACK, kPeerIsn, iss));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST, iss, 0);
}

TEST_F(SynSent, RstWithAcceptableAckRefuses) {
    to_syn_sent();
    auto out = deliver(peer(RST | ACK, 0, iss + 1));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(conn(), kNoConn);
    ASSERT_EQ(count(EventKind::Aborted), 1u);
    EXPECT_EQ(events[0].reason, AbortReason::Refused);
    EXPECT_EQ(st->counters().conn_refused, 1u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

TEST_F(SynSent, RstWithoutAckIsIgnored) {
    to_syn_sent();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn, 0)).empty());
    EXPECT_EQ(state(), State::SynSent);
    EXPECT_EQ(st->counters().rst_out_of_window, 1u);
}

TEST_F(SynSent, SynWithoutAckIsSimultaneousOpen) {
    to_syn_sent();
    auto out = deliver(peer_syn());
    ASSERT_EQ(out.size(), 1u);
    // RFC 9293 §3.5 figure 7: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    expect_seg(out[0], SYN | ACK, iss, kPeerIsn + 1);
    EXPECT_EQ(state(), State::SynReceived);
    // ...and the peer's SYN-ACK (its ACK of our SYN) completes it.
    auto out2 = deliver(peer(ACK, kPeerIsn + 1, iss + 1));
    EXPECT_TRUE(out2.empty());
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(count(EventKind::Connected), 1u);
}

TEST_F(SynSent, SegmentWithoutSynOrRstIsDropped) {
    to_syn_sent();
    EXPECT_TRUE(deliver(peer(PSH, kPeerIsn, 0, "x")).empty());
    EXPECT_EQ(state(), State::SynSent);
    EXPECT_EQ(st->counters().no_ack_dropped, 1u);
}

TEST_F(SynSent, CloseDeletesTcb) {
    to_syn_sent();
    st->close(conn());
    EXPECT_TRUE(take().empty());
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

// ------------------------------------------------------------------ SYN-RECEIVED

TEST_F(SynReceived, AckOfSynAckEstablishes) {
    to_syn_received();
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(tcb().snd_una.raw(), iss + 1);
    EXPECT_EQ(st->half_open(), 0u);
    EXPECT_FALSE(st->has_deadline(conn()));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::Accepted);
    EXPECT_EQ(st->counters().conn_established, 1u);
    EXPECT_EQ(st->counters().entered[static_cast<size_t>(State::Established)], 1u);
}

TEST_F(SynReceived, DataWithAckEstablishesAndDelivers) {
    // The third ACK was lost; the client's first data segment completes the handshake.
    to_syn_received();
    auto out = deliver(peer(ACK | PSH, kPeerIsn + 1, iss + 1, "GET / HTTP/1.1\r\n\r\n"));
    EXPECT_EQ(state(), State::Established);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, EventKind::Accepted);
    EXPECT_EQ(events[1].kind, EventKind::Data);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(events[1].data), events[1].len), "GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(tcb().rcv_nxt.raw(), kPeerIsn + 1 + 18);
    EXPECT_TRUE(out.empty());  // the ACK is delayed
    EXPECT_NE(tcb().delack_at_ms, 0u);
}

TEST_F(SynReceived, BadAckGetsRst) {
    to_syn_received();
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 7));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST, iss + 7, 0);
    EXPECT_EQ(state(), State::SynReceived);
}

TEST_F(SynReceived, DuplicateSynRetransmitsSynAck) {
    to_syn_received();
    auto out = deliver(peer_syn());
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], SYN | ACK, iss, kPeerIsn + 1);
    EXPECT_EQ(st->counters().synack_rtx, 1u);
}

TEST_F(SynReceived, ExactRstReturnsToListen) {
    to_syn_received();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn + 1, 0)).empty());
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->half_open(), 0u);
    EXPECT_TRUE(events.empty());  // the application never saw it
    EXPECT_TRUE(st->listening(kUsPort));
}

TEST_F(SynReceived, TimeoutRetransmitsSynAckWithBackoff) {
    to_syn_received();
    EXPECT_TRUE(advance_ms(999).empty());  // never early
    auto out = advance_ms(2);               // fires within one wheel tick of the deadline
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], SYN | ACK, iss, kPeerIsn + 1);
    EXPECT_EQ(st->counters().synack_rtx, 1u);
    EXPECT_EQ(syn_record().retries, 1);
    expect_fires_at(st->syn_timer_expiry(conn() & kIndexMask), now + Duration{2000 * kMs});  // doubled
    out = advance_ms(2001);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], SYN | ACK, iss, kPeerIsn + 1);
    expect_fires_at(st->syn_timer_expiry(conn() & kIndexMask), now + Duration{4000 * kMs});
}

TEST_F(SynReceived, SynAckRetriesExhaustedFreesSilently) {
    cfg.synack_retries = 2;
    make();
    to_syn_received();
    EXPECT_EQ(advance_ms(1001).size(), 1u);
    EXPECT_EQ(advance_ms(2001).size(), 1u);
    EXPECT_TRUE(advance_ms(4001).empty());
    EXPECT_EQ(conn(), kNoConn);
    EXPECT_EQ(st->counters().synack_timeouts, 1u);
    EXPECT_EQ(st->half_open(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
}

TEST_F(SynReceived, InWindowRstGetsChallengeAck) {
    to_syn_received();
    auto out = deliver(peer(RST, kPeerIsn + 100, 0));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);  // RFC 5961 §3.2 from the record
    EXPECT_EQ(out[0].seg.window, 65535);
    EXPECT_EQ(state(), State::SynReceived);
    EXPECT_EQ(st->counters().rst_in_window, 1u);
    EXPECT_EQ(st->counters().challenge_acks, 1u);
    EXPECT_EQ(st->half_open(), 1u);
}

TEST_F(SynReceived, OutOfWindowRstIsDropped) {
    to_syn_received();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn - 5, 0)).empty());
    EXPECT_EQ(state(), State::SynReceived);
    EXPECT_EQ(st->counters().rst_out_of_window, 1u);
}

TEST_F(SynReceived, OutOfWindowSegmentGetsAck) {
    to_syn_received();
    auto out = deliver(peer(ACK, kPeerIsn + 1 + 10'000'000, iss + 1, "x"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(state(), State::SynReceived);
    EXPECT_EQ(st->active_conns(), 0u);  // not promoted
    EXPECT_EQ(st->counters().unacceptable_seq, 1u);
}

TEST_F(SynReceived, NewSynGetsChallengeAck) {
    to_syn_received();
    auto syn = peer_syn();
    syn.seq = Seq(kPeerIsn + 50);  // a different SYN in the window: not a retransmission of the first
    auto out = deliver(syn);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(st->counters().syn_in_synchronized, 1u);
    EXPECT_EQ(st->counters().synack_rtx, 0u);
    EXPECT_EQ(state(), State::SynReceived);
}

TEST_F(SynReceived, SegmentWithoutAckIsDropped) {
    to_syn_received();
    EXPECT_TRUE(deliver(peer(PSH, kPeerIsn + 1, 0, "data")).empty());
    EXPECT_EQ(st->counters().no_ack_dropped, 1u);
    EXPECT_EQ(state(), State::SynReceived);
}

TEST_F(SynReceived, OldTimestampIsRejectedByPaws) {
    st->listen(kUsPort);
    auto out = deliver(peer_syn(true));  // TSval 1000
    ASSERT_EQ(out.size(), 1u);
    iss = out[0].seg.seq.raw();
    auto ack = peer(ACK, kPeerIsn + 1, iss + 1);
    ack.opt.has_ts = true;
    ack.opt.tsval = 999;  // older than the SYN's
    auto out2 = deliver(ack);
    ASSERT_EQ(out2.size(), 1u);
    expect_seg(out2[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_TRUE(out2[0].seg.opt.has_ts);
    EXPECT_EQ(out2[0].seg.opt.tsecr, 1000u);
    EXPECT_EQ(st->counters().paws_rejected, 1u);
    EXPECT_EQ(state(), State::SynReceived);
    EXPECT_EQ(st->active_conns(), 0u);  // answered from the record, not promoted
    EXPECT_EQ(conn() & kSynBit, kSynBit);
    // The next ACK with a current timestamp completes the handshake.
    ack.opt.tsval = 1001;
    EXPECT_TRUE(deliver(ack).empty());
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(st->half_open(), 0u);
}

TEST_F(SynReceived, TimerKeepsItsDeadlineAcrossTheMsClockWrap) {
    // The stack's ms clock is 32 bits: ~49.7 days after start it wraps. A SYN-ACK timer armed 500 ms before
    // the wrap must still fire 1 s later, once (not every tick from the wrap on).
    now += Duration{((uint64_t{1} << 32) - 500) * kMs};
    st->poll(now);
    ASSERT_GT(st->now_ms(), 0xFFFF'FE00u);
    to_syn_received();
    for (int i = 0; i < 99; ++i) EXPECT_TRUE(advance_ms(10).empty()) << i;  // 990 ms, across the wrap
    EXPECT_TRUE(advance_ms(9).empty());
    EXPECT_LT(st->now_ms(), 1000u);  // wrapped
    auto out = advance_ms(2);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], SYN | ACK, iss, kPeerIsn + 1);
    EXPECT_EQ(st->counters().synack_rtx, 1u);
    EXPECT_EQ(st->counters().synack_timeouts, 0u);
}

TEST_F(SynReceived, RecordAckCarriesTheScaledWindow) {
    // Once the SYN-ACK offered our window scale, every window we send is scaled, the record's ACKs too.
    cfg.rcv_wnd = 1u << 20;  // shift 5: 32768 on the wire
    make();
    st->listen(kUsPort);
    auto out = deliver(peer_syn(false, true));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].seg.opt.has_wscale);
    EXPECT_EQ(out[0].seg.opt.wscale, 5);
    EXPECT_EQ(out[0].seg.window, 65535);  // the SYN-ACK's own window is never scaled
    iss = out[0].seg.seq.raw();
    auto ack = deliver(peer(ACK, kPeerIsn + 1 + (2u << 20), iss + 1, "x"));  // beyond the window
    ASSERT_EQ(ack.size(), 1u);
    expect_seg(ack[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(ack[0].seg.window, (1u << 20) >> 5);
}

TEST_F(SynReceived, DuplicateSynMeansNoRttSampleFromTheHandshake) {
    // Karn: after a duplicate SYN the SYN-ACK went twice, and the ACK may answer either.
    to_syn_received();
    (void)advance_ms(900);
    ASSERT_EQ(deliver(peer_syn()).size(), 1u);  // SYN-ACK again
    (void)advance_ms(10);
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 1)).empty());
    EXPECT_EQ(state(), State::Established);
    EXPECT_FALSE(tcb().rtt.has_sample());
    // Without the duplicate, the handshake is timed (10 ms here).
    make();
    to_syn_received();
    (void)advance_ms(10);
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 1)).empty());
    ASSERT_TRUE(tcb().rtt.has_sample());
    EXPECT_EQ(tcb().rtt.srtt_us(), 10'000u);
}

TEST_F(SynReceived, RecordsAreFreedAndReused) {
    // Every way out of SYN-RECEIVED returns the record: established, reset, timed out.
    cfg.half_open_limit = 1;
    cfg.cookies = CookieMode::Off;
    cfg.synack_retries = 0;
    make();
    for (int round = 0; round < 3; ++round) {
        to_syn_received();
        if (round == 0) {
            EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 1)).empty());
            EXPECT_EQ(state(), State::Established);
            st->abort(conn());
            (void)take();
        } else if (round == 1) {
            EXPECT_TRUE(deliver(peer(RST, kPeerIsn + 1, 0)).empty());
        } else {
            EXPECT_TRUE(advance_ms(1001).empty());
        }
        EXPECT_EQ(conn(), kNoConn);
        EXPECT_EQ(st->half_open(), 0u);
        EXPECT_EQ(st->timers_pending(), 0u);
        EXPECT_EQ(st->table_size(), 0u);
    }
    EXPECT_EQ(st->counters().passive_opens, 3u);
    EXPECT_EQ(st->counters().synack_timeouts, 1u);
    EXPECT_EQ(st->counters().half_open_dropped, 0u);
}
