#include <cassert>
// The RFC 9293 state machine. See stack.hpp for the shape and the RFCs followed; each rule below quotes the
// section that asks for it.
#include "tcp/stack.hpp"

#include <algorithm>
#include <cstddef>

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

// The fields the segment-arrival path touches fit in two cache lines (issue 4: hot part <= 128 bytes).
inline constexpr std::size_t kTcbHotBytes = offsetof(TcbFields, rtt);
static_assert(kTcbHotBytes <= 128, "TCB hot part must fit two cache lines");
static_assert(sizeof(SynRecord) <= 64, "SYN-RECEIVED record: one cache line");
static_assert(sizeof(TwRecord) <= 48, "TIME_WAIT record: 4-tuple, sequence numbers, timestamp, expiry, FIFO links");

namespace {

// TIME_WAIT records freed per expiry of the queue's timer; more due ones wait a tick (bounded work per poll).
constexpr uint32_t kTwExpireBudget = 4096;

// RFC 7323 §2.2: the smallest shift that lets a 16-bit field express the whole receive window.
uint8_t wscale_for(uint32_t wnd) {
    uint8_t s = 0;
    while (s < 14 && (wnd >> s) > 0xFFFF) ++s;
    return s;
}

// RFC 7323 §5.3 PAWS: with timestamps in use, a non-RST segment whose TSval is older than TS.Recent is an
// old duplicate (checked before the sequence test, in every synchronized state and in SYN-RECEIVED/TIME-WAIT).
bool paws_rejects(const TcpSegment& s, bool ts_ok, uint32_t ts_recent) {
    return ts_ok && s.opt.has_ts && !(s.flags & RST) && static_cast<int32_t>(s.opt.tsval - ts_recent) < 0;
}

uint32_t tick_shift_for(uint64_t hz) {
    // ~1 ms: the largest power of two of cycles not above hz / 1000.
    uint32_t s = 0;
    while (s < 40 && (uint64_t{1} << (s + 1)) <= hz / 1000) ++s;
    return s;
}

}  // namespace

Stack::Stack(const StackConfig& cfg, TscRate rate, Instant now, const Secrets& secrets, App* app)
    : cfg_(cfg),
      rate_(rate),
      app_(app),
      isn_(secrets.isn, rate),
      cookies_(secrets.cookie1, secrets.cookie2),
      wheel_(cfg.timer_tick_shift ? cfg.timer_tick_shift : tick_shift_for(rate.hz), now),
      table_(cfg.max_conns + cfg.max_timewait + cfg.half_open_limit),
      tcbs_(cfg.max_conns),
      tws_(cfg.max_timewait),
      syns_(cfg.half_open_limit) {
    for (uint32_t i = 0; i < cfg.max_conns; ++i) tcbs_[i].next_free = i + 1 < cfg.max_conns ? i + 1 : kNoConn;
    tcb_free_ = cfg.max_conns ? 0 : kNoConn;
    for (uint32_t i = 0; i < cfg.max_timewait; ++i) tws_[i].next = i + 1 < cfg.max_timewait ? i + 1 : kNoConn;
    tw_free_ = cfg.max_timewait ? 0 : kNoConn;
    for (uint32_t i = 0; i < cfg.half_open_limit; ++i) syns_[i].hash = i + 1 < cfg.half_open_limit ? i + 1 : kNoConn;
    syn_free_ = cfg.half_open_limit ? 0 : kNoConn;
    out_.reserve(cfg.out_capacity);
    events_.reserve(cfg.out_capacity);
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
    const uint32_t v = table_.lookup(key, flow::flow_hash(key));
    return v == flow::FlowTable::kNone ? kNoConn : v;
}

// ---------------------------------------------------------------------------------------------------------
// Life cycle
// ---------------------------------------------------------------------------------------------------------

// A fresh TCB entered in the flow table under `key`, or kNoConn (counted) when the pool or the table is full.
uint32_t Stack::create_tcb(const flow::FlowKey& key, uint32_t hash) {
    if (tcb_free_ == kNoConn) {
        ++ctr_.tcb_pool_empty;
        return kNoConn;
    }
    if (table_.insert(key, hash, tcb_free_) != flow::FlowTable::Insert::Ok) {
        ++ctr_.table_full;
        return kNoConn;
    }
    return take_tcb(key, hash);
}

// The free list's head, reset, for `key` (the caller has checked the pool and owns the table entry).
uint32_t Stack::take_tcb(const flow::FlowKey& key, uint32_t hash) {
    const uint32_t idx = tcb_free_;
    tcb_free_ = tcbs_[idx].next_free;
    Tcb& t = tcbs_[idx];
    t.reset();
    t.key = key;
    t.hash = hash;
    ++tcbs_used_;
    return idx;
}

// The one place a connection's state changes; every transition is counted.
void Stack::set_state(Tcb& t, State s) {
    if (t.state == State::SynReceived && s != State::SynReceived) --half_open_;
    if (s == State::SynReceived && t.state != State::SynReceived) ++half_open_;
    t.state = s;
    ++ctr_.entered[static_cast<std::size_t>(s)];
}

void Stack::free_tcb(uint32_t idx, bool erase) {
    Tcb& t = tcbs_[idx];
    wheel_.cancel(t.timer);
    if (erase) (void)table_.erase(t.key, t.hash);
    if (t.state != State::TimeWait) set_state(t, State::Closed);
    t.state = State::Closed;
    t.next_free = tcb_free_;
    tcb_free_ = idx;
    --tcbs_used_;
    if (touched_ == idx) touched_ = kNoConn;
}

void Stack::finish(uint32_t idx, AbortReason why) {
    post(EventKind::Aborted, idx, why);
    free_tcb(idx, true);
}

void Stack::enter_time_wait(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    ++ctr_.conn_closed;
    if (tw_free_ == kNoConn) {
        // Like Linux's "time wait bucket table overflow": the connection closes without TIME_WAIT.
        ++ctr_.tw_pool_full;
        post(EventKind::Closed, idx);
        free_tcb(idx, true);
        return;
    }
    const uint32_t wi = tw_free_;
    TwRecord& w = tws_[wi];
    tw_free_ = w.next;
    ++tws_used_;
    w.key = t.key;
    w.hash = t.hash;
    w.snd_nxt = t.snd_max;
    w.rcv_nxt = t.rcv_nxt;
    w.ts_recent = t.ts_recent;
    w.ts_ok = (t.flags & tcbflag::kTsOk) ? 1 : 0;
    w.rcv_wscale = t.rcv_wscale;
    (void)table_.update(w.key, w.hash, kTwBit | wi);  // the Tcb's entry now names the record
    tw_append(wi);
    set_state(t, State::TimeWait);
    ++ctr_.tw_entered;
    post(EventKind::Closed, idx);
    free_tcb(idx, false);
}

void Stack::free_tw(uint32_t wi) {
    const bool was_head = tws_[wi].prev == kNoConn;
    release_tw(wi);
    if (was_head) tw_arm_head();
}

// Out of the queue and the flow table, back to the pool; the queue's timer is the caller's business.
void Stack::release_tw(uint32_t wi) {
    TwRecord& w = tws_[wi];
    tw_unlink(wi);
    (void)table_.erase(w.key, w.hash);
    w.next = tw_free_;
    tw_free_ = wi;
    --tws_used_;
}

void Stack::tw_append(uint32_t wi) {
    TwRecord& w = tws_[wi];
    w.expire_ms = now_ms_ + 2 * cfg_.msl_ms;
    w.next = kNoConn;
    w.prev = tw_tail_;
    if (tw_tail_ != kNoConn) {
        tws_[tw_tail_].next = wi;
    } else {
        tw_head_ = wi;
        tw_arm_head();
    }
    tw_tail_ = wi;
}

void Stack::tw_unlink(uint32_t wi) {
    TwRecord& w = tws_[wi];
    if (w.prev != kNoConn) {
        tws_[w.prev].next = w.next;
    } else {
        tw_head_ = w.next;
    }
    if (w.next != kNoConn) {
        tws_[w.next].prev = w.prev;
    } else {
        tw_tail_ = w.prev;
    }
}

