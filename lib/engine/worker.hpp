// The per-lcore worker: owns one RX/TX queue pair, a tcp::Stack (connection table, pools, wheel, counters),
// an ARP cache and a TX batch, and runs the loop
//
//   RX burst -> parse (wire) -> ARP / ICMP echo / TCP -> stack.input -> application events
//   -> timers (bounded) -> application tick (client launches) -> build frames -> TX flush
//
// No locks, no heap allocation, no exceptions and one TSC read per turn on this path. Other lcores see its
// counters only through publish(): a seqlock-protected copy refreshed about once a second by the worker.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"
#include "core/time.hpp"
#include "engine/apps.hpp"
#include "io/pcap.hpp"
#include "io/txbatch.hpp"
#include "stats/counters.hpp"
#include "tcp/stack.hpp"
#include "wire/drop.hpp"
#include "wire/frame.hpp"

struct rte_mempool;
struct rte_mbuf;

namespace synwave::engine {

#define SYNWAVE_ENGINE_COUNTERS(X)                                                                  \
    X(rx_packets, "frames received")                                                               \
    X(rx_bursts, "non-empty RX bursts")                                                            \
    X(rx_dropped, "frames dropped by the parser (see rx_drop_* by reason)")                        \
    X(rx_not_ours, "frames for a MAC or IP address that is not ours")                                    \
    X(rx_vlan_other, "frames with another VLAN ID than ours, or tagged when we have none, or untagged when we have one") \
    X(rx_ipv6, "IPv6 frames received (all kinds)")                                                 \
    X(tx_ipv6, "TCP segments sent over IPv6")                                                      \
    X(addr_table_full, "IPv6 segments dropped: no free entry in the IPv6 address table")           \
    X(rx_loss_injected, "frames dropped on purpose as they arrived (rx_loss: an impaired link for soaks)")  \
    X(arp_rx, "ARP frames received")                                                               \
    X(arp_replies_tx, "ARP replies sent for our addresses")                                        \
    X(arp_requests_tx, "ARP requests sent to resolve next hops")                                   \
    X(icmp_echo_replies, "ICMP echo replies sent")                                                 \
    X(nd_rx, "Neighbor Discovery solicitations and advertisements received (RFC 4861)")            \
    X(nd_adverts_tx, "Neighbor Advertisements sent for our IPv6 addresses")                        \
    X(nd_solicits_tx, "Neighbor Solicitations sent to resolve IPv6 next hops")                    \
    X(icmp6_echo_replies, "ICMPv6 echo replies sent")                                              \
    X(tx_packets, "frames handed to the TX ring")                                                  \
    X(tx_ring_full, "frames the TX ring would not take (freed)")                                   \
    X(tx_no_mbuf, "segments not sent: mempool empty")                                              \
    X(tx_no_arp, "segments not sent: next hop unresolved (ARP or ND) and the hold queue full, or held over 1 s")  \
    X(arp_held, "frames held until ARP or ND resolved their next hop (like Linux's unres_qlen queue)") \
    X(arp_released, "held frames sent once the ARP reply or Neighbor Advertisement came")           \
    X(tx_build_failed, "segments not sent: frame did not fit the mbuf")                            \
    X(loop_turns, "worker loop iterations")

SYNWAVE_STATS_DEFINE_COUNTERS(EngineCounters, SYNWAVE_ENGINE_COUNTERS);

struct WorkerConfig {
    uint16_t port = 0;
    uint16_t queue = 0;
    rte_mempool* pool = nullptr;
    Mac mac;
    Ipv4 ip_lo{1}, ip_hi{0};        // our IPv4 addresses (inclusive range; lo > hi: none)
    Ipv6 ip6_lo;                    // our IPv6 addresses: ip6_lo and the next ip6_count - 1 (last 32 bits step)
    uint32_t ip6_count = 0;         // 0: no IPv6
    // IEEE 802.1Q: with `vlan`, every frame sent carries the tag (VID vlan_id, priority vlan_pcp) and only
    // frames tagged vlan_id are taken; without it, tagged frames are not ours. Dropped frames: rx_vlan_other.
    bool vlan = false;
    uint16_t vlan_id = 0;
    uint8_t vlan_pcp = 0;
    // The next hop for every destination (a router, or the device under test routing between two subnets),
    // resolved by ARP / Neighbor Discovery and refreshed like any neighbour. Unset: destinations are on-link.
    std::optional<Ipv4> gateway4;
    std::optional<Ipv6> gateway6;
    bool tx_csum_offload = false;
    bool rx_csum_offload = false;
    bool static_neighbour = false;  // use neighbour_mac for every destination (ring pairs, tests)
    Mac neighbour_mac;
    tcp::StackConfig stack;
    io::PcapWriter* pcap = nullptr;  // capture of every frame received and sent (this lcore's file), or none
    io::PcapClock pcap_clock{};
    uint32_t rx_burst = 32;
    uint32_t timer_budget = 4096;   // timer expiries per loop turn at most
    // Impairment for tests and soaks: each received frame is dropped with probability rx_loss / 2^32 before
    // it is looked at (counted: rx_loss_injected), from a generator seeded with loss_seed. 0: no loss.
    uint32_t rx_loss = 0;
    uint64_t loss_seed = 1;
};

// A snapshot of a worker's figures, published for the stats thread.
struct WorkerStats {
    EngineCounters engine{};
    AppCounters app{};
    tcp::TcpCounters tcp{};
    std::array<uint64_t, wire::kDropCount> drops{};
    uint32_t active = 0, timewait = 0, half_open = 0;
    bool app_done = false;  // the application has nothing left to do (a client that reached --connections)
};

class Worker {
public:
    // `app` is the Server or Client the stack reports to (owned by the caller, lives as long as the worker).
    Worker(const WorkerConfig& cfg, TscRate rate, Instant now, const tcp::Secrets& secrets, Application* app);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    // One loop turn at `now` (read by the caller once per turn). Returns frames received.
    uint32_t run_once(Instant now);
    // Sends what is pending now (shutdown, tests).
    void flush();
    // Gratuitous ARP for our first address (start-up).
    void announce();

