// The per-lcore timing wheel: hashed and hierarchical, after G. Varghese and T. Lauck, "Hashed and
// Hierarchical Timing Wheels" (SOSP 1987), scheme 7 (one wheel per level, timers cascade down a level as
// their deadline comes into the finer wheel's range), in the shape of Linux's kernel/time/timer.c before 4.8.
//
// Every connection embeds TimerNode(s); the wheel links them into slot lists and never allocates. The TCP
// layer uses it for RFC 6298 retransmission (and SYN, SYN-ACK and FIN retries with RFC 6298 §5.5 backoff),
// RFC 1122 §4.2.3.2 delayed ACK, RFC 9293 §3.8.6.1 zero-window probes, RFC 9293 §3.6 2MSL (TIME_WAIT) and
// RFC 1122 §4.2.3.6 keepalive.
//
// Time
// ----
// The wheel never reads a clock: `now` and deadlines are `synwave::Instant` (TSC cycles) passed in. A tick is
// 2^tick_shift cycles, and tick number t begins at cycle t << tick_shift. A deadline is rounded *up* to the
// next tick boundary, and tick t is processed only once `now >= t << tick_shift`, so:
//
//   * A timer never fires early: it fires at a `now` that is at or after its deadline, never before.
//   * A timer is at most one tick late: it fires in the first advance() whose `now` reaches the tick
//     boundary at or after its deadline (if the budget is not exhausted), that is less than one tick plus the
//     caller's advance interval after the deadline.
//   * A deadline in a tick the wheel has already processed (a deadline in the past, or one armed from a
//     callback for the tick being fired) fires with the next tick processed, never within the same tick.
//     This keeps advance() finite even when callbacks keep arming timers "for now".
//
// Levels (tick_shift 21 at a 2.1 GHz TSC: one tick = 2^21 cycles = 0.9986 ms)
// -----------------------------------------------------------------------
// A timer goes to the level whose range holds its distance from the wheel's current tick. Level l has
// 256 slots, each 256^l ticks wide; a level-l slot is cascaded (its timers re-sorted into finer levels) when
// the wheel reaches the first tick of the slot's span, so every timer ends in level 0 and fires to the tick.
// "Granularity" below is how coarsely a level *sorts*, not how precisely it fires.
//
//   level  slots  granularity (ticks)  granularity (time)  holds distances (ticks)   holds distances (time)
//   0      256    1                    0.9986 ms           [0, 2^8)                  0 .. 255.6 ms
//   1      256    2^8                  255.6 ms            [2^8, 2^16)               255.6 ms .. 65.45 s
//   2      256    2^16                 65.45 s             [2^16, 2^24)              65.45 s .. 4.65 h
//   3      256    2^24                 4.65 h              [2^24, 2^32)              4.65 h .. 49.6 days
//   beyond: clamped into the last slot of level 3 that the range reaches and re-queued from there
//           (never fired early: the node keeps its true expiry and is re-sorted when the slot comes up).
//
// Slots: 4 x 256 x 8 bytes = 8 KiB of list heads plus 128 bytes of occupancy bitmaps, L1/L2-resident.
//
// Why levels with cascading, and not one wheel with a round count per slot
// -----------------------------------------------------------------------
// Take 10^6 TIME_WAIT timers of 60 s at a 1 ms tick. A single wheel with rounds walks every timer in a slot on
// every revolution: with 4096 slots a 60 s timer is visited ~15 times before it fires, 15 x 10^6 visits per
// minute, each a cache miss on a cold connection record (~1.5 s of CPU per minute). Making the wheel big
// enough to avoid revisits (65536 slots = 512 KiB of heads) evicts the L2 cache. Here 60 s (60082 ticks) lands
// in level 1: each TIME_WAIT timer is moved once, to level 0, in the last ~256 ms of its life, and then fires;
// keepalive timers of hours are moved twice. Linux's post-4.8 wheel skips cascading altogether but fires
// up to 12.5% of the delay late, which would break the one-tick promise above.
// The cost of cascading is burstiness: one level-1 slot holds every timer armed in a 256 ms window. So moves
// are budgeted exactly like expiries (see advance()) and a cascade of any size is spread over calls.
//
// Why re-arming costs nothing
// ---------------------------
// TCP restarts its retransmit timer on nearly every ACK (RFC 6298 §5.3), always to a later deadline. arm() of
// an armed node to a deadline that is not earlier than its current one only stores the new expiry: the node
// stays in the slot it is in, which the wheel reaches no later than the old expiry; at that point the wheel
// sees the expiry has moved and re-queues the node instead of firing it (one move, however many re-arms came
// before). Re-arming to the same tick, the common case within a millisecond, is likewise a single store.
// Only moving a deadline earlier unlinks and relinks the node (still O(1)).
//
// Node size
// ---------
// A node is two pointers and a 64-bit expiry tick: 24 bytes (static_asserted). Pointers rather than 32-bit
// pool indices because nodes live in different pools (TCBs, SYN-RECEIVED and TIME_WAIT records) that the
// wheel should not know the layout of; an index would need a pool tag and a base/stride per pool. The list
// is Linux's hlist: `pprev` points at whatever points at the node (a slot head or the previous node), so
// unlinking needs no list head and a slot head is one pointer.
//
// Rules for callers
// -----------------
//   * One wheel per lcore, no locking. A node belongs to one wheel at a time; neither may be copied or moved
//     while armed (both are non-copyable; the wheel's address is stored in the nodes it holds).
//   * The owner of a node is recovered with owner_of<Owner>(node, offsetof(Owner, member)).
//   * The on_expire callback may cancel or arm any node, including the one it got and nodes due in the same
//     tick, and may free the owner of the node it got (the wheel does not touch a node after firing it);
//     any other owner it frees must have its node cancelled first. It must not call advance() on the same
//     wheel.
//   * `now` passed to advance() must not go backwards; if it does, nothing fires early, nothing is lost.
//   * `now` must stay below 2^64 - 2^(33 + tick_shift) cycles so tick numbers never wrap (at tick_shift
//     21 that is 2^64 - 2^54 cycles: centuries of uptime at any TSC rate; tests start near 2^63). Deadlines
//     may be anything, Instant{UINT64_MAX} included ("never": re-queued every ~49.6 days, never fired).
#pragma once
#include <bit>
#include <cassert>
#include <compare>  // core/time.hpp defaults operator<=> without including it
#include <cstddef>
#include <cstdint>
#include <limits>