void Stack::tw_arm_head() {
    if (tw_head_ == kNoConn) {
        wheel_.cancel(tw_timer_);
        return;
    }
    // The ms clock counts from start_, so this instant is exactly when now_ms_ reaches expire_ms.
    wheel_.arm(tw_timer_, at_ms(tws_[tw_head_].expire_ms));
}

// The head's 2MSL ran out: it and every record behind it that is due go, at most `budget` of them (the rest
// in the next tick).
void Stack::tw_expire(uint32_t budget) {
    uint32_t n = 0;
    while (tw_head_ != kNoConn && static_cast<int32_t>(now_ms_ - tws_[tw_head_].expire_ms) >= 0) {
        if (n++ == budget) {
            wheel_.arm(tw_timer_, now_);  // the rest in the next tick
            return;
        }
        const uint32_t wi = tw_head_;
        TwRecord& w = tws_[wi];
        // Records expiring now were last touched 2MSL ago: load the next one's flow bucket and the record
        // after it while this one is erased (the queue is a linked list over a scattered pool).
        if (const uint32_t n1 = w.next; n1 != kNoConn) {
            table_.prefetch(tws_[n1].hash);
            if (const uint32_t n2 = tws_[n1].next; n2 != kNoConn) prefetch_read(&tws_[n2]);
        }
        ++ctr_.tw_expired;  // RFC 9293 §3.10.8: "When the time-wait timeout expires ... delete the TCB"
        release_tw(wi);     // the queue's timer is re-armed once, below
    }
    tw_arm_head();
}

void Stack::post(EventKind k, uint32_t idx, AbortReason r, const uint8_t* data, uint32_t len) {
    if (!(interests_ & event_bit(k))) return;
    events_.push_back(Event{k, r, idx, tcbs_[idx].user, data, len});
}

void Stack::dispatch() {
    if (dispatching_) return;  // events posted from inside a callback run in the outer loop
    if (app_ == nullptr) {
        events_.clear();
        return;
    }
    dispatching_ = true;
    for (std::size_t i = 0; i < events_.size(); ++i) {
        const Event e = events_[i];
        if (e.conn == kNoConn) continue;  // the app aborted this connection from an earlier event
        app_->on_event(*this, e);
    }
    events_.clear();
    dispatching_ = false;
}

// ---------------------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------------------

// Every segment leaves through here: the output queue is bounded (a full queue is counted, never grown) and
// the addresses come from the 4-tuple (local = us). Returns nullptr when the queue is full.
TcpSegment* Stack::new_segment(const flow::FlowKey& k, uint8_t flags, Seq seq, Seq ack) {
    if (out_.size() >= cfg_.out_capacity) {
        ++ctr_.out_overflow;
        return nullptr;
    }
    ++ctr_.tx_segments;
    OutSegment& o = out_.emplace_back();
    o.src = Ipv4{k.local_ip};
    o.dst = Ipv4{k.remote_ip};
    TcpSegment& s = o.seg;
    s.src_port = k.local_port;
    s.dst_port = k.remote_port;
    s.seq = seq;
    s.ack = (flags & ACK) ? ack : Seq(0);
    s.flags = flags;
    return &s;
}

// A segment of a synchronized connection. Every one carries ACK, so it also satisfies an owed ACK.
void Stack::emit(Tcb& t, uint8_t flags, Seq seq, const uint8_t* data, uint32_t len) {
    TcpSegment* s = new_segment(t.key, flags, seq, t.rcv_nxt);
    if (!s) return;
    s->window = adv_window(t);
    if (t.flags & tcbflag::kTsOk) add_ts(*s, t.ts_recent);
    s->payload = data;
    s->payload_len = len;
    ctr_.tx_data_bytes += len;
    if (flags & ACK) {
        t.flags &= static_cast<uint16_t>(~(tcbflag::kAckNow | tcbflag::kAckDelayed));
        t.unacked_segs = 0;
        t.delack_at_ms = 0;
    }
}

void Stack::emit_syn(Tcb& t, bool with_ack) {
    TcpSegment* sp = new_segment(t.key, with_ack ? (SYN | ACK) : SYN, t.iss, t.rcv_nxt);
    if (!sp) return;
    TcpSegment& s = *sp;
    // RFC 7323 §2.2: the window in a SYN or SYN-ACK is never scaled.
    s.window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_wnd, 0xFFFF));
    s.opt.has_mss = true;
    s.opt.mss = cfg_.mss;
    if (!with_ack) {  // active open: offer everything configured
        s.opt.sack_permitted = cfg_.sack;
        if (cfg_.timestamps) add_ts(s, 0);
        if (cfg_.window_scale) {
            s.opt.has_wscale = true;
            s.opt.wscale = rcv_wscale_;
        }
    } else {  // SYN-ACK: only what the peer offered (RFC 7323 §1.3, RFC 2018 §2)
        s.opt.sack_permitted = (t.flags & tcbflag::kSackOk) != 0;
        if (t.flags & tcbflag::kTsOk) add_ts(s, t.ts_recent);
        if (t.flags & tcbflag::kWsOk) {
            s.opt.has_wscale = true;
            s.opt.wscale = t.rcv_wscale;
        }
        t.flags &= static_cast<uint16_t>(~(tcbflag::kAckNow | tcbflag::kAckDelayed));
    }
    t.snd_nxt = t.iss + 1;
    t.snd_max = seq_max(t.snd_max, t.snd_nxt);
    if (t.retries == 0) {  // Karn: time only a SYN that was never retransmitted
        t.flags |= tcbflag::kTiming;
        t.rtt_seq = t.iss + 1;
        t.rtt_start_us = now_us_;
    } else {
        t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
    }
}

// A reset for the 4-tuple `k` (local = us): <SEQ=seq><CTL=RST>, or with ACK=ack when with_ack.
void Stack::emit_rst(const flow::FlowKey& k, Seq seq, Seq ack, bool with_ack) {
    (void)new_segment(k, with_ack ? (RST | ACK) : RST, seq, ack);
}

void Stack::emit_tw_ack(const TwRecord& w) {
    TcpSegment* s = new_segment(w.key, ACK, w.snd_nxt, w.rcv_nxt);
    if (!s) return;
    s->window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_wnd >> w.rcv_wscale, 0xFFFF));
    if (w.ts_ok) add_ts(*s, w.ts_recent);
}

// RFC 5961 §7: challenge ACKs are rate-limited (per lcore here, as Linux's global limit) so that an attacker
// cannot make us amplify.
bool Stack::challenge_allowed() {
    const uint32_t sec = now_ms_ / 1000;
    if (sec != challenge_sec_) {
        challenge_sec_ = sec;
        challenge_count_ = 0;
    }
    if (challenge_count_ >= cfg_.challenge_ack_per_sec) {
        ++ctr_.challenge_acks_limited;
        return false;
    }
    ++challenge_count_;
    ++ctr_.challenge_acks;
    return true;
}

void Stack::challenge_ack(Tcb& t) {
    if (challenge_allowed()) send_ack(t);
}

