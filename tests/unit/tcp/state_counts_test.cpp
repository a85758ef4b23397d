// Open connections by state (Stack::open_by_state, the gauges of the per-second series): connections parked
// in every state at once, then ended one way after another; after each step every state's count is checked
// exactly, the connections' states add up to active_conns(), SYN-RECEIVED is half_open() and TIME-WAIT is
// timewait_count().
#include "stack_fixture.hpp"

#include <map>

namespace synwave::tcp::testutil {
namespace {

using namespace wire::tcpflag;

class StateCounts : public StackTest {
protected:
    // Segments from the peer's port p (passive connections to kUsPort) or to our port lport (active ones).
    std::vector<OutSegment> from(uint16_t p, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t lport = kUsPort) {
        auto s = peer(flags, seq, ack);
        s.src_port = p;
        s.dst_port = lport;
        return deliver(s);
    }
    // A passive connection from port p in SYN-RECEIVED (a SynRecord): our ISS.
    uint32_t syn_from(uint16_t p) {
        auto s = peer_syn();
        s.src_port = p;
        auto out = deliver(s);
        EXPECT_EQ(out.size(), 1u);
        return out.empty() ? 0 : out[0].seg.seq.raw();
    }
    uint32_t established_from(uint16_t p) {
        const uint32_t i = syn_from(p);
        EXPECT_TRUE(from(p, ACK, kPeerIsn + 1, i + 1).empty());
        EXPECT_EQ(st->state_of(of(p)), State::Established);
        return i;
    }
    uint32_t of(uint16_t p, uint16_t lport = kUsPort) const { return st->find(kUs, lport, kPeer, p); }

