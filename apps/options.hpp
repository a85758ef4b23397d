// synwave's options: one struct filled from a TOML file (--config) and then from the command line, checked
// before EAL starts so that a bad value is reported with its key and the reason.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "addresses.hpp"
#include "engine/apps.hpp"
#include "engine/flood.hpp"
#include "tcp/types.hpp"

namespace CLI {
class App;
}

namespace synwave::app {

enum class Mode : uint8_t { Storm, Server, Client };

// A client's share of the source tuple space: addresses x ports, inclusive, per family.
struct SrcSlice {
    Ipv4 lo{1}, hi{0};      // lo > hi: no IPv4 sources
    Ipv6 lo6;               // lo6 and the next count6 - 1 addresses
    uint32_t count6 = 0;    // 0: no IPv6 sources
    uint16_t port_lo = 1024, port_hi = 65535;
    [[nodiscard]] bool has4() const { return lo.v <= hi.v; }
    // "10.1.0.1-10.1.0.32,fd00:1::1-fd00:1::20" (the families it has).
    [[nodiscard]] std::string addrs_text() const;
};

// One port's network settings, resolved from the options (the families the client does not use dropped).
struct PortSetup {
    uint16_t id = 0;
    AddrSet ip;        // our addresses (server; storm: its server's, the client's destinations)
    SrcSlice src;      // client: its sources on this port (a slice of --src when several ports share it)
    AddrSet dst;       // client: the families of its destinations, each family's lowest to highest (storm: the
                       // server's addresses)
    DstList dsts;      // client: its destinations
    std::optional<Ipv4> gateway4;
    std::optional<Ipv6> gateway6;
    std::optional<Mac> peer_mac;
};

// The most ports a server or client drives (--port-id).
inline constexpr size_t kMaxPorts = 32;

struct Options {
    Mode mode = Mode::Storm;
    std::string config;
    double duration = -1;  // seconds; unset: storm 10, server/client 0 = until SIGINT/SIGTERM
    std::string json_path;
    std::string csv_path;      // the per-second series as CSV, one row per second and side
    std::string metrics;       // ADDR:PORT of the Prometheus endpoint (empty: none)
    std::string instance_text; // "I/N": this process is instance I (0-based) of N
    uint32_t instance = 0, instances = 1;
    std::string pcap;      // capture file base name: one file per lcore, "<base>-lcore<N>.pcap"
    // tables and TCP
    uint32_t max_conns = 1u << 18;
    uint32_t max_timewait = 0;  // 0: mode default (storm 2^21, else 2^20)
    uint32_t msl_ms = 0;        // 0: mode default (storm 1000 so a short run's TIME_WAIT pool stays small, else 30000)
    std::string cookies = "auto";
    uint32_t half_open_limit = 1u << 14;
    bool tcp_keepalive = false;
    // client
    uint64_t rate = 0;
    uint32_t ramp_ms = 0;
    uint32_t concurrency = 2000;
    uint64_t connections = 0;
    std::string close = "server";
    bool request = true;
    // Addresses (--src, --dst, --ip): IPv4 and IPv6 addresses and ranges, comma-separated, at most one range
    // per family (see addresses.hpp); with several ports, one such list for all of them or one per port,
    // separated by ';'. "": the defaults of `family`.
    std::string src;
    std::string src_ports = "1024-65535";  // client source ports lo[-hi]
    std::string dst;
    std::string port_text = "80";  // --port: server one port; client a list of ports and ranges "80,8000-8009"
    uint16_t port = 80;            // resolved: the server's port (client, storm: the first of ports)
    std::vector<uint16_t> ports_list;  // resolved: the client's destination ports (storm: the server listens on all)
    std::string tuple_order = "seq";   // client: seq or random (tuple_space.hpp)
    uint64_t tuple_seed = 1;
    uint64_t response_bytes = 0;  // client: bytes of a whole response (0: storm computes it; else the FIN ends it)
    // server
    std::string ip;               // server: our addresses
    std::string behaviour = "http";
    uint32_t body = 64;
    bool http_keepalive = false;
    uint32_t echo_slots = 1024;   // server echo: connections echoing at once per lcore
    // HTTP, client (http_options.cpp): one request from these, or several from [[request]] in the config
    std::string method = "GET";
    std::string path = "/";
    std::vector<std::string> headers;   // "Name: value", in order
    std::string data, data_file;        // a request body, given or read from a file
    uint32_t requests = 1;              // per connection over keep-alive (0: until the run ends)
    double think_ms = 0;                // pause between a response and the next request
    std::string expect_status = "2xx";  // "200", "2xx,304", "200-204"
    // HTTP, server: "PATH=STATUS[:BODY_BYTES]" entries (and [[route]] tables in the config)
    std::vector<std::string> route;
    uint32_t max_header = 8192;         // request header section limit (431 beyond)
    uint64_t max_request_body = 1u << 20;  // request body limit (413 beyond)
    uint32_t http_slots = 16384;
    // Resolved by finalize_http() from the above (and the config's tables).
    std::vector<engine::RequestDef> request_defs;
    std::vector<engine::HttpRoute> routes;
    engine::StatusSet expect = engine::StatusSet::success();
    // ports
    std::string port_id;          // server/client: the DPDK port ids "0" or "0,1,..." ("": 0)
    std::string peer_mac;         // fixed next hop (no ARP), or one per port separated by ';'; "": resolve
    std::string gateway;          // next hop per family, resolved by ARP / ND, or one list per port (';');
                                  // "": destinations on-link
    std::optional<uint32_t> vlan;      // 802.1Q VLAN ID of every frame (1..4094); unset: untagged
    std::optional<uint32_t> vlan_pcp;  // its priority (0..7, default 0)
    // IPv6: the fraction of the client's new connections opened over IPv6; unset: 1 when only IPv6 has both
    // sources and a destination, 0.5 when both families have, else 0.
    std::optional<double> v6_share;
    std::string family;           // storm: "4", "6" or "46", the families of the default addresses ("": 4)
    std::vector<std::string> eal; // EAL arguments (config `eal = [...]`, or after `--` on the command line)
    // storm
    uint32_t lanes = 1;           // client/server lcore pairs, each pair joined by its own net_ring pair
    // impairment (soaks, tests): percent of received frames each lcore drops on purpose, seeded
    double loss = 0;
    uint64_t loss_seed = 1;
    // outcome
    double fail_tolerance = 0.0;  // fraction of attempted connections allowed to fail before exit status 1
    bool quiet = false;
    bool drain = false;           // after the run, keep polling until every table is empty (soaks: leak check)
    bool hold = false;            // server/client: after the run, keep the port open until SIGINT/SIGTERM (memif peers)
    bool check = false;           // print what the options resolve to and exit (no EAL)