// Send what the windows allow (RFC 9293 §3.8.6, RFC 5681 §3.1): new or, after a timeout, resent data up to
// min(SND.WND, cwnd) beyond SND.UNA, then the FIN once every byte has gone; or else an owed ACK.
void Stack::output(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    switch (t.state) {
    case State::Established:
    case State::CloseWait:
    case State::FinWait1:
    case State::Closing:
    case State::LastAck: break;
    case State::FinWait2:
        if (t.flags & tcbflag::kAckNow) send_ack(t);
        return;
    case State::Closed:
    case State::Listen:
    case State::SynSent:
    case State::SynReceived:
    case State::TimeWait: return;
    }
    const Seq data_end = t.tx_seq + t.tx_len;
    const uint32_t wnd = std::min(t.snd_wnd, t.cwnd);
    const Seq limit = t.snd_una + wnd;
    const uint32_t mss = eff_mss(t);
    const bool fin_queued = (t.flags & tcbflag::kFinQueued) != 0;
    bool sent = false;
    while (t.snd_nxt < data_end) {
        const uint32_t avail = static_cast<uint32_t>(data_end - t.snd_nxt);
        const int32_t room = limit - t.snd_nxt;
        if (room <= 0) break;
        uint32_t len = std::min({avail, mss, static_cast<uint32_t>(room)});
        // RFC 9293 §3.8.6.2.1 sender SWS avoidance: with data in flight, hold back a runt segment that the
        // window, not the data, cut short; the next ACK opens the window.
        if (len < mss && len < avail && t.snd_nxt != t.snd_una) break;
        const bool last = t.snd_nxt + len == data_end;
        uint8_t fl = ACK;
        if (last) fl |= PSH;
        const bool fin = last && fin_queued;
        if (fin) fl |= FIN;
        if (t.snd_nxt < t.snd_max) {
            ++ctr_.rtx_segments;
        } else if (!(t.flags & tcbflag::kTiming)) {
            t.flags |= tcbflag::kTiming;
            t.rtt_seq = t.snd_nxt + len;
            t.rtt_start_us = now_us_;
        }
        emit(t, fl, t.snd_nxt, t.tx_data + static_cast<uint32_t>(t.snd_nxt - t.tx_seq), len);
        t.snd_nxt += len + (fin ? 1 : 0);
        t.snd_max = seq_max(t.snd_max, t.snd_nxt);
        sent = true;
        if (fin) break;
    }
    if (fin_queued && t.snd_nxt == data_end) {  // FIN alone (it needs no window, RFC 9293 §3.8.6)
        if (t.snd_nxt < t.snd_max) ++ctr_.rtx_segments;
        emit(t, ACK | FIN, data_end, nullptr, 0);
        t.snd_nxt = data_end + 1;
        t.snd_max = seq_max(t.snd_max, t.snd_nxt);
        sent = true;
    }
    if (sent) {
        // RFC 6298 §5.1: start the timer when data is sent and it is not running.
        if (t.main_timer != MainTimer::Rtx) set_main(t, MainTimer::Rtx, rto_ms(t));
        return;
    }
    if (t.flags & tcbflag::kAckNow) send_ack(t);
    // Zero window with data waiting and nothing in flight: probe (RFC 9293 §3.8.6.1).
    if (t.snd_wnd == 0 && t.snd_nxt < data_end && t.snd_una == t.snd_max && t.main_timer != MainTimer::Persist)
        set_main(t, MainTimer::Persist, rto_ms(t));
}

