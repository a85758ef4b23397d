// JSON output of counter tables and histogram summaries (nlohmann::json). Off the data path only: this
// header pulls in nlohmann/json.hpp, so include it where reports are written, not where counters are bumped.
#pragma once
#include "stats/counters.hpp"
#include "stats/histogram.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace synwave::stats {

// {"rx_syn": 12, ...} in declaration order of the list (nlohmann::ordered_json keeps insertion order, so
// the JSON reads like the text output).
template <CounterTable T>
[[nodiscard]] nlohmann::ordered_json to_json(const T& c, bool skip_zero = false) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    c.for_each([&](std::string_view name, std::string_view, uint64_t v) {
        if (!skip_zero || v != 0) j[std::string(name)] = v;
    });
    return j;
}

// {"rx_syn": "SYN segments received", ...}: the help texts, for a schema or a --describe flag.
template <CounterTable T>
[[nodiscard]] nlohmann::ordered_json help_json() {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < T::kCount; ++i) j[std::string(T::kNames[i])] = std::string(T::kHelp[i]);
    return j;
}

// {"count": n, "min": .., "mean": .., "p50": .., "p90": .., "p99": .., "p99.9": .., "max": ..}, in the
// histogram's unit (ns for latencies).
[[nodiscard]] nlohmann::ordered_json to_json(const HistogramSummary& s);

// A whole histogram, exact and mergeable (values in ns):
//   {"unit": "ns", "sub_bits": 6, "max_bits": 42, "count": n, "sum": n, "min": n, "max": n,
//    "buckets": [[index, count], ...]}
// with the non-zero buckets only, index ascending (LatencyHistogram's layout, which sub_bits and max_bits name).
[[nodiscard]] nlohmann::ordered_json histogram_json(const LatencyHistogram& h);
// [[index, count], ...] of the non-zero buckets, index ascending.
[[nodiscard]] nlohmann::ordered_json buckets_json(const LatencyHistogram& h);
// Reads what histogram_json wrote into `out` (reset first). False with `err` naming what is wrong (not an
// object, a field missing or not an unsigned integer, another unit or bucket layout, an index out of range or
// out of order, bucket counts that do not add up to count).
[[nodiscard]] bool histogram_from_json(const nlohmann::json& j, LatencyHistogram& out, std::string& err);

} // namespace synwave::stats
