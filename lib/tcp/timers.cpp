// A Tcb's deadlines and what happens when they pass: retransmission (RFC 6298), zero-window probes (RFC 9293
// §3.8.6.1), keepalive (RFC 1122 §4.2.3.6), the FIN-WAIT-2 timeout and the delayed ACK (RFC 9293 §3.8.6.3).
//
// One wheel node per Tcb, re-armed lazily (as Linux does for its retransmission timer): the deadlines live in
// the record (main_at_ms, delack_at_ms) and change freely; the wheel is touched only when the earliest
// deadline moves before the instant the node is armed for. A node that fires with nothing due re-arms itself
// for the earliest deadline left (counted: timers_stale). A connection that lives a few milliseconds moves its
// node only when a deadline comes earlier than the armed one (an active open: the SYN's RTO, then the first
// data RTO once an RTT sample shortened it) and cancels it once when it ends, however often its RTO restarts.
#include <algorithm>
#include <utility>

#include "tcp/congestion.hpp"
#include "tcp/stack.hpp"

namespace synwave::tcp {

using namespace wire::tcpflag;

namespace {
// TIME_WAIT records freed per expiry of the queue's timer; more due ones wait a tick (bounded work per poll).
constexpr uint32_t kTwExpireBudget = 4096;

// The earliest of a Tcb's deadlines, if any (compared modulo 2^32 on the ms clock).
bool earliest_deadline(const Tcb& t, uint32_t& at) {
    bool any = false;
    if (t.main_timer != MainTimer::None) {
        at = t.main_at_ms;
        any = true;
    }
    if (t.delack_at_ms != 0 && (!any || static_cast<int32_t>(t.delack_at_ms - at) < 0)) {
        at = t.delack_at_ms;
        any = true;
    }
    return any;
}
}  // namespace

void Stack::rearm(Tcb& t) {
    uint32_t at = 0;
    if (!earliest_deadline(t, at)) return;  // an armed node finds nothing due and stops
    if (wheel_.armed(t.timer) && static_cast<int32_t>(at - t.timer_at_ms) >= 0) return;  // fires early enough
    t.timer_at_ms = at;
    wheel_.arm(t.timer, at_ms(at));
}

void Stack::set_main(Tcb& t, MainTimer kind, uint32_t delay_ms) {
    t.main_timer = kind;
    t.main_at_ms = now_ms_ + std::max<uint32_t>(delay_ms, 1);
    rearm(t);
}

uint32_t Stack::poll(Instant now, uint32_t budget) {
    set_now(now);
    return wheel_.advance(now, budget, [this](timer::TimerNode& node) { on_timer(node); });
}

void Stack::on_timer(timer::TimerNode& node) {
    if (&node == &tw_timer_) {
        tw_expire(kTwExpireBudget);  // each record counted by tw_expired
        return;
    }
    if (syns_.holds(&node)) {
        ++ctr_.timers_fired;
        syn_timer(syns_.index_of(&node));
        return;
    }
    tcb_timer(tcbs_.index_of(&node));
    if (disp_.what != 0) {  // the connection ended on a timeout
        deliver(std::exchange(disp_, Disposition{}));
        release_delivered();
    }
}

void Stack::tcb_timer(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    const bool delack_due = t.delack_at_ms != 0 && static_cast<int32_t>(now_ms_ - t.delack_at_ms) >= 0;
    const bool main_due = t.main_timer != MainTimer::None && static_cast<int32_t>(now_ms_ - t.main_at_ms) >= 0;
    if (!delack_due && !main_due) {
        ++ctr_.timers_stale;
        rearm(t);
        return;
    }
    ++ctr_.timers_fired;
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
        case MainTimer::Probe:
            on_probe(idx);
            break;
        case MainTimer::Rtx:
            on_rto(idx);
            if (t.state == State::Closed) return;
            break;
        case MainTimer::Persist: {
            // RFC 9293 §3.8.6.1: probe the zero window; Linux style, a segment just below SND.UNA that the
            // receiver must answer with its current window. The connection stays open as long as the receiver
            // answers; one that stops answering ends after retries2 unanswered probes (Linux's
            // tcp_probe_timer), or a vanished peer would pin the Tcb for ever (a closed one in FIN-WAIT-1 too).
            if (t.retries >= cfg_.retries2) {
                ++ctr_.rtx_abort;
                end_conn(idx, AbortReason::RtxTimeout);
                return;
            }
            ++t.retries;
            ++ctr_.zero_window_probes;
            send_probe(t);
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
                end_conn(idx, AbortReason::KeepaliveTimeout);
                return;
            }
            ++t.ka_probes_sent;
            ++ctr_.keepalive_probes;
            send_probe(t);
            set_main(t, MainTimer::Keepalive, cfg_.ka_intvl_ms);
            break;
        case MainTimer::FinWait2:
            ++ctr_.fin_wait2_timeouts;
            end_conn(idx, AbortReason::FinWait2Timeout);
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
            end_conn(idx, AbortReason::SynTimeout);
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
                end_conn(idx, AbortReason::SynAckTimeout);
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
    // An orphan (the application closed: only the peer's acknowledgment of our last data and FIN is awaited)
    // is Linux's SOCK_DEAD socket. A peer that gave up on the connection without a RST that fits our window
    // (a load generator's RST with SEQ 0, say) leaves it retransmitting for retries2 backoffs, minutes, while
    // it holds a TCB and blocks its 4-tuple: under a rude client such orphans fill the pool and the listener
    // cannot accept (tcb_pool_empty). As Linux does, orphans get fewer retries (tcp_orphan_retries) and, once
    // TCBs run short, one timing out is reset and freed instead of retransmitted (tcp_out_of_resources: "too
    // many orphaned sockets"; the RST tells a peer that is still there).
    if (t.flags & tcbflag::kFinQueued) {
        if (tcbs_.used() >= cfg_.max_conns - cfg_.max_conns / 4) {
            ++ctr_.rtx_abort;
            ++ctr_.orphan_pressure_abort;
            emit_rst(t.key, t.snd_max, t.rcv_nxt, true);  // SEQ=SND.NXT as Linux sends it (never rewound there)
            end_conn(idx, AbortReason::RtxTimeout);
            return;
        }
        if (t.retries >= cfg_.orphan_retries) {
            ++ctr_.rtx_abort;
            ++ctr_.orphan_rtx_abort;
            end_conn(idx, AbortReason::RtxTimeout);
            return;
        }
    }
    if (t.retries >= cfg_.retries2) {
        ++ctr_.rtx_abort;
        end_conn(idx, AbortReason::RtxTimeout);
        return;
    }
    ++ctr_.rto_expired;
    ++t.retries;
    t.rtt.backoff();
    NewReno::on_timeout(t, eff_mss(t));
    // RFC 2018 §8: after a retransmission timeout the SACKed bits are turned off (the receiver may renege).
    if (t.flags & tcbflag::kSackBoard) {
        t.flags &= static_cast<uint16_t>(~tcbflag::kSackBoard);
        side_release_if_idle(t);
    }
    t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);  // Karn's rule
    t.snd_nxt = t.snd_una;  // go back N: resend from the first unacknowledged octet
    output(t);
    set_main(t, MainTimer::Rtx, rto_ms(t));
}

} // namespace synwave::tcp
