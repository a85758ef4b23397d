// The state-machine tests' fixture, shared by the files under tests/unit/tcp that test lib/tcp's Stack: one
// fixture per state (named after it), one segment or call per test, and assertions on the exact segments sent
// (flags, seq, ack, window, options), that nothing else was sent, the new state, the timers and the counters.
// Sequence numbers start 16 below 2^32 so every test crosses the wrap.
//
// The fixture is the application (App): it records every event and can run a callback from inside one, as a
// server answering from its Data event does. The factories (to_<state>) bring one connection to a state with
// the exact segments of RFC 9293 §3.5 / §3.6 and record our ISS in `iss`.
#pragma once
#include "tcp/stack.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace synwave::tcp::testutil {

inline constexpr Ipv4 kUs{0x0A00'0001};
inline constexpr Ipv4 kPeer{0x0A00'0002};
inline constexpr uint16_t kUsPort = 80;
inline constexpr uint16_t kPeerPort = 40000;
inline constexpr uint32_t kPeerIsn = 0xFFFF'FFF0u;
inline constexpr uint64_t kMs = 1'000'000;  // cycles per ms at the 1 GHz test rate

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
        auto s = peer(wire::tcpflag::SYN, kPeerIsn, 0);
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
        auto out = deliver(peer(wire::tcpflag::ACK, kPeerIsn + 1, iss + 1));
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
        auto sa = peer(wire::tcpflag::SYN | wire::tcpflag::ACK, kPeerIsn, iss + 1);
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
        ASSERT_EQ(out[0].seg.flags, wire::tcpflag::ACK | wire::tcpflag::FIN);
        ASSERT_EQ(state(), State::FinWait1);
    }
    void to_fin_wait2() {
        to_fin_wait1();
        auto out = deliver(peer(wire::tcpflag::ACK, kPeerIsn + 1, iss + 2));
        ASSERT_TRUE(out.empty());
        ASSERT_EQ(state(), State::FinWait2);
    }
    void to_close_wait() {
        to_established_passive();
        auto out = deliver(peer(wire::tcpflag::ACK | wire::tcpflag::FIN, kPeerIsn + 1, iss + 1));
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
        // Their FIN, not acking ours.
        auto out = deliver(peer(wire::tcpflag::ACK | wire::tcpflag::FIN, kPeerIsn + 1, iss + 1));
        ASSERT_EQ(out.size(), 1u);
        ASSERT_EQ(state(), State::Closing);
    }
    void to_time_wait() {
        to_fin_wait2();
        auto out = deliver(peer(wire::tcpflag::ACK | wire::tcpflag::FIN, kPeerIsn + 1, iss + 2));
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
        if (flags & wire::tcpflag::ACK) {
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

// The suites, one per state or concern. Declared here, not in the test files, because a suite's tests may sit
// in more than one file and GoogleTest requires every test of a suite to use the same fixture class.
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

}  // namespace synwave::tcp::testutil
