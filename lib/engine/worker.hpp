// The per-lcore worker: owns one RX/TX queue pair, a tcp::Stack (connection table, pools, wheel, counters),
// neighbour caches for ARP and Neighbor Discovery and a TX batch, and runs the loop
//
//   RX burst -> parse (wire) -> VLAN filter -> ARP / ND / ICMP(v6) echo / TCP -> stack.input -> application
//   events -> timers (bounded) -> application tick (client launches) -> build frames -> TX flush
//
// IPv4 and IPv6 share the stack: an IPv6 address is entered in the stack's address table and stands in the
// 4-tuple as a 32-bit handle (flow/addr_table.hpp); frames are built with the wire addresses behind it.
// worker.cpp holds the loop and the TCP path; control.cpp ARP, Neighbor Discovery, ICMP echo, the neighbour
// caches and the hold queue.
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
#include "engine/flood.hpp"
#include "engine/neighbours.hpp"
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
    X(rx_bytes, "bytes of the frames received (Ethernet header to the end of the payload, no FCS)") \
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
    X(tx_bytes, "bytes of the frames handed to the TX ring (as rx_bytes)")                           \
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
    // The port is an in-process ring to another worker of this process (the storm's lanes): each frame leaves
    // marked with the device verdict "checksums good" (RTE_MBUF_F_RX_*_CKSUM_GOOD), as the one summing it and
    // the one receiving it are one process a ring apart and a ring does not corrupt; the receiver then does not
    // sum the frame a second time. Linux skips the check on loopback and veth for the same reason. Not with
    // tx_csum_offload, whose frames leave with their sums still to be filled in.
    bool in_process_link = false;
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
    // A raw handshake flood sent from this lcore besides the application's traffic (kind None: none). TCP
    // segments to its source addresses go to the flood's counters, never to the stack; ARP answers for them.
    FloodConfig flood{};
};

// A snapshot of a worker's figures, published for the stats thread.
struct WorkerStats {
    EngineCounters engine{};
    AppCounters app{};
    tcp::TcpCounters tcp{};
    FloodCounters flood{};
    std::array<uint64_t, wire::kDropCount> drops{};
    uint32_t active = 0, timewait = 0, half_open = 0;
    // Open connections by state (gauges, indexed by tcp::State): connections, and the SYN-RECEIVED and
    // TIME-WAIT records (tcp::Stack::open_by_state).
    std::array<uint32_t, tcp::kStateCount> states{};
    Latencies lat{};        // cumulative since the start (a client's; empty for a server)
    bool app_done = false;  // the application has nothing left to do (a client that reached --total)
    Instant at{};           // the loop turn these figures were published in
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
    // Start-up: gratuitous ARP for our first IPv4 address, an unsolicited Neighbor Advertisement for our first
    // IPv6 one, and requests for the gateways so that they are resolved before traffic needs them.
    void announce();

    // Copies the counters into the published snapshot (seqlock); called by the worker itself.
    void publish();
    // Reads the last published snapshot from any thread.
    [[nodiscard]] WorkerStats read() const;

