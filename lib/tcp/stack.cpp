// The stack's spine: construction and clock, demultiplexing of an arriving segment (RFC 9293 §3.10.7), the
// user calls (§3.10.1-5), the records' life cycle and the hand-off of dispositions to the application.
#include "tcp/stack.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

static_assert(kTcbHotBytes <= 64, "TCB hot part: at most a cache line's worth of bytes");
static_assert(sizeof(Tcb) <= 160, "TCB: 136 bytes of fields and the 24-byte timer node");
static_assert(kNoConn == flow::ConnIndex::kNone, "one 'no entry' value for the index and the records");
static_assert(sizeof(SynRecord) <= 64, "SYN-RECEIVED record: one cache line");
static_assert(sizeof(TwRecord) <= 48, "TIME_WAIT record: 4-tuple, sequence numbers, timestamp, expiry, FIFO links");

namespace {

// RFC 7323 §2.2: the smallest shift that lets a 16-bit field express the whole receive window.
uint8_t wscale_for(uint32_t wnd) {
    uint8_t s = 0;
    while (s < 14 && (wnd >> s) > 0xFFFF) ++s;
    return s;
}

uint32_t tick_shift_for(uint64_t hz) {
    // ~1 ms: the largest power of two of cycles not above hz / 1000.
    uint32_t s = 0;
    while (s < 40 && (uint64_t{1} << (s + 1)) <= hz / 1000) ++s;
    return s;
}

constexpr uint32_t kEnds = event_bit(EventKind::Closed) | event_bit(EventKind::Aborted);

}  // namespace

Stack::Stack(const StackConfig& cfg, TscRate rate, Instant now, const Secrets& secrets, App* app)
    : cfg_(cfg),
      rate_(rate),
      app_(app),
      isn_(secrets.isn, rate),
      cookies_(secrets.cookie1, secrets.cookie2),
      wheel_(cfg.timer_tick_shift ? cfg.timer_tick_shift : tick_shift_for(rate.hz), now),
      flows_(cfg.max_conns + cfg.max_timewait + cfg.half_open_limit, cfg.direct, cfg.addrs6),
      tcbs_(cfg.max_conns),
      tws_(cfg.max_timewait),
      syns_(cfg.half_open_limit),
      reasm_(cfg.reasm_bytes),
      sides_(cfg.loss_records) {
    out_.reserve(cfg.out_capacity);
    start_ = now;
    cycles_per_ms_ = std::max<uint64_t>(1, rate.hz / 1000);
    cycles_per_us_ = std::max<uint64_t>(1, rate.hz / 1'000'000);
    // RFC 7323 §5.4 suggests a random offset for the timestamp clock; one per stack, from the secret.
    ts_offset_ = static_cast<uint32_t>(secrets.isn.k1 >> 17);
    rcv_wscale_ = cfg.window_scale ? wscale_for(cfg.rcv_wnd) : 0;
    interests_ = app ? app->interests() : 0;
    set_now(now);
}

void Stack::set_now(Instant now) {
    // The engine passes one `now` for a whole RX burst: convert it once, not once per segment.
    if (now <= now_) return;  // same instant, or time running backwards: keep the stack's clock
    now_ = now;
    const uint64_t d = now.cycles - start_.cycles;
    now_ms64_ = d / cycles_per_ms_;
    now_ms_ = static_cast<uint32_t>(now_ms64_);
    now_us_ = static_cast<uint32_t>(d / cycles_per_us_);
}

uint32_t Stack::find(Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport) const {
    const flow::FlowKey key{local.v, remote.v, lport, rport};
    uint32_t h = 0;
    return flows_.find(key, h);
}

// ---------------------------------------------------------------------------------------------------------
// Segment arrives (RFC 9293 §3.10.7): find the record, run its path, hand over the disposition, settle.
// ---------------------------------------------------------------------------------------------------------

void Stack::input(const InSegment& in, Instant now) {
    set_now(now);
    ++ctr_.rx_segments;
    const TcpSegment& s = in.seg;
    const flow::FlowKey key{in.dst.v, in.src.v, s.dst_port, s.src_port};
    uint32_t h = 0;
    const uint32_t v = flows_.find(key, h);
    if (v == kNoConn) {
        if (listening(s.dst_port)) {
            listen_input(in, key, h);
        } else {
            closed_input(in, key);
        }
    } else if (v & kTwBit) {
        tw_input(v & ~kTwBit, in, key, h);
    } else if (v & kSynBit) {
        synrcvd_input(v & kIndexMask, in);
    } else if (tcbs_[v].state == State::SynSent) {
        settling_ = v;
        synsent_input(v, in);
    } else {
        settling_ = v;
        segment_arrives(v, in);
    }
    const Disposition d = std::exchange(disp_, Disposition{});
    if (d.what & interests_) deliver(d);
    if (ready_ != Reassembly::kNone) {
        reasm_.release(ready_);
        ready_ = Reassembly::kNone;
    }
    release_delivered();
    if (settling_ != kNoConn) settle(settling_);
    dsack_conn_ = kNoConn;  // a D-SACK goes with this segment's ACK or not at all
}

