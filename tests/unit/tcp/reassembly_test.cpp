// The value types under out-of-order data and SACK: the reassembly queue (insert with overlaps, hand-over,
// budget, FIN, SACK block order of RFC 2018 §4) and the sender's scoreboard (RFC 6675 §4 IsLost, SetPipe,
// NextSeg rule 1).
#include "tcp/reassembly.hpp"
#include "tcp/scoreboard.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;

namespace {

constexpr uint32_t kBase = 0xFFFF'FF00u;  // every test crosses the 2^32 wrap

// The octets a chain hands out from `from` on, as deliver_data does.
std::string drain(const Reassembly& r, uint32_t chain, Seq from) {
    std::string got;
    for (uint32_t b = chain; b != Reassembly::kNone; b = r.block(b).next) {
        const auto& k = r.block(b);
        if (k.end() <= from) continue;
        const uint32_t skip = from < k.seq ? 0 : static_cast<uint32_t>(from - k.seq);
        got.append(reinterpret_cast<const char*>(r.data(b)) + skip, k.len - skip);
        from = k.end();
    }
    return got;
}

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

TEST(Reassembly, OverlapsKeepHeldOctetsAndFillGapsInOrder) {
    Reassembly r(64 * 1024);
    uint32_t head = Reassembly::kNone;
    const std::string text = "0123456789abcdefghijklmnopqrstuvwxyz";
    // Held: [10, 15) and [20, 25); then one segment spanning both with different octets where they overlap.
    EXPECT_EQ(r.insert(head, Seq(kBase + 10), bytes(text) + 10, 5, false).bytes, 5u);
    EXPECT_EQ(r.insert(head, Seq(kBase + 20), bytes(text) + 20, 5, false).bytes, 5u);
    std::string other = text;
    for (char& c : other) c = static_cast<char>(c ^ 0x20);
    const auto st = r.insert(head, Seq(kBase + 8), bytes(other) + 8, 20, false);  // [8, 28)
    EXPECT_EQ(st.bytes, 10u);  // [8,10) [15,20) [25,28)
    EXPECT_FALSE(st.full);
    // Nothing is ready until RCV.NXT reaches the first block.
    Seq end;
    bool fin = true;
    EXPECT_EQ(r.take_ready(head, Seq(kBase + 7), &end, &fin), Reassembly::kNone);
    const uint32_t chain = r.take_ready(head, Seq(kBase + 8), &end, &fin);
    ASSERT_NE(chain, Reassembly::kNone);
    EXPECT_EQ(end, Seq(kBase + 28));
    EXPECT_FALSE(fin);
    EXPECT_EQ(head, Reassembly::kNone);
    const std::string want = other.substr(8, 2) + text.substr(10, 5) + other.substr(15, 5) + text.substr(20, 5) +
                             other.substr(25, 3);
    EXPECT_EQ(drain(r, chain, Seq(kBase + 8)), want);
    r.release(chain);
    EXPECT_EQ(r.used(), 0u);
}

TEST(Reassembly, LongSegmentSpansBlocksAndBudgetIsCounted) {
    Reassembly r(3 * Reassembly::kBlockBytes);
    EXPECT_EQ(r.capacity(), 3u);
    uint32_t head = Reassembly::kNone;
    const std::string big(5000, 'x');
    auto st = r.insert(head, Seq(kBase + 100), bytes(big), 5000, false);  // 3 blocks: 2048 + 2048 + 904
    EXPECT_EQ(st.bytes, 5000u);
    EXPECT_EQ(r.used(), 3u);
    st = r.insert(head, Seq(kBase + 6000), bytes(big), 10, false);
    EXPECT_TRUE(st.full);
    EXPECT_EQ(st.bytes, 0u);
    r.release(head);
    EXPECT_EQ(r.used(), 0u);
    Reassembly none(0);
    uint32_t h2 = Reassembly::kNone;
    EXPECT_TRUE(none.insert(h2, Seq(1), bytes(big), 1, false).full);
}

TEST(Reassembly, FinRidesTheLastBlockAndOnlyWhenContiguous) {
    Reassembly r(64 * 1024);
    uint32_t head = Reassembly::kNone;
    const std::string w = "world";
    (void)r.insert(head, Seq(kBase + 6), bytes(w), 5, true);  // "world" + FIN at 11
    Seq end;
    bool fin = false;
    const uint32_t chain = r.take_ready(head, Seq(kBase + 6), &end, &fin);
    EXPECT_EQ(end, Seq(kBase + 11));
    EXPECT_TRUE(fin);
    r.release(chain);
    // A FIN alone is kept only on a block that ends where it sits.
    head = Reassembly::kNone;
    (void)r.insert(head, Seq(kBase + 20), bytes(w), 5, false);
    (void)r.insert(head, Seq(kBase + 25), nullptr, 0, true);
    EXPECT_TRUE(r.block(head).fin);
    (void)r.insert(head, Seq(kBase + 40), nullptr, 0, true);  // no block ends at 40: not taken
    EXPECT_EQ(r.block(head).next, Reassembly::kNone);
    r.release(head);
}

TEST(Reassembly, SackBlocksLatestFirstThenHighestDown) {
    Reassembly r(64 * 1024);
    uint32_t head = Reassembly::kNone;
    const std::string d(100, 'd');
    for (uint32_t at : {100u, 300u, 500u, 700u, 150u}) (void)r.insert(head, Seq(kBase + at), bytes(d), 50, false);
    // Runs: [100,200) (two blocks that touch), [300,350), [500,550), [700,750).
    wire::SackBlock b[4];
    ASSERT_EQ(r.sack_blocks(head, Seq(kBase + 300), b, 3), 3u);
    EXPECT_EQ(b[0], (wire::SackBlock{Seq(kBase + 300), Seq(kBase + 350)}));
    EXPECT_EQ(b[1], (wire::SackBlock{Seq(kBase + 700), Seq(kBase + 750)}));
    EXPECT_EQ(b[2], (wire::SackBlock{Seq(kBase + 500), Seq(kBase + 550)}));
    ASSERT_EQ(r.sack_blocks(head, Seq(kBase + 150), b, 4), 4u);
    EXPECT_EQ(b[0], (wire::SackBlock{Seq(kBase + 100), Seq(kBase + 200)}));
    EXPECT_EQ(b[3], (wire::SackBlock{Seq(kBase + 300), Seq(kBase + 350)}));
    r.release(head);
}

TEST(Scoreboard, MergesTrimsAndCountsNewlySacked) {
    Scoreboard sb;
    const Seq una(kBase);
    sb.clear(una);
    EXPECT_EQ(sb.add(una + 1000, una + 2000), 1000u);
    EXPECT_EQ(sb.add(una + 1500, una + 2500), 500u);  // overlaps: only the new octets count
    EXPECT_EQ(sb.add(una + 3000, una + 4000), 1000u);
    EXPECT_EQ(sb.add(una + 2500, una + 3000), 500u);  // closes the gap: one range
    ASSERT_EQ(sb.n, 1u);
    EXPECT_EQ(sb.left[0], una + 1000);
    EXPECT_EQ(sb.right[0], una + 4000);
    sb.advance(una + 1500);
    EXPECT_EQ(sb.left[0], una + 1500);
    sb.advance(una + 4000);
    EXPECT_EQ(sb.n, 0u);
    // More ranges than fit: the highest are forgotten.
    sb.clear(una);
    for (uint32_t i = 0; i < 6; ++i) (void)sb.add(una + 1000 * (i + 1), una + 1000 * (i + 1) + 100);
    EXPECT_EQ(sb.n, Scoreboard::kRanges);
    EXPECT_EQ(sb.right[Scoreboard::kRanges - 1], una + 4100);
}

TEST(Scoreboard, IsLostPipeAndNextSegFollowRfc6675) {
    constexpr uint32_t mss = 1000;
    const Seq una(kBase);
    Scoreboard sb;
    sb.clear(una);
    // Ten segments out; 1 and 4 lost, the rest SACKed: [1000,4000) and [5000,10000).
    (void)sb.add(una + 1000, una + 4000);
    (void)sb.add(una + 5000, una + 10000);
    // IsLost: more than 2 * SMSS SACKed above. Both holes qualify.
    EXPECT_EQ(sb.lost_below(una, mss), una + 5000);  // un-SACKed octets below 5000 are lost
    EXPECT_EQ(sb.pipe(una, una + 10000, mss), 0u);  // every un-SACKed octet is lost, none retransmitted
    Seq s, e;
    ASSERT_TRUE(sb.next_lost(una, mss, &s, &e));
    EXPECT_EQ(s, una);
    EXPECT_EQ(e, una + 1000);
    sb.high_rxt = una + 1000;  // segment 0 retransmitted
    EXPECT_EQ(sb.pipe(una, una + 10000, mss), 1000u);
    ASSERT_TRUE(sb.next_lost(una, mss, &s, &e));
    EXPECT_EQ(s, una + 4000);
    EXPECT_EQ(e, una + 5000);
    sb.high_rxt = una + 5000;
    EXPECT_FALSE(sb.next_lost(una, mss, &s, &e));
    EXPECT_EQ(sb.pipe(una, una + 10000, mss), 2000u);
    // Only 2 SMSS SACKed above a hole: not lost yet (it may be reordering), so it counts in the pipe.
    sb.clear(una);
    (void)sb.add(una + 1000, una + 3000);
    EXPECT_EQ(sb.lost_below(una, mss), una);
    EXPECT_FALSE(sb.next_lost(una, mss, &s, &e));
    EXPECT_EQ(sb.pipe(una, una + 3000, mss), 1000u);
}
