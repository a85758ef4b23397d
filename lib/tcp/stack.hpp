// The per-lcore TCP stack: connection records, the RFC 9293 state machine, SYN cookies, TIME_WAIT records
// and the connection timers, DPDK-free.
//
// Follows: RFC 9293 (TCP; §3.10 event processing in its order), RFC 5961 (blind in-window attacks: challenge
// ACKs, ACK acceptability), RFC 6528 (ISNs), RFC 6298 (RTO), RFC 5681 + RFC 6582 (congestion control,
// NewReno), RFC 6928 (initial window 10), RFC 7323 (timestamps, PAWS, window scale), RFC 6191 (TIME_WAIT
// reuse with timestamps), RFC 1122 §4.2.3.6 (keepalive), RFC 4987 (SYN cookies).
//
// Shape (after netstack3 and smoltcp): the caller hands in parsed segments, user calls and the time; the
// stack appends the segments to transmit to out() and calls the application back with events; the caller
// builds frames and does the I/O. Nothing here reads a clock, allocates after construction, throws or locks.
//
// Per-connection state comes in four sizes (DESIGN.md):
//   - nothing at all for a SYN answered with a cookie;
//   - a SynRecord (64 bytes, one cache line) for a passive SYN-RECEIVED, at most half_open_limit of them
//     (Linux's request_sock): what the SYN negotiated and the SYN-ACK's retransmission timer. The acceptable
//     ACK that completes the handshake turns it into a Tcb in place (same flow-table entry);
//   - a Tcb for every synchronized state but TIME_WAIT (and for SYN-RECEIVED after a simultaneous open);
//   - a TwRecord for TIME_WAIT: the 4-tuple, the sequence numbers and timestamp needed to answer a
//     retransmitted FIN, instead of a whole Tcb (as Linux's inet_timewait_sock).
//
// Data: received in-order bytes are handed to the application in the Data event, zero-copy (the pointer is
// into the received frame); out-of-order segments are dropped and counted (the sender's fast retransmit
// repairs the hole). Sent bytes are not copied either: send() takes a buffer the application keeps
// unchanged until SendDone (a response template shared by every connection, typically), so retransmission
// reads it again.
#pragma once
#include <cstdint>
#include <vector>

#include "core/ipv4addr.hpp"
#include "core/seq.hpp"
#include "core/time.hpp"
#include "flow/flow_key.hpp"
#include "flow/flow_table.hpp"
#include "tcp/isn.hpp"
#include "tcp/rto.hpp"
#include "tcp/syncookie.hpp"
#include "tcp/types.hpp"
#include "timer/wheel.hpp"
#include "wire/frame.hpp"