    // flood (client, storm; flood_options.cpp): a raw handshake flood from the client lcores, engine/flood.hpp
    std::string flood;                          // "": none; syn, syn-ack, ack or rst
    uint64_t flood_rate = 0;                    // frames/s, all client lcores together (0: as fast as TX takes)
    std::string flood_src;                      // IPv4 address or range ("": see flood_options.cpp)
    std::string flood_src_ports = "1024-65535";
    bool flood_random = false;
    uint64_t flood_seed = 1;
    uint64_t legit_rate = 0;                    // with a flood: legitimate connections per second (0: none)
    Ipv4 flood_lo{1}, flood_hi{0};              // resolved by finalize_flood()
    uint16_t flood_plo = 1024, flood_phi = 65535;
    [[nodiscard]] bool flood_only() const { return !flood.empty() && legit_rate == 0; }

    // Resolved by finalize() from the texts above: one entry per port (storm: one, for its ring pairs).
    std::vector<PortSetup> ports;
};

// The most storm lanes: 2 lcores each, and DPDK 22.11 (Debian) has RTE_MAX_LCORE 128.
inline constexpr uint32_t kMaxLanes = 64;

// The largest HTTP body (--body): 256 MiB, held in memory once per lcore.
inline constexpr uint32_t kMaxBody = 256u << 20;

// Adds the options to a subcommand (each writes into `o`).
void add_options(CLI::App& cmd, Options& o);
// The HTTP options (http_options.cpp): flags, the config file's HTTP keys and [[request]] / [[route]] tables,
// and their checks.
void add_http_options(CLI::App& cmd, Options& o);
[[nodiscard]] bool finalize_http(Options& o, std::string& err);
[[nodiscard]] bool load_http_config(const std::string& path, Options& o, std::string& err);
// The mode table (modes.cpp): whether the option `key` (the config file's name) applies to `mode`, false with
// `why` ("only for client and storm, not server ..."); whether every option given on `cmd`'s command line does,
// false with `err` naming the first that does not; and, once `cmd` has its options, those of other modes kept
// out of its --help (a logic_error when an option of `cmd` has no entry).
// A key the config file takes: every option of the mode table but the command-line switches.
[[nodiscard]] bool is_config_key(std::string_view key);
[[nodiscard]] bool option_applies(std::string_view key, Mode mode, std::string& why);
[[nodiscard]] bool check_option_modes(const CLI::App& cmd, Mode mode, std::string& err);
void apply_mode_table(CLI::App& cmd, Mode mode);
// Reads a TOML config into `o` (o.mode set: every key must apply to it); false with `err` naming the file, key
// and reason (a syntax error: its line and column).
[[nodiscard]] bool load_config(const std::string& path, Options& o, std::string& err);
// Checks ranges and formats and fills the mode defaults; false with `err` naming the key and the reason.
[[nodiscard]] bool finalize(Options& o, std::string& err);

// The flood's options (flood_options.cpp): added to a subcommand, checked after resolve_network(), and the
// flood of client lane `lane` of `lanes` (the rate shared among them, the seed mixed with the lane).
void add_flood_options(CLI::App& cmd, Options& o);
[[nodiscard]] bool finalize_flood(Options& o, std::string& err);
[[nodiscard]] engine::FloodConfig flood_config(const Options& o, const PortSetup& p, uint32_t lane, uint32_t lanes);

// The most instances (--instance I/N): each needs at least a source port of its own.
inline constexpr uint32_t kMaxInstances = 65535;
// --instance (instance.cpp): parsed into instance / instances, and each port's sources cut to the instance's
// slice (after resolve_network(), before the lanes' slices are taken within it); false with `err`.
[[nodiscard]] bool finalize_instance(Options& o, std::string& err);
// A decimal number of 1 to 9 digits (no sign, no spaces): counts, statuses and sizes in option values.
[[nodiscard]] bool parse_u32(std::string_view t, uint32_t& out);

// "lo[-hi]" ports, 1 <= lo <= hi <= 65535; false with `why` (without the key): not ports, or reversed.
[[nodiscard]] bool parse_port_range(const std::string& s, uint16_t& lo, uint16_t& hi, std::string& why);
[[nodiscard]] bool parse_port_range(const std::string& s, uint16_t& lo, uint16_t& hi);
// "80", "80,8080" or "8000-8009,9000": distinct ports in the order given; false with `err` (no key).
[[nodiscard]] bool parse_port_list(const std::string& s, std::vector<uint16_t>& out, std::string& err);
// Address options, checked against each other, the defaults of --family filled in, one PortSetup per port
// (network.cpp); false with `err` naming the key and the reason.
[[nodiscard]] bool resolve_network(Options& o, std::string& err);
// `n` disjoint slices of `all` (storm lanes, or ports sharing one --src), one each: each family's addresses
// split into contiguous runs when every family has at least n, otherwise every slice gets all the addresses
// and a contiguous run of the ports (so no two slices share a 4-tuple of either family). Empty when `all`
// cannot give each a slice.
[[nodiscard]] std::vector<SrcSlice> split_sources(const SrcSlice& all, uint32_t n);
// "lo-hi" (one value when lo == hi).
[[nodiscard]] std::string range_text(uint16_t lo, uint16_t hi);
// What the options resolved to, as text (--check).
[[nodiscard]] std::string describe(const Options& o);
[[nodiscard]] engine::CloseMode close_mode(const std::string& s);
[[nodiscard]] tcp::StackConfig stack_config(const Options& o);
[[nodiscard]] engine::ServerConfig server_config(const Options& o);
// A client on port `p` (its sources are p.src, or a lane's slice of them, set by the caller).
[[nodiscard]] engine::ClientConfig client_config(const Options& o, const PortSetup& p);

}  // namespace synwave::app
