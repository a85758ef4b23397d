// The per-second series: text line, JSON samples and CSV (series.hpp).
#include "series.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>

#include "stats/json.hpp"

namespace synwave::app {

using json = nlohmann::ordered_json;

namespace {

uint64_t rtx(const Side& x) { return x.s.tcp.rtx_segments + x.s.tcp.syn_rtx + x.s.tcp.synack_rtx; }
uint64_t opened(const Side& x, bool client) { return client ? x.s.app.conn_attempted : x.s.app.conn_accepted; }
uint64_t opened_v6(const Side& x, bool client) {
    return client ? x.s.app.conn_attempted_v6 : x.s.app.conn_accepted_v6;
}
uint64_t responses(const Side& x, bool client) { return client ? x.s.app.responses_done : x.s.app.responses_sent; }

double seconds(const Tick& k, uint64_t hz) { return static_cast<double>(k.to - k.from) / static_cast<double>(hz); }
// Per second over the interval (0 for an empty one: the final interval may end as the last second does).
double per_s(uint64_t n, double s) { return s > 1e-9 ? static_cast<double>(n) / s : 0.0; }

// This interval's samples of a cumulative histogram: count, percentiles, max and the buckets (so that a merge
// of runs recomputes the percentiles of a second exactly).
json interval_latency(const stats::LatencyHistogram& later, const stats::LatencyHistogram& earlier) {
    const stats::LatencyHistogram d = stats::delta(later, earlier);
    return {{"count", d.count()}, {"p50", d.percentile(50)}, {"p90", d.percentile(90)}, {"p99", d.percentile(99)},
            {"max", d.max()}, {"buckets", stats::buckets_json(d)}};
}

// A text cell of the per-second line: its group (header's first row), name and width.
struct Cell {
    const char* group;
    const char* name;
    int width;
    std::string text;
};

std::string num(uint64_t v) { return std::to_string(v); }
std::string fixed(double v, int digits) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return b;
}

// "key" or "a.b.c" -> value text, in the order of the object, latency buckets left out.
void flatten(const json& j, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
    for (const auto& [k, v] : j.items()) {
        if (k == "buckets") continue;
        const std::string key = prefix.empty() ? k : prefix + "." + k;
        if (v.is_object()) flatten(v, key, out);
        else out.emplace_back(key, v.is_string() ? v.get<std::string>() : v.dump());
    }
}

}  // namespace

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json start_json(double unix_s) {
    const double ms_total = std::round(unix_s * 1000.0);
    const auto secs = static_cast<std::time_t>(std::floor(ms_total / 1000.0));
    const int ms = static_cast<int>(ms_total - static_cast<double>(secs) * 1000.0);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char b[64];
    const size_t n = std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(b + n, sizeof b - n, ".%03dZ", ms);
    return {{"unix_s", ms_total / 1000.0}, {"utc", b}};
}

json Series::side_sample(const Side& p, const Side& c, bool client) const {
    const auto& a = c.s.app;
    const auto& b = p.s.app;
    json j = {{"opened", opened(c, client) - opened(p, client)},
              {"completed", a.conn_completed - b.conn_completed},
              {"failed", a.conn_failed - b.conn_failed},
              {"opened_v6", opened_v6(c, client) - opened_v6(p, client)},
              {"opened_total", opened(c, client)},
              {"completed_total", a.conn_completed},
              {"failed_total", a.conn_failed},
              {"active", c.s.active},
              {"timewait", c.s.timewait},
              {"half_open", c.s.half_open}};
    json states = json::object();
    for (size_t i = static_cast<size_t>(tcp::State::SynSent); i < tcp::kStateCount; ++i)
        states[tcp::state_name(static_cast<tcp::State>(i))] = c.s.states[i];
    j["states"] = std::move(states);
    j["rtx"] = rtx(c) - rtx(p);
    j["drops"] = c.s.engine.rx_dropped - p.s.engine.rx_dropped;
    if (s_.http) {
        j["responses"] = responses(c, client) - responses(p, client);
        j["http"] = {{"2xx", a.http_2xx - b.http_2xx}, {"3xx", a.http_3xx - b.http_3xx},
                     {"4xx", a.http_4xx - b.http_4xx}, {"5xx", a.http_5xx - b.http_5xx}};
    }
    if (client && s_.flooding) {
        const auto& f = c.s.flood;
        const auto& g = p.s.flood;
        j["flood"] = {{"tx", f.flood_tx - g.flood_tx}, {"syn_ack", f.flood_syn_ack_rx - g.flood_syn_ack_rx},
                      {"cookie", f.flood_cookie_syn_ack_rx - g.flood_cookie_syn_ack_rx},
                      {"rst", f.flood_rst_rx - g.flood_rst_rx}};
    }
    if (client)
        j["latency"] = {{"connect", interval_latency(c.s.lat.connect, p.s.lat.connect)},
                        {"first_byte", interval_latency(c.s.lat.first_byte, p.s.lat.first_byte)},
                        {"response", interval_latency(c.s.lat.response, p.s.lat.response)}};
    return j;
}

