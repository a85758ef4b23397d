// synwave merge a.json b.json ... -o all.json: the JSON of N instances of one run (--instance I/N, on as many
// machines) as the JSON of one run.
//   counters      every numeric leaf summed (connections, http, each side's app / tcp / engine / entered_state /
//                 rx_drops, flood, nic, ...), gauges too (what was open at the end is open on every instance);
//                 per_lane lists put one after the other, each lane tagged with its instance
//   histograms    merged exactly, bucket by bucket; latency_ns recomputed from them
//   series        the seconds aligned by floor(unix_s): counts and gauges summed, running totals carried over
//                 seconds an instance has no entry for, each second's latency buckets merged and its percentiles
//                 recomputed
//   duration_s    the longest; connections_per_s, packets_per_s and flood.frames_per_s recomputed over it
//   instances     each input's instance, version, start and config digest (of the options but --instance and the
//                 output files; config kept when all digests agree)
// Refused (exit 2, naming the file): not a synwave run's JSON, histograms of another layout, an instance index
// given twice, instances of different N or modes.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "stats/json.hpp"
#include "tools.hpp"
#include "version.hpp"

namespace synwave::app {

namespace {

using ojson = nlohmann::ordered_json;
using stats::LatencyHistogram;

struct Input {
    std::string path;
    ojson j;
    uint64_t index = 0, count = 1;
};

// Keys a plain sum would get wrong: handled on their own, before or after it.
const std::set<std::string> kTopOwn = {"synwave", "start", "instance", "config", "duration_s", "histograms",
                                       "latency_ns", "series", "connections_per_s", "packets_per_s"};
const std::set<std::string> kSecondOwn = {"t", "unix_s", "interval_s", "gbps_rx", "gbps_tx"};
// Options naming where an instance writes (or serves) its own results: they differ from instance to instance
// without making the runs differ.
const std::set<std::string> kConfigOwn = {"instance", "json", "csv", "pcap", "metrics"};
// client / server memory: sizes of one lane (the same configuration everywhere), not summed.
const std::set<std::string> kMemorySummed = {"lanes", "measured_bytes", "mbuf_pool_bytes"};

ojson sum_numbers(const ojson& a, const ojson& b) {
    if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<uint64_t>() + b.get<uint64_t>();
    if (a.is_number_integer() && b.is_number_integer()) return a.get<int64_t>() + b.get<int64_t>();
    return a.get<double>() + b.get<double>();
}

// Adds `x` into `acc` (both objects): numbers summed, objects recursively, arrays appended, anything else the
// first one's. Keys in `skip` are left out (at this level; `skip_below` one level down).
void add(ojson& acc, const ojson& x, const std::set<std::string>& skip, const std::set<std::string>& skip_below = {}) {
    for (const auto& [k, v] : x.items()) {
        if (skip.contains(k)) continue;
        if (!acc.contains(k)) {
            if (v.is_object()) {
                acc[k] = ojson::object();
                add(acc[k], v, skip_below);
            } else {
                acc[k] = v;
            }
            continue;
        }
        ojson& a = acc[k];
        if (a.is_object() && v.is_object()) add(a, v, skip_below);
        else if (a.is_number() && v.is_number()) a = sum_numbers(a, v);
        else if (a.is_array() && v.is_array()) a.insert(a.end(), v.begin(), v.end());
    }
}

uint64_t u64(const ojson& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
double num(const ojson& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

// FNV-1a (64 bits) of the configuration without its instance and output files, keys sorted (nlohmann::json's
// std::map): equal digests, the same effective options.
std::string config_digest(const ojson& config) {
    nlohmann::json c = nlohmann::json::parse(config.dump());
    if (c.is_object())
        for (const std::string& k : kConfigOwn) c.erase(k);
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char ch : c.dump()) h = (h ^ ch) * 0x100000001b3ull;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// Reads and checks one input; false with `err` (the caller names the file).
bool load(Input& in, std::string& err) {
    std::ifstream f(in.path);
    if (!f) {
        err = "cannot read it";
        return false;
    }
    in.j = ojson::parse(f, nullptr, false);
    if (in.j.is_discarded()) {
        err = "not JSON";
        return false;
    }
    const ojson& j = in.j;
    const auto sw = j.is_object() ? j.find("synwave") : j.end();
    if (!j.is_object() || sw == j.end() || !sw->is_object() || !sw->contains("version") ||
        !j.contains("mode") || !j["mode"].is_string()) {
        err = "not the JSON of a synwave run (no \"synwave\" version or \"mode\"; written by synwave 0.14 or later "
              "with --json)";
        return false;
    }
    const auto inst = j.find("instance");
    if (inst == j.end() || !inst->is_object() || !(*inst)["index"].is_number_unsigned() ||
        !(*inst)["count"].is_number_unsigned() || (*inst)["index"].get<uint64_t>() >= (*inst)["count"].get<uint64_t>()) {
        err = "no \"instance\": {\"index\": I, \"count\": N} with I < N";
        return false;
    }
    in.index = (*inst)["index"].get<uint64_t>();
    in.count = (*inst)["count"].get<uint64_t>();
    if (j.contains("duration_s") && !j["duration_s"].is_number()) {
        err = "duration_s is not a number";
        return false;
    }
    if (j.contains("series")) {
        if (!j["series"].is_array()) {
            err = "series is not a list";
            return false;
        }
        for (const ojson& s : j["series"])
            if (!s.is_object() || !s.contains("unix_s") || !s["unix_s"].is_number() || !s.contains("t") ||
                !s["t"].is_number()) {
                err = "a second of its series has no numeric t and unix_s";
                return false;
            }
    }
    if (j.contains("latency_ns") && !j.contains("histograms")) {
        err = "latency_ns without histograms: its percentiles cannot be merged exactly";
        return false;
    }
    return true;
}

// A second's latency L ({"count", "p50", "p90", "p99", "max", "buckets"}) added into `h`; false when a bucket
// index is out of range or the counts do not add up.
bool add_second_latency(const ojson& l, LatencyHistogram& h, uint64_t& max) {
    if (!l.is_object() || !l.contains("buckets") || !l["buckets"].is_array()) return false;
    uint64_t n = 0;
    for (const ojson& b : l["buckets"]) {
        if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() || !b[1].is_number_unsigned()) return false;
        const auto i = b[0].get<uint64_t>();
        if (i >= LatencyHistogram::kBuckets) return false;
        h.add_bucket(i, b[1].get<uint64_t>());
        n += b[1].get<uint64_t>();
    }
    max = std::max(max, u64(l, "max"));
    return n == u64(l, "count");
}

ojson second_latency_json(LatencyHistogram& h, uint64_t max) {
    size_t first = 0;
    while (first < LatencyHistogram::kBuckets && h.bucket_count(first) == 0) ++first;
    // Only the percentiles are read: the sum is not known per second, the least sample is bounded by its bucket.
    h.set_sum_min_max(0, first < LatencyHistogram::kBuckets ? LatencyHistogram::bucket_lower(first) : 0, max);
    return {{"count", h.count()}, {"p50", h.percentile(50)}, {"p90", h.percentile(90)}, {"p99", h.percentile(99)},
            {"max", h.count() ? max : 0}, {"buckets", stats::buckets_json(h)}};
}

// The running totals of one second (its sides' *_total keys), for the seconds after an instance's last.
ojson totals_only(const ojson& s) {
    ojson out = ojson::object();
    for (const char* side : {"client", "server"}) {
        if (!s.contains(side) || !s[side].is_object()) continue;
        for (const auto& [k, v] : s[side].items())
            if (k.ends_with("_total")) out[side][k] = v;
    }
    return out;
}

// The series of all inputs as one, or false with `err` naming the file whose series is bad.
bool merge_series(const std::vector<Input>& ins, ojson& out, std::string& err) {
    // Each input's seconds keyed by floor(unix_s); a second that floors onto its predecessor's key (the end of a
    // second wobbles around a whole number) takes the next one, so an input never lands twice on one key.
    std::vector<std::map<int64_t, const ojson*>> keyed(ins.size());
    std::set<int64_t> keys;
    for (size_t i = 0; i < ins.size(); ++i) {
        if (!ins[i].j.contains("series")) continue;
        int64_t prev = INT64_MIN;
        for (const ojson& s : ins[i].j["series"]) {
            int64_t k = static_cast<int64_t>(std::floor(s["unix_s"].get<double>()));
            if (prev != INT64_MIN && k <= prev) k = prev + 1;
            keyed[i][k] = &s;
            keys.insert(k);
            prev = k;
        }
    }
    out = ojson::array();
    if (keys.empty()) return true;
    const int64_t k0 = *keys.begin();
    for (int64_t k : keys) {
        ojson s = {{"t", k - k0 + 1}, {"unix_s", 0.0}};
        double unix_s = 0, interval_s = 0;
        std::map<std::string, std::map<std::string, std::pair<LatencyHistogram, uint64_t>>> lat;  // side, kind
        for (size_t i = 0; i < ins.size(); ++i) {
            const auto it = keyed[i].find(k);
            if (it == keyed[i].end()) continue;
            const ojson& e = *it->second;
            unix_s = std::max(unix_s, e["unix_s"].get<double>());
            interval_s = std::max(interval_s, num(e, "interval_s"));
            add(s, e, kSecondOwn, {"latency"});  // each side's latency: merged below
            for (const char* side : {"client", "server"}) {
                if (!e.contains(side) || !e[side].contains("latency")) continue;
                for (const auto& [kind, l] : e[side]["latency"].items()) {
                    auto& [h, max] = lat[side][kind];
                    if (!add_second_latency(l, h, max)) {
                        err = ins[i].path + ": series second t=" + e["t"].dump() + ": " + side + ".latency." + kind +
                              ": buckets out of range or not adding up to count";
                        return false;
                    }
                }
            }
        }
        // An instance that has finished (or not started yet) adds its last totals (or none).
        for (size_t i = 0; i < ins.size(); ++i) {
            if (keyed[i].contains(k)) continue;
            const auto before = keyed[i].lower_bound(k);
            if (before != keyed[i].begin()) add(s, totals_only(*std::prev(before)->second), {});
        }
        s["unix_s"] = unix_s;
        if (interval_s > 0) s["interval_s"] = interval_s;  // the longest of the instances' intervals
        if (s.contains("rx_bytes")) s["gbps_rx"] = num(s, "rx_bytes") * 8 / 1e9;
        if (s.contains("tx_bytes")) s["gbps_tx"] = num(s, "tx_bytes") * 8 / 1e9;
        for (auto& [side, kinds] : lat)
            for (auto& [kind, hm] : kinds) s[side]["latency"][kind] = second_latency_json(hm.first, hm.second);
        // In the order of an input's second (the recomputed keys were left out of the sum).
        ojson ordered = ojson::object();
        for (size_t i = 0; i < ins.size() && ordered.empty(); ++i)
            if (const auto it = keyed[i].find(k); it != keyed[i].end())
                for (const auto& [key, v] : it->second->items())
                    if (s.contains(key)) ordered[key] = std::move(s[key]);
        for (auto& [key, v] : s.items())
            if (!ordered.contains(key)) ordered[key] = std::move(v);
        out.push_back(std::move(ordered));
    }
    return true;
}

// Every input's histograms merged kind by kind, or false with `err` naming the file.
bool merge_histograms(const std::vector<Input>& ins, std::map<std::string, LatencyHistogram>& out, std::string& err) {
    for (const Input& in : ins) {
        if (!in.j.contains("histograms")) continue;
        if (!in.j["histograms"].is_object()) {
            err = in.path + ": histograms is not an object";
            return false;
        }
        for (const auto& [kind, hj] : in.j["histograms"].items()) {
            LatencyHistogram h;
            std::string why;
            if (!stats::histogram_from_json(nlohmann::json::parse(hj.dump()), h, why)) {
                err = in.path + ": histograms." + kind + ": " + why + " (written by synwave " +
                      in.j["synwave"].value("version", "?") + ", this is " SYNWAVE_VERSION ")";
                return false;
            }
            out[kind] += h;
        }
    }
    return true;
}

// The merged run: the first input's keys in its order, then any key only later inputs have.
bool merge_runs(const std::vector<Input>& ins, ojson& m, std::string& err) {
    std::map<std::string, LatencyHistogram> hist;
    ojson series;
    if (!merge_histograms(ins, hist, err) || !merge_series(ins, series, err)) return false;
    ojson sum = ojson::object();
    for (const Input& in : ins) {
        ojson x = in.j;
        for (const char* side : {"client", "server"})
            if (x.contains(side) && x[side].contains("per_lane"))
                for (ojson& l : x[side]["per_lane"]) l["instance"] = in.index;
        add(sum, x, kTopOwn);
    }
    for (const char* side : {"client", "server"}) {
        if (!sum.contains(side) || !sum[side].contains("memory")) continue;
        for (const auto& [k, v] : ins.front().j[side]["memory"].items())
            if (!kMemorySummed.contains(k)) sum[side]["memory"][k] = v;
    }
    double duration = 0, start = 0;
    std::string start_utc;
    std::set<std::string> digests;
    size_t configs = 0;
    ojson instances = ojson::array();
    for (const Input& in : ins) {
        duration = std::max(duration, num(in.j, "duration_s"));
        const double s = in.j.contains("start") ? num(in.j["start"], "unix_s") : 0;
        if (s > 0 && (start == 0 || s < start)) {
            start = s;
            start_utc = in.j["start"].value("utc", "");
        }
        ojson e = {{"index", in.index}, {"count", in.count}, {"file", in.path}, {"synwave", in.j["synwave"]}};
        if (in.j.contains("start")) e["start"] = in.j["start"];
        e["duration_s"] = num(in.j, "duration_s");
        if (in.j.contains("config")) {
            e["config_digest"] = config_digest(in.j["config"]);
            digests.insert(e["config_digest"].get<std::string>());
            ++configs;
        }
        instances.push_back(std::move(e));
    }
    std::sort(instances.begin(), instances.end(),
              [](const ojson& a, const ojson& b) { return a["index"].get<uint64_t>() < b["index"].get<uint64_t>(); });
    const bool same_config = digests.size() == 1 && configs == ins.size();
    const ojson& first = ins.front().j;
    auto put = [&](const std::string& k) {
        if (m.contains(k)) return;
        if (k == "synwave") m[k] = {{"version", SYNWAVE_VERSION}, {"commit", SYNWAVE_COMMIT}};
        else if (k == "start") m[k] = {{"unix_s", start}, {"utc", start_utc}};
        else if (k == "instance") m["instances"] = instances;
        else if (k == "config") {
            if (!same_config) return;
            ojson c = first["config"];
            if (c.is_object())
                for (const std::string& own : kConfigOwn) c.erase(own);
            m[k] = std::move(c);
        } else if (k == "duration_s") m[k] = duration;
        else if (k == "histograms") {
            m[k] = ojson::object();
            for (const auto& [kind, h] : hist) m[k][kind] = stats::histogram_json(h);
        } else if (k == "latency_ns") {
            m[k] = ojson::object();
            for (const auto& [kind, h] : hist) m[k][kind] = stats::to_json(h.summary());
        } else if (k == "series") m[k] = series;
        else if (k == "connections_per_s") {
            const char* side = sum.contains("client") ? "client" : "server";
            const double done = sum.contains(side) ? num(sum[side]["app"], "conn_completed") : 0;
            m[k] = duration > 0 ? done / duration : 0.0;
        } else if (k == "packets_per_s") {
            double rx = 0;
            for (const char* side : {"client", "server"})
                if (sum.contains(side) && sum[side].contains("engine")) rx += num(sum[side]["engine"], "rx_packets");
            m[k] = duration > 0 ? rx / duration : 0.0;
        } else if (sum.contains(k)) {
            m[k] = sum[k];
            if (k == "flood" && duration > 0) m[k]["frames_per_s"] = num(m[k], "flood_tx") / duration;
        }
    };
    for (const Input& in : ins)
        for (const auto& [k, v] : in.j.items()) put(k);
    if (!m.contains("instances")) m["instances"] = instances;
    return true;
}

void print_summary(const ojson& m, const std::vector<Input>& ins) {
    std::printf("synwave merge: %zu instance(s) of %llu, %s, %.1f s\n", ins.size(),
                static_cast<unsigned long long>(ins.front().count), m["mode"].get<std::string>().c_str(),
                num(m, "duration_s"));
    if (m.contains("connections")) {
        const ojson& c = m["connections"];
        std::printf("  client: attempted %llu, completed %llu, failed %llu\n",
                    static_cast<unsigned long long>(u64(c, "attempted")),
                    static_cast<unsigned long long>(u64(c, "completed")),
                    static_cast<unsigned long long>(u64(c, "failed")));
    }
    if (m.contains("server") && m["server"].contains("app")) {
        const ojson& a = m["server"]["app"];
        std::printf("  server: accepted %llu, completed %llu, failed %llu\n",
                    static_cast<unsigned long long>(u64(a, "conn_accepted")),
                    static_cast<unsigned long long>(u64(a, "conn_completed")),
                    static_cast<unsigned long long>(u64(a, "conn_failed")));
    }
    std::printf("  rate %.0f connections/s, %.2f Mpps received\n", num(m, "connections_per_s"),
                num(m, "packets_per_s") / 1e6);
    if (m.contains("histograms")) {
        for (const auto& [kind, label] : {std::pair<const char*, const char*>{"connect", "connect latency   "},
                                          {"first_byte", "first byte latency"}, {"response", "response latency  "}}) {
            if (!m["histograms"].contains(kind)) continue;
            LatencyHistogram h;
            std::string err;
            if (stats::histogram_from_json(nlohmann::json::parse(m["histograms"][kind].dump()), h, err) && h.count())
                std::printf("  %s %s\n", label, stats::format_text(h.summary()).c_str());
        }
    }
    if (m.contains("series")) std::printf("  series: %zu second(s)\n", m["series"].size());
}

}  // namespace

int run_merge(int argc, char** argv) {
    CLI::App app{"synwave merge: the JSON of the instances of one run (--instance I/N) as the JSON of one run"};
    app.name("synwave merge");
    std::vector<std::string> files;
    std::string out;
    app.add_option("files", files, "the instances' JSON files (--json), one per instance")->required();
    app.add_option("-o,--output", out, "the merged JSON file to write")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    std::vector<Input> ins(files.size());
    std::map<uint64_t, std::string> seen;
    for (size_t i = 0; i < files.size(); ++i) {
        Input& in = ins[i];
        in.path = files[i];
        std::string err;
        if (!load(in, err)) {
            std::cerr << "synwave merge: " << in.path << ": " << err << "\n";
            return 2;
        }
        const Input& a = ins.front();
        if (in.j["mode"] != a.j["mode"]) err = "mode " + in.j["mode"].dump() + ", but " + a.path + " has " + a.j["mode"].dump();
        else if (in.count != a.count)
            err = "instance " + std::to_string(in.index) + "/" + std::to_string(in.count) + ", but " + a.path +
                  " is one of " + std::to_string(a.count) + " (the slices of different N overlap)";
        else if (seen.contains(in.index))
            err = "instance " + std::to_string(in.index) + " again (already " + seen[in.index] +
                  "): each instance once (--instance I/N, I from 0 to N-1)";
        if (!err.empty()) {
            std::cerr << "synwave merge: " << in.path << ": " << err << "\n";
            return 2;
        }
        seen[in.index] = in.path;
    }
    ojson m;
    std::string err;
    if (!merge_runs(ins, m, err)) {
        std::cerr << "synwave merge: " << err << "\n";
        return 2;
    }
    if (ins.size() < ins.front().count)
        std::cerr << "synwave merge: " << ins.size() << " of " << ins.front().count
                  << " instances given: the merge is of those only\n";
    bool configs = false;
    for (const Input& in : ins) configs |= in.j.contains("config");
    if (configs && !m.contains("config"))
        std::cerr << "synwave merge: the instances' configurations differ (see instances[].config_digest): no config "
                     "in the merge\n";
    std::ofstream f(out);
    f << m.dump(2) << "\n";
    if (!f) {
        std::cerr << "synwave merge: -o " << out << ": cannot write it\n";
        return 2;
    }
    print_summary(m, ins);
    return 0;
}

}  // namespace synwave::app