namespace synwave::tcp {

// A segment to transmit: addresses plus the TCP header as a value (payload points at application memory).
struct OutSegment {
    Ipv4 src, dst;
    wire::TcpSegment seg;
};

// A received segment, as the engine hands it in after parsing (addresses in host order).
struct InSegment {
    Ipv4 src, dst;
    wire::TcpSegment seg;
};

class Stack;

// The application side of a stack (server responder, client generator, test harness).
class App {
public:
    virtual ~App() = default;
    // Called after the stack finished processing what caused the event; the app may call send(), close()
    // and abort() on the connection from here.
    virtual void on_event(Stack& stack, const Event& ev) = 0;
    // The event kinds the application acts on (bit 1 << EventKind); others are not queued at all. Read once,
    // when the stack is given the application. An HTTP responder with a static response has no use for
    // SendDone, a client none for Accepted: two fewer events per connection.
    [[nodiscard]] virtual uint32_t interests() const { return ~0u; }
};

[[nodiscard]] constexpr uint32_t event_bit(EventKind k) { return uint32_t{1} << static_cast<unsigned>(k); }

// Which of a Tcb's deadlines the "main" timer currently stands for (only one can be meaningful at a time:
// outstanding data => retransmit; zero window with data waiting => persist; idle => keepalive; orphaned
// FIN-WAIT-2 => its timeout).
enum class MainTimer : uint8_t { None, Rtx, Persist, Keepalive, FinWait2 };

// Transmission control block. The fields the segment-arrival path reads and writes come first and fit in
// the first two cache lines (kTcbHotBytes, static_asserted in stack.cpp); the application's and the timer's
// fields follow.
struct TcbFields {
    // --- hot: sequence space, windows, congestion control ---
    Seq snd_una, snd_nxt, snd_max;  // snd_max: highest sequence sent (snd_nxt falls back on timeout)
    Seq rcv_nxt;
    Seq snd_wl1, snd_wl2;
    uint32_t snd_wnd = 0;           // peer's window, scaled
    uint32_t max_snd_wnd = 0;       // RFC 5961 §5 MAX.SND.WND
    uint32_t cwnd = 0, ssthresh = 0;
    Seq recover;                    // RFC 6582 "recover"
    Seq iss, irs;
    Seq tx_seq;                     // sequence number of tx_data[0]
    uint32_t tx_len = 0;            // bytes in the current send buffer
    uint32_t ts_recent = 0;         // RFC 7323 TS.Recent
    uint32_t rtt_start_us = 0;      // when the timed segment left (Karn: only never-retransmitted ones)
    Seq rtt_seq;                    // the timed segment's end
    flow::FlowKey key;              // 12 bytes
    uint16_t mss = 536;             // send MSS (payload per segment, before options)
    State state = State::Closed;
    uint8_t snd_wscale = 0, rcv_wscale = 0;
    uint8_t dupacks = 0;
    uint8_t retries = 0;
    MainTimer main_timer = MainTimer::None;
    uint8_t ka_probes_sent = 0;
    uint8_t unacked_segs = 0;       // segments received since our last ACK (delayed-ACK rule)
    uint16_t flags = 0;             // tcbflag bits
    // --- warm: RTO estimator, application, timers ---
    RttEstimator rtt;
    const uint8_t* tx_data = nullptr;
    uint64_t user = 0;
    uint32_t main_at_ms = 0;        // deadline of the main timer (stack ms clock)
    uint32_t delack_at_ms = 0;      // deadline of a delayed ACK, 0 = none
    uint32_t hash = 0;              // flow hash of key
    uint32_t next_free = 0;
};
struct Tcb : TcbFields {
    timer::TimerNode timer;  // not copyable: the wheel links to it
    void reset() { static_cast<TcbFields&>(*this) = TcbFields{}; }
};

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
}  // namespace tcbflag

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
    uint32_t hash;         // flow hash of key
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
    uint32_t hash;            // flow hash of key; index of the next free record while free
    Seq iss, irs;             // our SYN-ACK's sequence number, the peer's SYN's
    Negotiated opts;          // 8
    uint32_t sent_us;         // when the first SYN-ACK left (an RTT sample if it is never retransmitted)
    uint8_t retries;          // SYN-ACKs retransmitted by the timer
    uint8_t resent;           // a SYN-ACK was sent again for a duplicate SYN (no RTT sample: Karn)
    uint8_t pad[2] = {};
    timer::TimerNode timer;   // SYN-ACK retransmission (RFC 6298 §5.5 backoff from the initial RTO)
};

// Flow-table values: the top bits say which pool the index refers to.
inline constexpr uint32_t kTwBit = 0x8000'0000u;
inline constexpr uint32_t kSynBit = 0x4000'0000u;
inline constexpr uint32_t kIndexMask = 0x3FFF'FFFFu;
inline constexpr uint32_t kNoConn = 0xFFFF'FFFFu;

struct Secrets {
    SipKey isn, cookie1, cookie2;
};

class Stack {
public:
    Stack(const StackConfig& cfg, TscRate rate, Instant now, const Secrets& secrets, App* app);
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    // --- listeners ---
    void listen(uint16_t port) { listen_[port >> 6] |= uint64_t{1} << (port & 63); }
    [[nodiscard]] bool listening(uint16_t port) const { return (listen_[port >> 6] >> (port & 63)) & 1; }

    // --- input: one parsed segment (checksums already verified by the caller) ---
    void input(const InSegment& in, Instant now);

