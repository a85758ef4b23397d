// State-machine tests: one fixture per state (named after it), one segment or call per test, and assertions on
// the exact segments sent (flags, seq, ack, window, options), that nothing else was sent, the new state, the
// timers and the counters. Sequence numbers start 16 below 2^32 so every test crosses the wrap.
#include "tcp/stack.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::wire::tcpflag;

namespace {

constexpr Ipv4 kUs{0x0A00'0001};
constexpr Ipv4 kPeer{0x0A00'0002};
constexpr uint16_t kUsPort = 80;
constexpr uint16_t kPeerPort = 40000;
constexpr uint32_t kPeerIsn = 0xFFFF'FFF0u;
constexpr uint64_t kMs = 1'000'000;  // cycles per ms at the 1 GHz test rate

class StackTest : public ::testing::Test, public App {
protected:
    StackTest() { make(); }

    void make() {
        events.clear();
        Secrets sec{SipKey{1, 2}, SipKey{3, 4}, SipKey{5, 6}};
        st = std::make_unique<Stack>(cfg, TscRate{1'000'000'000}, now, sec, this);
    }

    void on_event(Stack& s, const Event& e) override {
        events.push_back(e);
        if (on_ev) on_ev(s, e);
    }

    std::vector<OutSegment> take() {
        std::vector<OutSegment> v = st->out();
        st->out().clear();
        return v;
    }

    wire::TcpSegment peer(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& data = "",
                          uint16_t wnd = 65535) {
        wire::TcpSegment s;
        s.src_port = kPeerPort;
        s.dst_port = kUsPort;
        s.seq = Seq(seq);
        s.ack = Seq(ack);
        s.flags = flags;
        s.window = wnd;
        payloads.push_back(data);
        s.payload = reinterpret_cast<const uint8_t*>(payloads.back().data());
        s.payload_len = static_cast<uint32_t>(data.size());
        return s;
    }

    std::vector<OutSegment> deliver(const wire::TcpSegment& s) {
        st->input(InSegment{kPeer, kUs, s}, now);
        return take();
    }

    std::vector<OutSegment> advance_ms(uint64_t ms) {
        now += Duration{ms * kMs};
        st->poll(now);
        return take();
    }

    [[nodiscard]] uint32_t conn() const { return st->find(kUs, kUsPort, kPeer, kPeerPort); }
    [[nodiscard]] Tcb& tcb() {
        const uint32_t c = conn();
        if (c == kNoConn || (c & (kSynBit | kTwBit)) != 0) {
            ADD_FAILURE() << "no Tcb for the connection (flow value " << std::hex << c << ")";
            static Tcb none;
            return none;
        }
        return st->tcb(c);
    }
    [[nodiscard]] State state() { return st->state_of(conn()); }
    // A wheel expiry is the deadline rounded up to the next tick: never early, less than a tick late.
    static void expect_fires_at(Instant expiry, Instant deadline) {
        EXPECT_GE(expiry.cycles, deadline.cycles);
        EXPECT_LT(expiry.cycles - deadline.cycles, uint64_t{1} << 20);  // tick at 1 GHz: 2^19 cycles
    }
    // A passive SYN-RECEIVED connection is a SynRecord until the handshake completes.
    [[nodiscard]] const SynRecord& syn_record() {
        EXPECT_EQ(conn() & kSynBit, kSynBit);
        return st->syn(conn() & kIndexMask);
    }

    // The peer's SYN: MSS 1460, no other options unless asked.
    wire::TcpSegment peer_syn(bool ts = false, bool ws = false, bool sack = false) {
        auto s = peer(SYN, kPeerIsn, 0);
        s.opt.has_mss = true;
        s.opt.mss = 1460;
        if (ts) {
            s.opt.has_ts = true;
            s.opt.tsval = 1000;
        }
        if (ws) {
            s.opt.has_wscale = true;
            s.opt.wscale = 7;
        }
        s.opt.sack_permitted = sack;
        return s;
    }

    // ---- factories: a connection in each state, with iss recorded ----
    void to_syn_received() {
        st->listen(kUsPort);
        auto out = deliver(peer_syn());
        ASSERT_EQ(out.size(), 1u);
        iss = out[0].seg.seq.raw();
        ASSERT_EQ(state(), State::SynReceived);
    }
    void to_established_passive() {
        to_syn_received();
        auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1));
        ASSERT_TRUE(out.empty());
        ASSERT_EQ(state(), State::Established);
        events.clear();
    }
    void to_syn_sent() {
        uint32_t c = 0;
        ASSERT_EQ(st->connect(kUs, kUsPort, kPeer, kPeerPort, 77, now, &c), Stack::ConnectResult::Ok);
        auto out = take();
        ASSERT_EQ(out.size(), 1u);
        iss = out[0].seg.seq.raw();
    }
    void to_established_active() {
        to_syn_sent();
        auto sa = peer(SYN | ACK, kPeerIsn, iss + 1);
        sa.opt.has_mss = true;
        sa.opt.mss = 1460;
        auto out = deliver(sa);
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(state(), State::Established);
        events.clear();
    }
    // Established (passive), then close(): FIN sent.
    void to_fin_wait1() {
        to_established_passive();
        st->close(conn());
        auto out = take();
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(out[0].seg.flags, ACK | FIN);
        ASSERT_EQ(state(), State::FinWait1);
    }
    void to_fin_wait2() {
        to_fin_wait1();
        auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 2));
        ASSERT_TRUE(out.empty());
        ASSERT_EQ(state(), State::FinWait2);
    }
    void to_close_wait() {
        to_established_passive();
        auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 1));
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(state(), State::CloseWait);
        events.clear();
    }
    void to_last_ack() {
        to_close_wait();
        st->close(conn());
        auto out = take();
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(state(), State::LastAck);
    }
    void to_closing() {
        to_fin_wait1();
        auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 1));  // their FIN, not acking ours
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(state(), State::Closing);
    }
    void to_time_wait() {
        to_fin_wait2();
        auto out = deliver(peer(ACK | FIN, kPeerIsn + 1, iss + 2));
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(st->timewait_count(), 1u);
    }

    static void expect_seg(const OutSegment& o, uint8_t flags, uint32_t seq, uint32_t ack, uint32_t len = 0) {
        EXPECT_EQ(o.src, kUs);
        EXPECT_EQ(o.dst, kPeer);
        EXPECT_EQ(o.seg.src_port, kUsPort);
        EXPECT_EQ(o.seg.dst_port, kPeerPort);
        EXPECT_EQ(o.seg.flags, flags) << "flags";
        EXPECT_EQ(o.seg.seq.raw(), seq) << "seq";
        if (flags & ACK) {
            EXPECT_EQ(o.seg.ack.raw(), ack) << "ack";
        }
        EXPECT_EQ(o.seg.payload_len, len) << "len";
    }

    [[nodiscard]] size_t count(EventKind k) const {
        size_t n = 0;
        for (const auto& e : events) n += e.kind == k;
        return n;
    }

    StackConfig cfg;
    Instant now{1'000'000'000'000ull};
    std::unique_ptr<Stack> st;
    std::vector<Event> events;
    std::function<void(Stack&, const Event&)> on_ev;
    std::deque<std::string> payloads;
    uint32_t iss = 0;
};

