// FlowTable and flow_hash: exact results of every operation, capacity edges, hash collisions, wrap-around of
// the bucket array, and a 10^6-operation churn cross-checked against std::unordered_map.
#include "flow/flow_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <unordered_map>
#include <vector>

namespace synwave::flow {
namespace {

using Insert = FlowTable::Insert;

struct KeyHasher {
    size_t operator()(const FlowKey& k) const { return flow_hash(k); }
};

// A server-side key: our 10.0.0.1:80, the client varies.
FlowKey key_of(uint32_t client_ip, uint16_t client_port) {
    return FlowKey{0x0a000001u, client_ip, 80, client_port};
}

FlowKey random_key(std::mt19937_64& rng) {
    const uint64_t r = rng();
    return FlowKey{static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32), static_cast<uint16_t>(rng()),
                   static_cast<uint16_t>(rng())};
}

// ---------------------------------------------------------------------------------------------------------
// flow_hash

TEST(FlowHash, EqualKeysEqualHashesAndEveryFieldMatters) {
    const FlowKey k{0xc0a80001u, 0xc0a80002u, 443, 50000};
    EXPECT_EQ(flow_hash(k), flow_hash(FlowKey{0xc0a80001u, 0xc0a80002u, 443, 50000}));
    EXPECT_NE(flow_hash(k), flow_hash(FlowKey{0xc0a80003u, 0xc0a80002u, 443, 50000}));
    EXPECT_NE(flow_hash(k), flow_hash(FlowKey{0xc0a80001u, 0xc0a80003u, 443, 50000}));
    EXPECT_NE(flow_hash(k), flow_hash(FlowKey{0xc0a80001u, 0xc0a80002u, 444, 50000}));
    EXPECT_NE(flow_hash(k), flow_hash(FlowKey{0xc0a80001u, 0xc0a80002u, 443, 50001}));
    // Swapping the directions is a different flow.
    EXPECT_NE(flow_hash(k), flow_hash(FlowKey{0xc0a80002u, 0xc0a80001u, 50000, 443}));
}

// The table indexes buckets with the hash's high bits. A structured key set (one server port, 64 client
// addresses in a /26 times 1024 consecutive ports) must spread evenly over 1024 bins of the top 10 bits.
TEST(FlowHash, StructuredKeysSpreadOverHighBits) {
    constexpr uint32_t kBins = 1024;
    std::vector<uint32_t> bins(kBins, 0);
    uint32_t n = 0;
    for (uint32_t ip = 0; ip < 64; ++ip) {
        for (uint32_t port = 20000; port < 21024; ++port) {
            ++bins[flow_hash(key_of(0xc6336400u + ip, static_cast<uint16_t>(port))) >> 22];
            ++n;
        }
    }
    const double expected = static_cast<double>(n) / kBins;  // 64 per bin
    double chi2 = 0;
    for (uint32_t c : bins) chi2 += (c - expected) * (c - expected) / expected;
    // 1023 degrees of freedom: mean 1023, sd ~45. 1250 is beyond 5 sd; a biased hash lands far above.
    EXPECT_LT(chi2, 1250.0);
    EXPECT_GT(chi2, 800.0);  // and not suspiciously uniform (a counter, not a hash)
    EXPECT_GT(*std::min_element(bins.begin(), bins.end()), 20u);
    EXPECT_LT(*std::max_element(bins.begin(), bins.end()), 120u);
}

// ---------------------------------------------------------------------------------------------------------
// Sizing

TEST(FlowTableSizing, PowerOfTwoBucketsAtMostNinetyPercentLoad) {
    // 10^6 entries need 1,111,112 slots = 370,371 buckets -> 2^19 buckets of 3 slots, 64 B each.
    FlowTable t(1'000'000);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.max_entries(), 1'000'000u);
    EXPECT_EQ(t.buckets(), 524'288u);
    EXPECT_EQ(t.slots(), 1'572'864u);
    EXPECT_EQ(t.memory_bytes(), 524'288u * 64u);
    EXPECT_EQ(FlowTable::memory_needed(1'000'000), 524'288u * 64u);
    EXPECT_EQ(t.size(), 0u);

    // Exactly at a power of two: 3 * 2^k * 0.9 entries fit 2^k buckets; one more needs 2^(k+1).
    EXPECT_EQ(FlowTable::memory_needed(2764), 1024u * 64u);  // 2764 * 10 / 9 = 3071.1 -> 3072 slots
    EXPECT_EQ(FlowTable::memory_needed(2765), 2048u * 64u);  // 3072.2 -> 3073 slots
    // Tiny tables: one bucket holds 2 entries at <= 90 %, three need two buckets.
    EXPECT_EQ(FlowTable::memory_needed(1), 64u);
    EXPECT_EQ(FlowTable::memory_needed(2), 64u);
    EXPECT_EQ(FlowTable::memory_needed(3), 128u);
}

TEST(FlowTableSizing, DefaultAndZeroCapacityTablesAreEmptyAndFull) {
    FlowTable d;
    FlowTable z(0);
    for (FlowTable* t : {&d, &z}) {
        EXPECT_FALSE(t->ok());
        EXPECT_EQ(t->max_entries(), 0u);
        EXPECT_EQ(t->memory_bytes(), 0u);
        const FlowKey k = key_of(1, 2);
        EXPECT_EQ(t->lookup(k, flow_hash(k)), FlowTable::kNone);
        EXPECT_EQ(t->insert(k, flow_hash(k), 7), Insert::Full);
        EXPECT_FALSE(t->erase(k, flow_hash(k)));
        t->clear();
        EXPECT_EQ(t->size(), 0u);
        EXPECT_TRUE(t->check_invariants());
    }
}

// ---------------------------------------------------------------------------------------------------------
// Basic operations

TEST(FlowTable, InsertLookupErase) {
    FlowTable t(100);
    const FlowKey a = key_of(0xc0a80101u, 40000);
    const FlowKey b = key_of(0xc0a80101u, 40001);
    const FlowKey c = key_of(0xffffffffu, 65535);
    EXPECT_EQ(t.insert(a, flow_hash(a), 0), Insert::Ok);
    EXPECT_EQ(t.insert(b, flow_hash(b), 1), Insert::Ok);
    EXPECT_EQ(t.insert(c, flow_hash(c), 0xfffffffeu), Insert::Ok);  // largest storable value
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.lookup(a, flow_hash(a)), 0u);
    EXPECT_EQ(t.lookup(b, flow_hash(b)), 1u);
    EXPECT_EQ(t.lookup(c, flow_hash(c)), 0xfffffffeu);
    const FlowKey absent = key_of(0xc0a80101u, 40002);
    EXPECT_EQ(t.lookup(absent, flow_hash(absent)), FlowTable::kNone);

    EXPECT_TRUE(t.erase(b, flow_hash(b)));
    EXPECT_FALSE(t.erase(b, flow_hash(b)));
    EXPECT_FALSE(t.erase(absent, flow_hash(absent)));
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.lookup(b, flow_hash(b)), FlowTable::kNone);
    EXPECT_EQ(t.lookup(a, flow_hash(a)), 0u);
    EXPECT_EQ(t.lookup(c, flow_hash(c)), 0xfffffffeu);
    EXPECT_TRUE(t.check_invariants());
}

TEST(FlowTable, InsertOfPresentKeyIsExistsAndKeepsValue) {
    FlowTable t(10);
    const FlowKey k = key_of(0x0a0a0a0au, 1234);
    EXPECT_EQ(t.insert(k, flow_hash(k), 5), Insert::Ok);
    EXPECT_EQ(t.insert(k, flow_hash(k), 6), Insert::Exists);
    EXPECT_EQ(t.lookup(k, flow_hash(k)), 5u);
    EXPECT_EQ(t.size(), 1u);
}

TEST(FlowTable, EraseThenReinsertTakesNewValue) {
    FlowTable t(10);
    const FlowKey k = key_of(0x0a0a0a0au, 1234);
    const uint32_t h = flow_hash(k);
    for (uint32_t round = 0; round < 5; ++round) {
        EXPECT_EQ(t.insert(k, h, 100 + round), Insert::Ok);
        EXPECT_EQ(t.lookup(k, h), 100 + round);
        EXPECT_TRUE(t.erase(k, h));
        EXPECT_EQ(t.lookup(k, h), FlowTable::kNone);
        EXPECT_EQ(t.size(), 0u);
    }
}

TEST(FlowTable, UpdateReplacesOnlyThePresentKey) {
    FlowTable t(1000);
    std::vector<FlowKey> keys;
    for (uint32_t i = 0; i < 900; ++i) {  // 90 %: displaced entries too
        keys.push_back(key_of(0x0c000000u + i * 7919u, static_cast<uint16_t>(i)));
        ASSERT_EQ(t.insert(keys.back(), flow_hash(keys.back()), i), Insert::Ok);
    }
    for (uint32_t i = 0; i < 900; i += 3) EXPECT_TRUE(t.update(keys[i], flow_hash(keys[i]), 0x8000'0000u | i));
    for (uint32_t i = 0; i < 900; ++i) {
        EXPECT_EQ(t.lookup(keys[i], flow_hash(keys[i])), i % 3 == 0 ? (0x8000'0000u | i) : i) << i;
    }
    const FlowKey absent = key_of(0x0d000000u, 1);
    EXPECT_FALSE(t.update(absent, flow_hash(absent), 5));
    EXPECT_EQ(t.lookup(absent, flow_hash(absent)), FlowTable::kNone);
    EXPECT_EQ(t.size(), 900u);
    EXPECT_TRUE(t.check_invariants());
}

TEST(FlowTable, FullExactlyAtMaxEntries) {
    for (uint32_t cap : {1u, 2u, 3u, 7u, 1000u, 2764u}) {
        SCOPED_TRACE(cap);
        FlowTable t(cap);
        for (uint32_t i = 0; i < cap; ++i) {
            const FlowKey k = key_of(0x0b000000u + i, static_cast<uint16_t>(i));
            ASSERT_EQ(t.insert(k, flow_hash(k), i), Insert::Ok) << i;
        }
        EXPECT_EQ(t.size(), cap);
        const FlowKey extra = key_of(0x0c000000u, 1);
        EXPECT_EQ(t.insert(extra, flow_hash(extra), 99), Insert::Full);
        EXPECT_EQ(t.lookup(extra, flow_hash(extra)), FlowTable::kNone);
        // A present key is still reported as present when full, not as Full.
        const FlowKey first = key_of(0x0b000000u, 0);
        EXPECT_EQ(t.insert(first, flow_hash(first), 1), Insert::Exists);
        EXPECT_EQ(t.size(), cap);
        // One erase makes room for exactly one.
        EXPECT_TRUE(t.erase(first, flow_hash(first)));
        EXPECT_EQ(t.insert(extra, flow_hash(extra), 99), Insert::Ok);
        EXPECT_EQ(t.insert(first, flow_hash(first), 0), Insert::Full);
        EXPECT_EQ(t.lookup(extra, flow_hash(extra)), 99u);
        for (uint32_t i = 1; i < cap; ++i) {
            const FlowKey k = key_of(0x0b000000u + i, static_cast<uint16_t>(i));
            ASSERT_EQ(t.lookup(k, flow_hash(k)), i);
        }
        EXPECT_TRUE(t.check_invariants());
    }
}

TEST(FlowTable, ClearEmptiesTable) {
    FlowTable t(100);
    for (uint32_t i = 0; i < 100; ++i) {
        const FlowKey k = key_of(i, 1);
        ASSERT_EQ(t.insert(k, flow_hash(k), i), Insert::Ok);
    }
    t.clear();
    EXPECT_EQ(t.size(), 0u);
    for (uint32_t i = 0; i < 100; ++i) {
        const FlowKey k = key_of(i, 1);
        ASSERT_EQ(t.lookup(k, flow_hash(k)), FlowTable::kNone);
    }
    EXPECT_TRUE(t.check_invariants());
}

// ---------------------------------------------------------------------------------------------------------
// Hash collisions and wrap-around

// The table trusts the caller's hash for placement but never for identity: keys with the same hash are
// distinguished by the key compare. 0xffffffff puts their home in the LAST bucket, so the run of full
// buckets wraps around to bucket 0.
TEST(FlowTable, ForcedCollisionsAtTheLastBucketWrapAround) {
    FlowTable t(1000);  // 512 buckets
    constexpr uint32_t kSame = 0xffffffffu;
    constexpr uint32_t n = 200;
    for (uint32_t i = 0; i < n; ++i) {
        ASSERT_EQ(t.insert(key_of(0x0d000000u, static_cast<uint16_t>(i)), kSame, i), Insert::Ok);
    }
    EXPECT_EQ(t.insert(key_of(0x0d000000u, 7), kSame, 1), Insert::Exists);
    // 200 entries from one home bucket fill 67 buckets: 66 full ones and 2 in the 67th.
    const FlowTable::ProbeStats s = t.probe_stats();
    EXPECT_EQ(s.entries, n);
    EXPECT_EQ(s.max_distance, 66u);
    EXPECT_EQ(s.total_distance, 3u * (66u * 65u / 2u) + 2u * 66u);
    // A key with a home in the wrapped part (bucket 5) must probe past the colliding run.
    const uint32_t home5 = 5u << 23;  // 512 buckets: home = hash >> 23
    const FlowKey other = key_of(0x0e000000u, 1);
    ASSERT_EQ(t.insert(other, home5, 4242), Insert::Ok);
    EXPECT_EQ(t.lookup(other, home5), 4242u);
    for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(t.lookup(key_of(0x0d000000u, static_cast<uint16_t>(i)), kSame), i);
    // The same key with another hash is not found: identity is key AND hash.
    EXPECT_EQ(t.lookup(key_of(0x0d000000u, 3), 0x12345678u), FlowTable::kNone);
    EXPECT_TRUE(t.check_invariants());

    // Erase every other colliding key; the rest stay reachable and the run shrinks back.
    for (uint32_t i = 0; i < n; i += 2) ASSERT_TRUE(t.erase(key_of(0x0d000000u, static_cast<uint16_t>(i)), kSame));
    for (uint32_t i = 0; i < n; ++i) {
        ASSERT_EQ(t.lookup(key_of(0x0d000000u, static_cast<uint16_t>(i)), kSame), i % 2 ? i : FlowTable::kNone);
    }
    EXPECT_EQ(t.lookup(other, home5), 4242u);
    EXPECT_EQ(t.size(), n / 2 + 1);
    EXPECT_EQ(t.probe_stats().max_distance, 33u);  // 100 entries: 33 full buckets + 1 in the 34th
    EXPECT_TRUE(t.check_invariants());
}

// Two groups of colliding keys with neighbouring homes interleave in Robin Hood order, and misses for
// either home stop early instead of scanning the whole run.
TEST(FlowTable, NeighbouringCollisionGroups) {
    FlowTable t(1000);  // 512 buckets
    const uint32_t h10 = 10u << 23;
    const uint32_t h11 = (11u << 23) | 0x1234u;  // same home bucket 11, low bits differ
    for (uint32_t i = 0; i < 30; ++i) {
        ASSERT_EQ(t.insert(key_of(1, static_cast<uint16_t>(i)), h11, 1000 + i), Insert::Ok);
        ASSERT_EQ(t.insert(key_of(2, static_cast<uint16_t>(i)), h10, 2000 + i), Insert::Ok);
    }
    ASSERT_TRUE(t.check_invariants());
    for (uint32_t i = 0; i < 30; ++i) {
        EXPECT_EQ(t.lookup(key_of(1, static_cast<uint16_t>(i)), h11), 1000 + i);
        EXPECT_EQ(t.lookup(key_of(2, static_cast<uint16_t>(i)), h10), 2000 + i);
    }
    // Robin Hood order: the 30 home-10 entries fill buckets 10..19, the home-11 ones follow in 20..29.
    const FlowTable::ProbeStats s = t.probe_stats();
    EXPECT_EQ(s.max_distance, 18u);  // the last home-11 bucket is 29
    EXPECT_EQ(s.total_distance, 3u * (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9) + 3u * (9 + 10 + 11 + 12 + 13 + 14 + 15 + 16 + 17 + 18));
    for (uint32_t i = 0; i < 30; ++i) ASSERT_TRUE(t.erase(key_of(2, static_cast<uint16_t>(i)), h10));
    // With home 10 gone, the home-11 entries shift back to 11..20.
    EXPECT_EQ(t.probe_stats().max_distance, 9u);
    EXPECT_TRUE(t.check_invariants());
}

// ---------------------------------------------------------------------------------------------------------
// Bulk lookup

TEST(FlowTable, BulkLookupEqualsSingleLookups) {
    std::mt19937_64 rng(42);
    FlowTable t(5000);
    std::vector<FlowKey> keys;
    std::vector<uint32_t> hashes;
    for (uint32_t i = 0; i < 4000; ++i) {
        const FlowKey k = random_key(rng);
        keys.push_back(k);
        hashes.push_back(flow_hash(k));
        if (i % 2 == 0) {
            ASSERT_EQ(t.insert(k, hashes.back(), i), Insert::Ok);  // half hit, half miss
        }
    }
    for (uint32_t n : {0u, 1u, 5u, 16u, 17u, 32u, 33u, 1000u, 4000u}) {
        SCOPED_TRACE(n);
        std::vector<uint32_t> values(n + 1, 0xdeadbeefu);
        t.lookup_bulk(keys.data(), hashes.data(), n, values.data());
        for (uint32_t i = 0; i < n; ++i) {
            ASSERT_EQ(values[i], t.lookup(keys[i], hashes[i]));
            ASSERT_EQ(values[i], i % 2 == 0 ? i : FlowTable::kNone);
        }
        EXPECT_EQ(values[n], 0xdeadbeefu);  // nothing written past n
    }
}

// ---------------------------------------------------------------------------------------------------------
// Churn against std::unordered_map

// The probe statistics of a table built afresh from `live`, inserted in the reverse order.
FlowTable::ProbeStats fresh_stats(uint32_t cap, const std::unordered_map<FlowKey, uint32_t, KeyHasher>& live) {
    FlowTable f(cap);
    std::vector<std::pair<FlowKey, uint32_t>> items(live.begin(), live.end());
    std::reverse(items.begin(), items.end());
    for (const auto& [k, v] : items) EXPECT_EQ(f.insert(k, flow_hash(k), v), Insert::Ok);
    return f.probe_stats();
}

TEST(FlowTable, ChurnMatchesUnorderedMapAndProbeLengthsDoNotGrow) {
    // 20,000 entries (2^13 buckets, 81 % load when full). Keys drawn from a universe of 32,000 with
    // inserts twice as frequent as erases: the live set would settle at 2/3 of the universe (21,333), above
    // the capacity, so the table spends most of the run full (where probe sequences are longest), inserts
    // see Ok, Exists and Full, and erases see present and absent keys.
    constexpr uint32_t kCap = 20'000;
    constexpr uint32_t kUniverse = 32'000;
    constexpr uint32_t kOps = 1'000'000;
    std::mt19937_64 rng(20240601);
    std::vector<FlowKey> universe;
    for (uint32_t i = 0; i < kUniverse; ++i) {
        // Clients from a /16 with sequential ports, like a load generator.
        universe.push_back(FlowKey{0x0a000001u, 0xac100000u + (i >> 8), 8080, static_cast<uint16_t>(1024 + i * 7)});
    }
    FlowTable t(kCap);
    std::unordered_map<FlowKey, uint32_t, KeyHasher> ref;
    uint32_t counts[6] = {};
    uint32_t next_value = 0;
    for (uint32_t op = 0; op < kOps; ++op) {
        const FlowKey& k = universe[rng() % kUniverse];
        const uint32_t h = flow_hash(k);
        switch (rng() % 5) {
            case 0:
            case 1: {
                const uint32_t v = next_value++;
                const Insert r = t.insert(k, h, v);
                Insert want;
                if (ref.count(k)) {
                    want = Insert::Exists;
                } else if (ref.size() >= kCap) {
                    want = Insert::Full;
                } else {
                    want = Insert::Ok;
                    ref.emplace(k, v);
                }
                ASSERT_EQ(r, want) << "op " << op;
                ++counts[static_cast<int>(want)];
                break;
            }
            case 2: {
                const bool r = t.erase(k, h);
                ASSERT_EQ(r, ref.erase(k) == 1) << "op " << op;
                ++counts[r ? 3 : 4];
                break;
            }
            default: {
                const auto it = ref.find(k);
                ASSERT_EQ(t.lookup(k, h), it == ref.end() ? FlowTable::kNone : it->second) << "op " << op;
                ++counts[5];
                break;
            }
        }
        ASSERT_EQ(t.size(), ref.size());
        if (op % 100'000 == 0) {
            ASSERT_TRUE(t.check_invariants()) << "op " << op;
        }
    }
    // Every path was exercised many times.
    for (uint32_t c : counts) EXPECT_GT(c, 10'000u);
    EXPECT_TRUE(t.check_invariants());
    for (const auto& [k, v] : ref) ASSERT_EQ(t.lookup(k, flow_hash(k)), v);

    // No probe-length growth: after a million mixed operations the table's probe distances are exactly
    // those of a table built afresh from the surviving keys (backward shift leaves no trace of history).
    const FlowTable::ProbeStats churned = t.probe_stats();
    const FlowTable::ProbeStats fresh = fresh_stats(kCap, ref);
    EXPECT_EQ(churned.entries, ref.size());
    EXPECT_EQ(churned.total_distance, fresh.total_distance);
    EXPECT_EQ(churned.max_distance, fresh.max_distance);
    EXPECT_LE(churned.max_distance, 8u);  // at ~80 % load with a good hash, runs are short
    // Mean probe distance: a simulation of ideal random hashing at this load (81 %, 3-slot buckets) gives
    // 0.56 buckets; a clumping hash or a drifting layout would exceed 0.75.
    EXPECT_LT(static_cast<double>(churned.total_distance) / churned.entries, 0.75);
    RecordProperty("max_probe_distance", static_cast<int>(churned.max_distance));
}

// ---------------------------------------------------------------------------------------------------------
// Ownership

TEST(FlowTable, MoveTransfersEntriesAndLeavesEmpty) {
    FlowTable a(100);
    const FlowKey k = key_of(0x01020304u, 5);
    ASSERT_EQ(a.insert(k, flow_hash(k), 77), Insert::Ok);
    FlowTable b(std::move(a));
    EXPECT_EQ(b.lookup(k, flow_hash(k)), 77u);
    EXPECT_EQ(b.size(), 1u);
    EXPECT_FALSE(a.ok());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_EQ(a.lookup(k, flow_hash(k)), FlowTable::kNone);
    EXPECT_EQ(a.insert(k, flow_hash(k), 1), Insert::Full);

    FlowTable c(10);
    c = std::move(b);
    EXPECT_EQ(c.lookup(k, flow_hash(k)), 77u);
    EXPECT_EQ(c.max_entries(), 100u);
    EXPECT_FALSE(b.ok());  // NOLINT(bugprone-use-after-move)
}

TEST(FlowTable, CallerOwnedMemory) {
    const size_t need = FlowTable::memory_needed(1000);
    ASSERT_EQ(need, 512u * 64u);
    void* mem = std::aligned_alloc(64, need + 64);
    ASSERT_NE(mem, nullptr);
    std::memset(mem, 0xa5, need + 64);  // garbage: the table must clear it
    {
        FlowTable t(1000, mem, need);
        ASSERT_TRUE(t.ok());
        EXPECT_EQ(t.size(), 0u);
        for (uint32_t i = 0; i < 1000; ++i) {
            const FlowKey k = key_of(i, 9);
            ASSERT_EQ(t.insert(k, flow_hash(k), i), Insert::Ok);
        }
        EXPECT_TRUE(t.check_invariants());
        // Too small, or misaligned: capacity 0.
        EXPECT_FALSE(FlowTable(1000, mem, need - 64).ok());
        EXPECT_FALSE(FlowTable(1000, static_cast<char*>(mem) + 8, need).ok());
    }
    // Nothing was written past the `need` bytes it was given, by the table or the rejected ones.
    const auto* guard = static_cast<const unsigned char*>(mem) + need;
    EXPECT_EQ(std::count(guard, guard + 64, 0xa5), 64);
    std::free(mem);
}

}  // namespace
}  // namespace synwave::flow
