// The --metrics exposition text (Prometheus text format 0.0.4) for hand-built lane figures: exact sample lines,
// each family's HELP and TYPE once and before its samples, labels, histogram buckets cumulative with +Inf equal
// to _count; the le bounds' error against exact counts; ADDR:PORT parsing.
#include "metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using synwave::app::MetricsInfo;
using synwave::app::MetricsLane;
using synwave::stats::LatencyHistogram;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

std::size_t occurrences(const std::vector<std::string>& lines, const std::string& line) {
    return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), line));
}

// A client lane on lcore 1 and a server lane on lcore 2, every figure the text shows set by hand.
std::vector<MetricsLane> two_lanes() {
    std::vector<MetricsLane> lanes(2);
    MetricsLane& c = lanes[0];
    c.client = true;
    c.lcore = 1;
    c.s.app.conn_completed = 7;
    c.s.app.conn_attempted = 9;
    c.s.tcp.rx_segments = 3;
    c.s.tcp.entered[static_cast<std::size_t>(synwave::tcp::State::Established)] = 6;
    c.s.flood.flood_tx = 11;
    c.s.engine.rx_packets = 123456789012ULL;
    c.s.states[static_cast<std::size_t>(synwave::tcp::State::SynSent)] = 3;
    c.s.active = 4;
    c.s.timewait = 2;
    c.s.half_open = 1;
    // 30 us, 49.663 us (the highest value of the bucket below 50 us), 50 us (its bucket reaches 50.175 us),
    // 120 us, 3 s, 20 s (above the last bound).
    for (uint64_t ns : {30'000ULL, 49'663ULL, 50'000ULL, 120'000ULL, 3'000'000'000ULL, 20'000'000'000ULL})
        c.s.lat.connect.record(ns);
    MetricsLane& s = lanes[1];
    s.lcore = 2;
    s.s.app.conn_completed = 5;
    s.s.app.sink_first_mismatch = 17;
    s.s.drops[1] = 2;
    s.s.timewait = 8;
    return lanes;
}

MetricsInfo info() { return MetricsInfo{"0.14.0", "035d6a0abcde", "storm", 1765000000.125}; }

}  // namespace

TEST(MetricsText, ExactSampleLines) {
    const auto lanes = two_lanes();
    const auto l = lines_of(synwave::app::exposition(lanes, info()));
    for (const std::string& want : std::vector<std::string>{
             "synwave_info{version=\"0.14.0\",commit=\"035d6a0abcde\",mode=\"storm\"} 1",
             "synwave_start_time_seconds 1765000000.125",
             "# HELP synwave_app_conn_completed_total connections that finished their whole exchange and closed cleanly",
             "# TYPE synwave_app_conn_completed_total counter",
             "synwave_app_conn_completed_total{side=\"client\",lcore=\"1\"} 7",
             "synwave_app_conn_completed_total{side=\"server\",lcore=\"2\"} 5",
             "synwave_app_conn_attempted_total{side=\"client\",lcore=\"1\"} 9",
             "synwave_app_conn_attempted_total{side=\"server\",lcore=\"2\"} 0",
             "synwave_tcp_rx_segments_total{side=\"client\",lcore=\"1\"} 3",
             "synwave_engine_rx_packets_total{side=\"client\",lcore=\"1\"} 123456789012",
             // The flood table's names start with its own prefix already: not repeated.
             "synwave_flood_tx_total{side=\"client\",lcore=\"1\"} 11",
             // An offset, not a count of events: a gauge.
             "# TYPE synwave_app_sink_first_mismatch gauge",
             "synwave_app_sink_first_mismatch{side=\"server\",lcore=\"2\"} 17",
             "# TYPE synwave_connections_active gauge",
             "synwave_connections_active{side=\"client\",lcore=\"1\"} 4",
             "synwave_timewait_records{side=\"client\",lcore=\"1\"} 2",
             "synwave_timewait_records{side=\"server\",lcore=\"2\"} 8",
             "synwave_half_open_records{side=\"client\",lcore=\"1\"} 1",
             "synwave_tcp_state_entered_total{side=\"client\",lcore=\"1\",state=\"ESTABLISHED\"} 6",
             "# TYPE synwave_tcp_connection_states gauge",
             "synwave_tcp_connection_states{side=\"client\",lcore=\"1\",state=\"SYN-SENT\"} 3",
             "synwave_tcp_connection_states{side=\"server\",lcore=\"2\",state=\"SYN-SENT\"} 0",
             "synwave_tcp_state_entered_total{side=\"server\",lcore=\"2\",state=\"ESTABLISHED\"} 0",
             std::string("synwave_engine_rx_dropped_by_reason_total{side=\"server\",lcore=\"2\",reason=\"") +
                 synwave::wire::drop_name(static_cast<synwave::wire::Drop>(1)) + "\"} 2",
             "# TYPE synwave_connect_latency_seconds histogram",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"0.00005\"} 2",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"0.0001\"} 3",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"0.0002\"} 4",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"2\"} 4",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"5\"} 5",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"10\"} 5",
             "synwave_connect_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"+Inf\"} 6",
             "synwave_connect_latency_seconds_sum{side=\"client\",lcore=\"1\"} 23.000249663",
             "synwave_connect_latency_seconds_count{side=\"client\",lcore=\"1\"} 6",
             "synwave_response_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"+Inf\"} 0",
             "synwave_response_latency_seconds_sum{side=\"client\",lcore=\"1\"} 0",
         })
        EXPECT_EQ(occurrences(l, want), 1u) << want;
    // A server has no latencies: no histogram sample for its lane.
    for (const std::string& line : l) EXPECT_FALSE(line.find("latency") != std::string::npos &&
                                                   line.find("side=\"server\"") != std::string::npos) << line;
}

