// The three-way handshake: LISTEN (RFC 9293 §3.10.7.2), the passive SYN-RECEIVED record and its promotion to
// a Tcb, SYN-SENT (§3.10.7.3), and what the SYN's options settle (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
#include <algorithm>
#include <cassert>
#include <cstddef>

#include "tcp/stack.hpp"

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

// What a SYN's options settle, kept as they are in a Tcb or a SynRecord.
Negotiated Stack::negotiate(const wire::TcpOptions& peer, const flow::FlowKey& key) const {
    Negotiated n;
    // RFC 9293 §3.7.1 (MUST-15): without an MSS option assume 536 over IPv4, 1220 over IPv6; never above our own.
    const uint32_t dflt = flow::AddrTable::is_handle(key.remote_ip) ? 1220u : 536u;
    n.mss = static_cast<uint16_t>(std::clamp<uint32_t>(peer.has_mss ? peer.mss : dflt, 64u, our_mss(key)));
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

// Our side of the sequence space before the SYN leaves: SND.UNA = ISS, data starts at ISS + 1, and RFC 6582's
// "recover" starts at ISS.
void Stack::init_seq(Tcb& t, Seq iss) const {
    t.iss = iss;
    t.snd_una = iss;
    t.recover = iss;
    t.tx_seq = iss + 1;
}

// Entering ESTABLISHED: the send window from the segment that completed the handshake (RFC 9293 §3.10.7.3/4:
// SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK) and the initial congestion window.
void Stack::establish(Tcb& t, const TcpSegment& s, bool scaled) {
    t.snd_wnd = scaled ? (uint32_t{s.window} << t.snd_wscale) : s.window;
    t.max_snd_wnd = t.snd_wnd;
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
    // RFC 6928 / RFC 5681 §3.1: IW = min(10 * MSS, max(2 * MSS, 14600)) for the default of 10 segments.
    const uint32_t mss = eff_mss(t);
    t.cwnd = cfg_.init_cwnd_segs == 10 ? std::min(10 * mss, std::max(2 * mss, 14600u)) : cfg_.init_cwnd_segs * mss;
    t.ssthresh = 0x7FFF'FFFF;  // "arbitrarily high" (RFC 5681 §3.1)
    // The timed SYN (or SYN-ACK) is answered: an RTT sample under Karn's rule, or RFC 6298 §5.7's fallback.
    if (!rtt_sample(t, s.ack) && t.retries) t.rtt.on_syn_loss_fallback();
    t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);
    t.snd_una = s.ack;
    t.retries = 0;
    t.rtt.reset_backoff();
    t.main_timer = MainTimer::None;
    ++ctr_.conn_established;
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
    const uint32_t ri = cookie ? kNoConn : syns_.peek();
    if (ri == kNoConn || !flows_.insert(key, hash, kSynBit | ri)) {
        if (ri != kNoConn) ++ctr_.table_full;
        if (cfg_.cookies != CookieMode::Off) send_cookie_synack(in, key);
        return;
    }
    SynRecord& r = syns_[syns_.take()];
    r.key = key;
    r.hash = hash;
    r.irs = s.seq;
    r.iss = isn_.isn(tuple_of(key), now_);
    r.retries = 0;
    r.resent = 0;
    r.opts = negotiate(s.opt, key);
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

void Stack::free_syn(uint32_t ri, bool erase) {
    SynRecord& r = syns_[ri];
    wheel_.cancel(r.timer);
    if (erase) flows_.erase(r.key, r.hash);
    syns_.give(ri);
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
// half_open_), then segment_arrives() takes it to ESTABLISHED like any SYN-RECEIVED Tcb. kNoConn (counted) if
// the pool is empty: the record stays, and the peer's retransmission may find room.
uint32_t Stack::promote(uint32_t ri) {
    if (tcbs_.empty()) {
        ++ctr_.tcb_pool_empty;
        return kNoConn;
    }
    SynRecord& r = syns_[ri];
    const uint32_t idx = take_tcb(r.key);
    flows_.update(r.key, r.hash, idx);
    Tcb& t = tcbs_[idx];
    t.flags = tcbflag::kPassive;
    apply(t, r.opts);
    init_seq(t, r.iss);
    t.rcv_nxt = r.irs + 1;
    t.snd_nxt = r.iss + 1;
    t.snd_max = r.iss + 1;
    t.retries = r.retries;
    if (r.retries == 0 && !r.resent) {  // Karn: only a SYN-ACK that was never retransmitted is timed
        t.flags |= tcbflag::kTiming;
        t.rtt_seq = r.iss + 1;
        t.rtt_start_us = r.sent_us;
    }
    t.state = State::SynReceived;  // already counted (entered, half_open_) when the record was made
    ++in_state_[static_cast<std::size_t>(State::SynReceived)];  // a Tcb now, no longer a SynRecord
    wheel_.cancel(r.timer);
    syns_.give(ri);
    return idx;
}

// §3.10.7.4 for a passive SYN-RECEIVED record. The segment that completes the handshake (an acceptable ACK of
// our SYN-ACK, no SYN, no RST) promotes the record and runs the Tcb path; everything else is answered from
// the record by the same ladder a SYN-RECEIVED Tcb goes through (check_incoming).
void Stack::synrcvd_input(uint32_t ri, const InSegment& in) {
    SynRecord& r = syns_[ri];
    const TcpSegment& s = in.seg;
    const uint8_t f = s.flags;
    const RcvView view{r.irs + 1, r.opts.ts_recent, (r.opts.flags & tcbflag::kTsOk) != 0};
    if ((f & (ACK | RST | SYN)) == ACK && s.ack == r.iss + 1 &&
        segment_acceptable(s.seq, s.seg_len(), view.rcv_nxt, cfg_.rcv_wnd) &&
        !paws_rejects(s, view.ts_ok, view.ts_recent)) {
        const uint32_t idx = promote(ri);
        if (idx == kNoConn) return;
        settling_ = idx;
        segment_arrives(idx, in);  // an acceptable ACK of our SYN-ACK, PAWS passed: ESTABLISHED from here
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
    switch (check_incoming(s, view)) {
    case Verdict::Accept:
        // An ACK that is not the one of our SYN-ACK: "If the segment acknowledgment is not acceptable, form a
        // reset segment <SEQ=SEG.ACK><CTL=RST>".
        ++ctr_.bad_ack_rst;
        emit_rst(r.key, s.ack, Seq(0), false);
        return;
    case Verdict::Drop: return;
    case Verdict::Ack: emit_syn_record_ack(r); return;
    case Verdict::ChallengeAck:
        if (challenge_allowed()) emit_syn_record_ack(r);
        return;
    case Verdict::Reset:
        // "return this connection to the LISTEN state": the listener is stateless, the record just goes.
        ++ctr_.conn_reset;
        ++ctr_.entered[static_cast<std::size_t>(State::Closed)];
        free_syn(ri, true);
        return;
    }
}

// §3.10.7.3 SYN-SENT.
void Stack::synsent_input(uint32_t idx, const InSegment& in) {
    Tcb& t = tcbs_[idx];
    const TcpSegment& s = in.seg;
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
            end_conn(idx, AbortReason::Refused);
        } else {
            ++ctr_.rst_out_of_window;
        }
        return;
    }
    if (!(s.flags & SYN)) {  // "If neither of the SYN or RST bits is set, then drop the segment"
        ++ctr_.no_ack_dropped;
        return;
    }
    t.rcv_nxt = s.seq + 1;
    apply(t, negotiate(s.opt, t.key));
    if (ack_ok) {
        establish(t, s, false);  // RFC 7323 §2.2: the SYN-ACK's window is not scaled
        set_state(t, State::Established);
        t.flags |= tcbflag::kAckNow;  // "form an ACK segment and send it"
        note(EventKind::Connected, t, idx);
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

} // namespace synwave::tcp
