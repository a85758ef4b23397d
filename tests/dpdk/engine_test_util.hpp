// Shared by dpdk_engine's tests: lib/engine's Worker against a real EAL (started once by engine_main.cpp:
// --no-huge --no-pci --no-shconf -l 0) and real virtual devices, which each test makes and removes itself.
//
// Both workers of a pair run in the test thread: run_once(Instant{rte_rdtsc()}) on one, then the other, as
// the storm's lanes do on two lcores (apps/runner.cpp). Time is the real TSC, so the TCP timers (RTO 200 ms
// at least, 1 s for a SYN; TIME_WAIT 2 * msl_ms) run at wall-clock speed: every phase of a test ends well
// inside one RTO, or shortens MSL so its TIME_WAIT records expire within the test.
//
// What is checked is exact: every counter that a run determines (connections, segments == frames on each
// side, drops by reason, ring-full and pool-empty counts), the bytes of every reply frame, and that the
// tables, the timer wheel and the mempools are empty / full again afterwards.
#pragma once
#include <gtest/gtest.h>

#include <rte_cycles.h>
#include <rte_mempool.h>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "engine/worker.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "wire/frame.hpp"

namespace synwave::engine::testutil {

inline Instant tsc_now() { return Instant{rte_rdtsc()}; }

inline TscRate tsc_rate() { return TscRate{rte_get_tsc_hz()}; }

// Fixed keys: ISNs and cookies differ per run only through the clock, which is all the tests need.
inline const tcp::Secrets kServerSecrets{{0x0123'4567'89ab'cdefULL, 0x1111}, {0x2222, 0x3333}, {0x4444, 0x5555}};
inline const tcp::Secrets kClientSecrets{{0xfedc'ba98'7654'3210ULL, 0x6666}, {0x7777, 0x8888}, {0x9999, 0xaaaa}};

inline io::MempoolPtr pool_or_fail(const std::string& name, uint32_t n, uint32_t cache) {
    auto r = io::make_pktmbuf_pool(name, n, cache);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r).value() : io::MempoolPtr{};
}

inline std::optional<io::Port> open_port(uint16_t port_id, rte_mempool* pool) {
    io::PortConfig pc;
    pc.port_id = port_id;
    pc.rx_desc = pc.tx_desc = 4096;
    auto p = io::Port::open(pc, std::span<rte_mempool* const>(&pool, 1));
    EXPECT_TRUE(p.ok()) << p.error();
    if (!p.ok()) return std::nullopt;
    return std::move(p).value();
}

inline WorkerConfig worker_config(const io::Port& port, rte_mempool* pool, Ipv4 lo, Ipv4 hi) {
    WorkerConfig w;
    w.port = port.id();
    w.queue = 0;
    w.pool = pool;
    w.mac = port.mac();
    w.ip_lo = lo;
    w.ip_hi = hi;
    w.tx_csum_offload = port.tx_csum_offload();
    w.rx_csum_offload = port.rx_csum_offload();
    return w;
}

inline uint64_t drop_sum(const Worker& w) {
    return std::accumulate(w.drops().begin() + 1, w.drops().end(), uint64_t{0});
}

inline uint64_t drops_of(const Worker& w, wire::Drop d) { return w.drops()[static_cast<size_t>(d)]; }

// A worker over a net_pcap replay: net_pcap delivers its file once and then nothing, so run until all `n` frames
// are in, then a while longer, all well under the SYN-ACK's 1 s RTO (nothing retransmitted into the capture).
// True unless that took long enough for a retransmission timeout to fire.
inline bool run_replay(Worker& w, size_t n, TscRate rate, Instant t0) {
    Instant now = t0;
    while (w.counters().rx_packets < n && now < t0 + rate.ms(500)) w.run_once(now = tsc_now());
    for (int i = 0; i < 1000; ++i) w.run_once(tsc_now());
    w.flush();
    return rate.to_ms(tsc_now() - t0) < 900;
}

// The addresses of the tests where the worker answers one hand-built peer (net_pcap replay, ARP on a ring).
inline constexpr Ipv4 kOurIp{0x0A09'0001};   // 10.9.0.1
inline constexpr Ipv4 kPeerIp{0x0A09'0002};  // 10.9.0.2
inline constexpr Mac kPeerMac{{0x02, 0x00, 0x5e, 0x09, 0x00, 0x02}};

}  // namespace synwave::engine::testutil
