// JSON of histogram summaries; the counter-table JSON is a template in json.hpp.
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

} // namespace synwave::stats