    // Every state's count as `want` says (absent: 0), and the sums they must equal.
    void expect_counts(const std::map<State, uint32_t>& want, const char* step) {
        SCOPED_TRACE(step);
        const auto n = st->open_by_state();
        uint32_t conns = 0;
        for (std::size_t i = 0; i < kStateCount; ++i) {
            const State s = static_cast<State>(i);
            const auto w = want.find(s);
            EXPECT_EQ(n[i], w == want.end() ? 0u : w->second) << state_name(s);
            conns += st->conns_in(s);
        }
        EXPECT_EQ(conns, st->active_conns());
        EXPECT_EQ(n[static_cast<std::size_t>(State::SynReceived)], st->half_open());
        EXPECT_EQ(n[static_cast<std::size_t>(State::TimeWait)], st->timewait_count());
        EXPECT_EQ(st->conns_in(State::TimeWait), 0u);  // a Tcb leaves as its TwRecord is made
    }
};

TEST_F(StateCounts, EveryStateCountedExactlyAndAddingUpToTheOpenConnections) {
    st->listen(kUsPort);
    expect_counts({}, "listening");

    syn_from(1001);  // A: a SynRecord
    expect_counts({{State::SynReceived, 1}}, "SYN-RECEIVED record");
    EXPECT_EQ(st->conns_in(State::SynReceived), 0u);
    EXPECT_EQ(st->active_conns(), 0u);

    const uint32_t b = established_from(1002);  // B
    expect_counts({{State::SynReceived, 1}, {State::Established, 1}}, "ESTABLISHED (promoted record)");

    const uint32_t c = established_from(1003);  // C: their FIN
    ASSERT_EQ(from(1003, ACK | FIN, kPeerIsn + 1, c + 1).size(), 1u);
    const uint32_t d = established_from(1004);  // D: their FIN, then our close
    ASSERT_EQ(from(1004, ACK | FIN, kPeerIsn + 1, d + 1).size(), 1u);
    st->close(of(1004));
    ASSERT_EQ(take().size(), 1u);
    const uint32_t e = established_from(1005);  // E: our close
    st->close(of(1005));
    ASSERT_EQ(take().size(), 1u);
    const uint32_t f = established_from(1006);  // F: our close, acked
    st->close(of(1006));
    ASSERT_EQ(take().size(), 1u);
    ASSERT_TRUE(from(1006, ACK, kPeerIsn + 1, f + 2).empty());
    const uint32_t g = established_from(1007);  // G: our close, then their FIN not acking ours
    st->close(of(1007));
    ASSERT_EQ(take().size(), 1u);
    ASSERT_EQ(from(1007, ACK | FIN, kPeerIsn + 1, g + 1).size(), 1u);
    const uint32_t h = established_from(1008);  // H: FIN-WAIT-2, then their FIN
    st->close(of(1008));
    ASSERT_EQ(take().size(), 1u);
    ASSERT_TRUE(from(1008, ACK, kPeerIsn + 1, h + 2).empty());
    ASSERT_EQ(from(1008, ACK | FIN, kPeerIsn + 1, h + 2).size(), 1u);
    EXPECT_EQ(st->state_of(of(1003)), State::CloseWait);
    EXPECT_EQ(st->state_of(of(1004)), State::LastAck);
    EXPECT_EQ(st->state_of(of(1005)), State::FinWait1);
    EXPECT_EQ(st->state_of(of(1006)), State::FinWait2);
    EXPECT_EQ(st->state_of(of(1007)), State::Closing);
    EXPECT_EQ(st->state_of(of(1008)), State::TimeWait);

    // Active opens: I in SYN-SENT, J in SYN-RECEIVED as a Tcb (simultaneous open, RFC 9293 §3.5 figure 7).
    uint32_t ci = 0, cj = 0;
    ASSERT_EQ(st->connect(kUs, 2000, kPeer, 9000, 1, now, &ci), Stack::ConnectResult::Ok);
    ASSERT_EQ(st->connect(kUs, 2001, kPeer, 9001, 2, now, &cj), Stack::ConnectResult::Ok);
    const auto syns = take();
    ASSERT_EQ(syns.size(), 2u);
    const uint32_t iss_i = syns[0].seg.seq.raw();
    ASSERT_EQ(from(9001, SYN, kPeerIsn, 0, 2001).size(), 1u);
    EXPECT_EQ(st->state_of(cj), State::SynReceived);

    const std::map<State, uint32_t> all = {
        {State::SynSent, 1},  {State::SynReceived, 2}, {State::Established, 1}, {State::FinWait1, 1},
        {State::FinWait2, 1}, {State::CloseWait, 1},   {State::Closing, 1},     {State::LastAck, 1},
        {State::TimeWait, 1}};
    expect_counts(all, "every state");
    EXPECT_EQ(st->active_conns(), 8u);
    EXPECT_EQ(st->conns_in(State::SynReceived), 1u);

    // Ending them.
    ASSERT_TRUE(from(1004, ACK, kPeerIsn + 2, d + 2).empty());  // LAST-ACK: our FIN acked, closed
    auto w = all;
    w[State::LastAck] = 0;
    expect_counts(w, "LAST-ACK closed");
    ASSERT_TRUE(from(1007, ACK, kPeerIsn + 2, g + 2).empty());  // CLOSING -> TIME-WAIT
    w[State::Closing] = 0;
    w[State::TimeWait] = 2;
    expect_counts(w, "CLOSING to TIME-WAIT");
    (void)from(1002, RST, kPeerIsn + 1, 0);  // ESTABLISHED reset
    w[State::Established] = 0;
    expect_counts(w, "ESTABLISHED reset");
    (void)from(1001, RST, kPeerIsn + 1, 0);  // the SynRecord reset
    w[State::SynReceived] = 1;
    expect_counts(w, "SYN-RECEIVED record reset");
    (void)from(9000, RST | ACK, 0, iss_i + 1, 2000);  // SYN-SENT refused
    w[State::SynSent] = 0;
    expect_counts(w, "SYN-SENT refused");
    st->abort(cj);
    st->abort(of(1003));
    st->abort(of(1005));
    st->abort(of(1006));
    (void)take();
    w[State::SynReceived] = 0;
    w[State::CloseWait] = 0;
    w[State::FinWait1] = 0;
    w[State::FinWait2] = 0;
    expect_counts(w, "aborted");
    EXPECT_EQ(st->active_conns(), 0u);
    (void)advance_ms(2 * uint64_t{cfg.msl_ms} + 1000);  // 2 MSL
    expect_counts({}, "TIME-WAIT expired");
    (void)b;
    (void)e;
}

}  // namespace
}  // namespace synwave::tcp::testutil
