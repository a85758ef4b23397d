// Shared by dpdk_io's tests: recognisable frames, pools that fail the test when they cannot be made, and a
// pool plus ring pair rig. EAL is already running (started once by main.cpp).
#pragma once
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io/port.hpp"
#include "io/vdev.hpp"

namespace synwave::io::testutil {

// A recognisable Ethernet frame: broadcast destination, a fixed source, IPv4 ethertype, then bytes that
// depend on position and seed so a reordering or truncation shows.
inline void fill_frame(uint8_t* p, uint16_t len, uint8_t seed) {
    static constexpr uint8_t hdr[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x08, 0x00};
    for (uint16_t i = 0; i < len; ++i) p[i] = i < 14 ? hdr[i] : static_cast<uint8_t>(i * 7 + seed);
}

inline std::vector<uint8_t> expected_frame(uint16_t len, uint8_t seed) {
    std::vector<uint8_t> v(len);
    fill_frame(v.data(), len, seed);
    return v;
}

inline rte_mbuf* make_frame(rte_mempool* mp, uint16_t len, uint8_t seed) {
    rte_mbuf* m = alloc_frame(mp, len);
    if (m != nullptr) fill_frame(frame_bytes(m).data(), len, seed);
    return m;
}

inline MempoolPtr pool_or_fail(const std::string& name, uint32_t n, uint32_t cache) {
    auto r = make_pktmbuf_pool(name, n, cache);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r).value() : MempoolPtr{};
}

// A pool and a ring pair "<name>" (ports net_ring_<name>_a and _b), optionally with both ports opened on
// the pool. Members go in reverse order: ports, then the pair (which frees what its rings still hold), then
// the pool. setup() ASSERTs: call it through ASSERT_NO_FATAL_FAILURE.
struct RingRig {
    MempoolPtr pool;
    std::optional<RingPair> pair;
    std::optional<Port> a, b;
    std::array<rte_mempool*, 1> pools{};

    void setup(const std::string& name, uint32_t n_mbufs, uint32_t ring_size, bool open_ports) {
        pool = pool_or_fail("swt_ring_" + name, n_mbufs, 0);
        ASSERT_TRUE(pool);
        pools[0] = pool.get();
        auto p = RingPair::create(name, ring_size);
        ASSERT_TRUE(p.ok()) << p.error();
        pair.emplace(std::move(p).value());
        if (!open_ports) return;
        auto pa = Port::open(PortConfig{.port_id = pair->port_a()}, pools);
        ASSERT_TRUE(pa.ok()) << pa.error();
        a.emplace(std::move(pa).value());
        auto pb = Port::open(PortConfig{.port_id = pair->port_b()}, pools);
        ASSERT_TRUE(pb.ok()) << pb.error();
        b.emplace(std::move(pb).value());
    }
};

}  // namespace synwave::io::testutil
