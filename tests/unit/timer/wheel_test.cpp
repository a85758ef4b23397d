// Unit tests of the timing wheel, on a fake clock (Instants built by hand, no sleeps, no timing asserts).
//
// The promise under test (lib/timer/wheel.hpp): a timer fires in the first advance() whose `now` reaches
// the tick boundary at or after its deadline, so never before the deadline and less than one tick plus the
// advance step after it. Most tests assert that exact instant, not just the bounds.
#include "timer/wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace synwave::timer {
namespace {

constexpr uint32_t kAll = std::numeric_limits<uint32_t>::max();

// A stand-in for a connection record: the node sits in the middle, as in a TCB, so owner_of is exercised.
struct Item {
    uint64_t deadline = 0;  // cycles
    TimerNode node;
    uint32_t id = 0;
    uint32_t fires = 0;
    uint64_t fired_at = 0;  // the `now` of the advance() that fired it
};

Item& item_of(TimerNode& n) { return owner_of<Item>(n, offsetof(Item, node)); }

// The first tick boundary at or after `cycles`, in cycles.
constexpr uint64_t boundary(uint64_t cycles, unsigned shift) {
    const uint64_t t = (cycles >> shift) + ((cycles & ((uint64_t{1} << shift) - 1)) != 0 ? 1 : 0);
    return t << shift;
}

std::unique_ptr<Item[]> make_items(std::size_t n) {
    auto items = std::make_unique<Item[]>(n);
    for (std::size_t i = 0; i < n; ++i) items[i].id = static_cast<uint32_t>(i);
    return items;
}

void arm_item(TimerWheel& w, Item& it, uint64_t deadline) {
    it.deadline = deadline;
    w.arm(it.node, Instant{deadline});
}

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

TEST(TimerWheel, CancelBeforeExpiry) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(4);
    arm_item(w, items[0], 10 * T);
    arm_item(w, items[1], 10 * T);     // same slot as 0
    arm_item(w, items[2], 1000 * T);   // level 1
    arm_item(w, items[3], 100000 * T); // level 2
    EXPECT_EQ(w.pending(), 4u);
    w.cancel(items[1].node);
    w.cancel(items[2].node);
    w.cancel(items[3].node);
    EXPECT_FALSE(items[1].node.armed());
    EXPECT_FALSE(items[2].node.armed());
    EXPECT_FALSE(items[3].node.armed());
    EXPECT_TRUE(items[0].node.armed());
    EXPECT_EQ(w.pending(), 1u);
    w.cancel(items[1].node);  // cancelling a disarmed node is a no-op
    EXPECT_EQ(w.pending(), 1u);

    std::vector<uint32_t> fired;
    auto record = [&](TimerNode& n) { fired.push_back(item_of(n).id); };
    EXPECT_EQ(w.advance(Instant{200000 * T}, kAll, record), 1u);
    EXPECT_EQ(fired, std::vector<uint32_t>{0});
    EXPECT_EQ(w.pending(), 0u);
    EXPECT_FALSE(w.due(Instant{uint64_t{1} << 40}));
}

TEST(TimerWheel, CancelFromCallbackOfAnotherTimerDueInTheSameTick) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(4);
    // 0 and 1 in the same tick (same expired list), 2 a tick later, 3 far away in level 1.
    arm_item(w, items[0], 5 * T - 3);
    arm_item(w, items[1], 5 * T);
    arm_item(w, items[2], 6 * T);
    arm_item(w, items[3], 900 * T);
    std::vector<uint32_t> fired;
    const uint32_t n = w.advance(Instant{1000 * T}, kAll, [&](TimerNode& node) {
        Item& it = item_of(node);
        fired.push_back(it.id);
        if (it.id == 0 || it.id == 1) {
            // Whichever of the pair fires first cancels its partner, plus the level-1 timer.
            w.cancel(items[1 - it.id].node);
            w.cancel(items[3].node);
        }
    });
    EXPECT_EQ(n, 2u);
    ASSERT_EQ(fired.size(), 2u);
    EXPECT_TRUE(fired[0] == 0 || fired[0] == 1);
    EXPECT_EQ(fired[1], 2u);
    EXPECT_EQ(w.pending(), 0u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(items[i].node.armed());
}

