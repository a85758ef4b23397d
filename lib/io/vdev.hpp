// Virtual devices after EAL start: hot-plugging a vdev by its devargs, and a pair of ports joined by two
// rings (what the embedded default uses to join a client lcore to a server lcore with no NIC).
#pragma once
#include <cstdint>
#include <string>

#include "io/result.hpp"

struct rte_ring;

namespace synwave::io {

// rte_dev_probe("<driver><n>[,key=value...]") and the port it created, e.g. probe_vdev("net_null1") or
// probe_vdev("net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"). An unknown driver or rejected arguments
// come back as an error naming the device, not a crash.
[[nodiscard]] Result<uint16_t> probe_vdev(const std::string& devargs);

// Removes a vdev probed earlier (rte_vdev_uninit). Close its Port first.
[[nodiscard]] Result<void> remove_vdev(const std::string& name);

// Two ethdev ports ("net_ring_<name>_a", "net_ring_<name>_b") over two rte_rings: what port A sends,
// port B receives, and the other way round.
//
//   port A  --tx-->  ring "<name>_ab"  --rx-->  port B
//   port A  <--rx--  ring "<name>_ba"  <--tx--  port B
//
// Rings are single-producer/single-consumer (one lcore per side) and hold exactly `ring_size` mbufs
// (RING_F_EXACT_SZ). A port whose peer never receives fills its TX ring: tx_burst then takes nothing.
// Open each side with Port::open(PortConfig{.port_id = pair.port_a()}, ...). The destructor closes the
// ports that are still open, frees any mbufs left in the rings and frees the rings.
class RingPair {
public:
    [[nodiscard]] static Result<RingPair> create(const std::string& name, uint32_t ring_size, int socket = -1);

    RingPair(RingPair&& o) noexcept;
    RingPair& operator=(RingPair&&) = delete;
    RingPair(const RingPair&) = delete;
    RingPair& operator=(const RingPair&) = delete;
    ~RingPair();

    [[nodiscard]] uint16_t port_a() const { return port_a_; }
    [[nodiscard]] uint16_t port_b() const { return port_b_; }
    [[nodiscard]] rte_ring* ring_ab() const { return ab_; }
    [[nodiscard]] rte_ring* ring_ba() const { return ba_; }

private:
    RingPair() = default;
    std::string name_a_, name_b_;
    uint16_t port_a_ = 0, port_b_ = 0;
    rte_ring* ab_ = nullptr;
    rte_ring* ba_ = nullptr;
};

}  // namespace synwave::io
