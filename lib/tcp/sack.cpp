// Selective acknowledgment both ways: the SACK blocks our ACKs carry (RFC 2018 §4, from the reassembly
// queue), the peer's blocks kept in a scoreboard (RFC 2018 §5, RFC 6675 §3), loss recovery driven by them
// (RFC 6675 §5: enter on DupThresh duplicate ACKs or IsLost, then send while cwnd - pipe >= 1 SMSS: first the
// lost octets, then new data), and the connection's side record that holds both. Without the peer's blocks
// NewReno (congestion.hpp) decides, as before.
#include <algorithm>

#include "tcp/congestion.hpp"
#include "tcp/stack.hpp"

namespace synwave::tcp {

using wire::TcpSegment;

TcbSide* Stack::side_for(Tcb& t) {
    if (t.side != kNoConn) return &sides_[t.side];
    if (sides_.empty()) {
        ++ctr_.loss_records_empty;
        return nullptr;
    }
    t.side = sides_.take();
    TcbSide& x = sides_[t.side];
    x.ooo = Reassembly::kNone;
    x.ooo_latest = t.rcv_nxt;
    x.sb.clear(t.snd_una);
    return &x;
}

// Given back once it holds nothing: no out-of-order data, no SACKed range, no recovery in progress.
void Stack::side_release_if_idle(Tcb& t) {
    if (t.side == kNoConn) return;
    const TcbSide& x = sides_[t.side];
    if (x.ooo != Reassembly::kNone) return;
    if ((t.flags & tcbflag::kSackBoard) && (x.sb.n != 0 || (t.flags & tcbflag::kInRecovery))) return;
    t.flags &= static_cast<uint16_t>(~tcbflag::kSackBoard);
    sides_.give(t.side);
    t.side = kNoConn;
}

void Stack::side_free(Tcb& t) {
    TcbSide& x = sides_[t.side];
    reasm_.release(x.ooo);
    x.ooo = Reassembly::kNone;
    sides_.give(t.side);
    t.side = kNoConn;
    t.flags &= static_cast<uint16_t>(~(tcbflag::kSackBoard | tcbflag::kOooHeld));
}

// RFC 2018 §4: an ACK sent while out-of-order data is held reports it, the block holding the segment that
// triggered the ACK first; three blocks fit beside the timestamp option, four without it.
void Stack::add_sack_blocks(const Tcb& t, TcpSegment& s) {
    const uint8_t max = (t.flags & tcbflag::kTsOk) ? 3 : 4;
    uint8_t n = 0;
    // RFC 2883 §4: a D-SACK block goes first; the other blocks follow as RFC 2018 orders them.
    if (dsack_conn_ != kNoConn && tcbs_.index_of(&t) == dsack_conn_) {
        s.opt.sack[n++] = wire::SackBlock{dsack_l_, dsack_r_};
        dsack_conn_ = kNoConn;
        ++ctr_.dsack_tx;
    }
    if (t.flags & tcbflag::kOooHeld) {
        const TcbSide& x = sides_[t.side];
        n = static_cast<uint8_t>(n + reasm_.sack_blocks(x.ooo, x.ooo_latest, s.opt.sack + n, static_cast<uint8_t>(max - n)));
    }
    s.opt.num_sack = n;
    ctr_.sack_blocks_tx += n;
}

// The peer's SACK blocks into the scoreboard. Only blocks inside what is outstanding are taken (RFC 2018 §3
// describes blocks of data received above the cumulative ACK; a D-SACK block below it, RFC 2883, says
// nothing the scoreboard needs).
uint32_t Stack::take_sack(Tcb& t, const TcpSegment& s) {
    TcbSide* x = side_for(t);
    if (x == nullptr) return 0;
    if (!(t.flags & tcbflag::kSackBoard)) {
        x->sb.clear(t.snd_una);
        t.flags |= tcbflag::kSackBoard;
    }
    uint32_t newly = 0;
    const uint8_t n = std::min<uint8_t>(s.opt.num_sack, wire::tcpopt::kMaxSackBlocks);
    for (uint8_t i = 0; i < n; ++i) {
        const Seq l = s.opt.sack[i].left, r = s.opt.sack[i].right;
        if (!(t.snd_una < l && l < r && r <= t.snd_max)) continue;
        newly += x->sb.add(l, r);
        ++ctr_.sack_blocks_rx;
    }
    side_release_if_idle(t);
    return newly;
}

// RFC 6675 §5 steps (2) and (4) for a duplicate ACK of a connection whose peer sends SACK blocks. Returns
// false when the peer has sent none (NewReno decides).
bool Stack::sack_on_dup_ack(Tcb& t) {
    if (!(t.flags & tcbflag::kSackBoard)) return false;
    if (t.flags & tcbflag::kInRecovery) return true;  // step (C) runs in output(): pipe decides
    ++t.dupacks;
    const uint32_t mss = eff_mss(t);
    Scoreboard& sb = sides_[t.side].sb;
    // "If DupAcks < DupThresh but IsLost (HighACK + 1) returns true ... go to step (4)".
    if (t.dupacks < Scoreboard::kDupThresh && !(sb.lost_below(t.snd_una, mss) > t.snd_una)) return true;
    // As RFC 6582 §3.2 step 2: no second recovery for losses of a window already recovered (or timed out).
    if (!(t.snd_una - 1 >= t.recover) && t.recover != t.iss) return true;
    // (4.1) RecoveryPoint = HighData; (4.2) ssthresh = cwnd = FlightSize / 2 (RFC 5681 eq. 4's floor).
    t.recover = t.snd_max;
    t.ssthresh = std::max(NewReno::flight_size(t) / 2, 2 * mss);
    t.cwnd = t.ssthresh;
    t.flags |= tcbflag::kInRecovery;
    ++ctr_.sack_recoveries;
    ++ctr_.fast_retransmits;
    // (4.3) the first segment presumed dropped goes at once, whatever the pipe says.
    retransmit_first(t);
    sb.high_rxt = t.snd_una + std::min<uint32_t>(mss, static_cast<uint32_t>(t.snd_max - t.snd_una));
    return true;
}

// An ACK of new data for a connection whose peer sends SACK blocks: the scoreboard drops what it covers. In
// recovery (RFC 6675 §5) it ends once the cumulative ACK covers RecoveryPoint; until then output() sends what
// the pipe allows (no NewReno partial-ACK retransmission) and the timer restarts (RFC 6298 §5.3). Returns false
// outside recovery: NewReno's slow start or congestion avoidance grows the window as for any ACK.
bool Stack::sack_on_new_ack(Tcb& t, Seq ack) {
    sides_[t.side].sb.advance(ack);
    if (!(t.flags & tcbflag::kInRecovery)) {
        side_release_if_idle(t);
        return false;
    }
    if (ack >= t.recover) {
        t.flags &= static_cast<uint16_t>(~tcbflag::kInRecovery);
        t.dupacks = 0;
        side_release_if_idle(t);
    } else {
        set_main(t, MainTimer::Rtx, rto_ms(t));
    }
    return true;
}

// RFC 6675 §5 step (C): while cwnd - pipe >= 1 SMSS, send NextSeg: (1) lost octets not yet retransmitted,
// else (2) new data the peer's window allows. Rule (3), a rescue retransmission of octets not yet deemed
// lost, is left out: the retransmission timer covers that case.
bool Stack::sack_output(Tcb& t) {
    const uint32_t mss = eff_mss(t);
    Scoreboard& sb = sides_[t.side].sb;
    const Seq data_end = t.tx_seq + t.tx_len;
    const bool fin_queued = (t.flags & tcbflag::kFinQueued) != 0;
    bool sent = false;
    while (t.cwnd >= sb.pipe(t.snd_una, t.snd_max, mss) + mss) {
        Seq a, e;
        if (sb.next_lost(t.snd_una, mss, &a, &e)) {
            uint32_t len = 0;
            if (a < data_end) len = std::min<uint32_t>(static_cast<uint32_t>(seq_min(e, data_end) - a), mss);
            const bool fin = fin_queued && a + len == data_end && data_end < e;
            if (len == 0 && !fin) break;
            t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);  // Karn's rule
            send_data(t, a, len, fin);
            sb.high_rxt = a + len + (fin ? 1u : 0u);
            ++ctr_.rtx_segments;
            ++ctr_.sack_rtx;
        } else {
            if (!(t.snd_nxt < data_end || (fin_queued && t.snd_nxt == data_end))) break;
            const int32_t room = (t.snd_una + t.snd_wnd) - t.snd_nxt;
            uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(data_end - t.snd_nxt), mss);
            if (room < static_cast<int32_t>(len)) len = room > 0 ? static_cast<uint32_t>(room) : 0;
            const bool fin = fin_queued && t.snd_nxt + len == data_end;
            if (len == 0 && !fin) break;
            if (t.snd_nxt < t.snd_max) ++ctr_.rtx_segments;
            send_data(t, t.snd_nxt, len, fin);
            t.snd_nxt += len + (fin ? 1u : 0u);
            t.snd_max = seq_max(t.snd_max, t.snd_nxt);
        }
        sent = true;
    }
    return sent;
}

