// JSON of histograms (summaries, and whole ones that read back exactly); the counter-table JSON is a
// template in json.hpp.
#include "stats/json.hpp"

namespace synwave::stats {

nlohmann::ordered_json to_json(const HistogramSummary& s) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["count"] = s.count;
    j["min"] = s.min;
    j["mean"] = s.mean;
    j["p50"] = s.p50;
    j["p90"] = s.p90;
    j["p99"] = s.p99;
    j["p99.9"] = s.p999;
    j["max"] = s.max;
    return j;
}

nlohmann::ordered_json buckets_json(const LatencyHistogram& h) {
    nlohmann::ordered_json b = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
        if (const uint64_t n = h.bucket_count(i)) b.push_back({i, n});
    return b;
}

nlohmann::ordered_json histogram_json(const LatencyHistogram& h) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["unit"] = "ns";
    j["sub_bits"] = LatencyHistogram::kSubBits;
    j["max_bits"] = LatencyHistogram::kMaxBits;
    j["count"] = h.count();
    j["sum"] = h.sum();
    j["min"] = h.min();
    j["max"] = h.max();
    j["buckets"] = buckets_json(h);
    return j;
}

namespace {

bool get_u64(const nlohmann::json& j, const char* key, uint64_t& v, std::string& err) {
    const auto it = j.find(key);
    if (it == j.end()) {
        err = std::string("histogram: no '") + key + "'";
        return false;
    }
    if (!it->is_number_unsigned()) {
        err = std::string("histogram: '") + key + "' is not an unsigned integer";
        return false;
    }
    v = it->get<uint64_t>();
    return true;
}

}  // namespace

bool histogram_from_json(const nlohmann::json& j, LatencyHistogram& out, std::string& err) {
    out.reset();
    if (!j.is_object()) {
        err = "histogram: not an object";
        return false;
    }
    if (const auto u = j.find("unit"); u == j.end() || !u->is_string() || u->get<std::string>() != "ns") {
        err = "histogram: 'unit' is not \"ns\"";
        return false;
    }
    uint64_t sub_bits = 0, max_bits = 0, count = 0, sum = 0, min = 0, max = 0;
    if (!get_u64(j, "sub_bits", sub_bits, err) || !get_u64(j, "max_bits", max_bits, err) ||
        !get_u64(j, "count", count, err) || !get_u64(j, "sum", sum, err) || !get_u64(j, "min", min, err) ||
        !get_u64(j, "max", max, err))
        return false;
    if (sub_bits != LatencyHistogram::kSubBits || max_bits != LatencyHistogram::kMaxBits) {
        err = "histogram: layout differs (sub_bits " + std::to_string(sub_bits) + ", max_bits " +
              std::to_string(max_bits) + "; this build has " + std::to_string(LatencyHistogram::kSubBits) + ", " +
              std::to_string(LatencyHistogram::kMaxBits) + ")";
        return false;
    }
    const auto b = j.find("buckets");
    if (b == j.end() || !b->is_array()) {
        err = "histogram: 'buckets' is not an array";
        return false;
    }
    uint64_t seen = 0;
    std::size_t next = 0;  // the lowest index the next pair may have
    for (const nlohmann::json& e : *b) {
        if (!e.is_array() || e.size() != 2 || !e[0].is_number_unsigned() || !e[1].is_number_unsigned()) {
            err = "histogram: a bucket is not [index, count] of unsigned integers";
            out.reset();
            return false;
        }
        const uint64_t i = e[0].get<uint64_t>(), n = e[1].get<uint64_t>();
        if (i >= LatencyHistogram::kBuckets) {
            err = "histogram: bucket index " + std::to_string(i) + " out of range (" +
                  std::to_string(LatencyHistogram::kBuckets) + " buckets)";
            out.reset();
            return false;
        }
        if (i < next) {
            err = "histogram: bucket index " + std::to_string(i) + " not ascending";
            out.reset();
            return false;
        }
        if (n > count - seen) {  // also catches a sum past 2^64
            err = "histogram: bucket counts add up to more than count " + std::to_string(count);
            out.reset();
            return false;
        }
        next = static_cast<std::size_t>(i) + 1;
        seen += n;
        out.add_bucket(static_cast<std::size_t>(i), n);
    }
    if (seen != count) {
        err = "histogram: bucket counts add up to " + std::to_string(seen) + ", not count " + std::to_string(count);
        out.reset();
        return false;
    }
    if (count != 0 && min > max) {
        err = "histogram: min above max";
        out.reset();
        return false;
    }
    out.set_sum_min_max(sum, min, max);
    return true;
}

}  // namespace synwave::stats
