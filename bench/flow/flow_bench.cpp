// lib/flow benchmarks: table lookups (hit, miss; single, bulk of 32) at 50 % and 90 % fill of 10^6 and
// 10^7 entries, insert+erase churn, flow_hash, Toeplitz per tuple (IPv4, IPv6) and port picking (IPv4, IPv6).
//
// fill = entries / max_entries (the table sized for max_entries); the slot load (entries / slots) is
// reported as a counter beside it, with bytes_per_entry (bucket array bytes / entries).
// Keys are random 4-tuples; queries are drawn at random from the inserted (hit) or a disjoint (miss) set,
// with their hashes precomputed, so the benchmark measures the table and not the hash.
//
// Run: build/bench/flow/bench_flow --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// (--benchmark_filter=BM_Lookup for the lookups alone).
//
// Wall times on a shared machine vary by 10 % and more between runs; instructions and simulated cache misses
// per lookup do not. --lookups=N runs N single and N bulk hit lookups (--miss: miss lookups) on one table
// (--max=M entries, default 10^6, --fill=P %, default 90) outside Google Benchmark, for:
//   valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --LL=8388608,16,64
//       --callgrind-out-file=/tmp/lookup.cg --toggle-collect='*lookup_loop*'
//       build/bench/flow/bench_flow --lookups=1000000
//   callgrind_annotate --inclusive=yes /tmp/lookup.cg | grep lookup_loop   (Ir, D1mr, DLmr per loop / N)
// The cache sizes are given so that the counts do not depend on what valgrind reads from the host's CPUID;
// an 8 MiB LL is well below the table (32 MiB of buckets at 10^6 entries), as a share of a server's L3 would be.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/endian.hpp"
#include "flow/flow_table.hpp"
#include "flow/toeplitz.hpp"