#include "core/cacheline.hpp"
#include "core/time.hpp"

namespace synwave::timer {

class TimerWheel;

// Embedded in its owner. Not armed when default-constructed.
class TimerNode {
public:
    constexpr TimerNode() = default;
    // The wheel holds this node's address (and the node holds an address inside the wheel and in its
    // neighbours): a copy would be a second node claiming the same list position.
    TimerNode(const TimerNode&) = delete;
    TimerNode& operator=(const TimerNode&) = delete;

    [[nodiscard]] bool armed() const { return pprev_ != nullptr; }

private:
    friend class TimerWheel;
    TimerNode* next_ = nullptr;
    TimerNode** pprev_ = nullptr;  // null <=> not armed
    uint64_t expiry_ = 0;          // tick number: the deadline rounded up to a tick boundary
};
static_assert(sizeof(TimerNode) == 24, "timer node is designed as two links and a 64-bit tick");

// The record a node is embedded in: owner_of<Conn>(node, offsetof(Conn, timer)). The caller owns the
// guarantee that `node` really is that member of an Owner (offsetof needs a standard-layout Owner).
template <class Owner>
[[nodiscard]] inline Owner& owner_of(TimerNode& node, std::size_t member_offset) {
    return *reinterpret_cast<Owner*>(reinterpret_cast<unsigned char*>(&node) - member_offset);
}

class alignas(kCacheLine) TimerWheel {
public:
    static constexpr unsigned kLevelBits = 8;                     // 256 slots: a level's heads are 2 KiB
    static constexpr unsigned kSlots = 1u << kLevelBits;
    static constexpr unsigned kLevels = 4;                        // 2^32 ticks: 49.6 days at ~1 ms ticks
    static constexpr uint64_t kSlotMask = kSlots - 1;
    static constexpr uint64_t kRangeTicks = uint64_t{1} << (kLevelBits * kLevels);
    static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

