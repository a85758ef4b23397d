// An Ethernet port opened for synwave: configured, queues set up, started, and described.
//
// Port::open() asks the device what it can do (rte_eth_dev_info) and enables only that: RSS over the
// TCP/IPv4 4-tuple when flow_type_rss_offloads offers it, IPv4+TCP checksum offloads when the TX and RX
// offload capabilities offer them. Everything it decided is in PortInfo, which the engine reads once at
// start-up: whether to checksum in software, how many queues (lcores) the port feeds, and the RSS key and
// redirection table (RETA) that the flow layer's software Toeplitz mirrors to pick client source ports
// whose replies return to the picking lcore.
//
// Devices without RSS (net_ring, net_pcap, net_af_packet, net_tap without its BPF flow support) cannot
// spread connections over queues, so share-nothing needs one queue per port there, one lcore per device:
// open() refuses more than one queue with RSS requested and says so.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/ipv4addr.hpp"
#include "io/result.hpp"

struct rte_mempool;

namespace synwave::io {

struct PortConfig {
    uint16_t port_id = 0;
    uint16_t queues = 1;        // RX and TX queue pairs, one per lcore serving this port
    uint16_t rx_desc = 1024;    // per queue; clamped to the device's limits (rte_eth_dev_adjust_nb_rx_tx_desc)
    uint16_t tx_desc = 1024;
    uint16_t mtu = 1500;        // L3 MTU, checked against dev_info.min_mtu/max_mtu
    bool rss = true;            // spread RX by the TCP/IPv4 4-tuple when the device can
    bool symmetric = true;      // default key: 0x6d5a repeated (symmetric) or Microsoft/Intel's (see rss.hpp)
    std::vector<uint8_t> rss_key;  // explicit key (must be the device's key size); empty: the default above
    bool offload_checksums = true;  // use IPv4/TCP checksum offloads where the device has them
    bool promiscuous = true;
};

struct PortStats {  // rte_eth_stats, the fields synwave reports
    uint64_t ipackets = 0;
    uint64_t opackets = 0;
    uint64_t ibytes = 0;
    uint64_t obytes = 0;
    uint64_t imissed = 0;    // dropped by the device: RX ring full (the lcore fell behind)
    uint64_t ierrors = 0;
    uint64_t oerrors = 0;
    uint64_t rx_nombuf = 0;  // RX refill failed: mempool empty (pool too small, or mbufs leaking)
};

struct LinkStatus {
    bool up = false;
    uint32_t speed_mbps = 0;
    bool full_duplex = false;
};

// What open() found and decided. Read-only after open().
struct PortInfo {
    uint16_t port_id = 0;
    std::string name;         // ethdev name, e.g. "net_ring0"
    std::string driver;       // e.g. "net_ring"
    int socket = -1;          // NUMA socket of the device (-1: any)
    uint16_t queues = 0;
    uint16_t rx_desc = 0;     // after clamping to the device's limits
    uint16_t tx_desc = 0;
    uint16_t mtu = 0;
    Mac mac;
    bool rss = false;             // RSS enabled: queue = reta[hash % reta.size()]
    uint64_t rss_hf = 0;          // RTE_ETH_RSS_* hash types enabled
    std::vector<uint8_t> rss_key; // the key in use (read back from the device when it can tell)
    std::vector<uint16_t> reta;   // redirection table, queue index per entry; empty when no RSS
    bool tx_csum_offload = false; // TX IPv4 header + TCP checksum by the device (set metadata, see mbuf.hpp)
    bool rx_csum_offload = false; // RX IPv4 + TCP checksum verdicts in ol_flags (see rx_csum_status)
    bool promiscuous = false;
    std::vector<std::string> notes;  // decisions worth printing at start-up ("no RSS: ...")
};

class Port {
public:
    // Configures, sets up `cfg.queues` RX/TX queue pairs and starts the port. `rx_pools` holds one mempool
    // for all RX queues, or one per queue. On failure the port is left stopped and can be opened again.
    [[nodiscard]] static Result<Port> open(const PortConfig& cfg, std::span<rte_mempool* const> rx_pools);

    Port(Port&& o) noexcept;
    Port& operator=(Port&& o) noexcept;
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;
    ~Port();  // close()

    [[nodiscard]] const PortInfo& info() const { return info_; }
    [[nodiscard]] uint16_t id() const { return info_.port_id; }
    [[nodiscard]] uint16_t queues() const { return info_.queues; }
    [[nodiscard]] bool rss() const { return info_.rss; }
    [[nodiscard]] const std::vector<uint16_t>& reta() const { return info_.reta; }
    [[nodiscard]] bool tx_csum_offload() const { return info_.tx_csum_offload; }
    [[nodiscard]] bool rx_csum_offload() const { return info_.rx_csum_offload; }
    [[nodiscard]] const Mac& mac() const { return info_.mac; }

    [[nodiscard]] LinkStatus link() const;  // rte_eth_link_get_nowait: does not wait for negotiation
    [[nodiscard]] Result<PortStats> stats() const;
    [[nodiscard]] Result<void> reset_stats();

    // Stops and closes the device (for virtual devices this releases the port id). Idempotent.
    void close();
    [[nodiscard]] bool is_open() const { return open_; }

private:
    Port() = default;
    PortInfo info_;
    bool open_ = false;
};

}  // namespace synwave::io