namespace synwave::flow {
namespace {

// splitmix64 (Vigna): a fast, well-mixed generator for building inputs.
struct SplitMix {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    FlowKey key() {
        const uint64_t a = next();
        const uint64_t b = next();
        return FlowKey{static_cast<uint32_t>(a), static_cast<uint32_t>(a >> 32), static_cast<uint16_t>(b),
                       static_cast<uint16_t>(b >> 16)};
    }
};

// 2^21 queries (32 MiB of keys and hashes) streamed in order; each is a random pick.
constexpr uint32_t kQueries = 1u << 21;

struct Fixture {
    uint32_t max_entries = 0;
    uint32_t fill_pct = 0;
    FlowTable table;
    std::vector<FlowKey> hit_keys, miss_keys;
    std::vector<uint32_t> hit_hashes, miss_hashes;
    bool ok = false;
};

// One fixture at a time (a 10^7 table is 256 MiB); benchmarks sharing one are registered together.
std::unique_ptr<Fixture> g_fixture;

Fixture& fixture(uint32_t max_entries, uint32_t fill_pct) {
    if (g_fixture && g_fixture->max_entries == max_entries && g_fixture->fill_pct == fill_pct) return *g_fixture;
    g_fixture.reset();
    auto f = std::make_unique<Fixture>();
    f->max_entries = max_entries;
    f->fill_pct = fill_pct;
    f->table = FlowTable(max_entries);
    const uint32_t n = static_cast<uint32_t>(uint64_t{max_entries} * fill_pct / 100);
    std::vector<FlowKey> keys(n);
    std::vector<uint32_t> hashes(n);
    SplitMix rng{uint64_t{max_entries} * 131 + fill_pct};
    bool ok = f->table.ok();
    for (uint32_t i = 0; i < n && ok; ++i) {
        keys[i] = rng.key();
        hashes[i] = flow_hash(keys[i]);
        ok = f->table.insert(keys[i], hashes[i], i) == FlowTable::Insert::Ok;
    }
    SplitMix pick{7};
    SplitMix other{0xfeedface};
    f->hit_keys.resize(kQueries);
    f->hit_hashes.resize(kQueries);
    f->miss_keys.resize(kQueries);
    f->miss_hashes.resize(kQueries);
    for (uint32_t i = 0; i < kQueries && ok; ++i) {
        const uint32_t j = static_cast<uint32_t>(pick.next() % n);
        f->hit_keys[i] = keys[j];
        f->hit_hashes[i] = hashes[j];
        f->miss_keys[i] = other.key();
        f->miss_hashes[i] = flow_hash(f->miss_keys[i]);
    }
    f->ok = ok && f->table.size() == n;
    g_fixture = std::move(f);
    return *g_fixture;
}

void table_counters(benchmark::State& state, const FlowTable& t) {
    state.counters["fill"] = static_cast<double>(t.size()) / t.max_entries();
    state.counters["slot_load"] = t.load();
    state.counters["bytes_per_entry"] = static_cast<double>(t.memory_bytes()) / t.size();
}

constexpr uint32_t kBurst = 32;  // a typical RX burst

// Args: max_entries, fill %, hit (1) or miss (0). kPerCall 1: lookup(); kBurst: lookup_bulk() of a burst.
template <uint32_t kPerCall>
void BM_Lookup(benchmark::State& state) {
    Fixture& f = fixture(static_cast<uint32_t>(state.range(0)), static_cast<uint32_t>(state.range(1)));
    if (!f.ok) {
        state.SkipWithError("fixture build failed");
        return;
    }
    const bool hit = state.range(2) != 0;
    const FlowKey* keys = hit ? f.hit_keys.data() : f.miss_keys.data();
    const uint32_t* hashes = hit ? f.hit_hashes.data() : f.miss_hashes.data();
    uint32_t values[kPerCall];
    uint64_t found = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        if constexpr (kPerCall == 1) {
            values[0] = f.table.lookup(keys[i], hashes[i]);
        } else {
            f.table.lookup_bulk(keys + i, hashes + i, kPerCall, values);
        }
        for (uint32_t v : values) found += v != FlowTable::kNone;
        i = (i + kPerCall) & (kQueries - 1);
    }
    const uint64_t n = static_cast<uint64_t>(state.iterations()) * kPerCall;
    if (found != (hit ? n : 0)) state.SkipWithError(hit ? "a hit lookup missed" : "a miss lookup hit");
    state.SetItemsProcessed(static_cast<int64_t>(n));
    table_counters(state, f.table);
}

// Registered fixture by fixture (single and bulk, hit and miss share one table build).
void register_lookups() {
    for (int64_t max : {1'000'000, 10'000'000}) {
        for (int64_t fill : {50, 90}) {
            for (auto [name, fn] : {std::pair{"BM_LookupSingle", &BM_Lookup<1>},
                                    std::pair{"BM_LookupBulk32", &BM_Lookup<kBurst>}}) {
                for (int64_t hit : {1, 0}) {
                    benchmark::RegisterBenchmark(name, fn)->Args({max, fill, hit})->ArgNames({"max", "fill%", "hit"});
                }
            }
        }
    }
}

// Insert a new connection and erase an old one per iteration, at a steady 90 % fill of 10^6: the
// connection-rate path (SYN -> insert, TIME_WAIT expiry -> erase). Items are operations (2 per iteration).
void BM_InsertEraseChurn(benchmark::State& state) {
    const auto max_entries = static_cast<uint32_t>(state.range(0));
    const uint32_t live = max_entries / 10 * 9;
    FlowTable t(max_entries);
    // A ring of live + spare keys: the key `live` places ahead of the cursor is inserted while the one at
    // the cursor is erased, so the live set slides along the ring and its age order is FIFO like real flows.
    const uint32_t ring = live + (1u << 20);
    std::vector<FlowKey> keys(ring);
    std::vector<uint32_t> hashes(ring);
    SplitMix rng{99};
    for (uint32_t i = 0; i < ring; ++i) {
        keys[i] = rng.key();
        hashes[i] = flow_hash(keys[i]);
    }
    bool ok = t.ok();
    for (uint32_t i = 0; i < live && ok; ++i) ok = t.insert(keys[i], hashes[i], i) == FlowTable::Insert::Ok;
    if (!ok) {
        state.SkipWithError("setup failed");
        return;
    }
    uint32_t old = 0;
    uint32_t young = live;
    uint64_t good = 0;
    for (auto _ : state) {
        good += t.insert(keys[young], hashes[young], young) == FlowTable::Insert::Ok;
        good += t.erase(keys[old], hashes[old]);
        if (++young == ring) young = 0;
        if (++old == ring) old = 0;
    }
    const uint64_t n = static_cast<uint64_t>(state.iterations());
    if (good != 2 * n || t.size() != live) state.SkipWithError("an insert or erase failed");
    state.SetItemsProcessed(static_cast<int64_t>(2 * n));
    table_counters(state, t);
}

void BM_FlowHash(benchmark::State& state) {
    std::vector<FlowKey> keys(4096);
    SplitMix rng{3};
    for (auto& k : keys) k = rng.key();
    uint32_t acc = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        acc ^= flow_hash(keys[i]);
        i = (i + 1) & 4095;
    }
    benchmark::DoNotOptimize(acc);
    // A hash that is constant or ignores fields would make the timing meaningless: the 4096 random keys
    // must hash to (nearly) 4096 distinct values (random 32-bit values would collide in ~0.002 pairs).
    std::vector<uint32_t> h(keys.size());
    for (size_t k = 0; k < keys.size(); ++k) h[k] = flow_hash(keys[k]);
    std::sort(h.begin(), h.end());
    if (std::unique(h.begin(), h.end()) - h.begin() < 4090) state.SkipWithError("flow_hash collides");
    state.SetItemsProcessed(state.iterations());
}