    // --- prefetch, for the engine's pass over an RX burst before input() (see Worker::run_once) ---
    // Stage 1: the flow-table bucket of a segment's 4-tuple (local = us).
    void prefetch_flow(const flow::FlowKey& key) const { table_.prefetch(flow::flow_hash(key)); }
    // Stage 2 (after stage 1 for the burst): look the 4-tuple up and load the record it names, so that
    // input() finds both in cache.
    void prefetch_conn(const flow::FlowKey& key) const {
        const uint32_t v = table_.lookup(key, flow::flow_hash(key));
        if (v == flow::FlowTable::kNone) return;
        if (v & kTwBit) {
            prefetch_read(&tws_[v & ~kTwBit]);
        } else if (v & kSynBit) {
            prefetch_read(&syns_[v & kIndexMask]);
        } else {
            prefetch_read(&tcbs_[v]);
            prefetch_read(reinterpret_cast<const unsigned char*>(&tcbs_[v]) + 64);  // the hot part is two lines
        }
    }

    // --- timers: run the wheel to `now`, at most `budget` expiries; returns how many ran ---
    uint32_t poll(Instant now, uint32_t budget = 4096);

    // --- user calls ---
    enum class ConnectResult : uint8_t { Ok, Exists, TableFull, PoolEmpty };
    // Active open (RFC 9293 §3.10.1): SYN sent, SYN-SENT. On Ok, *conn is the handle.
    [[nodiscard]] ConnectResult connect(Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport, uint64_t user,
                                        Instant now, uint32_t* conn);
    // Queue `len` bytes at `data` (kept by the caller until SendDone). False if a previous buffer is not yet
    // fully acknowledged, the FIN is queued, or the state cannot send.
    [[nodiscard]] bool send(uint32_t conn, const uint8_t* data, uint32_t len);
    // RFC 9293 §3.10.4 CLOSE: our direction ends after the queued data (FIN); receiving continues.
    void close(uint32_t conn);
    // RFC 9293 §3.10.5 ABORT: RST to the peer (in synchronized states), the TCB is freed, no event.
    void abort(uint32_t conn);

    // --- inspection ---
    [[nodiscard]] std::vector<OutSegment>& out() { return out_; }
    [[nodiscard]] const TcpCounters& counters() const { return ctr_; }
    [[nodiscard]] TcpCounters& counters() { return ctr_; }
    [[nodiscard]] Tcb& tcb(uint32_t conn) { return tcbs_[conn]; }
    [[nodiscard]] const Tcb& tcb(uint32_t conn) const { return tcbs_[conn]; }
    [[nodiscard]] const TwRecord& tw(uint32_t idx) const { return tws_[idx]; }
    [[nodiscard]] const SynRecord& syn(uint32_t idx) const { return syns_[idx]; }
    // Flow-table value for a 4-tuple (local = us): a Tcb index, kTwBit | TwRecord index, kSynBit | SynRecord
    // index, or kNoConn.
    [[nodiscard]] uint32_t find(Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport) const;
    // The state a flow-table value (find()) stands for: Closed for kNoConn.
    [[nodiscard]] State state_of(uint32_t v) const {
        if (v == kNoConn) return State::Closed;
        if (v & kTwBit) return State::TimeWait;
        if (v & kSynBit) return State::SynReceived;
        return tcbs_[v].state;
    }
    [[nodiscard]] bool syn_timer_armed(uint32_t idx) const { return wheel_.armed(syns_[idx].timer); }
    [[nodiscard]] Instant syn_timer_expiry(uint32_t idx) const { return wheel_.expiry(syns_[idx].timer); }
    [[nodiscard]] uint32_t active_conns() const { return tcbs_used_; }
    [[nodiscard]] uint32_t half_open() const { return half_open_; }
    [[nodiscard]] uint32_t timewait_count() const { return tws_used_; }
    [[nodiscard]] uint32_t table_size() const { return table_.size(); }
    [[nodiscard]] size_t timers_pending() const { return wheel_.pending(); }
    [[nodiscard]] const StackConfig& config() const { return cfg_; }
    [[nodiscard]] uint32_t now_ms() const { return now_ms_; }
    // The time of the input, timer or call being processed (what an event handler should stamp with).
    [[nodiscard]] Instant now() const { return now_; }
    [[nodiscard]] uint32_t ts_now() const { return now_ms_ + ts_offset_; }
    [[nodiscard]] bool timer_armed(uint32_t conn) const { return wheel_.armed(tcbs_[conn].timer); }
    [[nodiscard]] Instant timer_expiry(uint32_t conn) const { return wheel_.expiry(tcbs_[conn].timer); }
    [[nodiscard]] bool timers_due(Instant now) const { return wheel_.due(now); }
    [[nodiscard]] uint32_t rto_ms(const Tcb& t) const { return t.rtt.rto_us(cfg_.rto) / 1000; }
    void set_app(App* app) {
        app_ = app;
        interests_ = app ? app->interests() : 0;
    }

