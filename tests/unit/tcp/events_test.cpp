// Event delivery to the application (App): a Stack of its own with an application that is not the fixture, one
// passive connection from SYN to TIME_WAIT, and the exact list of events it saw.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

namespace {
// One segment from the peer (MSS option on a SYN), and what the stack sent in answer.
std::vector<OutSegment> deliver(Stack& st, Instant now, uint8_t flags, uint32_t seq, uint32_t ack, const char* data) {
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
    std::vector<OutSegment> out = st.out();
    st.out().clear();
    return out;
}
}  // namespace

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
    auto in = [&](uint8_t flags, uint32_t seq, uint32_t ack, const char* data) { return deliver(st, now, flags, seq, ack, data); };
    const uint32_t iss = in(SYN, kPeerIsn, 0, "")[0].seg.seq.raw();
    (void)in(ACK, kPeerIsn + 1, iss + 1, "");                 // established: Accepted not queued
    (void)in(ACK | PSH, kPeerIsn + 1, iss + 1, "GET");        // Data -> response + FIN
    (void)in(ACK, kPeerIsn + 4, iss + 4, "");                 // all acked: SendDone not queued
    (void)in(ACK | FIN, kPeerIsn + 4, iss + 4, "");           // PeerFin, then TIME_WAIT: Closed
    EXPECT_EQ(app.seen, (std::vector<EventKind>{EventKind::Data, EventKind::PeerFin, EventKind::Closed}));
    EXPECT_EQ(st.counters().conn_established, 1u);
    EXPECT_EQ(st.timewait_count(), 1u);
}

// A connection that ends in the segment being delivered (data and FIN in FIN-WAIT-2: Data, PeerFin, Closed)
// keeps its handle until its last event: a connect() from the Data callback gets another one, and the
// PeerFin and Closed that follow name the old connection, not the new one.
TEST(Events, AHandleIsNotReusedWhileItsEndIsBeingDelivered) {
    struct Reconnect final : App {
        std::vector<std::pair<EventKind, uint32_t>> seen;
        uint32_t fresh = kNoConn;
        int data = 0;
        void on_event(Stack& st, const Event& e) override {
            seen.emplace_back(e.kind, e.conn);
            if (e.kind == EventKind::Data && ++data == 2) {  // the data that came with the peer's FIN
                ASSERT_EQ(st.connect(kUs, 5000, kPeer, 6000, 9, st.now(), &fresh), Stack::ConnectResult::Ok);
            } else if (e.kind == EventKind::Data) {
                static const uint8_t resp[] = {'o', 'k'};
                EXPECT_TRUE(st.send(e.conn, resp, 2));
                st.close(e.conn);
            }
            if (e.kind == EventKind::PeerFin) st.close(e.conn);  // what every shipped application does
        }
    } app;
    StackConfig cfg;
    Instant now{1'000'000'000'000ull};
    Stack st(cfg, TscRate{1'000'000'000}, now, Secrets{SipKey{1, 2}, SipKey{3, 4}, SipKey{5, 6}}, &app);
    st.listen(kUsPort);
    auto in = [&](uint8_t flags, uint32_t seq, uint32_t ack, const char* data) { return deliver(st, now, flags, seq, ack, data); };
    const uint32_t iss = in(SYN, kPeerIsn, 0, "")[0].seg.seq.raw();
    (void)in(ACK, kPeerIsn + 1, iss + 1, "");
    (void)in(ACK | PSH, kPeerIsn + 1, iss + 1, "GET");    // response + FIN: FIN-WAIT-1
    (void)in(ACK, kPeerIsn + 4, iss + 4, "");             // FIN acknowledged: FIN-WAIT-2
    const uint32_t old = st.find(kUs, kUsPort, kPeer, kPeerPort);
    ASSERT_EQ(st.state_of(old), State::FinWait2);
    (void)in(ACK | FIN | PSH, kPeerIsn + 4, iss + 4, "more");  // Data, PeerFin, Closed (TIME_WAIT)
    ASSERT_NE(app.fresh, kNoConn);
    EXPECT_NE(app.fresh, old);
    ASSERT_GE(app.seen.size(), 3u);
    const auto tail = std::vector<std::pair<EventKind, uint32_t>>(app.seen.end() - 3, app.seen.end());
    EXPECT_EQ(tail, (std::vector<std::pair<EventKind, uint32_t>>{
                        {EventKind::Data, old}, {EventKind::PeerFin, old}, {EventKind::Closed, old}}));
    // The new connection was not touched by the old one's close(): still SYN-SENT, its SYN sent.
    EXPECT_EQ(st.state_of(st.find(kUs, 5000, kPeer, 6000)), State::SynSent);
    EXPECT_EQ(st.active_conns(), 1u);
    EXPECT_EQ(st.timewait_count(), 1u);
}
