// Benchmarks of the TCP building blocks on the SYN path: SipHash of a 4-tuple (2-4 and 1-3), ISN
// generation (RFC 6528), SYN cookie make, check of a valid cookie, check of a forged cookie, make + check.
//
// Inputs (4-tuples, client ISNs, MSS values, valid cookies) are built before the timed loop; the loop walks
// a 4096-entry table so the compiler cannot fold the hash and the branch predictor sees varied data.
// Operations on different table entries are independent, so the figures are per-core throughput, which
// is what a SYN flood costs. After the loop each benchmark checks that the intended path ran (every valid
// cookie accepted, every forged one rejected) and reports an error otherwise.
//
// Run: build/bench/tcp/bench_tcp --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "tcp/isn.hpp"
#include "tcp/siphash.hpp"
#include "tcp/syncookie.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;

namespace {

constexpr size_t kEntries = 4096;  // power of two: index with a mask
constexpr uint32_t kCount = 0x00AB'CDEF;
constexpr SipKey kKeyA{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
constexpr SipKey kKeyB{0x9E3779B97F4A7C15ull, 0xBF58476D1CE4E5B9ull};

struct Syn {
    Tuple4 tuple;
    Seq client_isn;
    uint16_t mss;
    Seq cookie;         // filled for the check benchmarks
    uint32_t cookie24;  // the same cookie computed with SipHash-2-4 (for the 2-4 model)
};

// make() with SipHash-2-4 in place of 1-3: the comparison model.
uint32_t make_sip24(const Tuple4& t, uint32_t isn, uint16_t mss) {
    return static_cast<uint32_t>(siphash_tuple<2, 4>(kKeyA, t, 0)) + isn + (kCount << kCookieBits) +
           ((static_cast<uint32_t>(siphash_tuple<2, 4>(kKeyB, t, kCount, isn)) + SynCookies::mss_index(mss)) &
            kCookieMask);
}

std::vector<Syn> make_syns() {
    std::mt19937_64 rng(4987);
    std::vector<Syn> v(kEntries);
    const uint16_t mss[] = {536, 1200, 1300, 1400, 1440, 1460, 8960};
    const SynCookies cookies(kKeyA, kKeyB);
    for (auto& s : v) {
        s.tuple = Tuple4{Ipv4{0x0A000001}, Ipv4{static_cast<uint32_t>(rng())}, 80, static_cast<uint16_t>(rng())};
        // ISNs from the top of the sequence space, so client_isn + 1 often wraps.
        s.client_isn = Seq(0xFFFF'FFFFu - static_cast<uint32_t>(rng() % 4096));
        s.mss = mss[rng() % 7];
        s.cookie = cookies.make(s.tuple, s.client_isn, s.mss, kCount).isn;
        s.cookie24 = make_sip24(s.tuple, s.client_isn.raw(), s.mss);
    }
    return v;
}

// The 16 bytes siphash_tuple() is defined to hash: local ip, remote ip, local port, remote port, extra (LE).
void store_le_tuple(uint8_t* b, const Syn& s) {
    const uint64_t w0 = s.tuple.local_ip.v | (static_cast<uint64_t>(s.tuple.remote_ip.v) << 32);
    const uint64_t w1 = s.tuple.local_port | (static_cast<uint64_t>(s.tuple.remote_port) << 16) |
                        (static_cast<uint64_t>(s.client_isn.raw()) << 32);
    for (int k = 0; k < 8; ++k) b[k] = static_cast<uint8_t>(w0 >> (8 * k));
    for (int k = 0; k < 8; ++k) b[8 + k] = static_cast<uint8_t>(w1 >> (8 * k));
}

template <int C, int D>
void BM_SipHash4Tuple(benchmark::State& state) {
    const auto syns = make_syns();
    uint64_t acc = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& s = syns[i++ & (kEntries - 1)];
        acc ^= siphash_tuple<C, D>(kKeyA, s.tuple, s.client_isn.raw());
    }
    benchmark::DoNotOptimize(acc);
    // The hashed path must be SipHash itself: compare the fast path with the byte-oriented reference.
    const Syn& s = syns[0];
    uint8_t b[16];
    store_le_tuple(b, s);
    if (siphash_tuple<C, D>(kKeyA, s.tuple, s.client_isn.raw()) != siphash<C, D>(kKeyA, std::span<const uint8_t>(b, 16)))
        state.SkipWithError("tuple fast path disagrees with the reference hash");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_IsnGenerate(benchmark::State& state) {
    const auto syns = make_syns();
    const TscRate rate{2'900'000'000};
    const IsnGenerator gen(kKeyA, rate);
    Instant now = Instant{0} + rate.sec(86'400);
    uint32_t acc = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& s = syns[i++ & (kEntries - 1)];
        now += Duration{1000};  // time moves on between SYNs
        acc += gen.isn(s.tuple, now).raw();
    }
    benchmark::DoNotOptimize(acc);
    // ISNs of one tuple must advance with the clock: 1 s later is 250 000 later.
    if (gen.isn(syns[0].tuple, now + rate.sec(1)) - gen.isn(syns[0].tuple, now) != 250'000)
        state.SkipWithError("ISN clock does not advance at 250000/s");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_CookieMake(benchmark::State& state) {
    const auto syns = make_syns();
    const SynCookies cookies(kKeyA, kKeyB);
    uint32_t acc = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& s = syns[i++ & (kEntries - 1)];
        const CookieIsn c = cookies.make(s.tuple, s.client_isn, s.mss, kCount);
        acc += c.isn.raw() + c.mss;
    }
    benchmark::DoNotOptimize(acc);
    // The cookies made in the loop are the precomputed valid ones.
    const Syn& s = syns[(i - 1) & (kEntries - 1)];
    if (cookies.make(s.tuple, s.client_isn, s.mss, kCount).isn != s.cookie)
        state.SkipWithError("make() is not deterministic");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_CookieCheckValid(benchmark::State& state) {
    const auto syns = make_syns();
    const SynCookies cookies(kKeyA, kKeyB);
    uint64_t accepted = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& s = syns[i++ & (kEntries - 1)];
        // As the listener sees the ACK: SEG.SEQ = client ISN + 1, SEG.ACK = cookie + 1, one count later.
        accepted += cookies.check_ack(s.tuple, s.client_isn + 1, s.cookie + 1, kCount + 1).has_value();
    }
    if (accepted != static_cast<uint64_t>(state.iterations())) state.SkipWithError("a valid cookie was rejected");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_CookieCheckForged(benchmark::State& state) {
    // A flood of ACKs with guessed cookies (the cookie is the valid one with its hash bits flipped).
    const auto syns = make_syns();
    const SynCookies cookies(kKeyA, kKeyB);
    uint64_t accepted = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& s = syns[i++ & (kEntries - 1)];
        accepted += cookies.check(s.tuple, s.client_isn, Seq(s.cookie.raw() ^ 0x0055'5550u), kCount).has_value();
    }
    if (accepted != 0) state.SkipWithError("a forged cookie was accepted");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_CookieMakeCheck(benchmark::State& state) {
    // A listener in cookie mode: a SYN-ACK cookie for one client and the check of another client's ACK per
    // iteration. The ACK is for a different entry on purpose: checking the cookie just made would let the
    // compiler see through it (same tuple, same H1, top byte known) and fold most of the check away.
    const auto syns = make_syns();
    const SynCookies cookies(kKeyA, kKeyB);
    uint64_t accepted = 0;
    uint64_t made_ok = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& syn = syns[i & (kEntries - 1)];
        const Syn& ack = syns[(i + kEntries / 2) & (kEntries - 1)];
        ++i;
        const CookieIsn c = cookies.make(syn.tuple, syn.client_isn, syn.mss, kCount);
        made_ok += c.isn == syn.cookie;
        accepted += cookies.check_ack(ack.tuple, ack.client_isn + 1, ack.cookie + 1, kCount).has_value();
    }
    const auto n = static_cast<uint64_t>(state.iterations());
    if (accepted != n || made_ok != n) state.SkipWithError("make+check did not round-trip");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The same make + check arithmetic with SipHash-2-4 instead of 1-3: the figure that decided the choice
// in syncookie.hpp (SynCookies itself is fixed to 1-3).
void BM_CookieMakeCheckSip24Model(benchmark::State& state) {
    const auto syns = make_syns();
    uint64_t acc = 0;
    uint64_t accepted = 0;
    size_t i = 0;
    for (auto _ : state) {
        const Syn& syn = syns[i & (kEntries - 1)];
        const Syn& ack = syns[(i + kEntries / 2) & (kEntries - 1)];
        ++i;
        acc += make_sip24(syn.tuple, syn.client_isn.raw(), syn.mss);
        const uint32_t rest = ack.cookie24 - static_cast<uint32_t>(siphash_tuple<2, 4>(kKeyA, ack.tuple, 0)) -
                              ack.client_isn.raw();
        const uint32_t age = (kCount - (rest >> kCookieBits)) & 0xFFu;
        const uint32_t idx =
            (rest - static_cast<uint32_t>(siphash_tuple<2, 4>(kKeyB, ack.tuple, kCount - age, ack.client_isn.raw()))) &
            kCookieMask;
        accepted += age <= kMaxCookieAge && idx == SynCookies::mss_index(ack.mss);
    }
    benchmark::DoNotOptimize(acc);
    if (accepted != static_cast<uint64_t>(state.iterations())) state.SkipWithError("2-4 model did not round-trip");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

} // namespace

BENCHMARK(BM_SipHash4Tuple<2, 4>)->Name("SipHash24_4tuple");
BENCHMARK(BM_SipHash4Tuple<1, 3>)->Name("SipHash13_4tuple");
BENCHMARK(BM_IsnGenerate)->Name("Isn_generate");
BENCHMARK(BM_CookieMake)->Name("Cookie_make");
BENCHMARK(BM_CookieCheckValid)->Name("Cookie_check_valid");
BENCHMARK(BM_CookieCheckForged)->Name("Cookie_check_forged");
BENCHMARK(BM_CookieMakeCheck)->Name("Cookie_make_check");
BENCHMARK(BM_CookieMakeCheckSip24Model)->Name("Cookie_make_check_sip24_model");

BENCHMARK_MAIN();
