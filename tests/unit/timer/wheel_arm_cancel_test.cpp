// Timing wheel: arming, re-arming and cancelling, before expiry and from callbacks (including for the tick
// being fired), clear(), and random arm / re-arm / cancel / advance against a reference model.
#include "wheel_test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace synwave::timer {
namespace {

using namespace testutil;

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

}  // namespace
}  // namespace synwave::timer
