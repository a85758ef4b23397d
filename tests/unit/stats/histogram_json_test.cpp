// Whole histograms as JSON (exact round trip, bad input named) and per-interval deltas of a cumulative
// histogram (exact counts and sums, bounded min/max), the parts the per-second series and the merge of runs
// are built from.
#include "stats/histogram.hpp"
#include "stats/json.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

using synwave::stats::LatencyHistogram;
using synwave::stats::histogram_from_json;
using synwave::stats::histogram_json;

namespace {

std::unique_ptr<LatencyHistogram> make_hist() { return std::make_unique<LatencyHistogram>(); }

// Latency-like values over several decades, and some above the trackable range.
std::vector<uint64_t> samples(uint32_t seed, std::size_t n) {
    std::mt19937_64 rng(seed);
    std::lognormal_distribution<double> d(11.0, 2.0);
    std::vector<uint64_t> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<uint64_t>(d(rng)));
    v.push_back(0);
    v.push_back(LatencyHistogram::kMaxTrackable + 12345);
    return v;
}

void expect_same(const LatencyHistogram& a, const LatencyHistogram& b) {
    EXPECT_EQ(a.count(), b.count());
    EXPECT_EQ(a.sum(), b.sum());
    EXPECT_EQ(a.min(), b.min());
    EXPECT_EQ(a.max(), b.max());
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) ASSERT_EQ(a.bucket_count(i), b.bucket_count(i)) << i;
    EXPECT_EQ(a.summary(), b.summary());
}

// Parses `text` and expects it refused with an error containing `what`.
void expect_refused(const std::string& text, const std::string& what) {
    auto h = make_hist();
    h->record(5);
    std::string err;
    EXPECT_FALSE(histogram_from_json(nlohmann::json::parse(text), *h, err)) << text;
    EXPECT_NE(err.find(what), std::string::npos) << text << " -> " << err;
    EXPECT_EQ(h->count(), 0u) << "a refused histogram is left empty";
}

}  // namespace

TEST(HistogramJson, LayoutAndNonZeroBucketsAscending) {
    auto h = make_hist();
    h->record(3);
    h->record(3);
    h->record(130);
    EXPECT_EQ(histogram_json(*h).dump(),
              R"({"unit":"ns","sub_bits":6,"max_bits":42,"count":3,"sum":136,"min":3,"max":130,)"
              R"("buckets":[[3,2],[129,1]]})");
    EXPECT_EQ(histogram_json(*make_hist()).dump(),
              R"({"unit":"ns","sub_bits":6,"max_bits":42,"count":0,"sum":0,"min":0,"max":0,"buckets":[]})");
}

TEST(HistogramJson, RoundTripIsExact) {
    auto h = make_hist();
    for (uint64_t v : samples(1, 20000)) h->record(v);
    auto back = make_hist();
    std::string err;
    // Through text, as a report file is read.
    ASSERT_TRUE(histogram_from_json(nlohmann::json::parse(histogram_json(*h).dump()), *back, err)) << err;
    expect_same(*h, *back);

    auto empty = make_hist();
    ASSERT_TRUE(histogram_from_json(nlohmann::json::parse(histogram_json(*empty).dump()), *back, err)) << err;
    expect_same(*empty, *back);
}

TEST(HistogramJson, MergeOfTwoReadBackEqualsHistogramOfTheUnion) {
    const auto a = samples(2, 5000), b = samples(3, 7000);
    auto ha = make_hist(), hb = make_hist(), all = make_hist();
    for (uint64_t v : a) ha->record(v), all->record(v);
    for (uint64_t v : b) hb->record(v), all->record(v);
    auto ra = make_hist(), rb = make_hist();
    std::string err;
    ASSERT_TRUE(histogram_from_json(nlohmann::json::parse(histogram_json(*ha).dump()), *ra, err)) << err;
    ASSERT_TRUE(histogram_from_json(nlohmann::json::parse(histogram_json(*hb).dump()), *rb, err)) << err;
    *ra += *rb;
    expect_same(*all, *ra);
    EXPECT_EQ(histogram_json(*ra).dump(), histogram_json(*all).dump());
}

