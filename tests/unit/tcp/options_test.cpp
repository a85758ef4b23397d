// Options negotiated on the handshake and kept by the SYN-RECEIVED record until the Tcb exists: MSS (RFC 9293
// §3.7.1: 536 when absent, clamped to ours), window scale (RFC 7323 §2.3: shift at most 14, every window after
// the SYN scaled), SACK-permitted (RFC 2018) and timestamps (RFC 7323 §3), answered only when offered.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

// ------------------------------------------------------------------ options

TEST_F(Options, SynAckEchoesNegotiatedOptions) {
    st->listen(kUsPort);
    auto out = deliver(peer_syn(true, true, true));
    ASSERT_EQ(out.size(), 1u);
    const auto& o = out[0].seg.opt;
    EXPECT_TRUE(o.has_ts);
    EXPECT_EQ(o.tsecr, 1000u);
    EXPECT_TRUE(o.has_wscale);
    EXPECT_EQ(o.wscale, 2);
    EXPECT_TRUE(o.sack_permitted);
    EXPECT_EQ(syn_record().opts.snd_wscale, 7);
    EXPECT_EQ(syn_record().opts.flags, tcbflag::kTsOk | tcbflag::kSackOk | tcbflag::kWsOk);
    EXPECT_EQ(syn_record().opts.ts_recent, 1000u);
    // The Tcb made when the handshake completes carries all of it.
    auto ack = peer(ACK, kPeerIsn + 1, out[0].seg.seq.raw() + 1);
    ack.opt.has_ts = true;
    ack.opt.tsval = 1001;
    ack.opt.tsecr = o.tsval;
    EXPECT_TRUE(deliver(ack).empty());
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(tcb().snd_wscale, 7);
    EXPECT_EQ(tcb().rcv_wscale, 2);
    EXPECT_EQ(tcb().flags & (tcbflag::kTsOk | tcbflag::kSackOk | tcbflag::kWsOk | tcbflag::kPassive),
              tcbflag::kTsOk | tcbflag::kSackOk | tcbflag::kWsOk | tcbflag::kPassive);
    EXPECT_EQ(tcb().ts_recent, 1001u);
    EXPECT_EQ(tcb().mss, 1460);
    EXPECT_TRUE(tcb().rtt.has_sample());  // the SYN-ACK was timed from the record
}

TEST_F(Options, PeerMssClampedToOurs) {
    st->listen(kUsPort);
    auto syn = peer_syn();
    syn.opt.mss = 9000;
    auto out = deliver(syn);
    EXPECT_EQ(syn_record().opts.mss, 1460);
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, out[0].seg.seq.raw() + 1)).empty());
    EXPECT_EQ(tcb().mss, 1460);
}

TEST_F(Options, MissingMssMeans536) {
    st->listen(kUsPort);
    auto syn = peer(SYN, kPeerIsn, 0);
    auto out = deliver(syn);
    EXPECT_EQ(syn_record().opts.mss, 536);
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, out[0].seg.seq.raw() + 1)).empty());
    EXPECT_EQ(tcb().mss, 536);
}

TEST_F(Options, WindowScaleAbove14IsClamped) {
    st->listen(kUsPort);
    auto syn = peer_syn(false, true);
    syn.opt.wscale = 20;
    auto out = deliver(syn);
    EXPECT_EQ(syn_record().opts.snd_wscale, 14);
    EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, out[0].seg.seq.raw() + 1)).empty());
    EXPECT_EQ(tcb().snd_wscale, 14);
}

TEST_F(Options, ScaledWindowAfterHandshake) {
    st->listen(kUsPort);
    auto out = deliver(peer_syn(false, true));
    iss = out[0].seg.seq.raw();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 100));
    EXPECT_EQ(tcb().snd_wnd, 100u << 7);
    static const std::string d = "x";
    ASSERT_TRUE(st->send(conn(), reinterpret_cast<const uint8_t*>(d.data()), 1));
    auto o = take();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].seg.window, 262140u >> 2);
}
