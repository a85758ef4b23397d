// What leaves: the one decision of what a connection sends now (RFC 9293 §3.8.6, RFC 5681 §3.1), and the
// construction of every segment the stack emits (data, SYN, SYN-ACK, ACK, RST, TIME_WAIT's ACK).
#include <algorithm>

#include "tcp/stack.hpp"

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

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
    s->window = adv_window(t.rcv_wscale);
    if (t.flags & tcbflag::kTsOk) add_ts(*s, t.ts_recent);
    if (((t.flags & tcbflag::kOooHeld) || dsack_conn_ != kNoConn) && (t.flags & tcbflag::kSackOk))
        add_sack_blocks(t, *s);
    s->payload = data;
    s->payload_len = len;
    ctr_.tx_data_bytes += len;
    if (flags & ACK) {
        t.flags &= static_cast<uint16_t>(~(tcbflag::kAckNow | tcbflag::kAckDelayed));
        t.unacked_segs = 0;
        t.delack_at_ms = 0;
    }
}

// One segment from the send buffer: `len` octets from `seq` (PSH on the buffer's last octet), FIN after them
// when `fin`.
void Stack::send_data(Tcb& t, Seq seq, uint32_t len, bool fin) {
    uint8_t fl = ACK;
    if (len != 0 && seq + len == t.tx_seq + t.tx_len) fl |= PSH;
    if (fin) fl |= FIN;
    emit(t, fl, seq, len ? t.tx_data + static_cast<uint32_t>(seq - t.tx_seq) : nullptr, len);
}

// A SYN or SYN-ACK: the window is never scaled in it (RFC 7323 §2.2) and it carries our MSS (RFC 9293 §3.7.1).
TcpSegment* Stack::new_syn(const flow::FlowKey& k, uint8_t flags, Seq seq, Seq ack) {
    TcpSegment* s = new_segment(k, flags, seq, ack);
    if (!s) return nullptr;
    s->window = static_cast<uint16_t>(std::min<uint32_t>(cfg_.rcv_wnd, 0xFFFF));
    s->opt.has_mss = true;
    s->opt.mss = our_mss(k);
    return s;
}

// A SYN-ACK's options: only what the peer's SYN offered and we allow (`negotiated`: tcbflag::kTsOk | kSackOk |
// kWsOk), RFC 7323 §1.3 and RFC 2018 §2.
void Stack::synack_options(TcpSegment& s, uint8_t negotiated, uint32_t tsecr) const {
    s.opt.sack_permitted = (negotiated & tcbflag::kSackOk) != 0;
    if (negotiated & tcbflag::kTsOk) add_ts(s, tsecr);
    if (negotiated & tcbflag::kWsOk) {
        s.opt.has_wscale = true;
        s.opt.wscale = rcv_wscale_;
    }
}

