// The per-connection records of a Stack, and the one pool type that hands them out.
//
// Per-connection state comes in four sizes:
//   - nothing at all for a SYN answered with a cookie (RFC 4987 §3.6);
//   - a SynRecord (64 bytes, one cache line) for a passive SYN-RECEIVED, at most half_open_limit of them
//     (Linux's request_sock): what the SYN negotiated and the SYN-ACK's retransmission timer. The acceptable
//     ACK that completes the handshake turns it into a Tcb in place (same flow-table entry);
//   - a Tcb for every synchronized state but TIME_WAIT (and for SYN-RECEIVED after a simultaneous open);
//   - a TwRecord for TIME_WAIT: the 4-tuple, the sequence numbers and timestamp needed to answer a
//     retransmitted FIN, instead of a whole Tcb (as Linux's inet_timewait_sock).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/seq.hpp"
#include "flow/flow_key.hpp"
#include "tcp/reassembly.hpp"
#include "tcp/rto.hpp"
#include "tcp/scoreboard.hpp"
#include "tcp/types.hpp"
#include "timer/wheel.hpp"

namespace synwave::tcp {

// Flow-table values: the top bits say which pool the index refers to.
inline constexpr uint32_t kTwBit = 0x8000'0000u;
inline constexpr uint32_t kSynBit = 0x4000'0000u;
inline constexpr uint32_t kIndexMask = 0x3FFF'FFFFu;
inline constexpr uint32_t kNoConn = 0xFFFF'FFFFu;

// Sets of states as bit masks, so that "is the state one of these" is one AND, and each set is named once.
[[nodiscard]] constexpr uint16_t state_bit(State s) { return static_cast<uint16_t>(1u << static_cast<unsigned>(s)); }
namespace states {
// RFC 9293 §3.10.2 SEND: "ESTABLISHED / CLOSE-WAIT STATE: Segmentize the buffer and send it".
inline constexpr uint16_t kCanSend = state_bit(State::Established) | state_bit(State::CloseWait);
// States in which data or our FIN may still be (re)transmitted (RFC 9293 §3.10.7.4 fifth step, §3.10.8).
inline constexpr uint16_t kSending = kCanSend | state_bit(State::FinWait1) | state_bit(State::Closing) |
                                     state_bit(State::LastAck);
// RFC 9293 §3.10.7.4 seventh step: text is taken in these states only.
inline constexpr uint16_t kReceiving =
    state_bit(State::Established) | state_bit(State::FinWait1) | state_bit(State::FinWait2);
}  // namespace states

// Which of a Tcb's deadlines the "main" timer currently stands for (only one can be meaningful at a time:
// outstanding data => retransmit; zero window with data waiting => persist; idle => keepalive; orphaned
// FIN-WAIT-2 => its timeout).
// Probe: RFC 8985 §7 tail loss probe, a shorter deadline than Rtx while data is outstanding.
enum class MainTimer : uint8_t { None, Rtx, Persist, Keepalive, FinWait2, Probe };

namespace tcbflag {
inline constexpr uint16_t kTsOk = 1 << 0;       // timestamps negotiated
inline constexpr uint16_t kSackOk = 1 << 1;     // SACK-permitted negotiated
inline constexpr uint16_t kFinQueued = 1 << 2;  // close() called: FIN at tx_seq + tx_len
inline constexpr uint16_t kAckNow = 1 << 3;     // an ACK is owed immediately
inline constexpr uint16_t kAckDelayed = 1 << 4; // an ACK is owed, delayed-ACK timer running
inline constexpr uint16_t kPassive = 1 << 5;    // created from LISTEN (SYN-RECEIVED returns there on RST)
inline constexpr uint16_t kInRecovery = 1 << 6; // NewReno fast recovery
inline constexpr uint16_t kWsOk = 1 << 7;       // window scaling negotiated
inline constexpr uint16_t kTiming = 1 << 8;     // an RTT measurement is running (rtt_seq, rtt_start_us)
inline constexpr uint16_t kSackBoard = 1 << 9;  // the peer sent SACK blocks: the side record's scoreboard is valid
inline constexpr uint16_t kTlpSent = 1 << 11;   // a tail loss probe is out and not yet answered (RFC 8985 §7.3)
inline constexpr uint16_t kOooHeld = 1 << 10;   // the side record holds out-of-order data (our ACKs carry SACK)
}  // namespace tcbflag

// Transmission control block: 136 bytes of fields and the timer node, 160 bytes. The first 64 bytes hold what
// every segment of a connection reads and writes (sequence space, windows, state, the 4-tuple); the rest what
// the application, the timers and the slower paths use (RTT, congestion details, the send buffer). The pool's
// stride is 160 bytes and not a multiple of a line, so those 64 bytes usually straddle two lines:
// Stack::prefetch_conn loads both.
struct TcbFields {
    // --- hot: one cache line ---
    Seq snd_una, snd_nxt, snd_max;  // snd_max: highest sequence sent (snd_nxt falls back on timeout)
    Seq rcv_nxt;
    Seq snd_wl1, snd_wl2;
    uint32_t snd_wnd = 0;           // peer's window, scaled
    uint32_t cwnd = 0;
    flow::FlowKey key;              // 12 bytes
    uint32_t ts_recent = 0;         // RFC 7323 TS.Recent
    uint32_t main_at_ms = 0;        // deadline of the main timer (stack ms clock)
    uint16_t flags = 0;             // tcbflag bits
    uint16_t mss = 536;             // send MSS (payload per segment, before options)
    State state = State::Closed;
    uint8_t snd_wscale = 0, rcv_wscale = 0;
    MainTimer main_timer = MainTimer::None;
    uint8_t dupacks = 0;
    uint8_t retries = 0;
    uint8_t ka_probes_sent = 0;
    uint8_t unacked_segs = 0;       // segments received since our last ACK (delayed-ACK rule)
    // --- warm ---
    uint32_t tx_len = 0;            // bytes in the current send buffer
    Seq tx_seq;                     // sequence number of tx_data[0]
    const uint8_t* tx_data = nullptr;
    uint32_t ssthresh = 0;
    uint32_t max_snd_wnd = 0;       // RFC 5961 §5 MAX.SND.WND
    Seq recover;                    // RFC 6582 "recover"
    Seq iss;
    uint32_t rtt_start_us = 0;      // when the timed segment left (Karn: only never-retransmitted ones)
    Seq rtt_seq;                    // the timed segment's end
    RttEstimator rtt;               // 12 bytes
    uint32_t user = 0;              // the application's value for this connection (connect())
    uint32_t delack_at_ms = 0;      // deadline of a delayed ACK, 0 = none
    uint32_t timer_at_ms = 0;       // what the wheel node is armed for (valid while armed)
    uint32_t side = kNoConn;        // TcbSide index while there is out-of-order data or SACK state
};
struct Tcb : TcbFields {
    timer::TimerNode timer;  // not copyable: the wheel links to it
    void reset() { static_cast<TcbFields&>(*this) = TcbFields{}; }
    // RFC 9293 §3.3.1: the receive-side initial sequence number, which is RCV.NXT - 1 until data arrives (the
    // only time it is asked for: a duplicate SYN in SYN-RECEIVED).
    [[nodiscard]] Seq irs_before_data() const { return rcv_nxt - 1; }
};
inline constexpr std::size_t kTcbHotBytes = offsetof(TcbFields, tx_len);

// TIME_WAIT (RFC 9293 §3.6.1). Kept small: Linux's reason too (tcp_minisocks.c) — millions of connections
// closed per second would otherwise pin millions of full TCBs for 2MSL.
//
// No timer node of its own: every record lives exactly 2MSL from its last (re)start, so records expire in the
// order they were queued. They form one FIFO (index-linked, 8 bytes) with their expiry in the stack's ms
// clock, and one wheel node of the Stack stands for the head of the queue (Linux's old "timewait death row"
// did the same with slots). A restart (re-ACK of a retransmitted FIN) moves the record to the tail; an early
// end (RST, reuse by a new SYN) unlinks it. Arm, restart and cancel stay O(1), and a record is never
// cascaded between wheel levels: 44 bytes instead of 32 + a 24-byte node.
struct TwRecord {
    flow::FlowKey key;     // 12
    Seq snd_nxt;           // our FIN's sequence + 1
    Seq rcv_nxt;           // peer's FIN's sequence + 1
    uint32_t ts_recent;    // last TSval from the peer (RFC 6191), valid if ts_ok
    uint32_t hash;         // ConnIndex::hash_of(key)
    uint32_t expire_ms;    // end of 2MSL, stack ms clock
    uint32_t prev, next;   // FIFO links (kNoConn = none); next is the free list while free
    uint8_t ts_ok;
    uint8_t rcv_wscale;
    uint16_t pad = 0;
};

// What a SYN's options settle (RFC 9293 §3.7.1 MSS, RFC 7323 window scale and timestamps, RFC 2018
// SACK-permitted), as a Tcb and a SynRecord keep it: Stack::negotiate() is the one rule for both.
struct Negotiated {
    uint32_t ts_recent = 0;  // the SYN's TSval (tcbflag::kTsOk)
    uint16_t mss = 536;      // send MSS
    uint8_t snd_wscale = 0;  // the peer's shift (tcbflag::kWsOk)
    uint8_t flags = 0;       // tcbflag::kTsOk | kSackOk | kWsOk
};

// Passive SYN-RECEIVED (RFC 9293 §3.10.7.2 "SYN-RECEIVED ... without a TCB"): the SYN's options and our
// SYN-ACK, nothing for data or congestion control. Freed to LISTEN on an exact RST or after synack_retries.
struct alignas(64) SynRecord {  // one cache line, aligned as one
    flow::FlowKey key;        // 12
    uint32_t hash;            // ConnIndex::hash_of(key); index of the next free record while free
    Seq iss, irs;             // our SYN-ACK's sequence number, the peer's SYN's
    Negotiated opts;          // 8
    uint32_t sent_us;         // when the first SYN-ACK left (an RTT sample if it is never retransmitted)
    uint8_t retries;          // SYN-ACKs retransmitted by the timer
    uint8_t resent;           // a SYN-ACK was sent again for a duplicate SYN (no RTT sample: Karn)
    uint8_t pad[2] = {};
    timer::TimerNode timer;   // SYN-ACK retransmission (RFC 6298 §5.5 backoff from the initial RTO)
};

// What a connection needs only while it holds out-of-order data or the peer's SACK blocks: taken from a
// per-stack pool when first needed and given back once both are empty, so that the many connections that
// never see a loss carry neither the bytes nor the cache lines (a 4-byte index in the Tcb's padding).
struct TcbSide {
    uint32_t ooo = Reassembly::kNone;  // head of the out-of-order queue
    Seq ooo_latest;                    // first octet of the segment queued last (RFC 2018 §4: first block)
    uint32_t link = kNoConn;           // free list
    Scoreboard sb;
};

// A fixed pool of records handed out by index, LIFO (the record freed last is the warmest in cache). The free
// list is threaded through a 32-bit field of the free records themselves (`Link`), so it costs no memory.
template <class T, auto Link>
class IndexPool {
public:
    explicit IndexPool(uint32_t n) : items_(n) {
        for (uint32_t i = 0; i < n; ++i) items_[i].*Link = i + 1 < n ? i + 1 : kNoConn;
        free_ = n ? 0 : kNoConn;
    }
    [[nodiscard]] bool empty() const { return free_ == kNoConn; }
    // The index take() would return (kNoConn when empty), so a caller can enter it in the flow table first.
    [[nodiscard]] uint32_t peek() const { return free_; }
    [[nodiscard]] uint32_t take() {
        const uint32_t i = free_;
        free_ = items_[i].*Link;
        ++used_;
        return i;
    }
    void give(uint32_t i) {
        items_[i].*Link = free_;
        free_ = i;
        --used_;
    }
    [[nodiscard]] T& operator[](uint32_t i) { return items_[i]; }
    [[nodiscard]] const T& operator[](uint32_t i) const { return items_[i]; }
    [[nodiscard]] uint32_t used() const { return used_; }
    [[nodiscard]] uint32_t capacity() const { return static_cast<uint32_t>(items_.size()); }
    // Whether p points into the pool's storage, and which record it is in.
    [[nodiscard]] bool holds(const void* p) const {
        const auto* b = reinterpret_cast<const unsigned char*>(items_.data());
        const auto* q = static_cast<const unsigned char*>(p);
        return q >= b && q < b + items_.size() * sizeof(T);
    }
    [[nodiscard]] uint32_t index_of(const void* p) const {
        const auto* b = reinterpret_cast<const unsigned char*>(items_.data());
        return static_cast<uint32_t>(static_cast<std::size_t>(static_cast<const unsigned char*>(p) - b) / sizeof(T));
    }

private:
    std::vector<T> items_;
    uint32_t free_ = kNoConn;
    uint32_t used_ = 0;
};

}  // namespace synwave::tcp
