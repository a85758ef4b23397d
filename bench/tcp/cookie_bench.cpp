// Benchmarks of the TCP building blocks on the SYN path: SipHash of a 4-tuple (2-4 and 1-3), ISN
// generation (RFC 6528), SYN cookie make, check of a valid cookie, check of a forged cookie, make + check
// (with SipHash-1-3 as the stack uses, and with 2-4 for comparison).
//
// Inputs (4-tuples, client ISNs, MSS values, valid cookies) are built before the timed loop; the loop walks
// a 4096-entry table so the compiler cannot fold the hash and the branch predictor sees varied data.
// Operations on different table entries are independent, so the figures are per-core throughput, which
// is what a SYN flood costs. Each benchmark counts, inside the loop, the operations that gave the expected
// result (every hash equal to the byte-oriented reference, every cookie made equal to the one precomputed,
// every valid cookie accepted, every forged one rejected) and reports an error unless all did.
//
// Run: build/bench/tcp/bench_tcp --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "tcp/isn.hpp"
#include "tcp/siphash.hpp"
#include "tcp/syncookie.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <random>
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
    Seq cookie;    // SynCookies::make() of this SYN
    Seq cookie24;  // the same with SipHash-2-4
    uint64_t sip24, sip13;  // byte-oriented SipHash of (tuple, client_isn): what siphash_tuple must return
};

using SynCookies24 = BasicSynCookies<2, 4>;

// The 16 bytes siphash_tuple() is defined to hash: local ip, remote ip, local port, remote port, extra (LE).
std::array<uint8_t, 16> le_tuple(const Tuple4& t, uint32_t extra) {
    const uint64_t w0 = t.local_ip.v | (static_cast<uint64_t>(t.remote_ip.v) << 32);
    const uint64_t w1 = t.local_port | (static_cast<uint64_t>(t.remote_port) << 16) | (static_cast<uint64_t>(extra) << 32);
    std::array<uint8_t, 16> b{};
    for (size_t k = 0; k < 8; ++k) b[k] = static_cast<uint8_t>(w0 >> (8 * k));
    for (size_t k = 0; k < 8; ++k) b[8 + k] = static_cast<uint8_t>(w1 >> (8 * k));
    return b;
}

