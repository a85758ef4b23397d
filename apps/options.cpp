#include "options.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>

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
    s.add_option("--src", o.src,
                 "client source addresses: IPv4 and/or IPv6, each an address or a range lo-hi, comma-separated, "
                 "at most one range per family (an IPv6 range: ends equal but for the last 32 bits, at most 2^24 "
                 "addresses), e.g. 10.1.0.1-10.1.0.64,2001:db8::1-2001:db8::40 (default: see --family)");
    s.add_option("--src-ports", o.src_ports, "client source ports lo[-hi] (default 1024-65535)");
    s.add_option("--dst", o.dst,
                 "client: the server's address, one per family, e.g. 10.0.0.1,2001:db8::1 (storm: also the "
                 "server's own addresses; default: see --family)");
    s.add_option("--v6-share", o.v6_share,
                 "client: fraction of new connections opened over IPv6, in [0, 1] (default 1 when only IPv6 has "
                 "both --src and --dst addresses, 0.5 when both families have, else 0)");
    s.add_option("--family", o.family,
                 "storm: the families of the default addresses: 4 (server 10.0.0.1, sources 10.1.0.1-10.1.0.64), "
                 "6 (server fd00::1, sources fd00:1::1-fd00:1::40) or 46 (both; --v6-share 0.5); --src and --dst "
                 "given override them");
    s.add_option("--port", o.port, "server port (listen or connect to)");
    s.add_option("--response-bytes", o.response_bytes, "client: length of a whole response (0: until the server's FIN)");
    s.add_option("--ip", o.ip,
                 "server: our addresses, IPv4 and/or IPv6 as --src (e.g. 10.0.0.1,fd00::1): listens on all of "
                 "them, answers ARP, Neighbor Discovery and echo for them (default 10.0.0.1; storm: the server "
                 "takes --dst)");
    s.add_option("--behaviour", o.behaviour, "server: http (200 OK with --body bytes), close, echo, or sink (receive and check the test pattern)");
    s.add_option("--echo-slots", o.echo_slots, "server echo: connections echoing at once per lcore (4 KiB x 2 each)");
    s.add_option("--body", o.body, "server: HTTP body bytes (the test pattern, see --behaviour sink; at most 256 MiB)");
    s.add_flag("--http-keepalive", o.http_keepalive, "server: keep connections open for more requests (HTTP/1.1 keep-alive)");
    s.add_option("--port-id", o.port_id, "DPDK port to use (server/client)");
    s.add_option("--peer-mac", o.peer_mac, "fixed next-hop MAC for every destination (no ARP / ND; excludes --gateway)");
    s.add_option("--gateway", o.gateway,
                 "next hop for every destination, at most one IPv4 and one IPv6 address (e.g. 10.0.0.254,fd00::fe), "
                 "resolved by ARP / Neighbor Discovery (default: destinations are on-link; excludes --peer-mac)");
    s.add_option("--vlan", o.vlan, "802.1Q VLAN ID (1 to 4094): every frame sent is tagged, only frames tagged so are taken");
    s.add_option("--vlan-pcp", o.vlan_pcp, "802.1Q priority of the tagged frames (0 to 7, default 0; needs --vlan)");
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
    s.add_flag("--check", o.check,
               "check the options, print what they resolve to (addresses per family, IPv6 share, VLAN, gateway, "
               "each storm lane's source slice) and exit without starting EAL");
    s.add_flag("--drain", o.drain,
               "after the run (and after its clients finished), keep polling until every connection, TIME_WAIT and "
               "SYN-RECEIVED record is gone (at most 2 MSL + 70 s; a second signal ends it), so the final figures "
               "show any record that leaked");
    s.add_flag("--hold", o.hold,
               "server/client: after the run and its summary, keep the port open without polling until "
               "SIGINT/SIGTERM (lets a net_memif peer stop first: DPDK 22.11 memif unmaps its shared memory "
               "under a peer that is still polling)");
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

std::string SrcSlice::addrs_text() const {
    std::string t = has4() ? range_text(lo, hi) : "";
    if (count6) {
        if (!t.empty()) t += ',';
        t += range6_text(lo6, count6);
    }
    return t;
}

