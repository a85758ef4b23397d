// The per-lcore TCP stack: connection records, the RFC 9293 state machine, SYN cookies, TIME_WAIT records
// and the connection timers, DPDK-free.
//
// Follows: RFC 9293 (TCP; §3.10 event processing in its order), RFC 5961 (blind in-window attacks: challenge
// ACKs, ACK acceptability), RFC 6528 (ISNs), RFC 6298 (RTO), RFC 5681 + RFC 6582 (congestion control,
// NewReno), RFC 6928 (initial window 10), RFC 7323 (timestamps, PAWS, window scale), RFC 6191 (TIME_WAIT
// reuse with timestamps), RFC 1122 §4.2.3.6 (keepalive), RFC 4987 (SYN cookies).
//
// Shape (after netstack3 and smoltcp): the caller hands in parsed segments, user calls and the time; the
// stack appends the segments to transmit to out(); the caller builds frames and does the I/O. Nothing here
// reads a clock, allocates after construction, throws or locks.
//
// What a segment did to its connection is one value, a Disposition (connected, data, peer's FIN, closed, ...;
// at most one of each per segment), built while the segment is processed and handed to the application once,
// when the connection is consistent again; what the application then sends or closes leaves with the owed ACK
// in one segment (settle). No event queue.
//
// Where each rule lives (one file per concern):
//   stack.cpp      demultiplexing (§3.10.7), user calls (§3.10.1-5), record life cycle, dispositions
//   handshake.cpp  LISTEN, SYN-RECEIVED records, SYN-SENT, option negotiation (§3.10.7.2-3, RFC 7323)
//   cookies.cpp    SYN cookies (RFC 4987)
//   incoming.cpp   synchronized states: check_incoming (the acceptability ladder), ACK, text, FIN (§3.10.7.4)
//   congestion.hpp NewReno (RFC 5681, RFC 6582)
//   sack.cpp       SACK: blocks in our ACKs (RFC 2018), the peer's blocks and loss recovery by them (RFC 6675)
//   reassembly.cpp the out-of-order queue's lists (RFC 9293 §3.10.7.4); scoreboard.hpp RFC 6675's scoreboard
//   output.cpp     the one place that decides what to send (§3.8.6, §3.10.7.4), segment construction
//   timers.cpp     retransmission, persist, keepalive, FIN-WAIT-2, delayed ACK (RFC 6298, RFC 1122)
//   time_wait.cpp  TIME_WAIT records and their 2MSL queue (§3.6.1, RFC 6191)
//
// Data: received in-order bytes are handed to the application in the disposition, zero-copy (the pointer is
// into the received frame); out-of-order segments are copied into a per-stack reassembly pool (bounded,
// counted when full) and handed over, after the segment that fills the hole, as further Data events. Sent bytes are not copied either: send() takes a buffer the application keeps
// unchanged until SendDone (a response template shared by every connection, typically), so retransmission
// reads it again.
#pragma once
#include <cstdint>
#include <vector>

#include "core/ipv4addr.hpp"
#include "core/seq.hpp"
#include "core/time.hpp"
#include "flow/flow_key.hpp"
#include "flow/conn_index.hpp"
#include "tcp/isn.hpp"
#include "tcp/records.hpp"
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

[[nodiscard]] constexpr uint32_t event_bit(EventKind k) { return uint32_t{1} << static_cast<unsigned>(k); }

// What one segment (or one timer) did to one connection: a set of EventKinds, at most one of each.
struct Disposition {
    uint32_t conn = kNoConn;  // TCB handle; no longer valid once Closed or Aborted is in `what`
    uint32_t what = 0;        // event_bit(EventKind) set
    uint32_t user = 0;
    AbortReason reason = AbortReason::None;
    const uint8_t* data = nullptr;  // Data: in-order bytes, valid until the input call returns
    uint32_t len = 0;
};

// RFC 7323 §5.3 PAWS: with timestamps in use, a non-RST segment whose TSval is older than TS.Recent is an
// old duplicate (checked before the sequence test, in every synchronized state and in SYN-RECEIVED/TIME-WAIT).
[[nodiscard]] inline bool paws_rejects(const wire::TcpSegment& s, bool ts_ok, uint32_t ts_recent) {
    return ts_ok && s.opt.has_ts && !(s.flags & wire::tcpflag::RST) && static_cast<int32_t>(s.opt.tsval - ts_recent) < 0;
}