// The format's structure: every family's HELP then TYPE, once; each sample after its own family's TYPE (a
// histogram's as _bucket, _sum and _count); counters named _total; names unique across all the tables.
TEST(MetricsText, FamiliesOnceAndSamplesUnderThem) {
    const auto lanes = two_lanes();
    const auto l = lines_of(synwave::app::exposition(lanes, info()));
    std::set<std::string> names;
    std::map<std::string, std::size_t> samples;
    std::string current, type;
    for (std::size_t i = 0; i < l.size(); ++i) {
        const std::string& line = l[i];
        ASSERT_FALSE(line.empty()) << "line " << i;
        if (line.starts_with("# HELP ")) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(names.insert(name).second) << "family twice: " << name;
            ASSERT_LT(i + 1, l.size());
            ASSERT_TRUE(l[i + 1].starts_with("# TYPE " + name + " ")) << l[i + 1];
            current = name;
            type = l[i + 1].substr(8 + name.size());
            if (type == "counter") {
                EXPECT_TRUE(name.ends_with("_total")) << name;
            }
            ++i;
            continue;
        }
        ASSERT_FALSE(line.starts_with("#")) << line;
        ASSERT_FALSE(current.empty()) << line;
        const std::string metric = line.substr(0, line.find_first_of("{ "));
        if (type == "histogram") {
            EXPECT_TRUE(metric == current + "_bucket" || metric == current + "_sum" || metric == current + "_count")
                << line;
        } else {
            EXPECT_EQ(metric, current) << line;
        }
        ++samples[current];
    }
    for (const std::string& n : names) EXPECT_GT(samples[n], 0u) << "family without samples: " << n;
    // Every counter of the tables is there, in either lane.
    EXPECT_EQ(samples["synwave_tcp_rx_segments_total"], 2u);
    EXPECT_GE(names.size(), synwave::engine::AppCounters::kCount + synwave::tcp::TcpEventCounters::kCount +
                                synwave::engine::EngineCounters::kCount + synwave::engine::FloodCounters::kCount);
    EXPECT_EQ(names.count("synwave_flood_flood_tx_total"), 0u);
}

