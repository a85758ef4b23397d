// The whole storm's cost per connection, engine included: a client Worker and a server Worker over a net_ring
// pair in one thread (real EAL, --no-huge), HTTP GET with a 64-byte body, the server closing first, 2000
// connections open at a time, TIME_WAIT 2 ms (MSL 1 ms) so that each connection also pays for its record's
// expiry, as in a long storm. Time is simulated (2 µs per loop turn of both workers), so the figure does not
// depend on how fast the machine runs, and valgrind's slowdown does not change what the timers do.
//
// Instructions per connection, both workers' run_once (RX, parse, stack, applications, timers, frames, TX):
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/engine.cg --toggle-collect='*run_turns*'
//       build/tests/dpdk/bench_engine 100000
//   (Collected / connections)
// BENCH_NO_DIRECT=1 leaves the client's 4-tuples in the hash table (StackConfig::direct unset), for an A/B of
// the direct index. BENCH_V6=1 runs every connection over IPv6 (fd00:1::1-4 to fd00::1), BENCH_V6=0.5 half of
// them, for the IPv6 vs IPv4 cost. BENCH_ORDER=random walks the tuples in the random order; BENCH_DSTS=n
// spreads the connections over n servers 10.0.0.1.. (and fd00::1..), BENCH_DPORTS=n over ports 80.. (consecutive:
// still in the direct index). BENCH_REQUESTS=n sends n requests per connection over HTTP keep-alive (the
// server keeps connections open until the client's last request says close): divide by connections x n for the
// cost of one keep-alive request and response. Without valgrind it prints the wall-clock rate of the one thread doing both ends (a figure for
// comparisons in one session, not a benchmark of the storm's two lcores).
#include <rte_cycles.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "io/eal.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "io/vdev.hpp"

using namespace synwave;
using namespace synwave::engine;

