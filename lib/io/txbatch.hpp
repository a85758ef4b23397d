// Per-queue TX batching: frames collect in a small array and leave in one rte_eth_tx_burst, which
// amortises the doorbell write (an uncached MMIO store on a NIC) over up to 64 packets.
//
// Three ways out, as in DPDK's l3fwd: the batch is full (push() flushes), the drain interval passed
// (flush_if_due(now), so a lone reply is not held longer than one interval at low load), or the caller
// flushes at the end of its loop turn. A ring that does not take everything gets a bounded number of
// retries and the rest is freed and counted in tx_ring_full_drops: waiting for room would stall RX for
// every connection on this lcore, while a dropped segment is one TCP retransmits (RFC 6298).
//
// One TxBatch per (lcore, port, queue); it is touched by its lcore only. No clock reads: `now` is passed in.
#pragma once
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <utility>

#include "core/cacheline.hpp"
#include "core/time.hpp"

namespace synwave::io {

struct TxCounters {
    uint64_t tx_packets = 0;          // taken by the TX ring
    uint64_t tx_bytes = 0;            // their bytes (pkt_len: Ethernet header to the end of the payload)
    uint64_t tx_bursts = 0;           // rte_eth_tx_burst calls
    uint64_t tx_retries = 0;          // calls after a first one that left packets behind
    uint64_t tx_ring_full_drops = 0;  // packets the ring would not take after the retries: freed
    uint64_t flushes_full = 0;        // flushes because the batch filled
    uint64_t flushes_due = 0;         // flushes because the drain interval passed
};

class alignas(kCacheLine) TxBatch {
public:
    // 64: DPDK's usual maximum burst (l3fwd's MAX_PKT_BURST is 32, testpmd's default 32, MAX 512); twice
    // the RX burst so one RX burst of replies plus new connections fits before a forced flush.
    static constexpr uint16_t kCapacity = 64;
    // A NIC reclaims completed descriptors inside rte_eth_tx_burst, so a second or third call usually
    // places the rest; after that the ring is genuinely full (the link is slower than we produce).
    static constexpr unsigned kMaxRetries = 3;

    // drain: the longest a frame waits for company (e.g. TscRate::us(100)); start: the current instant.
    TxBatch(uint16_t port, uint16_t queue, Duration drain, Instant start = {})
        : port_(port), queue_(queue), drain_(drain), last_drain_(start) {}

    TxBatch(const TxBatch&) = delete;
    TxBatch& operator=(const TxBatch&) = delete;
    TxBatch(TxBatch&& o) noexcept
        : n_(std::exchange(o.n_, 0)), port_(o.port_), queue_(o.queue_), drain_(o.drain_),
          last_drain_(o.last_drain_), c_(o.c_) {
        for (uint16_t i = 0; i < n_; ++i) pending_[i] = o.pending_[i];
    }
    TxBatch& operator=(TxBatch&&) = delete;
    ~TxBatch() { discard(); }

    // Queues one frame; sends the batch when it is full. Takes ownership of `m` either way.
    void push(rte_mbuf* m) {
        // Counted here, while the mbuf is ours and hot: once the ring took it, the peer may have freed it.
        // What the ring refuses (or discard() frees) is taken off again.
        c_.tx_bytes += rte_pktmbuf_pkt_len(m);
        pending_[n_++] = m;
        if (SYNWAVE_UNLIKELY(n_ == kCapacity)) {
            ++c_.flushes_full;
            (void)flush();
        }
    }

    // Sends what is queued if the drain interval has passed since the last drain; returns whether it
    // drained. The interval is measured between drains, not from the oldest frame (push() takes no time),
    // so a frame waits at most one interval plus one loop turn.
    bool flush_if_due(Instant now) {
        if (now - last_drain_ < drain_) return false;
        last_drain_ = now;
        if (n_ == 0) return false;
        ++c_.flushes_due;
        (void)flush();
        return true;
    }

    // Sends everything queued; what the ring does not take after kMaxRetries more calls is freed and
    // counted. Returns the number the ring took.
    uint16_t flush() {
        if (n_ == 0) return 0;
        uint16_t sent = rte_eth_tx_burst(port_, queue_, pending_, n_);
        ++c_.tx_bursts;
        for (unsigned r = 0; sent < n_ && r < kMaxRetries; ++r) {
            ++c_.tx_retries;
            ++c_.tx_bursts;
            sent += rte_eth_tx_burst(port_, queue_, pending_ + sent, static_cast<uint16_t>(n_ - sent));
        }
        if (SYNWAVE_UNLIKELY(sent < n_)) {
            uncount(sent);
            rte_pktmbuf_free_bulk(pending_ + sent, n_ - sent);
            c_.tx_ring_full_drops += n_ - sent;
        }
        c_.tx_packets += sent;
        n_ = 0;
        return sent;
    }

    // Frees what is queued without sending it (shutdown). Not counted as drops.
    void discard() {
        uncount(0);
        if (n_ != 0) rte_pktmbuf_free_bulk(pending_, n_);
        n_ = 0;
    }

    [[nodiscard]] uint16_t size() const { return n_; }
    [[nodiscard]] bool empty() const { return n_ == 0; }
    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] uint16_t queue() const { return queue_; }
    [[nodiscard]] const TxCounters& counters() const { return c_; }

private:
    void uncount(uint16_t from) {
        for (uint16_t i = from; i < n_; ++i) c_.tx_bytes -= rte_pktmbuf_pkt_len(pending_[i]);
    }

    // State and counters share the first two lines (80 bytes); the pointer array follows.
    uint16_t n_ = 0;
    uint16_t port_;
    uint16_t queue_;
    Duration drain_;
    Instant last_drain_;
    TxCounters c_;
    rte_mbuf* pending_[kCapacity];
};

// 80 bytes of state and counters (8 + 8 + 8 + 56) plus 512 bytes of pointers, padded to whole lines.
static_assert(sizeof(TxBatch) == 10 * kCacheLine, "TxBatch layout changed: re-check the hot fields' placement");

}  // namespace synwave::io
