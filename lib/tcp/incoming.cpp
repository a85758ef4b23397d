// A segment on a synchronized connection (RFC 9293 §3.10.7.4: SYN-RECEIVED with a Tcb and every later state
// but TIME-WAIT): the acceptability ladder shared with the SYN-RECEIVED record, then the ACK, text and FIN
// steps.
#include <algorithm>

#include "tcp/congestion.hpp"
#include "tcp/stack.hpp"

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

// RFC 9293 §3.10.7.4 first to fifth step, with RFC 7323 §5.3 PAWS before the sequence test and RFC 5961's
// answers to in-window RSTs (§3.2) and SYNs (§4). One ladder for a Tcb and a SynRecord; each answers the
// verdict with its own segments. Every rejection is counted here.
Stack::Verdict Stack::check_incoming(const TcpSegment& s, const RcvView& v) {
    const uint8_t f = s.flags;
    if (paws_rejects(s, v.ts_ok, v.ts_recent)) {  // an older TSval marks an old duplicate
        ++ctr_.paws_rejected;
        return Verdict::Ack;
    }
    // First: sequence number acceptability (the four cases, core/seq.hpp).
    if (!segment_acceptable(s.seq, s.seg_len(), v.rcv_nxt, cfg_.rcv_wnd)) {
        if (f & RST) {  // "unless the RST bit is set, if so drop the segment and return"
            ++ctr_.rst_out_of_window;
            return Verdict::Drop;
        }
        if (f & SYN) {  // RFC 5961 §4: a SYN, whatever its sequence number, gets a challenge ACK
            ++ctr_.syn_in_synchronized;
            return Verdict::ChallengeAck;
        }
        ++ctr_.unacceptable_seq;
        return Verdict::Ack;
    }
    // Second: RST (RFC 5961 §3.2): only an exact match resets; in-window elsewhere gets a challenge ACK.
    if (f & RST) {
        if (s.seq != v.rcv_nxt) {
            ++ctr_.rst_in_window;
            return Verdict::ChallengeAck;
        }
        return Verdict::Reset;
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4; RFC 9293 MUST-... challenge ACK).
    if (f & SYN) {
        ++ctr_.syn_in_synchronized;
        return Verdict::ChallengeAck;
    }
    // Fifth: no ACK, no processing.
    if (!(f & ACK)) {
        ++ctr_.no_ack_dropped;
        return Verdict::Drop;
    }
    return Verdict::Accept;
}

void Stack::segment_arrives(uint32_t idx, const InSegment& in) {
    Tcb& t = tcbs_[idx];
    const TcpSegment& s = in.seg;
    // A duplicate of the SYN that created this SYN-RECEIVED TCB means our SYN-ACK was lost: answer it again
    // (as Linux's tcp_check_req) rather than with the bare ACK the acceptability test would produce.
    if (t.state == State::SynReceived && (s.flags & SYN) && !(s.flags & (ACK | RST)) && s.seq == t.irs_before_data()) {
        ++ctr_.synack_rtx;
        emit_syn(t, true);
        return;
    }
    switch (check_incoming(s, RcvView{t.rcv_nxt, t.ts_recent, (t.flags & tcbflag::kTsOk) != 0})) {
    case Verdict::Accept: break;
    case Verdict::Drop: return;
    case Verdict::Ack:
        // A whole segment below RCV.NXT: a retransmission of what arrived already (RFC 2883 §4.1.1).
        if (s.payload_len != 0 && s.seq + s.payload_len <= t.rcv_nxt) note_dsack(t, s.seq, s.seq + s.payload_len);
        send_ack(t);
        return;
    case Verdict::ChallengeAck: challenge_ack(t); return;
    case Verdict::Reset:
        if (t.state == State::SynReceived && (t.flags & tcbflag::kPassive)) {
            // "If this connection was initiated with a passive OPEN, then return this connection to the LISTEN
            // state": the listener is stateless, so the TCB just goes; the app never saw it.
            ++ctr_.conn_reset;
            free_tcb(idx, true);
            return;
        }
        if (t.state == State::SynReceived) {
            ++ctr_.conn_refused;
            end_conn(idx, AbortReason::Refused);
            return;
        }
        ++ctr_.conn_reset;
        end_conn(idx, AbortReason::Reset);
        return;
    }
    // RFC 7323 §4.3: TS.Recent <- SEG.TSval if SEG.SEQ =< Last.ACK.sent (rcv_nxt before this segment).
    if ((t.flags & tcbflag::kTsOk) && s.opt.has_ts && s.seq <= t.rcv_nxt) t.ts_recent = s.opt.tsval;
    if (!process_ack(idx, s)) return;
    // Sixth (URG) is ignored. Seventh and eighth: text and FIN.
    process_data_fin(idx, s);
}