    // tick_shift in [0, 63]: a tick is 2^tick_shift TSC cycles (21 is ~1 ms at 2.1 GHz).
    // `start` is the current time; the first tick processed is the one containing it.
    TimerWheel(uint32_t tick_shift, Instant start)
        : shift_(tick_shift), cur_(start.cycles >> tick_shift) {
        assert(tick_shift < 64);
    }
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Arms `n` to fire at the first tick boundary at or after `deadline`. Arming an armed node moves it;
    // moving it later (or to the same tick) is a single store. O(1), no allocation.
    void arm(TimerNode& n, Instant deadline) {
        const uint64_t e = ceil_tick(deadline);
        if (n.pprev_ != nullptr) {
            // The node's current list is reached no later than max(expiry, cur_) (every placement sorts by
            // a tick no later than its expiry), so a deadline at or after that, and not yet due, can wait
            // there: the list is re-sorted or fired from when reached, and the node is re-sorted then.
            if (e >= cur_ && e >= n.expiry_) {
                n.expiry_ = e;
                return;
            }
            unlink(n);
        } else {
            ++pending_;
        }
        n.expiry_ = e;
        place(n);
    }

    // Disarms `n` if it is armed. O(1).
    void cancel(TimerNode& n) {
        if (n.pprev_ == nullptr) return;
        unlink(n);
        --pending_;
    }

    [[nodiscard]] static bool armed(const TimerNode& n) { return n.armed(); }

    // Processes ticks up to the one containing `now`, calling on_expire(TimerNode&) for each timer due, in
    // tick order; the node is disarmed before the call. Fires at most `budget` timers, and moves (cascades
    // or re-queues after a postponing re-arm) at most `budget` timers, so a call does bounded work however
    // many timers are due; the next call resumes where this one stopped. Returns the number fired.
    template <class F>
    uint32_t advance(Instant now, uint32_t budget, F&& on_expire);

    // Cheap check for the engine loop: false means advance(now, ...) would do nothing. It may say true when
    // the earliest timer was cancelled or postponed since the last advance() (that advance() then finds
    // little to do); it never says false when a timer is due.
    [[nodiscard]] bool due(Instant now) const { return (now.cycles >> shift_) >= next_; }

    // Armed nodes, including those due but not yet fired because the budget ran out.
    [[nodiscard]] std::size_t pending() const { return pending_; }

    // The instant an armed node fires at (its deadline rounded up to a tick boundary; meaningless for a
    // deadline within one tick of 2^64).
    [[nodiscard]] Instant expiry(const TimerNode& n) const { return Instant{n.expiry_ << shift_}; }

    [[nodiscard]] uint32_t tick_shift() const { return shift_; }
    [[nodiscard]] Duration tick() const { return Duration{uint64_t{1} << shift_}; }

    // Totals since construction, for the stats layer: timers fired, timers moved between lists.
    [[nodiscard]] uint64_t fired_total() const { return fired_total_; }
    [[nodiscard]] uint64_t moved_total() const { return moved_total_; }

    // Disarms every node (for teardown, while the owners are still alive). O(pending).
    void clear() {
        for (auto& head : slots_) clear_list(head);
        for (auto& head : staged_) clear_list(head);
        clear_list(expired_);
        for (auto& w : occ_) w = 0;
        pending_ = 0;
        cascading_ = false;
        next_ = kNever;
    }

private:
    static constexpr unsigned kWords = kSlots / 64;  // occupancy bitmap words per level

    [[nodiscard]] uint64_t ceil_tick(Instant t) const {
        const uint64_t mask = (uint64_t{1} << shift_) - 1;
        return (t.cycles >> shift_) + ((t.cycles & mask) != 0 ? 1 : 0);
    }
    [[nodiscard]] uint64_t max_cur(uint64_t e) const { return e < cur_ ? cur_ : e; }

    static void link(TimerNode** head, TimerNode& n) {
        n.next_ = *head;
        if (n.next_ != nullptr) n.next_->pprev_ = &n.next_;
        *head = &n;
        n.pprev_ = head;
    }

    void unlink(TimerNode& n) {
        TimerNode* const next = n.next_;
        TimerNode** const pprev = n.pprev_;
        *pprev = next;
        if (next != nullptr) {
            next->pprev_ = pprev;
        } else {
            // The node was last in its list; if it was also first, and the list is a slot, the slot is now
            // empty and its occupancy bit must go so next_event() stays exact.
            const auto off = reinterpret_cast<uintptr_t>(pprev) - reinterpret_cast<uintptr_t>(&slots_[0]);
            if (off < sizeof(slots_)) clear_bit(static_cast<unsigned>(off / sizeof(TimerNode*)));
        }
        n.next_ = nullptr;
        n.pprev_ = nullptr;
    }