    // Copies the counters into the published snapshot (seqlock); called by the worker itself.
    void publish();
    // Reads the last published snapshot from any thread.
    [[nodiscard]] WorkerStats read() const;

    [[nodiscard]] tcp::Stack& stack() { return stack_; }
    [[nodiscard]] const EngineCounters& counters() const { return c_; }
    [[nodiscard]] const std::array<uint64_t, wire::kDropCount>& drops() const { return drops_; }

private:
    [[nodiscard]] uint16_t inject_loss(rte_mbuf** rx, uint16_t n);
    void prefetch_burst(rte_mbuf* const* rx, uint16_t n);
    void handle(rte_mbuf* m, Instant now, rte_mbuf** keep, uint32_t& nkeep);
    void transmit();
    void build_and_send(const tcp::OutSegment& o, rte_mbuf* m);
    bool push_frame(rte_mbuf* m, uint32_t len);
    void send(rte_mbuf* m);
    void sync_tx_counters();
    [[nodiscard]] bool resolve(Ipv4 ip, Mac& out);
    void learn(Ipv4 ip, const Mac& mac);
    bool send_arp_request(Ipv4 ip);
    void hold(rte_mbuf* m, Ipv4 ip);
    void release_held(Ipv4 ip, const Mac& mac);
    void expire_held();
    [[nodiscard]] bool ours(Ipv4 ip) const { return ip.v - cfg_.ip_lo.v <= cfg_.ip_hi.v - cfg_.ip_lo.v; }

    WorkerConfig cfg_;
    TscRate rate_;
    tcp::Stack stack_;
    Application* app_;
    io::TxBatch tx_;
    EngineCounters c_{};
    std::array<uint64_t, wire::kDropCount> drops_{};
    uint16_t ip_id_ = 0;
    Instant last_publish_{};
    // Direct-mapped ARP cache: ip -> mac, learned from ARP and from every IPv4 frame that reaches us.
    struct ArpEntry {
        uint32_t ip = 0;
        bool known = false;     // mac is valid (learned), not merely asked for
        Mac mac;
        uint64_t asked_at = 0;  // last request sent (rate limit: one per 100 ms per address)
    };
    static constexpr uint32_t kArpSlots = 4096;
    std::unique_ptr<ArpEntry[]> arp_;
    // Received mbufs this turn is done with, reused for this turn's frames (io::reuse_for_tx); freed at the
    // end of the turn.
    static constexpr uint32_t kSpares = 64;
    rte_mbuf* spare_[kSpares] = {};
    uint32_t nspare_ = 0;
    wire::TcpFrameTemplate tpl_;  // Ethernet source and IPv4 constants of every TCP frame this worker sends
    // Frames waiting for an ARP answer (bounded; what waits over 1 s is dropped: TCP will resend it).
    struct Held {
        rte_mbuf* m;
        uint32_t ip;
        uint64_t since;
    };
    static constexpr uint32_t kHoldSlots = 256;
    std::array<Held, kHoldSlots> held_{};
    uint32_t nheld_ = 0;
    Instant now_{};
    uint64_t loss_state_ = 0;  // xorshift64 state of rx_loss
    // Published snapshot.
    mutable std::atomic<uint32_t> seq_{0};
    WorkerStats pub_{};
};

}  // namespace synwave::engine