namespace {

constexpr Duration kTurn{2'000};  // simulated cycles per loop turn at the 1 GHz rate below: 2 µs
constexpr TscRate kRate{1'000'000'000};

io::MempoolPtr pool(const std::string& name) {
    auto r = io::make_pktmbuf_pool(name, 16383, 256);
    if (!r.ok()) {
        std::fprintf(stderr, "bench_engine: %s\n", r.error().c_str());
        std::exit(1);
    }
    return std::move(r).value();
}

io::Port port(uint16_t id, rte_mempool* mp) {
    io::PortConfig pc;
    pc.port_id = id;
    pc.rx_desc = pc.tx_desc = 4096;
    auto p = io::Port::open(pc, std::span<rte_mempool* const>(&mp, 1));
    if (!p.ok()) {
        std::fprintf(stderr, "bench_engine: %s\n", p.error().c_str());
        std::exit(1);
    }
    return std::move(p).value();
}

WorkerConfig config(const io::Port& p, rte_mempool* mp, Ipv4 lo, Ipv4 hi, const Mac& peer) {
    WorkerConfig w;
    w.port = p.id();
    w.pool = mp;
    w.mac = p.mac();
    w.ip_lo = lo;
    w.ip_hi = hi;
    w.tx_csum_offload = p.tx_csum_offload();
    w.rx_csum_offload = p.rx_csum_offload();
    w.static_neighbour = true;
    w.neighbour_mac = peer;
    // As the storm's lanes: frames leave marked "checksums good", so the receiver does not sum them again.
    // BENCH_RX_VERIFY=1: unmarked, every frame is verified in software as from a NIC without RX offload.
    w.in_process_link = std::getenv("BENCH_RX_VERIFY") == nullptr;
    w.rx_burst = 64;
    w.stack.msl_ms = 1;
    w.stack.max_conns = 8192;
    w.stack.max_timewait = 1u << 16;
    return w;
}

// Not inlined, so that callgrind can count just this (--toggle-collect='*run_turns*').
[[gnu::noinline]] Instant run_turns(Worker& cw, Worker& sw, Client& client, Instant now) {
    while (!client.done()) {
        cw.run_once(now);
        sw.run_once(now);
        now += kTurn;
    }
    return now;
}

}  // namespace

int main(int argc, char** argv) {
    const uint64_t conns = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100'000;
    const std::vector<std::string> eal = {"--no-huge", "-m", "512", "--no-pci", "--no-shconf",
                                          "--file-prefix=swbench-engine-" + std::to_string(::getpid()), "-l", "0",
                                          "--log-level=lib.eal:error"};
    io::EalOptions eo;
    eo.require_ports = false;
    if (auto r = io::eal_init(eal, eo); !r.ok()) {
        std::fprintf(stderr, "bench_engine: %s\n", r.error().c_str());
        return 1;
    }
    int rc = 0;
    {
        // One pool for both workers, as the storm has: a worker reuses the mbufs it received for its frames.
        io::MempoolPtr spool = pool("bench_pool");
        rte_mempool* const cpool = spool.get();
        auto pair = io::RingPair::create("benchengine", 16384);
        if (!pair.ok()) {
            std::fprintf(stderr, "bench_engine: %s\n", pair.error().c_str());
            return 1;
        }
        io::Port sport = port(pair->port_a(), spool.get());
        io::Port cport = port(pair->port_b(), cpool);
        const Ipv4 server_ip{0x0A00'0001}, client_lo{0x0A01'0001}, client_hi{0x0A01'0004};
        auto env = [](const char* k, uint32_t dflt) {
            const char* v = std::getenv(k);
            return v ? static_cast<uint32_t>(std::strtoul(v, nullptr, 10)) : dflt;
        };
        const uint32_t ndst = std::max<uint32_t>(1, env("BENCH_DSTS", 1));
        const uint32_t nport = std::max<uint32_t>(1, env("BENCH_DPORTS", 1));

        ServerConfig scfg;
        scfg.body_bytes = 64;
        scfg.close = CloseMode::ServerFirst;
        const uint32_t requests = std::max<uint32_t>(1, env("BENCH_REQUESTS", 1));
        scfg.keepalive = requests > 1;
        Server server(scfg);
        ClientConfig ccfg;
        ccfg.src_lo = client_lo;
        ccfg.src_hi = client_hi;
        ccfg.dsts.clear();
        for (uint32_t i = 0; i < ndst; ++i) ccfg.dsts.push_back(Ipv4{server_ip.v + i});
        ccfg.dports.clear();
        for (uint32_t i = 0; i < nport; ++i) ccfg.dports.push_back(static_cast<uint16_t>(80 + i));
        const char* order = std::getenv("BENCH_ORDER");
        if (order && std::string(order) == "random") ccfg.order = TupleOrder::Random;
        ccfg.concurrency = 2000;
        ccfg.max_connections = conns;
        ccfg.requests_per_conn = requests;
        if (requests == 1) ccfg.response_bytes = http_response(64, false).size();
        const char* v6 = std::getenv("BENCH_V6");
        ccfg.v6_share = v6 ? std::strtod(v6, nullptr) : 0.0;
        ccfg.src6_lo = *Ipv6::parse("fd00:1::1");
        ccfg.src6_count = 4;
        ccfg.dsts6.clear();
        for (uint32_t i = 0; i < ndst; ++i) ccfg.dsts6.push_back(Ipv6::parse("fd00::1")->with_low32(1 + i));
        Client client(ccfg, kRate);

        WorkerConfig ws = config(sport, spool.get(), server_ip, Ipv4{server_ip.v + ndst - 1}, cport.mac());
        WorkerConfig wc = config(cport, cpool, client_lo, client_hi, sport.mac());
        wc.stack.max_timewait = 1024;
        ws.ip6_lo = ccfg.dsts6[0];
        ws.ip6_count = ndst;
        wc.ip6_lo = ccfg.src6_lo;
        wc.ip6_count = ccfg.src6_count;
        if (std::getenv("BENCH_NO_DIRECT") == nullptr) wc.stack.direct = ccfg.tuples();
        server.set_slots(ws.stack.max_conns);
        client.set_slots(wc.stack.max_conns);
        const Instant t0{1'000'000'000'000ull};
        const tcp::Secrets ss{{1, 2}, {3, 4}, {5, 6}}, cs{{7, 8}, {9, 10}, {11, 12}};
        Worker sw(ws, kRate, t0, ss, &server);
        Worker cw(wc, kRate, t0, cs, &client);
        for (uint16_t p : ccfg.dports) sw.stack().listen(p);

        const uint64_t c0 = rte_rdtsc();
        const Instant end = run_turns(cw, sw, client, t0);
        const uint64_t cycles = rte_rdtsc() - c0;
        const double secs = static_cast<double>(cycles) / static_cast<double>(rte_get_tsc_hz());
        const uint64_t done = client.c.conn_completed;
        std::printf("%llu connections completed, %llu failed, %llu responses, %.1f ms simulated, %llu frames each "
                    "way: %.0f connections/s on one thread for both ends\n",
                    static_cast<unsigned long long>(done), static_cast<unsigned long long>(client.c.conn_failed),
                    static_cast<unsigned long long>(client.c.responses_done),
                    static_cast<double>((end - t0).cycles) / 1e6,
                    static_cast<unsigned long long>(cw.counters().tx_packets), static_cast<double>(done) / secs);
        rc = done == conns && client.c.conn_failed == 0 && client.c.responses_done == conns * requests ? 0 : 1;
    }
    (void)io::eal_cleanup();
    return rc;
}
