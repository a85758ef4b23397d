// synwave: one binary, three modes.
//   synwave storm  [options]               client and server lcores in one process joined by a net_ring pair:
//                                          --no-huge --no-pci, no NIC, no set-up (the embedded default)
//   synwave server [options] -- <EAL args> listen on a port of a DPDK device; one worker per lcore (RSS queue)
//   synwave client [options] -- <EAL args> open connections at a rate / concurrency to a server
// Options come from a TOML file (--config) and flags override it; bad values are rejected with the key and the
// reason before EAL starts.
#include <CLI/CLI.hpp>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_memzone.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <iostream>
#include <optional>
#include <string_view>

#include "flow/toeplitz.hpp"
#include "io/eal.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "io/vdev.hpp"
#include "options.hpp"
#include "runner.hpp"
#include "tools.hpp"
#include "version.hpp"

using namespace synwave;
using namespace synwave::app;

namespace {

// Everything the data path needs to outlive the lanes.
struct Rig {
    std::vector<io::MempoolPtr> pools;
    std::vector<io::RingPair> rings;
    std::vector<io::Port> ports;
    std::vector<std::unique_ptr<flow::ToeplitzV4>> rss;  // per port (client on an RSS port), else null
    std::vector<std::unique_ptr<flow::ToeplitzV6>> rss6;
    std::vector<std::unique_ptr<flow::Reta>> reta;
    std::vector<Lane> lanes;
};

// Mbufs of a pool serving `lanes` lanes: room for every open connection's frames in flight and the rings.
uint32_t pool_mbufs(const Options& o, uint32_t lanes) {
    return std::min<uint32_t>(262143, lanes * std::max<uint32_t>(32767, o.concurrency * 4));
}

// n pools, each for `lanes` lanes.
std::string open_pools(Rig& rig, const std::string& stem, uint32_t n, const Options& o, uint32_t lanes = 1) {
    const uint32_t mbufs = pool_mbufs(o, lanes);
    for (uint32_t i = 0; i < n; ++i) {
        auto p = io::make_pktmbuf_pool(stem + std::to_string(i), mbufs, 256);
        if (!p.ok()) return "mempool: " + p.error();
        rig.pools.push_back(std::move(p.value()));
    }
    return {};
}

// Bytes a mbuf pool occupies: its objects' memory chunks, its header (with the per-lcore caches) and, for the
// ring-based default ops, its ring.
uint64_t mempool_bytes(rte_mempool* mp) {
    uint64_t bytes = 0;
    rte_mempool_mem_iter(
        mp, [](rte_mempool*, void* arg, rte_mempool_memhdr* h, unsigned) { *static_cast<uint64_t*>(arg) += h->len; },
        &bytes);
    if (mp->mz) bytes += mp->mz->len;
    const rte_mempool_ops* ops = rte_mempool_get_ops(mp->ops_index);
    if (ops && std::string_view(ops->name).starts_with("ring_") && mp->pool_data) {
        const auto* r = static_cast<const rte_ring*>(mp->pool_data);
        if (r->memzone) bytes += r->memzone->len;
    }
    return bytes;
}

engine::WorkerConfig worker_config(const Options& o, const PortSetup& net, const io::Port& port, uint16_t queue,
                                   rte_mempool* pool) {
    engine::WorkerConfig w;
    w.port = port.id();
    w.queue = queue;
    w.pool = pool;
    w.mac = port.mac();
    w.tx_csum_offload = port.tx_csum_offload();
    w.rx_csum_offload = port.rx_csum_offload();
    w.stack = stack_config(o);
    w.rx_loss = static_cast<uint32_t>(o.loss / 100.0 * 4294967296.0);
    w.loss_seed = o.loss_seed ^ (uint64_t{port.id()} << 16 | queue);
    if (net.peer_mac) {
        w.static_neighbour = true;
        w.neighbour_mac = *net.peer_mac;
    }
    if (o.vlan) {
        w.vlan = true;
        w.vlan_id = static_cast<uint16_t>(*o.vlan);
        w.vlan_pcp = static_cast<uint8_t>(o.vlan_pcp.value_or(0));
    }
    w.gateway4 = net.gateway4;
    w.gateway6 = net.gateway6;
    return w;
}

// Our own addresses: an IPv4 range (lo > hi: none) and an IPv6 range (count 0: none).
void set_addresses(engine::WorkerConfig& w, Ipv4 lo, Ipv4 hi, Ipv6 lo6, uint32_t count6) {
    w.ip_lo = lo;
    w.ip_hi = hi;
    w.ip6_lo = lo6;
    w.ip6_count = count6;
}
void set_addresses(engine::WorkerConfig& w, const AddrSet& a) {
    set_addresses(w, a.has4 ? a.lo4 : Ipv4{1}, a.has4 ? a.hi4 : Ipv4{0}, a.lo6, a.has6 ? a.count6 : 0);
}
void set_addresses(engine::WorkerConfig& w, const SrcSlice& s) { set_addresses(w, s.lo, s.hi, s.lo6, s.count6); }

// EAL's --lcores mapping for `lanes` storm lanes: lcore k on the k-th allowed CPU, round robin, so lcores share
// CPUs when there are fewer CPUs than 2 x lanes ("0@0,1@1,2@0,3@1" for 2 lanes on 2 CPUs). Lane i's server
// is lcore 2i and its client lcore 2i+1.
std::string storm_lcore_map(uint32_t lanes, const std::vector<unsigned>& cpus) {
    std::string m;
    for (unsigned k = 0; k < 2 * lanes; ++k) {
        if (!m.empty()) m += ',';
        m += std::to_string(k) + "@" + std::to_string(cpus.empty() ? k : cpus[k % cpus.size()]);
    }
    return m;
}

int run_storm(Options& o) {
    const uint32_t n = o.lanes;
    io::EalDefaults d;
    // Without hugepages a 2368-byte mbuf takes a 4 KiB page of its own (objects do not cross pages): the EAL
    // memory is sized from the pools (one per lane), plus 512 MiB for rings, tables' EAL parts and the rest.
    d.memory_mb = 512 + n * static_cast<uint32_t>((uint64_t{pool_mbufs(o, 2)} * 4096) >> 20);
    d.lcores = "0-1";
    auto args = io::embedded_eal_args(d);
    args.push_back("--log-level=lib.eal:error");
    if (n > 1) {
        // 2n lcores: `--lcores` maps them onto the CPUs this process may use, several to a CPU when needed
        // (`-l` gives one lcore per CPU). EAL refuses -l together with --lcores ("Option --lcores is ignored,
        // because (-l) is set!"), so -l goes; one lane keeps `-l 0-1` as it always had.
        const std::vector<unsigned> cpus = io::allowed_cpus();
        const std::string map = storm_lcore_map(n, cpus);
        for (size_t i = 0; i + 1 < args.size(); ++i)
            if (args[i] == "-l") {
                args[i] = "--lcores";
                args[i + 1] = map;
                break;
            }
        std::cerr << "synwave: storm: " << n << " lanes, EAL --lcores " << map;
        if (cpus.size() < 2 * n)
            std::cerr << " (" << 2 * n << " lcores on " << cpus.size()
                      << " CPU(s): lcores share CPUs, so the rate is not per core)";
        std::cerr << "\n";
    }
    if (auto chk = io::check_eal_args(args); !chk.ok()) {
        std::cerr << "synwave: " << chk.error() << "\n";
        return 2;
    }
    io::EalOptions eo;
    eo.require_ports = false;
    auto eal = io::eal_init(args, eo);
    if (!eal.ok()) {
        std::cerr << "synwave: EAL: " << eal.error() << "\n";
        return 2;
    }
    int rc = 2;
    {
        Rig rig;
        // One pool per lane, shared by its client and server: a lcore frees the mbufs it received into its own
        // cache of the pool and takes them out again for its next frames, still in its cache (LIFO). With a
        // pool per lcore every mbuf went back through the other lcore's pool ring and came out cold: 0.79 ->
        // 0.99 M connections/s (medians of 6 x 4 s, same session).
        std::string err = open_pools(rig, "storm", n, o, 2);
        // Lane i's client talks only to lane i's server, over ring pair i, from its own slice of the tuples.
        std::vector<io::RingPair>& rings = rig.rings;
        rings.reserve(n);
        for (uint32_t i = 0; i < n && err.empty(); ++i) {
            auto pair = io::RingPair::create(i == 0 ? std::string("storm") : "storm" + std::to_string(i), 16384);
            if (!pair.ok()) {
                err = "ring pair: " + pair.error();
                break;
            }
            rings.push_back(std::move(pair.value()));
            for (uint16_t id : {rings.back().port_a(), rings.back().port_b()}) {
                io::PortConfig pc;
                pc.port_id = id;
                pc.rx_desc = pc.tx_desc = 4096;
                rte_mempool* pool = rig.pools[i].get();
                auto port = io::Port::open(pc, std::span<rte_mempool* const>(&pool, 1));
                if (!port.ok()) {
                    err = "port: " + port.error();
                    break;
                }
                rig.ports.push_back(std::move(port.value()));
            }
        }
        if (err.empty()) {
            const TscRate rate{rte_get_tsc_hz()};
            const Instant now{rte_rdtsc()};
            const PortSetup& net = o.ports[0];
            const std::vector<SrcSlice> slices = split_sources(net.src, n);
            // Lane i: the server (lcore 2i; lane 0's is the main lcore) on port a of pair i, the client
            // (lcore 2i+1) on port b. Neighbours are fixed.
            rig.lanes.resize(2 * n);
            unsigned lcore = rte_get_main_lcore();
            for (uint32_t i = 0; i < n && err.empty(); ++i) {
                const io::Port& pa = rig.ports[2 * i];
                const io::Port& pb = rig.ports[2 * i + 1];
                rte_mempool* pool = rig.pools[i].get();
                engine::WorkerConfig ws = worker_config(o, net, pa, 0, pool);
                set_addresses(ws, net.ip);  // the client's destinations (resolve_network)
                ws.static_neighbour = true;
                ws.neighbour_mac = pb.mac();
                ws.in_process_link = true;
                engine::WorkerConfig wc = worker_config(o, net, pb, 0, pool);
                wc.in_process_link = true;
                set_addresses(wc, slices[i]);
                wc.static_neighbour = true;
                wc.neighbour_mac = pa.mac();
                wc.flood = flood_config(o, net, i, n);
                Lane& srv = rig.lanes[2 * i];
                Lane& cli = rig.lanes[2 * i + 1];
                srv.lcore = lcore;
                lcore = rte_get_next_lcore(lcore, 1, 0);
                cli.lcore = lcore;
                lcore = rte_get_next_lcore(lcore, 1, 0);
                if (n > 1) cli.src = slices[i];  // one lane: the whole range, as make_lane gives it
                srv.port = pa.id();
                cli.port = pb.id();
                err = make_lane(srv, o, net, false, ws, rate, now);
                if (err.empty()) err = make_lane(cli, o, net, true, wc, rate, now);
                const uint64_t pool_bytes = mempool_bytes(pool) / 2;  // shared by the lane's two lcores
                srv.pool_bytes = cli.pool_bytes = pool_bytes;
                for (uint16_t port : o.ports_list)
                    if (err.empty()) srv.worker->stack().listen(port);  // the client's destination ports
            }
            if (err.empty()) {
                const std::string title =
                    n == 1 ? std::string("synwave storm: net_ring pair, 1 client lcore + 1 server lcore")
                           : "synwave storm: " + std::to_string(n) + " net_ring pairs, " + std::to_string(n) +
                                 " client lcores + " + std::to_string(n) + " server lcores";
                rc = run_lanes(rig.lanes, rig.ports, o, title);
                if (o.hold) hold_until_signal();  // e.g. --metrics serving the final figures until scraped
            }
        }
        if (!err.empty()) std::cerr << "synwave: " << err << "\n";
        rig.lanes.clear();
        for (auto& p : rig.ports) p.close();
    }
    (void)io::eal_cleanup();
    return rc;
}

// A client's first SYNs on a link that is not up yet would be lost, held for ARP or ND until they expire, and
// count against the run (a net_memif link comes up when the peer has answered on the control socket, which may
// take a while on a loaded machine): wait for every port's link, 10 s at most, before the run starts.
void wait_for_links(const std::vector<io::Port>& ports) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t t0 = rte_rdtsc();
    for (const io::Port& p : ports) {
        while (!p.link().up && rte_rdtsc() - t0 < 10 * hz) rte_delay_ms(10);
        const double waited = static_cast<double>(rte_rdtsc() - t0) / static_cast<double>(hz);
        if (!p.link().up)
            std::cerr << "synwave: port " << p.id() << ": link still down after 10 s; starting anyway\n";
        else if (waited >= 0.1)
            std::cerr << "synwave: port " << p.id() << ": link up after " << waited << " s\n";
    }
}