std::vector<SrcSlice> split_sources(const Options& o, uint32_t lanes) {
    const AddrSet& a = o.src_addrs;
    SrcSlice all;
    if (lanes == 0 || (!a.has4 && !a.has6) || !parse_port_range(o.src_ports, all.port_lo, all.port_hi)) return {};
    if (a.has4) {
        all.lo = a.lo4;
        all.hi = a.hi4;
    }
    if (a.has6) {
        all.lo6 = a.lo6;
        all.count6 = a.count6;
    }
    const uint64_t ports = uint64_t{all.port_hi} - all.port_lo + 1;
    std::vector<SrcSlice> out;
    // Lane i gets [i*n/lanes, (i+1)*n/lanes): contiguous runs whose sizes differ by one at most.
    auto cut = [&](uint64_t n, uint32_t i) { return n * i / lanes; };
    if ((!a.has4 || a.count4() >= lanes) && (!a.has6 || a.count6 >= lanes)) {
        for (uint32_t i = 0; i < lanes; ++i) {
            SrcSlice s = all;
            if (a.has4) {
                s.lo = Ipv4{static_cast<uint32_t>(a.lo4.v + cut(a.count4(), i))};
                s.hi = Ipv4{static_cast<uint32_t>(a.lo4.v + cut(a.count4(), i + 1) - 1)};
            }
            if (a.has6) {
                s.lo6 = a.lo6.with_low32(static_cast<uint32_t>(a.lo6.low32() + cut(a.count6, i)));
                s.count6 = static_cast<uint32_t>(cut(a.count6, i + 1) - cut(a.count6, i));
            }
            out.push_back(s);
        }
    } else if (ports >= lanes) {
        // One family has fewer addresses than lanes: the ports are split instead, the same run for both
        // families (a lane's IPv4 and IPv6 tuples never meet another lane's: the ports differ).
        for (uint32_t i = 0; i < lanes; ++i) {
            SrcSlice s = all;
            s.port_lo = static_cast<uint16_t>(all.port_lo + cut(ports, i));
            s.port_hi = static_cast<uint16_t>(all.port_lo + cut(ports, i + 1) - 1);
            out.push_back(s);
        }
    }
    return out;
}

std::string range_text(uint16_t lo, uint16_t hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
}