// The application sees the disposition's events in their order (EventKind's); once it ends the connection
// itself (abort), the rest are not its business any more.
void Stack::deliver(const Disposition& d) {
    if (app_ == nullptr) return;
    uint32_t what = d.what & interests_;
    Event ev{EventKind::Connected, AbortReason::None, d.conn, d.user, nullptr, 0};
    delivering_ = d.conn;
    while (what != 0 && delivering_ != kNoConn) {
        const uint32_t bit = what & (0u - what);
        what ^= bit;
        ev.kind = static_cast<EventKind>(__builtin_ctz(bit));
        if (bit == event_bit(EventKind::Data)) {
            ev.data = d.data;
            ev.len = d.len;
            app_->on_event(*this, ev);
            if (ready_ != Reassembly::kNone) deliver_ready(ev);
            continue;
        } else {
            ev.data = nullptr;
            ev.len = 0;
        }
        if (bit & kEnds) ev.reason = d.reason;
        app_->on_event(*this, ev);
    }
    delivering_ = kNoConn;
}

// After a segment's own in-order bytes: the reassembly queue's blocks that followed them, each from the first
// octet the application has not seen (a block may overlap what came before it).
void Stack::deliver_ready(Event& ev) {
    Seq pos = ready_from_;
    for (uint32_t b = ready_; b != Reassembly::kNone && delivering_ != kNoConn; b = reasm_.block(b).next) {
        const Reassembly::Block& k = reasm_.block(b);
        if (k.end() <= pos) continue;
        const uint32_t skip = pos < k.seq ? 0 : static_cast<uint32_t>(pos - k.seq);
        ev.data = reasm_.data(b) + skip;
        ev.len = k.len - skip;
        pos = k.end();
        app_->on_event(*this, ev);
    }
}

// After the application acted on the disposition: what it sent or closed leaves together with the ACK the
// segment asked for (one segment with data, FIN and ACK instead of three); a delayed ACK is scheduled; an idle
// connection's keepalive restarts.
void Stack::settle(uint32_t idx) {
    settling_ = kNoConn;
    Tcb& t = tcbs_[idx];
    if (t.state == State::Closed) return;  // freed meanwhile
    output(t);
    if ((t.flags & tcbflag::kAckDelayed) && t.delack_at_ms == 0) {
        t.delack_at_ms = now_ms_ + cfg_.delack_ms;
        if (t.delack_at_ms == 0) t.delack_at_ms = 1;
        rearm(t);
    }
    // Keepalive (RFC 1122 §4.2.3.6): restarted by every segment while idle.
    if (cfg_.keepalive && t.state == State::Established && t.snd_una == t.snd_max &&
        (t.main_timer == MainTimer::None || t.main_timer == MainTimer::Keepalive)) {
        t.ka_probes_sent = 0;
        set_main(t, MainTimer::Keepalive, cfg_.ka_idle_ms);
    }
}

