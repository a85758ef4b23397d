// synwave: one binary, three modes.
//   synwave storm  [options]            client and server lcores in one process joined by a net_ring pair:
//                                       --no-huge --no-pci, no NIC, no set-up (the embedded default)
//   synwave server [options] [-- EAL]   listen on a port with a behaviour (HTTP 200 / close / RST)
//   synwave client [options] [-- EAL]   open connections at a rate / concurrency to a server
// Options come from a TOML file (--config) and flags override it. Bad values are rejected with the key and
// the reason before EAL starts.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "io/eal.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "io/vdev.hpp"
#include "stats/json.hpp"

using namespace synwave;
using json = nlohmann::ordered_json;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

struct Options {
    std::string mode;
    std::string config;
    double duration = 10;
    std::string json_path;
    // connections and tables
    uint32_t max_conns = 1u << 18;
    uint32_t max_timewait = 1u << 21;
    uint32_t msl_ms = 1000;  // storm default: 2MSL = 2 s keeps a 10 s run's TIME_WAIT pool small
    std::string cookies = "auto";
    uint32_t half_open_limit = 1u << 14;
    // client
    uint64_t rate = 0;
    uint32_t ramp_ms = 0;
    uint32_t concurrency = 2000;
    uint64_t connections = 0;
    std::string close = "server";
    bool request = true;
    std::string src = "10.1.0.1-10.1.0.64";
    std::string dst = "10.0.0.1";
    uint16_t port = 80;
    // server
    std::string behaviour = "http";
    uint32_t body = 64;
    // tolerance
    double fail_tolerance = 0.0;  // fraction of attempted connections allowed to fail
    bool quiet = false;
};

bool parse_range(const std::string& s, Ipv4& lo, Ipv4& hi) {
    const auto dash = s.find('-');
    auto a = Ipv4::parse(s.substr(0, dash));
    auto b = dash == std::string::npos ? a : Ipv4::parse(s.substr(dash + 1));
    if (!a || !b || b->v < a->v) return false;
    lo = *a;
    hi = *b;
    return true;
}

// Reads a TOML config into Options; every unknown key is an error that names it.
bool load_config(const std::string& path, Options& o, std::string& err) {
    toml::table t;
    try {
        t = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        err = path + ": " + std::string(e.description());
        return false;
    }
    static const std::set<std::string> known = {"duration", "json", "max_conns", "max_timewait", "msl_ms", "cookies",
        "half_open_limit", "rate", "ramp_ms", "concurrency", "connections", "close", "request", "src", "dst", "port",
        "behaviour", "body", "fail_tolerance", "eal"};
    for (auto&& [k, v] : t) {
        if (!known.count(std::string(k.str()))) {
            err = path + ": unknown key '" + std::string(k.str()) + "'";
            return false;
        }
    }
    auto num = [&](const char* k, auto& dst) {
        if (auto v = t[k].value<int64_t>()) {
            if (*v < 0) {
                err = path + ": key '" + k + "' must not be negative";
                return false;
            }
            dst = static_cast<std::remove_reference_t<decltype(dst)>>(*v);
        }
        return true;
    };
    if (auto v = t["duration"].value<double>()) o.duration = *v;
    if (auto v = t["json"].value<std::string>()) o.json_path = *v;
    if (!num("max_conns", o.max_conns) || !num("max_timewait", o.max_timewait) || !num("msl_ms", o.msl_ms) ||
        !num("half_open_limit", o.half_open_limit) || !num("rate", o.rate) || !num("ramp_ms", o.ramp_ms) ||
        !num("concurrency", o.concurrency) || !num("connections", o.connections) || !num("port", o.port) ||
        !num("body", o.body))
        return false;
    if (auto v = t["cookies"].value<std::string>()) o.cookies = *v;
    if (auto v = t["close"].value<std::string>()) o.close = *v;
    if (auto v = t["request"].value<bool>()) o.request = *v;
    if (auto v = t["src"].value<std::string>()) o.src = *v;
    if (auto v = t["dst"].value<std::string>()) o.dst = *v;
    if (auto v = t["behaviour"].value<std::string>()) o.behaviour = *v;
    if (auto v = t["fail_tolerance"].value<double>()) o.fail_tolerance = *v;
    return true;
}

