// Which options apply to which mode, in one table for the command line and the config file: an option the mode
// would ignore (a server given --rate, a client given --body) is an error, not a silent no-op. Storm runs both
// sides, so it takes both sides' options, except where it builds the thing itself (ports, addresses, EAL).
#include <CLI/CLI.hpp>

#include <stdexcept>
#include <string_view>

#include "options.hpp"

namespace synwave::app {

namespace {

enum : uint8_t {
    kStorm = 1u << static_cast<int>(Mode::Storm),
    kServer = 1u << static_cast<int>(Mode::Server),
    kClient = 1u << static_cast<int>(Mode::Client),
    kAll = kStorm | kServer | kClient,
    kLoad = kStorm | kClient,     // the client side: what opens connections
    kServe = kStorm | kServer,    // the server side: what answers them
    kPort = kServer | kClient,    // a DPDK port of its own (storm makes its ring pairs)
};

struct Rule {
    std::string_view key;  // the config file's key; the long option with '_' for '-'
    uint8_t modes;
    std::string_view why;  // said after the modes, when the reason is not plain
};

constexpr Rule kRules[] = {
    {"config", kAll, {}},
    {"duration", kAll, {}},
    {"json", kAll, {}},
    {"csv", kAll, {}},
    {"metrics", kAll, {}},
    {"instance", kLoad, "its slice of the source tuples"},
    {"pcap", kAll, {}},
    {"max_conns", kAll, {}},
    {"max_timewait", kAll, {}},
    {"msl_ms", kAll, {}},
    {"cookies", kAll, {}},
    {"half_open_limit", kAll, {}},
    {"tcp_keepalive", kAll, {}},
    {"rate", kLoad, {}},
    {"ramp_ms", kLoad, {}},
    {"concurrency", kLoad, {}},
    {"total", kLoad, {}},
    {"close", kAll, {}},
    {"request", kLoad, {}},
    {"no_request", kLoad, {}},
    {"src", kLoad, {}},
    {"src_ports", kLoad, {}},
    {"dst", kLoad, "a server's own addresses are --ip"},
    {"v6_share", kLoad, {}},
    {"family", kStorm, "server and client take their addresses from --ip, --src and --dst"},
    {"port", kAll, {}},
    {"tuple_order", kLoad, {}},
    {"tuple_seed", kLoad, {}},
    {"response_bytes", kLoad, {}},
    {"ip", kServer, "storm's server answers on the client's --dst addresses: give --dst or --family"},
    {"behaviour", kServe, {}},
    {"echo_slots", kServe, {}},
    {"body", kServe, {}},
    {"http_keepalive", kServe, {}},
    {"method", kLoad, {}},
    {"path", kLoad, {}},
    {"header", kLoad, {}},
    {"data", kLoad, {}},
    {"data_file", kLoad, {}},
    {"requests", kLoad, {}},
    {"think_ms", kLoad, {}},
    {"expect_status", kLoad, {}},
    {"route", kServe, {}},
    {"max_header", kServe, {}},
    {"max_request_body", kServe, {}},
    {"http_slots", kServe, {}},
    {"port_id", kPort, "storm makes its own ports, a net_ring pair per lane"},
    {"peer_mac", kPort, "storm's lanes are joined directly by their ring pair"},
    {"gateway", kPort, "storm's client and server lanes are joined directly by their ring pair, with no next hop"},
    {"vlan", kAll, {}},
    {"vlan_pcp", kAll, {}},
    {"eal", kPort, "storm builds its own EAL arguments"},
    {"fail_tolerance", kAll, {}},
    {"lanes", kStorm, "server and client run one lane per EAL lcore: give them `-l`"},
    {"loss", kAll, {}},
    {"loss_seed", kAll, {}},
    {"quiet", kAll, {}},
    {"check", kAll, {}},
    {"drain", kAll, {}},
    {"hold", kAll, {}},
    {"flood", kLoad, "the flood comes from client lcores"},
    {"flood_rate", kLoad, {}},
    {"flood_src", kLoad, {}},
    {"flood_src_ports", kLoad, {}},
    {"flood_random", kLoad, {}},
    {"flood_seed", kLoad, {}},
    {"legit_rate", kLoad, {}},
};

// Command-line switches with no config-file key: the file itself, a dry run, and the negative form of `request`.
constexpr std::string_view kCommandLineOnly[] = {"config", "check", "no_request"};

const Rule* find_rule(std::string_view key) {
    for (const Rule& r : kRules)
        if (r.key == key) return &r;
    return nullptr;
}

const char* mode_name(Mode m) { return m == Mode::Storm ? "storm" : m == Mode::Server ? "server" : "client"; }

std::string modes_text(uint8_t modes) {
    std::string t;
    for (Mode m : {Mode::Server, Mode::Client, Mode::Storm}) {
        if (!(modes & (1u << static_cast<int>(m)))) continue;
        if (!t.empty()) t += " and ";
        t += mode_name(m);
    }
    return t;
}

// "--max-conns" -> "max_conns".
std::string key_of(const CLI::Option& opt) {
    std::string k = opt.get_lnames().empty() ? opt.get_single_name() : opt.get_lnames().front();
    for (char& ch : k)
        if (ch == '-') ch = '_';
    return k;
}

bool is_builtin(const CLI::Option& opt) { return key_of(opt) == "help" || key_of(opt) == "version"; }

}  // namespace

bool is_config_key(std::string_view key) {
    for (std::string_view k : kCommandLineOnly)
        if (k == key) return false;
    return find_rule(key) != nullptr;
}

bool option_applies(std::string_view key, Mode mode, std::string& why) {
    const Rule* r = find_rule(key);
    if (!r || (r->modes & (1u << static_cast<int>(mode)))) return true;  // unknown keys are the caller's error
    why = "only for " + modes_text(r->modes) + ", not " + mode_name(mode);
    if (!r->why.empty()) why += " (" + std::string(r->why) + ")";
    return false;
}

bool check_option_modes(const CLI::App& cmd, Mode mode, std::string& err) {
    for (const CLI::Option* opt : cmd.get_options()) {
        if (opt->count() == 0 || is_builtin(*opt)) continue;
        std::string why;
        if (!option_applies(key_of(*opt), mode, why)) {
            err = "--" + opt->get_lnames().front() + ": " + why;
            return false;
        }
    }
    return true;
}

void apply_mode_table(CLI::App& cmd, Mode mode) {
    for (CLI::Option* opt : cmd.get_options()) {
        if (is_builtin(*opt)) continue;
        const Rule* r = find_rule(key_of(*opt));
        if (!r) throw std::logic_error("option " + opt->get_name() + " has no entry in the modes table (apps/modes.cpp)");
        // Still parsed (so that giving it says which modes take it), not listed in this mode's --help.
        if (!(r->modes & (1u << static_cast<int>(mode)))) opt->group("");
    }
}

}  // namespace synwave::app