struct Secrets {
    SipKey isn, cookie1, cookie2;
};

class Stack;

// The application side of a stack (server responder, client generator, test harness).
class App {
public:
    virtual ~App() = default;
    // One event of a disposition, after the stack finished processing what caused it; the app may call
    // send(), close() and abort() on the connection from here. Events of one disposition come in the order
    // they happen: Connected/Accepted, SendDone, Data, PeerFin, Closed/Aborted.
    virtual void on_event(Stack& stack, const Event& ev) = 0;
    // The event kinds the application acts on (event_bit set); others are not delivered. Read once, when the
    // stack is given the application; Stack::add_interests() adds kinds it comes to need later.
    [[nodiscard]] virtual uint32_t interests() const { return ~0u; }
};

class Stack {
    friend struct StackAudit;  // tests/fuzz: the state-machine fuzzer's invariant checks read the pools
public:
    Stack(const StackConfig& cfg, TscRate rate, Instant now, const Secrets& secrets, App* app);
    Stack(const Stack&) = delete;
    Stack& operator=(const Stack&) = delete;

    // --- listeners ---
    void listen(uint16_t port) { listen_[port >> 6] |= uint64_t{1} << (port & 63); }
    [[nodiscard]] bool listening(uint16_t port) const { return (listen_[port >> 6] >> (port & 63)) & 1; }

    // --- input: one parsed segment (checksums already verified by the caller) ---
    // Processes it, hands the application its disposition, then sends what is owed (settle).
    void input(const InSegment& in, Instant now);

    // --- prefetch, for the engine's pass over an RX burst before input() (see Worker::run_once) ---
    // Stage 1: the flow-table bucket of a segment's 4-tuple (local = us).
    void prefetch_flow(const flow::FlowKey& key) const { flows_.prefetch(key, flows_.hash_of(key)); }
    // Stage 2 (after stage 1 for the burst): look the 4-tuple up and load the record it names, so that
    // input() finds both in cache.
    void prefetch_conn(const flow::FlowKey& key) const {
        uint32_t h = 0;
        const uint32_t v = flows_.find(key, h);
        if (v == kNoConn) return;
        if (v & kTwBit) {
            prefetch_read(&tws_[v & ~kTwBit]);
        } else if (v & kSynBit) {
            prefetch_read(&syns_[v & kIndexMask]);
        } else {
            // The hot line, and the next: an ACK of data or a segment that is answered reads the send buffer,
            // RTT and congestion fields there as well.
            prefetch_read(&tcbs_[v]);
            prefetch_read(reinterpret_cast<const unsigned char*>(&tcbs_[v]) + 64);
        }
    }

    // --- timers: run the wheel to `now`, at most `budget` expiries; returns how many ran ---
    uint32_t poll(Instant now, uint32_t budget = 4096);