// §3.10.7.1 CLOSED: no connection and no listener.
void Stack::closed_input(const InSegment& in, const flow::FlowKey& key) {
    const TcpSegment& s = in.seg;
    if (s.flags & RST) {  // "An incoming segment containing a RST is discarded."
        ++ctr_.rst_rx_no_conn;
        return;
    }
    ++ctr_.rst_no_conn;
    if (s.flags & ACK) {  // <SEQ=SEG.ACK><CTL=RST>
        emit_rst(key, s.ack, Seq(0), false);
    } else {  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        emit_rst(key, Seq(0), s.seq + s.seg_len(), true);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Life cycle
// ---------------------------------------------------------------------------------------------------------

// A fresh TCB entered in the flow table under `key`, or kNoConn (counted) when the pool or the table is full.
uint32_t Stack::create_tcb(const flow::FlowKey& key, uint32_t hash) {
    if (tcbs_.empty()) {
        ++ctr_.tcb_pool_empty;
        return kNoConn;
    }
    if (!flows_.insert(key, hash, tcbs_.peek())) {
        ++ctr_.table_full;
        return kNoConn;
    }
    return take_tcb(key);
}

// The pool's next Tcb, reset, for `key` (the caller has checked the pool and owns the table entry).
uint32_t Stack::take_tcb(const flow::FlowKey& key) {
    const uint32_t idx = tcbs_.take();
    Tcb& t = tcbs_[idx];
    t.reset();
    t.key = key;
    return idx;
}

// The one place a connection's state changes; every transition is counted.
void Stack::set_state(Tcb& t, State s) {
    if (t.state == State::SynReceived && s != State::SynReceived) --half_open_;
    if (s == State::SynReceived && t.state != State::SynReceived) ++half_open_;
    --in_state_[static_cast<std::size_t>(t.state)];
    ++in_state_[static_cast<std::size_t>(s)];
    t.state = s;
    ++ctr_.entered[static_cast<std::size_t>(s)];
}

void Stack::free_tcb(uint32_t idx, bool erase) {
    Tcb& t = tcbs_[idx];
    wheel_.cancel(t.timer);
    if (t.side != kNoConn) side_free(t);
    if (erase) flows_.erase(t.key, flows_.hash_of(t.key));
    if (t.state != State::TimeWait) set_state(t, State::Closed);
    else --in_state_[static_cast<std::size_t>(State::TimeWait)];  // its TwRecord stands for it from here
    t.state = State::Closed;
    // A connection whose end is still to be delivered keeps its handle until then: a connect() from the
    // application's callback must not get the same handle while events for the old one are coming.
    if (disp_.what != 0 && disp_.conn == idx) {
        release_after_delivery_ = idx;
    } else {
        tcbs_.give(idx);
    }
    if (settling_ == idx) settling_ = kNoConn;
    if (delivering_ == idx) delivering_ = kNoConn;
}

void Stack::end_conn(uint32_t idx, AbortReason why) {
    note(EventKind::Aborted, tcbs_[idx], idx);
    disp_.reason = why;
    free_tcb(idx, true);
}

void Stack::closed_conn(uint32_t idx) {
    ++ctr_.conn_closed;
    note(EventKind::Closed, tcbs_[idx], idx);
    free_tcb(idx, true);
}

// ---------------------------------------------------------------------------------------------------------
// User calls
// ---------------------------------------------------------------------------------------------------------

Stack::ConnectResult Stack::connect(Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport, uint32_t user,
                                    Instant now, uint32_t* conn) {
    set_now(now);
    const flow::FlowKey key{local.v, remote.v, lport, rport};
    uint32_t h = 0;
    if (flows_.find(key, h) != kNoConn) return ConnectResult::Exists;
    const bool pool_empty = tcbs_.empty();
    const uint32_t idx = create_tcb(key, h);
    if (idx == kNoConn) return pool_empty ? ConnectResult::PoolEmpty : ConnectResult::TableFull;
    Tcb& t = tcbs_[idx];
    t.user = user;
    init_seq(t, isn_.isn(tuple_of(key), now));  // RFC 6528
    t.snd_max = t.iss;
    t.mss = our_mss(key);
    t.rcv_wscale = rcv_wscale_;
    set_state(t, State::SynSent);
    ++ctr_.active_opens;
    emit_syn(t, false);
    set_main(t, MainTimer::Rtx, rto_ms(t));
    *conn = idx;
    return ConnectResult::Ok;
}

bool Stack::send(uint32_t conn, const uint8_t* data, uint32_t len) {
    Tcb& t = tcbs_[conn];
    if (!(state_bit(t.state) & states::kCanSend) || (t.flags & tcbflag::kFinQueued) || t.tx_len != 0) {
        ++ctr_.send_refused;
        return false;
    }
    if (len == 0) return true;
    t.tx_data = data;
    t.tx_seq = t.snd_max;
    t.tx_len = len;
    stop_main(t, MainTimer::Keepalive);
    if (conn != settling_) output(t);  // else it leaves with the segment's ACK (settle)
    return true;
}

void Stack::close(uint32_t conn) {
    Tcb& t = tcbs_[conn];
    if (t.flags & tcbflag::kFinQueued) return;
    switch (t.state) {
    case State::SynSent:  // RFC 9293 §3.10.4: delete the TCB
        free_tcb(conn, true);
        return;
    case State::SynReceived:  // queue the FIN; it leaves once the handshake completes
        t.flags |= tcbflag::kFinQueued;
        return;
    case State::Established:
        t.flags |= tcbflag::kFinQueued;
        set_state(t, State::FinWait1);
        break;
    case State::CloseWait:
        t.flags |= tcbflag::kFinQueued;
        set_state(t, State::LastAck);
        break;
    case State::Closed:
    case State::Listen:
    case State::FinWait1:
    case State::FinWait2:
    case State::Closing:
    case State::LastAck:
    case State::TimeWait: return;
    }
    stop_main(t, MainTimer::Keepalive);
    if (conn != settling_) output(t);  // else it leaves with the segment's ACK (settle)
}

void Stack::abort(uint32_t conn) {
    Tcb& t = tcbs_[conn];
    if (t.state == State::Closed) return;
    // RFC 9293 §3.10.5: in SYN-RECEIVED and the synchronized states send <SEQ=SND.NXT><CTL=RST>; with ACK as
    // Linux does so that middleboxes and analysers match it to the flow.
    if (t.state != State::SynSent) emit_rst(t.key, t.snd_nxt, t.rcv_nxt, true);
    ++ctr_.conn_aborted_local;
    free_tcb(conn, true);
}

} // namespace synwave::tcp
