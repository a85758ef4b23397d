// Shared by the timing wheel's unit tests, which run on a fake clock (Instants built by hand, no sleeps, no
// timing asserts).
//
// The promise under test (lib/timer/wheel.hpp): a timer fires in the first advance() whose `now` reaches
// the tick boundary at or after its deadline, so never before the deadline and less than one tick plus the
// advance step after it. Most tests assert that exact instant, not just the bounds.
#pragma once
#include "timer/wheel.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>

namespace synwave::timer::testutil {

inline constexpr uint32_t kAll = std::numeric_limits<uint32_t>::max();

// A stand-in for a connection record: the node sits in the middle, as in a TCB, so owner_of is exercised.
struct Item {
    uint64_t deadline = 0;  // cycles
    TimerNode node;
    uint32_t id = 0;
    uint32_t fires = 0;
    uint64_t fired_at = 0;  // the `now` of the advance() that fired it
};

inline Item& item_of(TimerNode& n) { return owner_of<Item>(n, offsetof(Item, node)); }

// The first tick boundary at or after `cycles`, in cycles.
constexpr uint64_t boundary(uint64_t cycles, unsigned shift) {
    const uint64_t t = (cycles >> shift) + ((cycles & ((uint64_t{1} << shift) - 1)) != 0 ? 1 : 0);
    return t << shift;
}

inline std::unique_ptr<Item[]> make_items(std::size_t n) {
    auto items = std::make_unique<Item[]>(n);
    for (std::size_t i = 0; i < n; ++i) items[i].id = static_cast<uint32_t>(i);
    return items;
}

inline void arm_item(TimerWheel& w, Item& it, uint64_t deadline) {
    it.deadline = deadline;
    w.arm(it.node, Instant{deadline});
}

}  // namespace synwave::timer::testutil
