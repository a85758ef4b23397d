// Timing wheel: budgeted expiry. advance() fires and moves at most its budget per call, resumes in order
// on the next call, loses nothing, and a cascade paused by the budget never lets a tick fire early.
#include "wheel_test_util.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace synwave::timer {
namespace {

using namespace testutil;

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