bool validate(const Options& o, std::string& err) {
    Ipv4 a, b;
    if (o.duration <= 0 || o.duration > 86400) err = "duration: must be in (0, 86400] seconds";
    else if (o.max_conns < 16 || o.max_conns > (1u << 24)) err = "max_conns: must be in [16, 16777216]";
    else if (o.max_timewait > (1u << 24)) err = "max_timewait: must be at most 16777216";
    else if (o.msl_ms < 1 || o.msl_ms > 600000) err = "msl_ms: must be in [1, 600000]";
    else if (o.cookies != "off" && o.cookies != "auto" && o.cookies != "always") err = "cookies: must be off, auto or always";
    else if (o.close != "client" && o.close != "server" && o.close != "rst") err = "close: must be client, server or rst";
    else if (o.behaviour != "http" && o.behaviour != "close") err = "behaviour: must be http or close";
    else if (!parse_range(o.src, a, b)) err = "src: not an IPv4 address or range a.b.c.d[-e.f.g.h]: '" + o.src + "'";
    else if (!Ipv4::parse(o.dst)) err = "dst: not an IPv4 address: '" + o.dst + "'";
    else if (o.port == 0) err = "port: must be in [1, 65535]";
    else if (o.concurrency == 0) err = "concurrency: must be at least 1";
    else if (o.body > 1'000'000) err = "body: must be at most 1000000 bytes";
    else if (o.fail_tolerance < 0 || o.fail_tolerance > 1) err = "fail_tolerance: must be in [0, 1]";
    return err.empty();
}

engine::CloseMode close_mode(const std::string& s) {
    if (s == "client") return engine::CloseMode::ClientFirst;
    if (s == "rst") return engine::CloseMode::Rst;
    return engine::CloseMode::ServerFirst;
}

tcp::Secrets random_secrets() {
    std::random_device rd;
    auto k = [&] { return tcp::SipKey{(uint64_t{rd()} << 32) | rd(), (uint64_t{rd()} << 32) | rd()}; };
    return tcp::Secrets{k(), k(), k()};
}

tcp::StackConfig stack_config(const Options& o) {
    tcp::StackConfig c;
    c.max_conns = o.max_conns;
    c.max_timewait = o.max_timewait;
    c.msl_ms = o.msl_ms;
    c.half_open_limit = o.half_open_limit;
    c.cookies = o.cookies == "off" ? tcp::CookieMode::Off
                : o.cookies == "always" ? tcp::CookieMode::Always : tcp::CookieMode::Auto;
    return c;
}

struct StormCtx {
    engine::Worker* worker;
    std::atomic<bool>* stop;
};

int client_loop(void* arg) {
    auto* ctx = static_cast<StormCtx*>(arg);
    while (!ctx->stop->load(std::memory_order_relaxed)) ctx->worker->run_once(Instant{rte_rdtsc()});
    ctx->worker->flush();
    ctx->worker->publish();
    return 0;
}