void Stack::retransmit_first(Tcb& t) {
    const Seq data_end = t.tx_seq + t.tx_len;
    const bool fin_queued = (t.flags & tcbflag::kFinQueued) != 0;
    t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);  // Karn's rule
    ++ctr_.rtx_segments;
    if (t.snd_una < data_end) {
        const uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(data_end - t.snd_una), eff_mss(t));
        const bool last = t.snd_una + len == data_end;
        uint8_t fl = ACK;
        if (last) fl |= PSH;
        if (last && fin_queued) fl |= FIN;
        emit(t, fl, t.snd_una, t.tx_data + static_cast<uint32_t>(t.snd_una - t.tx_seq), len);
    } else if (fin_queued) {
        emit(t, ACK | FIN, data_end, nullptr, 0);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Timers: one wheel node per record, armed to the nearest of the Tcb's deadlines.
// ---------------------------------------------------------------------------------------------------------

void Stack::rearm(Tcb& t) {
    uint32_t at = 0;
    bool any = false;
    if (t.main_timer != MainTimer::None) {
        at = t.main_at_ms;
        any = true;
    }
    if (t.delack_at_ms != 0 && (!any || static_cast<int32_t>(t.delack_at_ms - at) < 0)) {
        at = t.delack_at_ms;
        any = true;
    }
    if (!any) {
        wheel_.cancel(t.timer);
        return;
    }
    wheel_.arm(t.timer, at_ms(at));
}

void Stack::set_main(Tcb& t, MainTimer kind, uint32_t delay_ms) {
    t.main_timer = kind;
    t.main_at_ms = now_ms_ + std::max<uint32_t>(delay_ms, 1);
    rearm(t);
}

uint32_t Stack::poll(Instant now, uint32_t budget) {
    set_now(now);
    const uint32_t n = wheel_.advance(now, budget, [this](timer::TimerNode& node) { on_timer(node); });
    dispatch();
    return n;
}

void Stack::on_timer(timer::TimerNode& node) {
    if (&node == &tw_timer_) {
        tw_expire(kTwExpireBudget);  // each record counted by tw_expired
        return;
    }
    ++ctr_.timers_fired;
    const auto* p = reinterpret_cast<const unsigned char*>(&node);
    const auto* sb = reinterpret_cast<const unsigned char*>(syns_.data());
    if (p >= sb && p < sb + syns_.size() * sizeof(SynRecord)) {
        syn_timer(static_cast<uint32_t>(static_cast<std::size_t>(p - sb) / sizeof(SynRecord)));
        return;
    }
    const auto* tb = reinterpret_cast<const unsigned char*>(tcbs_.data());
    tcb_timer(static_cast<uint32_t>(static_cast<std::size_t>(p - tb) / sizeof(Tcb)));
}

void Stack::tcb_timer(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    const bool delack_due = t.delack_at_ms != 0 && static_cast<int32_t>(now_ms_ - t.delack_at_ms) >= 0;
    const bool main_due = t.main_timer != MainTimer::None && static_cast<int32_t>(now_ms_ - t.main_at_ms) >= 0;
    if (delack_due) {
        t.delack_at_ms = 0;
        if (t.flags & (tcbflag::kAckDelayed | tcbflag::kAckNow)) {
            ++ctr_.delayed_acks;
            send_ack(t);
        }
    }
    if (main_due) {
        const MainTimer kind = t.main_timer;
        t.main_timer = MainTimer::None;
        switch (kind) {
        case MainTimer::None: break;
        case MainTimer::Rtx:
            on_rto(idx);
            if (tcbs_[idx].state == State::Closed) return;
            break;
        case MainTimer::Persist: {
            // RFC 9293 §3.8.6.1: probe the zero window; Linux style, a segment just below SND.UNA that the
            // receiver must answer with its current window.
            ++ctr_.zero_window_probes;
            emit(t, ACK, t.snd_una - 1, nullptr, 0);
            t.rtt.backoff();
            const Seq data_end = t.tx_seq + t.tx_len;
            if (t.snd_wnd == 0 && t.snd_nxt < data_end) set_main(t, MainTimer::Persist, rto_ms(t));
            break;
        }
        case MainTimer::Keepalive:
            // RFC 1122 §4.2.3.6: a probe is a segment with SEG.SEQ = SND.NXT - 1 (no data): the peer answers it
            // with an ACK because it is old.
            if (t.ka_probes_sent >= cfg_.ka_probes) {
                ++ctr_.keepalive_abort;
                finish(idx, AbortReason::KeepaliveTimeout);
                return;
            }
            ++t.ka_probes_sent;
            ++ctr_.keepalive_probes;
            emit(t, ACK, t.snd_una - 1, nullptr, 0);
            set_main(t, MainTimer::Keepalive, cfg_.ka_intvl_ms);
            break;
        case MainTimer::FinWait2:
            ++ctr_.fin_wait2_timeouts;
            finish(idx, AbortReason::FinWait2Timeout);
            return;
        }
    }
    rearm(t);
}

void Stack::on_rto(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    switch (t.state) {
    case State::SynSent:
        if (t.retries >= cfg_.syn_retries) {
            ++ctr_.syn_timeouts;
            finish(idx, AbortReason::SynTimeout);
            return;
        }
        ++t.retries;
        ++ctr_.syn_rtx;
        t.rtt.backoff();
        emit_syn(t, false);
        set_main(t, MainTimer::Rtx, rto_ms(t));
        return;
    case State::SynReceived:
        if (t.retries >= cfg_.synack_retries) {
            ++ctr_.synack_timeouts;
            if (t.flags & tcbflag::kPassive) {
                free_tcb(idx, true);  // the application never saw this connection
            } else {
                finish(idx, AbortReason::SynAckTimeout);
            }
            return;
        }
        ++t.retries;
        ++ctr_.synack_rtx;
        t.rtt.backoff();
        emit_syn(t, true);
        set_main(t, MainTimer::Rtx, rto_ms(t));
        return;
    case State::Established:
    case State::CloseWait:
    case State::FinWait1:
    case State::Closing:
    case State::LastAck: break;
    case State::Closed:
    case State::Listen:
    case State::FinWait2:
    case State::TimeWait: return;
    }
    if (t.snd_una == t.snd_max) return;  // everything was acknowledged meanwhile
    if (t.retries >= cfg_.retries2) {
        ++ctr_.rtx_abort;
        finish(idx, AbortReason::RtxTimeout);
        return;
    }
    ++ctr_.rto_expired;
    ++t.retries;
    t.rtt.backoff();
    // RFC 5681 §3.1 eq. (4) and the loss window: ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = 1 SMSS.
    const uint32_t mss = eff_mss(t);
    const uint32_t flight = static_cast<uint32_t>(t.snd_max - t.snd_una);
    t.ssthresh = std::max(flight / 2, 2 * mss);
    t.cwnd = mss;
    t.recover = t.snd_max;  // RFC 6582 §3.2 step 4: no fast retransmit for the loss we time out on
    t.flags &= static_cast<uint16_t>(~(tcbflag::kInRecovery | tcbflag::kTiming));
    t.dupacks = 0;
    t.snd_nxt = t.snd_una;  // go back N: resend from the first unacknowledged octet
    output(idx);
    set_main(t, MainTimer::Rtx, rto_ms(t));
}

// ---------------------------------------------------------------------------------------------------------
// User calls
// ---------------------------------------------------------------------------------------------------------

Stack::ConnectResult Stack::connect(Ipv4 local, uint16_t lport, Ipv4 remote, uint16_t rport, uint64_t user,
                                    Instant now, uint32_t* conn) {
    set_now(now);
    const flow::FlowKey key{local.v, remote.v, lport, rport};
    const uint32_t h = flow::flow_hash(key);
    if (table_.lookup(key, h) != flow::FlowTable::kNone) return ConnectResult::Exists;
    const bool pool_empty = tcb_free_ == kNoConn;
    const uint32_t idx = create_tcb(key, h);
    if (idx == kNoConn) return pool_empty ? ConnectResult::PoolEmpty : ConnectResult::TableFull;
    Tcb& t = tcbs_[idx];
    t.user = user;
    t.iss = isn_.isn(tuple_of(key), now);  // RFC 6528
    t.snd_una = t.iss;
    t.snd_max = t.iss;
    t.recover = t.iss;
    t.tx_seq = t.iss + 1;
    t.mss = cfg_.mss;
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
    if ((t.state != State::Established && t.state != State::CloseWait) || (t.flags & tcbflag::kFinQueued) ||
        t.tx_len != 0) {
        ++ctr_.send_refused;
        return false;
    }
    if (len == 0) return true;
    t.tx_data = data;
    t.tx_seq = t.snd_max;
    t.tx_len = len;
    if (t.main_timer == MainTimer::Keepalive) t.main_timer = MainTimer::None;
    output_unless_deferred(conn);
    return true;
}

void Stack::close(uint32_t conn) {
    Tcb& t = tcbs_[conn];
    if (t.flags & tcbflag::kFinQueued) return;
    switch (t.state) {
    case State::SynSent:  // RFC 9293 §3.10.4: delete the TCB
        drop_events(conn);
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
    if (t.main_timer == MainTimer::Keepalive) t.main_timer = MainTimer::None;
    output_unless_deferred(conn);
}

// From inside an event of the segment being processed, output waits until the events are dispatched
// (after_input): a response and the close() that follows it then leave as one segment with data and FIN,
// and the owed ACK rides on it. Anywhere else it goes at once.
void Stack::output_unless_deferred(uint32_t conn) {
    if (dispatching_ && conn == touched_) return;
    output(conn);
}

void Stack::abort(uint32_t conn) {
    Tcb& t = tcbs_[conn];
    if (t.state == State::Closed) return;
    // RFC 9293 §3.10.5: in SYN-RECEIVED and the synchronized states send <SEQ=SND.NXT><CTL=RST>; with ACK as
    // Linux does so that middleboxes and analysers match it to the flow.
    if (t.state != State::SynSent)
        emit_rst(t.key, t.snd_nxt, t.rcv_nxt, true);
    ++ctr_.conn_aborted_local;
    drop_events(conn);
    free_tcb(conn, true);
}

void Stack::drop_events(uint32_t conn) {
    // Events already queued for a connection the application just ended must not reach it (the handle may
    // be reused by the next connect()).
    for (auto& e : events_)
        if (e.conn == conn) e.conn = kNoConn;
}

// ---------------------------------------------------------------------------------------------------------
// Segment arrives (RFC 9293 §3.10.7)
// ---------------------------------------------------------------------------------------------------------

void Stack::input(const InSegment& in, Instant now) {
    set_now(now);
    ++ctr_.rx_segments;
    touched_ = kNoConn;
    const TcpSegment& s = in.seg;
    const flow::FlowKey key{in.dst.v, in.src.v, s.dst_port, s.src_port};
    const uint32_t h = flow::flow_hash(key);
    const uint32_t v = table_.lookup(key, h);
    if (v == flow::FlowTable::kNone) {
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
        synsent_input(v, in);
    } else {
        sync_input(v, in);
    }
    dispatch();
    if (touched_ != kNoConn) after_input(touched_);
}

void Stack::after_input(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    output(idx);
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

// What a SYN's options settle, kept as they are in a Tcb or a SynRecord.
Negotiated Stack::negotiate(const wire::TcpOptions& peer) const {
    Negotiated n;
    // RFC 9293 §3.7.1: without an MSS option assume 536 (RFC 9293 MUST-15); never above our own.
    n.mss = static_cast<uint16_t>(std::clamp<uint32_t>(peer.has_mss ? peer.mss : 536u, 64u, cfg_.mss));
    if (cfg_.window_scale && peer.has_wscale) {  // RFC 7323 §2.2: both sides or neither
        n.flags |= tcbflag::kWsOk;
        n.snd_wscale = std::min(peer.wscale, wire::tcpopt::kMaxWscale);  // §2.3: treat > 14 as 14
    }
    if (cfg_.timestamps && peer.has_ts) {
        n.flags |= tcbflag::kTsOk;
        n.ts_recent = peer.tsval;
    }
    if (cfg_.sack && peer.sack_permitted) n.flags |= tcbflag::kSackOk;
    return n;
}

void Stack::apply(Tcb& t, const Negotiated& n) const {
    t.mss = n.mss;
    t.flags |= n.flags;
    t.snd_wscale = n.snd_wscale;
    t.rcv_wscale = (n.flags & tcbflag::kWsOk) ? rcv_wscale_ : 0;
    if (n.flags & tcbflag::kTsOk) t.ts_recent = n.ts_recent;
}

void Stack::init_established_windows(Tcb& t, const TcpSegment& s, bool scaled) {
    t.snd_wnd = scaled ? (uint32_t{s.window} << t.snd_wscale) : s.window;
    t.max_snd_wnd = t.snd_wnd;
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
    // RFC 6928 / RFC 5681 §3.1: IW = min(10 * MSS, max(2 * MSS, 14600)) for the default of 10 segments.
    const uint32_t mss = eff_mss(t);
    t.cwnd = cfg_.init_cwnd_segs == 10 ? std::min(10 * mss, std::max(2 * mss, 14600u)) : cfg_.init_cwnd_segs * mss;
    t.ssthresh = 0x7FFF'FFFF;  // "arbitrarily high" (RFC 5681 §3.1)
}

// §3.10.7.2 LISTEN.
void Stack::listen_input(const InSegment& in, const flow::FlowKey& key, uint32_t hash) {
    const TcpSegment& s = in.seg;
    if (s.flags & RST) {  // "An incoming RST should be ignored."
        ++ctr_.rst_rx_no_conn;
        return;
    }
    if (s.flags & ACK) {
        // "Any acknowledgment is bad if it arrives on a connection still in the LISTEN state" — unless it
        // completes a handshake we answered with a cookie.
        if (cfg_.cookies != CookieMode::Off && !(s.flags & SYN)) {
            cookie_ack_input(in, key, hash);
            return;
        }
        ++ctr_.bad_ack_rst;
        emit_rst(key, s.ack, Seq(0), false);
        return;
    }
    if (!(s.flags & SYN)) {  // "Any other control or text-bearing segment ... drop it"
        ++ctr_.no_ack_dropped;
        return;
    }
    if (s.payload_len) ++ctr_.syn_data_ignored;  // not acknowledged: the peer resends it after the handshake
    const bool cookie = cfg_.cookies == CookieMode::Always ||
                        (cfg_.cookies == CookieMode::Auto && half_open_ >= cfg_.half_open_limit);
    if (!cookie && half_open_ >= cfg_.half_open_limit) {
        ++ctr_.half_open_dropped;
        return;
    }
    // Without a free record (or room in the table), a cookie still answers (unless cookies are off).
    const uint32_t ri = cookie ? kNoConn : syn_free_;
    if (ri == kNoConn || table_.insert(key, hash, kSynBit | ri) != flow::FlowTable::Insert::Ok) {
        if (ri != kNoConn) ++ctr_.table_full;
        if (cfg_.cookies != CookieMode::Off) send_cookie_synack(in, key);
        return;
    }
    SynRecord& r = syns_[ri];
    syn_free_ = r.hash;
    r.key = key;
    r.hash = hash;
    r.irs = s.seq;
    r.iss = isn_.isn(tuple_of(key), now_);
    r.retries = 0;
    r.resent = 0;
    r.opts = negotiate(s.opt);
    r.sent_us = now_us_;
    ++half_open_;
    ++ctr_.entered[static_cast<std::size_t>(State::SynReceived)];
    ++ctr_.passive_opens;
    emit_synack(r);
    arm_syn_timer(r);
}

// RFC 6298 §5.5 doubling from the initial RTO, on the stack's ms clock like a Tcb's main timer (set_main).
void Stack::arm_syn_timer(SynRecord& r) {
    const uint64_t rto_us =
        std::min<uint64_t>(uint64_t{cfg_.rto.initial_us} << std::min<uint32_t>(r.retries, 31), cfg_.rto.max_us);
    wheel_.arm(r.timer, at_ms(now_ms_ + static_cast<uint32_t>(std::max<uint64_t>(rto_us / 1000, 1))));
}

// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> from a record, with the options the peer offered (RFC 7323 §1.3, RFC
// 2018 §2); the window of a SYN-ACK is never scaled (RFC 7323 §2.2).
void Stack::emit_synack(const SynRecord& r) {
    TcpSegment* sp = new_segment(r.key, SYN | ACK, r.iss, r.irs + 1);
    if (!sp) return;
    TcpSegment& s = *sp;
    s.window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_wnd, 0xFFFF));
    s.opt.has_mss = true;
    s.opt.mss = cfg_.mss;
    s.opt.sack_permitted = (r.opts.flags & tcbflag::kSackOk) != 0;
    if (r.opts.flags & tcbflag::kTsOk) add_ts(s, r.opts.ts_recent);
    if (r.opts.flags & tcbflag::kWsOk) {
        s.opt.has_wscale = true;
        s.opt.wscale = rcv_wscale_;
    }
}

void Stack::emit_syn_record_ack(const SynRecord& r) {
    TcpSegment* s = new_segment(r.key, ACK, r.iss + 1, r.irs + 1);
    if (!s) return;
    // Scaled once the SYN-ACK has offered our shift (the peer, now ESTABLISHED, scales this field).
    const uint32_t shift = (r.opts.flags & tcbflag::kWsOk) ? rcv_wscale_ : 0;
    s->window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_wnd >> shift, 0xFFFF));
    if (r.opts.flags & tcbflag::kTsOk) add_ts(*s, r.opts.ts_recent);
}

