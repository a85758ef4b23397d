// The per-lcore connection table: 4-tuple -> 32-bit handle (an index into the connection pool).
//
// Design: bucketised linear probing, Robin Hood ordered, backward-shift deletion.
//
//   bucket (one 64-byte cache line)
//   ┌───────┬───────┬───────┬───────┬──────────────────┬──────────────────┬──────────────────┐
//   │hash 0 │hash 1 │hash 2 │ count │ key 0 │ value 0  │ key 1 │ value 1  │ key 2 │ value 2  │
//   └───────┴───────┴───────┴───────┴──────────────────┴──────────────────┴──────────────────┘
//     4 B     4 B     4 B     4 B        12 B + 4 B         12 B + 4 B         12 B + 4 B
//
// Why this shape:
// - One cache line per probe. A hit almost always touches exactly one line (the key's home bucket): the
//   stored hashes are compared four at a time with one SSE compare, then one 16-byte compare checks the key.
//   A 16-byte slot with the hashes in a separate array would cost two lines per lookup; a 20-byte slot
//   straddles lines. With 3 entries per line memory is 21.3 B per slot.
// - The full 32-bit hash is stored because the caller supplies it (it may come from anywhere, e.g. the
//   same flow_hash() computed once per packet); deletion and Robin Hood ordering need each entry's home
//   bucket, and recomputing a hash the table does not own is impossible.
// - The home bucket is taken from the hash's HIGH bits (hash >> shift). A NIC's RSS hash picks the RX
//   queue with its LOW bits, so if a caller ever passes the RSS hash, every flow on one lcore shares those
//   low bits; the high bits are still spread.
// - Linear probing over buckets keeps a probe sequence inside consecutive lines (the hardware prefetcher's
//   favourite pattern). Robin Hood order (the entries of a run of full buckets are sorted by home bucket)
//   lets a miss stop at the first bucket holding an entry whose home is later than the key's. Simulated at
//   90 % slot load, that cuts a miss from ~16 buckets (plain linear probing) to ~2.8.
// - Backward-shift deletion: removing an entry pulls the following displaced entries one bucket back, so
//   there are no tombstones, no rebuilds, and the layout after any insert/erase history is the one the
//   remaining keys would have if inserted afresh (up to the order of entries sharing a home bucket). Probe
//   lengths cannot grow with churn (tests/unit/flow checks this exactly after 10^6 operations).
// - A bucketised cuckoo table (rte_hash) bounds a lookup to two buckets, but its hit needs a second line
//   for the key and its inserts do random-walk evictions. Here, at the 45-80 % slot loads a power-of-two
//   sizing gives, a hit reads 1.05-1.6 lines on average (simulated), all sequential.
//
// Capacity is fixed at construction: the bucket count is the smallest power of two whose slots hold
// max_entries at <= 90 % load (so the actual load at max_entries lies between 45 % and 90 %). insert()
// returns Insert::Full once size() == max_entries(); nothing is ever allocated afterwards. Memory comes
// from mmap, 2 MiB aligned and advised for transparent huge pages (the 10^7-entry table is 256 MiB, 65,536
// 4 KiB pages: without huge pages nearly every lookup would also miss the TLB), and is touched at
// construction so the data path never page-faults. The engine may instead pass memory it owns (a DPDK
// hugepage zone) through the (max_entries, memory, bytes) constructor.
//
// Not thread-safe: one table per lcore, share nothing.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <emmintrin.h>

#include "core/cacheline.hpp"
#include "flow/flow_key.hpp"

namespace synwave::flow {

class FlowTable {
public:
    static constexpr uint32_t kNone = UINT32_MAX;  // lookup miss; never a stored value (insert asserts)
    static constexpr uint32_t kBucketSlots = 3;    // (64 B line - 16 B of hashes and count) / 16 B entry
    // Target load at max_entries: 90 % (9/10); beyond it Robin Hood probe lengths climb steeply.
    static constexpr uint32_t kMaxLoadNum = 9;
    static constexpr uint32_t kMaxLoadDen = 10;

    enum class Insert : uint8_t { Ok, Exists, Full };

