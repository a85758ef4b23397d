#include "options.hpp"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <set>

namespace synwave::app {

void add_options(CLI::App& s, Options& o) {
    s.add_option("--config", o.config, "TOML config file (keys as the long options, with underscores)");
    s.add_option("--duration", o.duration, "seconds to run (storm default 10; server/client: 0 = until Ctrl-C)");
    s.add_option("--json", o.json_path, "write the final summary as JSON to this file");
    s.add_option("--pcap", o.pcap, "capture every frame sent and received to <base>-lcore<N>.pcap");
    s.add_option("--max-conns", o.max_conns, "TCBs per lcore (connection table size)");
    s.add_option("--max-timewait", o.max_timewait, "TIME_WAIT records per lcore (0: mode default)");
    s.add_option("--msl-ms", o.msl_ms, "maximum segment lifetime; TIME_WAIT lasts 2*MSL (0: mode default)");
    s.add_option("--cookies", o.cookies, "SYN cookies: off, auto (beyond the half-open limit) or always");
    s.add_option("--half-open-limit", o.half_open_limit, "SYN-RECEIVED records (64 B each) before cookies (auto) or drops (off)");
    s.add_flag("--tcp-keepalive", o.tcp_keepalive, "TCP keepalive probes on idle connections (2 h idle, 75 s, 9)");
    s.add_option("--rate", o.rate, "client: new connections per second (0: limited by concurrency only)");
    s.add_option("--ramp-ms", o.ramp_ms, "client: ramp the rate up linearly over this many ms");
    s.add_option("--concurrency", o.concurrency, "client: open connections at most (per lcore)");
    s.add_option("--connections", o.connections, "client: stop after this many connections (0: duration only)");
    s.add_option("--close", o.close, "who closes first: client, server, or rst (abort)");
    s.add_flag("!--no-request", o.request, "client: no HTTP request, just handshake and close");
    s.add_option("--src", o.src, "client source addresses a.b.c.d[-e.f.g.h]");
    s.add_option("--src-ports", o.src_ports, "client source ports lo[-hi] (default 1024-65535)");
    s.add_option("--dst", o.dst, "client: server address");
    s.add_option("--port", o.port, "server port (listen or connect to)");
    s.add_option("--response-bytes", o.response_bytes, "client: length of a whole response (0: until the server's FIN)");
    s.add_option("--ip", o.ip, "server: our address(es) a.b.c.d[-e.f.g.h] (answers ARP and ICMP echo for them)");
    s.add_option("--behaviour", o.behaviour, "server: http (200 OK with --body bytes), close, echo, or sink (receive and check the test pattern)");
    s.add_option("--echo-slots", o.echo_slots, "server echo: connections echoing at once per lcore (4 KiB x 2 each)");
    s.add_option("--body", o.body, "server: HTTP body bytes (the test pattern, see --behaviour sink; at most 256 MiB)");
    s.add_flag("--http-keepalive", o.http_keepalive, "server: keep connections open for more requests (HTTP/1.1 keep-alive)");
    s.add_option("--port-id", o.port_id, "DPDK port to use (server/client)");
    s.add_option("--peer-mac", o.peer_mac, "fixed next-hop MAC (skips ARP)");
    s.add_option("--fail-tolerance", o.fail_tolerance, "fraction of failed connections tolerated before exit 1");
    s.add_option("--lanes", o.lanes,
                 "storm: client/server lcore pairs, each joined by its own net_ring pair and given a disjoint slice "
                 "of the source tuples (--src split among the lanes, or --src-ports when there are fewer addresses "
                 "than lanes); 2 lcores per lane, allowed to share CPUs (1 to " + std::to_string(kMaxLanes) + ")");
    s.add_option("--loss", o.loss,
                 "percent of received frames each lcore drops on purpose before looking at them (an impaired link "
                 "for soaks and tests; counted as rx_loss_injected; storm: both directions between the lanes)");
    s.add_option("--loss-seed", o.loss_seed, "seed of --loss's generator (each lcore's port and queue are mixed in)");
    s.add_flag("--quiet", o.quiet, "no per-second lines");
    s.add_flag("--drain", o.drain,
               "after the run (and after its clients finished), keep polling until every connection, TIME_WAIT and "
               "SYN-RECEIVED record is gone (at most 2 MSL + 70 s; a second signal ends it), so the final figures "
               "show any record that leaked");
    s.add_flag("--hold", o.hold,
               "server/client: after the run and its summary, keep the port open without polling until "
               "SIGINT/SIGTERM (lets a net_memif peer stop first: DPDK 22.11 memif unmaps its shared memory "
               "under a peer that is still polling)");
}

bool parse_range(const std::string& s, Ipv4& lo, Ipv4& hi) {
    const auto dash = s.find('-');
    auto a = Ipv4::parse(s.substr(0, dash));
    auto b = dash == std::string::npos ? a : Ipv4::parse(s.substr(dash + 1));
    if (!a || !b || b->v < a->v) return false;
    lo = *a;
    hi = *b;
    return true;
}

bool parse_port_range(const std::string& s, uint16_t& lo, uint16_t& hi) {
    auto number = [](std::string_view t, uint16_t& out) {
        if (t.empty() || t.size() > 5) return false;
        uint32_t v = 0;
        for (char ch : t) {
            if (ch < '0' || ch > '9') return false;
            v = v * 10 + static_cast<uint32_t>(ch - '0');
        }
        if (v == 0 || v > 65535) return false;
        out = static_cast<uint16_t>(v);
        return true;
    };
    const auto dash = s.find('-');
    uint16_t a = 0, b = 0;
    if (!number(std::string_view(s).substr(0, dash), a)) return false;
    if (dash == std::string::npos) b = a;
    else if (!number(std::string_view(s).substr(dash + 1), b)) return false;
    if (b < a) return false;
    lo = a;
    hi = b;
    return true;
}

std::vector<SrcSlice> split_sources(const Options& o, uint32_t lanes) {
    SrcSlice all;
    if (lanes == 0 || !parse_range(o.src, all.lo, all.hi) || !parse_port_range(o.src_ports, all.port_lo, all.port_hi))
        return {};
    const uint64_t addrs = uint64_t{all.hi.v} - all.lo.v + 1;
    const uint64_t ports = uint64_t{all.port_hi} - all.port_lo + 1;
    std::vector<SrcSlice> out;
    // Lane i gets [i*n/lanes, (i+1)*n/lanes): contiguous runs whose sizes differ by one at most.
    auto cut = [&](uint64_t n, uint32_t i) { return n * i / lanes; };
    if (addrs >= lanes) {
        for (uint32_t i = 0; i < lanes; ++i) {
            SrcSlice s = all;
            s.lo = Ipv4{static_cast<uint32_t>(all.lo.v + cut(addrs, i))};
            s.hi = Ipv4{static_cast<uint32_t>(all.lo.v + cut(addrs, i + 1) - 1)};
            out.push_back(s);
        }
    } else if (ports >= lanes) {
        for (uint32_t i = 0; i < lanes; ++i) {
            SrcSlice s = all;
            s.port_lo = static_cast<uint16_t>(all.port_lo + cut(ports, i));
            s.port_hi = static_cast<uint16_t>(all.port_lo + cut(ports, i + 1) - 1);
            out.push_back(s);
        }
    }
    return out;
}

std::string range_text(Ipv4 lo, Ipv4 hi) { return lo == hi ? lo.str() : lo.str() + "-" + hi.str(); }
std::string range_text(uint16_t lo, uint16_t hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

bool load_config(const std::string& path, Options& o, std::string& err) {
    toml::table t;
    try {
        t = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        err = path + ": " + std::string(e.description());
        return false;
    }
    static const std::set<std::string> known = {
        "duration", "json", "pcap", "max_conns", "max_timewait", "msl_ms", "cookies", "half_open_limit",
        "tcp_keepalive", "response_bytes", "rate", "ramp_ms", "concurrency", "connections", "close", "request", "src",
        "src_ports", "dst", "port", "ip", "behaviour", "body", "http_keepalive", "echo_slots", "port_id", "peer_mac",
        "eal", "fail_tolerance", "quiet", "hold", "lanes", "loss", "loss_seed", "drain"};
    for (auto&& [k, v] : t) {
        if (!known.count(std::string(k.str()))) {
            err = path + ": unknown key '" + std::string(k.str()) + "'";
            return false;
        }
    }
    bool ok = true;
    auto num = [&](const char* k, auto& dst) {
        auto node = t[k];
        if (!node) return;
        auto v = node.value<int64_t>();
        using T = std::remove_reference_t<decltype(dst)>;
        if (!v || *v < 0 || static_cast<uint64_t>(*v) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
            if (ok) err = path + ": key '" + k + "' must be an integer in [0, " +
                          std::to_string(static_cast<uint64_t>(std::numeric_limits<T>::max())) + "]";
            ok = false;
            return;
        }
        dst = static_cast<T>(*v);
    };
    auto str = [&](const char* k, std::string& dst) {
        auto node = t[k];
        if (!node) return;
        if (auto v = node.value<std::string>()) {
            dst = *v;
        } else {
            if (ok) err = path + ": key '" + k + "' must be a string";
            ok = false;
        }
    };
    auto boolean = [&](const char* k, bool& dst) {
        auto node = t[k];
        if (!node) return;
        if (auto v = node.value<bool>()) {
            dst = *v;
        } else {
            if (ok) err = path + ": key '" + k + "' must be true or false";
            ok = false;
        }
    };
    auto real = [&](const char* k, double& dst) {
        auto node = t[k];
        if (!node) return;
        if (auto v = node.value<double>()) {
            dst = *v;
        } else {
            if (ok) err = path + ": key '" + k + "' must be a number";
            ok = false;
        }
    };
    real("duration", o.duration);
    str("json", o.json_path);
    str("pcap", o.pcap);
    num("max_conns", o.max_conns);
    num("max_timewait", o.max_timewait);
    num("msl_ms", o.msl_ms);
    str("cookies", o.cookies);
    num("half_open_limit", o.half_open_limit);
    boolean("tcp_keepalive", o.tcp_keepalive);
    num("rate", o.rate);
    num("ramp_ms", o.ramp_ms);
    num("concurrency", o.concurrency);
    num("connections", o.connections);
    str("close", o.close);
    boolean("request", o.request);
    str("src", o.src);
    str("src_ports", o.src_ports);
    str("dst", o.dst);
    num("port", o.port);
    num("response_bytes", o.response_bytes);
    str("ip", o.ip);
    str("behaviour", o.behaviour);
    num("body", o.body);
    num("echo_slots", o.echo_slots);
    boolean("http_keepalive", o.http_keepalive);
    num("port_id", o.port_id);
    str("peer_mac", o.peer_mac);
    real("fail_tolerance", o.fail_tolerance);
    boolean("quiet", o.quiet);
    boolean("hold", o.hold);
    boolean("drain", o.drain);
    num("lanes", o.lanes);
    real("loss", o.loss);
    num("loss_seed", o.loss_seed);
    if (auto* arr = t["eal"].as_array()) {
        o.eal.clear();
        for (auto&& e : *arr) {
            auto v = e.value<std::string>();
            if (!v) {
                if (ok) err = path + ": key 'eal' must be an array of strings";
                ok = false;
                break;
            }
            o.eal.push_back(*v);
        }
    } else if (t["eal"]) {
        if (ok) err = path + ": key 'eal' must be an array of strings";
        ok = false;
    }
    return ok;
}

bool finalize(Options& o, std::string& err) {
    Ipv4 a, b;
    const bool storm = o.mode == Mode::Storm;
    if (o.duration == -1) o.duration = storm ? 10 : 0;
    if (o.duration < 0 || o.duration > 86400 || (storm && o.duration == 0))
        err = storm ? "duration: must be in (0, 86400] seconds" : "duration: must be in [0, 86400] seconds (0: until Ctrl-C)";
    else if (o.max_conns < 16 || o.max_conns > (1u << 24)) err = "max_conns: must be in [16, 16777216]";
    else if (o.max_timewait > (1u << 24)) err = "max_timewait: must be at most 16777216";
    else if (o.half_open_limit > (1u << 24)) err = "half_open_limit: must be at most 16777216";
    else if (o.msl_ms > 600000) err = "msl_ms: must be at most 600000";
    else if (o.cookies != "off" && o.cookies != "auto" && o.cookies != "always") err = "cookies: must be off, auto or always";
    else if (o.close != "client" && o.close != "server" && o.close != "rst") err = "close: must be client, server or rst";
    else if (o.behaviour != "http" && o.behaviour != "close" && o.behaviour != "echo" && o.behaviour != "sink")
        err = "behaviour: must be http, close, echo or sink";
    else if (o.echo_slots > (1u << 20)) err = "echo_slots: must be at most 1048576";
    else if (!parse_range(o.src, a, b)) err = "src: not an IPv4 address or range a.b.c.d[-e.f.g.h]: '" + o.src + "'";
    else if (uint16_t plo = 0, phi = 0; !parse_port_range(o.src_ports, plo, phi))
        err = "src_ports: not a port or range lo[-hi] within [1, 65535]: '" + o.src_ports + "'";
    else if (o.lanes == 0 || o.lanes > kMaxLanes)
        err = "lanes: must be in [1, " + std::to_string(kMaxLanes) + "] (2 lcores each, at most 128 lcores)";
    else if (o.lanes > 1 && !storm)
        err = "lanes: only for storm (server and client run one lane per EAL lcore: give them `-l`)";
    else if (split_sources(o, o.lanes).empty())
        err = "lanes: " + std::to_string(o.lanes) + " lanes need as many disjoint source slices, but src '" + o.src +
              "' has " + std::to_string(uint64_t{b.v} - a.v + 1) + " address(es) and src_ports '" + o.src_ports +
              "' has " + std::to_string(phi - plo + 1) + " port(s) (one of them must have at least " +
              std::to_string(o.lanes) + ")";
    else if (!parse_range(o.ip, a, b)) err = "ip: not an IPv4 address or range a.b.c.d[-e.f.g.h]: '" + o.ip + "'";
    else if (!Ipv4::parse(o.dst)) err = "dst: not an IPv4 address: '" + o.dst + "'";
    else if (o.port == 0) err = "port: must be in [1, 65535]";
    else if (o.concurrency == 0) err = "concurrency: must be at least 1";
    else if (o.body > kMaxBody)
        err = "body: must be at most " + std::to_string(kMaxBody) + " bytes (the response is held in memory, once per lcore)";
    else if (o.fail_tolerance < 0 || o.fail_tolerance > 1) err = "fail_tolerance: must be in [0, 1]";
    else if (!(o.loss >= 0 && o.loss <= 50)) err = "loss: must be in [0, 50] percent";
    else if (!o.peer_mac.empty() && !Mac::parse(o.peer_mac)) err = "peer_mac: not a MAC address aa:bb:cc:dd:ee:ff: '" + o.peer_mac + "'";
    if (!err.empty()) return false;
    if (o.max_timewait == 0) o.max_timewait = storm ? (1u << 21) : (1u << 20);
    if (o.msl_ms == 0) o.msl_ms = storm ? 1000 : 30000;
    return true;
}

engine::CloseMode close_mode(const std::string& s) {
    if (s == "client") return engine::CloseMode::ClientFirst;
    if (s == "rst") return engine::CloseMode::Rst;
    return engine::CloseMode::ServerFirst;
}

tcp::StackConfig stack_config(const Options& o) {
    tcp::StackConfig c;
    c.max_conns = o.max_conns;
    c.max_timewait = o.max_timewait;
    c.msl_ms = o.msl_ms;
    c.half_open_limit = o.half_open_limit;
    c.keepalive = o.tcp_keepalive;
    c.cookies = o.cookies == "off" ? tcp::CookieMode::Off
                : o.cookies == "always" ? tcp::CookieMode::Always : tcp::CookieMode::Auto;
    return c;
}

engine::ServerConfig server_config(const Options& o) {
    engine::ServerConfig s;
    s.behaviour = o.behaviour == "close"  ? engine::ServerBehaviour::Close
                  : o.behaviour == "echo" ? engine::ServerBehaviour::Echo
                  : o.behaviour == "sink" ? engine::ServerBehaviour::Sink
                                          : engine::ServerBehaviour::Http;
    s.echo_slots = o.echo_slots;
    s.body_bytes = o.body;
    s.close = close_mode(o.close);
    s.keepalive = o.http_keepalive;
    return s;
}

engine::ClientConfig client_config(const Options& o) {
    engine::ClientConfig c;
    (void)parse_range(o.src, c.src_lo, c.src_hi);
    (void)parse_port_range(o.src_ports, c.sport_lo, c.sport_hi);
    c.dst = *Ipv4::parse(o.dst);
    c.dport = o.port;
    c.rate = o.rate;
    c.ramp_ms = o.ramp_ms;
    c.concurrency = o.concurrency;
    c.max_connections = o.connections;
    c.send_request = o.request && o.behaviour == "http";
    c.close = close_mode(o.close);
    // The storm knows its server's response; against another server the length comes from the option, or the
    // server's FIN ends the response.
    c.response_bytes = o.response_bytes;
    if (o.mode == Mode::Storm && c.send_request) c.response_bytes = engine::http_response(o.body, false).size();
    return c;
}

}  // namespace synwave::app