void Series::add(const Tick& k) {
    if (!s_.keep) return;
    const auto& ce = k.cli->s.engine;
    const auto& se = k.srv->s.engine;
    const auto& pce = k.pcli->s.engine;
    const auto& pse = k.psrv->s.engine;
    const uint64_t rx_b = ce.rx_bytes + se.rx_bytes - pce.rx_bytes - pse.rx_bytes;
    const uint64_t tx_b = ce.tx_bytes + se.tx_bytes - pce.tx_bytes - pse.tx_bytes;
    const double secs = seconds(k, s_.hz);
    const double end = s_.start_unix + static_cast<double>(k.to - s_.t0) / static_cast<double>(s_.hz);
    json j = {{"t", k.t},
              {"unix_s", std::round(end * 1000.0) / 1000.0},
              {"interval_s", std::round(secs * 1e6) / 1e6},
              {"rx_packets", ce.rx_packets + se.rx_packets - pce.rx_packets - pse.rx_packets},
              {"tx_packets", ce.tx_packets + se.tx_packets - pce.tx_packets - pse.tx_packets},
              {"rx_bytes", rx_b},
              {"tx_bytes", tx_b},
              {"gbps_rx", per_s(rx_b, secs) * 8 / 1e9},
              {"gbps_tx", per_s(tx_b, secs) * 8 / 1e9},
              {"nic_drops", k.nic_drops}};
    if (s_.client) j["client"] = side_sample(*k.pcli, *k.cli, true);
    if (s_.server) j["server"] = side_sample(*k.psrv, *k.srv, false);
    samples_.push_back(std::move(j));
}

std::string Series::csv() const {
    // Every row gets every column any row has (a server row leaves the client's latency empty).
    std::vector<std::vector<std::pair<std::string, std::string>>> rows;
    std::vector<std::string> cols = {"t", "unix_s", "side"};
    auto col_index = [&](const std::string& k) {
        for (size_t i = 0; i < cols.size(); ++i)
            if (cols[i] == k) return i;
        cols.push_back(k);
        return cols.size() - 1;
    };
    for (const json& s : samples_) {
        json own = json::object();  // the sample's own fields, repeated on each side's row
        for (const auto& [k, v] : s.items())
            if (k != "t" && k != "unix_s" && k != "client" && k != "server") own[k] = v;
        for (const char* side : {"client", "server"}) {
            if (!s.contains(side)) continue;
            std::vector<std::pair<std::string, std::string>> r = {
                {"t", s["t"].dump()}, {"unix_s", s["unix_s"].dump()}, {"side", side}};
            flatten(s[side], "", r);
            flatten(own, "", r);
            rows.push_back(std::move(r));
        }
    }
    // Columns in order of first appearance; the client's come first when the run has one.
    for (const auto& r : rows)
        for (const auto& [k, v] : r) (void)col_index(k);
    std::string out;
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i];
    out += "\n";
    for (const auto& r : rows) {
        std::vector<std::string> line(cols.size());
        for (const auto& [k, v] : r) line[col_index(k)] = v;
        for (size_t i = 0; i < line.size(); ++i) out += (i ? "," : "") + line[i];
        out += "\n";
    }
    return out;
}