    // --- user calls ---
    enum class ConnectResult : uint8_t { Ok, Exists, TableFull, PoolEmpty };
    // Active open (RFC 9293 §3.10.1): SYN sent, SYN-SENT. On Ok, *conn is the handle.
    [[nodiscard]] ConnectResult connect(Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport, uint32_t user,
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
    [[nodiscard]] uint32_t active_conns() const { return tcbs_.used(); }
    [[nodiscard]] uint32_t half_open() const { return half_open_; }
    [[nodiscard]] uint32_t timewait_count() const { return tws_.used(); }
    // Connections (Tcbs) in state s; CLOSED and LISTEN: 0 (a Tcb is CLOSED only on its way in or out).
    [[nodiscard]] uint32_t conns_in(State s) const {
        return s == State::Closed || s == State::Listen ? 0 : in_state_[static_cast<std::size_t>(s)];
    }
    // Open connections by state, the records included: SYN-RECEIVED counts the Tcbs in it and the
    // SynRecords (= half_open()), TIME-WAIT the TwRecords (a Tcb leaves as its record is made). The Tcb
    // states add up to active_conns().
    [[nodiscard]] std::array<uint32_t, kStateCount> open_by_state() const {
        std::array<uint32_t, kStateCount> n{};
        for (std::size_t i = 0; i < kStateCount; ++i) n[i] = conns_in(static_cast<State>(i));
        n[static_cast<std::size_t>(State::SynReceived)] += syns_.used();
        n[static_cast<std::size_t>(State::TimeWait)] += tws_.used();
        return n;
    }
    [[nodiscard]] uint32_t table_size() const { return flows_.size(); }
    [[nodiscard]] uint32_t indexed_entries() const { return flows_.indexed(); }  // of table_size(): by index
    [[nodiscard]] size_t timers_pending() const { return wheel_.pending(); }
    [[nodiscard]] uint32_t reasm_blocks_used() const { return reasm_.used(); }
    [[nodiscard]] uint32_t side_records_used() const { return sides_.used(); }
    [[nodiscard]] const TcbSide* side(uint32_t conn) const {
        return tcbs_[conn].side == kNoConn ? nullptr : &sides_[tcbs_[conn].side];
    }
    [[nodiscard]] const StackConfig& config() const { return cfg_; }
    // IPv6 addresses and their handles (the engine enters them; keys of IPv6 connections hold handles).
    [[nodiscard]] flow::AddrTable& addrs() { return flows_.addrs(); }
    [[nodiscard]] const flow::AddrTable& addrs() const { return flows_.addrs(); }
    [[nodiscard]] uint32_t now_ms() const { return now_ms_; }
    // The time of the input, timer or call being processed (what an event handler should stamp with).
    [[nodiscard]] Instant now() const { return now_; }
    [[nodiscard]] uint32_t ts_now() const { return now_ms_ + ts_offset_; }
    // Whether a Tcb has a deadline (retransmission, persist, keepalive, FIN-WAIT-2, delayed ACK) pending. The
    // wheel node itself is re-armed lazily: it may still be armed for an earlier
    // deadline that has since been cleared or moved later, and then finds nothing due when it fires.
    [[nodiscard]] bool has_deadline(uint32_t conn) const {
        return tcbs_[conn].main_timer != MainTimer::None || tcbs_[conn].delack_at_ms != 0;
    }
    [[nodiscard]] bool timers_due(Instant now) const { return wheel_.due(now); }
    [[nodiscard]] uint32_t rto_ms(const Tcb& t) const { return t.rtt.rto_us(cfg_.rto) / 1000; }
    void set_app(App* app) {
        app_ = app;
        interests_ = app ? app->interests() : 0;
    }
    // From now on, events of these kinds (event_bit set) are delivered too.
    void add_interests(uint32_t bits) { interests_ |= bits; }

    static constexpr uint32_t kHeaderBytesTs = 12;  // TS option as sent (NOP NOP TS), deducted from the MSS

private:
    // What check_incoming() decided for a segment on a synchronized connection or a SYN-RECEIVED record.
    enum class Verdict : uint8_t {
        Accept,        // go on with the RST/SYN/ACK/text steps
        Drop,          // silently
        Ack,           // answer with an ACK of where we are, then drop
        ChallengeAck,  // RFC 5961: an ACK, rate-limited
        Reset,         // an exact RST: the connection ends
    };
    // The receive-side view check_incoming() needs of a Tcb or a SynRecord.
    struct RcvView {
        Seq rcv_nxt;
        uint32_t ts_recent;
        bool ts_ok;
    };
    [[nodiscard]] Verdict check_incoming(const wire::TcpSegment& s, const RcvView& v);

    // Demultiplexed paths, in RFC 9293 §3.10.7's order.
    void closed_input(const InSegment& in, const flow::FlowKey& key);                  // §3.10.7.1
    void listen_input(const InSegment& in, const flow::FlowKey& key, uint32_t hash);   // §3.10.7.2
    void synrcvd_input(uint32_t ri, const InSegment& in);   // a passive SYN-RECEIVED record
    void synsent_input(uint32_t idx, const InSegment& in);  // §3.10.7.3
    void segment_arrives(uint32_t idx, const InSegment& in);  // §3.10.7.4 (SYN-RECEIVED Tcb and later)
    void tw_input(uint32_t tw, const InSegment& in, const flow::FlowKey& key, uint32_t hash);

    // SYN cookies (cookies.cpp).
    void send_cookie_synack(const InSegment& in, const flow::FlowKey& key);
    void cookie_ack_input(const InSegment& in, const flow::FlowKey& key, uint32_t hash);

    // Pieces of segment_arrives.
    bool process_ack(uint32_t idx, const wire::TcpSegment& s);
    void process_data_fin(uint32_t idx, const wire::TcpSegment& s);
    void on_new_ack(Tcb& t, const wire::TcpSegment& s, uint32_t acked, uint32_t idx);
    void on_dup_ack(Tcb& t);
    void take_in_order(uint32_t idx, bool* fin);  // the reassembly queue after RCV.NXT moved
    void queue_ooo(Tcb& t, const wire::TcpSegment& s, Seq dseq, bool fin);

    // SACK (sack.cpp).
    [[nodiscard]] TcbSide* side_for(Tcb& t);  // the connection's side record, taken now if need be
    void side_release_if_idle(Tcb& t);
    void side_free(Tcb& t);
    [[nodiscard]] bool sack_recovery(const Tcb& t) const {
        return (t.flags & (tcbflag::kInRecovery | tcbflag::kSackBoard)) == (tcbflag::kInRecovery | tcbflag::kSackBoard);
    }
    [[nodiscard]] uint32_t take_sack(Tcb& t, const wire::TcpSegment& s);  // octets newly SACKed
    [[nodiscard]] bool sack_on_dup_ack(Tcb& t);  // false: not the SACK sender's to decide (NewReno decides)
    [[nodiscard]] bool sack_on_new_ack(Tcb& t, Seq ack);  // likewise, for an ACK of new data
    [[nodiscard]] bool sack_output(Tcb& t);  // true when something was sent
    void add_sack_blocks(const Tcb& t, wire::TcpSegment& s);
    // RFC 2883 D-SACK: octets received twice, reported as the first block of the ACK the segment causes.
    void note_dsack(Tcb& t, Seq l, Seq r) {
        if (!(t.flags & tcbflag::kSackOk) || !(l < r)) return;
        t.flags |= tcbflag::kAckNow;  // the report rides this segment's ACK, so it must not wait
        dsack_conn_ = tcbs_.index_of(&t);
        dsack_l_ = l;
        dsack_r_ = r;
    }
    void rtt_ts_sample(Tcb& t, const wire::TcpSegment& s);
    void establish(Tcb& t, const wire::TcpSegment& s, bool scaled);

    // Output (output.cpp).
    void output(Tcb& t);  // send what windows allow, plus an owed ACK
    [[nodiscard]] wire::TcpSegment* new_segment(const flow::FlowKey& k, uint8_t flags, Seq seq, Seq ack);
    void add_ts(wire::TcpSegment& s, uint32_t tsecr) const {
        s.opt.has_ts = true;
        s.opt.tsval = ts_now();
        s.opt.tsecr = tsecr;
    }
    void emit(Tcb& t, uint8_t flags, Seq seq, const uint8_t* data, uint32_t len);
    [[nodiscard]] wire::TcpSegment* new_syn(const flow::FlowKey& k, uint8_t flags, Seq seq, Seq ack);
    void synack_options(wire::TcpSegment& s, uint8_t negotiated, uint32_t tsecr) const;
    void emit_syn(Tcb& t, bool with_ack);
    void emit_rst(const flow::FlowKey& k, Seq seq, Seq ack, bool with_ack);
    void emit_tw_ack(const TwRecord& w);
    void send_ack(Tcb& t) { emit(t, wire::tcpflag::ACK, t.snd_nxt, nullptr, 0); }
    // An old sequence number (SND.UNA - 1) with no data: the peer must answer with an ACK of where it is
    // (zero-window probe, RFC 9293 §3.8.6.1; keepalive, RFC 1122 §4.2.3.6).
    void send_probe(Tcb& t) { emit(t, wire::tcpflag::ACK, t.snd_una - 1, nullptr, 0); }
    void challenge_ack(Tcb& t);
    [[nodiscard]] bool challenge_allowed();        // RFC 5961 §7 rate limit, counted
    void emit_synack(const SynRecord& r);
    void emit_syn_record_ack(const SynRecord& r);  // <SEQ=ISS+1><ACK=IRS+1><CTL=ACK>
    void retransmit_first(Tcb& t);
    void send_data(Tcb& t, Seq seq, uint32_t len, bool fin);
    [[nodiscard]] uint16_t adv_window(uint8_t rcv_wscale) const {
        // Zero-copy delivery frees receive space as soon as a segment is processed, so the window advertised
        // is the configured one (RFC 9293 §3.8.6.2.2 receiver SWS avoidance is then moot).
        const uint32_t w = cfg_.rcv_wnd >> rcv_wscale;
        return static_cast<uint16_t>(w < 0xFFFF ? w : 0xFFFF);
    }
    [[nodiscard]] uint32_t eff_mss(const Tcb& t) const {
        // RFC 9293 §3.7.1: the MSS counts payload only; options ride inside the segment, so each segment
        // carries MSS minus the option bytes we always send (TS: 12 with its NOPs).
        const uint32_t opt = (t.flags & tcbflag::kTsOk) ? kHeaderBytesTs : 0;
        return t.mss > opt + 8 ? t.mss - opt : 8;
    }
    // RFC 6298 §2 with Karn's rule: the timed segment (never retransmitted) is acknowledged by `ack`: one RTT
    // sample. Returns whether it was.
    bool rtt_sample(Tcb& t, Seq ack) {
        if (!(t.flags & tcbflag::kTiming) || !(t.rtt_seq <= ack)) return false;
        t.rtt.on_sample(now_us_ - t.rtt_start_us, cfg_.rto);
        return true;
    }
    void settle(uint32_t idx);  // after the application saw the disposition: output, delayed ACK, keepalive

    // Timers (timers.cpp).
    void on_timer(timer::TimerNode& n);
    void tcb_timer(uint32_t idx);
    void rearm(Tcb& t);
    void set_main(Tcb& t, MainTimer kind, uint32_t delay_ms);
    void stop_main(Tcb& t, MainTimer kind) {
        if (t.main_timer == kind) t.main_timer = MainTimer::None;
    }
    void on_rto(uint32_t idx);
    // RFC 8985 §7 tail loss probe: with SACK, a flight whose ACKs stopped gets one probe after PTO (about
    // 2 SRTT) instead of waiting out the RTO, so that a lost tail is repaired by SACK recovery.
    [[nodiscard]] bool tlp_eligible(const Tcb& t) const {
        return (t.flags & (tcbflag::kSackOk | tcbflag::kInRecovery | tcbflag::kTlpSent)) == tcbflag::kSackOk &&
               t.retries == 0 && t.rtt.has_sample() && (state_bit(t.state) & states::kSending);
    }
    [[nodiscard]] uint32_t pto_ms(const Tcb& t) const;
    void arm_loss_timer(Tcb& t);  // outstanding data: the probe when eligible, else the RTO (RFC 6298 §5.3)
    void on_probe(uint32_t idx);

    // Life cycle (stack.cpp).
    [[nodiscard]] uint32_t create_tcb(const flow::FlowKey& key, uint32_t hash);
    [[nodiscard]] uint32_t take_tcb(const flow::FlowKey& key);
    void set_state(Tcb& t, State s);
    void free_tcb(uint32_t idx, bool erase_from_table);
    void end_conn(uint32_t idx, AbortReason why);   // Aborted + free
    void closed_conn(uint32_t idx);                  // Closed + free (no TIME_WAIT)
    void note(EventKind k, const Tcb& t, uint32_t idx) {
        disp_.conn = idx;
        disp_.user = t.user;
        disp_.what |= event_bit(k);
    }
    void deliver(const Disposition& d);  // hands a disposition to the application
    void deliver_ready(Event& ev);  // the reassembly queue's blocks that followed a segment's data
    void release_delivered() {           // the handle of a connection whose end was just delivered
        if (release_after_delivery_ != kNoConn) {
            tcbs_.give(release_after_delivery_);
            release_after_delivery_ = kNoConn;
        }
    }

    // Handshake (handshake.cpp).
    void free_syn(uint32_t ri, bool erase_from_table);
    void syn_timer(uint32_t ri);
    void arm_syn_timer(SynRecord& r);
    [[nodiscard]] uint32_t promote(uint32_t ri);   // SynRecord -> Tcb in SYN-RECEIVED, same table entry
    [[nodiscard]] Negotiated negotiate(const wire::TcpOptions& peer, const flow::FlowKey& key) const;
    void apply(Tcb& t, const Negotiated& n) const;
    void init_seq(Tcb& t, Seq iss) const;

    // TIME_WAIT (time_wait.cpp).
    void enter_time_wait(uint32_t idx);
    void free_tw(uint32_t idx);
    void release_tw(uint32_t idx);
    void tw_append(uint32_t idx);   // to the tail of the 2MSL queue, expiring 2MSL from now
    void tw_unlink(uint32_t idx);
    void tw_arm_head();             // the queue's wheel node follows its head
    void tw_expire(uint32_t budget);

    void set_now(Instant now);
    // The wheel deadline for a 32-bit ms-clock time, taken as the nearest one from now (never in the past), so
    // that the 2^32 ms (~49.7 days) wrap of now_ms_ does not turn it into a deadline long gone.
    [[nodiscard]] Instant at_ms(uint32_t ms) const {
        const int32_t ahead = static_cast<int32_t>(ms - now_ms_);
        return start_ + Duration{(now_ms64_ + static_cast<uint64_t>(ahead > 0 ? ahead : 0)) * cycles_per_ms_};
    }
    // The 4-tuple as RFC 6528 and the cookies hash it: for IPv6, the wire addresses behind the handles.
    [[nodiscard]] Tuple4 tuple_of(const flow::FlowKey& k) const {
        Tuple4 t{Ipv4{k.local_ip}, Ipv4{k.remote_ip}, k.local_port, k.remote_port};
        if (SYNWAVE_UNLIKELY(flow::AddrTable::is_handle(k.remote_ip))) {
            t.local6 = &flows_.addrs().addr(k.local_ip);
            t.remote6 = &flows_.addrs().addr(k.remote_ip);
        }
        return t;
    }
    // RFC 9293 §3.7.1: our MSS is the MTU less the IP and TCP headers, 20 bytes more for IPv6.
    [[nodiscard]] uint16_t our_mss(const flow::FlowKey& k) const {
        return flow::AddrTable::is_handle(k.remote_ip) ? cfg_.mss6 : cfg_.mss;
    }

    StackConfig cfg_;
    TscRate rate_;
    App* app_;
    IsnGenerator isn_;
    SynCookies cookies_;
    timer::TimerWheel wheel_;
    flow::ConnIndex flows_;  // 4-tuple -> Tcb, kSynBit | SynRecord or kTwBit | TwRecord index
    IndexPool<Tcb, &Tcb::user> tcbs_;           // free list through `user`
    IndexPool<TwRecord, &TwRecord::next> tws_;  // free list through `next`
    IndexPool<SynRecord, &SynRecord::hash> syns_;  // free list through `hash`
    uint32_t tw_head_ = kNoConn, tw_tail_ = kNoConn;  // the 2MSL queue, oldest first
    timer::TimerNode tw_timer_;                       // armed for the head's expiry
    uint32_t half_open_ = 0;
    // Tcbs per state, kept by set_state (and promote, free_tcb, which write the state themselves). The
    // CLOSED slot is not a count (Tcbs enter and leave it unannounced) and wraps freely.
    std::array<uint32_t, kStateCount> in_state_{};
    Reassembly reasm_;                             // out-of-order data of every connection
    IndexPool<TcbSide, &TcbSide::link> sides_;     // free list through `link`
    std::vector<OutSegment> out_;
    TcpCounters ctr_;
    uint64_t listen_[1024] = {};
    Instant now_{};
    Instant start_{};
    uint64_t cycles_per_ms_ = 1;
    uint64_t cycles_per_us_ = 1;
    uint8_t rcv_wscale_ = 0;
    Disposition disp_;             // what the segment or timer being processed did to its connection
    uint32_t settling_ = kNoConn;  // the Tcb whose output waits until the application has seen disp_
    uint32_t delivering_ = kNoConn;
    uint32_t dsack_conn_ = kNoConn;        // the Tcb whose next ACK reports [dsack_l_, dsack_r_) (RFC 2883)
    Seq dsack_l_, dsack_r_;
    uint32_t ready_ = Reassembly::kNone;  // blocks that became in order with the segment being processed
    Seq ready_from_;                      // the first octet of them the application has not seen
    uint32_t release_after_delivery_ = kNoConn;  // freed Tcb kept out of the pool until its end is delivered  // the Tcb whose events deliver() is handing over (kNoConn once the app ends it)
    uint32_t now_ms_ = 0;          // ms since start_, wrapping (deadlines in TCBs and records compare mod 2^32)
    uint64_t now_ms64_ = 0;        // the same, not wrapping: wheel deadlines are built from it
    uint32_t now_us_ = 0;
    uint32_t ts_offset_ = 0;
    uint32_t challenge_sec_ = 0, challenge_count_ = 0;
    uint32_t interests_ = ~0u;     // App::interests() of app_
};

} // namespace synwave::tcp
