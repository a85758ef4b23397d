// SYN cookies on the listener's path (RFC 4987 §3.6; the encoding itself is tcp/syncookie.hpp): a SYN answered
// without any state, and the ACK that proves it saw our SYN-ACK turned straight into an ESTABLISHED Tcb.
#include <algorithm>

#include "tcp/stack.hpp"

namespace synwave::tcp {

using namespace wire::tcpflag;
using wire::TcpSegment;

void Stack::send_cookie_synack(const InSegment& in, const flow::FlowKey& key) {
    const TcpSegment& s = in.seg;
    const CookieIsn c = cookies_.make(tuple_of(key), s.seq, s.opt.has_mss ? s.opt.mss : 536, cookie_count(now_, rate_));
    TcpSegment* rp = new_syn(key, SYN | ACK, c.isn, s.seq + 1);
    if (!rp) return;
    TcpSegment& r = *rp;
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
    init_seq(t, s.ack - 1);
    t.snd_nxt = s.ack;
    t.snd_max = s.ack;
    t.rcv_nxt = s.seq;
    t.mss = static_cast<uint16_t>(std::min<uint32_t>(*mss, our_mss(key)));
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
    establish(t, s, true);
    set_state(t, State::Established);
    settling_ = idx;
    note(EventKind::Accepted, t, idx);
    process_data_fin(idx, s);
}

} // namespace synwave::tcp
