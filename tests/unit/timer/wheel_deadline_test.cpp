// Timing wheel: when a timer fires. Never before its deadline, in the first advance() that reaches its tick
// boundary, in deadline order, from any starting TSC value, for deadlines in the past, hours away, beyond the
// wheel's range and at the end of time; and due() tells exactly when the next work is.
#include "wheel_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace synwave::timer {
namespace {

using namespace testutil;

// (The node's 24-byte size is a static_assert in wheel.hpp.)
TEST(TimerNode, ArmedFromArmUntilFiredOrCancelled) {
    TimerWheel w(4, Instant{0});  // 16-cycle ticks
    TimerNode n;
    EXPECT_FALSE(n.armed());
    w.arm(n, Instant{100});
    EXPECT_TRUE(n.armed());
    EXPECT_TRUE(TimerWheel::armed(n));
    w.cancel(n);
    EXPECT_FALSE(n.armed());
    w.arm(n, Instant{100});
    EXPECT_EQ(w.advance(Instant{112}, kAll, [](TimerNode& f) { EXPECT_FALSE(f.armed()); }), 1u);  // 7 x 16
    EXPECT_FALSE(n.armed());
    EXPECT_EQ(w.pending(), 0u);
}

TEST(TimerWheel, EmptyWheelIsNeverDueAndFiresNothing) {
    TimerWheel w(10, Instant{12345});
    EXPECT_FALSE(w.due(Instant{12345}));
    EXPECT_FALSE(w.due(Instant{uint64_t{1} << 62}));
    EXPECT_EQ(w.advance(Instant{uint64_t{1} << 62}, kAll, [](TimerNode&) { FAIL(); }), 0u);
    EXPECT_EQ(w.pending(), 0u);
    EXPECT_EQ(w.tick(), Duration{1024});
}

TEST(TimerWheel, FiresInDeadlineOrderAtTickGranularity) {
    constexpr unsigned kShift = 10;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = 5'000'000'123;
    TimerWheel w(kShift, Instant{start});
    // Offsets from start, in cycles, across levels 0, 1 and 2 and sharing ticks; armed in this scrambled order.
    const std::vector<uint64_t> offsets = {7 * T + 5, 3 * T,      70000 * T, 3 * T + 1, 300 * T + 2,
                                           2 * T + 1023, 1 * T,  256 * T,   255 * T + 1, 65536 * T,
                                           5,          300 * T + 1, 3 * T + 2, 70000 * T - 1, 1};
    auto items = make_items(offsets.size());
    for (std::size_t i = 0; i < offsets.size(); ++i) arm_item(w, items[i], start + offsets[i]);
    EXPECT_EQ(w.pending(), offsets.size());

    std::vector<uint64_t> fired_boundaries;
    const uint32_t n = w.advance(Instant{start + 80000 * T}, kAll, [&](TimerNode& node) {
        Item& it = item_of(node);
        EXPECT_FALSE(node.armed());
        fired_boundaries.push_back(boundary(it.deadline, kShift));
        ++it.fires;
    });
    EXPECT_EQ(n, offsets.size());
    std::vector<uint64_t> expected;
    for (uint64_t o : offsets) expected.push_back(boundary(start + o, kShift));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(fired_boundaries, expected);
    for (std::size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(items[i].fires, 1u) << i;
    EXPECT_EQ(w.pending(), 0u);
    EXPECT_EQ(w.fired_total(), offsets.size());
}

// Never early, exhaustively near tick boundaries and level boundaries, from several starting TSC values.
// Every timer must fire in the advance() whose now is exactly its deadline's tick boundary: the sequence of
// `now`s contains, for each timer, deadline - 1, deadline, boundary - 1 and boundary.
struct StartCase {
    unsigned shift;
    uint64_t start;
};

class NeverEarly : public ::testing::TestWithParam<StartCase> {};

TEST_P(NeverEarly, FiresExactlyAtTheBoundaryAtOrAfterTheDeadline) {
    const unsigned shift = GetParam().shift;
    const uint64_t start = GetParam().start;
    const uint64_t T = uint64_t{1} << shift;
    TimerWheel w(shift, Instant{start});

    // Distances in ticks around each level's edge (256^l) and beyond the whole range (2^32).
    const std::vector<uint64_t> centers = {0,
                                           1,
                                           2,
                                           3,
                                           255,
                                           256,
                                           257,
                                           511,
                                           512,
                                           513,
                                           65535,
                                           65536,
                                           65537,
                                           (uint64_t{1} << 24) - 1,
                                           uint64_t{1} << 24,
                                           (uint64_t{1} << 24) + 1,
                                           (uint64_t{1} << 32) - 1,
                                           uint64_t{1} << 32,
                                           (uint64_t{1} << 32) + 1,
                                           (uint64_t{1} << 33) + 3};
    std::vector<int64_t> offsets;  // cycles around each center
    if (T <= 64) {
        for (int64_t o = -2 * static_cast<int64_t>(T); o <= 2 * static_cast<int64_t>(T); ++o) offsets.push_back(o);
    } else {
        const int64_t t = static_cast<int64_t>(T);
        offsets = {-2 * t, -t - 1, -t, -t + 1, -t / 2, -2, -1, 0, 1, 2, t / 2, t - 1, t, t + 1, 2 * t};
    }
    const uint64_t start_tick_boundary = (start >> shift) << shift;
    std::vector<uint64_t> deadlines;
    for (uint64_t c : centers) {
        for (int64_t o : offsets) {
            const uint64_t d = start_tick_boundary + c * T + static_cast<uint64_t>(o);
            if (o < 0 && c * T < static_cast<uint64_t>(-o)) continue;  // before the start tick
            deadlines.push_back(d);
        }
    }
    auto items = make_items(deadlines.size());
    std::set<uint64_t> nows = {start};
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
        arm_item(w, items[i], deadlines[i]);
        // A deadline in the start tick (or behind it) is due from the first advance(), at `start`.
        const uint64_t b = std::max(boundary(deadlines[i], shift), start_tick_boundary);
        for (uint64_t v : {deadlines[i], b}) {
            if (v >= start) nows.insert(v);
            if (v > start) nows.insert(v - 1);
        }
    }
    ASSERT_EQ(w.pending(), deadlines.size());
    for (uint64_t now : nows) {
        w.advance(Instant{now}, kAll, [&](TimerNode& node) {
            Item& it = item_of(node);
            ++it.fires;
            it.fired_at = now;
        });
    }
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
        const Item& it = items[i];
        const uint64_t b = std::max(boundary(it.deadline, shift), start_tick_boundary);
        ASSERT_EQ(it.fires, 1u) << "deadline " << it.deadline;
        ASSERT_EQ(it.fired_at, std::max(b, start)) << "deadline " << it.deadline;
        if (it.deadline >= start) {
            ASSERT_GE(it.fired_at, it.deadline);
        }
    }
    EXPECT_EQ(w.pending(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Starts, NeverEarly,
    ::testing::Values(StartCase{4, 0}, StartCase{4, 7}, StartCase{4, 1'000'000'000'015},
                      StartCase{4, (uint64_t{1} << 63) - 12'345},  // near the top of a 63-bit TSC
                      StartCase{4, (uint64_t{1} << 63) - (uint64_t{256} << 4)},  // ends exactly on a level edge
                      StartCase{0, (uint64_t{1} << 40) + 3}, StartCase{21, (uint64_t{1} << 63) - 1},
                      StartCase{21, 123'456'789'012}));

// With a `now` advanced in irregular steps, each timer fires in the first advance() at or past its tick
// boundary: never before the deadline, and less than one tick plus one step after it.
TEST(TimerWheel, AtMostOneTickLateWithRegularAdvance) {
    constexpr unsigned kShift = 12;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = (uint64_t{1} << 62) + 999;
    TimerWheel w(kShift, Instant{start});
    std::mt19937_64 rng(7);
    constexpr std::size_t kN = 20'000;
    auto items = make_items(kN);
    for (std::size_t i = 0; i < kN; ++i) arm_item(w, items[i], start + rng() % (3000 * T));
    uint64_t now = start;
    uint64_t prev = start - 1;
    uint64_t max_step = 0;
    while (w.pending() > 0) {
        const uint64_t step = 1 + rng() % (T / 2);
        max_step = std::max(max_step, step);
        now += step;
        w.advance(Instant{now}, kAll, [&](TimerNode& node) {
            Item& it = item_of(node);
            ++it.fires;
            it.fired_at = now;
            const uint64_t b = boundary(it.deadline, kShift);
            EXPECT_GE(now, it.deadline);
            EXPECT_GE(now, b);   // not before its tick
            EXPECT_LT(prev, b);  // and not a call later than needed
        });
        prev = now;
    }
    for (std::size_t i = 0; i < kN; ++i) {
        EXPECT_EQ(items[i].fires, 1u);
        EXPECT_LT(items[i].fired_at - items[i].deadline, T + max_step);
    }
}

TEST(TimerWheel, DeadlineInThePastFiresWithTheNextTick) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(1);
    const uint64_t now = 100 * T + 5;
    EXPECT_EQ(w.advance(Instant{now}, kAll, [](TimerNode&) { FAIL(); }), 0u);
    arm_item(w, items[0], 40 * T);  // long past
    int fires = 0;
    auto count = [&](TimerNode&) { ++fires; };
    EXPECT_EQ(w.advance(Instant{now}, kAll, count), 0u);         // tick 100 is done
    EXPECT_EQ(w.advance(Instant{101 * T - 1}, kAll, count), 0u);
    EXPECT_EQ(w.advance(Instant{101 * T}, kAll, count), 1u);
    EXPECT_EQ(fires, 1);
}

TEST(TimerWheel, DueIsExactForTheEarliestTimer) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = 1000 * T + 3;
    TimerWheel w(kShift, Instant{start});
    auto items = make_items(3);
    arm_item(w, items[0], start + 5 * T);      // boundary 1006 T
    arm_item(w, items[1], start + 3000 * T);   // level 1
    arm_item(w, items[2], start + 200000 * T); // level 2
    EXPECT_FALSE(w.due(Instant{1006 * T - 1}));
    EXPECT_TRUE(w.due(Instant{1006 * T}));
    int fires = 0;
    auto count = [&](TimerNode&) { ++fires; };
    EXPECT_EQ(w.advance(Instant{1006 * T}, kAll, count), 1u);
    // Next work: the cascade of item 1's level-1 slot, at the first tick of its 256-tick span.
    const uint64_t cascade_tick = ((1000 + 3000 + 1) >> 8) << 8;
    EXPECT_FALSE(w.due(Instant{cascade_tick * T - 1}));
    EXPECT_TRUE(w.due(Instant{cascade_tick * T}));
    w.cancel(items[1].node);
    // Cancelling the earliest may leave due() conservatively true; one advance() settles it.
    EXPECT_EQ(w.advance(Instant{cascade_tick * T}, kAll, count), 0u);
    EXPECT_FALSE(w.due(Instant{cascade_tick * T}));
    EXPECT_EQ(w.pending(), 1u);
    EXPECT_EQ(fires, 1);
}

// Keepalive (hours) and a deadline past the wheel's 2^32-tick range, at the engine's real tick.
TEST(TimerWheel, FarDeadlinesHoursAndBeyondTheTopLevel) {
    constexpr unsigned kShift = 21;
    const TscRate rate{2'100'000'000};
    const uint64_t start = 987'654'321'987;
    TimerWheel w(kShift, Instant{start});
    auto items = make_items(3);
    const uint64_t keepalive = start + rate.sec(7200).cycles;          // RFC 1122: 2 hours
    const uint64_t far = start + rate.sec(100 * 24 * 3600).cycles;     // 100 days > 49.6 days of range
    const uint64_t very_far = start + rate.sec(400 * 24 * 3600).cycles + 1;
    arm_item(w, items[0], keepalive);
    arm_item(w, items[1], far);
    arm_item(w, items[2], very_far);
    std::vector<std::pair<uint32_t, uint64_t>> fired;
    uint64_t now = 0;
    auto record = [&](TimerNode& n) { fired.emplace_back(item_of(n).id, now); };
    auto step = [&](uint64_t to) {
        now = to;
        return w.advance(Instant{now}, kAll, record);
    };
    EXPECT_EQ(step(keepalive - 1), 0u);
    EXPECT_EQ(step(boundary(keepalive, kShift) - 1), 0u);
    EXPECT_EQ(step(boundary(keepalive, kShift)), 1u);
    EXPECT_EQ(w.moved_total(), 2u);  // level 2 -> 1 -> 0
    EXPECT_EQ(step(far - 1), 0u);
    EXPECT_EQ(step(boundary(far, kShift) - 1), 0u);
    EXPECT_EQ(step(boundary(far, kShift)), 1u);
    EXPECT_EQ(step(boundary(very_far, kShift) - 1), 0u);
    EXPECT_EQ(step(boundary(very_far, kShift)), 1u);
    const std::vector<std::pair<uint32_t, uint64_t>> expected = {
        {0, boundary(keepalive, kShift)}, {1, boundary(far, kShift)}, {2, boundary(very_far, kShift)}};
    EXPECT_EQ(fired, expected);
    // Keepalive: 2 moves. 100 days: re-queued from the top once (~49.6 days), then top -> 2 -> 1 -> 0: 5.
    // 400 days: re-queued 7 times, then top -> 2 -> 1 -> 0: 11. A handful of moves, not a walk per tick.
    EXPECT_EQ(w.moved_total(), 2u + 5u + 11u);
    EXPECT_EQ(w.pending(), 0u);
}

// Instant{UINT64_MAX} as "never": clamped and re-queued from the top level, it never fires.
TEST(TimerWheel, DeadlineAtTheEndOfTimeNeverFires) {
    constexpr unsigned kShift = 21;
    const TscRate rate{2'100'000'000};
    const uint64_t start = uint64_t{1} << 40;
    TimerWheel w(kShift, Instant{start});
    auto items = make_items(2);
    arm_item(w, items[0], std::numeric_limits<uint64_t>::max());
    arm_item(w, items[1], start + rate.sec(3600).cycles);
    std::vector<uint32_t> fired;
    const uint64_t end = start + rate.sec(1000 * 24 * 3600).cycles;  // 1000 days in one call
    EXPECT_EQ(w.advance(Instant{end}, kAll, [&](TimerNode& n) { fired.push_back(item_of(n).id); }), 1u);
    EXPECT_EQ(fired, std::vector<uint32_t>{1});
    EXPECT_TRUE(items[0].node.armed());
    EXPECT_EQ(w.pending(), 1u);
    EXPECT_FALSE(w.due(Instant{end}));
    // About one re-queue per 2^32 ticks (49.6 days) for the "never" timer, plus the hour timer's cascades.
    EXPECT_GE(w.moved_total(), 20u);
    EXPECT_LE(w.moved_total(), 24u);
}

// 10^6 timers with random deadlines over 10 s at a ~1 ms tick, a TSC near 2^62: each fires exactly once,
// in the first advance() at or past its tick boundary.
TEST(TimerWheel, MillionRandomTimersOverTenSeconds) {
    constexpr unsigned kShift = 20;  // 1.05 ms at the 1 GHz fake TSC
    constexpr uint64_t T = uint64_t{1} << kShift;
    const TscRate rate{};
    const uint64_t start = (uint64_t{1} << 62) + 123'456'789;
    TimerWheel w(kShift, Instant{start});
    constexpr std::size_t kN = 1'000'000;
    auto items = make_items(kN);
    std::mt19937_64 rng(2024);
    const uint64_t span = rate.sec(10).cycles;
    for (std::size_t i = 0; i < kN; ++i) arm_item(w, items[i], start + rng() % span);
    uint64_t now = start;
    uint64_t prev = start;
    std::size_t early = 0;
    std::size_t late = 0;
    std::size_t fired = 0;
    while (w.pending() > 0) {
        now += 1 + rng() % T;
        fired += w.advance(Instant{now}, kAll, [&](TimerNode& node) {
            Item& it = item_of(node);
            ++it.fires;
            const uint64_t b = boundary(it.deadline, kShift);
            if (now < it.deadline || now < b) ++early;
            if (prev >= b) ++late;  // a previous call already reached its tick
        });
        prev = now;
        ASSERT_LT(now - start, span + 2 * T);
    }
    EXPECT_EQ(fired, kN);
    EXPECT_EQ(early, 0u);
    EXPECT_EQ(late, 0u);
    std::size_t not_once = 0;
    for (std::size_t i = 0; i < kN; ++i) not_once += items[i].fires != 1;
    EXPECT_EQ(not_once, 0u);
}

}  // namespace
}  // namespace synwave::timer