    static constexpr uint32_t kHeaderBytesTs = 12;  // TS option as sent (NOP NOP TS), deducted from the MSS

private:
    // Demultiplexed paths, in RFC 9293 §3.10.7's order.
    void closed_input(const InSegment& in, const flow::FlowKey& key);  // §3.10.7.1
    void listen_input(const InSegment& in, const flow::FlowKey& key, uint32_t hash);  // §3.10.7.2
    void cookie_ack_input(const InSegment& in, const flow::FlowKey& key, uint32_t hash);
    void synsent_input(uint32_t idx, const InSegment& in);          // §3.10.7.3
    void sync_input(uint32_t idx, const InSegment& in);             // §3.10.7.4 (SYN-RECEIVED and later)
    void tw_input(uint32_t tw, const InSegment& in, const flow::FlowKey& key, uint32_t hash);
    void synrcvd_input(uint32_t ri, const InSegment& in);  // a passive SYN-RECEIVED record

    // Pieces of sync_input.
    bool process_ack(uint32_t idx, const wire::TcpSegment& s);
    void process_data_fin(uint32_t idx, const wire::TcpSegment& s);
    void on_new_ack(uint32_t idx, const wire::TcpSegment& s, uint32_t acked);
    void on_dup_ack(Tcb& t);
    void send_cookie_synack(const InSegment& in, const flow::FlowKey& key);

    // Output.
    void output(uint32_t idx);                     // send what windows allow, plus an owed ACK
    void output_unless_deferred(uint32_t conn);
    [[nodiscard]] wire::TcpSegment* new_segment(const flow::FlowKey& k, uint8_t flags, Seq seq, Seq ack);
    void add_ts(wire::TcpSegment& s, uint32_t tsecr) const {
        s.opt.has_ts = true;
        s.opt.tsval = ts_now();
        s.opt.tsecr = tsecr;
    }
    void emit(Tcb& t, uint8_t flags, Seq seq, const uint8_t* data, uint32_t len);
    void emit_syn(Tcb& t, bool with_ack);
    void emit_rst(const flow::FlowKey& k, Seq seq, Seq ack, bool with_ack);
    void emit_tw_ack(const TwRecord& w);
    void send_ack(Tcb& t) { emit(t, wire::tcpflag::ACK, t.snd_nxt, nullptr, 0); }
    void challenge_ack(Tcb& t);
    [[nodiscard]] bool challenge_allowed();        // RFC 5961 §7 rate limit, counted
    void emit_synack(const SynRecord& r);
    void emit_syn_record_ack(const SynRecord& r);  // <SEQ=ISS+1><ACK=IRS+1><CTL=ACK>
    void retransmit_first(Tcb& t);
    [[nodiscard]] uint16_t adv_window(const Tcb& t) const {
        // Zero-copy delivery frees receive space as soon as a segment is processed, so the window advertised
        // is the configured one (RFC 9293 §3.8.6.2.2 receiver SWS avoidance is then moot).
        const uint32_t w = cfg_.rcv_wnd >> t.rcv_wscale;
        return static_cast<uint16_t>(w < 0xFFFF ? w : 0xFFFF);
    }
    [[nodiscard]] uint32_t eff_mss(const Tcb& t) const {
        // RFC 9293 §3.7.1: the MSS counts payload only; options ride inside the segment, so each segment
        // carries MSS minus the option bytes we always send (TS: 12 with its NOPs).
        const uint32_t opt = (t.flags & tcbflag::kTsOk) ? kHeaderBytesTs : 0;
        return t.mss > opt + 8 ? t.mss - opt : 8;
    }
    void after_input(uint32_t idx);                // owed ACKs, delayed ACK, timers

    // Timers.
    void on_timer(timer::TimerNode& n);
    void tcb_timer(uint32_t idx);
    void rearm(Tcb& t);
    void set_main(Tcb& t, MainTimer kind, uint32_t delay_ms);
    void on_rto(uint32_t idx);

