// The network options: ports, addresses of both families, IPv6 share, VLAN, next hops; resolved into one
// PortSetup per port and checked against each other.
#include <algorithm>
#include <cstdio>
#include <set>

#include "options.hpp"

namespace synwave::app {

std::string SrcSlice::addrs_text() const {
    std::string t = has4() ? range_text(lo, hi) : "";
    if (count6) {
        if (!t.empty()) t += ',';
        t += range6_text(lo6, count6);
    }
    return t;
}

std::vector<SrcSlice> split_sources(const SrcSlice& all, uint32_t n) {
    const uint64_t count4 = all.has4() ? uint64_t{all.hi.v} - all.lo.v + 1 : 0;
    const uint64_t ports = uint64_t{all.port_hi} - all.port_lo + 1;
    std::vector<SrcSlice> out;
    if (n == 0 || (count4 == 0 && all.count6 == 0)) return out;
    // Slice i gets [i*k/n, (i+1)*k/n): contiguous runs whose sizes differ by one at most.
    auto cut = [&](uint64_t k, uint32_t i) { return k * i / n; };
    if ((count4 == 0 || count4 >= n) && (all.count6 == 0 || all.count6 >= n)) {
        for (uint32_t i = 0; i < n; ++i) {
            SrcSlice s = all;
            if (count4) {
                s.lo = Ipv4{static_cast<uint32_t>(all.lo.v + cut(count4, i))};
                s.hi = Ipv4{static_cast<uint32_t>(all.lo.v + cut(count4, i + 1) - 1)};
            }
            if (all.count6) {
                s.lo6 = all.lo6.with_low32(static_cast<uint32_t>(all.lo6.low32() + cut(all.count6, i)));
                s.count6 = static_cast<uint32_t>(cut(all.count6, i + 1) - cut(all.count6, i));
            }
            out.push_back(s);
        }
    } else if (ports >= n) {
        // One family has fewer addresses than slices: the ports are split instead, the same run for both
        // families (a slice's IPv4 and IPv6 tuples never meet another slice's: the ports differ).
        for (uint32_t i = 0; i < n; ++i) {
            SrcSlice s = all;
            s.port_lo = static_cast<uint16_t>(all.port_lo + cut(ports, i));
            s.port_hi = static_cast<uint16_t>(all.port_lo + cut(ports, i + 1) - 1);
            out.push_back(s);
        }
    }
    return out;
}

namespace {

// The default addresses of each family (--family): the server's, and the client's sources.
constexpr const char* kServer4 = "10.0.0.1";
constexpr const char* kSources4 = "10.1.0.1-10.1.0.64";
constexpr const char* kServer6 = "fd00::1";
constexpr const char* kSources6 = "fd00:1::1-fd00:1::40";

// "80", "80,8080", "8000-8009" (runs of consecutive ports as ranges).
std::string ports_text(const std::vector<uint16_t>& ports) {
    std::string t;
    for (size_t i = 0; i < ports.size();) {
        size_t k = i + 1;
        while (k < ports.size() && ports[k] == ports[k - 1] + 1) ++k;
        if (!t.empty()) t += ',';
        t += range_text(ports[i], ports[k - 1]);
        i = k;
    }
    return t;
}

std::string share_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// "0" or "0,1,...": distinct port ids.
bool parse_port_ids(const std::string& s, std::vector<uint16_t>& out, std::string& err) {
    out.clear();
    if (s.empty()) {
        out.push_back(0);
        return true;
    }
    std::set<uint16_t> seen;
    size_t start = 0;
    for (;;) {
        const size_t comma = s.find(',', start);
        const std::string t = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        uint32_t v = 0;
        bool ok = !t.empty() && t.size() <= 5;
        for (char ch : t) {
            ok = ok && ch >= '0' && ch <= '9';
            if (ok) v = v * 10 + static_cast<uint32_t>(ch - '0');
        }
        if (!ok || v > 65535) {
            err = "port_id: not a port id or a list of them (0,1,...): '" + s + "'";
            return false;
        }
        if (!seen.insert(static_cast<uint16_t>(v)).second) {
            err = "port_id: port " + std::to_string(v) + " given twice: '" + s + "'";
            return false;
        }
        out.push_back(static_cast<uint16_t>(v));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (out.size() > kMaxPorts) {
        err = "port_id: " + std::to_string(out.size()) + " ports, at most " + std::to_string(kMaxPorts);
        return false;
    }
    return true;
}

// One text per port: `s` split at ';', either one part (the same for every port) or one per port.
bool per_port(const char* key, const std::string& s, size_t nports, std::vector<std::string>& out, std::string& err) {
    out.clear();
    size_t start = 0;
    for (;;) {
        const size_t semi = s.find(';', start);
        out.push_back(s.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
        if (semi == std::string::npos) break;
        start = semi + 1;
    }
    if (out.size() == 1) {
        out.assign(nports, out[0]);
        return true;
    }
    if (out.size() != nports) {
        err = std::string(key) + ": " + std::to_string(out.size()) + " lists separated by ';' for " +
              std::to_string(nports) + " port(s) (give one for every port, or one per port)";
        return false;
    }
    return true;
}

SrcSlice whole(const AddrSet& a, uint16_t port_lo, uint16_t port_hi) {
    SrcSlice s;
    if (a.has4) {
        s.lo = a.lo4;
        s.hi = a.hi4;
    }
    if (a.has6) {
        s.lo6 = a.lo6;
        s.count6 = a.count6;
    }
    s.port_lo = port_lo;
    s.port_hi = port_hi;
    return s;
}

// The families of a destination list and each one's lowest to highest address (IPv6: when they share their
// first 96 bits; otherwise count6 stays 0).
bool dst_span(const DstList& d, AddrSet& out) {
    out = AddrSet{};
    if (!d.v4.empty()) {
        out.has4 = true;
        out.lo4 = *std::min_element(d.v4.begin(), d.v4.end());
        out.hi4 = *std::max_element(d.v4.begin(), d.v4.end());
    }
    if (!d.v6.empty()) {
        out.has6 = true;
        const auto [lo, hi] = std::minmax_element(d.v6.begin(), d.v6.end());
        out.lo6 = *lo;
        if (lo->same_high96(*hi)) out.count6 = hi->low32() - lo->low32() + 1;
    }
    return true;
}

// The same for storm, whose server takes that span as its own addresses: an IPv6 span must be a range it can hold.
bool dst_span(const DstList& d, AddrSet& out, std::string& why) {
    (void)dst_span(d, out);
    if (!out.has6 || (out.count6 != 0 && out.count6 <= kMaxV6Range)) return true;
    why = "storm's server takes the destinations as its own addresses, from the lowest to the highest of each "
          "family: IPv6 destinations must then share their first 96 bits and span at most " +
          std::to_string(kMaxV6Range) + " addresses ('" + dsts_text(d) + "')";
    return false;
}

struct Texts {
    std::vector<std::string> ip, src, dst, gateway, peer_mac;
};

// --ip, --src, --dst and --v6-share of every port: parsed, checked against each other and --family, and the
// families the client will not use dropped.
bool resolve_addresses(Options& o, const Texts& t, std::vector<AddrSet>& src, std::string& err) {
    const bool storm = o.mode == Mode::Storm;
    const size_t n = o.ports.size();
    const bool four = o.family != "6", six = o.family == "6" || o.family == "46";
    auto key = [&](const char* k, size_t i) {
        return n > 1 ? std::string(k) + " (port " + std::to_string(o.ports[i].id) + ")" : std::string(k);
    };
    src.assign(n, AddrSet{});
    std::string why;
    for (size_t i = 0; i < n; ++i) {
        PortSetup& p = o.ports[i];
        if (!parse_addrs(t.src[i], src[i], why)) {
            err = key("src", i) + ": " + why;
            return false;
        }
        if (!parse_dsts(t.dst[i], p.dsts, why) || !(storm ? dst_span(p.dsts, p.dst, why) : dst_span(p.dsts, p.dst))) {
            err = key("dst", i) + ": " + why;
            return false;
        }
        if (!parse_addrs(t.ip[i], p.ip, why)) {
            err = key("ip", i) + ": " + why;
            return false;
        }
        // --family names the families: addresses given beside it (options or config) must be of those.
        if (o.family.empty()) continue;
        for (const auto& [k, a] : {std::pair<const char*, const AddrSet*>{"src", &src[i]}, {"dst", &p.dst}}) {
            if (a->has4 == four && a->has6 == six) continue;
            const char* reason = a->has4 && !four  ? "has an IPv4 address"
                                 : a->has6 && !six ? "has an IPv6 address"
                                 : !a->has4 && four ? "has no IPv4 address"
                                                    : "has no IPv6 address";
            err = "family: " + o.family + ", but " + k + " '" + addrs_text(*a) + "' " + reason;
            return false;
        }
    }
    // The share is one for all ports: every port needs the families it asks for.
    size_t lacks4 = n, lacks6 = n;
    for (size_t i = n; i-- > 0;) {
        if (!(src[i].has4 && o.ports[i].dst.has4)) lacks4 = i;
        if (!(src[i].has6 && o.ports[i].dst.has6)) lacks6 = i;
    }
    const bool both4 = lacks4 == n, both6 = lacks6 == n;
    auto given = [&](size_t i) { return " (" + key("src", i) + " '" + t.src[i] + "', dst '" + t.dst[i] + "')"; };
    for (size_t i = 0; i < n; ++i) {
        if ((src[i].has4 && o.ports[i].dst.has4) || (src[i].has6 && o.ports[i].dst.has6)) continue;
        err = "src, dst: no family has both a source and a destination address" + given(i);
        return false;
    }
    if (!o.v6_share) o.v6_share = both6 ? (both4 ? 0.5 : 1.0) : 0.0;
    const double share = *o.v6_share;
    if (!(share >= 0 && share <= 1)) {
        err = "v6_share: must be in [0, 1]: " + share_text(share);
        return false;
    }
    if (share > 0 && !both6) {
        err = "v6_share: " + share_text(share) + " > 0 needs IPv6 addresses in both src and dst" + given(lacks6);
        return false;
    }
    if (share < 1 && !both4) {
        err = "v6_share: " + share_text(share) + " < 1 needs IPv4 addresses in both src and dst" + given(lacks4);
        return false;
    }
    // A family the client opens no connection over takes no part in its tuples (nor in the storm server's
    // addresses, which are the client's destinations).
    for (size_t i = 0; i < n; ++i) {
        PortSetup& p = o.ports[i];
        if (share == 0) src[i].has6 = p.dst.has6 = false;
        if (share == 1) src[i].has4 = p.dst.has4 = false;
        if (!p.dst.has4) p.dsts.v4.clear();
        if (!p.dst.has6) p.dsts.v6.clear();
        if (storm) p.ip = p.dst;
    }
    return true;
}

// The client's sources per port: each port's own list, or slices of one list shared by several ports (a
// client's ports may reach the same server: no two may use the same 4-tuple).
bool resolve_sources(Options& o, const Texts& t, const std::vector<AddrSet>& src, uint16_t plo, uint16_t phi,
                     std::string& err) {
    const size_t n = o.ports.size();
    for (size_t i = 0; i < n; ++i) o.ports[i].src = whole(src[i], plo, phi);
    if (n == 1 || o.mode != Mode::Client || o.src.find(';') != std::string::npos) return true;
    const std::vector<SrcSlice> slices = split_sources(o.ports[0].src, static_cast<uint32_t>(n));
    if (slices.empty()) {
        err = "src: " + std::to_string(n) + " ports share '" + t.src[0] + "' x src_ports '" + o.src_ports +
              "', which has fewer addresses of a family and fewer ports than ports to give each a disjoint slice "
              "(or give one list per port, separated by ';')";
        return false;
    }
    for (size_t i = 0; i < n; ++i) o.ports[i].src = slices[i];
    return true;
}

// --vlan, --vlan-pcp, and every port's --gateway and --peer-mac.
bool resolve_link(Options& o, const Texts& t, std::string& err) {
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
    const size_t n = o.ports.size();
    auto key = [&](const char* k, size_t i) {
        return n > 1 ? std::string(k) + " (port " + std::to_string(o.ports[i].id) + ")" : std::string(k);
    };
    for (size_t i = 0; i < n; ++i) {
        PortSetup& p = o.ports[i];
        if (!t.peer_mac[i].empty()) {
            p.peer_mac = Mac::parse(t.peer_mac[i]);
            if (!p.peer_mac) {
                err = key("peer_mac", i) + ": not a MAC address aa:bb:cc:dd:ee:ff: '" + t.peer_mac[i] + "'";
                return false;
            }
        }
        if (t.gateway[i].empty()) continue;
        AddrSet g;
        std::string why;
        if (!parse_addrs(t.gateway[i], g, why)) {
            err = key("gateway", i) + ": " + why;
            return false;
        }
        if (g.count4() > 1 || g.count6 > 1) {
            err = key("gateway", i) + ": '" + t.gateway[i] + "' has a range: give one address per family";
            return false;
        }
        // A fixed next-hop MAC sends every frame there without resolving anything, so a gateway beside it
        // would be silently unused: one or the other.
        if (p.peer_mac) {
            err = key("gateway", i) + ": give either gateway (a next hop resolved by ARP / ND) or peer_mac (a fixed "
                  "next-hop MAC), not both";
            return false;
        }
        const bool server = o.mode == Mode::Server;
        const bool ours4 = server ? p.ip.has4 : p.src.has4(), ours6 = server ? p.ip.has6 : p.src.count6 != 0;
        if ((g.has4 && !ours4) || (g.has6 && !ours6)) {
            const char* fam = g.has4 && !ours4 ? "4" : "6";
            err = key("gateway", i) + ": an IPv" + fam + " gateway, but " + (server ? "ip" : "src") + " has no IPv" +
                  fam + " address of ours to use it from";
            return false;
        }
        if (g.has4) p.gateway4 = g.lo4;
        if (g.has6) p.gateway6 = g.lo6;
    }
    return true;
}

}  // namespace

bool resolve_network(Options& o, std::string& err) {
    const bool storm = o.mode == Mode::Storm;
    if (!o.family.empty() && o.family != "4" && o.family != "6" && o.family != "46") {
        err = "family: must be 4, 6 or 46: '" + o.family + "'";
        return false;
    }
    if (storm && !o.ip.empty()) {
        err = "ip: storm's server answers on the client's --dst addresses: give --dst (or --family)";
        return false;
    }
    if (storm && !o.port_id.empty()) {
        err = "port_id: storm makes its own ports (a net_ring pair per lane): for server and client only";
        return false;
    }
    std::vector<uint16_t> ids;
    if (!parse_port_ids(o.port_id, ids, err)) return false;
    const bool four = o.family != "6", six = o.family == "6" || o.family == "46";
    auto pick = [&](const char* v4, const char* v6) {
        return std::string(four ? v4 : "") + (four && six ? "," : "") + (six ? v6 : "");
    };
    if (o.src.empty()) o.src = pick(kSources4, kSources6);
    if (o.dst.empty()) o.dst = pick(kServer4, kServer6);
    if (o.ip.empty()) o.ip = storm ? o.dst : kServer4;
    Texts t;
    const size_t n = ids.size();
    if (!per_port("ip", o.ip, n, t.ip, err) || !per_port("src", o.src, n, t.src, err) ||
        !per_port("dst", o.dst, n, t.dst, err) || !per_port("gateway", o.gateway, n, t.gateway, err) ||
        !per_port("peer_mac", o.peer_mac, n, t.peer_mac, err))
        return false;
    o.ports.assign(n, PortSetup{});
    for (size_t i = 0; i < n; ++i) o.ports[i].id = ids[i];
    std::vector<AddrSet> src;
    if (!resolve_addresses(o, t, src, err)) return false;
    uint16_t plo = 0, phi = 0;
    std::string why;
    if (!parse_port_range(o.src_ports, plo, phi, why)) {
        err = "src_ports: " + why;
        return false;
    }
    return resolve_sources(o, t, src, plo, phi, err) && resolve_link(o, t, err);
}

std::string describe(const Options& o) {
    const bool storm = o.mode == Mode::Storm;
    std::string t;
    auto line = [&](const std::string& k, const std::string& v) { t += "  " + k + ": " + v + "\n"; };
    t += std::string("synwave ") + (storm ? "storm" : o.mode == Mode::Server ? "server" : "client") + "\n";
    line("duration", o.duration == 0 ? std::string("until SIGINT/SIGTERM") : share_text(o.duration) + " s");
    if (o.mode != Mode::Server)
        line("connections", "rate " + (o.rate ? std::to_string(o.rate) + "/s" : std::string("unlimited")) +
                                ", concurrency " + std::to_string(o.concurrency) + " per lcore, total " +
                                (o.connections ? std::to_string(o.connections) : std::string("unlimited")));
    for (const PortSetup& p : o.ports) {
        const std::string at = o.ports.size() > 1 ? "port " + std::to_string(p.id) + " " : "";
        if (o.mode != Mode::Client) line(at + (storm ? "server addresses (--dst)" : "ip"), addrs_text(p.ip));
        if (o.mode != Mode::Server) {
            line(at + "src", p.src.addrs_text() + " ports " + range_text(p.src.port_lo, p.src.port_hi));
            line(at + "dst", dsts_text(p.dsts) + (o.ports_list.size() > 1 ? " ports " : " port ") + ports_text(o.ports_list));
        }
        std::string gw = p.gateway4 ? p.gateway4->str() : "";
        if (p.gateway6) {
            if (!gw.empty()) gw += ',';
            gw += p.gateway6->str();
        }
        line(at + "gateway", gw.empty() ? "none (destinations on-link)" : gw);
        if (p.peer_mac) line(at + "peer_mac", p.peer_mac->str());
    }
    if (o.instances > 1)
        line("instance", std::to_string(o.instance) + "/" + std::to_string(o.instances) + ": src above is its slice of '" +
                             o.src + "' ports " + o.src_ports);
    if (o.mode != Mode::Server) {
        line("v6_share", share_text(o.v6_share.value_or(0)));
        line("tuple_order", o.tuple_order + (o.tuple_order == "random" ? " (seed " + std::to_string(o.tuple_seed) + ")" : ""));
    }
    line("vlan", o.vlan ? std::to_string(*o.vlan) + " (pcp " + std::to_string(o.vlan_pcp.value_or(0)) + ")" : "none");
    if (!o.flood.empty())
        line("flood", o.flood + " from " + range_text(o.flood_lo, o.flood_hi) + " ports " +
                          range_text(o.flood_plo, o.flood_phi) + (o.flood_random ? " (random)" : " (in turn)") +
                          ", legitimate connections " + (o.legit_rate ? std::to_string(o.legit_rate) + "/s" : "none"));
    if (storm) {
        const std::vector<SrcSlice> slices = split_sources(o.ports[0].src, o.lanes);
        for (size_t i = 0; i < slices.size(); ++i)
            line("lane " + std::to_string(i) + " src",
                 slices[i].addrs_text() + " ports " + range_text(slices[i].port_lo, slices[i].port_hi));
    }
    return t;
}

}  // namespace synwave::app
