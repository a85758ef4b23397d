#include "runner.hpp"

#include <nlohmann/json.hpp>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <unistd.h>

#include "config_json.hpp"
#include "metrics.hpp"
#include "series.hpp"
#include "stats/json.hpp"
#include "version.hpp"

namespace synwave::app {

using json = nlohmann::ordered_json;

namespace {

std::atomic<int> g_signals{0};
int g_signals_seen = 0;  // signals already acted on when run_lanes returned (hold_until_signal waits for more)
void on_signal(int) { g_signals.fetch_add(1); }

struct LaneCtx {
    engine::Worker* worker;
    const std::atomic<bool>* stop;
};

int lane_loop(void* arg) {
    auto* ctx = static_cast<LaneCtx*>(arg);
    while (!ctx->stop->load(std::memory_order_relaxed)) ctx->worker->run_once(Instant{rte_rdtsc()});
    ctx->worker->flush();
    ctx->worker->publish();
    return 0;
}

tcp::Secrets random_secrets() {
    std::random_device rd;
    auto k = [&] { return tcp::SipKey{(uint64_t{rd()} << 32) | rd(), (uint64_t{rd()} << 32) | rd()}; };
    return tcp::Secrets{k(), k(), k()};
}

void collect(const std::vector<Lane>& lanes, Side& cli, Side& srv) {
    cli = Side{};
    srv = Side{};
    for (const Lane& l : lanes) (l.client ? cli : srv).add(l.worker->read());
}

json side_json(const Side& side) {
    json drops;
    for (size_t i = 1; i < side.s.drops.size(); ++i)
        if (side.s.drops[i]) drops[wire::drop_name(static_cast<wire::Drop>(i))] = side.s.drops[i];
    json states;
    for (size_t i = 0; i < tcp::kStateCount; ++i)
        states[tcp::state_name(static_cast<tcp::State>(i))] = side.s.tcp.entered[i];
    return {{"lanes", side.lanes}, {"app", stats::to_json(side.s.app)}, {"tcp", stats::to_json(side.s.tcp.events())},
            {"entered_state", states}, {"engine", stats::to_json(side.s.engine)}, {"rx_drops", drops},
            {"active", side.s.active}, {"timewait", side.s.timewait}, {"half_open", side.s.half_open}};
}

// Memory of one side's lanes, from the sizes the stack was built with and what building the lanes added to the
// resident set. A TIME_WAIT record costs its record plus its share of the flow table; a connection slot costs
// everything else the lane holds (TCB, its table share, the application's per-connection slot, and the
// lane's fixed part spread over max_conns), so that max_conns slots plus max_timewait records add up to the
// measured figure.
struct Memory {
    unsigned lanes = 0;
    uint64_t measured = 0;       // all lanes of the side
    uint64_t pools = 0;          // mbuf pools of the side's lanes
    uint32_t max_conns = 0, max_timewait = 0, half_open = 0;  // per lane
    uint64_t table_entries = 0, table_bytes = 0;
    double table_share = 0, tw_record = 0, conn_slot = 0;
    bool from_rss = false;       // conn_slot from the measured resident set (else computed from the sizes)
};

Memory side_memory(const std::vector<Lane>& lanes, bool client) {
    Memory m;
    for (const Lane& l : lanes) {
        if ((l.client != nullptr) != client) continue;
        if (m.lanes++ == 0) {
            const tcp::StackConfig& c = l.worker->stack().config();
            m.max_conns = c.max_conns;
            m.max_timewait = c.max_timewait;
            m.half_open = c.half_open_limit;
        }
        m.measured += l.rss_bytes;
        m.pools += l.pool_bytes;
    }
    if (m.lanes == 0) return m;
    // The stack's flow table holds connections, TIME_WAIT and SYN-RECEIVED records together (the SYN-RECEIVED
    // records themselves, half_open_limit x 64 B, are part of the lane's fixed part).
    m.table_entries = uint64_t{m.max_conns} + m.max_timewait + m.half_open;
    m.table_bytes = flow::FlowTable::memory_needed(static_cast<uint32_t>(m.table_entries));
    m.table_share = static_cast<double>(m.table_bytes) / static_cast<double>(m.table_entries);
    m.tw_record = static_cast<double>(sizeof(tcp::TwRecord)) + m.table_share;
    const double per_lane = static_cast<double>(m.measured) / m.lanes;
    const double tw_total = m.tw_record * m.max_timewait;
    m.from_rss = per_lane > tw_total;
    m.conn_slot = m.from_rss ? (per_lane - tw_total) / m.max_conns
                             : static_cast<double>(sizeof(tcp::Tcb)) + m.table_share;
    return m;
}

// One side's lanes one by one (JSON `per_lane`, when the side ran more than one, or the client is one of several
// instances: its lanes' source slices show its share), from the same snapshots the side's totals were added up from.
json lanes_json(const std::vector<Lane>& lanes, const std::vector<engine::WorkerStats>& fin, bool client) {
    json out = json::array();
    for (size_t i = 0; i < lanes.size(); ++i) {
        if ((lanes[i].client != nullptr) != client) continue;
        const engine::WorkerStats& w = fin[i];
        json l = {{"lcore", lanes[i].lcore}, {"port", lanes[i].port}, {"queue", lanes[i].queue}};
        if (client && lanes[i].src) {
            const SrcSlice& src = *lanes[i].src;
            if (src.has4()) l["src"] = range_text(src.lo, src.hi);
            if (src.count6) l["src6"] = range6_text(src.lo6, src.count6);
            l["src_ports"] = range_text(src.port_lo, src.port_hi);
        }
        l["app"] = stats::to_json(w.app);
        l["rx_packets"] = w.engine.rx_packets;
        l["tx_packets"] = w.engine.tx_packets;
        l["active"] = w.active;
        l["timewait"] = w.timewait;
        l["half_open"] = w.half_open;
        out.push_back(std::move(l));
    }
    return out;
}

// Text lines per lane under a side's summary line (when the side ran more than one lane).
void print_lanes(const std::vector<Lane>& lanes, const std::vector<engine::WorkerStats>& fin, bool client) {
    unsigned k = 0;
    for (size_t i = 0; i < lanes.size(); ++i) {
        if ((lanes[i].client != nullptr) != client) continue;
        const auto& a = fin[i].app;
        if (client) {
            const SrcSlice src = lanes[i].src.value_or(SrcSlice{});
            std::printf("    lane %u (lcore %u, port %u queue %u, src %s ports %s): attempted %lu, completed %lu, "
                        "failed %lu\n", k, lanes[i].lcore, lanes[i].port, lanes[i].queue, src.addrs_text().c_str(),
                        range_text(src.port_lo, src.port_hi).c_str(), a.conn_attempted, a.conn_completed, a.conn_failed);
        } else {
            std::printf("    lane %u (lcore %u, port %u queue %u): accepted %lu, responses %lu, completed %lu, "
                        "failed %lu\n", k, lanes[i].lcore, lanes[i].port, lanes[i].queue, a.conn_accepted,
                        a.responses_sent, a.conn_completed, a.conn_failed);
        }
        ++k;
    }
}

json memory_json(const Memory& m) {
    return {{"lanes", m.lanes},
            {"max_conns", m.max_conns},
            {"max_timewait", m.max_timewait},
            {"measured_bytes", m.measured},
            {"mbuf_pool_bytes", m.pools},
            {"tcb_bytes", sizeof(tcp::Tcb)},
            {"timewait_record_bytes", sizeof(tcp::TwRecord)},
            {"half_open_limit", m.half_open},
            {"synrcvd_record_bytes", sizeof(tcp::SynRecord)},
            {"flow_table_bytes", m.table_bytes},
            {"flow_table_entries", m.table_entries},
            {"per_connection_slot_bytes", m.conn_slot},
            {"per_timewait_record_bytes", m.tw_record},
            {"per_connection_slot_from", m.from_rss ? "resident set" : "sizes"}};
}

void print_memory(const char* side, const Memory& m) {
    constexpr double MiB = 1024.0 * 1024.0;
    std::printf("  memory (%s, per lcore): %.1f MiB resident for tables and slots + %.1f MiB mbuf pool; TCB %zu B x %u, "
                "TIME_WAIT record %zu B x %u, SYN-RECEIVED record %zu B x %u, flow table %.1f MiB for %lu entries "
                "(%.1f B each)\n",
                side, static_cast<double>(m.measured) / m.lanes / MiB, static_cast<double>(m.pools) / m.lanes / MiB,
                sizeof(tcp::Tcb), m.max_conns, sizeof(tcp::TwRecord), m.max_timewait, sizeof(tcp::SynRecord), m.half_open,
                static_cast<double>(m.table_bytes) / MiB, m.table_entries, m.table_share);
    std::printf("    = %.1f B per connection slot (%s), %.1f B per TIME_WAIT record\n", m.conn_slot,
                m.from_rss ? "TCB, table share, application slot and fixed part, measured" : "TCB and table share",
                m.tw_record);
}

// A port's own counters (rte_eth_stats), read on the main lcore: what the device dropped (imissed: its RX
// ring was full; ierrors: bad frames; rx_nombuf: no mbuf to refill the ring) or failed to send (oerrors), which
// no worker sees, so that a NIC drop is told apart from a TCP loss.
struct Nic {
    uint16_t id = 0;
    std::string name;
    io::PortStats s{};
    std::string error;  // rte_eth_stats_get failed
};

std::vector<Nic> read_nics(const std::vector<io::Port>& ports) {
    std::vector<Nic> out;
    for (const io::Port& p : ports) {
        Nic n;
        n.id = p.id();
        n.name = p.info().name;
        if (auto r = p.stats(); r.ok()) n.s = r.value();
        else n.error = r.error();
        out.push_back(std::move(n));
    }
    return out;
}

uint64_t nic_drops(const io::PortStats& s) { return s.imissed + s.ierrors + s.rx_nombuf + s.oerrors; }

// All the ports' drops, for the per-second line (no allocation: the main lcore runs a lane too).
uint64_t nic_drops(const std::vector<io::Port>& ports) {
    uint64_t n = 0;
    for (const io::Port& p : ports)
        if (auto r = p.stats(); r.ok()) n += nic_drops(r.value());
    return n;
}

json nics_json(const std::vector<Nic>& nics) {
    json j = json::object();
    for (const Nic& n : nics) {
        json p = {{"name", n.name}};
        if (!n.error.empty()) {
            p["error"] = n.error;
        } else {
            p["ipackets"] = n.s.ipackets;
            p["opackets"] = n.s.opackets;
            p["ibytes"] = n.s.ibytes;
            p["obytes"] = n.s.obytes;
            p["imissed"] = n.s.imissed;
            p["ierrors"] = n.s.ierrors;
            p["rx_nombuf"] = n.s.rx_nombuf;
            p["oerrors"] = n.s.oerrors;
        }
        j[std::to_string(n.id)] = std::move(p);
    }
    return j;
}

void print_nics(const std::vector<Nic>& nics) {
    for (const Nic& n : nics) {
        if (!n.error.empty()) {
            std::printf("  port %u (%s): no counters: %s\n", n.id, n.name.c_str(), n.error.c_str());
            continue;
        }
        std::printf("  port %u (%s): received %lu, sent %lu frames; device drops %lu: imissed %lu, ierrors %lu, "
                    "rx_nombuf %lu, oerrors %lu\n",
                    n.id, n.name.c_str(), n.s.ipackets, n.s.opackets, nic_drops(n.s), n.s.imissed, n.s.ierrors,
                    n.s.rx_nombuf, n.s.oerrors);
    }
}

// " (N IPv6)" when some were, else "".
std::string v6_note(uint64_t v6) { return v6 ? " (" + std::to_string(v6) + " IPv6)" : std::string(); }

}  // namespace

uint64_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    const int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return n == 2 ? uint64_t{resident} * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

void hold_until_signal() {
    std::fprintf(stderr, "synwave: run over; holding the port open (not polling) until SIGINT/SIGTERM\n");
    std::fflush(stdout);
    std::fflush(stderr);
    while (g_signals.load() <= g_signals_seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

std::string make_lane(Lane& lane, const Options& o, const PortSetup& net, bool client, engine::WorkerConfig wc,
                      TscRate rate, Instant now, const flow::ToeplitzV4* rss, const flow::Reta* reta,
                      const flow::ToeplitzV6* rss6) {
    const uint64_t rss0 = resident_bytes();
    if (client) {
        if (!lane.src) lane.src = net.src;
        PortSetup mine = net;
        mine.src = *lane.src;
        engine::ClientConfig cc = client_config(o, mine);
        cc.queue = wc.queue;
        cc.rss = rss;
        cc.rss6 = rss6;
        cc.reta = reta;
        wc.stack.direct = cc.tuples();  // the client's own 4-tuples: found by index, not by hash
        auto c = std::make_unique<engine::Client>(cc, rate);
        c->set_slots(wc.stack.max_conns);
        if (o.flood_only()) c->stop_launching();  // the flood alone (engine/flood.hpp): no connection
        lane.client = c.get();
        lane.app = std::move(c);
    } else {
        auto srv = std::make_unique<engine::Server>(server_config(o));
        srv->set_slots(wc.stack.max_conns);
        lane.app = std::move(srv);
    }
    if (!o.pcap.empty()) {
        auto w = io::PcapWriter::open(io::per_lcore_pcap_path(o.pcap, lane.lcore));
        if (!w.ok()) return "pcap: " + w.error();
        lane.pcap = std::make_unique<io::PcapWriter>(std::move(w.value()));
        wc.pcap = lane.pcap.get();
        const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
        wc.pcap_clock = io::PcapClock{rate, now, static_cast<uint64_t>(wall)};
    }
    lane.worker = std::make_unique<engine::Worker>(wc, rate, now, random_secrets(), lane.app.get());
    const uint64_t rss1 = resident_bytes();
    lane.rss_bytes = rss1 > rss0 ? rss1 - rss0 : 0;
    return {};
}

int run_lanes(std::vector<Lane>& lanes, const std::vector<io::Port>& ports, const Options& o,
              const std::string& title) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    // --metrics: serves from here; stops when run_lanes returns (with --hold: serves the final figures until exit).
    MetricsEndpoint metrics;
    if (const std::string e = metrics.start(o, lanes); !e.empty()) {
        std::cerr << "synwave: " << e << "\n";
        return 2;
    }
    const uint64_t hz = rte_get_tsc_hz();
    std::atomic<bool> stop{false};
    // Gratuitous ARP for our address, queued in each worker's TX batch (sent by its first loop turn) before any
    // lane runs: a worker belongs to its lcore once launched (announcing from here afterwards raced the
    // client lane's own TX batch and now and then lost the frame uncounted).
    for (Lane& l : lanes) l.worker->announce();
    std::vector<LaneCtx> ctx(lanes.size());
    for (size_t i = 1; i < lanes.size(); ++i) {
        ctx[i] = LaneCtx{lanes[i].worker.get(), &stop};
        rte_eal_remote_launch(lane_loop, &ctx[i], lanes[i].lcore);
    }
    bool any_client = false;
    for (const Lane& l : lanes) any_client |= l.client != nullptr;

    const uint64_t t0 = rte_rdtsc();
    const double start_unix = unix_now();  // the wall clock once; each second's is derived from the TSC
    const uint64_t end = o.duration > 0 ? t0 + static_cast<uint64_t>(o.duration * static_cast<double>(hz)) : UINT64_MAX;
    uint64_t next_print = t0 + hz;
    uint64_t stopped_at = 0;
    uint64_t drain_until = 0;
    uint64_t next_check = 0;
    Side cli, srv, pcli, psrv;
    uint32_t sec = 0;
    // IPv6 in play: a column of the connections opened (or accepted) over IPv6 each second.
    bool v6 = false;
    for (const PortSetup& p : o.ports) v6 |= o.mode == Mode::Server ? p.ip.has6 : p.src.count6 != 0;
    uint64_t nic_prev = nic_drops(ports);
    // HTTP in play: responses per second by status class (client: received; server: sent).
    const bool http = o.behaviour == "http" && (o.mode == Mode::Server || o.request);
    const bool flooding = !o.flood.empty();
    bool any_server = false;
    for (const Lane& l : lanes) any_server |= l.client == nullptr;
    Series series(SeriesSetup{any_client, any_server, http, flooding, v6,
                              !o.json_path.empty() || !o.csv_path.empty(), hz, t0, start_unix});
    uint64_t last_tick = t0;
    if (!o.quiet) series.print_header(title);
    for (;;) {
        const uint64_t now = rte_rdtsc();
        lanes[0].worker->run_once(Instant{now});
        if (now < next_print && now < next_check && drain_until == 0 && now < end && g_signals.load() == 0) continue;
        if (now >= next_print) {
            next_print += hz;
            ++sec;
            lanes[0].worker->publish();
            collect(lanes, cli, srv);
            const uint64_t nic = nic_drops(ports);
            const Tick k{sec, last_tick, now, &pcli, &cli, &psrv, &srv, nic > nic_prev ? nic - nic_prev : 0};
            nic_prev = nic;
            last_tick = now;
            if (!o.quiet) series.print_line(k);
            series.add(k);
            pcli = cli;
            psrv = srv;
        }
        // Clients that reached --total and have nothing open end the run early.
        bool clients_done = false;
        if (any_client && drain_until == 0 && now >= next_check) {
            next_check = now + hz / 5;
            collect(lanes, cli, srv);
            clients_done = cli.all_done && !o.flood_only();  // a flood alone runs for the duration
        }
        if (stopped_at == 0 && (now >= end || g_signals.load() > 0 || clients_done)) {
            stopped_at = now;
            for (Lane& l : lanes) {
                if (l.client) l.client->stop_launching();
                if (engine::Flood* f = l.worker->flood()) f->stop();
            }
            // Clients finish what they opened (3 s at most); a server alone stops at once. With --drain the
            // lanes keep running until every record is gone: TIME_WAIT lasts 2 MSL, a SYN-RECEIVED record
            // at most 63 s (5 SYN-ACK retransmissions).
            drain_until = any_client ? now + 3 * hz : now;
            if (o.drain) drain_until += (2 * uint64_t{o.msl_ms} / 1000 + 70) * hz;
        }
        if (drain_until != 0) {
            if (now >= drain_until || g_signals.load() > 1) break;
            if (now >= next_check) {  // other lanes publish every 200 ms
                next_check = now + hz / 5;
                lanes[0].worker->publish();
                collect(lanes, cli, srv);
                const uint32_t records = cli.s.timewait + srv.s.timewait + cli.s.half_open + srv.s.half_open;
                // Only figures that every lane published after the stop tell that nothing is open: every client
                // done (it saw the stop and has nothing open), and the servers' figures newer still. A snapshot
                // from before the stop may miss the last connections launched, and ending then would cut their
                // frames off in flight (the client counted them attempted, the server never saw them).
                const bool fresh =
                    cli.all_done && cli.oldest > stopped_at && srv.oldest > std::max(cli.newest, stopped_at);
                if (fresh && cli.s.active + srv.s.active == 0 && (!o.drain || records == 0)) break;
            }
        }
    }
    g_signals_seen = g_signals.load();
    stop.store(true);
    rte_eal_mp_wait_lcore();
    lanes[0].worker->flush();
    lanes[0].worker->publish();
    const std::vector<Nic> nics = read_nics(ports);
    // The final figures, read once: the sides' totals and the per-lane figures come from the same snapshots.
    std::vector<engine::WorkerStats> fin(lanes.size());
    cli = Side{};
    srv = Side{};
    for (size_t i = 0; i < lanes.size(); ++i) {
        fin[i] = lanes[i].worker->read();
        (lanes[i].client ? cli : srv).add(fin[i]);
    }
    {
        // The last interval, from the last whole second to the final figures: the series adds up to the totals.
        uint64_t nic = 0;
        for (const Nic& n : nics) nic += nic_drops(n.s);
        series.add(Tick{sec + 1, last_tick, std::max(rte_rdtsc(), last_tick), &pcli, &cli, &psrv, &srv,
                        nic > nic_prev ? nic - nic_prev : 0});
    }

    const double run_s = static_cast<double>((stopped_at ? stopped_at : rte_rdtsc()) - t0) / static_cast<double>(hz);
    const engine::Latencies& lat = cli.s.lat;  // the client lanes' histograms, added up
    const stats::LatencyHistogram &conn_lat = lat.connect, &first_lat = lat.first_byte, &resp_lat = lat.response;
    const double pps = static_cast<double>(cli.s.engine.rx_packets + srv.s.engine.rx_packets) / run_s;
    const uint64_t completed = any_client ? cli.s.app.conn_completed : srv.s.app.conn_completed;
    const double cps = static_cast<double>(completed) / run_s;
    std::printf("\n%s: %.1f s\n", title.c_str(), run_s);
    if (cli.lanes) {
        const auto& a = cli.s.app;
        std::printf("  client (%u lcores): attempted %lu%s, completed %lu%s, failed %lu%s (refused %lu, reset %lu, "
                    "timeout %lu, bad response %lu, status %lu)\n",
                    cli.lanes, a.conn_attempted, v6_note(a.conn_attempted_v6).c_str(), a.conn_completed,
                    v6_note(a.conn_completed_v6).c_str(), a.conn_failed, v6_note(a.conn_failed_v6).c_str(),
                    a.conn_failed_refused, a.conn_failed_reset, a.conn_failed_timeout, a.conn_failed_bad_response,
                    a.conn_failed_status);
        if (http)
            std::printf("  client HTTP: requests %lu, responses %lu (1xx %lu, 2xx %lu, 3xx %lu, 4xx %lu, 5xx %lu), "
                        "bad %lu, status not expected (%s) %lu\n",
                        a.requests_sent, a.responses_done, a.http_1xx, a.http_2xx, a.http_3xx, a.http_4xx, a.http_5xx,
                        a.bad_responses, o.expect_status.c_str(), a.status_unexpected);
        if (cli.lanes > 1) print_lanes(lanes, fin, true);
        if (a.conn_reset_at_close != 0)
            std::printf("  client: %lu completed connections were ended by a peer RST after our FIN (the peer had "
                        "dropped them; counted completed)\n", a.conn_reset_at_close);
        std::printf("  connect latency    %s\n", stats::format_text(conn_lat.summary()).c_str());
        if (http)
            std::printf("  first byte latency %s\n  response latency   %s\n",
                        stats::format_text(first_lat.summary()).c_str(), stats::format_text(resp_lat.summary()).c_str());
    }
    if (srv.lanes) {
        const auto& a = srv.s.app;
        std::printf("  server (%u lcores): accepted %lu%s, responses %lu, completed %lu%s, failed %lu%s; TIME_WAIT now %u\n",
                    srv.lanes, a.conn_accepted, v6_note(a.conn_accepted_v6).c_str(), a.responses_sent,
                    a.conn_completed, v6_note(a.conn_completed_v6).c_str(), a.conn_failed,
                    v6_note(a.conn_failed_v6).c_str(), srv.s.timewait);
        if (srv.lanes > 1) print_lanes(lanes, fin, false);
        if (http && o.behaviour == "http")
            std::printf("  server HTTP: requests %lu, bad %lu (400), too large %lu (431/413), not implemented %lu "
                        "(501), responses %lu (2xx %lu, 3xx %lu, 4xx %lu, 5xx %lu), 100 Continue %lu, pipelined %lu, "
                        "no slot %lu\n",
                        a.requests_received, a.requests_bad, a.requests_too_large, a.requests_not_implemented,
                        a.responses_sent, a.http_2xx, a.http_3xx, a.http_4xx, a.http_5xx, a.http_1xx,
                        a.responses_queued, a.http_no_slot);
        if (a.sink_bytes != 0) {
            std::printf("  server sink: %lu bytes received, %lu differ from the pattern", a.sink_bytes, a.sink_mismatch);
            if (a.sink_mismatch != 0 && srv.lanes == 1) std::printf(" (the first at offset %lu)", a.sink_first_mismatch - 1);
            std::printf("\n");
        }
    }
    std::printf("  rate %.0f connections/s, %.2f Mpps received, %.1f packets/connection\n", cps, pps / 1e6,
                completed ? static_cast<double>(cli.s.engine.rx_packets + srv.s.engine.rx_packets) /
                                static_cast<double>(completed) : 0.0);
    if (flooding) {
        const auto& f = cli.s.flood;
        std::printf("  flood (%s): sent %lu frames (%.0f/s); replies: SYN-ACK %lu (cookie-looking %lu), RST %lu, other "
                    "%lu; not sent: no ARP %lu turns, no mbuf %lu\n",
                    o.flood.c_str(), f.flood_tx, static_cast<double>(f.flood_tx) / run_s, f.flood_syn_ack_rx,
                    f.flood_cookie_syn_ack_rx, f.flood_rst_rx, f.flood_other_rx, f.flood_no_arp, f.flood_no_mbuf);
        if (srv.lanes)
            std::printf("  server under the flood: SYN cookies sent %lu, half-open now %u (limit %u per lcore), "
                        "SYN-RECEIVED records created %lu, RSTs for bad ACKs %lu\n",
                        srv.s.tcp.syncookies_sent, srv.s.half_open, o.half_open_limit, srv.s.tcp.passive_opens,
                        srv.s.tcp.bad_ack_rst + srv.s.tcp.syncookies_failed);
    }
    const Memory cmem = side_memory(lanes, true), smem = side_memory(lanes, false);
    if (cmem.lanes) print_memory("client", cmem);
    if (smem.lanes) print_memory("server", smem);
    std::printf("  retransmits %lu, parser drops %lu, tx ring full %lu, no mbuf %lu, no ARP %lu\n",
                cli.s.tcp.rtx_segments + srv.s.tcp.rtx_segments + cli.s.tcp.syn_rtx + srv.s.tcp.synack_rtx,
                cli.s.engine.rx_dropped + srv.s.engine.rx_dropped, cli.s.engine.tx_ring_full + srv.s.engine.tx_ring_full,
                cli.s.engine.tx_no_mbuf + srv.s.engine.tx_no_mbuf, cli.s.engine.tx_no_arp + srv.s.engine.tx_no_arp);
    print_nics(nics);
    int rc = 0;
    if (!o.json_path.empty()) {
        json j;
        j["synwave"] = {{"version", SYNWAVE_VERSION}, {"commit", SYNWAVE_COMMIT}};
        j["mode"] = o.mode == Mode::Storm ? "storm" : o.mode == Mode::Server ? "server" : "client";
        j["duration_s"] = run_s;
        j["start"] = start_json(start_unix);
        j["instance"] = {{"index", o.instance}, {"count", o.instances}};
        j["config"] = config_json(o);
        if (cli.lanes) {
            const auto& a = cli.s.app;
            j["connections"] = {{"attempted", a.conn_attempted}, {"connected", a.conn_connected},
                                {"completed", a.conn_completed}, {"failed", a.conn_failed},
                                {"v6", {{"attempted", a.conn_attempted_v6}, {"completed", a.conn_completed_v6},
                                        {"failed", a.conn_failed_v6}}}};
            j["connections"]["failed_by"] = {{"refused", a.conn_failed_refused}, {"reset", a.conn_failed_reset},
                                             {"timeout", a.conn_failed_timeout},
                                             {"bad_response", a.conn_failed_bad_response},
                                             {"status", a.conn_failed_status}};
            j["latency_ns"] = {{"connect", stats::to_json(conn_lat.summary())},
                               {"first_byte", stats::to_json(first_lat.summary())},
                               {"response", stats::to_json(resp_lat.summary())}};
            j["histograms"] = {{"connect", stats::histogram_json(conn_lat)},
                               {"first_byte", stats::histogram_json(first_lat)},
                               {"response", stats::histogram_json(resp_lat)}};
            if (http)
                j["http"] = {{"requests", a.requests_sent}, {"responses", a.responses_done},
                             {"status", {{"1xx", a.http_1xx}, {"2xx", a.http_2xx}, {"3xx", a.http_3xx},
                                         {"4xx", a.http_4xx}, {"5xx", a.http_5xx}}},
                             {"bad_responses", a.bad_responses}, {"status_unexpected", a.status_unexpected},
                             {"expect_status", o.expect_status}};
            j["client"] = side_json(cli);
            j["client"]["memory"] = memory_json(cmem);
            if (cli.lanes > 1 || o.instances > 1) j["client"]["per_lane"] = lanes_json(lanes, fin, true);
        }
        if (srv.lanes) {
            j["server"] = side_json(srv);
            if (http) {
                const auto& a = srv.s.app;
                j["server"]["http"] = {{"requests", a.requests_received}, {"responses", a.responses_sent},
                                       {"bad", a.requests_bad}, {"too_large", a.requests_too_large},
                                       {"not_implemented", a.requests_not_implemented},
                                       {"status", {{"1xx", a.http_1xx}, {"2xx", a.http_2xx}, {"3xx", a.http_3xx},
                                                   {"4xx", a.http_4xx}, {"5xx", a.http_5xx}}},
                                       {"pipelined", a.responses_queued}, {"no_slot", a.http_no_slot}};
            }
            j["server"]["memory"] = memory_json(smem);
            if (srv.lanes > 1) j["server"]["per_lane"] = lanes_json(lanes, fin, false);
        }
        if (flooding) {
            j["flood"] = stats::to_json(cli.s.flood);
            j["flood"]["kind"] = o.flood;
            j["flood"]["frames_per_s"] = static_cast<double>(cli.s.flood.flood_tx) / run_s;
            j["flood"]["legit_rate"] = o.legit_rate;
        }
        j["nic"] = nics_json(nics);
        j["connections_per_s"] = cps;
        j["packets_per_s"] = pps;
        j["series"] = series.samples();
        std::ofstream f(o.json_path);
        f << j.dump(2) << "\n";
        if (!f) {
            std::cerr << "synwave: cannot write " << o.json_path << "\n";
            rc = 2;
        }
    }
    if (!o.csv_path.empty()) {
        std::ofstream f(o.csv_path);
        f << series.csv();
        if (!f) {
            std::cerr << "synwave: cannot write " << o.csv_path << "\n";
            rc = 2;
        }
    }
    for (Lane& l : lanes)
        if (l.pcap) l.pcap->close();
    if (cli.lanes && !o.flood_only()) {  // a flood alone opens no connection to fail
        const auto& a = cli.s.app;
        const double failed = a.conn_attempted ? static_cast<double>(a.conn_failed) / static_cast<double>(a.conn_attempted) : 0;
        if (a.conn_completed == 0 || failed > o.fail_tolerance) {
            std::fprintf(stderr, "synwave: %lu of %lu connections failed (tolerance %.3f)\n", a.conn_failed,
                         a.conn_attempted, o.fail_tolerance);
            if (rc == 0) rc = 1;
        }
    }
    return rc;
}

}  // namespace synwave::app