void Stack::emit_syn(Tcb& t, bool with_ack) {
    TcpSegment* s = new_syn(t.key, with_ack ? (SYN | ACK) : SYN, t.iss, t.rcv_nxt);
    if (!s) return;
    if (!with_ack) {  // active open: offer everything configured
        s->opt.sack_permitted = cfg_.sack;
        if (cfg_.timestamps) add_ts(*s, 0);
        if (cfg_.window_scale) {
            s->opt.has_wscale = true;
            s->opt.wscale = rcv_wscale_;
        }
    } else {
        synack_options(*s, static_cast<uint8_t>(t.flags & (tcbflag::kTsOk | tcbflag::kSackOk | tcbflag::kWsOk)),
                       t.ts_recent);
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

// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> from a record.
void Stack::emit_synack(const SynRecord& r) {
    TcpSegment* s = new_syn(r.key, SYN | ACK, r.iss, r.irs + 1);
    if (s) synack_options(*s, r.opts.flags, r.opts.ts_recent);
}

void Stack::emit_syn_record_ack(const SynRecord& r) {
    TcpSegment* s = new_segment(r.key, ACK, r.iss + 1, r.irs + 1);
    if (!s) return;
    // Scaled once the SYN-ACK has offered our shift (the peer, now ESTABLISHED, scales this field).
    s->window = adv_window((r.opts.flags & tcbflag::kWsOk) ? rcv_wscale_ : 0);
    if (r.opts.flags & tcbflag::kTsOk) add_ts(*s, r.opts.ts_recent);
}

// A reset for the 4-tuple `k` (local = us): <SEQ=seq><CTL=RST>, or with ACK=ack when with_ack.
void Stack::emit_rst(const flow::FlowKey& k, Seq seq, Seq ack, bool with_ack) {
    (void)new_segment(k, with_ack ? (RST | ACK) : RST, seq, ack);
}

void Stack::emit_tw_ack(const TwRecord& w) {
    TcpSegment* s = new_segment(w.key, ACK, w.snd_nxt, w.rcv_nxt);
    if (!s) return;
    s->window = adv_window(w.rcv_wscale);
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
void Stack::output(Tcb& t) {
    if (!(state_bit(t.state) & states::kSending)) {
        // FIN-WAIT-2 sends nothing of its own but may owe an ACK; the handshake states send from their paths.
        if (t.state == State::FinWait2 && (t.flags & tcbflag::kAckNow)) send_ack(t);
        return;
    }
    const Seq data_end = t.tx_seq + t.tx_len;
    const bool fin_queued = (t.flags & tcbflag::kFinQueued) != 0;
    bool sent = false;
    const bool sack_rec = sack_recovery(t);
    if (sack_rec) {
        sent = sack_output(t);
    } else if (t.snd_nxt < data_end) {
        const uint32_t mss = eff_mss(t);
        // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment beyond cwnd go,
        // so that a small window still draws the duplicate ACKs that fast retransmit needs.
        const uint32_t lt = (t.flags & tcbflag::kInRecovery) || t.dupacks > 2 ? 0 : t.dupacks * mss;
        const Seq limit = t.snd_una + std::min(t.snd_wnd, t.cwnd + lt);
        do {
            const uint32_t avail = static_cast<uint32_t>(data_end - t.snd_nxt);
            const int32_t room = limit - t.snd_nxt;
            if (room <= 0) break;
            const uint32_t len = std::min({avail, mss, static_cast<uint32_t>(room)});
            // RFC 9293 §3.8.6.2.1 sender SWS avoidance: with data in flight, hold back a runt segment that
            // the window, not the data, cut short; the next ACK opens the window.
            if (len < mss && len < avail && t.snd_nxt != t.snd_una) break;
            const bool fin = fin_queued && t.snd_nxt + len == data_end;
            if (t.snd_nxt < t.snd_max) {
                ++ctr_.rtx_segments;
            } else if (!(t.flags & tcbflag::kTiming)) {
                t.flags |= tcbflag::kTiming;
                t.rtt_seq = t.snd_nxt + len;
                t.rtt_start_us = now_us_;
            }
            send_data(t, t.snd_nxt, len, fin);
            t.snd_nxt += len + (fin ? 1 : 0);
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
            sent = true;
            if (fin) break;
        } while (t.snd_nxt < data_end);
    }
    if (fin_queued && t.snd_nxt == data_end && !sack_rec) {  // FIN alone (it needs no window, RFC 9293 §3.8.6)
        if (t.snd_nxt < t.snd_max) ++ctr_.rtx_segments;
        send_data(t, data_end, 0, true);
        t.snd_nxt = data_end + 1;
        t.snd_max = seq_max(t.snd_max, t.snd_nxt);
        sent = true;
    }
    if (sent) {
        // RFC 6298 §5.1: start the timer when data is sent and it is not running (the probe's, RFC 8985 §7.2,
        // when eligible). Every ACK of new data restarts it (on_new_ack), so it is not restarted per segment.
        if (t.main_timer != MainTimer::Rtx && t.main_timer != MainTimer::Probe) arm_loss_timer(t);
        return;
    }
    if (t.flags & tcbflag::kAckNow) send_ack(t);
    // Zero window with data waiting and nothing in flight: probe (RFC 9293 §3.8.6.1).
    if (t.snd_wnd == 0 && t.snd_nxt < data_end && t.snd_una == t.snd_max && t.main_timer != MainTimer::Persist)
        set_main(t, MainTimer::Persist, rto_ms(t));
}

// The first unacknowledged segment again (fast retransmit, partial ACK); Karn's rule stops the RTT timing.
void Stack::retransmit_first(Tcb& t) {
    const Seq data_end = t.tx_seq + t.tx_len;
    const bool fin_queued = (t.flags & tcbflag::kFinQueued) != 0;
    t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
    ++ctr_.rtx_segments;
    if (t.snd_una < data_end) {
        const uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(data_end - t.snd_una), eff_mss(t));
        send_data(t, t.snd_una, len, fin_queued && t.snd_una + len == data_end);
    } else if (fin_queued) {
        send_data(t, data_end, 0, true);
    }
}

} // namespace synwave::tcp