void Stack::free_syn(uint32_t ri, bool erase) {
    SynRecord& r = syns_[ri];
    wheel_.cancel(r.timer);
    if (erase) (void)table_.erase(r.key, r.hash);
    r.hash = syn_free_;
    syn_free_ = ri;
    --half_open_;
}

// SYN-ACK retransmission: RFC 6298 §5.5 doubling from the initial RTO; after synack_retries the record goes
// silently (the application never saw it), as Linux's tcp_synack_retries.
void Stack::syn_timer(uint32_t ri) {
    SynRecord& r = syns_[ri];
    if (r.retries >= cfg_.synack_retries) {
        ++ctr_.synack_timeouts;
        ++ctr_.entered[static_cast<std::size_t>(State::Closed)];
        free_syn(ri, true);
        return;
    }
    ++r.retries;
    ++ctr_.synack_rtx;
    emit_synack(r);
    arm_syn_timer(r);
}

// The handshake completes: a Tcb in SYN-RECEIVED takes over the record's flow-table entry (and its place in
// half_open_), then sync_input() takes it to ESTABLISHED like any SYN-RECEIVED Tcb. kNoConn (counted) if the
// pool is empty: the record stays, and the peer's retransmission may find room.
uint32_t Stack::promote(uint32_t ri) {
    if (tcb_free_ == kNoConn) {
        ++ctr_.tcb_pool_empty;
        return kNoConn;
    }
    SynRecord& r = syns_[ri];
    const uint32_t idx = take_tcb(r.key, r.hash);
    (void)table_.update(r.key, r.hash, idx);
    Tcb& t = tcbs_[idx];
    t.flags = tcbflag::kPassive;
    apply(t, r.opts);
    t.irs = r.irs;
    t.rcv_nxt = r.irs + 1;
    t.iss = r.iss;
    t.snd_una = r.iss;
    t.snd_nxt = r.iss + 1;
    t.snd_max = r.iss + 1;
    t.recover = r.iss;
    t.tx_seq = r.iss + 1;
    t.retries = r.retries;
    if (r.retries == 0 && !r.resent) {  // Karn: only a SYN-ACK that was never retransmitted is timed
        t.flags |= tcbflag::kTiming;
        t.rtt_seq = r.iss + 1;
        t.rtt_start_us = r.sent_us;
    }
    t.state = State::SynReceived;  // already counted (entered, half_open_) when the record was made
    wheel_.cancel(r.timer);
    r.hash = syn_free_;
    syn_free_ = ri;
    return idx;
}

// §3.10.7.4 for a passive SYN-RECEIVED record. The segment that completes the handshake (an acceptable ACK of
// our SYN-ACK, no SYN, no RST) promotes the record and runs the Tcb path; everything else is answered from
// the record, in the RFC's order, exactly as sync_input() would for a SYN-RECEIVED Tcb.
void Stack::synrcvd_input(uint32_t ri, const InSegment& in) {
    SynRecord& r = syns_[ri];
    const TcpSegment& s = in.seg;
    const uint8_t f = s.flags;
    const Seq rcv_nxt = r.irs + 1;
    const uint32_t seg_len = s.seg_len();
    const bool acceptable = segment_acceptable(s.seq, seg_len, rcv_nxt, cfg_.rcv_wnd);
    if ((f & (ACK | RST | SYN)) == ACK && s.ack == r.iss + 1 && acceptable &&
        !paws_rejects(s, (r.opts.flags & tcbflag::kTsOk) != 0, r.opts.ts_recent)) {
        const uint32_t idx = promote(ri);
        if (idx == kNoConn) return;
        sync_input(idx, in);  // an acceptable ACK of our SYN-ACK, PAWS passed: ESTABLISHED from here
        assert(tcbs_[idx].state != State::SynReceived);
        return;
    }
    // A duplicate of the SYN: our SYN-ACK was lost; answer it again (Linux's tcp_check_req).
    if ((f & SYN) && !(f & (ACK | RST)) && s.seq == r.irs) {
        ++ctr_.synack_rtx;
        r.resent = 1;  // Karn: the ACK may answer either SYN-ACK, so the handshake gives no RTT sample
        emit_synack(r);
        return;
    }
    // RFC 7323 §5.3 PAWS.
    if (paws_rejects(s, (r.opts.flags & tcbflag::kTsOk) != 0, r.opts.ts_recent)) {
        ++ctr_.paws_rejected;
        emit_syn_record_ack(r);
        return;
    }
    if (!acceptable) {
        if (f & RST) {
            ++ctr_.rst_out_of_window;
            return;
        }
        if (f & SYN) {
            ++ctr_.syn_in_synchronized;
            if (challenge_allowed()) emit_syn_record_ack(r);
            return;
        }
        ++ctr_.unacceptable_seq;
        emit_syn_record_ack(r);
        return;
    }
    if (f & RST) {
        if (s.seq != rcv_nxt) {  // RFC 5961 §3.2
            ++ctr_.rst_in_window;
            if (challenge_allowed()) emit_syn_record_ack(r);
            return;
        }
        // "return this connection to the LISTEN state": the listener is stateless, the record just goes.
        ++ctr_.conn_reset;
        ++ctr_.entered[static_cast<std::size_t>(State::Closed)];
        free_syn(ri, true);
        return;
    }
    if (f & SYN) {
        ++ctr_.syn_in_synchronized;
        if (challenge_allowed()) emit_syn_record_ack(r);
        return;
    }
    if (!(f & ACK)) {
        ++ctr_.no_ack_dropped;
        return;
    }
    // "If the segment acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
    ++ctr_.bad_ack_rst;
    emit_rst(r.key, s.ack, Seq(0), false);
}

