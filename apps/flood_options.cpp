// The flood's options: --flood, --flood-rate, --flood-src, --flood-src-ports, --flood-random, --flood-seed and
// --legit-rate (config keys with underscores), checked after the addresses are resolved.
#include "cli_kit.hpp"
#include "options.hpp"

namespace synwave::app {

namespace {
// The storm's flood sources when its client also opens legitimate connections: beside the default --src
// (10.1.0.1-10.1.0.64), never inside it.
constexpr Ipv4 kStormFloodLo{0x0A02'0001}, kStormFloodHi{0x0A02'00FE};  // 10.2.0.1-10.2.0.254
constexpr uint64_t kMaxFloodRate = 1'000'000'000;
}  // namespace

void add_flood_options(CLI::App& s, Options& o) {
    add_text(s, "--flood", o.flood,
             "client/storm: a raw handshake flood from the client lcores: syn, syn-ack, ack or rst segments "
             "with no connection state, from --flood-src; the replies are counted (SYN-ACKs, cookie-looking "
             "SYN-ACKs, RSTs), never answered. No legitimate connections unless --legit-rate", "KIND");
    add_whole(s, "--flood-rate", o.flood_rate,
              "flood frames per second, all client lcores together (0: as fast as each lcore's TX ring takes, a "
              "burst of 32 every loop turn)", "FRAMES/S");
    add_text(s, "--flood-src", o.flood_src,
             "the flood's source IPv4 address or range lo-hi (ours for ARP while we flood; default: --src's "
             "IPv4 addresses when the client floods only, storm 10.2.0.1-10.2.0.254 with --legit-rate; a client "
             "with --legit-rate must give it, apart from --src)", "ADDRS");
    add_text(s, "--flood-src-ports", o.flood_src_ports, "the flood's source ports lo[-hi]", "PORTS");
    s.add_flag("--flood-random", o.flood_random,
               "draw each frame's source address and port at random over --flood-src x --flood-src-ports (default: "
               "in turn, every port of an address, then the next address)");
    add_whole(s, "--flood-seed", o.flood_seed, "seed of --flood-random and of the flood's sequence numbers", "SEED");
    add_whole(s, "--legit-rate", o.legit_rate,
              "with --flood: legitimate connections per second opened beside the flood by the same client lcores "
              "from --src (0: the flood only)", "CONNS/S");
}

bool finalize_flood(Options& o, std::string& err) {
    if (o.flood.empty()) {
        if (o.legit_rate != 0) err = "legit_rate: only with --flood (without one, --rate sets the connection rate)";
        else if (o.flood_rate != 0 || !o.flood_src.empty() || o.flood_random)
            err = std::string(o.flood_rate != 0 ? "flood_rate" : !o.flood_src.empty() ? "flood_src" : "flood_random") +
                  ": only with --flood";
        return err.empty();
    }
    if (o.flood != "syn" && o.flood != "syn-ack" && o.flood != "ack" && o.flood != "rst")
        err = "flood: must be syn, syn-ack, ack or rst: '" + o.flood + "'";
    else if (o.flood_rate > kMaxFloodRate) err = "flood_rate: must be at most " + std::to_string(kMaxFloodRate);
    else if (o.rate != 0) err = "rate: with --flood, legitimate connections are opened at --legit-rate";
    else if (std::string why; !parse_port_range(o.flood_src_ports, o.flood_plo, o.flood_phi, why))
        err = "flood_src_ports: " + why;
    if (!err.empty()) return false;
    for (const PortSetup& p : o.ports) {
        if (!p.dst.has4) {
            err = "flood: IPv4 only, but dst has no IPv4 address ('" + addrs_text(p.dst) + "')";
            return false;
        }
    }
    const SrcSlice& src = o.ports[0].src;
    if (o.flood_src.empty()) {
        if (o.legit_rate != 0 && o.mode == Mode::Client) {
            err = "flood_src: a client opening legitimate connections (--legit-rate) needs the flood's own "
                  "addresses, apart from --src";
            return false;
        }
        if (o.legit_rate != 0) {
            o.flood_lo = kStormFloodLo;
            o.flood_hi = kStormFloodHi;
        } else if (src.has4()) {
            o.flood_lo = src.lo;
            o.flood_hi = src.hi;
        } else {
            err = "flood_src: the flood is IPv4 only and src has no IPv4 address: give --flood-src";
            return false;
        }
    } else {
        AddrSet a;
        std::string why;
        if (!parse_addrs(o.flood_src, a, why)) {
            err = "flood_src: " + why;
            return false;
        }
        if (a.has6 || !a.has4) {
            err = "flood_src: IPv4 addresses only: '" + o.flood_src + "'";
            return false;
        }
        o.flood_lo = a.lo4;
        o.flood_hi = a.hi4;
    }
    // With legitimate connections beside it, the flood's replies must not be taken for theirs (they are kept
    // from the stack by address).
    if (o.legit_rate != 0) {
        for (const PortSetup& p : o.ports) {
            if (p.src.has4() && o.flood_lo.v <= p.src.hi.v && p.src.lo.v <= o.flood_hi.v) {
                err = "flood_src: '" + range_text(o.flood_lo, o.flood_hi) + "' overlaps src '" + p.src.addrs_text() +
                      "' (the legitimate connections' addresses)";
                return false;
            }
        }
        o.rate = o.legit_rate;
    }
    return true;
}

engine::FloodConfig flood_config(const Options& o, const PortSetup& p, uint32_t lane, uint32_t lanes) {
    engine::FloodConfig f;
    if (o.flood.empty()) return f;
    f.kind = o.flood == "syn"       ? engine::FloodKind::Syn
             : o.flood == "syn-ack" ? engine::FloodKind::SynAck
             : o.flood == "ack"     ? engine::FloodKind::Ack
                                    : engine::FloodKind::Rst;
    f.rate = lanes > 1 ? (o.flood_rate + lanes - 1) / lanes : o.flood_rate;
    f.src_lo = o.flood_lo;
    f.src_hi = o.flood_hi;
    f.sport_lo = o.flood_plo;
    f.sport_hi = o.flood_phi;
    f.dst = p.dst.lo4;
    f.dport = o.port;
    f.random = o.flood_random;
    f.seed = o.flood_seed ^ (uint64_t{lane} << 48);
    return f;
}

}  // namespace synwave::app
