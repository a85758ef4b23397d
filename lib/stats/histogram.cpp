// Histogram merge, percentiles and text. Off the data path: runs once per report interval.
#include "stats/histogram.hpp"

#include <cmath>
#include <cstdio>

namespace synwave::stats {

LatencyHistogram& LatencyHistogram::operator+=(const LatencyHistogram& o) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
    return *this;
}

LatencyHistogram& LatencyHistogram::operator-=(const LatencyHistogram& earlier) {
    const uint64_t later_min = min_, later_max = max_;
    std::size_t first = kBuckets, last = 0;
    count_ = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        counts_[i] = counts_[i] > earlier.counts_[i] ? counts_[i] - earlier.counts_[i] : 0;
        if (counts_[i] == 0) continue;
        count_ += counts_[i];
        first = std::min(first, i);
        last = i;
    }
    sum_ = sum_ > earlier.sum_ ? sum_ - earlier.sum_ : 0;
    if (count_ == 0) {
        min_ = std::numeric_limits<uint64_t>::max();
        max_ = 0;
        return *this;
    }
    min_ = std::max(bucket_lower(first), later_min);
    // The top bucket also holds everything above kMaxTrackable: only the later max bounds it.
    max_ = last == kBuckets - 1 ? later_max : std::min(bucket_upper(last), later_max);
    return *this;
}

LatencyHistogram delta(const LatencyHistogram& later, const LatencyHistogram& earlier) {
    LatencyHistogram d = later;
    d -= earlier;
    return d;
}

uint64_t nearest_rank(double q, uint64_t n) {
    if (n == 0) return 0;
    const double exact = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(n);
    auto rank = static_cast<uint64_t>(exact);
    // ceil(), except that a value a hair above an integer (decimal fractions in binary) stays that integer.
    if (static_cast<double>(rank) < exact - 1e-9 * std::max(1.0, exact)) ++rank;
    return std::clamp<uint64_t>(rank, 1, n);
}

uint64_t LatencyHistogram::percentile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank = nearest_rank(q, count_);
    if (rank == count_) return max_;  // the largest sample is known exactly, even above kMaxTrackable
    uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(bucket_upper(i), max_);
    }
    return max_;  // not reached: the counts sum to count_
}

HistogramSummary LatencyHistogram::summary() const {
    HistogramSummary s;
    s.count = count_;
    if (count_ == 0) return s;
    s.min = min_;
    s.max = max_;
    s.mean = mean();
    // Four walks over 2368 buckets, once per report: not worth a merged walk.
    s.p50 = percentile(50);
    s.p90 = percentile(90);
    s.p99 = percentile(99);
    s.p999 = percentile(99.9);
    return s;
}

std::string format_ns(uint64_t ns) {
    char buf[32];
    if (ns < 1'000) {
        std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
    } else if (ns < 1'000'000) {
        std::snprintf(buf, sizeof buf, "%.1fus", static_cast<double>(ns) / 1e3);
    } else if (ns < 1'000'000'000) {
        std::snprintf(buf, sizeof buf, "%.2fms", static_cast<double>(ns) / 1e6);
    } else {
        std::snprintf(buf, sizeof buf, "%.2fs", static_cast<double>(ns) / 1e9);
    }
    return buf;
}

std::string format_text(const HistogramSummary& s) {
    std::string out = "count " + std::to_string(s.count);
    if (s.count == 0) return out;
    out += "  min " + format_ns(s.min);
    out += "  mean " + format_ns(static_cast<uint64_t>(std::llround(s.mean)));
    out += "  p50 " + format_ns(s.p50);
    out += "  p90 " + format_ns(s.p90);
    out += "  p99 " + format_ns(s.p99);
    out += "  p99.9 " + format_ns(s.p999);
    out += "  max " + format_ns(s.max);
    return out;
}

} // namespace synwave::stats
