// A raw handshake flood: TCP segments (SYN, SYN-ACK, ACK or RST) from a range of source addresses and ports
// to one destination, at a rate, with no connection state and no stack entry; and the count of what comes back.
//
// The generator keeps nothing per segment: the sequence numbers of each segment are a keyed mix of its source
// address and port (isn()), so a reply is checked against the segment it answers by recomputing them, the way a
// SYN cookie is checked (RFC 4987 §3.6). Replies to the flood's addresses never reach the worker's stack: a
// stack would answer a SYN-ACK to a SYN it never sent with a RST (RFC 9293 §3.10.7.1), and that RST would
// free the peer's half-open record, which is what the flood means to fill.
//
// What the replies say (RFC 9293 §3.10.7.2, LISTEN):
//   SYN      -> SYN-ACK with SEG.ACK = ISN + 1 (from a half-open record or a SYN cookie), or RST,ACK if closed;
//   SYN-ACK  -> RST <SEQ=SEG.ACK> ("any acknowledgment is bad if it arrives on a connection still in LISTEN");
//   ACK      -> RST <SEQ=SEG.ACK> (a listener with SYN cookies checks it as a cookie first; it fails);
//   RST      -> nothing ("an incoming RST should be ignored").
//
// "Cookie-looking" SYN-ACKs. Our SYN offers MSS 1460, SACK-permitted, timestamps and window scale 7, as a Linux
// SYN does. A listener that answers it with a SYN cookie and keeps no record must put window scale and SACK
// into the low 6 bits of its TSval (Linux's cookie_init_timestamp(), synwave's encode_ts(): wscale | SACK << 4
// | ECN << 5), here 7 | 1 << 4 = 0x17 (we do not ask for ECN). A SYN-ACK carrying timestamps with those low
// bits is counted as cookie-looking. A stateful SYN-ACK's TSval is a clock plus a per-connection offset whose
// low 6 bits match by chance: 1 in 64 of the stateful SYN-ACKs are counted too, so the counter is the cookies
// sent plus about 1/64 of the others, never fewer than the cookies. Linux with net.ipv4.tcp_timestamps=1 (its
// default) adds a secret offset per address pair to every TSval, cookies included (secure_tcp_ts_off()), which
// hides the encoding: against it the counter shows only the 1/64 chance matches; with tcp_timestamps=2 (no
// offset) it counts its cookies as it counts synwave's.
#pragma once
#include <atomic>
#include <cstdint>

#include "core/ipv4addr.hpp"
#include "core/time.hpp"
#include "stats/counters.hpp"
#include "wire/frame.hpp"

namespace synwave::engine {

enum class FloodKind : uint8_t { None, Syn, SynAck, Ack, Rst };

[[nodiscard]] const char* flood_kind_name(FloodKind k);

struct FloodConfig {
    FloodKind kind = FloodKind::None;
    uint64_t rate = 0;                     // frames per second (0: a burst every turn after one the ring took)
    Ipv4 src_lo{1}, src_hi{0};             // source addresses (inclusive; ours for ARP while we flood)
    uint16_t sport_lo = 1024, sport_hi = 65535;
    Ipv4 dst;
    uint16_t dport = 80;
    bool random = false;                   // sources drawn at random over addresses x ports (else in turn)
    uint64_t seed = 1;                     // of the random walk and of the sequence-number key
    uint32_t burst = 32;                   // frames per loop turn at most (1..64)
};

#define SYNWAVE_FLOOD_COUNTERS(X)                                                                          \
    X(flood_tx, "flood frames built and handed to the TX batch (tx_ring_full counts any the ring refused)") \
    X(flood_syn_ack_rx, "SYN-ACKs answering a flood SYN (SEG.ACK = its ISN + 1; retransmissions included)") \
    X(flood_cookie_syn_ack_rx, "of flood_syn_ack_rx, cookie-looking: TSval low 6 bits = the options our SYN "  \
                               "offered, as a cookie encodes them (about 1 in 64 stateful ones match too)")  \
    X(flood_rst_rx, "RSTs answering a flood segment (SEG.ACK = ISN + 1 of a SYN, or SEG.SEQ = SEG.ACK sent)") \
    X(flood_other_rx, "other TCP segments to the flood's addresses (not an answer to a flood segment)")      \
    X(flood_no_arp, "flood turns skipped: the destination's next hop not resolved yet")                      \
    X(flood_no_mbuf, "flood frames not built: mempool empty")                                                \
    X(flood_ring_waits, "flood turns skipped after the TX ring refused frames (the flood goes as fast as the "  \
                        "ring takes, not faster: frames built only to be freed cost the lcore and the "        \
                        "mempool and the peer never sees them)")

SYNWAVE_STATS_DEFINE_COUNTERS(FloodCounters, SYNWAVE_FLOOD_COUNTERS);

// One segment of the flood: its source and the TCP segment (options included) to put in a frame.
struct FloodFrame {
    Ipv4 src;
    wire::TcpSegment seg;
};

class Flood {
public:
    Flood(const FloodConfig& cfg, TscRate rate, Instant now);

    // Frames to send this turn (a token bucket; 0 once stopped). Frames granted and not sent (no next hop, no
    // mbuf) are not owed later.
    [[nodiscard]] uint32_t due(Instant now);
    // The next frame of the walk over the source space, stamped with the timestamp clock `ts` (ms).
    void next(FloodFrame& out, uint32_t ts);
    // A TCP segment to one of our flood addresses: counted, never answered.
    void on_reply(Ipv4 src, Ipv4 dst, const wire::TcpSegment& seg);

    [[nodiscard]] bool covers(Ipv4 ip) const { return uint64_t{ip.v - cfg_.src_lo.v} < naddr_; }
    [[nodiscard]] const FloodConfig& config() const { return cfg_; }
    // May be called from another thread (the main lcore ending a run): no more frames after it.
    void stop() { stopped_.store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool stopped() const { return stopped_.load(std::memory_order_relaxed); }

    // The two sequence numbers of the segment from (src, sport): SEG.SEQ (our ISN) and, for SYN-ACK and ACK,
    // SEG.ACK. A keyed mix (SplitMix64's finalizer), not a cryptographic hash: the flood only needs to tell its
    // own answers from other traffic.
    struct Seqs {
        uint32_t isn, ack;
    };
    [[nodiscard]] Seqs seqs(Ipv4 src, uint16_t sport) const;

    FloodCounters c{};

private:
    FloodConfig cfg_;
    TscRate rate_;
    uint64_t naddr_ = 0, nport_ = 0, space_ = 0;
    uint64_t idx_ = 0;         // sequential walk: the next source index (address-major)
    uint64_t rng_ = 0;         // xorshift64 state of the random walk
    uint64_t key_ = 0;         // sequence-number key
    double tokens_ = 0;
    Instant last_{};
    std::atomic<bool> stopped_{false};
};

}  // namespace synwave::engine
