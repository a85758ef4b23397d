// Log-linear latency histogram: bucket layout, exact small values, percentiles against a sorted reference
// within one bucket's width, merge, text and JSON.
#include "stats/histogram.hpp"
#include "stats/json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

using synwave::stats::HistogramSummary;
using synwave::stats::LatencyHistogram;
using synwave::stats::nearest_rank;

namespace {

// Heap-allocate: 18.5 KiB each, several per test.
std::unique_ptr<LatencyHistogram> make_hist() { return std::make_unique<LatencyHistogram>(); }

// Reference nearest rank with integer arithmetic: ceil(num/den * n).
uint64_t ref_rank(uint64_t num, uint64_t den, uint64_t n) { return std::max<uint64_t>(1, (num * n + den - 1) / den); }

} // namespace

static_assert(LatencyHistogram::kBuckets == 2368);
static_assert(LatencyHistogram::bucket_index(0) == 0);
static_assert(LatencyHistogram::bucket_index(127) == 127);
static_assert(LatencyHistogram::bucket_index(128) == 128);
static_assert(LatencyHistogram::bucket_index(129) == 128);
static_assert(LatencyHistogram::bucket_index(130) == 129);
static_assert(LatencyHistogram::bucket_index(255) == 191);
static_assert(LatencyHistogram::bucket_index(256) == 192);
static_assert(LatencyHistogram::bucket_index(LatencyHistogram::kMaxTrackable) == LatencyHistogram::kBuckets - 1);
static_assert(LatencyHistogram::bucket_index(UINT64_MAX) == LatencyHistogram::kBuckets - 1);

TEST(Histogram, BucketsTileTheRangeWithBoundedWidth) {
    using H = LatencyHistogram;
    EXPECT_EQ(H::bucket_lower(0), 0u);
    EXPECT_EQ(H::bucket_upper(H::kBuckets - 1), H::kMaxTrackable);
    for (size_t i = 0; i < H::kBuckets; ++i) {
        const uint64_t lo = H::bucket_lower(i), hi = H::bucket_upper(i);
        ASSERT_LE(lo, hi) << i;
        ASSERT_EQ(H::bucket_index(lo), i) << i;
        ASSERT_EQ(H::bucket_index(hi), i) << i;
        if (i + 1 < H::kBuckets) {
            ASSERT_EQ(H::bucket_lower(i + 1), hi + 1) << i;
        }
        // Width at most 1/64 of the bucket's smallest value (exact single values below 128).
        if (i < 128) {
            ASSERT_EQ(lo, hi);
        } else {
            ASSERT_LE(hi - lo + 1, lo / 64) << i;
        }
    }
}

TEST(Histogram, EmptyReportsZeros) {
    auto h = make_hist();
    EXPECT_EQ(h->count(), 0u);
    EXPECT_EQ(h->min(), 0u);
    EXPECT_EQ(h->max(), 0u);
    EXPECT_EQ(h->mean(), 0.0);
    EXPECT_EQ(h->percentile(99), 0u);
    EXPECT_EQ(h->summary(), HistogramSummary{});
}

TEST(Histogram, SmallValuesAreExact) {
    auto h = make_hist();
    for (uint64_t v = 100; v >= 1; --v) h->record(v);  // order does not matter
    EXPECT_EQ(h->count(), 100u);
    EXPECT_EQ(h->min(), 1u);
    EXPECT_EQ(h->max(), 100u);
    EXPECT_EQ(h->sum(), 5050u);
    EXPECT_DOUBLE_EQ(h->mean(), 50.5);
    EXPECT_EQ(h->percentile(50), 50u);
    EXPECT_EQ(h->percentile(90), 90u);
    EXPECT_EQ(h->percentile(99), 99u);
    EXPECT_EQ(h->percentile(99.9), 100u);
    EXPECT_EQ(h->percentile(0), 1u);
    EXPECT_EQ(h->percentile(100), 100u);
    const HistogramSummary s = h->summary();
    EXPECT_EQ(s, (HistogramSummary{100, 1, 50.5, 50, 90, 99, 100, 100}));
}

TEST(Histogram, NearestRank) {
    EXPECT_EQ(nearest_rank(99.9, 1000), 999u);  // 99.9 / 100 * 1000 = 999.0000000000001 in binary
    EXPECT_EQ(nearest_rank(99.9, 1001), 1000u);
    EXPECT_EQ(nearest_rank(90, 12345), 11111u);  // 11110.5 rounds up
    EXPECT_EQ(nearest_rank(50, 3), 2u);
    EXPECT_EQ(nearest_rank(50, 1), 1u);
    EXPECT_EQ(nearest_rank(0, 10), 1u);
    EXPECT_EQ(nearest_rank(100, 10), 10u);
    EXPECT_EQ(nearest_rank(99, 100), 99u);
    EXPECT_EQ(nearest_rank(50, 0), 0u);
    for (uint64_t n : {1ull, 7ull, 1000ull, 12345ull, 100000ull, 999999ull}) {
        EXPECT_EQ(nearest_rank(50, n), ref_rank(1, 2, n)) << n;
        EXPECT_EQ(nearest_rank(90, n), ref_rank(9, 10, n)) << n;
        EXPECT_EQ(nearest_rank(99, n), ref_rank(99, 100, n)) << n;
        EXPECT_EQ(nearest_rank(99.9, n), ref_rank(999, 1000, n)) << n;
    }
}