TEST(TimerWheel, RearmFromCallbackMakesAPeriodicTimer) {
    constexpr unsigned kShift = 6;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = (uint64_t{1} << 63) - 1000 * T;  // crosses 2^63 on the way
    TimerWheel w(kShift, Instant{start});
    auto items = make_items(2);
    arm_item(w, items[0], start + 7 * T);
    arm_item(w, items[1], start + 3 * T);  // re-armed "for now" from its callback
    std::vector<uint64_t> fires0;
    std::vector<uint64_t> fires1;
    uint64_t now = start;
    for (int i = 0; i < 2000 * 2; ++i) {
        now += T / 2;
        w.advance(Instant{now}, kAll, [&](TimerNode& node) {
            Item& it = item_of(node);
            if (it.id == 0) {
                fires0.push_back(now);
                if (fires0.size() < 100) arm_item(w, it, it.deadline + 7 * T);
            } else {
                fires1.push_back(now);
                // A deadline in the tick being fired: goes to the next tick, never loops within this one.
                if (fires1.size() < 5) arm_item(w, it, now);
            }
        });
    }
    ASSERT_EQ(fires0.size(), 100u);
    for (std::size_t k = 0; k < fires0.size(); ++k) EXPECT_EQ(fires0[k], start + 7 * T * (k + 1)) << k;
    ASSERT_EQ(fires1.size(), 5u);
    for (std::size_t k = 0; k < fires1.size(); ++k) EXPECT_EQ(fires1[k], start + (3 + k) * T) << k;
    EXPECT_EQ(w.pending(), 0u);
}

TEST(TimerWheel, ArmNewInCallbackIncludingTheSlotBeingProcessed) {
    constexpr unsigned kShift = 5;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(6);
    // Fires at tick 65536: the first tick of level-1 and level-2 spans, right after their cascades.
    const uint64_t t0 = 65536;
    arm_item(w, items[0], t0 * T);
    bool armed_new = false;
    std::vector<std::pair<uint32_t, uint64_t>> fired;  // (id, now)
    uint64_t now = 0;
    auto on_expire = [&](TimerNode& node) {
        Item& it = item_of(node);
        fired.emplace_back(it.id, now);
        if (it.id == 0 && !armed_new) {
            armed_new = true;
            arm_item(w, items[1], (t0 + 256) * T);    // same level-0 slot as the tick being fired
            arm_item(w, items[2], t0 * T);            // the tick being fired: next tick
            arm_item(w, items[3], (t0 + 1) * T - 1);  // rounds up to the next tick too
            arm_item(w, items[4], (t0 + 65536) * T);  // the level-1 slot cascaded for this tick
            arm_item(w, items[5], (t0 + 2) * T + 1);
        }
    };
    for (uint64_t tick = 1; tick <= t0 + 70000; ++tick) {
        now = tick * T;
        w.advance(Instant{now}, kAll, on_expire);
    }
    const std::vector<std::pair<uint32_t, uint64_t>> expected = {
        {0, t0 * T},       {2, (t0 + 1) * T},   {3, (t0 + 1) * T},
        {5, (t0 + 3) * T}, {1, (t0 + 256) * T}, {4, (t0 + 65536) * T}};
    ASSERT_EQ(fired.size(), expected.size());
    // 2 and 3 share a tick; their order within it is not specified.
    EXPECT_EQ(fired[0], expected[0]);
    EXPECT_TRUE((fired[1] == expected[1] && fired[2] == expected[2]) ||
                (fired[1] == expected[2] && fired[2] == expected[1]));
    EXPECT_EQ(fired[3], expected[3]);
    EXPECT_EQ(fired[4], expected[4]);
    EXPECT_EQ(fired[5], expected[5]);
    EXPECT_EQ(w.pending(), 0u);
}

