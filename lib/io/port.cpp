// Port set-up: rte_eth_dev_configure, queue set-up, start, RSS/RETA and offload discovery. See port.hpp.
#include "io/port.hpp"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdio>
#include <utility>

#include "io/rss.hpp"

namespace synwave::io {
namespace {

std::string hex64(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string errtext(int ret) { return std::string(rte_strerror(ret < 0 ? -ret : ret)); }

// The hash types synwave needs: the TCP/IPv4 and TCP/IPv6 4-tuples (what the flow layer's software Toeplitz
// reproduces) and plain IPv4 / IPv6 for the rest (ICMP, fragments), so they spread too.
constexpr uint64_t kWantedRssHf =
    RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV6_TCP | RTE_ETH_RSS_IPV6;

constexpr uint64_t kTxCsum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
constexpr uint64_t kRxCsum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;

// The rte_eth_rss_reta_entry64 groups covering a RETA of `size` entries, every entry selected (mask bit
// set) and zero: what both rte_eth_dev_rss_reta_update and rte_eth_dev_rss_reta_query take.
std::vector<rte_eth_rss_reta_entry64> reta_groups(uint16_t size) {
    std::vector<rte_eth_rss_reta_entry64> g((size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
    for (size_t i = 0; i < size; ++i) g[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
    return g;
}

}  // namespace

Result<Port> Port::open(const PortConfig& cfg, std::span<rte_mempool* const> rx_pools) {
    const uint16_t pid = cfg.port_id;
    if (!rte_eth_dev_is_valid_port(pid)) return Error{"port " + std::to_string(pid) + ": no such port"};
    Port port;
    PortInfo& info = port.info_;
    info.port_id = pid;
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(pid, name) == 0) info.name = name;
    const std::string who = "port " + std::to_string(pid) + " (" + info.name + ")";

    if (cfg.queues == 0) return Error{who + ": queues must be at least 1"};
    if (rx_pools.size() != 1 && rx_pools.size() != cfg.queues)
        return Error{who + ": give one RX mempool, or one per queue (" + std::to_string(cfg.queues) + "), not " +
                     std::to_string(rx_pools.size())};
    for (rte_mempool* mp : rx_pools)
        if (mp == nullptr) return Error{who + ": RX mempool is null"};

    rte_eth_dev_info dev{};
    if (int ret = rte_eth_dev_info_get(pid, &dev); ret != 0)
        return Error{who + ": rte_eth_dev_info_get failed: " + errtext(ret)};
    info.driver = dev.driver_name ? dev.driver_name : "";
    const std::string who_drv = "port " + std::to_string(pid) + " (" + info.name + ", driver " + info.driver + ")";

    if (cfg.queues > dev.max_rx_queues || cfg.queues > dev.max_tx_queues)
        return Error{who_drv + ": " + std::to_string(cfg.queues) + " queues requested, the device has at most " +
                     std::to_string(dev.max_rx_queues) + " RX and " + std::to_string(dev.max_tx_queues) + " TX"};
    if (cfg.mtu < dev.min_mtu || cfg.mtu > dev.max_mtu)
        return Error{who_drv + ": MTU " + std::to_string(cfg.mtu) + " outside the device's range " +
                     std::to_string(dev.min_mtu) + ".." + std::to_string(dev.max_mtu)};

    rte_eth_conf conf{};
    conf.rxmode.mtu = cfg.mtu;

    // RSS: enabled only if the device hashes the TCP/IPv4 4-tuple, since that is the hash the flow layer
    // predicts. Without it every packet lands on queue 0, so more queues would leave all but one idle and
    // break share-nothing (a connection's packets must reach the lcore that owns it).
    const uint64_t offered_hf = dev.flow_type_rss_offloads & kWantedRssHf;
    const bool can_rss = (offered_hf & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0;
    if (cfg.rss && !can_rss) {
        if (cfg.queues > 1)
            return Error{who_drv + ": no RSS over TCP/IPv4 (flow_type_rss_offloads=" +
                         hex64(dev.flow_type_rss_offloads) + "), so " + std::to_string(cfg.queues) +
                         " queues cannot share its connections: open it with 1 queue and give each lcore its own "
                         "device"};
        info.notes.push_back("no RSS on this device: 1 queue, served by 1 lcore");
    }
    if (!cfg.rss && cfg.queues > 1)
        info.notes.push_back("RSS off with " + std::to_string(cfg.queues) +
                             " queues: the device decides which queue receives what");
    const size_t key_len = dev.hash_key_size != 0 ? dev.hash_key_size : flow::kRssKeyLen;
    if (cfg.rss && can_rss) {
        if (!cfg.rss_key.empty() && cfg.rss_key.size() != key_len)
            return Error{who_drv + ": RSS key of " + std::to_string(cfg.rss_key.size()) + " bytes, the device takes " +
                         std::to_string(key_len)};
        info.rss = true;
        info.rss_hf = offered_hf;
        info.rss_key = cfg.rss_key.empty() ? make_rss_key(key_len, cfg.symmetric) : cfg.rss_key;
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = info.rss_key.data();
        conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(info.rss_key.size());
        conf.rx_adv_conf.rss_conf.rss_hf = offered_hf;
    }

    // Checksum offloads: all or nothing per direction. The engine has one TX path with offload and one in
    // software; a device computing the IPv4 checksum but not TCP's would need a third.
    if (cfg.offload_checksums) {
        info.tx_csum_offload = (dev.tx_offload_capa & kTxCsum) == kTxCsum;
        info.rx_csum_offload = (dev.rx_offload_capa & kRxCsum) == kRxCsum;
    }
    if (info.tx_csum_offload) conf.txmode.offloads |= kTxCsum;
    if (info.rx_csum_offload) conf.rxmode.offloads |= kRxCsum;
    if (cfg.offload_checksums && !info.tx_csum_offload)
        info.notes.push_back("no TX IPv4+TCP checksum offload: checksums computed in software");

    if (int ret = rte_eth_dev_configure(pid, cfg.queues, cfg.queues, &conf); ret != 0)
        return Error{who_drv + ": rte_eth_dev_configure failed: " + errtext(ret)};

    uint16_t nb_rxd = cfg.rx_desc, nb_txd = cfg.tx_desc;
    if (int ret = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nb_rxd, &nb_txd); ret != 0)
        return Error{who_drv + ": rte_eth_dev_adjust_nb_rx_tx_desc failed: " + errtext(ret)};
    info.rx_desc = nb_rxd;
    info.tx_desc = nb_txd;

    info.socket = rte_eth_dev_socket_id(pid);
    const unsigned socket = info.socket < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : static_cast<unsigned>(info.socket);
    rte_eth_rxconf rxconf = dev.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    rte_eth_txconf txconf = dev.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    for (uint16_t q = 0; q < cfg.queues; ++q) {
        rte_mempool* mp = rx_pools.size() == 1 ? rx_pools[0] : rx_pools[q];
        if (int ret = rte_eth_rx_queue_setup(pid, q, nb_rxd, socket, &rxconf, mp); ret != 0)
            return Error{who_drv + ": RX queue " + std::to_string(q) + " set-up failed: " + errtext(ret)};
        if (int ret = rte_eth_tx_queue_setup(pid, q, nb_txd, socket, &txconf); ret != 0)
            return Error{who_drv + ": TX queue " + std::to_string(q) + " set-up failed: " + errtext(ret)};
    }

    if (cfg.promiscuous) {
        // net_ring and others have no promiscuous mode to switch: they deliver everything anyway.
        if (int ret = rte_eth_promiscuous_enable(pid); ret != 0 && ret != -ENOTSUP)
            return Error{who_drv + ": cannot enable promiscuous mode: " + errtext(ret)};
    }

    if (int ret = rte_eth_dev_start(pid); ret != 0)
        return Error{who_drv + ": rte_eth_dev_start failed: " + errtext(ret)};
    // From here on an early return stops the port again (but does not close it: closing a virtual
    // device releases its port id, and the caller may want to retry).
    bool opened = false;
    struct StopUnlessOpened {
        uint16_t pid;
        const bool& opened;
        ~StopUnlessOpened() { if (!opened) (void)rte_eth_dev_stop(pid); }
    } stop_guard{pid, opened};
    info.queues = cfg.queues;
    info.promiscuous = rte_eth_promiscuous_get(pid) == 1;

    uint16_t mtu = 0;
    info.mtu = rte_eth_dev_get_mtu(pid, &mtu) == 0 ? mtu : cfg.mtu;

    rte_ether_addr mac{};
    if (int ret = rte_eth_macaddr_get(pid, &mac); ret != 0)
        return Error{who_drv + ": cannot read MAC address: " + errtext(ret)};
    for (size_t i = 0; i < 6; ++i) info.mac.b[i] = mac.addr_bytes[i];
    if (info.mac == Mac{}) {
        // Ring ports report 00:00:00:00:00:00, which is no valid source address (pcap readers and kernel
        // peers flag it). Give the port a locally administered unicast one (IEEE 802 §8.2: bit 1 of the
        // first octet set, bit 0 clear), "SW" plus the port id, and tell the device if it listens (ring
        // ports do not, and need not: they deliver every frame whatever its destination).
        info.mac = Mac{{0x02, 0x53, 0x57, 0x00, static_cast<uint8_t>(pid >> 8), static_cast<uint8_t>(pid & 0xff)}};
        for (size_t i = 0; i < 6; ++i) mac.addr_bytes[i] = info.mac.b[i];
        (void)rte_eth_dev_default_mac_addr_set(pid, &mac);
        info.notes.push_back("device has no MAC address: using " + info.mac.str());
    }

    if (info.rss) {
        // Some drivers (net_null among them) ignore the key given to rte_eth_dev_configure: set it again
        // explicitly, then read it back, since the software prediction must use the key actually in use.
        rte_eth_rss_conf want{};
        want.rss_key = info.rss_key.data();
        want.rss_key_len = static_cast<uint8_t>(info.rss_key.size());
        want.rss_hf = info.rss_hf;
        if (int ret = rte_eth_dev_rss_hash_update(pid, &want); ret != 0 && ret != -ENOTSUP)
            return Error{who_drv + ": cannot set the RSS key: " + errtext(ret)};
        std::vector<uint8_t> key(key_len);
        rte_eth_rss_conf rc{};
        rc.rss_key = key.data();
        rc.rss_key_len = static_cast<uint8_t>(key.size());
        if (rte_eth_dev_rss_hash_conf_get(pid, &rc) == 0 && rc.rss_key_len == key.size()) info.rss_key = key;

        // RETA: programmed round-robin (entry i -> queue i % queues), the spread every NIC driver defaults to
        // but not all guarantee, then read back so the mirror is what the device uses, not what we hope.
        const uint16_t reta_size = dev.reta_size;
        if (reta_size == 0) {
            if (cfg.queues > 1)
                return Error{who_drv + ": RSS without a redirection table (reta_size 0): the queue of a "
                                       "connection cannot be predicted; use 1 queue"};
            info.notes.push_back("RSS without RETA: queue prediction unavailable (1 queue)");
        } else {
            std::vector<rte_eth_rss_reta_entry64> reta = reta_groups(reta_size);
            for (size_t i = 0; i < reta_size; ++i)
                reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
                    static_cast<uint16_t>(i % cfg.queues);
            const int upd = rte_eth_dev_rss_reta_update(pid, reta.data(), reta_size);
            if (upd != 0 && upd != -ENOTSUP)
                return Error{who_drv + ": cannot program the RSS redirection table: " + errtext(upd)};
            reta = reta_groups(reta_size);  // zeroed, so the query's answer is not our own request read back
            if (int ret = rte_eth_dev_rss_reta_query(pid, reta.data(), reta_size); ret != 0)
                return Error{who_drv + ": cannot read the RSS redirection table: " + errtext(ret)};
            info.reta.resize(reta_size);
            for (size_t i = 0; i < reta_size; ++i) {
                const uint16_t q = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
                if (q >= cfg.queues)
                    return Error{who_drv + ": RETA entry " + std::to_string(i) + " points at queue " +
                                 std::to_string(q) + ", beyond the " + std::to_string(cfg.queues) + " configured"};
                info.reta[i] = q;
            }
        }
    }
    port.open_ = true;
    opened = true;
    return port;
}

Port::Port(Port&& o) noexcept : info_(std::move(o.info_)), open_(std::exchange(o.open_, false)) {}

Port& Port::operator=(Port&& o) noexcept {
    if (this != &o) {
        close();
        info_ = std::move(o.info_);
        open_ = std::exchange(o.open_, false);
    }
    return *this;
}

Port::~Port() { close(); }

void Port::close() {
    if (!open_) return;
    open_ = false;
    // Stop first so the driver returns the mbufs its rings hold to their pools; close then releases the
    // port (virtual devices lose their port id here).
    (void)rte_eth_dev_stop(info_.port_id);
    (void)rte_eth_dev_close(info_.port_id);
}

LinkStatus Port::link() const {
    rte_eth_link l{};
    LinkStatus s;
    if (rte_eth_link_get_nowait(info_.port_id, &l) != 0) return s;
    s.up = l.link_status == RTE_ETH_LINK_UP;
    s.speed_mbps = l.link_speed;
    s.full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
    return s;
}

Result<PortStats> Port::stats() const {
    rte_eth_stats st{};
    if (int ret = rte_eth_stats_get(info_.port_id, &st); ret != 0)
        return Error{"port " + std::to_string(info_.port_id) + ": rte_eth_stats_get failed: " + errtext(ret)};
    PortStats s;
    s.ipackets = st.ipackets;
    s.opackets = st.opackets;
    s.ibytes = st.ibytes;
    s.obytes = st.obytes;
    s.imissed = st.imissed;
    s.ierrors = st.ierrors;
    s.oerrors = st.oerrors;
    s.rx_nombuf = st.rx_nombuf;
    return s;
}

Result<void> Port::reset_stats() {
    if (int ret = rte_eth_stats_reset(info_.port_id); ret != 0)
        return Error{"port " + std::to_string(info_.port_id) + ": rte_eth_stats_reset failed: " + errtext(ret)};
    return {};
}

}  // namespace synwave::io