// RFC 8985 §7.2: PTO = 2 SRTT, plus the peer's worst delayed-ACK time when one segment is outstanding (its
// ACK may be held back), at least 10 ms (Linux's floor) and never beyond the RTO.
uint32_t Stack::pto_ms(const Tcb& t) const {
    uint32_t pto = std::max<uint32_t>((t.rtt.srtt_x8() >> 2) / 1000, 10);
    if (NewReno::flight_size(t) <= t.mss) pto += cfg_.delack_ms;
    // Only a PTO at or above the RTO floor can exceed the RTO: the common case skips computing it.
    return pto * 1000 < cfg_.rto.min_us ? pto : std::min(pto, rto_ms(t));
}

void Stack::arm_loss_timer(Tcb& t) {
    if (tlp_eligible(t)) {
        set_main(t, MainTimer::Probe, pto_ms(t));
    } else {
        set_main(t, MainTimer::Rtx, rto_ms(t));
    }
}

// RFC 8985 §7.3: the probe is the last segment sent (no new data is sent instead: a bulk sender whose ACKs all
// stopped is rare, a transfer's lost tail is not). Its ACK carries SACK information that starts recovery, or
// acknowledges everything; the RTO stays armed behind it.
void Stack::on_probe(uint32_t idx) {
    Tcb& t = tcbs_[idx];
    if (t.snd_una == t.snd_max || !(state_bit(t.state) & states::kSending)) return;
    const Seq data_end = t.tx_seq + t.tx_len;
    const bool fin_sent = (t.flags & tcbflag::kFinQueued) && t.snd_max == data_end + 1;
    const Seq end = fin_sent ? data_end : t.snd_max;
    const uint32_t len = std::min<uint32_t>(eff_mss(t), static_cast<uint32_t>(end - t.snd_una));
    ++ctr_.tlp_probes;
    ++ctr_.rtx_segments;
    t.flags |= tcbflag::kTlpSent;
    t.flags &= static_cast<uint16_t>(~tcbflag::kTiming);  // Karn's rule
    send_data(t, end - len, len, fin_sent);
    set_main(t, MainTimer::Rtx, rto_ms(t));
}

// RFC 7323 §4.1: the echoed timestamp of an ACK of new data is an RTT sample even when Karn's rule stopped the
// timed segment (after a retransmission the echo is of the retransmission's TSval, RFC 7323 §4.3). Millisecond
// resolution: our timestamp clock.
void Stack::rtt_ts_sample(Tcb& t, const TcpSegment& s) {
    if (!(t.flags & tcbflag::kTsOk) || !s.opt.has_ts || s.opt.tsecr == 0) return;
    const uint32_t ms = ts_now() - s.opt.tsecr;
    if (ms > cfg_.rto.max_us / 1000) return;  // not an echo of a timestamp of ours
    t.rtt.on_sample(ms * 1000, cfg_.rto);
    ++ctr_.rtt_ts_samples;
}

}  // namespace synwave::tcp