// The 12 hash input bytes of a tuple, network order (src addr, dst addr, src port, dst port).
std::array<uint8_t, ToeplitzV4::kTupleBytes> wire_tuple(const FlowKey& t) {
    std::array<uint8_t, ToeplitzV4::kTupleBytes> b{};
    store_be32(b.data(), t.local_ip);
    store_be32(b.data() + 4, t.remote_ip);
    store_be16(b.data() + 8, t.local_port);
    store_be16(b.data() + 10, t.remote_port);
    return b;
}

// Tuples are FlowKeys read as (src, dst, sport, dport).
void BM_ToeplitzV4(benchmark::State& state) {
    const ToeplitzV4 rss(kDefaultRssKey);
    std::vector<FlowKey> tuples(4096);
    SplitMix rng{4};
    for (auto& t : tuples) t = rng.key();
    uint32_t acc = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        const FlowKey& t = tuples[i];
        acc ^= rss.hash(t.local_ip, t.remote_ip, t.local_port, t.remote_port);
        i = (i + 1) & 4095;
    }
    benchmark::DoNotOptimize(acc);
    // The fast path must agree with the bitwise definition on every tuple it hashed.
    for (const FlowKey& t : tuples) {
        const auto in = wire_tuple(t);
        if (rss.hash(t.local_ip, t.remote_ip, t.local_port, t.remote_port) !=
            toeplitz(kDefaultRssKey.data(), kRssKeyLen, in.data(), in.size())) {
            state.SkipWithError("ToeplitzV4 disagrees with toeplitz()");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}

// IPv6 tuples: random addresses and ports.
struct Tuple6 {
    Ipv6 src, dst;
    uint16_t sport, dport;
};

std::array<uint8_t, ToeplitzV6::kTupleBytes> wire_tuple(const Tuple6& t) {
    std::array<uint8_t, ToeplitzV6::kTupleBytes> b{};
    std::copy(t.src.b.begin(), t.src.b.end(), b.begin());
    std::copy(t.dst.b.begin(), t.dst.b.end(), b.begin() + 16);
    store_be16(b.data() + 32, t.sport);
    store_be16(b.data() + 34, t.dport);
    return b;
}

void BM_ToeplitzV6(benchmark::State& state) {
    const ToeplitzV6 rss(kDefaultRssKey);
    std::vector<Tuple6> tuples(4096);
    SplitMix rng{5};
    for (auto& t : tuples) {
        for (auto* a : {&t.src, &t.dst}) {
            const uint64_t hi = rng.next();
            const uint64_t lo = rng.next();
            for (size_t k = 0; k < 8; ++k) {
                a->b[k] = static_cast<uint8_t>(hi >> (8 * k));
                a->b[8 + k] = static_cast<uint8_t>(lo >> (8 * k));
            }
        }
        const uint64_t p = rng.next();
        t.sport = static_cast<uint16_t>(p);
        t.dport = static_cast<uint16_t>(p >> 16);
    }
    uint32_t acc = 0;
    uint32_t i = 0;
    for (auto _ : state) {
        const Tuple6& t = tuples[i];
        acc ^= rss.hash(t.src, t.dst, t.sport, t.dport);
        i = (i + 1) & 4095;
    }
    benchmark::DoNotOptimize(acc);
    for (const Tuple6& t : tuples) {
        const auto in = wire_tuple(t);
        if (rss.hash(t.src, t.dst, t.sport, t.dport) !=
            toeplitz(kDefaultRssKey.data(), kRssKeyLen, in.data(), in.size())) {
            state.SkipWithError("ToeplitzV6 disagrees with toeplitz()");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}

// The bitwise reference, for scale.
void BM_ToeplitzReference(benchmark::State& state) {
    uint8_t in[12] = {10, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x90, 0xc3, 0x50};
    uint32_t acc = 0;
    for (auto _ : state) {
        in[11] = static_cast<uint8_t>(in[11] + 1);
        acc ^= toeplitz(kDefaultRssKey.data(), kRssKeyLen, in, 12);
    }
    benchmark::DoNotOptimize(acc);
    state.SetItemsProcessed(state.iterations());
}

// Choosing all client ports of one queue out of 64512 ephemeral ports (4 queues, 128-entry RETA).
void BM_PortPickerFullRange(benchmark::State& state) {
    const ToeplitzV4 rss(kDefaultRssKey);
    const Reta reta(128, 4);
    const PortPicker picker(rss, reta, 0xc6336407u, 443, 0x0a010203u);
    std::vector<uint16_t> out(65536);
    size_t total = 0;
    for (auto _ : state) {
        const size_t n = picker.pick(1, 1024, 65535, out);
        benchmark::DoNotOptimize(out.data());
        total += n;
    }
    const uint64_t iters = static_cast<uint64_t>(state.iterations());
    if (iters == 0 || total / iters < 64512 / 4 - 2000 || total / iters > 64512 / 4 + 2000) {
        state.SkipWithError("unexpected share of ports");
    }
    state.SetItemsProcessed(static_cast<int64_t>(iters * 64512));  // ports examined
}

// The same for an IPv6 connection: only the picker's base differs, so this should match the IPv4 figure.
void BM_PortPickerV6FullRange(benchmark::State& state) {
    const ToeplitzV6 rss(kDefaultRssKey);
    const Reta reta(128, 4);
    const auto server = Ipv6::parse("2001:db8:51:100::7");
    const auto client = Ipv6::parse("2001:db8:a:1:2::3");
    if (!server || !client) {
        state.SkipWithError("address parse failed");
        return;
    }
    const PortPicker picker(rss, reta, *server, 443, *client);
    std::vector<uint16_t> out(65536);
    size_t total = 0;
    for (auto _ : state) {
        const size_t n = picker.pick(1, 1024, 65535, out);
        benchmark::DoNotOptimize(out.data());
        total += n;
    }
    const uint64_t iters = static_cast<uint64_t>(state.iterations());
    if (iters == 0 || total / iters < 64512 / 4 - 2000 || total / iters > 64512 / 4 + 2000) {
        state.SkipWithError("unexpected share of ports");
    }
    state.SetItemsProcessed(static_cast<int64_t>(iters * 64512));
}

BENCHMARK(BM_InsertEraseChurn)->Arg(1'000'000)->ArgName("max");
BENCHMARK(BM_FlowHash);
BENCHMARK(BM_ToeplitzV4);
BENCHMARK(BM_ToeplitzV6);
BENCHMARK(BM_ToeplitzReference);
BENCHMARK(BM_PortPickerFullRange);
BENCHMARK(BM_PortPickerV6FullRange);

// Not inlined, so that callgrind can count just these (--toggle-collect='*lookup_loop*').
[[gnu::noinline]] uint64_t lookup_loop_single(const FlowTable& t, const FlowKey* keys, const uint32_t* hashes,
                                              uint64_t n) {
    uint64_t found = 0;
    for (uint64_t i = 0; i < n; ++i) {
        const uint32_t j = static_cast<uint32_t>(i & (kQueries - 1));
        found += t.lookup(keys[j], hashes[j]) != FlowTable::kNone;
    }
    return found;
}

[[gnu::noinline]] uint64_t lookup_loop_bulk(const FlowTable& t, const FlowKey* keys, const uint32_t* hashes,
                                            uint64_t n) {
    uint64_t found = 0;
    uint32_t values[kBurst];
    for (uint64_t i = 0; i < n; i += kBurst) {
        const uint32_t j = static_cast<uint32_t>(i & (kQueries - 1));
        t.lookup_bulk(keys + j, hashes + j, kBurst, values);
        for (uint32_t v : values) found += v != FlowTable::kNone;
    }
    return found;
}

// --lookups=N [--max=M] [--fill=P] [--miss]; returns the exit status (2: a bad option, 1: a wrong result).
int run_lookup_count(int argc, char** argv) {
    uint64_t n = 0;
    uint64_t max_entries = 1'000'000;
    uint64_t fill = 90;
    bool miss = false;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        auto number = [&](const char* prefix, uint64_t& out, uint64_t lo, uint64_t hi) {
            const size_t len = std::strlen(prefix);
            if (std::strncmp(a, prefix, len) != 0) return false;
            char* end = nullptr;
            out = std::strtoull(a + len, &end, 10);
            if (*end != '\0' || a[len] == '\0' || out < lo || out > hi) {
                std::fprintf(stderr, "bench_flow: bad %.*s: %s\n", static_cast<int>(len - 1), prefix, a + len);
                std::exit(2);
            }
            return true;
        };
        if (number("--lookups=", n, kBurst, uint64_t{1} << 40) || number("--max=", max_entries, 1000, 50'000'000) ||
            number("--fill=", fill, 1, 95)) {
            continue;
        }
        if (std::strcmp(a, "--miss") == 0) {
            miss = true;
            continue;
        }
        std::fprintf(stderr, "bench_flow: unknown option with --lookups: %s\n", a);
        return 2;
    }
    n -= n % kBurst;
    Fixture& f = fixture(static_cast<uint32_t>(max_entries), static_cast<uint32_t>(fill));
    if (!f.ok) {
        std::fprintf(stderr, "bench_flow: fixture build failed\n");
        return 1;
    }
    const FlowKey* keys = miss ? f.miss_keys.data() : f.hit_keys.data();
    const uint32_t* hashes = miss ? f.miss_hashes.data() : f.hit_hashes.data();
    const uint64_t single = lookup_loop_single(f.table, keys, hashes, n);
    const uint64_t bulk = lookup_loop_bulk(f.table, keys, hashes, n);
    const uint64_t want = miss ? 0 : n;
    std::printf("lookups=%llu max=%llu fill=%llu%% %s: single found %llu, bulk found %llu\n",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(max_entries),
                static_cast<unsigned long long>(fill), miss ? "miss" : "hit", static_cast<unsigned long long>(single),
                static_cast<unsigned long long>(bulk));
    return single == want && bulk == want ? 0 : 1;
}

}  // namespace
}  // namespace synwave::flow

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--lookups=", 10) == 0) return synwave::flow::run_lookup_count(argc, argv);
    }
    synwave::flow::register_lookups();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
