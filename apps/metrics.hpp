// The --metrics endpoint: the figures the workers publish, in the Prometheus text exposition format 0.0.4, over
// plain HTTP/1.1 (`GET /metrics`), from a control thread that is not a worker lcore.
//
// The thread reads only Worker::read() (the seqlock snapshot each worker refreshes itself), so a scrape never
// locks, waits for or slows a worker. It polls its listening socket and an eventfd that stops it.
//
// Names. Every counter of the per-lcore tables (engine::AppCounters, tcp::TcpEventCounters,
// engine::EngineCounters, engine::FloodCounters) is the family `synwave_<table>_<name>_total`, <table> one of
// app, tcp, engine, flood (a name that already starts with it keeps it once: flood_tx -> synwave_flood_tx_total),
// with its help text from the table: one rule from the JSON key (client.app.conn_completed) to the metric
// (synwave_app_conn_completed_total), nothing hand-mapped to drift, and no two tables can collide. Every sample
// has side="client"|"server" and lcore="<EAL lcore id>": sum() over lcore gives the side's total, as the JSON's.
// The latency histograms (client lanes) are synwave_{connect,first_byte,response}_latency_seconds.
#pragma once
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/worker.hpp"

namespace synwave::app {

struct Lane;
struct Options;

// One lane's figures as a scrape read them.
struct MetricsLane {
    bool client = false;
    unsigned lcore = 0;
    engine::WorkerStats s{};
};

// What synwave_info and synwave_start_time_seconds say.
struct MetricsInfo {
    std::string version, commit, mode;
    double start_unix_s = 0;  // wall clock when the endpoint started (the lanes were built, not yet running)
};

// A histogram bucket bound: `le` in nanoseconds and as written in the label (seconds).
struct LeBound {
    uint64_t ns;
    std::string_view text;
};
// 50 us .. 10 s in 1-2-5 steps. A latency bucket (stats::LatencyHistogram) counts under `le` when its highest
// value is <= le; one straddling le counts under the next bound. So the count under le is exactly the count of
// samples below some le' with le * (1 - 1/64) < le' <= le: the histogram's own resolution.
inline constexpr std::array<LeBound, 17> kLeBounds{{
    {50'000, "0.00005"}, {100'000, "0.0001"}, {200'000, "0.0002"}, {500'000, "0.0005"},
    {1'000'000, "0.001"}, {2'000'000, "0.002"}, {5'000'000, "0.005"}, {10'000'000, "0.01"},
    {20'000'000, "0.02"}, {50'000'000, "0.05"}, {100'000'000, "0.1"}, {200'000'000, "0.2"},
    {500'000'000, "0.5"}, {1'000'000'000, "1"}, {2'000'000'000, "2"}, {5'000'000'000, "5"},
    {10'000'000'000, "10"},
}};

// The exposition text (format 0.0.4) of these lanes: each family's # HELP and # TYPE once, then its samples
// lane by lane in the given order. Pure: no clock, no I/O.
[[nodiscard]] std::string exposition(const std::vector<MetricsLane>& lanes, const MetricsInfo& info);

// The cumulative counts of h under each of kLeBounds (see there), in order.
[[nodiscard]] std::array<uint64_t, kLeBounds.size()> cumulative_counts(const stats::LatencyHistogram& h);

// Escapes as the format requires: help text `\` and newline; label values `\`, `"` and newline.
[[nodiscard]] std::string escape_help(std::string_view s);
[[nodiscard]] std::string escape_label(std::string_view s);

// ADDR:PORT with ADDR an IPv4 literal or an IPv6 literal in brackets (127.0.0.1:9100, [::1]:9100) and PORT in
// [1, 65535]. Returns the reason it is not (empty when it is), and the socket address.
[[nodiscard]] std::string parse_metrics_address(const std::string& text, sockaddr_storage& addr, socklen_t& len);

// finalize(): `metrics` parses and its port can be listened on now (a bind and listen, closed at once: a port
// in use is reported before EAL starts). err: "metrics: ...".
[[nodiscard]] bool check_metrics(const std::string& text, std::string& err);

// The endpoint of one run. start() after the lanes are built; the destructor (at the end of the run) stops it,
// unless the process holds after the run (--hold): then it serves the lanes' final figures, read once there,
// until the process exits.
class MetricsEndpoint {
public:
    MetricsEndpoint();
    MetricsEndpoint(const MetricsEndpoint&) = delete;
    MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
    ~MetricsEndpoint();

    // Nothing when o.metrics is empty. Returns an error naming --metrics, or empty.
    [[nodiscard]] std::string start(const Options& o, const std::vector<Lane>& lanes);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace synwave::app
