// The run second by second: each interval between two snapshots of the lanes' published figures becomes one
// sample (per-second counts, gauges at its end, that interval's latency histograms), printed as a text line,
// kept for the JSON `series` and written as CSV rows. The intervals tile the run: the last one ends at the
// final snapshot, so the per-second counts add up exactly to the run's totals.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/worker.hpp"

namespace synwave::app {

// The figures of one side (all client lanes, or all server lanes) added up.
struct Side {
    engine::WorkerStats s{};
    unsigned lanes = 0;
    bool all_done = true;
    uint64_t oldest = UINT64_MAX, newest = 0;  // TSC of the oldest and newest lane snapshots added
    void add(const engine::WorkerStats& w) {
        s.engine += w.engine;
        s.app += w.app;
        s.tcp += w.tcp;
        s.flood += w.flood;
        for (size_t i = 0; i < s.drops.size(); ++i) s.drops[i] += w.drops[i];
        s.active += w.active;
        s.timewait += w.timewait;
        s.half_open += w.half_open;
        for (size_t i = 0; i < s.states.size(); ++i) s.states[i] += w.states[i];
        s.lat += w.lat;
        all_done = all_done && w.app_done;
        oldest = std::min(oldest, w.at.cycles);
        newest = std::max(newest, w.at.cycles);
        ++lanes;
    }
};

// One interval: the snapshots at its start (p*) and end, the TSC at both, the ports' drops within it.
struct Tick {
    uint32_t t = 0;                 // 1 for the first second
    uint64_t from = 0, to = 0;      // TSC
    const Side *pcli, *cli, *psrv, *srv;
    uint64_t nic_drops = 0;
};

struct SeriesSetup {
    bool client = false, server = false;  // the sides the run has
    bool http = false;                    // responses by status class
    bool flooding = false;                // the client's flood counters
    bool v6 = false;                      // a column of connections opened over IPv6 (text line)
    bool keep = false;                    // keep the samples (for --json / --csv)
    uint64_t hz = 1;                      // TSC ticks per second
    uint64_t t0 = 0;                      // TSC at the start of the run
    double start_unix = 0;                // the wall clock at t0 (seconds since the epoch)
};

class Series {
public:
    explicit Series(const SeriesSetup& s) : s_(s) {}

    // The per-second line's two header rows: groups (per second, now, totals) over the column names.
    void print_header(const std::string& title) const;
    void print_line(const Tick& k) const;
    // Builds the interval's sample and keeps it (when setup.keep).
    void add(const Tick& k);

    [[nodiscard]] const nlohmann::ordered_json& samples() const { return samples_; }
    // A header row, then one row per sample and side: t, unix_s, side, the side's fields flattened (no latency
    // buckets), the sample's own fields.
    [[nodiscard]] std::string csv() const;

private:
    [[nodiscard]] nlohmann::ordered_json side_sample(const Side& prev, const Side& cur, bool client) const;

    SeriesSetup s_;
    nlohmann::ordered_json samples_ = nlohmann::ordered_json::array();
};

// {"unix_s": 1765000000.123, "utc": "2026-12-06T10:30:00.123Z"}
[[nodiscard]] nlohmann::ordered_json start_json(double unix_s);
// The wall clock now, in seconds since the epoch.
[[nodiscard]] double unix_now();

}  // namespace synwave::app