    // Moves a whole list from one head to another: O(1), only the first node is touched.
    static void splice(TimerNode** from, TimerNode** to) {
        *to = *from;
        *from = nullptr;
        if (*to != nullptr) (*to)->pprev_ = to;
    }

    static void clear_list(TimerNode*& head) {
        while (TimerNode* n = head) {
            head = n->next_;
            n->next_ = nullptr;
            n->pprev_ = nullptr;
        }
    }

    void set_bit(unsigned slot) { occ_[slot / 64] |= uint64_t{1} << (slot % 64); }
    void clear_bit(unsigned slot) { occ_[slot / 64] &= ~(uint64_t{1} << (slot % 64)); }

    // Sorts `n` into the level whose range holds its distance from cur_ (Varghese-Lauck scheme 7 placement,
    // Linux's internal_add_timer): slot = (expiry >> 8*level) mod 256. A level-l slot is cascaded at the first
    // tick of its span, which for a distance in [256^l, 256^(l+1)) is always ahead of cur_ and no later than
    // the expiry, and is the first time that slot index comes up.
    void place(TimerNode& n) {
        uint64_t e = max_cur(n.expiry_);
        const uint64_t delta = e - cur_;
        unsigned level;
        if (SYNWAVE_UNLIKELY(delta >= kRangeTicks)) {
            e = cur_ + (kRangeTicks - 1);  // re-sorted when that slot cascades: the node keeps its expiry
            level = kLevels - 1;
        } else {
            level = static_cast<unsigned>(std::bit_width(delta | 1) - 1) / kLevelBits;
        }
        const unsigned sh = level * kLevelBits;
        const unsigned slot = level * kSlots + static_cast<unsigned>((e >> sh) & kSlotMask);
        link(&slots_[slot], n);
        set_bit(slot);
        const uint64_t event = (e >> sh) << sh;  // level 0: the expiry; above: the cascade tick
        if (event < next_) next_ = event;
    }

    // Distance (0..255) from slot `from` to the first occupied slot of `level`, cyclically; -1 if none.
    [[nodiscard]] int find_from(unsigned level, unsigned from) const {
        const uint64_t* w = &occ_[level * kWords];
        unsigned wi = from / 64;
        uint64_t m = w[wi] & (~uint64_t{0} << (from % 64));
        // kWords + 1 looks: the starting word's high part first, its low part (wrapped around) last.
        for (unsigned k = 0; k <= kWords; ++k) {
            if (m != 0) {
                const unsigned slot = wi * 64 + static_cast<unsigned>(std::countr_zero(m));
                return static_cast<int>((slot - from) & kSlotMask);
            }
            wi = (wi + 1) % kWords;
            m = w[wi];
        }
        return -1;
    }

    // The first tick >= cur_ at which processing has work: a level-0 slot to fire, or a non-empty slot
    // to cascade. Every tick before it can be skipped without looking, so advancing over an idle hour is
    // a handful of bit scans, not 3.6 million empty slots.
    [[nodiscard]] uint64_t next_event() const {
        uint64_t best = kNever;
        const int d0 = find_from(0, static_cast<unsigned>(cur_ & kSlotMask));
        if (d0 >= 0) {
            best = cur_ + static_cast<uint64_t>(d0);  // level-0 timers all expire in [cur_, cur_ + 256)
            if (d0 == 0) return best;
        }
        for (unsigned level = 1; level < kLevels; ++level) {
            const unsigned sh = level * kLevelBits;
            // The first level-l slot boundary at or after cur_; higher levels' boundaries are a subset.
            const uint64_t c = (cur_ >> sh) + ((cur_ & ((uint64_t{1} << sh) - 1)) != 0 ? 1 : 0);
            if ((c << sh) >= best) break;
            const int d = find_from(level, static_cast<unsigned>(c & kSlotMask));
            if (d >= 0) {
                const uint64_t t = (c + static_cast<uint64_t>(d)) << sh;
                if (t < best) best = t;
            }
        }
        return best;
    }

