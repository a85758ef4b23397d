// Out-of-order data and SACK through the Stack: held segments and the SACK blocks our ACKs carry (RFC 2018
// §4), their in-order hand-over (RFC 9293 §3.10.7.4), and the sender's recovery by the peer's blocks (RFC 6675
// §5), its timeout (RFC 2018 §8) and RTT samples from TSecr (RFC 7323 §4).
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

namespace {

class Sack : public StackTest {
protected:
    // Passive open with SACK-permitted on the peer's SYN (and timestamps when asked).
    void to_established_sack(bool ts = false) {
        st->listen(kUsPort);
        auto out = deliver(peer_syn(ts, false, true));
        ASSERT_EQ(out.size(), 1u);
        ASSERT_TRUE(out[0].seg.opt.sack_permitted);
        iss = out[0].seg.seq.raw();
        auto ack = peer(ACK, kPeerIsn + 1, iss + 1);
        if (ts) stamp(ack);
        ASSERT_TRUE(deliver(ack).empty());
        ASSERT_EQ(state(), State::Established);
        events.clear();
    }
    void stamp(wire::TcpSegment& s, uint32_t tsecr = 0) {
        s.opt.has_ts = true;
        s.opt.tsval = ++tsval;
        s.opt.tsecr = tsecr;
    }
    // An ACK from the peer of `ack`, SACKing the given [left, right) offsets from our ISS + 1.
    wire::TcpSegment sack_ack(uint32_t ack, std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
        auto s = peer(ACK, kPeerIsn + 1, iss + 1 + ack);
        for (auto [l, r] : blocks) s.opt.sack[s.opt.num_sack++] = {Seq(iss + 1 + l), Seq(iss + 1 + r)};
        return s;
    }
    std::string data_seen() const {
        std::string d;
        for (const auto& e : events)
            if (e.kind == EventKind::Data) d.append(reinterpret_cast<const char*>(e.data), e.len);
        return d;
    }
    uint32_t tsval = 1000;
};

}  // namespace

TEST_F(Sack, HeldSegmentsAreSackedAndDeliveredInOrderWhenTheHoleFills) {
    to_established_sack();
    std::string seen;
    on_ev = [&](Stack&, const Event& e) {  // copy at once: the bytes are valid during the event only
        if (e.kind == EventKind::Data) seen.append(reinterpret_cast<const char*>(e.data), e.len);
    };
    auto out = deliver(peer(ACK, kPeerIsn + 6, iss + 1, "world"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);  // immediate duplicate ACK
    ASSERT_EQ(out[0].seg.opt.num_sack, 1u);
    EXPECT_EQ(out[0].seg.opt.sack[0], (wire::SackBlock{Seq(kPeerIsn + 6), Seq(kPeerIsn + 11)}));
    out = deliver(peer(ACK, kPeerIsn + 20, iss + 1, "!!"));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].seg.opt.num_sack, 2u);  // the newest first (RFC 2018 §4)
    EXPECT_EQ(out[0].seg.opt.sack[0], (wire::SackBlock{Seq(kPeerIsn + 20), Seq(kPeerIsn + 22)}));
    EXPECT_EQ(out[0].seg.opt.sack[1], (wire::SackBlock{Seq(kPeerIsn + 6), Seq(kPeerIsn + 11)}));
    EXPECT_EQ(count(EventKind::Data), 0u);
    EXPECT_EQ(st->counters().ooo_queued, 2u);
    // The hole before "world" fills: both go up, in order, and the ACK (at once) still reports [20, 22).
    out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "hello"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 11);
    ASSERT_EQ(out[0].seg.opt.num_sack, 1u);
    EXPECT_EQ(out[0].seg.opt.sack[0], (wire::SackBlock{Seq(kPeerIsn + 20), Seq(kPeerIsn + 22)}));
    EXPECT_EQ(seen, "helloworld");
    EXPECT_EQ(count(EventKind::Data), 2u);
    EXPECT_EQ(st->counters().ooo_delivered_bytes, 5u);
    EXPECT_EQ(st->counters().rx_data_bytes, 10u);
    // The last hole [11, 20) with an overlap into the held "!!": only new octets are handed over.
    out = deliver(peer(ACK, kPeerIsn + 11, iss + 1, "123456789!"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 22);
    EXPECT_EQ(out[0].seg.opt.num_sack, 0u);
    EXPECT_EQ(seen, "helloworld123456789!!");
    EXPECT_EQ(st->reasm_blocks_used(), 0u);
    EXPECT_EQ(st->side_records_used(), 0u);  // nothing held: the side record went back
}