// Cumulative buckets never decrease, and +Inf is _count, for each client lane and histogram.
TEST(MetricsText, HistogramCumulativeAndInfIsCount) {
    auto lanes = two_lanes();
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<uint64_t> d(1, 30'000'000'000ULL);
    for (int i = 0; i < 5000; ++i) lanes[0].s.lat.response.record(d(rng));
    const auto l = lines_of(synwave::app::exposition(lanes, info()));
    const std::string prefix = "synwave_response_latency_seconds_bucket{side=\"client\",lcore=\"1\",le=\"";
    uint64_t last = 0;
    std::size_t seen = 0;
    for (const std::string& line : l) {
        if (!line.starts_with(prefix)) continue;
        const uint64_t v = std::stoull(line.substr(line.rfind(' ') + 1));
        EXPECT_GE(v, last) << line;
        last = v;
        ++seen;
        if (line.find("le=\"+Inf\"") != std::string::npos) {
            EXPECT_EQ(v, 5000u);
        }
    }
    EXPECT_EQ(seen, synwave::app::kLeBounds.size() + 1);
    EXPECT_EQ(occurrences(l, "synwave_response_latency_seconds_count{side=\"client\",lcore=\"1\"} 5000"), 1u);
}

// The count under each le is exact for samples below le * (1 - 1/64) and never counts one above le.
TEST(MetricsText, LeBoundsWithinOneBucket) {
    auto h = std::make_unique<LatencyHistogram>();
    std::vector<uint64_t> values;
    std::mt19937_64 rng(11);
    // Log-uniform over 10 us .. 20 s, and every value within 1/64 either side of each bound.
    std::uniform_real_distribution<double> e(4.0, 10.3);
    for (int i = 0; i < 20000; ++i) values.push_back(static_cast<uint64_t>(std::pow(10.0, e(rng))));
    for (const auto& b : synwave::app::kLeBounds)
        for (uint64_t v = b.ns - b.ns / 64; v <= b.ns + b.ns / 64; v += std::max<uint64_t>(1, b.ns / 2000))
            values.push_back(v);
    for (uint64_t v : values) h->record(v);
    const auto cum = synwave::app::cumulative_counts(*h);
    for (std::size_t k = 0; k < synwave::app::kLeBounds.size(); ++k) {
        const uint64_t le = synwave::app::kLeBounds[k].ns;
        const auto below = static_cast<uint64_t>(std::count_if(values.begin(), values.end(), [&](uint64_t v) {
            return v <= le - le / 64;
        }));
        const auto at_most = static_cast<uint64_t>(std::count_if(values.begin(), values.end(), [&](uint64_t v) {
            return v <= le;
        }));
        EXPECT_LE(below, cum[k]) << synwave::app::kLeBounds[k].text;
        EXPECT_LE(cum[k], at_most) << synwave::app::kLeBounds[k].text;
    }
}

TEST(MetricsText, Escaping) {
    EXPECT_EQ(synwave::app::escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
    EXPECT_EQ(synwave::app::escape_label("a\\b\nc \"q\""), "a\\\\b\\nc \\\"q\\\"");
    MetricsInfo i = info();
    i.commit = "x\"y";
    const auto l = lines_of(synwave::app::exposition({}, i));
    EXPECT_EQ(occurrences(l, "synwave_info{version=\"0.14.0\",commit=\"x\\\"y\",mode=\"storm\"} 1"), 1u);
}

TEST(MetricsAddress, Accepted) {
    sockaddr_storage a{};
    socklen_t len = 0;
    ASSERT_EQ(synwave::app::parse_metrics_address("127.0.0.1:9100", a, len), "");
    ASSERT_EQ(a.ss_family, AF_INET);
    EXPECT_EQ(len, sizeof(sockaddr_in));
    const auto* a4 = reinterpret_cast<const sockaddr_in*>(&a);
    EXPECT_EQ(ntohs(a4->sin_port), 9100);
    EXPECT_EQ(ntohl(a4->sin_addr.s_addr), 0x7f000001u);
    ASSERT_EQ(synwave::app::parse_metrics_address("[::1]:65535", a, len), "");
    ASSERT_EQ(a.ss_family, AF_INET6);
    EXPECT_EQ(len, sizeof(sockaddr_in6));
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&a);
    EXPECT_EQ(ntohs(a6->sin6_port), 65535);
    EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
    EXPECT_EQ(synwave::app::parse_metrics_address("0.0.0.0:1", a, len), "");
    EXPECT_EQ(synwave::app::parse_metrics_address("[::]:9100", a, len), "");
    EXPECT_EQ(synwave::app::parse_metrics_address("[2001:db8::7]:9100", a, len), "");
}

TEST(MetricsAddress, Refused) {
    sockaddr_storage a{};
    socklen_t len = 0;
    for (const char* bad : {"", "9100", ":9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:91a", "127.0.0.1:+80", "localhost:9100", "1.2.3:80", "[::1]9100", "[::1]:",
                            "[127.0.0.1]:9100", "[::1:9100", "::1:9100", "[::1]:99999999999999999999"}) {
        const std::string err = synwave::app::parse_metrics_address(bad, a, len);
        EXPECT_NE(err.find("is not ADDR:PORT"), std::string::npos) << "'" << bad << "': " << err;
    }
    EXPECT_NE(synwave::app::parse_metrics_address("::1:9100", a, len).find("in brackets"), std::string::npos);
}