    // At the first tick of a level-l span, that level's slot for the span moves down (Linux's cascade()).
    // Level l+1 cascades only when level l wrapped to slot 0. The slots are only unhooked here and their
    // nodes re-sorted one by one under the budget; no new timer can be sorted into an unhooked slot (its
    // index is only reached again a full revolution later), so the cascade can pause between calls.
    [[nodiscard]] bool stage_cascades() {
        bool any = false;
        for (unsigned level = 1; level < kLevels; ++level) {
            const unsigned sh = level * kLevelBits;
            const unsigned idx = static_cast<unsigned>((cur_ >> sh) & kSlotMask);
            const unsigned slot = level * kSlots + idx;
            if (slots_[slot] != nullptr) {
                splice(&slots_[slot], &staged_[level]);
                clear_bit(slot);
                any = true;
            }
            if (idx != 0) break;
        }
        return any;
    }

    [[nodiscard]] TimerNode* first_staged() const {
        for (unsigned level = 1; level < kLevels; ++level) {
            if (staged_[level] != nullptr) return staged_[level];
        }
        return nullptr;
    }

    // Tick cur_ begins firing: its level-0 slot becomes the expired list.
    void take_tick() {
        const unsigned slot = static_cast<unsigned>(cur_ & kSlotMask);
        if (slots_[slot] != nullptr) {
            splice(&slots_[slot], &expired_);
            clear_bit(slot);
        }
        ++cur_;
    }

    // Hot: read on every arm, due() and advance().
    uint32_t shift_;
    bool cascading_ = false;             // staged_ holds the cascade of tick cur_, not yet finished
    bool in_advance_ = false;            // catches advance() from its own callback (checked in debug builds)
    uint64_t cur_;                       // next tick to process; all earlier ticks are done
    uint64_t next_ = kNever;             // lower bound of the next tick with work; 0 = work left over
    std::size_t pending_ = 0;
    TimerNode* expired_ = nullptr;       // due nodes of tick cur_ - 1 not yet fired
    TimerNode* staged_[kLevels] = {};    // unhooked slots of a cascade in progress (index 0 unused)
    uint64_t fired_total_ = 0;
    uint64_t moved_total_ = 0;
    uint64_t occ_[kLevels * kWords] = {};  // bit per slot: the slot's list is not empty
    TimerNode* slots_[kLevels * kSlots] = {};
};

static_assert(sizeof(TimerWheel) <= 8 * 1024 + 4 * kCacheLine, "slots plus a few lines of state");

template <class F>
uint32_t TimerWheel::advance(Instant now, uint32_t budget, F&& on_expire) {
    const uint64_t target = now.cycles >> shift_;  // the last tick that may be processed
    if (SYNWAVE_LIKELY(target < next_)) {
        // Nothing before next_: the ticks up to `target` are done (so a timer armed now for one of them
        // goes to the next tick, as it would after a full pass).
        if (cur_ <= target) cur_ = target + 1;
        return 0;
    }
    assert(!in_advance_ && "advance() called from its own callback");
    in_advance_ = true;
    uint32_t fired = 0;
    uint32_t moved = 0;
    for (;;) {
        if (TimerNode* n = expired_) {
            if (n->expiry_ >= cur_) {
                // Postponed by arm() after it was sorted: re-sort, do not fire.
                if (moved == budget) break;
                unlink(*n);
                place(*n);
                ++moved;
                continue;
            }
            if (fired == budget) break;
            unlink(*n);  // popped from the head, so whatever the callback does to the list is safe
            --pending_;
            ++fired;
            on_expire(*n);
            continue;
        }
        if (cascading_) {
            if (TimerNode* n = first_staged()) {
                if (moved == budget) break;
                unlink(*n);
                place(*n);
                ++moved;
                continue;
            }
            cascading_ = false;
            if (cur_ > target) break;  // only if `now` went backwards since the cascade began
            take_tick();
            continue;
        }
        if (cur_ > target) break;
        const uint64_t ev = next_event();
        if (ev > target) {
            cur_ = target + 1;  // nothing to do in between: skip the empty ticks
            break;
        }
        cur_ = ev;
        if ((cur_ & kSlotMask) == 0 && stage_cascades()) {
            cascading_ = true;
            continue;
        }
        take_tick();
    }
    next_ = (expired_ != nullptr || cascading_) ? 0 : next_event();
    fired_total_ += fired;
    moved_total_ += moved;
    in_advance_ = false;
    return fired;
}

}  // namespace synwave::timer