// Arming a node for the tick being fired, even one that sits in that tick's expired list, defers it to the
// next tick: a callback that keeps arming "for now" cannot keep advance() inside one tick.
TEST(TimerWheel, ArmForTheTickBeingFiredWaitsForTheNextTick) {
    constexpr unsigned kShift = 7;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(2);
    arm_item(w, items[0], 5 * T);
    arm_item(w, items[1], 5 * T - 1);  // same tick
    std::vector<std::pair<uint32_t, uint64_t>> fired;
    uint64_t now = 0;
    bool first = true;
    for (now = 0; now <= 10 * T; now += T) {
        w.advance(Instant{now}, kAll, [&](TimerNode& n) {
            const uint32_t id = item_of(n).id;
            fired.emplace_back(id, now);
            if (first) {
                first = false;
                // The partner is still due in this tick; re-armed to this tick's boundary it waits a tick.
                arm_item(w, items[1 - id], 5 * T);
            }
        });
    }
    ASSERT_EQ(fired.size(), 2u);
    EXPECT_EQ(fired[0].second, 5 * T);
    EXPECT_EQ(fired[1].first, 1 - fired[0].first);
    EXPECT_EQ(fired[1].second, 6 * T);
}

// A `now` that goes backwards while a cascade is paused by the budget must not let the tick it belongs to
// fire early.
TEST(TimerWheel, NowGoingBackwardsNeverFiresEarly) {
    constexpr unsigned kShift = 6;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    constexpr std::size_t kN = 100;
    auto items = make_items(kN);
    for (std::size_t i = 0; i < kN; ++i) arm_item(w, items[i], (256 + i % 5) * T);  // level 1, cascades at 256
    std::size_t early = 0;
    std::size_t fired = 0;
    uint64_t now = 256 * T;
    auto check = [&](TimerNode& n) {
        ++fired;
        if (now < item_of(n).deadline) ++early;
    };
    EXPECT_EQ(w.advance(Instant{now}, 10, check), 0u);  // 10 of 100 moved, the cascade pauses
    EXPECT_EQ(w.moved_total(), 10u);
    now = 255 * T;
    EXPECT_EQ(w.advance(Instant{now}, kAll, check), 0u);  // finishes the cascade, must not fire tick 256
    EXPECT_EQ(w.moved_total(), kN);
    now = 256 * T;
    EXPECT_EQ(w.advance(Instant{now}, kAll, check), 20u);  // exactly the timers of tick 256
    now = 300 * T;
    EXPECT_EQ(w.advance(Instant{now}, kAll, check), 80u);
    EXPECT_EQ(fired, kN);
    EXPECT_EQ(early, 0u);
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

TEST(TimerWheel, BudgetFiresExactlyBudgetPerCallAndLosesNone) {
    constexpr unsigned kShift = 10;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = 3 * T + 17;
    TimerWheel w(kShift, Instant{start});
    constexpr std::size_t kN = 100'000;
    auto items = make_items(kN);
    std::mt19937_64 rng(11);
    for (std::size_t i = 0; i < kN; ++i) arm_item(w, items[i], start + 1 + rng() % (200 * T));
    const uint64_t now = start + 1000 * T;
    uint64_t prev_tick = 0;
    for (std::size_t call = 0; call < kN / 1000; ++call) {
        ASSERT_TRUE(w.due(Instant{now}));
        const uint32_t n = w.advance(Instant{now}, 1000, [&](TimerNode& node) {
            Item& it = item_of(node);
            ++it.fires;
            const uint64_t tick = boundary(it.deadline, kShift);
            EXPECT_GE(tick, prev_tick);  // resumed in order across calls
            prev_tick = tick;
        });
        ASSERT_EQ(n, 1000u) << "call " << call;
        ASSERT_EQ(w.pending(), kN - 1000 * (call + 1));
    }
    EXPECT_FALSE(w.due(Instant{now}));
    EXPECT_EQ(w.advance(Instant{now}, 1000, [](TimerNode&) { FAIL(); }), 0u);
    for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(items[i].fires, 1u) << i;
    EXPECT_EQ(w.moved_total(), 0u);  // all in level 0: nothing to cascade
}

// 10^5 timers in one level-2 slot: the cascade moves are budgeted like expiries, and nothing is lost.
TEST(TimerWheel, CascadeStormIsSpreadOverCalls) {
    constexpr unsigned kShift = 4;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    constexpr std::size_t kN = 100'000;
    auto items = make_items(kN);
    std::mt19937_64 rng(5);
    // Ticks 70000..70099: level 2 (>= 65536 ticks away), one level-2 slot, one level-1 slot (69888..70143).
    for (std::size_t i = 0; i < kN; ++i) arm_item(w, items[i], 70000 * T + rng() % (100 * T));
    const uint64_t now = 71000 * T;
    std::size_t calls = 0;
    std::size_t fired_total = 0;
    while (w.due(Instant{now})) {
        const uint64_t moved_before = w.moved_total();
        const uint32_t n = w.advance(Instant{now}, 1000, [&](TimerNode& node) { ++item_of(node).fires; });
        ASSERT_LE(n, 1000u);
        ASSERT_LE(w.moved_total() - moved_before, 1000u);
        fired_total += n;
        ASSERT_LT(++calls, 1000u);
    }
    EXPECT_EQ(fired_total, kN);
    EXPECT_EQ(w.moved_total(), 2 * kN);  // level 2 -> level 1 -> level 0, once each
    // 100 calls of 1000 moves per level, then 100 of 1000 expiries; the call that finishes the second
    // cascade goes on to fire its first 1000 (moves and expiries have separate budgets).
    EXPECT_EQ(calls, 299u);
    for (std::size_t i = 0; i < kN; ++i) ASSERT_EQ(items[i].fires, 1u) << i;
    EXPECT_EQ(w.pending(), 0u);
}

TEST(TimerWheel, RearmLaterIsAStoreAndFiresAtTheNewDeadline) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(1);
    Item& it = items[0];
    arm_item(w, it, 10 * T);
    for (uint64_t k = 11; k <= 500; ++k) arm_item(w, it, k * T - 7);  // per-ACK style restarts, always later
    EXPECT_EQ(w.pending(), 1u);
    EXPECT_EQ(w.expiry(it.node), Instant{500 * T});
    EXPECT_EQ(w.moved_total(), 0u);  // nothing was relinked
    uint64_t now = 0;
    auto record = [&](TimerNode& n) {
        ++item_of(n).fires;
        item_of(n).fired_at = now;
    };
    now = 10 * T;
    EXPECT_EQ(w.advance(Instant{now}, kAll, record), 0u);  // the old slot comes up: re-sorted, not fired
    EXPECT_EQ(w.moved_total(), 1u);
    EXPECT_TRUE(it.node.armed());
    now = 500 * T - 1;
    EXPECT_EQ(w.advance(Instant{now}, kAll, record), 0u);
    now = 500 * T;
    EXPECT_EQ(w.advance(Instant{now}, kAll, record), 1u);
    EXPECT_EQ(it.fires, 1u);
    EXPECT_EQ(it.fired_at, 500 * T);
}

