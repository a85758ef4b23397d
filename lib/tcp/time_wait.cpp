// TIME-WAIT as a small record (RFC 9293 §3.6.1, §3.10.7.4 for TIME-WAIT; RFC 6191 for reuse by a new SYN;
// RFC 1337 as an option) and the FIFO of records that expire 2MSL after their last (re)start.
#include "tcp/stack.hpp"

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

void Stack::enter_time_wait(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    if (tws_.empty()) {
        // Like Linux's "time wait bucket table overflow": the connection closes without TIME_WAIT.
        ++ctr_.tw_pool_full;
        closed_conn(idx);
        return;
    }
    ++ctr_.conn_closed;
    const uint32_t wi = tws_.take();
    TwRecord& w = tws_[wi];
    w.key = t.key;
    w.hash = flows_.hash_of(t.key);
    w.snd_nxt = t.snd_max;
    w.rcv_nxt = t.rcv_nxt;
    w.ts_recent = t.ts_recent;
    w.ts_ok = (t.flags & tcbflag::kTsOk) ? 1 : 0;
    w.rcv_wscale = t.rcv_wscale;
    flows_.update(w.key, w.hash, kTwBit | wi);  // the Tcb's entry now names the record
    tw_append(wi);
    set_state(t, State::TimeWait);
    ++ctr_.tw_entered;
    note(EventKind::Closed, t, idx);
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
    flows_.erase(w.key, w.hash);
    tws_.give(wi);
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
            flows_.prefetch(tws_[n1].key, tws_[n1].hash);
            if (const uint32_t n2 = tws_[n1].next; n2 != kNoConn) prefetch_read(&tws_[n2]);
        }
        ++ctr_.tw_expired;  // RFC 9293 §3.10.8: "When the time-wait timeout expires ... delete the TCB"
        release_tw(wi);     // the queue's timer is re-armed once, below
    }
    tw_arm_head();
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