void Stack::send_cookie_synack(const InSegment& in, const flow::FlowKey& key) {
    const TcpSegment& s = in.seg;
    const CookieIsn c = cookies_.make(tuple_of(key), s.seq, s.opt.has_mss ? s.opt.mss : 536, cookie_count(now_, rate_));
    TcpSegment* rp = new_segment(key, SYN | ACK, c.isn, s.seq + 1);
    if (!rp) return;
    TcpSegment& r = *rp;
    r.window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_wnd, 0xFFFF));
    r.opt.has_mss = true;
    r.opt.mss = cfg_.mss;
    // Without timestamps there is nowhere to keep window scale and SACK-permitted: they are not offered
    // (Linux does the same, cookie_v4_check / tcp_synack_options).
    if (cfg_.timestamps && s.opt.has_ts) {
        CookieTsOptions o2;
        o2.wscale = (cfg_.window_scale && s.opt.has_wscale) ? std::min(s.opt.wscale, wire::tcpopt::kMaxWscale) : kTsNoWscale;
        o2.sack_ok = cfg_.sack && s.opt.sack_permitted;
        add_ts(r, s.opt.tsval);
        r.opt.tsval = encode_ts(r.opt.tsval, o2);
        r.opt.sack_permitted = o2.sack_ok;
        if (o2.wscale_ok()) {
            r.opt.has_wscale = true;
            r.opt.wscale = rcv_wscale_;
        }
    }
    ++ctr_.syncookies_sent;
}

// An ACK to a listener with no connection: the third segment of a cookie handshake (RFC 4987 §3.6), or junk.
void Stack::cookie_ack_input(const InSegment& in, const flow::FlowKey& key, uint32_t hash) {
    const TcpSegment& s = in.seg;
    const auto mss = cookies_.check_ack(tuple_of(key), s.seq, s.ack, cookie_count(now_, rate_));
    if (!mss) {
        ++ctr_.syncookies_failed;
        emit_rst(key, s.ack, Seq(0), false);  // <SEQ=SEG.ACK><CTL=RST>
        return;
    }
    const uint32_t idx = create_tcb(key, hash);
    if (idx == kNoConn) return;  // counted; the client retransmits and a later ACK may find room
    ++ctr_.syncookies_ok;
    Tcb& t = tcbs_[idx];
    t.flags = tcbflag::kPassive;
    t.iss = s.ack - 1;
    t.irs = s.seq - 1;
    t.snd_una = s.ack;
    t.snd_nxt = s.ack;
    t.snd_max = s.ack;
    t.recover = s.ack;
    t.tx_seq = s.ack;
    t.rcv_nxt = s.seq;
    t.mss = static_cast<uint16_t>(std::min<uint32_t>(*mss, cfg_.mss));
    if (cfg_.timestamps && s.opt.has_ts) {
        const CookieTsOptions o = decode_ts(s.opt.tsecr);
        t.flags |= tcbflag::kTsOk;
        t.ts_recent = s.opt.tsval;
        if (cfg_.window_scale && o.wscale_ok()) {
            t.flags |= tcbflag::kWsOk;
            t.snd_wscale = o.wscale;
            t.rcv_wscale = rcv_wscale_;
        }
        if (cfg_.sack && o.sack_ok) t.flags |= tcbflag::kSackOk;
    }
    init_established_windows(t, s, true);
    set_state(t, State::Established);
    ++ctr_.conn_established;
    touched_ = idx;
    post(EventKind::Accepted, idx);
    process_data_fin(idx, s);
}

// §3.10.7.3 SYN-SENT.
void Stack::synsent_input(uint32_t idx, const InSegment& in) {
    Tcb& t = tcbs_[idx];
    const TcpSegment& s = in.seg;
    touched_ = idx;
    bool ack_ok = false;
    if (s.flags & ACK) {
        // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is set) ... and discard"
        if (s.ack <= t.iss || s.ack > t.snd_nxt) {
            if (!(s.flags & RST)) {
                ++ctr_.bad_ack_rst;
                emit_rst(t.key, s.ack, Seq(0), false);
            } else {
                ++ctr_.rst_out_of_window;
            }
            return;
        }
        ack_ok = true;
    }
    if (s.flags & RST) {
        // RFC 5961 §3.2 / RFC 9293: in SYN-SENT a RST is acceptable only if its ACK acknowledges the SYN.
        if (ack_ok) {
            ++ctr_.conn_refused;
            finish(idx, AbortReason::Refused);
        } else {
            ++ctr_.rst_out_of_window;
        }
        return;
    }
    if (!(s.flags & SYN)) {  // "If neither of the SYN or RST bits is set, then drop the segment"
        ++ctr_.no_ack_dropped;
        return;
    }
    t.irs = s.seq;
    t.rcv_nxt = s.seq + 1;
    apply(t, negotiate(s.opt));
    if (ack_ok) {
        t.snd_una = s.ack;
        if ((t.flags & tcbflag::kTiming) && t.rtt_seq <= s.ack) {
            t.rtt.on_sample(now_us_ - t.rtt_start_us, cfg_.rto);
        } else if (t.retries) {
            t.rtt.on_syn_loss_fallback();  // RFC 6298 §5.7
        }
        t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
        t.retries = 0;
        t.rtt.reset_backoff();
        t.main_timer = MainTimer::None;
        init_established_windows(t, s, false);  // RFC 7323 §2.2: the SYN-ACK's window is not scaled
        set_state(t, State::Established);
        ++ctr_.conn_established;
        t.flags |= tcbflag::kAckNow;  // "form an ACK segment and send it"
        rearm(t);
        post(EventKind::Connected, idx);
        process_data_fin(idx, s);
        return;
    }
    // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
    if (s.payload_len) ++ctr_.syn_data_ignored;
    t.snd_wnd = s.window;
    t.snd_wl1 = s.seq;
    set_state(t, State::SynReceived);
    emit_syn(t, true);
}