TEST_F(Sack, FinHeldOutOfOrderClosesOnceTheHoleFills) {
    to_established_sack();
    (void)deliver(peer(ACK | FIN, kPeerIsn + 6, iss + 1, "world"));
    EXPECT_EQ(state(), State::Established);
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "hello"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 12);  // data and the FIN acknowledged
    EXPECT_EQ(state(), State::CloseWait);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, EventKind::Data);
    EXPECT_EQ(events[1].kind, EventKind::Data);
    EXPECT_EQ(events[2].kind, EventKind::PeerFin);
}

TEST_F(Sack, BudgetExhaustedDropsAndCountsAndAbortFreesHeldData) {
    cfg.reasm_bytes = Reassembly::kBlockBytes;  // one block per stack
    make();
    to_established_sack();
    (void)deliver(peer(ACK, kPeerIsn + 11, iss + 1, "aaaa"));
    (void)deliver(peer(ACK, kPeerIsn + 31, iss + 1, "bbbb"));
    EXPECT_EQ(st->counters().ooo_queued, 1u);
    EXPECT_EQ(st->counters().ooo_dropped, 1u);
    EXPECT_EQ(st->reasm_blocks_used(), 1u);
    st->abort(conn());
    EXPECT_EQ(st->reasm_blocks_used(), 0u);
    EXPECT_EQ(st->side_records_used(), 0u);
}

TEST_F(Sack, RecoveryRetransmitsOnlyTheHolesTheBlocksLeave) {
    to_established_sack();
    static const std::string body(14600, 'b');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 14600));
    ASSERT_EQ(take().size(), 10u);  // initial window: ten segments of 1460 (offsets 0 .. 14600)
    const uint32_t m = 1460;
    // Segments 1 and 4 lost; the peer SACKs 2-3, then 5-9 as they arrive.
    auto out = deliver(sack_ack(m, {{2 * m, 4 * m}}));
    EXPECT_TRUE(out.empty());  // one duplicate ACK, 2 SMSS SACKed: not lost yet
    out = deliver(sack_ack(m, {{5 * m, 6 * m}, {2 * m, 4 * m}}));
    // 3 SMSS SACKed above segment 1: IsLost (RFC 6675 §4) -> recovery on the second duplicate ACK, and the
    // hole goes at once (§5 step 4.3).
    ASSERT_GE(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1 + m, kPeerIsn + 1, m);
    EXPECT_EQ(st->counters().sack_recoveries, 1u);
    EXPECT_EQ(tcb().ssthresh, 9 * m / 2);  // FlightSize (9 SMSS outstanding) / 2
    EXPECT_EQ(tcb().cwnd, tcb().ssthresh);
    // More SACKs: 5-9. Segment 4 is lost now; it goes next, and no SACKed segment is ever resent.
    out = deliver(sack_ack(m, {{5 * m, 10 * m}, {2 * m, 4 * m}}));
    bool resent_4 = false;
    for (const auto& o : out) {
        const uint32_t off = o.seg.seq.raw() - (iss + 1);
        EXPECT_TRUE(off == 4 * m || o.seg.payload_len == 0) << "resent offset " << off;
        resent_4 |= off == 4 * m && o.seg.payload_len == m;
    }
    EXPECT_TRUE(resent_4);
    EXPECT_EQ(st->counters().sack_rtx, 1u);
    EXPECT_EQ(st->counters().rtx_segments, 2u);
    // The cumulative ACK of everything ends recovery; the side record goes back.
    out = deliver(sack_ack(10 * m, {}));
    EXPECT_FALSE(tcb().flags & tcbflag::kInRecovery);
    EXPECT_EQ(st->side_records_used(), 0u);
    EXPECT_EQ(count(EventKind::SendDone), 1u);
}

