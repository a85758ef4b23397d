// FlowTable: construction, memory, insert (Robin Hood), erase (backward shift) and diagnostics.
// The layout and the reasons for it are in flow_table.hpp.
#include "flow/flow_table.hpp"

#include <sys/mman.h>

#include <cassert>
#include <cstdint>
#include <utility>

namespace synwave::flow {

namespace {

// Transparent huge page size on x86-64. A mapping aligned to it lets the kernel back the table with
// 2 MiB pages (one TLB entry per 32768 flows instead of one per 256).
constexpr size_t kHugePage = size_t{2} << 20;

constexpr size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

uint64_t bucket_count_for(uint32_t max_entries) {
    if (max_entries == 0) return 1;
    // slots >= max_entries / 0.9, rounded up; then whole buckets; then a power of two.
    const uint64_t slots_needed = (uint64_t{max_entries} * FlowTable::kMaxLoadDen + FlowTable::kMaxLoadNum - 1) /
                                  FlowTable::kMaxLoadNum;
    const uint64_t buckets = (slots_needed + FlowTable::kBucketSlots - 1) / FlowTable::kBucketSlots;
    return std::bit_ceil(buckets);
}

}  // namespace

const FlowTable::Bucket FlowTable::kEmptyBucket{};

FlowTable::FlowTable() noexcept
    : buckets_(empty_buckets()) {}

size_t FlowTable::memory_needed(uint32_t max_entries) {
    return static_cast<size_t>(bucket_count_for(max_entries)) * sizeof(Bucket);
}

FlowTable::FlowTable(uint32_t max_entries) noexcept : FlowTable() {
    if (max_entries == 0) return;
    const size_t bytes = memory_needed(max_entries);
    const bool huge = bytes >= kHugePage;
    // Over-map by one huge page so a 2 MiB aligned window of the needed size fits, then trim both ends.
    const size_t body = huge ? round_up(bytes, kHugePage) : bytes;
    size_t len = huge ? body + kHugePage : bytes;
    void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return;
    if (huge) {
        const auto start = reinterpret_cast<uintptr_t>(base);
        const uintptr_t aligned = round_up(start, kHugePage);
        const size_t head = aligned - start;
        const size_t tail = len - head - body;
        if (head != 0) munmap(base, head);
        if (tail != 0) munmap(reinterpret_cast<void*>(aligned + body), tail);
        base = reinterpret_cast<void*>(aligned);
        len = body;
        // Best effort: without THP (disabled, or "never") the table still works on 4 KiB pages.
        (void)madvise(base, len, MADV_HUGEPAGE);
    }
    map_base_ = base;
    map_len_ = len;
    init(max_entries, base, bytes);
}

FlowTable::FlowTable(uint32_t max_entries, void* memory, size_t bytes) noexcept : FlowTable() {
    if (max_entries == 0 || memory == nullptr) return;
    if (reinterpret_cast<uintptr_t>(memory) % kCacheLine != 0) return;
    if (bytes < memory_needed(max_entries)) return;
    init(max_entries, memory, memory_needed(max_entries));
}

void FlowTable::init(uint32_t max_entries, void* memory, size_t bytes) noexcept {
    // Writing every byte now both empties the table (count = 0 everywhere) and faults every page in, so
    // the data path never takes a page fault (and THP backs the range at fault time).
    std::memset(memory, 0, bytes);
    const uint64_t nb = bytes / sizeof(Bucket);
    buckets_ = static_cast<Bucket*>(memory);
    mask_ = static_cast<uint32_t>(nb - 1);
    shift_ = 32 - static_cast<uint32_t>(std::countr_zero(nb));
    size_ = 0;
    max_entries_ = max_entries;
}

void FlowTable::release() noexcept {
    if (map_base_ != nullptr) munmap(map_base_, map_len_);
    map_base_ = nullptr;
    map_len_ = 0;
    buckets_ = empty_buckets();
    mask_ = 0;
    shift_ = 32;
    size_ = 0;
    max_entries_ = 0;
}

FlowTable::~FlowTable() { release(); }

FlowTable::FlowTable(FlowTable&& o) noexcept : FlowTable() { *this = std::move(o); }

FlowTable& FlowTable::operator=(FlowTable&& o) noexcept {
    if (this != &o) {
        release();
        buckets_ = o.buckets_;
        mask_ = o.mask_;
        shift_ = o.shift_;
        size_ = o.size_;
        max_entries_ = o.max_entries_;
        map_base_ = o.map_base_;
        map_len_ = o.map_len_;
        o.map_base_ = nullptr;  // ownership moved; release() must not unmap it
        o.release();
    }
    return *this;
}

void FlowTable::lookup_bulk(const FlowKey* keys, const uint32_t* hashes, uint32_t n, uint32_t* values) const {
    // Issue the first window of home-bucket prefetches, then keep the window full while resolving: each
    // lookup's line has had kBulkWindow lookups' worth of time to arrive.
    const uint32_t w = n < kBulkWindow ? n : kBulkWindow;
    for (uint32_t i = 0; i < w; ++i) prefetch_read(&buckets_[home_of(hashes[i])]);
    for (uint32_t i = 0; i < n; ++i) {
        if (i + w < n) prefetch_read(&buckets_[home_of(hashes[i + w])]);
        values[i] = lookup(keys[i], hashes[i]);
    }
}

FlowTable::Insert FlowTable::insert(const FlowKey& key, uint32_t hash, uint32_t value) {
    assert(value != kNone);
    const Pos p = find(key, hash);
    if (p.index < kBucketSlots) return Insert::Exists;
    if (SYNWAVE_UNLIKELY(size_ >= max_entries_)) return Insert::Full;

    // find() stopped at the first bucket where the key may go: every bucket before it (from home) is full
    // of entries whose homes are no later than ours. Robin Hood placement from there: in each full bucket,
    // if its richest entry (smallest probe distance) is richer than the one we carry, they trade places
    // and we carry the evicted one on. This keeps entries sorted by home along the run, which is what
    // lets a miss stop early. The carried entry ends in the first bucket with room.
    Entry cur{key, value};
    uint32_t cur_hash = hash;
    uint32_t b = p.bucket;
    uint32_t d = distance(home_of(hash), b);
    for (;;) {
        Bucket& bk = buckets_[b];
        if (bk.count < kBucketSlots) {
            bk.hash[bk.count] = cur_hash;
            bk.entry[bk.count] = cur;
            ++bk.count;
            ++size_;
            return Insert::Ok;
        }
        uint32_t ri = 0;
        uint32_t rd = distance(home_of(bk.hash[0]), b);
        for (uint32_t i = 1; i < kBucketSlots; ++i) {
            const uint32_t di = distance(home_of(bk.hash[i]), b);
            if (di < rd) {
                rd = di;
                ri = i;
            }
        }
        if (rd < d) {
            std::swap(cur, bk.entry[ri]);
            std::swap(cur_hash, bk.hash[ri]);
            d = rd;
        }
        b = (b + 1) & mask_;
        ++d;
    }
}

bool FlowTable::erase(const FlowKey& key, uint32_t hash) {
    const Pos p = find(key, hash);
    if (p.index >= kBucketSlots) return false;

    // Remove from bucket p.bucket keeping its entries packed (the last one fills the hole).
    auto remove_at = [](Bucket& bk, uint32_t i) {
        const uint32_t last = bk.count - 1;
        bk.hash[i] = bk.hash[last];
        bk.entry[i] = bk.entry[last];
        bk.count = last;
    };

    uint32_t b = p.bucket;
    Bucket* hole = &buckets_[b];
    bool was_full = hole->count == kBucketSlots;
    remove_at(*hole, p.index);
    --size_;

    // Backward shift. Only a bucket that was full can have entries displaced past it, so as long as the
    // bucket we just opened was full, pull the next bucket's most displaced entry (earliest home, which keeps
    // the Robin Hood order) back into it. Stop at an empty bucket or one whose entries are all at home.
    while (was_full) {
        const uint32_t n = (b + 1) & mask_;
        Bucket& nb = buckets_[n];
        if (nb.count == 0) break;
        uint32_t fi = 0;
        uint32_t fd = distance(home_of(nb.hash[0]), n);
        for (uint32_t i = 1; i < nb.count; ++i) {
            const uint32_t di = distance(home_of(nb.hash[i]), n);
            if (di > fd) {
                fd = di;
                fi = i;
            }
        }
        if (fd == 0) break;
        hole->hash[hole->count] = nb.hash[fi];
        hole->entry[hole->count] = nb.entry[fi];
        ++hole->count;
        was_full = nb.count == kBucketSlots;
        remove_at(nb, fi);
        b = n;
        hole = &nb;
    }
    return true;
}

void FlowTable::clear() {
    if (!ok()) return;
    std::memset(static_cast<void*>(buckets_), 0, memory_bytes());
    size_ = 0;
}

// total_distance is the same for every insertion order: a bucket's fill is fixed by how many keys have
// their home at or before it in the run (bucket fill = min(3, keys arriving there)), and the total
// distance is the number of entries carried over each bucket boundary, summed. With Robin Hood order the
// whole multiset of distances (hence max_distance too) is fixed by the key set.
FlowTable::ProbeStats FlowTable::probe_stats() const {
    ProbeStats s;
    if (!ok()) return s;
    for (uint64_t b = 0; b <= mask_; ++b) {
        const Bucket& bk = buckets_[b];
        for (uint32_t i = 0; i < bk.count; ++i) {
            const uint32_t d = distance(home_of(bk.hash[i]), static_cast<uint32_t>(b));
            s.total_distance += d;
            if (d > s.max_distance) s.max_distance = d;
            ++s.entries;
        }
    }
    return s;
}

bool FlowTable::check_invariants() const {
    if (!ok()) return size_ == 0 && buckets_[0].count == 0;
    uint64_t total = 0;
    for (uint64_t bi = 0; bi <= mask_; ++bi) {
        const auto b = static_cast<uint32_t>(bi);
        const Bucket& bk = buckets_[b];
        if (bk.count > kBucketSlots) return false;
        total += bk.count;
        for (uint32_t i = 0; i < bk.count; ++i) {
            if (bk.entry[i].value == kNone) return false;
            // No gap: every bucket from the entry's home up to (not including) its own is full.
            const uint32_t home = home_of(bk.hash[i]);
            for (uint32_t c = home; c != b; c = (c + 1) & mask_) {
                if (buckets_[c].count != kBucketSlots) return false;
            }
            // Found where it is (this also rules out duplicate keys: find() returns the first copy).
            const Pos p = find(bk.entry[i].key, bk.hash[i]);
            if (p.bucket != b || p.index != i) return false;
        }
        // Robin Hood order across the boundary b -> b+1: nothing in b+1 has an earlier home than anything
        // in b, i.e. every distance (measured at b+1) in b+1 is <= every one in b.
        const uint32_t n = (b + 1) & mask_;
        const Bucket& nb = buckets_[n];
        if (bk.count == kBucketSlots && nb.count != 0 && n != b) {
            uint32_t min_b = UINT32_MAX;
            uint32_t max_n = 0;
            for (uint32_t i = 0; i < bk.count; ++i) {
                const uint32_t d = distance(home_of(bk.hash[i]), n);
                if (d < min_b) min_b = d;
            }
            for (uint32_t i = 0; i < nb.count; ++i) {
                const uint32_t d = distance(home_of(nb.hash[i]), n);
                if (d > max_n) max_n = d;
            }
            if (max_n > min_b) return false;
        }
    }
    return total == size_ && size_ <= max_entries_;
}

}  // namespace synwave::flow