    [[nodiscard]] tcp::Stack& stack() { return stack_; }
    [[nodiscard]] Flood* flood() { return flood_.get(); }
    [[nodiscard]] const EngineCounters& counters() const { return c_; }
    [[nodiscard]] const std::array<uint64_t, wire::kDropCount>& drops() const { return drops_; }

private:
    [[nodiscard]] uint16_t inject_loss(rte_mbuf** rx, uint16_t n);
    void prefetch_burst(rte_mbuf* const* rx, uint16_t n);
    void handle(rte_mbuf* m, Instant now, rte_mbuf** keep, uint32_t& nkeep);
    void transmit();
    void build_and_send(const tcp::OutSegment& o, rte_mbuf* m);
    bool push_frame(rte_mbuf* m, uint32_t len);
    [[gnu::always_inline]] inline void send_built(rte_mbuf* m, uint32_t len);
    [[nodiscard, gnu::always_inline]] inline bool set_len(rte_mbuf* m, uint32_t len);
    void send(rte_mbuf* m);
    void sync_tx_counters();
    [[gnu::always_inline]] inline void input_tcp(const wire::ParsedFrame& f, Instant now);
    void send_flood(Instant now);  // flood.cpp
    // control.cpp
    void handle_arp(const wire::ParsedFrame& f);
    void handle_nd(const wire::ParsedFrame& f);
    bool echo_reply(rte_mbuf* m, uint8_t* data, const wire::ParsedFrame& f);
    void retag(uint8_t* frame) const;
    [[nodiscard]] bool resolve4(Ipv4 ip, Mac& out);
    [[nodiscard]] bool resolve6(const Ipv6& ip, Mac& out);
    void learn4(Ipv4 ip, const Mac& mac) {
        if (SYNWAVE_UNLIKELY(arp_.learn(ip, mac)) && nheld_ != 0) release_held(hop_key(ip), mac);
    }
    void learn6(const Ipv6& ip, const Mac& mac) {
        if (SYNWAVE_UNLIKELY(nd_.learn(ip, mac)) && nheld_ != 0) release_held(ip, mac);
    }
    bool send_arp_request(Ipv4 ip);
    bool send_ns(const Ipv6& target);
    void hold(rte_mbuf* m, const Ipv6& hop);
    void release_held(const Ipv6& hop, const Mac& mac);
    void expire_held();
    [[nodiscard]] bool ours4(Ipv4 ip) const { return uint64_t{ip.v - cfg_.ip_lo.v} < n4_; }
    [[nodiscard]] bool flood4(Ipv4 ip) const { return SYNWAVE_UNLIKELY(flood_ != nullptr) && flood_->covers(ip); }
    // The handle of our IPv6 address `a` (pinned in order at start), or 0 when it is not ours.
    [[nodiscard]] uint32_t local6(const Ipv6& a) const {
        const uint32_t i = a.low32() - cfg_.ip6_lo.low32();
        return i < cfg_.ip6_count && a.same_high96(cfg_.ip6_lo) ? local6_base_ + i : 0;
    }
    [[nodiscard]] wire::L2 l2() const { return wire::L2{cfg_.mac, Mac{}, cfg_.vlan, vlan_tci_}; }

    WorkerConfig cfg_;
    TscRate rate_;
    tcp::Stack stack_;
    Application* app_;
    io::TxBatch tx_;
    bool mark_csum_good_;  // cfg_.in_process_link, and sums are in the frames when they leave
    EngineCounters c_{};
    std::array<uint64_t, wire::kDropCount> drops_{};
    uint16_t ip_id_ = 0;
    Instant last_publish_{};
    uint64_t n4_ = 0;              // our IPv4 addresses: ip_lo + [0, n4_)
    uint32_t local6_base_ = 0;     // the handle of ip6_lo; the others follow
    uint16_t vlan_tci_ = 0;        // PCP and VID of every frame we send (when cfg_.vlan)
    NeighbourCache<Ipv4> arp_;
    NeighbourCache<Ipv6> nd_;
    // Received mbufs this turn is done with, reused for this turn's frames (io::reuse_for_tx); freed at the
    // end of the turn.
    static constexpr uint32_t kSpares = 64;
    rte_mbuf* spare_[kSpares] = {};
    uint32_t nspare_ = 0;
    wire::TcpFrameTemplate tpl_;    // Ethernet header (+ tag) and IPv4 constants of every TCP frame we send
    wire::TcpFrameTemplate6 tpl6_;  // the same for IPv6
    // Frames waiting for an ARP or ND answer (bounded; what waits over 1 s is dropped: TCP will resend it).
    struct Held {
        rte_mbuf* m;
        Ipv6 hop;  // IPv4 next hops in their IPv4-mapped form
        uint64_t since;
    };
    static constexpr uint32_t kHoldSlots = 256;
    std::array<Held, kHoldSlots> held_{};
    uint32_t nheld_ = 0;
    Instant now_{};
    uint64_t loss_state_ = 0;  // xorshift64 state of rx_loss
    std::unique_ptr<Flood> flood_;
    uint64_t flood_ring_full_ = 0;  // tx_ring_full when the flood last looked
    uint32_t flood_wait_ = 0, flood_skip_ = 0;  // turns the flood waits after the ring refused, and still to wait
    // Published snapshot.
    mutable std::atomic<uint32_t> seq_{0};
    WorkerStats pub_{};
};

}  // namespace synwave::engine