namespace {

// The default addresses of each family (--family): the server's, and the client's sources.
constexpr const char* kServer4 = "10.0.0.1";
constexpr const char* kSources4 = "10.1.0.1-10.1.0.64";
constexpr const char* kServer6 = "fd00::1";
constexpr const char* kSources6 = "fd00:1::1-fd00:1::40";

std::string share_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// --family, --ip, --src, --dst and --v6-share: parsed, checked against each other, the defaults filled in, and
// the families the client will not use dropped from its sources and destinations.
bool resolve_addresses(Options& o, std::string& err) {
    const bool storm = o.mode == Mode::Storm;
    if (!o.family.empty() && o.family != "4" && o.family != "6" && o.family != "46") {
        err = "family: must be 4, 6 or 46: '" + o.family + "'";
        return false;
    }
    if (!o.family.empty() && !storm) {
        err = "family: only for storm (server and client take their addresses from --ip, --src and --dst)";
        return false;
    }
    if (storm && !o.ip.empty()) {
        err = "ip: storm's server answers on the client's --dst addresses: give --dst (or --family)";
        return false;
    }
    const bool four = o.family != "6", six = o.family == "6" || o.family == "46";
    auto pick = [&](const char* v4, const char* v6) {
        return std::string(four ? v4 : "") + (four && six ? "," : "") + (six ? v6 : "");
    };
    if (o.src.empty()) o.src = pick(kSources4, kSources6);
    if (o.dst.empty()) o.dst = pick(kServer4, kServer6);
    if (o.ip.empty()) o.ip = storm ? o.dst : kServer4;
    std::string why;
    if (!parse_addrs(o.src, o.src_addrs, why)) {
        err = "src: " + why;
        return false;
    }
    if (!parse_addrs(o.dst, o.dst_addrs, why)) {
        err = "dst: " + why;
        return false;
    }
    if (o.dst_addrs.count4() > 1 || o.dst_addrs.count6 > 1) {
        err = "dst: '" + o.dst + "' has a range: the client connects to one address per family";
        return false;
    }
    if (!parse_addrs(o.ip, o.ip_addrs, why)) {
        err = "ip: " + why;
        return false;
    }
    const AddrSet &src = o.src_addrs, &dst = o.dst_addrs;
    // --family names the families: addresses given beside it (options or config) must be of those.
    if (!o.family.empty()) {
        for (const auto& [key, a] : {std::pair<const char*, const AddrSet*>{"src", &src}, {"dst", &dst}}) {
            if (a->has4 == four && a->has6 == six) continue;
            const char* why = a->has4 && !four   ? "has an IPv4 address"
                              : a->has6 && !six   ? "has an IPv6 address"
                              : !a->has4 && four ? "has no IPv4 address"
                                                 : "has no IPv6 address";
            err = "family: " + o.family + ", but " + key + " '" + addrs_text(*a) + "' " + why;
            return false;
        }
    }
    const bool both4 = src.has4 && dst.has4, both6 = src.has6 && dst.has6;
    const std::string given = " (src '" + o.src + "', dst '" + o.dst + "')";
    if (!both4 && !both6) {
        err = "src, dst: no family has both a source and a destination address" + given;
        return false;
    }
    if (!o.v6_share) o.v6_share = both6 ? (both4 ? 0.5 : 1.0) : 0.0;
    const double share = *o.v6_share;
    if (!(share >= 0 && share <= 1)) {
        err = "v6_share: must be in [0, 1]: " + share_text(share);
        return false;
    }
    if (share > 0 && !both6) {
        err = "v6_share: " + share_text(share) + " > 0 needs IPv6 addresses in both src and dst" + given;
        return false;
    }
    if (share < 1 && !both4) {
        err = "v6_share: " + share_text(share) + " < 1 needs IPv4 addresses in both src and dst" + given;
        return false;
    }
    // A family the client opens no connection over takes no part in its tuples (nor in the storm server's
    // addresses, which are the client's destinations).
    if (share == 0) o.src_addrs.has6 = o.dst_addrs.has6 = false;
    if (share == 1) o.src_addrs.has4 = o.dst_addrs.has4 = false;
    if (storm) o.ip_addrs = o.dst_addrs;
    return true;
}

// --vlan, --vlan-pcp, --gateway and --peer-mac.
bool resolve_link(Options& o, std::string& err) {
    if (o.vlan && (*o.vlan < 1 || *o.vlan > 4094)) {
        err = "vlan: must be in [1, 4094] (IEEE 802.1Q: VLAN IDs 0 and 4095 are reserved): " + std::to_string(*o.vlan);
        return false;
    }
    if (o.vlan_pcp && !o.vlan) {
        err = "vlan_pcp: given without vlan (the priority is a field of the VLAN tag)";
        return false;
    }
    if (o.vlan_pcp && *o.vlan_pcp > 7) {
        err = "vlan_pcp: must be in [0, 7]: " + std::to_string(*o.vlan_pcp);
        return false;
    }
    if (!o.peer_mac.empty() && !Mac::parse(o.peer_mac)) {
        err = "peer_mac: not a MAC address aa:bb:cc:dd:ee:ff: '" + o.peer_mac + "'";
        return false;
    }
    o.gateway4.reset();
    o.gateway6.reset();
    if (o.gateway.empty()) return true;
    AddrSet g;
    std::string why;
    if (!parse_addrs(o.gateway, g, why)) {
        err = "gateway: " + why;
        return false;
    }
    if (g.count4() > 1 || g.count6 > 1) {
        err = "gateway: '" + o.gateway + "' has a range: give one address per family";
        return false;
    }
    // A fixed next-hop MAC sends every frame there without resolving anything, so a gateway beside it would
    // be silently unused: one or the other.
    if (!o.peer_mac.empty()) {
        err = "gateway: give either gateway (a next hop resolved by ARP / ND) or peer_mac (a fixed next-hop MAC), "
              "not both";
        return false;
    }
    if (o.mode == Mode::Storm) {
        err = "gateway: storm's client and server lanes are joined directly by their ring pair (no next hop)";
        return false;
    }
    const AddrSet& ours = o.mode == Mode::Server ? o.ip_addrs : o.src_addrs;
    const char* key = o.mode == Mode::Server ? "ip" : "src";
    if ((g.has4 && !ours.has4) || (g.has6 && !ours.has6)) {
        err = std::string("gateway: an IPv") + (g.has4 && !ours.has4 ? "4" : "6") + " gateway, but " + key +
              " has no IPv" + (g.has4 && !ours.has4 ? "4" : "6") + " address of ours to use it from";
        return false;
    }
    if (g.has4) o.gateway4 = g.lo4;
    if (g.has6) o.gateway6 = g.lo6;
    return true;
}

}  // namespace