int run_storm(const Options& o) {
    io::EalDefaults d;
    d.memory_mb = 1024;
    d.lcores = "0-1";
    auto eal_args = io::embedded_eal_args(d);
    eal_args.push_back("--log-level=lib.eal:error");
    if (auto chk = io::check_eal_args(eal_args); !chk.ok()) {
        std::cerr << "synwave: " << chk.error() << "\n";
        return 2;
    }
    io::EalOptions eo;
    eo.require_ports = false;
    auto eal = io::eal_init(eal_args, eo);
    if (!eal.ok()) {
        std::cerr << "synwave: EAL: " << eal.error() << "\n";
        return 2;
    }
    if (rte_lcore_count() < 2) {
        std::cerr << "synwave: storm needs 2 lcores (client and server); EAL has " << rte_lcore_count() << "\n";
        return 2;
    }
    int rc = 0;
    {
        const TscRate rate{rte_get_tsc_hz()};
        auto pair = io::RingPair::create("storm", 16384);
        if (!pair.ok()) {
            std::cerr << "synwave: ring pair: " << pair.error() << "\n";
            return 2;
        }
        const uint32_t mbufs = std::min<uint32_t>(262143, std::max<uint32_t>(32767, o.concurrency * 4));
        auto pool_s = io::make_pktmbuf_pool("storm_srv", mbufs, 256);
        auto pool_c = io::make_pktmbuf_pool("storm_cli", mbufs, 256);
        if (!pool_s.ok() || !pool_c.ok()) {
            std::cerr << "synwave: mempool: " << (pool_s.ok() ? pool_c.error() : pool_s.error()) << "\n";
            return 2;
        }
        rte_mempool* ps = pool_s.value().get();
        rte_mempool* pc = pool_c.value().get();
        io::PortConfig pcs, pcc;
        pcs.port_id = pair.value().port_a();
        pcc.port_id = pair.value().port_b();
        pcs.rx_desc = pcc.rx_desc = 4096;
        pcs.tx_desc = pcc.tx_desc = 4096;
        auto port_s = io::Port::open(pcs, std::span<rte_mempool* const>(&ps, 1));
        auto port_c = io::Port::open(pcc, std::span<rte_mempool* const>(&pc, 1));
        if (!port_s.ok() || !port_c.ok()) {
            std::cerr << "synwave: port: " << (port_s.ok() ? port_c.error() : port_s.error()) << "\n";
            return 2;
        }
        Ipv4 src_lo, src_hi;
        parse_range(o.src, src_lo, src_hi);
        const Ipv4 dst = *Ipv4::parse(o.dst);

        engine::ServerConfig scfg;
        scfg.behaviour = o.behaviour == "close" ? engine::ServerBehaviour::Close : engine::ServerBehaviour::Http;
        scfg.body_bytes = o.body;
        scfg.close = close_mode(o.close);
        engine::Server server(scfg);
        engine::ClientConfig ccfg;
        ccfg.src_lo = src_lo;
        ccfg.src_hi = src_hi;
        ccfg.dst = dst;
        ccfg.dport = o.port;
        ccfg.rate = o.rate;
        ccfg.ramp_ms = o.ramp_ms;
        ccfg.concurrency = o.concurrency;
        ccfg.max_connections = o.connections;
        ccfg.send_request = o.request && o.behaviour == "http";
        ccfg.close = close_mode(o.close);
        if (ccfg.send_request) ccfg.response_bytes = engine::http_response(o.body, false).size();
        engine::Client client(ccfg, rate);

        const tcp::StackConfig st = stack_config(o);
        engine::WorkerConfig ws, wc;
        ws.port = pcs.port_id;
        ws.pool = ps;
        ws.mac = port_s.value().mac();
        ws.ip_lo = ws.ip_hi = dst;
        ws.static_neighbour = true;
        ws.neighbour_mac = port_c.value().mac();
        ws.stack = st;
        wc = ws;
        wc.port = pcc.port_id;
        wc.pool = pc;
        wc.mac = port_c.value().mac();
        wc.ip_lo = src_lo;
        wc.ip_hi = src_hi;
        wc.neighbour_mac = port_s.value().mac();
        const Instant t0{rte_rdtsc()};
        engine::Worker wsrv(ws, rate, t0, random_secrets(), &server, nullptr);
        engine::Worker wcli(wc, rate, t0, random_secrets(), &client, &client);
        wsrv.stack().listen(o.port);

        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        std::atomic<bool> stop_client{false};
        StormCtx ctx{&wcli, &stop_client};
        const unsigned cl = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
        rte_eal_remote_launch(client_loop, &ctx, cl);

        const uint64_t hz = rate.hz;
        const uint64_t end = t0.cycles + static_cast<uint64_t>(o.duration * static_cast<double>(hz));
        uint64_t next_print = t0.cycles + hz;
        uint64_t drain_until = 0;
        engine::WorkerStats prev_c{}, prev_s{};
        uint32_t sec = 0;
        if (!o.quiet)
            std::printf("%4s %10s %10s %8s %8s %8s %8s %8s %8s\n", "t", "new/s", "done/s", "active", "tw_srv", "fail",
                        "rtx", "rx_Mpps", "tx_Mpps");
        for (;;) {
            const uint64_t now = rte_rdtsc();
            wsrv.run_once(Instant{now});
            if (now >= next_print) {
                next_print += hz;
                ++sec;
                wsrv.publish();
                const auto cs = wcli.read();
                const auto ss = wsrv.read();
                if (!o.quiet) {
                    const double rx = static_cast<double>(cs.engine.rx_packets - prev_c.engine.rx_packets +
                                                          ss.engine.rx_packets - prev_s.engine.rx_packets) / 1e6;
                    const double tx = static_cast<double>(cs.engine.tx_packets - prev_c.engine.tx_packets +
                                                          ss.engine.tx_packets - prev_s.engine.tx_packets) / 1e6;
                    std::printf("%4u %10lu %10lu %8u %8u %8lu %8lu %8.3f %8.3f\n", sec,
                                cs.app.conn_attempted - prev_c.app.conn_attempted,
                                cs.app.conn_completed - prev_c.app.conn_completed, cs.active, ss.timewait,
                                cs.app.conn_failed, cs.tcp.rtx_segments + ss.tcp.rtx_segments, rx, tx);
                    std::fflush(stdout);
                }
                prev_c = cs;
                prev_s = ss;
            }
            if (drain_until == 0 && (now >= end || g_stop.load())) {
                client.stop_launching();  // racy flag read by the client lcore at its next tick: benign
                drain_until = now + hz * 3;
            }
            if (drain_until != 0 && (now >= drain_until || (client.done() && wsrv.stack().active_conns() == 0)))
                break;
        }
        stop_client.store(true);
        rte_eal_wait_lcore(cl);
        wsrv.flush();
        wsrv.publish();
        const double secs = static_cast<double>(rte_rdtsc() - t0.cycles) / static_cast<double>(hz);
        const auto cs = wcli.read();
        const auto ss = wsrv.read();
        const double run_s = std::min(secs, o.duration);
        const uint64_t completed = cs.app.conn_completed;
        const double cps = static_cast<double>(completed) / run_s;
        const double pps = static_cast<double>(cs.engine.rx_packets + ss.engine.rx_packets) / run_s;
        const auto conn_lat = client.connect_ns.summary();
        const auto resp_lat = client.response_ns.summary();
        std::printf("\nsynwave storm: %.1f s on net_ring pair, 1 client lcore + 1 server lcore\n", run_s);
        std::printf("  connections attempted %lu, completed %lu, failed %lu (refused %lu, reset %lu, timeout %lu)\n",
                    cs.app.conn_attempted, completed, cs.app.conn_failed, cs.app.conn_failed_refused,
                    cs.app.conn_failed_reset, cs.app.conn_failed_timeout);
        std::printf("  rate %.0f connections/s, %.2f Mpps (both directions), %.1f packets/connection\n", cps, pps / 1e6,
                    completed ? static_cast<double>(cs.engine.rx_packets + ss.engine.rx_packets) /
                                    static_cast<double>(completed) : 0.0);
        std::printf("  connect latency %s\n  response latency %s\n", stats::format_text(conn_lat).c_str(),
                    stats::format_text(resp_lat).c_str());
        std::printf("  retransmits client %lu server %lu; server TIME_WAIT now %u; tx ring full %lu; no mbuf %lu\n",
                    cs.tcp.rtx_segments + cs.tcp.syn_rtx, ss.tcp.rtx_segments + ss.tcp.synack_rtx, ss.timewait,
                    cs.engine.tx_ring_full + ss.engine.tx_ring_full, cs.engine.tx_no_mbuf + ss.engine.tx_no_mbuf);
        if (!o.json_path.empty()) {
            json j;
            j["mode"] = "storm";
            j["duration_s"] = run_s;
            j["connections"] = {{"attempted", cs.app.conn_attempted}, {"connected", cs.app.conn_connected},
                                {"completed", completed}, {"failed", cs.app.conn_failed}};
            j["connections_per_s"] = cps;
            j["packets_per_s"] = pps;
            j["latency_ns"] = {{"connect", stats::to_json(conn_lat)}, {"response", stats::to_json(resp_lat)}};
            j["client"] = {{"app", stats::to_json(cs.app)}, {"tcp", stats::to_json(cs.tcp.events())}, {"engine", stats::to_json(cs.engine)}};
            j["server"] = {{"app", stats::to_json(server.c)}, {"tcp", stats::to_json(ss.tcp.events())}, {"engine", stats::to_json(ss.engine)},
                           {"timewait", ss.timewait}};
            std::ofstream f(o.json_path);
            f << j.dump(2) << "\n";
            if (!f) {
                std::cerr << "synwave: cannot write " << o.json_path << "\n";
                rc = 2;
            }
        }
        const double failed_frac = cs.app.conn_attempted ? static_cast<double>(cs.app.conn_failed) /
                                                               static_cast<double>(cs.app.conn_attempted) : 0.0;
        if (completed == 0 || failed_frac > o.fail_tolerance) {
            std::fprintf(stderr, "synwave: %lu of %lu connections failed (tolerance %.3f)\n", cs.app.conn_failed,
                         cs.app.conn_attempted, o.fail_tolerance);
            rc = 1;
        }
        port_s.value().close();
        port_c.value().close();
    }
    (void)io::eal_cleanup();
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    // DPDK's convention: program options, then `--`, then EAL options (server/client on real ports).
    std::vector<std::string> eal_extra;
    int app_argc = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") {
            app_argc = i;
            for (int k = i + 1; k < argc; ++k) eal_extra.emplace_back(argv[k]);
            break;
        }
    }
    Options o;
    CLI::App app{"synwave: a DPDK userspace TCP endpoint for handshake storms and L4 load"};
    app.require_subcommand(1);
    auto add_common = [&](CLI::App* s) {
        s->add_option("--config", o.config, "TOML config file (keys as the long options, underscores)");
        s->add_option("--duration", o.duration, "seconds to run (default 10)");
        s->add_option("--json", o.json_path, "write the final summary as JSON to this file");
        s->add_option("--max-conns", o.max_conns, "TCBs per lcore (connection table size)");
        s->add_option("--max-timewait", o.max_timewait, "TIME_WAIT records per lcore");
        s->add_option("--msl-ms", o.msl_ms, "maximum segment lifetime; TIME_WAIT lasts 2*MSL");
        s->add_option("--cookies", o.cookies, "SYN cookies: off, auto (beyond the half-open limit) or always");
        s->add_option("--half-open-limit", o.half_open_limit, "SYN-RECEIVED TCBs before cookies (auto) or drops (off)");
        s->add_option("--rate", o.rate, "client: new connections per second (0: limited by concurrency only)");
        s->add_option("--ramp-ms", o.ramp_ms, "client: ramp the rate up linearly over this many ms");
        s->add_option("--concurrency", o.concurrency, "client: open connections at most");
        s->add_option("--connections", o.connections, "client: stop after this many connections (0: duration only)");
        s->add_option("--close", o.close, "who closes first: client, server, or rst (abort)");
        s->add_flag("!--no-request", o.request, "client: no HTTP request, just handshake and close");
        s->add_option("--src", o.src, "client source addresses a.b.c.d[-e.f.g.h]");
        s->add_option("--dst", o.dst, "server address");
        s->add_option("--port", o.port, "server port");
        s->add_option("--behaviour", o.behaviour, "server: http (200 OK with --body bytes) or close");
        s->add_option("--body", o.body, "server: HTTP body bytes");
        s->add_option("--fail-tolerance", o.fail_tolerance, "fraction of failed connections tolerated before exit 1");
        s->add_flag("--quiet", o.quiet, "no per-second lines");
    };
    auto* storm = app.add_subcommand("storm", "client and server in one process over a net_ring pair (no NIC, no hugepages)");
    auto* server = app.add_subcommand("server", "serve connections on DPDK ports (EAL options after --)");
    auto* client = app.add_subcommand("client", "generate connections on DPDK ports (EAL options after --)");
    add_common(storm);
    add_common(server);
    add_common(client);
    try {
        app.parse(app_argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    // Config file first, then flags override: parse again on top of the file's values.
    if (!o.config.empty()) {
        Options fromfile = o;
        std::string err;
        if (!load_config(o.config, fromfile, err)) {
            std::cerr << "synwave: config: " << err << "\n";
            return 2;
        }
        o = fromfile;
        try {
            app.parse(app_argc, argv);  // flags given on the command line win
        } catch (const CLI::ParseError& e) {
            return app.exit(e);
        }
    }
    std::string err;
    if (!validate(o, err)) {
        std::cerr << "synwave: bad value: " << err << "\n";
        return 2;
    }
    if (storm->parsed()) return run_storm(o);
    std::cerr << "synwave: '" << (server->parsed() ? "server" : "client")
              << "' on real ports is not implemented yet (see README status); use 'storm'\n";
    (void)eal_extra;
    return 2;
}
