// Virtual device hot-plug and ring-joined port pairs; see vdev.hpp.
#include "io/vdev.hpp"

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <utility>

namespace synwave::io {
namespace {

std::string errtext(int ret) { return std::string(rte_strerror(ret < 0 ? -ret : ret)); }

// Stops and closes the port if a Port has not already, then removes the vdev rte_eth_from_rings created
// (closing an ethdev releases the port but leaves the device on the vdev bus, holding the name).
void remove_ring_port(const std::string& name) {
    if (name.empty()) return;
    uint16_t pid = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) == 0) {
        (void)rte_eth_dev_stop(pid);
        (void)rte_eth_dev_close(pid);
    }
    (void)rte_vdev_uninit(name.c_str());
}

void drain_and_free(rte_ring* r) {
    if (r == nullptr) return;
    // The rings carry mbufs between ports: return what is still in flight to its pool.
    void* objs[64];
    unsigned n = 0;
    while ((n = rte_ring_dequeue_burst(r, objs, 64, nullptr)) != 0)
        rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), n);
    rte_ring_free(r);
}

}  // namespace

Result<uint16_t> probe_vdev(const std::string& devargs) {
    const std::string name = devargs.substr(0, devargs.find(','));
    uint16_t pid = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) == 0)
        return Error{"vdev '" + name + "' already exists (port " + std::to_string(pid) + ")"};
    if (int ret = rte_dev_probe(devargs.c_str()); ret != 0)
        return Error{"cannot probe vdev '" + devargs + "': " + errtext(ret) + " (errno " + std::to_string(-ret) +
                     "): unknown driver name, or the driver rejected the arguments (see the EAL log)"};
    if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) != 0)
        return Error{"vdev '" + devargs + "' was probed but created no Ethernet port named '" + name + "'"};
    return pid;
}

Result<void> remove_vdev(const std::string& name) {
    if (int ret = rte_vdev_uninit(name.c_str()); ret != 0)
        return Error{"cannot remove vdev '" + name + "': " + errtext(ret)};
    return {};
}

Result<RingPair> RingPair::create(const std::string& name, uint32_t ring_size, int socket) {
    RingPair p;  // on an early return its destructor frees what was made so far
    const unsigned node = socket < 0 ? rte_socket_id() : static_cast<unsigned>(socket);
    // One lcore enqueues (the sender's TX), one dequeues (the receiver's RX): single producer and consumer.
    // EXACT_SZ: the ring holds ring_size mbufs, not ring_size - 1 (a power-of-two ring keeps one slot free).
    constexpr unsigned kFlags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
    const std::string ab = name + "_ab", ba = name + "_ba";
    // The ports are named "net_ring_<name>_a", which rte_eth_from_rings formats into 32 bytes.
    constexpr size_t kMaxName = 31 - (sizeof("net_ring_") - 1) - 2;
    if (name.size() > kMaxName || ab.size() >= RTE_RING_NAMESIZE)
        return Error{"ring pair '" + name + "': name too long (at most " + std::to_string(kMaxName) +
                     " characters: the ports are named net_ring_<name>_a and _b)"};
    p.ab_ = rte_ring_create(ab.c_str(), ring_size, static_cast<int>(node), kFlags);
    if (p.ab_ == nullptr) return Error{"ring pair '" + name + "': cannot create ring " + ab + ": " + errtext(rte_errno)};
    p.ba_ = rte_ring_create(ba.c_str(), ring_size, static_cast<int>(node), kFlags);
    if (p.ba_ == nullptr) return Error{"ring pair '" + name + "': cannot create ring " + ba + ": " + errtext(rte_errno)};

    // rte_eth_from_rings creates a vdev named "net_ring_<its name argument>" (the vdev bus picks the
    // driver by that prefix) in a 32-byte buffer. The device name is recorded only once it exists, so the
    // destructor removes exactly what was made.
    auto add_port = [&](char side, rte_ring* rx, rte_ring* tx, std::string& dev_name, uint16_t& port) {
        const std::string suffix = name + '_' + side;
        const int id = rte_eth_from_rings(suffix.c_str(), &rx, 1, &tx, 1, node);
        if (id < 0) return false;
        dev_name = "net_ring_" + suffix;
        port = static_cast<uint16_t>(id);
        return true;
    };
    if (!add_port('a', p.ba_, p.ab_, p.name_a_, p.port_a_))
        return Error{"ring pair '" + name + "': rte_eth_from_rings failed for port A: " + errtext(rte_errno)};
    if (!add_port('b', p.ab_, p.ba_, p.name_b_, p.port_b_))
        return Error{"ring pair '" + name + "': rte_eth_from_rings failed for port B: " + errtext(rte_errno)};
    return p;
}

RingPair::RingPair(RingPair&& o) noexcept
    : name_a_(std::move(o.name_a_)), name_b_(std::move(o.name_b_)), port_a_(o.port_a_), port_b_(o.port_b_),
      ab_(std::exchange(o.ab_, nullptr)), ba_(std::exchange(o.ba_, nullptr)) {
    o.name_a_.clear();
    o.name_b_.clear();
}

RingPair::~RingPair() {
    // Ports first: a started port may still be enqueuing into the rings.
    remove_ring_port(name_a_);
    remove_ring_port(name_b_);
    drain_and_free(ab_);
    drain_and_free(ba_);
}

}  // namespace synwave::io
