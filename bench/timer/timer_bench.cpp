// Timing-wheel benchmarks: the operations a connection does on the data path.
//
//   ArmCancel        arm a timer and cancel it later (the SYN-ACK timer of a handshake that completes)
//   ArmExpire        arm N timers, advance the clock through them until all fired
//   RearmLater       restart an armed timer to a later deadline (RFC 6298 §5.3, on every ACK)
//   RearmRandom      move armed timers to random deadlines, half earlier (the relinking worst case)
//   Expire1M         10^6 timers spread over 1 s fired by advancing in 1-tick steps
//
// Time is a fake TSC at 2.1 GHz with tick_shift 21 (~1 ms), the engine's configuration. Inputs are built
// before the timed loop; after it each benchmark checks the path it meant to measure ran (fire counts,
// pending counts) and reports an error otherwise. Items are timer operations (see each benchmark).
#include "timer/wheel.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

namespace {

using synwave::Instant;
using synwave::TscRate;
using synwave::timer::TimerNode;
using synwave::timer::TimerWheel;

constexpr unsigned kShift = 21;
constexpr TscRate kRate{2'100'000'000};
constexpr uint64_t kTick = uint64_t{1} << kShift;
constexpr uint64_t kStart = uint64_t{1} << 50;  // a TSC that has run for a while (~6 days)

struct Conn {
    uint64_t id = 0;
    TimerNode timer;
    uint64_t fires = 0;
};

std::vector<uint64_t> random_delays(std::size_t n, uint64_t lo, uint64_t hi, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> v(n);
    for (auto& d : v) d = lo + rng() % (hi - lo);
    return v;
}

// Arm now, cancel 64 arms later (the handshake completes while others are in flight), over a wheel that
// already holds `background` timers so slots are not empty. Items: arm+cancel pairs (2 operations each).
void BM_ArmCancel(benchmark::State& state) {
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    const std::size_t background = static_cast<std::size_t>(state.range(1));
    constexpr std::size_t kLag = 64;
    TimerWheel wheel(kShift, Instant{kStart});
    auto conns = std::make_unique<Conn[]>(n);
    auto bg = std::make_unique<Conn[]>(background);
    const auto bg_delays = random_delays(background, kRate.ms(1).cycles, kRate.sec(60).cycles, 3);
    for (std::size_t i = 0; i < background; ++i) wheel.arm(bg[i].timer, Instant{kStart + bg_delays[i]});
    // SYN-ACK retransmission timeouts: RFC 6298 initial RTO 1 s, with some spread.
    const auto delays = random_delays(n, kRate.ms(200).cycles, kRate.ms(3000).cycles, 1);
    const std::size_t mask = n - 1;
    std::size_t i = 0;
    for (auto _ : state) {
        wheel.arm(conns[i & mask].timer, Instant{kStart + delays[i & mask]});
        wheel.cancel(conns[(i - kLag) & mask].timer);
        ++i;
    }
    for (std::size_t k = 0; k < kLag; ++k) wheel.cancel(conns[(i - 1 - k) & mask].timer);
    if (wheel.pending() != background || wheel.fired_total() != 0) state.SkipWithError("timers left armed");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["ops_per_s"] = benchmark::Counter(2.0 * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ArmCancel)->Args({1024, 0})->Args({1024, 100'000})->Args({1 << 20, 100'000});

// Arm `n` timers spread over `spread_ticks` ticks, then advance one tick at a time until every one fired.
// Items: timers (each one arm and one expiry).
void BM_ArmExpire(benchmark::State& state) {
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    const uint64_t spread_ticks = static_cast<uint64_t>(state.range(1));
    TimerWheel wheel(kShift, Instant{kStart});
    auto conns = std::make_unique<Conn[]>(n);
    const auto delays = random_delays(n, 1, spread_ticks * kTick, 2);
    uint64_t now = kStart;
    uint64_t fired = 0;
    auto on_expire = [&fired](TimerNode&) { ++fired; };
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) wheel.arm(conns[i].timer, Instant{now + delays[i]});
        while (wheel.pending() != 0) {
            now += kTick;
            wheel.advance(Instant{now}, UINT32_MAX, on_expire);
        }
    }
    if (fired != static_cast<uint64_t>(state.iterations()) * n) state.SkipWithError("not every timer fired");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
    state.counters["moves_per_timer"] =
        static_cast<double>(wheel.moved_total()) / static_cast<double>(state.iterations() * n);
}
// Within level 0 (256 ticks), and over 1 s (through level 1, so most timers cascade once).
BENCHMARK(BM_ArmExpire)->Args({4096, 200})->Args({65536, 200})->Args({65536, 1000});

// The per-ACK retransmit restart: `n` connections with an armed RTO timer; each ACK (one every 100 ns of
// fake time, 10 M ACKs/s, round-robin over the connections, so each connection sees one every n x 100 ns)
// re-arms its connection's timer to now + RTO. The engine advances the wheel every 32 ACKs; no timer may
// fire. A restart is a store; a node is moved once when its old slot comes up. Items: re-arms.
void BM_RearmLater(benchmark::State& state) {
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    TimerWheel wheel(kShift, Instant{kStart});
    auto conns = std::make_unique<Conn[]>(n);
    const uint64_t rto = kRate.ms(200).cycles;  // RFC 6298 §2.4 floor as Linux uses it
    const uint64_t step = kRate.ns(100).cycles;
    uint64_t now = kStart;
    for (std::size_t i = 0; i < n; ++i) wheel.arm(conns[i].timer, Instant{now + rto});
    uint64_t fired = 0;
    auto on_expire = [&fired](TimerNode&) { ++fired; };
    const std::size_t mask = n - 1;
    std::size_t i = 0;
    for (auto _ : state) {
        now += step;
        wheel.arm(conns[i & mask].timer, Instant{now + rto});
        if ((i & 31) == 0) wheel.advance(Instant{now}, 256, on_expire);
        ++i;
    }
    // n ACKs take n x 100 ns; with n <= 2^16 that is < 200 ms, so every timer is restarted before expiry.
    if (fired != 0 || wheel.pending() != n) state.SkipWithError("a restarted timer fired");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["moves_per_rearm"] =
        static_cast<double>(wheel.moved_total()) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RearmLater)->Arg(1024)->Arg(65536);

// Armed timers moved to random deadlines between 1 ms and 2 s: about half move earlier and are relinked.
// Items: re-arms.
void BM_RearmRandom(benchmark::State& state) {
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    TimerWheel wheel(kShift, Instant{kStart});
    auto conns = std::make_unique<Conn[]>(n);
    constexpr std::size_t kDeadlines = 1 << 16;
    const auto delays = random_delays(kDeadlines, kRate.ms(1).cycles, kRate.sec(2).cycles, 4);
    for (std::size_t i = 0; i < n; ++i) wheel.arm(conns[i].timer, Instant{kStart + delays[i % kDeadlines]});
    const std::size_t mask = n - 1;
    std::size_t i = 0;
    for (auto _ : state) {
        wheel.arm(conns[i & mask].timer, Instant{kStart + delays[(i * 7 + 3) & (kDeadlines - 1)]});
        ++i;
    }
    if (wheel.pending() != n || wheel.fired_total() != 0) state.SkipWithError("pending count changed");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RearmRandom)->Arg(1024)->Arg(1 << 20);

// 10^6 timers with deadlines spread over 1 s, armed untimed; timed: advancing 1 tick at a time until all
// fired (about 3/4 of them cascade once from level 1). The time per iteration is the total for 10^6 timers,
// so its value in ms is also the cost per timer in ns.
void BM_Expire1M(benchmark::State& state) {
    constexpr std::size_t kN = 1'000'000;
    TimerWheel wheel(kShift, Instant{kStart});
    auto conns = std::make_unique<Conn[]>(kN);
    const auto delays = random_delays(kN, 1, kRate.sec(1).cycles, 5);
    uint64_t now = kStart;
    uint64_t fired = 0;
    auto on_expire = [&fired](TimerNode& node) {
        ++synwave::timer::owner_of<Conn>(node, offsetof(Conn, timer)).fires;
        ++fired;
    };
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t i = 0; i < kN; ++i) wheel.arm(conns[i].timer, Instant{now + delays[i]});
        state.ResumeTiming();
        while (wheel.pending() != 0) {
            now += kTick;
            wheel.advance(Instant{now}, UINT32_MAX, on_expire);
        }
    }
    const uint64_t expect = static_cast<uint64_t>(state.iterations()) * kN;
    uint64_t per_conn = 0;
    for (std::size_t i = 0; i < kN; ++i) per_conn += conns[i].fires == static_cast<uint64_t>(state.iterations());
    if (fired != expect || per_conn != kN) state.SkipWithError("not every timer fired exactly once per round");
    state.SetItemsProcessed(static_cast<int64_t>(expect));
    state.counters["moves_per_timer"] =
        static_cast<double>(wheel.moved_total()) / static_cast<double>(expect);
}
BENCHMARK(BM_Expire1M)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
