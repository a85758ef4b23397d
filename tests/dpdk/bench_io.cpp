// Benchmarks of lib/io's data path on virtual devices (no NIC): what one frame costs to allocate, batch
// and hand to a driver. net_null frees what it is given (the cost of a NIC's TX minus the wire); a ring
// pair moves pointers to the other port, where the benchmark receives and frees them.
//
// Run: build-io/tests/dpdk/bench_io --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// EAL: --no-huge -m 256 --no-pci --no-shconf -l 0 (one lcore, ordinary memory).
#include <benchmark/benchmark.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "io/eal.hpp"
#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io/pcap.hpp"
#include "io/port.hpp"
#include "io/txbatch.hpp"
#include "io/vdev.hpp"

namespace {

using namespace synwave;
using namespace synwave::io;

constexpr uint16_t kFrameLen = 64;  // a SYN-ACK with options is 74-78 bytes; the minimum frame is 60 + FCS

// Allocate a frame, write its first 8 bytes (as a header builder would touch it), push it into the batch;
// the batch flushes to net_null every 64 frames, which frees them. Per item: alloc + push + 1/64 burst + free.
void BM_AllocPushFlushNull(benchmark::State& state) {
    auto id = probe_vdev("net_null_bench");
    if (!id) { state.SkipWithError(id.error().c_str()); return; }
    auto pool = make_pktmbuf_pool("bench_null", 8191, 256);
    if (!pool) { state.SkipWithError(pool.error().c_str()); return; }
    rte_mempool* pools[] = {pool->get()};
    uint64_t alloc_failures = 0;
    {
        auto port = Port::open(PortConfig{.port_id = *id}, pools);
        if (!port) { state.SkipWithError(port.error().c_str()); return; }
        TxBatch tx(*id, 0, Duration{100'000});
        for (auto _ : state) {
            rte_mbuf* m = alloc_frame(pool->get(), kFrameLen, alloc_failures);
            if (m == nullptr) continue;
            std::memset(rte_pktmbuf_mtod(m, uint8_t*), 0xab, 8);
            tx.push(m);
        }
        (void)tx.flush();
        const uint64_t iters = static_cast<uint64_t>(state.iterations());
        if (alloc_failures != 0 || tx.counters().tx_packets != iters || tx.counters().tx_ring_full_drops != 0)
            state.SkipWithError("not every frame was allocated and sent");
        state.counters["bursts"] = static_cast<double>(tx.counters().tx_bursts);
    }
    state.SetItemsProcessed(state.iterations());
    (void)remove_vdev("net_null_bench");
}
BENCHMARK(BM_AllocPushFlushNull);

// A burst of 32 frames through a ring pair and back into the pool: allocate in bulk, push, flush on port A,
// receive on port B, free in bulk. Per item: one frame's share of each.
void BM_RingPairBurst32(benchmark::State& state) {
    constexpr uint16_t kBurst = 32;
    auto pool = make_pktmbuf_pool("bench_ring", 4095, 256);
    if (!pool) { state.SkipWithError(pool.error().c_str()); return; }
    uint64_t received = 0;
    uint64_t sent = 0;
    {
        auto pair = RingPair::create("bench", 1024);
        if (!pair) { state.SkipWithError(pair.error().c_str()); return; }
        rte_mempool* pools[] = {pool->get()};
        auto a = Port::open(PortConfig{.port_id = pair->port_a()}, pools);
        auto b = Port::open(PortConfig{.port_id = pair->port_b()}, pools);
        if (!a || !b) { state.SkipWithError("cannot open the ring ports"); return; }
        TxBatch tx(pair->port_a(), 0, Duration{100'000});
        std::array<rte_mbuf*, kBurst> out{};
        std::array<rte_mbuf*, kBurst> in{};
        for (auto _ : state) {
            if (!alloc_frames(pool->get(), out, kFrameLen)) {
                state.SkipWithError("pool empty: frames are not coming back");
                break;
            }
            for (rte_mbuf* m : out) tx.push(m);
            sent += tx.flush();
            const uint16_t n = rte_eth_rx_burst(pair->port_b(), 0, in.data(), kBurst);
            received += n;
            rte_pktmbuf_free_bulk(in.data(), n);
        }
        if (received != static_cast<uint64_t>(state.iterations()) * kBurst || sent != received)
            state.SkipWithError("frames lost between the ports");
    }
    state.SetItemsProcessed(state.iterations() * kBurst);
}
BENCHMARK(BM_RingPairBurst32);

// The capture path: one 74-byte frame into a pcap file (stdio-buffered; /dev/null so the disk is not measured).
void BM_PcapWrite74(benchmark::State& state) {
    auto w = PcapWriter::open("/dev/null");
    if (!w) { state.SkipWithError(w.error().c_str()); return; }
    std::array<uint8_t, 74> frame{};
    frame.fill(0x5a);
    uint64_t ns = 1'700'000'000'000'000'000;
    for (auto _ : state) w->write(frame.data(), frame.size(), ns++);
    if (w->frames() != static_cast<uint64_t>(state.iterations())) state.SkipWithError("frames not written");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PcapWrite74);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    const std::vector<std::string> eal = {"--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                                          "--file-prefix=swbench-io-" + std::to_string(getpid()), "-l", "0",
                                          "--log-level=lib.eal:warning"};
    auto r = eal_init(eal, EalOptions{.require_ports = false});
    if (!r) {
        std::fprintf(stderr, "%s\n", r.error().c_str());
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    auto c = eal_cleanup();
    return c ? 0 : 1;
}