bool finalize(Options& o, std::string& err) {
    const bool storm = o.mode == Mode::Storm;
    uint16_t plo = 0, phi = 0;
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
    else if (!resolve_addresses(o, err)) {
    } else if (!parse_port_range(o.src_ports, plo, phi))
        err = "src_ports: not a port or range lo[-hi] within [1, 65535]: '" + o.src_ports + "'";
    else if (o.lanes == 0 || o.lanes > kMaxLanes)
        err = "lanes: must be in [1, " + std::to_string(kMaxLanes) + "] (2 lcores each, at most 128 lcores)";
    else if (o.lanes > 1 && !storm)
        err = "lanes: only for storm (server and client run one lane per EAL lcore: give them `-l`)";
    else if (split_sources(o, o.lanes).empty()) {
        const AddrSet& a = o.src_addrs;
        err = "lanes: " + std::to_string(o.lanes) + " lanes need as many disjoint source slices, but src '" +
              addrs_text(a) + "' has " +
              (a.has4 && a.has6 ? std::to_string(a.count4()) + " IPv4 and " + std::to_string(a.count6) + " IPv6"
                                : std::to_string(a.count4() + a.count6)) +
              " address(es) and src_ports '" + o.src_ports + "' has " + std::to_string(phi - plo + 1) +
              " port(s) (the addresses of each family, or the ports, must number at least " +
              std::to_string(o.lanes) + ")";
    } else if (o.port == 0) err = "port: must be in [1, 65535]";
    else if (o.concurrency == 0) err = "concurrency: must be at least 1";
    else if (o.body > kMaxBody)
        err = "body: must be at most " + std::to_string(kMaxBody) + " bytes (the response is held in memory, once per lcore)";
    else if (o.fail_tolerance < 0 || o.fail_tolerance > 1) err = "fail_tolerance: must be in [0, 1]";
    else if (!(o.loss >= 0 && o.loss <= 50)) err = "loss: must be in [0, 50] percent";
    else (void)resolve_link(o, err);
    if (!err.empty()) return false;
    if (o.max_timewait == 0) o.max_timewait = storm ? (1u << 21) : (1u << 20);
    if (o.msl_ms == 0) o.msl_ms = storm ? 1000 : 30000;
    return true;
}

std::string describe(const Options& o) {
    const bool storm = o.mode == Mode::Storm;
    std::string t;
    auto line = [&](const std::string& k, const std::string& v) { t += "  " + k + ": " + v + "\n"; };
    t += std::string("synwave ") + (storm ? "storm" : o.mode == Mode::Server ? "server" : "client") + "\n";
    if (o.mode != Mode::Client) line(storm ? "server addresses (--dst)" : "ip", addrs_text(o.ip_addrs));
    if (o.mode != Mode::Server) {
        line("src", addrs_text(o.src_addrs) + " ports " + o.src_ports);
        line("dst", addrs_text(o.dst_addrs) + " port " + std::to_string(o.port));
        line("v6_share", share_text(o.v6_share.value_or(0)));
    }
    line("vlan", o.vlan ? std::to_string(*o.vlan) + " (pcp " + std::to_string(o.vlan_pcp.value_or(0)) + ")" : "none");
    std::string gw = o.gateway4 ? o.gateway4->str() : "";
    if (o.gateway6) gw += (gw.empty() ? "" : ",") + o.gateway6->str();
    line("gateway", gw.empty() ? "none (destinations on-link)" : gw);
    if (!o.peer_mac.empty()) line("peer_mac", o.peer_mac);
    if (storm) {
        const std::vector<SrcSlice> slices = split_sources(o, o.lanes);
        for (size_t i = 0; i < slices.size(); ++i)
            line("lane " + std::to_string(i) + " src",
                 slices[i].addrs_text() + " ports " + range_text(slices[i].port_lo, slices[i].port_hi));
    }
    return t;
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
    const AddrSet &src = o.src_addrs, &dst = o.dst_addrs;
    // A family the client does not use: no sources (lo > hi, an empty direct index) and no destination.
    c.src_lo = src.has4 ? src.lo4 : Ipv4{1};
    c.src_hi = src.has4 ? src.hi4 : Ipv4{0};
    c.dst = dst.has4 ? dst.lo4 : Ipv4{0};
    c.src6_lo = src.lo6;
    c.src6_count = src.has6 ? src.count6 : 0;
    c.dst6 = dst.has6 ? dst.lo6 : Ipv6{};
    c.v6_share = o.v6_share.value_or(0);
    (void)parse_port_range(o.src_ports, c.sport_lo, c.sport_hi);
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