// server / client on a real port (or any vdev): one lane per lcore, each with its own RX/TX queue pair.
int run_port(Options& o, const std::vector<std::string>& cmdline_eal) {
    std::vector<std::string> args = cmdline_eal.empty() ? o.eal : cmdline_eal;
    if (args.empty()) {
        std::cerr << "synwave: give EAL arguments after '--' (or `eal = [...]` in the config), e.g.\n"
                     "  synwave server --ip 10.0.0.1 -- -l 0-1 --no-huge -m 512 --vdev=net_af_packet0,iface=veth0\n";
        return 2;
    }
    if (auto chk = io::check_eal_args(args); !chk.ok()) {
        std::cerr << "synwave: " << chk.error() << "\n";
        return 2;
    }
    auto eal = io::eal_init(args);
    if (!eal.ok()) {
        std::cerr << "synwave: EAL: " << eal.error() << "\n";
        return 2;
    }
    int rc = 2;
    {
        Rig rig;
        const bool client = o.mode == Mode::Client;
        const size_t nports = o.ports.size();
        const auto lcores = static_cast<uint32_t>(rte_lcore_count());
        std::vector<unsigned> lcore_ids{rte_get_main_lcore()};  // lanes[0] runs on the main lcore
        while (lcore_ids.size() < lcores) lcore_ids.push_back(rte_get_next_lcore(lcore_ids.back(), 1, 0));
        std::string err;
        if (lcores < nports)
            err = "port_id: " + std::to_string(nports) + " ports need an lcore each, EAL has " + std::to_string(lcores) +
                  " (give more with -l)";
        else
            err = open_pools(rig, client ? "cli" : "srv", lcores, o);
        // Port k gets the k-th share of the lcores, [k*L/P, (k+1)*L/P), one RX/TX queue pair (and one pool) each;
        // a device without RSS gets one queue, and the rest of its share stays idle.
        std::vector<uint32_t> first(nports);
        for (size_t k = 0; k < nports && err.empty(); ++k) {
            first[k] = static_cast<uint32_t>(k * lcores / nports);
            const auto want = static_cast<uint16_t>((k + 1) * lcores / nports - first[k]);
            std::vector<rte_mempool*> pools;
            for (uint32_t i = 0; i < want; ++i) pools.push_back(rig.pools[first[k] + i].get());
            io::PortConfig pc;
            pc.port_id = o.ports[k].id;
            pc.queues = want;
            auto port = io::Port::open(pc, pools);
            if (!port.ok() && want > 1) {
                std::cerr << "synwave: port " << pc.port_id << ": " << want << " queues refused (" << port.error()
                          << "); using 1 queue (" << want - 1 << " lcore(s) idle)\n";
                pc.queues = 1;
                port = io::Port::open(pc, std::span<rte_mempool* const>(pools.data(), 1));
            }
            if (!port.ok()) err = "port " + std::to_string(pc.port_id) + ": " + port.error();
            else rig.ports.push_back(std::move(port.value()));
        }
        if (err.empty()) {
            const TscRate rate{rte_get_tsc_hz()};
            const Instant now{rte_rdtsc()};
            std::string title = std::string("synwave ") + (client ? "client" : "server") + ": ";
            uint32_t nlanes = 0;
            for (const io::Port& port : rig.ports) nlanes += port.queues();
            rig.lanes.resize(nlanes);
            rig.rss.resize(nports);
            rig.rss6.resize(nports);
            rig.reta.resize(nports);
            size_t li = 0;
            for (size_t k = 0; k < nports && err.empty(); ++k) {
                const io::Port& port = rig.ports[k];
                const PortSetup& net = o.ports[k];
                for (const auto& n : port.info().notes) std::cerr << "synwave: port " << port.id() << ": " << n << "\n";
                if (client && port.rss()) {
                    rig.rss[k] = std::make_unique<flow::ToeplitzV4>(port.info().rss_key);
                    // IPv6 source ports are picked only where the device hashes the TCP/IPv6 4-tuple as well.
                    if (port.info().rss_hf & RTE_ETH_RSS_NONFRAG_IPV6_TCP)
                        rig.rss6[k] = std::make_unique<flow::ToeplitzV6>(port.info().rss_key);
                    rig.reta[k] = std::make_unique<flow::Reta>(static_cast<uint32_t>(port.reta().size()), port.queues());
                    for (uint32_t i = 0; i < port.reta().size(); ++i) rig.reta[k]->set(i, port.reta()[i]);
                }
                title += (k ? ", port " : "port ") + std::to_string(port.id()) + " (" + port.info().driver + ")";
                for (uint16_t q = 0; q < port.queues() && err.empty(); ++q, ++li) {
                    Lane& lane = rig.lanes[li];
                    rte_mempool* pool = rig.pools[first[k] + q].get();
                    engine::WorkerConfig wc = worker_config(o, net, port, q, pool);
                    if (client) set_addresses(wc, net.src);  // every lane of the port: all of them (RSS spreads)
                    else set_addresses(wc, net.ip);
                    if (client) wc.flood = flood_config(o, net, static_cast<uint32_t>(li), nlanes);
                    lane.lcore = lcore_ids[first[k] + q];
                    lane.port = port.id();
                    lane.queue = q;
                    err = make_lane(lane, o, net, client, wc, rate, now, rig.rss[k].get(), rig.reta[k].get(),
                                   rig.rss6[k].get());
                    lane.pool_bytes = mempool_bytes(pool);
                    if (err.empty() && !client) lane.worker->stack().listen(o.port);
                }
            }
            if (err.empty()) {
                title += ", " + std::to_string(nlanes) + " lcore(s)";
                if (client) wait_for_links(rig.ports);
                rc = run_lanes(rig.lanes, rig.ports, o, title);
                if (o.hold) hold_until_signal();
            }
        }
        if (!err.empty()) std::cerr << "synwave: " << err << "\n";
        rig.lanes.clear();
        for (auto& p : rig.ports) p.close();
    }
    (void)io::eal_cleanup();
    return rc;
}