TEST_F(Sack, TimeoutForgetsTheScoreboardAndGoesBackN) {
    to_established_sack();
    static const std::string body(4380, 'b');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 4380));
    ASSERT_EQ(take().size(), 3u);
    (void)deliver(sack_ack(0, {{1460, 2920}}));
    EXPECT_TRUE(tcb().flags & tcbflag::kSackBoard);
    // First the tail loss probe (RFC 8985 §7.3: PTO = max(2 SRTT, 10 ms) with SRTT ~0): the last segment again.
    auto out = advance_ms(11);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | PSH, iss + 1 + 2920, kPeerIsn + 1, 1460);
    EXPECT_EQ(st->counters().tlp_probes, 1u);
    out = advance_ms(201);  // then the RTO, armed behind the probe
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1, 1460);
    EXPECT_FALSE(tcb().flags & tcbflag::kSackBoard);  // RFC 2018 §8: the receiver may have reneged
    EXPECT_EQ(st->side_records_used(), 0u);
}

TEST_F(Sack, EchoedTimestampGivesAnRttSampleAfterARetransmission) {
    to_established_sack(true);
    static const std::string body(1000, 'b');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), 1000));
    ASSERT_EQ(take().size(), 1u);
    // The tail loss probe resends it after PTO (10 ms + 40 ms for a single outstanding segment's delayed ACK):
    // Karn's rule stops the timing.
    auto out = advance_ms(51);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_TRUE(out[0].seg.opt.has_ts);
    const uint32_t echoed = out[0].seg.opt.tsval;
    now += Duration{30 * kMs};
    auto ack = peer(ACK, kPeerIsn + 1, iss + 1001);
    stamp(ack, echoed);
    (void)deliver(ack);
    EXPECT_EQ(st->counters().rtt_ts_samples, 1u);
    // RFC 6298 §2.3: SRTT <- 7/8 SRTT + 1/8 R', with SRTT 0 from the handshake's sample.
    EXPECT_EQ(tcb().rtt.srtt_us(), 30'000u / 8);
}

TEST_F(Sack, LimitedTransmitSendsOneNewSegmentPerEarlyDuplicateAck) {
    to_established_sack();
    static const std::string body(14600 * 2, 'b');
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(body.data()), static_cast<uint32_t>(body.size())));
    ASSERT_EQ(take().size(), 10u);
    const uint32_t m = 1460;
    // RFC 3042: the first and second duplicate ACKs each let one new segment beyond cwnd go.
    auto out = deliver(sack_ack(0, {{m, 2 * m}}));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1 + 10 * m, kPeerIsn + 1, m);
    out = deliver(sack_ack(0, {{m, 3 * m}}));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1 + 11 * m, kPeerIsn + 1, m);
    EXPECT_EQ(st->counters().sack_recoveries, 0u);
}

TEST_F(Sack, OctetsReceivedTwiceAreReportedAsDsackFirst) {
    to_established_sack();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "hello"));
    (void)deliver(peer(ACK, kPeerIsn + 20, iss + 1, "xy"));  // held beyond a hole
    // A retransmission of "hello": wholly below RCV.NXT. The ACK's first block is the duplicate (RFC 2883
    // §4.1.1), then the held data.
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "hello"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 6);
    ASSERT_EQ(out[0].seg.opt.num_sack, 2u);
    EXPECT_EQ(out[0].seg.opt.sack[0], (wire::SackBlock{Seq(kPeerIsn + 1), Seq(kPeerIsn + 6)}));
    EXPECT_EQ(out[0].seg.opt.sack[1], (wire::SackBlock{Seq(kPeerIsn + 20), Seq(kPeerIsn + 22)}));
    // The held segment again (RFC 2883 §4.1.2): reported, and not kept twice.
    out = deliver(peer(ACK, kPeerIsn + 20, iss + 1, "xy"));
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].seg.opt.num_sack, 2u);
    EXPECT_EQ(out[0].seg.opt.sack[0], (wire::SackBlock{Seq(kPeerIsn + 20), Seq(kPeerIsn + 22)}));
    // A segment overlapping what arrived: its old part only.
    out = deliver(peer(ACK, kPeerIsn + 4, iss + 1, "loWORLD"));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.opt.sack[0], (wire::SackBlock{Seq(kPeerIsn + 4), Seq(kPeerIsn + 6)}));
    EXPECT_EQ(st->counters().dsack_tx, 3u);
    // The next ACK carries no stale D-SACK.
    out = deliver(peer(ACK, kPeerIsn + 11, iss + 1, "123456789"));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.opt.num_sack, 0u);
}