    // An empty table of capacity 0: every lookup misses, every insert is Full. Also the moved-from state.
    FlowTable() noexcept;
    // Allocates and pre-faults the bucket array. On allocation failure the table has capacity 0 (ok() false).
    explicit FlowTable(uint32_t max_entries) noexcept;
    // Uses caller-owned memory (at least memory_needed(max_entries) bytes, 64-byte aligned; zeroed here).
    // If it is too small or misaligned the table has capacity 0 (ok() false).
    FlowTable(uint32_t max_entries, void* memory, size_t bytes) noexcept;
    ~FlowTable();

    FlowTable(FlowTable&& o) noexcept;
    FlowTable& operator=(FlowTable&& o) noexcept;
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    // Bytes of bucket array needed for max_entries (for callers that bring their own memory).
    [[nodiscard]] static size_t memory_needed(uint32_t max_entries);

    // The value stored for key, or kNone. `hash` must be the one the key was inserted with.
    [[nodiscard]] uint32_t lookup(const FlowKey& key, uint32_t hash) const {
        const Pos p = find(key, hash);
        return SYNWAVE_LIKELY(p.index < kBucketSlots) ? buckets_[p.bucket].entry[p.index].value : kNone;
    }

    // values[i] = lookup(keys[i], hashes[i]) for i < n. Prefetches the home buckets of the first kBulkWindow
    // keys before resolving any (an RX burst of 32 then has all its cache misses in flight at once), and
    // keeps kBulkWindow keys ahead for longer arrays. Measured on the 10^6-entry table at 90 % fill,
    // bulk of 32: a window of 32 beat 16 and 8 (see bench/flow).
    void lookup_bulk(const FlowKey* keys, const uint32_t* hashes, uint32_t n, uint32_t* values) const;
    static constexpr uint32_t kBulkWindow = 32;

    // Ok: stored. Exists: the key is present (its value is left unchanged). Full: size() == max_entries().
    // `value` must not be kNone.
    [[nodiscard]] Insert insert(const FlowKey& key, uint32_t hash, uint32_t value);

    // Starts loading the line a lookup of `hash` reads first (its home bucket): issued for a whole RX burst
    // before the burst is processed, the misses overlap instead of stalling one after the other.
    void prefetch(uint32_t hash) const { prefetch_read(&buckets_[home_of(hash)]); }

    // Replaces the value stored for key (the entry stays where it is: one probe, no shifting); false if the
    // key is not present. `value` must not be kNone.
    [[nodiscard]] bool update(const FlowKey& key, uint32_t hash, uint32_t value) {
        const Pos p = find(key, hash);
        if (p.index >= kBucketSlots) return false;
        buckets_[p.bucket].entry[p.index].value = value;
        return true;
    }

    // Removes key; false if it was not present.
    [[nodiscard]] bool erase(const FlowKey& key, uint32_t hash);

    // Removes every entry (O(slots); not for the data path).
    void clear();

    [[nodiscard]] uint32_t size() const { return size_; }
    [[nodiscard]] uint32_t max_entries() const { return max_entries_; }
    [[nodiscard]] bool ok() const { return max_entries_ > 0; }
    [[nodiscard]] size_t buckets() const { return size_t{mask_} + 1; }
    [[nodiscard]] size_t slots() const { return buckets() * kBucketSlots; }
    [[nodiscard]] size_t memory_bytes() const { return ok() ? buckets() * sizeof(Bucket) : 0; }
    // Fraction of slots in use.
    [[nodiscard]] double load() const { return static_cast<double>(size_) / static_cast<double>(slots()); }

    // Diagnostics, O(slots), for tests and start-up reports, never the data path. The probe distance of an
    // entry is how many buckets past its home bucket it sits (0 = at home).
    struct ProbeStats {
        uint32_t max_distance = 0;
        uint64_t total_distance = 0;  // sum over entries; independent of insertion order (see .cpp)
        uint32_t entries = 0;
    };
    [[nodiscard]] ProbeStats probe_stats() const;
    // Checks every structural invariant: counts, size, no gap between an entry and its home, Robin Hood
    // order between neighbouring buckets, and that every stored entry is found by lookup().
    [[nodiscard]] bool check_invariants() const;

private:
    struct Entry {
        FlowKey key;
        uint32_t value;
    };
    static_assert(sizeof(Entry) == 16);

