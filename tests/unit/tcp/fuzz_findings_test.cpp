// What the state-machine fuzzer (tests/fuzz/tcp_fuzz.cpp) found, one test per finding, each the smallest
// exchange that shows it.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

namespace {
const std::string kBody(100, 'z');
const uint8_t* body() { return reinterpret_cast<const uint8_t*>(kBody.data()); }
}  // namespace

// Finding 1: a peer that shuts its window and then vanishes kept the Tcb for ever, probed every RTO (backed off
// to 120 s) without end, also after close() (FIN-WAIT-1 with data waiting). RFC 9293 §3.8.6.1 keeps the
// connection open only while the receiver answers the probes; now retries2 unanswered probes end it, as
// Linux's tcp_probe_timer does.
TEST_F(Retransmit, UnansweredZeroWindowProbesEndTheConnection) {
    cfg.retries2 = 3;
    make();
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 0));  // the window shuts
    ASSERT_TRUE(st->send(conn(), body(), 100));
    st->close(conn());
    EXPECT_TRUE(take().empty());  // the FIN waits behind the data
    ASSERT_EQ(state(), State::FinWait1);
    ASSERT_EQ(tcb().main_timer, MainTimer::Persist);
    int probes = 0;
    for (int i = 0; i < 600 && st->active_conns() != 0; ++i) {  // 10 minutes in 1 s steps, the peer silent
        for (const auto& o : advance_ms(1000)) {
            expect_seg(o, ACK, iss, kPeerIsn + 1);  // SND.UNA - 1, no data
            ++probes;
        }
    }
    EXPECT_EQ(probes, 3);
    EXPECT_EQ(st->active_conns(), 0u);
    EXPECT_EQ(st->table_size(), 0u);
    EXPECT_EQ(st->counters().rtx_abort, 1u);
    ASSERT_EQ(count(EventKind::Aborted), 1u);
    EXPECT_EQ(events.back().reason, AbortReason::RtxTimeout);
}

// ... while a receiver that answers every probe keeps the connection however long its window stays shut.
TEST_F(Retransmit, AnsweredZeroWindowProbesKeepTheConnection) {
    cfg.retries2 = 3;
    make();
    to_established_passive();
    (void)deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 0));
    ASSERT_TRUE(st->send(conn(), body(), 100));
    int probes = 0;
    for (int i = 0; i < 600; ++i) {
        const auto out = advance_ms(1000);
        probes += static_cast<int>(out.size());
        if (!out.empty()) {
            EXPECT_TRUE(deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 0)).empty());  // still shut
        }
    }
    EXPECT_GT(probes, 6);
    ASSERT_EQ(state(), State::Established);
    EXPECT_EQ(st->counters().rtx_abort, 0u);
    const auto out = deliver(peer(ACK, kPeerIsn + 1, iss + 1, "", 5000));  // it opens: the data leaves
    ASSERT_EQ(out.size(), 1u);
    expect_seg(out[0], ACK | PSH, iss + 1, kPeerIsn + 1, 100);
}