std::vector<Syn> make_syns() {
    std::mt19937_64 rng(4987);
    std::vector<Syn> v(kEntries);
    const uint16_t mss[] = {536, 1200, 1300, 1400, 1440, 1460, 8960};
    const SynCookies cookies(kKeyA, kKeyB);
    const SynCookies24 cookies24(kKeyA, kKeyB);
    for (auto& s : v) {
        s.tuple = Tuple4{Ipv4{0x0A000001}, Ipv4{static_cast<uint32_t>(rng())}, 80, static_cast<uint16_t>(rng())};
        // ISNs from the top of the sequence space, so client_isn + 1 often wraps.
        s.client_isn = Seq(0xFFFF'FFFFu - static_cast<uint32_t>(rng() % 4096));
        s.mss = mss[rng() % 7];
        s.cookie = cookies.make(s.tuple, s.client_isn, s.mss, kCount).isn;
        s.cookie24 = cookies24.make(s.tuple, s.client_isn, s.mss, kCount).isn;
        const auto bytes = le_tuple(s.tuple, s.client_isn.raw());
        s.sip24 = siphash24(kKeyA, bytes);
        s.sip13 = siphash13(kKeyA, bytes);
    }
    return v;
}

const Syn& entry(const std::vector<Syn>& syns, size_t i) { return syns[i & (kEntries - 1)]; }

// The timed loop of the benchmarks below: pass(i) for i = 0, 1, 2, ..., one operation each, counting the
// calls that returned true (the caller compares the count with what the intended path yields).
template <typename Pass>
uint64_t count_passes(benchmark::State& state, Pass pass) {
    uint64_t passed = 0;
    size_t i = 0;
    for (auto _ : state) passed += pass(i++) ? 1 : 0;
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    return passed;
}

template <int C, int D>
void BM_SipHash4Tuple(benchmark::State& state) {
    const auto syns = make_syns();
    // Every hash of the loop equals the byte-oriented reference computed before it.
    const uint64_t ok = count_passes(state, [&](size_t i) {
        const Syn& s = entry(syns, i);
        return siphash_tuple<C, D>(kKeyA, s.tuple, s.client_isn.raw()) == (C == 2 ? s.sip24 : s.sip13);
    });
    if (ok != static_cast<uint64_t>(state.iterations()))
        state.SkipWithError("tuple fast path disagrees with the reference hash");
}

void BM_IsnGenerate(benchmark::State& state) {
    const auto syns = make_syns();
    const TscRate rate{2'900'000'000};
    const IsnGenerator gen(kKeyA, rate);
    Instant now = Instant{0} + rate.sec(86'400);
    uint32_t acc = 0;
    size_t i = 0;
    for (auto _ : state) {
        now += Duration{1000};  // time moves on between SYNs
        acc += gen.isn(entry(syns, i++).tuple, now).raw();
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
    const uint64_t ok = count_passes(state, [&](size_t i) {
        const Syn& s = entry(syns, i);
        return cookies.make(s.tuple, s.client_isn, s.mss, kCount).isn == s.cookie;
    });
    if (ok != static_cast<uint64_t>(state.iterations())) state.SkipWithError("make() is not deterministic");
}

void BM_CookieCheckValid(benchmark::State& state) {
    const auto syns = make_syns();
    const SynCookies cookies(kKeyA, kKeyB);
    // As the listener sees the ACK: SEG.SEQ = client ISN + 1, SEG.ACK = cookie + 1, one count later.
    const uint64_t accepted = count_passes(state, [&](size_t i) {
        const Syn& s = entry(syns, i);
        return cookies.check_ack(s.tuple, s.client_isn + 1, s.cookie + 1, kCount + 1).has_value();
    });
    if (accepted != static_cast<uint64_t>(state.iterations())) state.SkipWithError("a valid cookie was rejected");
}

void BM_CookieCheckForged(benchmark::State& state) {
    // A flood of ACKs with guessed cookies (the cookie is the valid one with its hash bits flipped).
    const auto syns = make_syns();
    const SynCookies cookies(kKeyA, kKeyB);
    const uint64_t accepted = count_passes(state, [&](size_t i) {
        const Syn& s = entry(syns, i);
        return cookies.check(s.tuple, s.client_isn, Seq(s.cookie.raw() ^ 0x0055'5550u), kCount).has_value();
    });
    if (accepted != 0) state.SkipWithError("a forged cookie was accepted");
}

// A listener in cookie mode: a SYN-ACK cookie for one client and the check of another client's ACK per
// iteration. The ACK is for a different entry on purpose: checking the cookie just made would let the
// compiler see through it (same tuple, same H1, top byte known) and fold most of the check away.
// With <SynCookies24, &Syn::cookie24> it is the same code with SipHash-2-4: the figure that decided the
// choice in syncookie.hpp.
template <typename Cookies, Seq Syn::*kCookie>
void BM_CookieMakeCheck(benchmark::State& state) {
    const auto syns = make_syns();
    const Cookies cookies(kKeyA, kKeyB);
    const uint64_t ok = count_passes(state, [&](size_t i) {
        const Syn& syn = entry(syns, i);
        const Syn& ack = entry(syns, i + kEntries / 2);
        const bool made = cookies.make(syn.tuple, syn.client_isn, syn.mss, kCount).isn == syn.*kCookie;
        const bool accepted = cookies.check_ack(ack.tuple, ack.client_isn + 1, ack.*kCookie + 1, kCount).has_value();
        return made && accepted;
    });
    if (ok != static_cast<uint64_t>(state.iterations())) state.SkipWithError("make+check did not round-trip");
}

} // namespace

BENCHMARK(BM_SipHash4Tuple<2, 4>)->Name("SipHash24_4tuple");
BENCHMARK(BM_SipHash4Tuple<1, 3>)->Name("SipHash13_4tuple");
BENCHMARK(BM_IsnGenerate)->Name("Isn_generate");
BENCHMARK(BM_CookieMake)->Name("Cookie_make");
BENCHMARK(BM_CookieCheckValid)->Name("Cookie_check_valid");
BENCHMARK(BM_CookieCheckForged)->Name("Cookie_check_forged");
BENCHMARK((BM_CookieMakeCheck<SynCookies, &Syn::cookie>))->Name("Cookie_make_check");
BENCHMARK((BM_CookieMakeCheck<SynCookies24, &Syn::cookie24>))->Name("Cookie_make_check_sip24");

BENCHMARK_MAIN();
