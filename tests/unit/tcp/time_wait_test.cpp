// TIME-WAIT as a small record (RFC 9293 §3.6.1): the 2MSL queue, re-ACKing a retransmitted FIN, old
// duplicates, reopening by a new SYN (RFC 6191 with timestamps) and RST handling (RFC 1337 optional).
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

// ------------------------------------------------------------------ TIME-WAIT (RFC 9293 §3.6.1)

TEST_F(TimeWait, RetransmittedFinIsReAckedAndTimerRestarts) {
    // Reason 1 for TIME_WAIT: our last ACK may be lost; the peer's FIN comes again and must be ACKed, not RST.
    to_time_wait();
    (void)advance_ms(30'000);
    auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 2));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(st->counters().tw_fin_reacked, 1u);
    // 2MSL restarted: still there 59 s later, gone at 60 s.
    EXPECT_TRUE(advance_ms(59'000).empty());
    EXPECT_EQ(st->timewait_count(), 1u);
    (void)advance_ms(1'001);
    EXPECT_EQ(st->timewait_count(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
    EXPECT_EQ(st->counters().tw_expired, 1u);
}

TEST_F(TimeWait, RecordsExpireInOrderAndARestartMovesOneToTheBack) {
    // Three records in the 2MSL queue (entered 10 ms apart); the first one's FIN comes again and restarts
    // it: the others expire first, each at its own 2MSL, then the restarted one.
    cfg.msl_ms = 1000;
    make();
    st->listen(kUsPort);
    auto at_port = [this](uint16_t port, uint8_t flags, uint32_t seq, uint32_t ack) {
        auto s = peer(flags, seq, ack);
        s.src_port = port;
        s.opt.has_mss = (flags & SYN) != 0;
        s.opt.mss = 1460;
        return deliver(s);
    };
    uint32_t isss[3];
    for (uint16_t i = 0; i < 3; ++i) {
        const auto port = static_cast<uint16_t>(kPeerPort + i);
        auto sa = at_port(port, SYN, kPeerIsn, 0);
        ASSERT_EQ(sa.size(), 1u);
        isss[i] = sa[0].seg.seq.raw();
        EXPECT_TRUE(at_port(port, ACK, kPeerIsn + 1, isss[i] + 1).empty());
        st->close(st->find(kUs, kUsPort, kPeer, port));
        ASSERT_EQ(take().size(), 1u);                                      // our FIN
        EXPECT_TRUE(at_port(port, ACK, kPeerIsn + 1, isss[i] + 2).empty());  // FIN-WAIT-2
        ASSERT_EQ(at_port(port, ACK | FIN, kPeerIsn + 1, isss[i] + 2).size(), 1u);  // TIME-WAIT
        (void)advance_ms(10);
    }
    ASSERT_EQ(st->timewait_count(), 3u);
    // now = t0 + 30 ms; the first connection's FIN again.
    ASSERT_EQ(at_port(kPeerPort, ACK | FIN, kPeerIsn + 1, isss[0] + 2).size(), 1u);
    EXPECT_EQ(st->counters().tw_fin_reacked, 1u);
    auto alive = [this](uint16_t i) {
        const uint32_t v = st->find(kUs, kUsPort, kPeer, static_cast<uint16_t>(kPeerPort + i));
        return v != kNoConn && (v & kTwBit) != 0;
    };
    (void)advance_ms(1995);  // t0 + 2025: the second (expiry t0 + 2010) gone, the third (t0 + 2020) gone
    EXPECT_TRUE(alive(0));
    EXPECT_FALSE(alive(1));
    EXPECT_FALSE(alive(2));
    EXPECT_EQ(st->timewait_count(), 1u);
    (void)advance_ms(3);     // t0 + 2028: the restarted one lives to t0 + 2030
    EXPECT_TRUE(alive(0));
    (void)advance_ms(4);     // t0 + 2032
    EXPECT_FALSE(alive(0));
    EXPECT_EQ(st->timewait_count(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->timers_pending(), 0u);
    EXPECT_EQ(st->counters().tw_expired, 3u);
}

TEST_F(TimeWait, LastsTwoMsl) {
    to_time_wait();
    (void)advance_ms(59'999);
    EXPECT_EQ(st->timewait_count(), 1u);
    (void)advance_ms(2);
    EXPECT_EQ(st->timewait_count(), 0u);
}

TEST_F(TimeWait, OldDuplicateDataIsAckedNotDelivered) {
    // Reason 2: a delayed segment of the old incarnation must not be taken as new data.
    to_time_wait();
    auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 2, "stale"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(count(EventKind::Data), 0u);
    EXPECT_EQ(st->timewait_count(), 1u);
}

TEST_F(TimeWait, OldSynIsAnsweredWithAck) {
    cfg.tw_reuse = true;
    make();
    to_time_wait();
    auto out = deliver(peer(SYN, kPeerIsn, 0));  // not beyond rcv_nxt: an old SYN
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(st->timewait_count(), 1u);
}

TEST_F(TimeWait, NewSynWithHigherSeqReopens) {
    to_time_wait();
    st->listen(kUsPort);
    auto syn = peer(SYN, kPeerIsn + 100'000, 0);
    auto out = deliver(syn);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.flags, SYN | ACK);
    EXPECT_EQ(out[0].seg.ack.raw(), kPeerIsn + 100'001);
    EXPECT_EQ(st->timewait_count(), 0u);
    EXPECT_EQ(state(), State::SynReceived);
    EXPECT_EQ(st->counters().tw_reopened, 1u);
}

// The TIME_WAIT record of a connection with timestamps (TS.Recent 2000), for the RFC 6191 reuse rules.
static void syn_with_ts(wire::TcpSegment& s, uint32_t tsval) {
    s.opt.has_ts = true;
    s.opt.tsval = tsval;
}

TEST_F(TimeWait, SynWithEqualTimestampAndHigherSeqReopens) {
    // A client reusing its port within one tick of its timestamp clock: TSval equal, sequence number beyond.
    st->listen(kUsPort);
    auto out = deliver(peer_syn(true));
    iss = out[0].seg.seq.raw();
    auto ack = peer(ACK, kPeerIsn + 1, iss + 1);
    syn_with_ts(ack, 2000);
    (void)deliver(ack);
    st->close(conn());
    (void)take();
    auto a2 = peer(ACK | FIN, kPeerIsn + 1, iss + 2);
    syn_with_ts(a2, 2000);
    (void)deliver(a2);
    ASSERT_EQ(st->timewait_count(), 1u);
    auto syn = peer(SYN, kPeerIsn + 1000, 0);
    syn_with_ts(syn, 2000);
    out = deliver(syn);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.flags, SYN | ACK);
    EXPECT_EQ(st->counters().tw_reopened, 1u);
    EXPECT_EQ(state(), State::SynReceived);
}

TEST_F(TimeWait, SynWithOlderTimestampGetsAck) {
    st->listen(kUsPort);
    auto out = deliver(peer_syn(true));
    iss = out[0].seg.seq.raw();
    auto ack = peer(ACK, kPeerIsn + 1, iss + 1);
    syn_with_ts(ack, 2000);
    (void)deliver(ack);
    st->close(conn());
    (void)take();
    auto a2 = peer(ACK | FIN, kPeerIsn + 1, iss + 2);
    syn_with_ts(a2, 2000);
    (void)deliver(a2);
    auto syn = peer(SYN, kPeerIsn + 1000, 0);  // higher sequence number, but an older timestamp: PAWS wins
    syn_with_ts(syn, 1999);
    out = deliver(syn);
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 2, kPeerIsn + 2);
    EXPECT_EQ(st->counters().tw_reopened, 0u);
    EXPECT_EQ(st->timewait_count(), 1u);
}

TEST_F(TimeWait, ExactRstEndsIt) {
    to_time_wait();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn + 2, 0)).empty());
    EXPECT_EQ(st->timewait_count(), 0u);
    EXPECT_EQ(st->counters().tw_rst_killed, 1u);
}

TEST_F(TimeWait, Rfc1337IgnoresRst) {
    cfg.rfc1337 = true;
    make();
    to_time_wait();
    EXPECT_TRUE(deliver(peer(RST, kPeerIsn + 2, 0)).empty());
    EXPECT_EQ(st->timewait_count(), 1u);
}
