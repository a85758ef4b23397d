#include "options.hpp"

#include "cli_kit.hpp"

#include <algorithm>

#include "metrics.hpp"

namespace synwave::app {

void add_options(CLI::App& s, Options& o) {
    add_text(s, "--config", o.config, "TOML config file (keys as the long options, with underscores)", "FILE");
    add_real(s, "-d,--duration", o.duration,
             "seconds to run (default: storm 10; server/client 0 = until Ctrl-C)", "SECONDS")->default_str("");
    add_text(s, "--json", o.json_path, "write the final summary as JSON to this file", "FILE");
    add_text(s, "--csv", o.csv_path, "write the per-second series as CSV to this file", "FILE");
    add_text(s, "--metrics", o.metrics, "serve Prometheus metrics on ADDR:PORT (text format 0.0.4, /metrics)",
             "ADDR:PORT");
    add_text(s, "--instance", o.instance_text,
             "client: I/N, this process is instance I (0 to N-1) of N and takes the I-th of N disjoint slices of "
             "the source tuples", "I/N");
    add_text(s, "--pcap", o.pcap, "capture every frame sent and received to <base>-lcore<N>.pcap", "BASE");
    add_whole(s, "--max-conns", o.max_conns, "TCBs per lcore (connection table size)", "TCBS");
    add_whole(s, "--max-timewait", o.max_timewait, "TIME_WAIT records per lcore (0: mode default, storm 2^21, "
              "else 2^20)", "RECORDS");
    add_whole(s, "--msl-ms", o.msl_ms, "maximum segment lifetime in ms; TIME_WAIT lasts 2*MSL (0: mode default, "
              "storm 1000, else 30000)", "MS");
    add_text(s, "--cookies", o.cookies, "SYN cookies: off, auto (beyond the half-open limit) or always", "MODE");
    add_whole(s, "--half-open-limit", o.half_open_limit,
              "SYN-RECEIVED records (64 B each) before cookies (auto) or drops (off)", "RECORDS");
    s.add_flag("--tcp-keepalive", o.tcp_keepalive, "TCP keepalive probes on idle connections (2 h idle, 75 s, 9)");
    add_whole(s, "-r,--rate", o.rate, "client: new connections per second (0: limited by concurrency only)",
              "CONNS/S");
    add_whole(s, "--ramp-ms", o.ramp_ms, "client: ramp the rate up linearly over this many ms", "MS");
    add_whole(s, "-c,--concurrency", o.concurrency, "client: open connections at most (per lcore)", "CONNS");
    add_whole(s, "-n,--total", o.connections,
              "client: total connections to open, then stop (0: until --duration ends)", "CONNS");
    add_text(s, "--close", o.close, "who closes first: client, server, or rst (abort)", "SIDE");
    s.add_flag_callback("--no-request", [&o] { o.request = false; }, "client: no HTTP request, just handshake and close");
    add_text(s, "--src", o.src,
             "client source addresses: IPv4 and/or IPv6, each an address or a range lo-hi, comma-separated, "
             "at most one range per family (an IPv6 range: ends equal but for the last 32 bits, at most 2^20 "
             "addresses), e.g. 10.1.0.1-10.1.0.64,2001:db8::1-2001:db8::40 (default: see --family)", "ADDRS");
    add_text(s, "--src-ports", o.src_ports, "client source ports lo[-hi]", "PORTS");
    add_text(s, "--dst", o.dst,
             "client: the servers' addresses, any number of addresses and ranges of either family, e.g. "
             "10.0.0.1-10.0.0.3,10.0.0.9,2001:db8::1 (storm: also the server's own addresses; default: see "
             "--family)", "ADDRS");
    add_real(s, "--v6-share", o.v6_share,
             "client: fraction of new connections opened over IPv6, in [0, 1] (default 1 when only IPv6 has "
             "both --src and --dst addresses, 0.5 when both families have, else 0)", "FRACTION");
    add_text(s, "--family", o.family,
             "storm: the families of the default addresses: 4 (server 10.0.0.1, sources 10.1.0.1-10.1.0.64), "
             "6 (server fd00::1, sources fd00:1::1-fd00:1::40) or 46 (both; --v6-share 0.5); --src and --dst "
             "given override them (default 4)", "4|6|46");
    add_text(s, "--port", o.port_text,
             "server: the port to listen on; client: the servers' ports, a list of ports and ranges, e.g. "
             "80,8080 or 8000-8009 (every --dst on every port; storm: the server listens on all)", "PORTS");
    add_text(s, "--tuple-order", o.tuple_order,
             "client: seq (destination address fastest, then destination port, source port, source address) "
             "or random (a fixed pseudo-random permutation of the same tuples: each used once per pass, "
             "so a tuple comes back after as many connections as in seq)", "ORDER");
    add_whole(s, "--tuple-seed", o.tuple_seed, "client: the seed of --tuple-order random's permutation", "SEED");
    add_whole(s, "--response-bytes", o.response_bytes,
              "client: check that every whole response is this many bytes, head and body (0: no check; responses "
              "end by their framing)", "BYTES");
    add_text(s, "--ip", o.ip,
             "server: our addresses, IPv4 and/or IPv6 as --src (e.g. 10.0.0.1,fd00::1): listens on all of "
             "them, answers ARP, Neighbor Discovery and echo for them (default 10.0.0.1; storm: the server "
             "takes --dst)", "ADDRS");
    add_text(s, "--behaviour", o.behaviour,
             "server: http (200 OK with --body bytes), close, echo, or sink (receive and check the test pattern)",
             "KIND");
    add_whole(s, "--echo-slots", o.echo_slots, "server echo: connections echoing at once per lcore (4 KiB x 2 each)",
              "CONNS");
    add_whole(s, "--body", o.body, "server: HTTP body bytes (the test pattern, see --behaviour sink; at most 256 MiB)",
              "BYTES");
    s.add_flag("--http-keepalive", o.http_keepalive,
               "server: keep connections open for more requests while the client asks (HTTP/1.1 by default, 1.0 with "
               "Connection: keep-alive; a request with Connection: close gets its response and the close)");
    add_http_options(s, o);
    add_text(s, "--port-id", o.port_id,
             "server/client: the DPDK port(s) to use, e.g. 0 or 0,1 (default 0). The lcores are spread over the "
             "ports (port k gets the k-th share of them, one queue each); --ip, --src, --dst, --gateway and "
             "--peer-mac then take one list for every port or one per port separated by ';' "
             "(e.g. --ip '10.0.0.1;10.0.1.1'); a client's ports sharing one --src get disjoint slices of it", "IDS");
    add_text(s, "--peer-mac", o.peer_mac,
             "server/client: fixed next-hop MAC for every destination (no ARP / ND; excludes --gateway)", "MAC");
    add_text(s, "--gateway", o.gateway,
             "server/client: next hop for every destination, at most one IPv4 and one IPv6 address (e.g. "
             "10.0.0.254,fd00::fe), resolved by ARP / Neighbor Discovery (default: destinations are on-link; "
             "excludes --peer-mac)", "ADDRS");
    add_whole(s, "--vlan", o.vlan,
              "802.1Q VLAN ID (1 to 4094): every frame sent is tagged, only frames tagged so are taken (default: "
              "untagged)", "ID");
    add_whole(s, "--vlan-pcp", o.vlan_pcp, "802.1Q priority of the tagged frames (0 to 7, default 0; needs --vlan)",
              "PCP");
    add_real(s, "--fail-tolerance", o.fail_tolerance, "fraction of failed connections tolerated before exit 1",
             "FRACTION");
    add_whole(s, "--lanes", o.lanes,
              "storm: client/server lcore pairs, each joined by its own net_ring pair and given a disjoint slice "
              "of the source tuples (--src split among the lanes, or --src-ports when there are fewer addresses "
              "than lanes); 2 lcores per lane, allowed to share CPUs (1 to " + std::to_string(kMaxLanes) + ")",
              "LANES");
    add_real(s, "--loss", o.loss,
             "percent of received frames each lcore drops on purpose before looking at them (an impaired link "
             "for soaks and tests; counted as rx_loss_injected; storm: both directions between the lanes)",
             "PERCENT");
    add_whole(s, "--loss-seed", o.loss_seed, "seed of --loss's generator (each lcore's port and queue are mixed in)",
              "SEED");
    s.add_flag("--quiet", o.quiet, "no per-second lines");
    s.add_flag("--check", o.check,
               "check the options, print what they resolve to (addresses per family, IPv6 share, VLAN, gateway, "
               "each storm lane's source slice) and exit without starting EAL");
    s.add_flag("--drain", o.drain,
               "after the run (and after its clients finished), keep polling until every connection, TIME_WAIT and "
               "SYN-RECEIVED record is gone (at most 2 MSL + 70 s; a second signal ends it), so the final figures "
               "show any record that leaked");
    s.add_flag("--hold", o.hold,
               "after the run and its summary, keep the port open without polling until SIGINT/SIGTERM (lets a "
               "net_memif peer stop first: DPDK 22.11 memif unmaps its shared memory under a peer that is still "
               "polling; --metrics serves the final figures meanwhile)");
    add_flood_options(s, o);
}

bool parse_port_range(const std::string& s, uint16_t& lo, uint16_t& hi, std::string& why) {
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
    if (!number(std::string_view(s).substr(0, dash), a) ||
        (dash != std::string::npos && !number(std::string_view(s).substr(dash + 1), b))) {
        why = "not a port or range lo[-hi] within [1, 65535]: '" + s + "'";
        return false;
    }
    if (dash == std::string::npos) b = a;
    if (b < a) {
        why = "range '" + s + "' is reversed (its first port is above its last)";
        return false;
    }
    lo = a;
    hi = b;
    return true;
}

bool parse_port_range(const std::string& s, uint16_t& lo, uint16_t& hi) {
    std::string why;
    return parse_port_range(s, lo, hi, why);
}

bool parse_port_list(const std::string& s, std::vector<uint16_t>& out, std::string& err) {
    out.clear();
    std::vector<bool> seen(65536);
    size_t start = 0;
    for (;;) {
        const size_t comma = s.find(',', start);
        std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        uint16_t lo = 0, hi = 0;
        std::string why;
        if (!parse_port_range(item, lo, hi, why)) {
            err = (why.find("reversed") != std::string::npos
                       ? why
                       : "not a port, range lo-hi or list of them within [1, 65535]: '" + item + "'") +
                  (item == s ? "" : " (in '" + s + "')");
            return false;
        }
        for (uint32_t p = lo; p <= hi; ++p) {
            if (seen[p]) {
                err = "port " + std::to_string(p) + " given twice: '" + s + "'";
                return false;
            }
            seen[p] = true;
            out.push_back(static_cast<uint16_t>(p));
        }
        if (comma == std::string::npos) return true;
        start = comma + 1;
    }
}

std::string range_text(uint16_t lo, uint16_t hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

namespace {

// Each client's tuples of a family (its sources x destinations x ports) are numbered in 64 bits
// (engine/tuple_space.hpp): at most 2^62 of them.
bool tuple_space_fits(const Options& o, std::string& err) {
    if (o.mode == Mode::Server) return true;
    for (const PortSetup& p : o.ports) {
        const double ports = static_cast<double>(p.src.port_hi - p.src.port_lo + 1) *
                             static_cast<double>(o.ports_list.size());
        const double n4 = p.src.has4() ? static_cast<double>(p.src.hi.v - p.src.lo.v + 1) : 0;
        const double n = std::max(n4 * static_cast<double>(p.dsts.v4.size()),
                                  static_cast<double>(p.src.count6) * static_cast<double>(p.dsts.v6.size()));
        if (n * ports > 0x1p62) {
            err = "dst, port: src '" + p.src.addrs_text() + "' x src_ports x dst '" + dsts_text(p.dsts) + "' x port '" +
                  o.port_text + "' has more than 2^62 tuples";
            return false;
        }
    }
    return true;
}

}  // namespace

bool finalize(Options& o, std::string& err) {
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
    else if (!resolve_network(o, err)) {
    } else if (!finalize_instance(o, err)) {
    } else if (o.lanes == 0 || o.lanes > kMaxLanes)
        err = "lanes: must be in [1, " + std::to_string(kMaxLanes) + "] (2 lcores each, at most 128 lcores)";
    else if (split_sources(o.ports[0].src, o.lanes).empty()) {
        const SrcSlice& a = o.ports[0].src;
        const uint64_t n4 = a.has4() ? uint64_t{a.hi.v} - a.lo.v + 1 : 0;
        err = "lanes: " + std::to_string(o.lanes) + " lanes need as many disjoint source slices, but src '" +
              a.addrs_text() + "' has " +
              (n4 && a.count6 ? std::to_string(n4) + " IPv4 and " + std::to_string(a.count6) + " IPv6"
                              : std::to_string(n4 + a.count6)) +
              " address(es) and src_ports '" + o.src_ports + "' has " + std::to_string(a.port_hi - a.port_lo + 1) +
              " port(s) (the addresses of each family, or the ports, must number at least " +
              std::to_string(o.lanes) + ")";
    } else if (!parse_port_list(o.port_text, o.ports_list, err)) {
        err = "port: " + err;
    } else if (o.mode == Mode::Server && o.ports_list.size() > 1)
        err = "port: the server listens on one port: '" + o.port_text + "'";
    else if (o.tuple_order != "seq" && o.tuple_order != "random") err = "tuple_order: must be seq or random";
    else if (!tuple_space_fits(o, err)) {
    }
    else if (o.concurrency == 0) err = "concurrency: must be at least 1";
    else if (o.body > kMaxBody)
        err = "body: must be at most " + std::to_string(kMaxBody) + " bytes (the response is held in memory, once per lcore)";
    else if (o.fail_tolerance < 0 || o.fail_tolerance > 1) err = "fail_tolerance: must be in [0, 1]";
    else if (!(o.loss >= 0 && o.loss <= 50)) err = "loss: must be in [0, 50] percent";
    else if (!check_metrics(o.metrics, err)) {  // a port in use said before EAL starts
    }
    if (!err.empty()) return false;
    o.port = o.ports_list.front();
    if (!finalize_http(o, err) || !finalize_flood(o, err)) return false;
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
    s.routes = o.routes;
    s.limits.max_header = o.max_header;
    s.limits.max_body = o.max_request_body;
    s.http_slots = o.http_slots;
    return s;
}

engine::ClientConfig client_config(const Options& o, const PortSetup& p) {
    engine::ClientConfig c;
    // A family the client does not use: no sources (lo > hi, an empty direct index) and no destination.
    c.src_lo = p.src.lo;
    c.src_hi = p.src.hi;
    c.src6_lo = p.src.lo6;
    c.src6_count = p.src.count6;
    c.sport_lo = p.src.port_lo;
    c.sport_hi = p.src.port_hi;
    c.dsts = p.dsts.v4;
    c.dsts6 = p.dsts.v6;
    c.v6_share = o.v6_share.value_or(0);
    c.dports = o.ports_list;
    c.order = o.tuple_order == "random" ? engine::TupleOrder::Random : engine::TupleOrder::Sequential;
    c.tuple_seed = o.tuple_seed;
    c.rate = o.rate;
    c.ramp_ms = o.ramp_ms;
    c.concurrency = o.concurrency;
    c.max_connections = o.connections;
    c.send_request = o.request && o.behaviour == "http";
    c.close = close_mode(o.close);
    c.requests = o.request_defs;
    c.requests_per_conn = o.requests;
    c.think_us = static_cast<uint32_t>(o.think_ms * 1000);
    c.expect = o.expect;
    // Responses end by their framing (RFC 9112 §6.3); a given length is checked besides.
    c.response_bytes = o.response_bytes;
    return c;
}

}  // namespace synwave::app