// §3.10.7.4: SYN-RECEIVED and the synchronized states (TIME-WAIT has its own record, tw_input).
void Stack::sync_input(uint32_t idx, const InSegment& in) {
    Tcb& t = tcbs_[idx];
    const TcpSegment& s = in.seg;
    const uint8_t f = s.flags;
    touched_ = idx;

    // A duplicate of the SYN that created this SYN-RECEIVED TCB means our SYN-ACK was lost: answer it again
    // (as Linux's tcp_check_req) rather than with the bare ACK the acceptability test would produce.
    if (t.state == State::SynReceived && (f & SYN) && !(f & (ACK | RST)) && s.seq == t.irs) {
        ++ctr_.synack_rtx;
        emit_syn(t, true);
        return;
    }
    // RFC 7323 §5.3 PAWS, before the sequence test: an older TSval marks an old duplicate.
    if (paws_rejects(s, (t.flags & tcbflag::kTsOk) != 0, t.ts_recent)) {
        ++ctr_.paws_rejected;
        send_ack(t);
        return;
    }
    // First: sequence number acceptability (the four cases, core/seq.hpp).
    const uint32_t seg_len = s.seg_len();
    if (!segment_acceptable(s.seq, seg_len, t.rcv_nxt, cfg_.rcv_wnd)) {
        if (f & RST) {  // "unless the RST bit is set, if so drop the segment and return"
            ++ctr_.rst_out_of_window;
            return;
        }
        if (f & SYN) {  // RFC 5961 §4: a SYN, whatever its sequence number, gets a challenge ACK
            ++ctr_.syn_in_synchronized;
            challenge_ack(t);
            return;
        }
        ++ctr_.unacceptable_seq;
        send_ack(t);
        return;
    }
    // Second: RST (RFC 5961 §3.2): only an exact match resets; in-window elsewhere gets a challenge ACK.
    if (f & RST) {
        if (s.seq != t.rcv_nxt) {
            ++ctr_.rst_in_window;
            challenge_ack(t);
            return;
        }
        if (t.state == State::SynReceived && (t.flags & tcbflag::kPassive)) {
            // "If this connection was initiated with a passive OPEN, then return this connection to the LISTEN
            // state": the listener is stateless, so the TCB just goes; the app never saw it.
            ++ctr_.conn_reset;
            free_tcb(idx, true);
            return;
        }
        if (t.state == State::SynReceived) {
            ++ctr_.conn_refused;
            finish(idx, AbortReason::Refused);
            return;
        }
        ++ctr_.conn_reset;
        finish(idx, AbortReason::Reset);
        return;
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4; RFC 9293 MUST-... challenge ACK).
    if (f & SYN) {
        ++ctr_.syn_in_synchronized;
        challenge_ack(t);
        return;
    }
    // Fifth: ACK.
    if (!(f & ACK)) {
        ++ctr_.no_ack_dropped;
        return;
    }
    // RFC 7323 §4.3: TS.Recent <- SEG.TSval if SEG.SEQ =< Last.ACK.sent (rcv_nxt before this segment).
    if ((t.flags & tcbflag::kTsOk) && s.opt.has_ts && s.seq <= t.rcv_nxt) t.ts_recent = s.opt.tsval;
    if (!process_ack(idx, s)) return;
    // Sixth (URG) is ignored. Seventh and eighth: text and FIN.
    process_data_fin(idx, s);
}

bool Stack::process_ack(uint32_t idx, const TcpSegment& s) {
    Tcb& t = tcbs_[idx];
    if (t.state == State::SynReceived) {
        // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED ... If the segment acknowledgment is not
        // acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
        if (!(t.snd_una < s.ack && s.ack <= t.snd_max)) {
            ++ctr_.bad_ack_rst;
            emit_rst(t.key, s.ack, Seq(0), false);
            return false;
        }
        if ((t.flags & tcbflag::kTiming) && t.rtt_seq <= s.ack) {
            t.rtt.on_sample(now_us_ - t.rtt_start_us, cfg_.rto);
        } else if (t.retries) {
            t.rtt.on_syn_loss_fallback();
        }
        t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
        t.snd_una = s.ack;
        t.retries = 0;
        t.rtt.reset_backoff();
        t.main_timer = MainTimer::None;
        init_established_windows(t, s, true);
        const bool fin_queued = (t.flags & tcbflag::kFinQueued) != 0;
        set_state(t, fin_queued ? State::FinWait1 : State::Established);
        ++ctr_.conn_established;
        rearm(t);
        post((t.flags & tcbflag::kPassive) ? EventKind::Accepted : EventKind::Connected, idx);
        return true;
    }
    // RFC 5961 §5: acceptable iff SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT (SND.NXT is our snd_max:
    // snd_nxt falls back to SND.UNA after a timeout, yet ACKs for what was sent before remain valid).
    if (s.ack > t.snd_max) {
        ++ctr_.ack_too_new;
        challenge_ack(t);
        return false;
    }
    if (s.ack < t.snd_una - t.max_snd_wnd) {
        ++ctr_.ack_too_old;
        challenge_ack(t);
        return false;
    }
    const uint32_t wnd = uint32_t{s.window} << t.snd_wscale;
    if (t.snd_una < s.ack) {
        on_new_ack(idx, s, static_cast<uint32_t>(s.ack - t.snd_una));
        if (tcbs_[idx].state == State::Closed) return false;
    } else if (s.ack == t.snd_una && s.payload_len == 0 && !(s.flags & FIN) && wnd == t.snd_wnd &&
               t.snd_max != t.snd_una) {
        on_dup_ack(t);  // RFC 5681 §2 definition of a duplicate ACK
    }
    // Window update: "If SND.UNA =< SEG.ACK =< SND.NXT ... if (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and
    // SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
    if (t.snd_wl1 < s.seq || (t.snd_wl1 == s.seq && t.snd_wl2 <= s.ack)) {
        t.snd_wnd = wnd;
        t.max_snd_wnd = std::max(t.max_snd_wnd, wnd);
        t.snd_wl1 = s.seq;
        t.snd_wl2 = s.ack;
        if (wnd != 0 && t.main_timer == MainTimer::Persist) {
            t.main_timer = MainTimer::None;
            t.rtt.reset_backoff();
            rearm(t);
        }
    }
    const bool fin_acked = (t.flags & tcbflag::kFinQueued) && t.snd_una == t.tx_seq + t.tx_len + 1;
    switch (t.state) {
    case State::FinWait1:
        // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now acknowledged,
        // then enter FIN-WAIT-2".
        if (fin_acked) {
            set_state(t, State::FinWait2);
            set_main(t, MainTimer::FinWait2, cfg_.fin_wait2_timeout_ms);
        }
        break;
    case State::Closing:  // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"
        if (fin_acked) {
            enter_time_wait(idx);
            return false;
        }
        break;
    case State::LastAck:  // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state"
        if (fin_acked) {
            ++ctr_.conn_closed;
            post(EventKind::Closed, idx);
            free_tcb(idx, true);
            return false;
        }
        break;
    case State::Closed:
    case State::Listen:
    case State::SynSent:
    case State::SynReceived:
    case State::Established:
    case State::FinWait2:
    case State::CloseWait:
    case State::TimeWait: break;
    }
    return true;
}

void Stack::on_new_ack(uint32_t idx, const TcpSegment& s, uint32_t acked) {
    Tcb& t = tcbs_[idx];
    // RFC 6298 §2 with Karn's rule: sample only a segment that was never retransmitted.
    if ((t.flags & tcbflag::kTiming) && t.rtt_seq <= s.ack) {
        t.rtt.on_sample(now_us_ - t.rtt_start_us, cfg_.rto);
        t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
    }
    t.snd_una = s.ack;
    if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
    t.retries = 0;
    t.rtt.reset_backoff();
    const uint32_t mss = eff_mss(t);
    if (t.flags & tcbflag::kInRecovery) {
        if (s.ack >= t.recover) {
            // RFC 6582 §3.2 step 3, full acknowledgment: deflate to min(ssthresh, FlightSize + SMSS).
            const uint32_t flight = static_cast<uint32_t>(t.snd_max - t.snd_una);
            t.cwnd = std::min(t.ssthresh, flight + mss);
            t.flags &= static_cast<uint16_t>(~tcbflag::kInRecovery);
            t.dupacks = 0;
        } else {
            // Partial acknowledgment: resend the first unacknowledged segment, deflate by the amount acked,
            // add back one SMSS, and reset the timer for the first partial ACK only.
            ++ctr_.partial_acks;
            retransmit_first(t);
            t.cwnd = (t.cwnd > acked ? t.cwnd - acked : 0) + mss;
            set_main(t, MainTimer::Rtx, rto_ms(t));
        }
    } else {
        t.dupacks = 0;
        if (t.cwnd < t.ssthresh) {
            t.cwnd += std::min(acked, mss);  // RFC 5681 §3.1 slow start (RFC 3465 L = 1 SMSS)
        } else {
            t.cwnd += std::max<uint32_t>(1, mss * mss / t.cwnd);  // congestion avoidance, eq. (3)
        }
    }
    // Release what the application lent us, once all of it is acknowledged. Only on the ACK that crosses
    // data_end: with a FIN queued tx_len stays set, and the later ACK of the FIN must not say SendDone again.
    const Seq data_end = t.tx_seq + t.tx_len;
    if (t.tx_len != 0 && t.snd_una >= data_end && s.ack - acked < data_end) {
        if (!(t.flags & tcbflag::kFinQueued)) {
            t.tx_seq = data_end;
            t.tx_len = 0;
            t.tx_data = nullptr;
        }
        post(EventKind::SendDone, idx);
    }
    // RFC 6298 §5.2 / §5.3: all acknowledged -> stop the timer; else restart it.
    if (t.snd_una == t.snd_max) {
        if (t.main_timer == MainTimer::Rtx) {
            t.main_timer = MainTimer::None;
            rearm(t);
        }
    } else if (!(t.flags & tcbflag::kInRecovery) || s.ack >= t.recover) {
        set_main(t, MainTimer::Rtx, rto_ms(t));
    }
}

