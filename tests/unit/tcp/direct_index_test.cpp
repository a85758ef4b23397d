// A client Stack whose own 4-tuples are in the direct index (StackConfig::direct): connections in the range
// live there from SYN-SENT to the end of TIME_WAIT, the table's figures count them, and a connection outside
// the range goes through the hash table as before.
#include "stack_fixture.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;
using namespace synwave::tcp::testutil;
using namespace synwave::wire::tcpflag;

namespace {

struct Closer final : App {
    uint32_t closed = 0;
    void on_event(Stack& st, const Event& e) override {
        if (e.kind == EventKind::Connected) st.close(e.conn);  // the client closes first: TIME_WAIT is ours
        if (e.kind == EventKind::Closed) ++closed;
    }
};

struct Responder final : App {
    void on_event(Stack& st, const Event& e) override {
        if (e.kind == EventKind::PeerFin) st.close(e.conn);
    }
};

}  // namespace

TEST(DirectIndex, ClientTuplesLiveInTheIndexFromSynToTheEndOfTimeWait) {
    constexpr TscRate kRate{1'000'000'000};
    Instant now{1'000'000'000'000ull};
    StackConfig ccfg;
    ccfg.msl_ms = 10;
    ccfg.direct = flow::TupleRange{kUs.v, kUs.v, 40000, 40009, kPeer.v, 80};
    StackConfig scfg;
    Closer capp;
    Responder sapp;
    Stack client(ccfg, kRate, now, Secrets{{1, 2}, {3, 4}, {5, 6}}, &capp);
    Stack server(scfg, kRate, now, Secrets{{7, 8}, {9, 10}, {11, 12}}, &sapp);
    server.listen(80);
    server.listen(81);
    auto exchange = [&] {
        for (bool moved = true; moved;) {
            moved = false;
            for (auto [from, to] : {std::pair{&client, &server}, std::pair{&server, &client}}) {
                std::vector<OutSegment> segs = from->out();
                from->out().clear();
                for (const OutSegment& o : segs) to->input(InSegment{o.src, o.dst, o.seg}, now);
                moved = moved || !segs.empty();
            }
        }
    };
    uint32_t c = 0;
    // In the range: SYN-SENT is found by index.
    ASSERT_EQ(client.connect(kUs, 40003, kPeer, 80, 1, now, &c), Stack::ConnectResult::Ok);
    EXPECT_EQ(client.find(kUs, 40003, kPeer, 80), c);
    EXPECT_EQ(client.table_size(), 1u);
    EXPECT_EQ(client.indexed_entries(), 1u);
    EXPECT_EQ(client.connect(kUs, 40003, kPeer, 80, 2, now, &c), Stack::ConnectResult::Exists);
    // Outside it (another destination port): the hash table.
    uint32_t c2 = 0;
    ASSERT_EQ(client.connect(kUs, 40003, kPeer, 81, 3, now, &c2), Stack::ConnectResult::Ok);
    EXPECT_NE(c2, c);
    EXPECT_EQ(client.table_size(), 2u);
    EXPECT_EQ(client.indexed_entries(), 1u);
    exchange();
    // Both closed by us first: TIME_WAIT records, one in the index, one in the table.
    EXPECT_EQ(capp.closed, 2u);
    EXPECT_EQ(client.timewait_count(), 2u);
    EXPECT_EQ(client.state_of(client.find(kUs, 40003, kPeer, 80)), State::TimeWait);
    EXPECT_EQ(client.state_of(client.find(kUs, 40003, kPeer, 81)), State::TimeWait);
    EXPECT_EQ(client.table_size(), 2u);
    EXPECT_EQ(client.indexed_entries(), 1u);  // the TIME_WAIT record took over the Tcb's slot
    EXPECT_EQ(server.counters().conn_closed, 2u);
    EXPECT_EQ(server.indexed_entries(), 0u);  // a server has no range
    // 2MSL later both are gone, from the index and from the table.
    now += Duration{25 * uint64_t{1'000'000}};
    (void)client.poll(now);
    EXPECT_EQ(client.timewait_count(), 0u);
    EXPECT_EQ(client.table_size(), 0u);
    EXPECT_EQ(client.indexed_entries(), 0u);
    EXPECT_EQ(client.find(kUs, 40003, kPeer, 80), kNoConn);
    EXPECT_EQ(client.find(kUs, 40003, kPeer, 81), kNoConn);
    // The slot is free again for the next incarnation.
    ASSERT_EQ(client.connect(kUs, 40003, kPeer, 80, 4, now, &c), Stack::ConnectResult::Ok);
    EXPECT_EQ(client.table_size(), 1u);
    EXPECT_EQ(client.indexed_entries(), 1u);
}
