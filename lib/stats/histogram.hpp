// Latency histogram with log-linear buckets (the layout of HdrHistogram, G. Tene).
//
// Values are unsigned integers in whatever unit the caller picks; latencies are recorded in nanoseconds
// (convert TSC cycles with TscRate::to_ns off the fast path, or record cycles and convert the summary).
//
// Buckets: values 0..127 each have their own bucket; above that every power of two [2^e, 2^(e+1)) is cut
// into 64 equal sub-buckets of width 2^(e-6). A bucket's width is therefore at most 1/64 of any value in it
// (relative error <= 1.6%), over the whole range 1 ns .. 2^42 ns (73 minutes) in 2368 buckets (18.5 KiB).
// Larger values land in the top bucket; min and max stay exact.
//
// record() is O(1): one count-leading-zeros, a shift, an add; no branches on the value but min/max, no
// allocation, no clock. Percentiles walk the buckets (off the data path). One histogram per lcore, merged
// for the report.
#pragma once
#include "core/cacheline.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace synwave::stats {

// What a report needs from a histogram: nearest-rank percentiles, each the highest value of the bucket
// holding that rank (HdrHistogram's "highest equivalent value"), capped at the exact max.
struct HistogramSummary {
    uint64_t count = 0;
    uint64_t min = 0;
    double mean = 0;
    uint64_t p50 = 0;
    uint64_t p90 = 0;
    uint64_t p99 = 0;
    uint64_t p999 = 0;
    uint64_t max = 0;
    bool operator==(const HistogramSummary&) const = default;
};

class alignas(kCacheLine) LatencyHistogram {
public:
    // 64 sub-buckets per power of two: 2 significant decimal digits, as HdrHistogram's default precision.
    static constexpr unsigned kSubBits = 6;
    static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
    // 2^42 ns = 73 minutes: above any connect or response time worth a bucket.
    static constexpr unsigned kMaxBits = 42;
    static constexpr uint64_t kMaxTrackable = (uint64_t{1} << kMaxBits) - 1;
    static constexpr std::size_t kBuckets = (kMaxBits - kSubBits + 1) * kSub;

    // Bucket of v: with e = floor(log2 v) and s = max(e - 6, 0), index = s * 64 + (v >> s).
    // For v < 128 that is v itself; each later power of two adds 64 indices.
    [[nodiscard]] static constexpr std::size_t bucket_index(uint64_t v) {
        v = std::min(v, kMaxTrackable);
        const unsigned e = static_cast<unsigned>(std::bit_width(v | 1)) - 1;
        const unsigned s = e > kSubBits ? e - kSubBits : 0;
        return static_cast<std::size_t>(s) * kSub + static_cast<std::size_t>(v >> s);
    }
    [[nodiscard]] static constexpr uint64_t bucket_lower(std::size_t i) {
        if (i < 2 * kSub) return i;
        const unsigned s = static_cast<unsigned>(i >> kSubBits) - 1;
        return (static_cast<uint64_t>(i & (kSub - 1)) + kSub) << s;
    }
    [[nodiscard]] static constexpr uint64_t bucket_upper(std::size_t i) {
        if (i < 2 * kSub) return i;
        const unsigned s = static_cast<unsigned>(i >> kSubBits) - 1;
        return bucket_lower(i) + (uint64_t{1} << s) - 1;
    }

    void record(uint64_t v) {
        ++counts_[bucket_index(v)];
        ++count_;
        sum_ += v;
        min_ = std::min(min_, v);
        max_ = std::max(max_, v);
    }

    // Add another histogram (another lcore's, or another interval's).
    LatencyHistogram& operator+=(const LatencyHistogram& o);
    // Take away an earlier snapshot of the same cumulative histogram, leaving the samples recorded between the
    // two: counts and sum subtract exactly. Which samples were the smallest and largest of the interval is not
    // known, so min and max become bounds: the lower edge of the first non-empty bucket (at least the later
    // min) and the upper edge of the last (at most the later max). `earlier` must be a snapshot this one grew
    // from (every count <= ours); a count that would go negative is clamped to 0.
    LatencyHistogram& operator-=(const LatencyHistogram& earlier);
    void reset() { *this = LatencyHistogram{}; }

    // Rebuilding a histogram from its parts (a JSON report): add n samples to bucket i (i < kBuckets), then
    // set what the buckets do not hold. Sum, min and max are taken as given.
    void add_bucket(std::size_t i, uint64_t n) {
        counts_[i] += n;
        count_ += n;
    }
    void set_sum_min_max(uint64_t sum, uint64_t min, uint64_t max) {
        sum_ = sum;
        min_ = count_ ? min : std::numeric_limits<uint64_t>::max();
        max_ = max;
    }

    [[nodiscard]] uint64_t count() const { return count_; }
    [[nodiscard]] uint64_t sum() const { return sum_; }
    [[nodiscard]] uint64_t min() const { return count_ ? min_ : 0; }
    [[nodiscard]] uint64_t max() const { return max_; }
    [[nodiscard]] double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
    [[nodiscard]] uint64_t bucket_count(std::size_t i) const { return counts_[i]; }

    // Nearest-rank percentile, q in [0, 100]: the highest value of the bucket that holds the
    // ceil(q/100 * count)-th smallest sample (at least the first), capped at max(); the last rank is
    // max() itself. 0 when empty.
    [[nodiscard]] uint64_t percentile(double q) const;
    [[nodiscard]] HistogramSummary summary() const;

private:
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t count_ = 0;
    uint64_t sum_ = 0;  // 2^64 ns is 584 years of summed latency
    uint64_t min_ = std::numeric_limits<uint64_t>::max();
    uint64_t max_ = 0;
};

// The samples `later` holds and `earlier` (a snapshot it grew from) did not: later -= earlier, as a value.
[[nodiscard]] LatencyHistogram delta(const LatencyHistogram& later, const LatencyHistogram& earlier);

// The 1-based nearest rank of quantile q (percent) among n samples: ceil(q/100 * n), within [1, n].
// Tolerates the binary representation of decimal percentages (99.9 / 100 * 1000 is 999.0000000000001).
[[nodiscard]] uint64_t nearest_rank(double q, uint64_t n);

// "count 1000  min 1.2us  mean ...": one line, values scaled to ns/us/ms/s for reading.
[[nodiscard]] std::string format_text(const HistogramSummary& s);
// A value in nanoseconds as "850ns", "12.3us", "4.56ms", "1.20s".
[[nodiscard]] std::string format_ns(uint64_t ns);

} // namespace synwave::stats