TEST(TimerWheel, RearmEarlierMovesAndFiresOnce) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(2);
    arm_item(w, items[0], 500 * T);
    arm_item(w, items[0], 10 * T + 1);  // earlier: relinked
    arm_item(w, items[1], 20 * T);
    arm_item(w, items[1], 20 * T - 5);  // same tick: no-op
    EXPECT_EQ(w.pending(), 2u);
    EXPECT_EQ(w.expiry(items[0].node), Instant{11 * T});
    std::vector<std::pair<uint32_t, uint64_t>> fired;
    for (uint64_t now = 0; now <= 600 * T; now += T) {
        w.advance(Instant{now}, kAll, [&](TimerNode& n) { fired.emplace_back(item_of(n).id, now); });
    }
    const std::vector<std::pair<uint32_t, uint64_t>> expected = {{0, 11 * T}, {1, 20 * T}};
    EXPECT_EQ(fired, expected);
    EXPECT_EQ(w.moved_total(), 0u);
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

TEST(TimerWheel, ClearDisarmsEverything) {
    constexpr unsigned kShift = 8;
    constexpr uint64_t T = uint64_t{1} << kShift;
    TimerWheel w(kShift, Instant{0});
    auto items = make_items(4);
    arm_item(w, items[0], 3 * T);
    arm_item(w, items[1], 3000 * T);
    arm_item(w, items[2], 300000 * T);
    arm_item(w, items[3], uint64_t{1} << 50);
    w.clear();
    EXPECT_EQ(w.pending(), 0u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_FALSE(items[i].node.armed());
    EXPECT_FALSE(w.due(Instant{uint64_t{1} << 55}));
    EXPECT_EQ(w.advance(Instant{uint64_t{1} << 55}, kAll, [](TimerNode&) { FAIL(); }), 0u);
    arm_item(w, items[0], (uint64_t{1} << 55) + 1);  // usable again
    EXPECT_EQ(w.advance(Instant{(uint64_t{1} << 55) + T}, kAll, [](TimerNode&) {}), 1u);
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

// Random arm / re-arm / cancel / advance, also from callbacks, against a reference model. The model's rule:
// a timer armed with deadline d while the wheel's next unprocessed tick is c fires in the first advance()
// whose tick reaches max(ceil(d / T), c); c is the tick after the last advance()'s `now` (or, inside a
// callback, the tick after the one being fired).
TEST(TimerWheel, RandomOperationsMatchAReferenceModel) {
    constexpr unsigned kShift = 3;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = (uint64_t{1} << 63) - (uint64_t{1} << 40) + 5;
    TimerWheel w(kShift, Instant{start});
    constexpr std::size_t kN = 3000;
    auto items = make_items(kN);
    std::vector<uint64_t> model_tick(kN, 0);  // fire tick of armed items
    std::vector<bool> model_armed(kN, false);
    std::size_t model_pending = 0;
    std::mt19937_64 rng(99);
    uint64_t c = start >> kShift;  // wheel's next unprocessed tick, as seen from outside

    auto random_deadline = [&](uint64_t base_cycles) -> uint64_t {
        switch (rng() % 8) {
            case 0: return base_cycles - rng() % (50 * T);  // past
            case 1: return base_cycles + rng() % (2 * T);
            case 2: case 3: return base_cycles + rng() % (300 * T);
            case 4: return base_cycles + rng() % (70'000 * T);
            case 5: return base_cycles + rng() % ((uint64_t{1} << 25) * T);
            case 6: return base_cycles + (uint64_t{1} << 32) * T + rng() % ((uint64_t{1} << 33) * T);
            default: return base_cycles + 256 * T * (1 + rng() % 4);  // level edges
        }
    };
    auto model_arm = [&](std::size_t i, uint64_t d, uint64_t cur) {
        if (!model_armed[i]) ++model_pending;
        model_armed[i] = true;
        const uint64_t e = boundary(d, kShift) >> kShift;
        model_tick[i] = std::max(e, cur);
        arm_item(w, items[i], d);
    };
    auto model_cancel = [&](std::size_t i) {
        if (model_armed[i]) --model_pending;
        model_armed[i] = false;
        w.cancel(items[i].node);
    };

    uint64_t now = start;
    std::size_t total_fired = 0;
    for (int round = 0; round < 20'000; ++round) {
        const unsigned ops = static_cast<unsigned>(rng() % 8);
        for (unsigned k = 0; k < ops; ++k) {
            const std::size_t i = rng() % kN;
            if (rng() % 4 == 0) {
                model_cancel(i);
            } else {
                model_arm(i, random_deadline(now), c);
            }
        }
        ASSERT_EQ(w.pending(), model_pending);
        // Mostly small steps, sometimes a jump over empty space (levels 1 to 3 and beyond).
        const uint64_t r = rng() % 100;
        now += r < 90 ? rng() % (3 * T) : r < 98 ? rng() % (100'000 * T) : rng() % ((uint64_t{1} << 34) * T);
        const uint64_t target = now >> kShift;
        uint64_t last_tick = 0;
        std::vector<std::size_t> fired_now;
        w.advance(Instant{now}, kAll, [&](TimerNode& node) {
            Item& it = item_of(node);
            const std::size_t i = it.id;
            ASSERT_TRUE(model_armed[i]) << "fired a timer that is not armed";
            ASSERT_LE(model_tick[i], target) << "early";
            ASSERT_GE(model_tick[i], c) << "late: was due in an earlier advance()";
            ASSERT_GE(model_tick[i], last_tick) << "out of order";
            ASSERT_GE(now, it.deadline);
            last_tick = model_tick[i];
            model_armed[i] = false;
            --model_pending;
            fired_now.push_back(i);
            // Callback actions, with the wheel inside tick model_tick[i].
            const uint64_t cur = model_tick[i] + 1;
            const uint64_t tick_start = model_tick[i] << kShift;
            const uint64_t a = rng() % 10;
            if (a < 3) {
                model_arm(i, random_deadline(tick_start), cur);
            } else if (a < 5) {
                model_cancel(rng() % kN);
            } else if (a < 7) {
                model_arm(rng() % kN, random_deadline(tick_start), cur);
            }
        });
        total_fired += fired_now.size();
        c = std::max(c, target + 1);
        // Everything the model says was due has fired.
        for (std::size_t i = 0; i < kN; ++i) {
            if (model_armed[i]) {
                ASSERT_GT(model_tick[i], target) << "late: item " << i;
            }
            ASSERT_EQ(items[i].node.armed(), model_armed[i]) << i;
        }
        ASSERT_EQ(w.pending(), model_pending);
    }
    EXPECT_GT(total_fired, 10'000u);
}

// Random operations under small budgets, so cascades and expired lists are often left half done between
// calls while timers are armed, re-armed and cancelled (also from callbacks). Checked: never early, the
// budgets hold, each arming fires at most once and, after a final drain, exactly once.
TEST(TimerWheel, RandomOperationsUnderSmallBudgets) {
    constexpr unsigned kShift = 2;
    constexpr uint64_t T = uint64_t{1} << kShift;
    const uint64_t start = (uint64_t{1} << 62) - 77;
    TimerWheel w(kShift, Instant{start});
    constexpr std::size_t kN = 20'000;
    auto items = make_items(kN);
    std::vector<bool> model_armed(kN, false);
    std::size_t model_pending = 0;
    std::mt19937_64 rng(31337);
    uint64_t now = start;
    auto random_deadline = [&]() -> uint64_t {
        switch (rng() % 6) {
            case 0: return now - rng() % (20 * T);
            case 1: case 2: return now + rng() % (300 * T);
            case 3: return now + rng() % (70'000 * T);
            case 4: return now + rng() % ((uint64_t{1} << 20) * T);
            default: return now + 65'536 * T + rng() % (512 * T);  // piles up in few level-1/2 slots
        }
    };
    auto do_arm = [&](std::size_t i) {
        if (!model_armed[i]) ++model_pending;
        model_armed[i] = true;
        arm_item(w, items[i], random_deadline());
    };
    auto do_cancel = [&](std::size_t i) {
        if (model_armed[i]) --model_pending;
        model_armed[i] = false;
        w.cancel(items[i].node);
    };
    std::size_t fired_total = 0;
    auto on_expire = [&](TimerNode& node) {
        Item& it = item_of(node);
        ASSERT_TRUE(model_armed[it.id]) << "fired twice or after cancel";
        ASSERT_GE(now, it.deadline) << "early";
        ASSERT_GE(now, boundary(it.deadline, kShift)) << "before its tick";
        model_armed[it.id] = false;
        --model_pending;
        ++fired_total;
        const uint64_t a = rng() % 10;
        if (a < 2) do_arm(it.id);
        else if (a < 4) do_cancel(rng() % kN);
        else if (a < 6) do_arm(rng() % kN);
    };
    for (int round = 0; round < 30'000; ++round) {
        for (unsigned k = static_cast<unsigned>(rng() % 6); k > 0; --k) {
            const std::size_t i = rng() % kN;
            if (rng() % 5 == 0) do_cancel(i);
            else do_arm(i);
        }
        now += rng() % 100 < 95 ? rng() % (4 * T) : rng() % (200'000 * T);
        const uint32_t budget = 1 + static_cast<uint32_t>(rng() % 40);
        const uint64_t moved_before = w.moved_total();
        const uint32_t n = w.advance(Instant{now}, budget, on_expire);
        ASSERT_LE(n, budget);
        ASSERT_LE(w.moved_total() - moved_before, budget);
        ASSERT_EQ(w.pending(), model_pending);
    }
    // Drain: jump past every deadline (2^20 ticks plus the 65536-tick pile) and run until nothing is due.
    now += (uint64_t{1} << 21) * T;
    std::size_t calls = 0;
    while (w.due(Instant{now}) && calls < 1'000'000) {
        w.advance(Instant{now}, 64, on_expire);
        ++calls;
    }
    // Callbacks during the drain arm a few timers again; those still pending must lie in the future.
    for (std::size_t i = 0; i < kN; ++i) {
        if (model_armed[i]) {
            ASSERT_GT(boundary(items[i].deadline, kShift), now - T) << i;
        }
        ASSERT_EQ(items[i].node.armed(), model_armed[i]) << i;
    }
    EXPECT_EQ(w.pending(), model_pending);
    EXPECT_GT(fired_total, 50'000u);
}

}  // namespace
}  // namespace synwave::timer