    struct alignas(kCacheLine) Bucket {
        uint32_t hash[kBucketSlots];
        uint32_t count;  // entries in use, packed at [0, count)
        Entry entry[kBucketSlots];
    };
    static_assert(sizeof(Bucket) == kCacheLine, "a bucket is exactly one cache line");
    static_assert(offsetof(Bucket, count) == 12, "count is lane 3 of the hash vector");
    static_assert(offsetof(Bucket, entry) == 16, "entries are 16-byte aligned for SSE loads");

    // The bucket array of every table of capacity 0 (default-constructed, moved-from, or whose allocation
    // failed), so lookups need no null check. Never written: insert() answers Full and erase() finds
    // nothing before they touch memory.
    static const Bucket kEmptyBucket;
    static Bucket* empty_buckets() { return const_cast<Bucket*>(&kEmptyBucket); }

    // Where an entry lives.
    struct Pos {
        uint32_t bucket;
        uint32_t index;  // kBucketSlots = not found
    };

    [[nodiscard]] uint32_t home_of(uint32_t hash) const {
        return static_cast<uint32_t>(uint64_t{hash} >> shift_);
    }
    [[nodiscard]] uint32_t distance(uint32_t home, uint32_t bucket) const { return (bucket - home) & mask_; }

    static __m128i key_vector(const FlowKey& k) {
        uint32_t w[4] = {k.local_ip, k.remote_ip,
                         static_cast<uint32_t>(k.local_port) | (static_cast<uint32_t>(k.remote_port) << 16), 0};
        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
    }

    // The single probe loop shared by lookup, insert and erase.
    [[nodiscard]] Pos find(const FlowKey& key, uint32_t hash) const {
        const __m128i hv = _mm_set1_epi32(static_cast<int>(hash));
        const __m128i kv = key_vector(key);
        const uint32_t home = home_of(hash);
        uint32_t b = home;
        for (uint32_t d = 0;; ++d, b = (b + 1) & mask_) {
            const Bucket& bk = buckets_[b];
            const __m128i meta = _mm_load_si128(reinterpret_cast<const __m128i*>(&bk));
            const uint32_t count = bk.count;
            uint32_t m = static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(meta, hv)))) &
                         ((1u << count) - 1);
            while (m != 0) {
                const uint32_t i = static_cast<uint32_t>(std::countr_zero(m));
                const __m128i e = _mm_load_si128(reinterpret_cast<const __m128i*>(&bk.entry[i]));
                // Lanes 0..2 are the key; lane 3 is the stored value, ignored.
                if ((_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(e, kv))) & 7) == 7) return {b, i};
                m &= m - 1;
            }
            // Not in this bucket. A non-full bucket ends every probe sequence through it (nothing is ever
            // displaced past a bucket with room).
            if (SYNWAVE_LIKELY(count < kBucketSlots)) return {b, kBucketSlots};
            // Robin Hood: entries are ordered by home along a run of full buckets, so if this bucket holds an
            // entry whose home is later than ours (it sits closer to its home than we would), our key would
            // have been placed no later than here.
            if (richer_than(meta, b, d)) return {b, kBucketSlots};
        }
    }

    // True if some entry of the (full) bucket b whose hashes are in `meta` has a probe distance < d.
    [[nodiscard]] bool richer_than(__m128i meta, uint32_t b, uint32_t d) const {
        const __m128i homes = _mm_srl_epi32(meta, _mm_cvtsi32_si128(static_cast<int>(shift_)));
        const __m128i dist = _mm_and_si128(_mm_sub_epi32(_mm_set1_epi32(static_cast<int>(b)), homes),
                                           _mm_set1_epi32(static_cast<int>(mask_)));
        // Distances are < 2^31, so the signed compare is exact.
        const __m128i lt = _mm_cmplt_epi32(dist, _mm_set1_epi32(static_cast<int>(d)));
        return (_mm_movemask_ps(_mm_castsi128_ps(lt)) & 7) != 0;
    }

    void release() noexcept;
    void init(uint32_t max_entries, void* memory, size_t bytes) noexcept;

    Bucket* buckets_;
    uint32_t mask_ = 0;    // buckets - 1
    uint32_t shift_ = 32;  // 32 - log2(buckets): home = hash >> shift_
    uint32_t size_ = 0;
    uint32_t max_entries_ = 0;
    void* map_base_ = nullptr;  // our own mapping (nullptr when the memory is the caller's)
    size_t map_len_ = 0;
};

}  // namespace synwave::flow
