// SYN cookies (RFC 4987 §3.6; off, auto, always): the stateless SYN-ACK, the ACK that creates the connection
// with the options the cookie kept in the low bits of our timestamp (so only when the peer sent timestamps,
// RFC 7323 §3), invalid and stale cookies, and auto mode switching on at the half-open limit.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

// ------------------------------------------------------------------ SYN cookies

TEST_F(Cookies, AlwaysModeSendsStatelessSynAck) {
    cfg.cookies = CookieMode::Always;
    make();
    st->listen(kUsPort);
    auto out = deliver(peer_syn(true, true, true));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.flags, SYN | ACK);
    EXPECT_EQ(out[0].seg.ack.raw(), kPeerIsn + 1);
    EXPECT_EQ(out[0].seg.opt.mss, 1460);
    EXPECT_TRUE(out[0].seg.opt.has_ts);
    EXPECT_EQ(out[0].seg.opt.tsecr, 1000u);
    EXPECT_TRUE(out[0].seg.opt.sack_permitted);
    EXPECT_TRUE(out[0].seg.opt.has_wscale);
    EXPECT_EQ(out[0].seg.opt.tsval & 0x3F, 7u | 0x10u);  // wscale 7, SACK bit
    EXPECT_EQ(st->active_conns(), 0u);  // no state kept
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->counters().syncookies_sent, 1u);
}

TEST_F(Cookies, ValidCookieAckCreatesEstablishedWithOptions) {
    cfg.cookies = CookieMode::Always;
    make();
    st->listen(kUsPort);
    auto sa = deliver(peer_syn(true, true, true));
    const uint32_t cookie = sa[0].seg.seq.raw();
    auto ack = peer(ACK | PSH, kPeerIsn + 1, cookie + 1, "GET");
    ack.opt.has_ts = true;
    ack.opt.tsval = 1001;
    ack.opt.tsecr = sa[0].seg.opt.tsval;
    (void)deliver(ack);
    ASSERT_NE(conn(), kNoConn);
    EXPECT_EQ(state(), State::Established);
    EXPECT_EQ(tcb().mss, 1460);
    EXPECT_EQ(tcb().snd_wscale, 7);
    EXPECT_EQ(tcb().rcv_wscale, 2);
    EXPECT_TRUE(tcb().flags & tcbflag::kSackOk);
    EXPECT_TRUE(tcb().flags & tcbflag::kTsOk);
    EXPECT_EQ(tcb().snd_una.raw(), cookie + 1);
    EXPECT_EQ(tcb().rcv_nxt.raw(), kPeerIsn + 4);
    EXPECT_EQ(count(EventKind::Accepted), 1u);
    EXPECT_EQ(count(EventKind::Data), 1u);
    EXPECT_EQ(st->counters().syncookies_ok, 1u);
}

TEST_F(Cookies, InvalidCookieGetsRstAndCounted) {
    cfg.cookies = CookieMode::Always;
    make();
    st->listen(kUsPort);
    auto sa = deliver(peer_syn());
    const uint32_t cookie = sa[0].seg.seq.raw();
    auto out = deliver(peer(ACK, kPeerIsn + 1, cookie + 2));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], RST, cookie + 2, 0);
    EXPECT_EQ(st->counters().syncookies_failed, 1u);
    EXPECT_EQ(st->active_conns(), 0u);
}

TEST_F(Cookies, StaleCookieIsRejected) {
    cfg.cookies = CookieMode::Always;
    make();
    st->listen(kUsPort);
    auto sa = deliver(peer_syn());
    const uint32_t cookie = sa[0].seg.seq.raw();
    now += Duration{4ull * 64 * 1000 * kMs};  // four 64-second counts later
    auto out = deliver(peer(ACK, kPeerIsn + 1, cookie + 1));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].seg.flags, RST);
    EXPECT_EQ(st->counters().syncookies_failed, 1u);
}

TEST_F(Cookies, AutoModeSwitchesAtHalfOpenLimit) {
    cfg.cookies = CookieMode::Auto;
    cfg.half_open_limit = 2;
    make();
    st->listen(kUsPort);
    for (uint16_t i = 0; i < 4; ++i) {
        auto s = peer_syn();
        s.src_port = static_cast<uint16_t>(kPeerPort + i);
        ASSERT_EQ(deliver(s).size(), 1u);
    }
    EXPECT_EQ(st->half_open(), 2u);
    EXPECT_EQ(st->counters().passive_opens, 2u);
    EXPECT_EQ(st->counters().syncookies_sent, 2u);
}

TEST_F(Cookies, WithoutTimestampsNoWscaleOrSack) {
    cfg.cookies = CookieMode::Always;
    make();
    st->listen(kUsPort);
    auto out = deliver(peer_syn(false, true, true));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].seg.opt.has_wscale);
    EXPECT_FALSE(out[0].seg.opt.sack_permitted);
    EXPECT_FALSE(out[0].seg.opt.has_ts);
}