class Closed : public StackTest {};
class Listen : public StackTest {};
class SynSent : public StackTest {};
class SynReceived : public StackTest {};
class Established : public StackTest {};
class FinWait1 : public StackTest {};
class FinWait2 : public StackTest {};
class CloseWait : public StackTest {};
class Closing : public StackTest {};
class LastAck : public StackTest {};
class TimeWait : public StackTest {};
class Cookies : public StackTest {};
class Retransmit : public StackTest {};
class Congestion : public StackTest {};
class Keepalive : public StackTest {};
class Options : public StackTest {};

}  // namespace

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
    EXPECT_FALSE(st->timer_armed(conn()));  // nothing outstanding
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
    EXPECT_FALSE(st->timer_armed(conn()));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::Accepted);
    EXPECT_EQ(st->counters().conn_established, 1u);
    EXPECT_EQ(st->counters().entered[static_cast<size_t>(State::Established)], 1u);
}

TEST_F(SynReceived, DataWithAckEstablishesAndDelivers) {
    // The third ACK was lost; the client's first data segment completes the handshake (seeds 000, 001).
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
    EXPECT_FALSE(st->timer_armed(conn()));
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

TEST_F(Established, OutOfOrderSegmentDroppedWithImmediateDupAck) {
    to_established_passive();
    auto out = deliver(peer(ACK, kPeerIsn + 101, iss + 1, "later"));
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK, iss + 1, kPeerIsn + 1);
    EXPECT_EQ(st->counters().ooo_dropped, 1u);
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

// ------------------------------------------------------------------ TIME-WAIT (RFC 9293 §3.6.1; the seeds' reasons)

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

// ------------------------------------------------------------------ full lifecycles and record sizes

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

// Exact sizes, so that a layout change shows up here and in the figures reported (stack.cpp static_asserts
// the bounds: hot part <= 128, TIME_WAIT record <= 48, SYN-RECEIVED record <= 64).
// An application's interests() decide which events are queued at all: one that leaves out SendDone and
// Accepted gets every other event of a passive connection and none of those two.
TEST(Events, OnlyTheKindsTheApplicationDeclaredAreQueued) {
    struct Picky final : App {
        std::vector<EventKind> seen;
        uint32_t interests() const override {
            return ~(event_bit(EventKind::SendDone) | event_bit(EventKind::Accepted));
        }
        void on_event(Stack& st, const Event& e) override {
            seen.push_back(e.kind);
            if (e.kind == EventKind::Data) {
                static const uint8_t resp[] = {'o', 'k'};
                EXPECT_TRUE(st.send(e.conn, resp, 2));
                st.close(e.conn);
            }
        }
    } app;
    StackConfig cfg;
    Instant now{1'000'000'000'000ull};
    Stack st(cfg, TscRate{1'000'000'000}, now, Secrets{SipKey{1, 2}, SipKey{3, 4}, SipKey{5, 6}}, &app);
    st.listen(kUsPort);
    auto in = [&](uint8_t flags, uint32_t seq, uint32_t ack, const char* data) {
        wire::TcpSegment s;
        s.src_port = kPeerPort;
        s.dst_port = kUsPort;
        s.seq = Seq(seq);
        s.ack = Seq(ack);
        s.flags = flags;
        s.window = 65535;
        s.payload = reinterpret_cast<const uint8_t*>(data);
        s.payload_len = static_cast<uint32_t>(std::strlen(data));
        s.opt.has_mss = (flags & SYN) != 0;
        s.opt.mss = 1460;
        st.input(InSegment{kPeer, kUs, s}, now);
        auto out = st.out();
        st.out().clear();
        return out;
    };
    const uint32_t iss = in(SYN, kPeerIsn, 0, "")[0].seg.seq.raw();
    (void)in(ACK, kPeerIsn + 1, iss + 1, "");                 // established: Accepted not queued
    (void)in(ACK | PSH, kPeerIsn + 1, iss + 1, "GET");        // Data -> response + FIN
    (void)in(ACK, kPeerIsn + 4, iss + 4, "");                 // all acked: SendDone not queued
    (void)in(ACK | FIN, kPeerIsn + 4, iss + 4, "");           // PeerFin, then TIME_WAIT: Closed
    EXPECT_EQ(app.seen, (std::vector<EventKind>{EventKind::Data, EventKind::PeerFin, EventKind::Closed}));
    EXPECT_EQ(st.counters().conn_established, 1u);
    EXPECT_EQ(st.timewait_count(), 1u);
}

TEST(Records, SizesAreAsDesigned) {
    EXPECT_EQ(kTcbHotBytes, 64u);  // the fields every segment touches: one cache line
    EXPECT_EQ(sizeof(Tcb), 160u);
    EXPECT_EQ(sizeof(TwRecord), 44u);
    EXPECT_EQ(sizeof(SynRecord), 64u);
}