// Fifth step: the ACK field. False when the segment's processing ends here (the connection is gone, or the
// ACK was answered instead of taken).
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
        establish(t, s, true);
        set_state(t, (t.flags & tcbflag::kFinQueued) ? State::FinWait1 : State::Established);
        note((t.flags & tcbflag::kPassive) ? EventKind::Accepted : EventKind::Connected, t, idx);
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
    // RFC 6675 §5: "Upon the receipt of any ACK containing SACK information, the scoreboard MUST be updated".
    const uint32_t newly_sacked = (s.opt.num_sack != 0 && (t.flags & tcbflag::kSackOk)) ? take_sack(t, s) : 0;
    if (t.main_timer == MainTimer::Persist) t.retries = 0;  // a probe answered: the receiver is there
    if (t.snd_una < s.ack) {
        on_new_ack(t, s, static_cast<uint32_t>(s.ack - t.snd_una), idx);
    } else if (s.ack == t.snd_una && t.snd_max != t.snd_una &&
               (newly_sacked != 0 || (s.payload_len == 0 && !(s.flags & FIN) && wnd == t.snd_wnd))) {
        // A duplicate ACK: RFC 5681 §2's definition, or RFC 6675 §2's (it SACKs octets not SACKed before).
        on_dup_ack(t);
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
        }
    }
    if (!(t.flags & tcbflag::kFinQueued) || t.snd_una != t.tx_seq + t.tx_len + 1) return true;
    // Our FIN is acknowledged.
    switch (t.state) {
    case State::FinWait1:
        // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now acknowledged,
        // then enter FIN-WAIT-2".
        set_state(t, State::FinWait2);
        set_main(t, MainTimer::FinWait2, cfg_.fin_wait2_timeout_ms);
        return true;
    case State::Closing:  // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"
        enter_time_wait(idx);
        return false;
    case State::LastAck:  // "If our FIN is now acknowledged, delete the TCB, enter the CLOSED state"
        closed_conn(idx);
        return false;
    case State::Closed:
    case State::Listen:
    case State::SynSent:
    case State::SynReceived:
    case State::Established:
    case State::FinWait2:
    case State::CloseWait:
    case State::TimeWait: return true;
    }
    return true;
}

void Stack::on_new_ack(Tcb& t, const TcpSegment& s, uint32_t acked, uint32_t idx) {
    if (rtt_sample(t, s.ack)) {
        t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
    } else if ((t.flags & (tcbflag::kTiming | tcbflag::kTsOk)) == tcbflag::kTsOk &&
               ((t.flags & (tcbflag::kInRecovery | tcbflag::kTlpSent)) || t.rtt.backoff_shift() != 0)) {
        rtt_ts_sample(t, s);  // Karn's rule stopped the timing of a retransmitted flight: the echo still tells
    }
    t.snd_una = s.ack;
    t.flags &= static_cast<uint16_t>(~tcbflag::kTlpSent);
    if (t.snd_nxt < t.snd_una) t.snd_nxt = t.snd_una;
    t.retries = 0;
    t.rtt.reset_backoff();
    const bool sack_decided = (t.flags & tcbflag::kSackBoard) && sack_on_new_ack(t, s.ack);
    if (!sack_decided && NewReno::on_new_ack(t, s.ack, acked, eff_mss(t))) {
        ++ctr_.partial_acks;
        retransmit_first(t);
        set_main(t, MainTimer::Rtx, rto_ms(t));  // RFC 6582 §3.2 step 5: reset the timer on a partial ACK
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
        note(EventKind::SendDone, t, idx);
    }
    // RFC 6298 §5.2 / §5.3: all acknowledged -> stop the timer; else restart it.
    if (t.snd_una == t.snd_max) {
        stop_main(t, MainTimer::Rtx);
        stop_main(t, MainTimer::Probe);
    } else if (!(t.flags & tcbflag::kInRecovery)) {
        arm_loss_timer(t);
    }
}

void Stack::on_dup_ack(Tcb& t) {
    ++ctr_.dup_acks_rx;
    if (sack_on_dup_ack(t)) return;
    if (!NewReno::on_dup_ack(t, eff_mss(t))) return;
    ++ctr_.fast_retransmits;
    retransmit_first(t);
}