TEST(HistogramJson, BadInputIsNamed) {
    const std::string ok = R"("unit":"ns","sub_bits":6,"max_bits":42,"count":3,"sum":136,"min":3,"max":130)";
    expect_refused(R"([1,2])", "not an object");
    expect_refused(R"({"unit":"us","sub_bits":6,"max_bits":42,"count":0,"sum":0,"min":0,"max":0,"buckets":[]})",
                   "'unit'");
    expect_refused(R"({"unit":"ns","sub_bits":5,"max_bits":42,"count":0,"sum":0,"min":0,"max":0,"buckets":[]})",
                   "layout differs");
    expect_refused(R"({"unit":"ns","sub_bits":6,"max_bits":40,"count":0,"sum":0,"min":0,"max":0,"buckets":[]})",
                   "layout differs");
    expect_refused(R"({"unit":"ns","sub_bits":6,"max_bits":42,"sum":0,"min":0,"max":0,"buckets":[]})", "no 'count'");
    expect_refused(R"({"unit":"ns","sub_bits":6,"max_bits":42,"count":-1,"sum":0,"min":0,"max":0,"buckets":[]})",
                   "'count' is not an unsigned integer");
    expect_refused(R"({"unit":"ns","sub_bits":6,"max_bits":42,"count":1.5,"sum":0,"min":0,"max":0,"buckets":[]})",
                   "'count' is not an unsigned integer");
    expect_refused("{" + ok + "}", "'buckets' is not an array");
    expect_refused("{" + ok + R"(,"buckets":[[3,2],[2368,1]]})", "index 2368 out of range");
    expect_refused("{" + ok + R"(,"buckets":[[129,1],[3,2]]})", "not ascending");
    expect_refused("{" + ok + R"(,"buckets":[[3,2],[3,1]]})", "not ascending");
    expect_refused("{" + ok + R"(,"buckets":[[3,2]]})", "add up to 2, not count 3");
    expect_refused("{" + ok + R"(,"buckets":[[3,2],[129,2]]})", "more than count 3");
    expect_refused("{" + ok + R"(,"buckets":[[3,2],[129]]})", "not [index, count]");
    expect_refused("{" + ok + R"(,"buckets":[[3,2],[129,"1"]]})", "not [index, count]");
    expect_refused(R"({"unit":"ns","sub_bits":6,"max_bits":42,"count":1,"sum":5,"min":9,"max":5,"buckets":[[5,1]]})",
                   "min above max");
}

TEST(HistogramDelta, CountsAndSumSubtractExactly) {
    // A cumulative histogram snapshotted after each "second": the deltas hold exactly that second's samples.
    auto cum = make_hist(), prev = make_hist(), sum_of_deltas = make_hist();
    for (uint32_t sec = 0; sec < 5; ++sec) {
        auto own = make_hist();
        for (uint64_t v : samples(10 + sec, 1000 * (sec + 1))) cum->record(v), own->record(v);
        const LatencyHistogram d = synwave::stats::delta(*cum, *prev);
        EXPECT_EQ(d.count(), own->count());
        EXPECT_EQ(d.sum(), own->sum());
        for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
            ASSERT_EQ(d.bucket_count(i), own->bucket_count(i)) << sec << " " << i;
        // min and max are bounds of the interval's own: within the bucket that holds each.
        EXPECT_LE(d.min(), own->min());
        EXPECT_EQ(LatencyHistogram::bucket_index(d.min()), LatencyHistogram::bucket_index(own->min()));
        EXPECT_GE(d.max(), own->max());
        EXPECT_EQ(LatencyHistogram::bucket_index(d.max()), LatencyHistogram::bucket_index(own->max()));
        EXPECT_LE(d.max(), cum->max());
        // The percentiles of the interval are those of its own samples but for the rank of max.
        EXPECT_EQ(d.percentile(50), own->percentile(50));
        EXPECT_EQ(d.percentile(99), own->percentile(99));
        *sum_of_deltas += d;
        *prev = *cum;
    }
    EXPECT_EQ(sum_of_deltas->count(), cum->count());
    EXPECT_EQ(sum_of_deltas->sum(), cum->sum());
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) ASSERT_EQ(sum_of_deltas->bucket_count(i), cum->bucket_count(i));
}

TEST(HistogramDelta, BoundsOfASingleSampleAndOfNothing) {
    auto earlier = make_hist();
    earlier->record(100);
    earlier->record(50000);
    auto later = make_hist();
    *later = *earlier;
    later->record(1000);  // bucket [1000, 1007]
    LatencyHistogram d = synwave::stats::delta(*later, *earlier);
    EXPECT_EQ(d.count(), 1u);
    EXPECT_EQ(d.sum(), 1000u);
    EXPECT_EQ(d.min(), 1000u);
    EXPECT_EQ(d.max(), 1007u);
    later->record(10);  // the later min now lies below: min is the bucket's lower edge, 10 exactly
    d = synwave::stats::delta(*later, *earlier);
    EXPECT_EQ(d.min(), 10u);
    EXPECT_EQ(d.max(), 1007u);

    const LatencyHistogram none = synwave::stats::delta(*earlier, *earlier);
    EXPECT_EQ(none.count(), 0u);
    EXPECT_EQ(none.sum(), 0u);
    EXPECT_EQ(none.min(), 0u);
    EXPECT_EQ(none.max(), 0u);
    EXPECT_EQ(histogram_json(none).dump(), histogram_json(*make_hist()).dump());
}

TEST(HistogramDelta, TopBucketKeepsTheLaterMax) {
    auto earlier = make_hist(), later = make_hist();
    later->record(LatencyHistogram::kMaxTrackable + 99);
    const LatencyHistogram d = synwave::stats::delta(*later, *earlier);
    EXPECT_EQ(d.max(), LatencyHistogram::kMaxTrackable + 99);
}