    // Life cycle.
    [[nodiscard]] uint32_t create_tcb(const flow::FlowKey& key, uint32_t hash);
    void set_state(Tcb& t, State s);
    void free_tcb(uint32_t idx, bool erase_from_table);
    void finish(uint32_t idx, AbortReason why);   // Aborted event + free
    void enter_time_wait(uint32_t idx);
    void free_tw(uint32_t idx);
    void release_tw(uint32_t idx);
    void free_syn(uint32_t ri, bool erase_from_table);
    void syn_timer(uint32_t ri);
    void arm_syn_timer(SynRecord& r);
    [[nodiscard]] uint32_t promote(uint32_t ri);   // SynRecord -> Tcb in SYN-RECEIVED, same table entry
    void tw_append(uint32_t idx);   // to the tail of the 2MSL queue, expiring 2MSL from now
    void tw_unlink(uint32_t idx);
    void tw_arm_head();             // the queue's wheel node follows its head
    void tw_expire(uint32_t budget);
    void init_established_windows(Tcb& t, const wire::TcpSegment& s, bool scaled);
    [[nodiscard]] Negotiated negotiate(const wire::TcpOptions& peer) const;
    void apply(Tcb& t, const Negotiated& n) const;
    [[nodiscard]] uint32_t take_tcb(const flow::FlowKey& key, uint32_t hash);

    // Events: queued during processing, dispatched after (so the app always sees a consistent TCB).
    void post(EventKind k, uint32_t idx, AbortReason r = AbortReason::None, const uint8_t* data = nullptr,
              uint32_t len = 0);
    void dispatch();
    void drop_events(uint32_t conn);

    void set_now(Instant now);
    // The wheel deadline for a 32-bit ms-clock time, taken as the nearest one from now (never in the past), so
    // that the 2^32 ms (~49.7 days) wrap of now_ms_ does not turn it into a deadline long gone.
    [[nodiscard]] Instant at_ms(uint32_t ms) const {
        const int32_t ahead = static_cast<int32_t>(ms - now_ms_);
        return start_ + Duration{(now_ms64_ + static_cast<uint64_t>(ahead > 0 ? ahead : 0)) * cycles_per_ms_};
    }
    [[nodiscard]] Tuple4 tuple_of(const flow::FlowKey& k) const {
        return Tuple4{Ipv4{k.local_ip}, Ipv4{k.remote_ip}, k.local_port, k.remote_port};
    }

    StackConfig cfg_;
    TscRate rate_;
    App* app_;
    IsnGenerator isn_;
    SynCookies cookies_;
    timer::TimerWheel wheel_;
    flow::FlowTable table_;
    std::vector<Tcb> tcbs_;
    std::vector<TwRecord> tws_;
    std::vector<SynRecord> syns_;
    uint32_t tcb_free_ = kNoConn, tw_free_ = kNoConn, syn_free_ = kNoConn;
    uint32_t tw_head_ = kNoConn, tw_tail_ = kNoConn;  // the 2MSL queue, oldest first
    timer::TimerNode tw_timer_;                       // armed for the head's expiry
    uint32_t tcbs_used_ = 0, tws_used_ = 0, half_open_ = 0;
    std::vector<OutSegment> out_;
    std::vector<Event> events_;
    TcpCounters ctr_;
    uint64_t listen_[1024] = {};
    Instant now_{};
    Instant start_{};
    uint64_t cycles_per_ms_ = 1;
    uint64_t cycles_per_us_ = 1;
    uint8_t rcv_wscale_ = 0;
    uint32_t touched_ = kNoConn;   // the TCB the current input() worked on (owed ACKs flushed after events)
    uint32_t now_ms_ = 0;          // ms since start_, wrapping (deadlines in TCBs and records compare mod 2^32)
    uint64_t now_ms64_ = 0;        // the same, not wrapping: wheel deadlines are built from it
    uint32_t now_us_ = 0;
    uint32_t ts_offset_ = 0;
    uint32_t challenge_sec_ = 0, challenge_count_ = 0;
    bool dispatching_ = false;
    uint32_t interests_ = ~0u;     // App::interests() of app_
};

} // namespace synwave::tcp