// Seventh and eighth steps: segment text and FIN. Data is taken only in order, starting at RCV.NXT.
void Stack::process_data_fin(uint32_t idx, const TcpSegment& s) {
    Tcb& t = tcbs_[idx];
    const Seq dseq = s.seq + ((s.flags & SYN) ? 1u : 0u);  // first data octet
    const bool fin = (s.flags & FIN) != 0;
    const uint32_t plen = s.payload_len;
    if (plen == 0 && !fin) return;
    if (dseq > t.rcv_nxt) {
        // A hole before this segment: held for later (RFC 9293 §3.10.7.4), and a duplicate ACK at once (RFC
        // 5681 §4.2: "an immediate ACK SHOULD be generated when an out-of-order segment arrives").
        t.flags |= tcbflag::kAckNow;
        if (state_bit(t.state) & states::kReceiving) queue_ooo(t, s, dseq, fin);
        return;
    }
    const uint32_t skip = static_cast<uint32_t>(t.rcv_nxt - dseq);  // octets we already have
    bool fin_ok = fin;
    if (plen > skip) {
        // "This should not occur since a FIN has been received from the remote side. Ignore the text."
        if (!(state_bit(t.state) & states::kReceiving)) return;
        if (skip != 0) note_dsack(t, dseq, t.rcv_nxt);  // its first octets arrived before (RFC 2883 §4.1.1)
        uint32_t len = plen - skip;
        // Trim to the right window edge (RFC 9293 §3.10.7.4); a FIN beyond it is not taken either.
        if (len > cfg_.rcv_wnd) {
            len = cfg_.rcv_wnd;
            fin_ok = false;
        }
        note(EventKind::Data, t, idx);
        disp_.data = s.payload + skip;
        disp_.len = len;
        t.rcv_nxt += len;
        if (t.flags & tcbflag::kOooHeld) {
            // RFC 5681 §4.2: a segment that fills all or part of a gap is acknowledged at once.
            t.flags |= tcbflag::kAckNow;
            take_in_order(idx, &fin_ok);
        }
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
    } else if (plen > 0) {
        t.flags |= tcbflag::kAckNow;  // an old duplicate: tell the sender where we are
        note_dsack(t, dseq, dseq + plen);
    }
    if (!fin_ok) return;
    const Seq fin_seq = ready_ != Reassembly::kNone ? t.rcv_nxt : dseq + plen;
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
        note(EventKind::PeerFin, t, idx);
        break;
    case State::FinWait1:
        // Our FIN not yet acknowledged (else we would be in FIN-WAIT-2): simultaneous close.
        set_state(t, State::Closing);
        note(EventKind::PeerFin, t, idx);
        break;
    case State::FinWait2:
        note(EventKind::PeerFin, t, idx);
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

// What the reassembly queue holds from the new RCV.NXT on goes to the application after the segment's own
// octets (RFC 9293 §3.10.7.4: "process any segments ... held for later processing"), and an ACK goes at once
// (RFC 5681 §4.2: a segment that fills in all or part of a gap). `*fin` becomes whether the peer's FIN
// follows what is now in order.
void Stack::take_in_order(uint32_t idx, bool* fin) {
    Tcb& t = tcbs_[idx];
    TcbSide& x = sides_[t.side];
    Seq end;
    bool f = false;
    const uint32_t chain = reasm_.take_ready(x.ooo, t.rcv_nxt, &end, &f);
    if (chain == Reassembly::kNone) return;
    ready_ = chain;
    ready_from_ = t.rcv_nxt;
    if (x.ooo == Reassembly::kNone) t.flags &= static_cast<uint16_t>(~tcbflag::kOooHeld);
    if (t.rcv_nxt < end) {
        const uint32_t more = static_cast<uint32_t>(end - t.rcv_nxt);
        ctr_.rx_data_bytes += more;
        ctr_.ooo_delivered_bytes += more;
        t.rcv_nxt = end;
    }
    *fin = f;
    t.flags |= tcbflag::kAckNow;
    side_release_if_idle(t);
}

// An out-of-order segment: what of it lies inside the window is copied into the connection's queue.
void Stack::queue_ooo(Tcb& t, const TcpSegment& s, Seq dseq, bool fin) {
    const uint32_t room = static_cast<uint32_t>((t.rcv_nxt + cfg_.rcv_wnd) - dseq);
    const uint32_t len = std::min<uint32_t>(s.payload_len, room);
    const bool f = fin && len == s.payload_len;
    if (len == 0 && !f) return;
    TcbSide* x = side_for(t);
    if (x == nullptr) {
        ++ctr_.ooo_dropped;
        return;
    }
    const Reassembly::Stored st = reasm_.insert(x->ooo, dseq, s.payload, len, f);
    x->ooo_latest = dseq;
    if (x->ooo != Reassembly::kNone) t.flags |= tcbflag::kOooHeld;
    if (st.full) ++ctr_.ooo_dropped;
    if (st.bytes == 0 && !st.full) note_dsack(t, dseq, dseq + len);  // all of it held already (RFC 2883 §4.1.2)
    if (st.bytes != 0) ++ctr_.ooo_queued;
    side_release_if_idle(t);
}

} // namespace synwave::tcp