void Stack::on_dup_ack(Tcb& t) {
    ++ctr_.dup_acks_rx;
    const uint32_t mss = eff_mss(t);
    if (t.flags & tcbflag::kInRecovery) {
        t.cwnd += mss;  // RFC 6582 §3.2 step 4: inflate for each additional duplicate ACK
        return;
    }
    if (++t.dupacks != 3) return;
    // RFC 6582 §3.2 step 2: only if the duplicate ACKs cover more than "recover" (no second fast retransmit
    // for losses of the same window).
    if (!(t.snd_una - 1 >= t.recover) && t.recover != t.iss) return;
    ++ctr_.fast_retransmits;
    const uint32_t flight = static_cast<uint32_t>(t.snd_max - t.snd_una);
    t.ssthresh = std::max(flight / 2, 2 * mss);  // RFC 5681 eq. (4)
    t.recover = t.snd_max;
    retransmit_first(t);
    t.cwnd = t.ssthresh + 3 * mss;
    t.flags |= tcbflag::kInRecovery;
}

// Seventh and eighth steps: segment text and FIN. Data is taken only in order, starting at RCV.NXT.
void Stack::process_data_fin(uint32_t idx, const TcpSegment& s) {
    Tcb& t = tcbs_[idx];
    const Seq dseq = s.seq + ((s.flags & SYN) ? 1u : 0u);  // first data octet
    const bool fin = (s.flags & FIN) != 0;
    uint32_t plen = s.payload_len;
    if (plen == 0 && !fin) return;
    if (dseq > t.rcv_nxt) {
        // A hole before this segment: no reassembly queue, so drop and send a duplicate ACK at once
        // (RFC 5681 §4.2: "an immediate ACK SHOULD be generated when an out-of-order segment arrives").
        ++ctr_.ooo_dropped;
        t.flags |= tcbflag::kAckNow;
        return;
    }
    const uint32_t skip = static_cast<uint32_t>(t.rcv_nxt - dseq);  // octets we already have
    bool fin_ok = fin;
    if (plen > skip) {
        uint32_t len = plen - skip;
        // Trim to the right window edge (RFC 9293 §3.10.7.4); a FIN beyond it is not taken either.
        if (len > cfg_.rcv_wnd) {
            len = cfg_.rcv_wnd;
            fin_ok = false;
        }
        switch (t.state) {
        case State::Established:
        case State::FinWait1:
        case State::FinWait2:
            post(EventKind::Data, idx, AbortReason::None, s.payload + skip, len);
            t.rcv_nxt += len;
            // A half-closed connection that is still receiving is alive: the FIN-WAIT-2 timeout (Linux applies
            // it to orphaned sockets only) restarts with every byte that arrives.
            if (t.state == State::FinWait2) set_main(t, MainTimer::FinWait2, cfg_.fin_wait2_timeout_ms);
            ctr_.rx_data_bytes += len;
            // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: ACK at least every second full-sized segment, else delay.
            if (++t.unacked_segs >= 2) {
                t.flags |= tcbflag::kAckNow;
            } else {
                t.flags |= tcbflag::kAckDelayed;
            }
            break;
        case State::CloseWait:
        case State::Closing:
        case State::LastAck:
            // "This should not occur since a FIN has been received from the remote side. Ignore the text."
            return;
        case State::Closed:
        case State::Listen:
        case State::SynSent:
        case State::SynReceived:
        case State::TimeWait: return;
        }
    } else if (plen > 0) {
        t.flags |= tcbflag::kAckNow;  // an old duplicate: tell the sender where we are
    }
    if (!fin_ok) return;
    const Seq fin_seq = dseq + plen;
    if (fin_seq != t.rcv_nxt) {
        // Already have it (a retransmitted FIN: acknowledge again), or it lies beyond data we dropped.
        if (fin_seq + 1 == t.rcv_nxt) t.flags |= tcbflag::kAckNow;
        return;
    }
    // Eighth step: "advance RCV.NXT over the FIN ... and send an acknowledgment for the FIN".
    t.rcv_nxt += 1;
    t.flags |= tcbflag::kAckNow;
    switch (t.state) {
    case State::Established:
        set_state(t, State::CloseWait);
        post(EventKind::PeerFin, idx);
        break;
    case State::FinWait1:
        // Our FIN not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close.
        set_state(t, State::Closing);
        post(EventKind::PeerFin, idx);
        break;
    case State::FinWait2:
        post(EventKind::PeerFin, idx);
        send_ack(t);
        enter_time_wait(idx);
        break;
    case State::Closed:
    case State::Listen:
    case State::SynSent:
    case State::SynReceived:
    case State::CloseWait:
    case State::Closing:
    case State::LastAck:
    case State::TimeWait: break;
    }
}

// TIME-WAIT (RFC 9293 §3.10.7.4 for TIME-WAIT, RFC 6191 for reuse, RFC 1337 optional).
void Stack::tw_input(uint32_t wi, const InSegment& in, const flow::FlowKey& key, uint32_t hash) {
    TwRecord& w = tws_[wi];
    const TcpSegment& s = in.seg;
    const uint8_t f = s.flags;
    const bool ts = w.ts_ok && s.opt.has_ts;
    if ((f & SYN) && !(f & (ACK | RST))) {
        // RFC 6191 §2: a new incarnation may start if its timestamp is newer, or — without timestamps, or with
        // a timestamp equal to the last one (a client reusing the port within the same clock tick) — if its
        // sequence number is beyond what the old one used (RFC 1122 §4.2.2.13). An older timestamp never
        // (PAWS). This is Linux's rule too (tcp_timewait_state_process).
        const int32_t ts_delta = ts ? static_cast<int32_t>(s.opt.tsval - w.ts_recent) : 0;
        const bool newer = ts_delta > 0 || (ts_delta == 0 && s.seq > w.rcv_nxt);
        if (cfg_.tw_reuse && newer && listening(s.dst_port)) {
            ++ctr_.tw_reopened;
            free_tw(wi);
            listen_input(in, key, hash);
            return;
        }
        ++ctr_.tw_acked;  // RFC 5961 §4 / RFC 9293: SYN in a synchronized state -> (challenge) ACK
        emit_tw_ack(w);
        return;
    }
    if (paws_rejects(s, w.ts_ok != 0, w.ts_recent)) {
        ++ctr_.paws_rejected;
        emit_tw_ack(w);
        return;
    }
    if (f & RST) {
        if (cfg_.rfc1337) return;  // RFC 1337 §3 fix (1): ignore RSTs in TIME-WAIT
        if (s.seq == w.rcv_nxt) {
            ++ctr_.tw_rst_killed;
            free_tw(wi);
        } else {
            ++ctr_.rst_out_of_window;
        }
        return;
    }
    // The peer's FIN again: our last ACK was lost. "Acknowledge it, and restart the 2 MSL timeout."
    if ((f & FIN) && s.seq + s.payload_len + 1 == w.rcv_nxt) {
        ++ctr_.tw_fin_reacked;
        emit_tw_ack(w);
        tw_unlink(wi);
        tw_append(wi);
        tw_arm_head();  // the head may have changed
        return;
    }
    // Anything else carrying sequence space or out of window gets an ACK; a bare in-window ACK is dropped.
    if (s.seg_len() != 0 || s.seq != w.rcv_nxt) {
        ++ctr_.tw_acked;
        emit_tw_ack(w);
    }
}

} // namespace synwave::tcp