TEST(Histogram, PercentilesMatchSortedReferenceWithinOneBucket) {
    // Log-uniform latencies from 1 ns to 60 s: every decade of the range is populated.
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> exponent(0.0, std::log(60e9));
    constexpr uint64_t kN = 100'000;
    std::vector<uint64_t> values(kN);
    auto h = make_hist();
    for (auto& v : values) {
        v = static_cast<uint64_t>(std::exp(exponent(rng)));
        h->record(v);
    }
    std::sort(values.begin(), values.end());
    EXPECT_EQ(h->count(), kN);
    EXPECT_EQ(h->min(), values.front());
    EXPECT_EQ(h->max(), values.back());
    long double sum = 0;
    for (uint64_t v : values) sum += static_cast<long double>(v);
    EXPECT_EQ(h->sum(), static_cast<uint64_t>(sum));
    EXPECT_NEAR(h->mean(), static_cast<double>(sum / kN), 1e-6 * h->mean());

    // Each percentile, from percentile() and (where it reports one) from summary(), lands in the reference
    // sample's bucket: not below it, and above by less than the bucket width.
    struct Q {
        double pct;
        uint64_t num, den;
        uint64_t HistogramSummary::*in_summary;
    };
    const Q qs[] = {{0.1, 1, 1000, nullptr},
                    {25, 1, 4, nullptr},
                    {50, 1, 2, &HistogramSummary::p50},
                    {90, 9, 10, &HistogramSummary::p90},
                    {99, 99, 100, &HistogramSummary::p99},
                    {99.9, 999, 1000, &HistogramSummary::p999},
                    {100, 1, 1, &HistogramSummary::max}};
    const HistogramSummary s = h->summary();
    for (const Q& q : qs) {
        const uint64_t ref = values[ref_rank(q.num, q.den, kN) - 1];
        std::vector<uint64_t> got{h->percentile(q.pct)};
        if (q.in_summary) got.push_back(s.*q.in_summary);
        for (uint64_t g : got) {
            EXPECT_GE(g, ref) << q.pct;
            EXPECT_LE(g - ref, ref >> 6) << q.pct;
            EXPECT_EQ(LatencyHistogram::bucket_index(g), LatencyHistogram::bucket_index(ref)) << q.pct;
        }
    }
    EXPECT_EQ(s.count, kN);
    EXPECT_EQ(s.min, values.front());
    EXPECT_EQ(s.max, values.back());
    EXPECT_NEAR(s.mean, static_cast<double>(sum / kN), 1e-6 * s.mean);
}

TEST(Histogram, ValuesAboveTheRangeKeepExactMax) {
    auto h = make_hist();
    h->record(1000);
    h->record(uint64_t{1} << 50);  // 13 days in ns
    EXPECT_EQ(h->bucket_count(LatencyHistogram::kBuckets - 1), 1u);
    EXPECT_EQ(h->max(), uint64_t{1} << 50);
    EXPECT_EQ(h->percentile(100), uint64_t{1} << 50);
    EXPECT_EQ(h->percentile(50), 1007u);  // 1000 lies in bucket [1000, 1007], width 8
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
    std::mt19937_64 rng(6298);
    std::uniform_int_distribution<uint64_t> dist(1, 5'000'000);
    auto all = make_hist();
    auto a = make_hist(), b = make_hist(), c = make_hist();
    LatencyHistogram* parts[] = {a.get(), b.get(), c.get()};
    for (int i = 0; i < 30'000; ++i) {
        const uint64_t v = i == 777 ? 3 : dist(rng);  // the minimum lands in one part only
        all->record(v);
        parts[i % 3]->record(v);
    }
    auto merged = make_hist();
    *merged += *a;
    *merged += *b;
    *merged += *c;
    *merged += LatencyHistogram{};  // an idle lcore changes nothing
    EXPECT_EQ(merged->summary(), all->summary());
    EXPECT_EQ(merged->min(), 3u);
    for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) ASSERT_EQ(merged->bucket_count(i), all->bucket_count(i));
    merged->reset();
    EXPECT_EQ(merged->count(), 0u);
    EXPECT_EQ(merged->summary(), HistogramSummary{});
}

TEST(Histogram, TextAndJson) {
    auto h = make_hist();
    for (uint64_t v = 1; v <= 100; ++v) h->record(v);
    EXPECT_EQ(synwave::stats::format_text(h->summary()),
              "count 100  min 1ns  mean 51ns  p50 50ns  p90 90ns  p99 99ns  p99.9 100ns  max 100ns");
    EXPECT_EQ(synwave::stats::format_text(HistogramSummary{}), "count 0");
    EXPECT_EQ(synwave::stats::to_json(h->summary()).dump(),
              R"({"count":100,"min":1,"mean":50.5,"p50":50,"p90":90,"p99":99,"p99.9":100,"max":100})");
    EXPECT_EQ(synwave::stats::format_ns(850), "850ns");
    EXPECT_EQ(synwave::stats::format_ns(12'345), "12.3us");
    EXPECT_EQ(synwave::stats::format_ns(4'560'000), "4.56ms");
    EXPECT_EQ(synwave::stats::format_ns(1'200'000'000), "1.20s");
}