namespace {

// The line's cells; with no tick, the cells without their values (for the header).
std::vector<Cell> cells(const SeriesSetup& s, const Tick* k) {
    const bool client = s.client;
    std::vector<Cell> out;
    auto add = [&](const char* group, const char* name, int width, std::string text) {
        out.push_back(Cell{group, name, width, std::move(text)});
    };
    const Side* m = k ? (client ? k->cli : k->srv) : nullptr;
    const Side* p = k ? (client ? k->pcli : k->psrv) : nullptr;
    const double secs = k ? seconds(*k, s.hz) : 0;
    auto both = [&](auto get) { return k ? get(*k->cli) + get(*k->srv) - get(*k->pcli) - get(*k->psrv) : 0; };
    const char* ps = "per second";
    add("", "t", 4, k ? num(k->t) : "");
    add(ps, client ? "new" : "accepted", 8, m ? num(opened(*m, client) - opened(*p, client)) : "");
    add(ps, "done", 8, m ? num(m->s.app.conn_completed - p->s.app.conn_completed) : "");
    if (s.v6) add(ps, "v6", 8, m ? num(opened_v6(*m, client) - opened_v6(*p, client)) : "");
    const uint64_t rxp = both([](const Side& x) { return x.s.engine.rx_packets; });
    const uint64_t txp = both([](const Side& x) { return x.s.engine.tx_packets; });
    const uint64_t rxb = both([](const Side& x) { return x.s.engine.rx_bytes; });
    const uint64_t txb = both([](const Side& x) { return x.s.engine.tx_bytes; });
    add(ps, "rx_Mpps", 7, k ? fixed(per_s(rxp, secs) / 1e6, 3) : "");
    add(ps, "tx_Mpps", 7, k ? fixed(per_s(txp, secs) / 1e6, 3) : "");
    add(ps, "rx_Gbps", 7, k ? fixed(per_s(rxb, secs) * 8 / 1e9, 3) : "");
    add(ps, "tx_Gbps", 7, k ? fixed(per_s(txb, secs) * 8 / 1e9, 3) : "");
    add(ps, "nic_drop", 8, k ? num(k->nic_drops) : "");
    add("now", "active", 7, m ? num(m->s.active) : "");
    add("now", "timewait", 8, k ? num(k->cli->s.timewait + k->srv->s.timewait) : "");
    add("totals", "failed", 6, m ? num(m->s.app.conn_failed) : "");
    add("totals", "rtx", 6, k ? num(rtx(*k->cli) + rtx(*k->srv)) : "");
    add("totals", "drops", 6, k ? num(k->cli->s.engine.rx_dropped + k->srv->s.engine.rx_dropped) : "");
    if (s.http) {
        const char* g = "HTTP per second";
        const auto* a = m ? &m->s.app : nullptr;
        const auto* b = p ? &p->s.app : nullptr;
        add(g, "2xx", 8, a ? num(a->http_2xx - b->http_2xx) : "");
        add(g, "3xx", 5, a ? num(a->http_3xx - b->http_3xx) : "");
        add(g, "4xx", 5, a ? num(a->http_4xx - b->http_4xx) : "");
        add(g, "5xx", 5, a ? num(a->http_5xx - b->http_5xx) : "");
    }
    if (s.flooding) {
        const char* g = "flood per second";
        const auto* f = k ? &k->cli->s.flood : nullptr;
        const auto* pf = k ? &k->pcli->s.flood : nullptr;
        add(g, "sent", 10, f ? num(f->flood_tx - pf->flood_tx) : "");
        add(g, "synack", 10, f ? num(f->flood_syn_ack_rx - pf->flood_syn_ack_rx) : "");
        add(g, "cookie", 10, f ? num(f->flood_cookie_syn_ack_rx - pf->flood_cookie_syn_ack_rx) : "");
        add(g, "rst", 10, f ? num(f->flood_rst_rx - pf->flood_rst_rx) : "");
    }
    return out;
}

}  // namespace

void Series::print_header(const std::string& title) const {
    const std::vector<Cell> c = cells(s_, nullptr);
    std::string groups, names;
    for (size_t i = 0; i < c.size();) {
        size_t j = i;
        int width = 0;  // the group's columns and the spaces between them
        for (; j < c.size() && std::string(c[j].group) == c[i].group; ++j) width += c[j].width + (j > i ? 1 : 0);
        std::string label = c[i].group;
        if (!label.empty()) label = " " + label + " ";
        if (static_cast<int>(label.size()) > width) label.resize(static_cast<size_t>(width));
        const int dash = width - static_cast<int>(label.size());
        std::string g = label.empty() ? std::string(static_cast<size_t>(width), ' ')
                                      : std::string(static_cast<size_t>(dash / 2), '-') + label +
                                            std::string(static_cast<size_t>(dash - dash / 2), '-');
        groups += (i ? " " : "") + g;
        i = j;
    }
    for (size_t i = 0; i < c.size(); ++i) {
        char b[64];
        std::snprintf(b, sizeof b, "%s%*s", i ? " " : "", c[i].width, c[i].name);
        names += b;
    }
    std::printf("%s\n%s\n%s\n", title.c_str(), groups.c_str(), names.c_str());
    std::fflush(stdout);
}

void Series::print_line(const Tick& k) const {
    std::string line;
    const std::vector<Cell> c = cells(s_, &k);
    for (size_t i = 0; i < c.size(); ++i) {
        char b[64];
        std::snprintf(b, sizeof b, "%s%*s", i ? " " : "", c[i].width, c[i].text.c_str());
        line += b;
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

}  // namespace synwave::app