// CLI11 prints the error (or the help, or the version) naming the option; a bad value exits 2 as every other
// bad input does (CLI11's own codes, e.g. 105 for a failed conversion, would differ by kind of error).
int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
}

std::string cli_failure(const CLI::App*, const CLI::Error& e) {
    return std::string("synwave: ") + e.what() + "\nRun with --help for more information.\n";
}

}  // namespace

int main(int argc, char** argv) {
    // Subcommands on finished runs' JSON: no EAL, their own arguments.
    if (argc > 1 && std::string_view(argv[1]) == "merge") return synwave::app::run_merge(argc - 1, argv + 1);
    if (argc > 1 && std::string_view(argv[1]) == "plot") return synwave::app::run_plot(argc - 1, argv + 1);
    // Program options, then `--`, then EAL options (server/client).
    std::vector<std::string> eal;
    int app_argc = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") {
            app_argc = i;
            for (int k = i + 1; k < argc; ++k) eal.emplace_back(argv[k]);
            break;
        }
    }
    Options o;
    CLI::App app{"synwave: a DPDK userspace TCP endpoint for handshake storms and L4 load"};
    app.require_subcommand(1);
    auto* storm = app.add_subcommand("storm", "client and server in one process over a net_ring pair (no NIC, no hugepages)");
    auto* server = app.add_subcommand("server", "serve connections on a DPDK port (EAL options after --)");
    auto* client = app.add_subcommand("client", "generate connections on a DPDK port (EAL options after --)");
    app.footer("\nAlso (no EAL):\n"
               "  synwave merge RUN.json... -o ALL.json   one run from the JSON of several --instance runs\n"
               "  synwave plot RUN.json... -o RUN.png     connections/s, open connections, losses and latency\n"
               "                                          per second, drawn from runs' JSON series");
    const std::string version = "synwave " SYNWAVE_VERSION " (commit " SYNWAVE_COMMIT ")";
    app.set_version_flag("--version", version);
    app.failure_message(cli_failure);
    for (auto [s, mode] : {std::pair{storm, Mode::Storm}, {server, Mode::Server}, {client, Mode::Client}}) {
        s->set_version_flag("--version", version);
        add_options(*s, o);
        apply_mode_table(*s, mode);
    }
    try {
        app.parse(app_argc, argv);
    } catch (const CLI::ParseError& e) {
        return usage_exit(app, e);
    }
    o.mode = storm->parsed() ? Mode::Storm : server->parsed() ? Mode::Server : Mode::Client;
    std::string err;
    if (!check_option_modes(*app.get_subcommands().front(), o.mode, err)) {
        std::cerr << "synwave: " << err << "\n";
        return 2;
    }
    if (!o.config.empty()) {
        // The file first, then the command line again on top of it: flags given there win.
        if (!load_config(o.config, o, err)) {
            std::cerr << "synwave: config: " << err << "\n";
            return 2;
        }
        try {
            app.parse(app_argc, argv);
        } catch (const CLI::ParseError& e) {
            return usage_exit(app, e);
        }
    }
    if (!finalize(o, err)) {
        std::cerr << "synwave: bad value: " << err << "\n";
        return 2;
    }
    if (o.mode == Mode::Storm && (!eal.empty() || !o.eal.empty())) {
        // Said, not ignored: a user who passes -l or --vdev expects them to take effect.
        std::cerr << "synwave: storm builds its own EAL arguments (2 lcores and a net_ring pair per --lanes lane, "
                     "--no-huge); EAL arguments are for server and client (after `--` or `eal = [...]`)\n";
        return 2;
    }
    if (o.check) {
        std::cout << describe(o);
        return 0;
    }
    return o.mode == Mode::Storm ? run_storm(o) : run_port(o, eal);
}
