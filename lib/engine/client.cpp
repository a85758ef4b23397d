#include "engine/client.hpp"

#include <algorithm>
#include <cstring>

namespace synwave::engine {

using tcp::Event;
using tcp::EventKind;

Client::Client(const ClientConfig& cfg, TscRate rate) : cfg_(cfg), rate_(rate) {
    const uint32_t sports = cfg_.sport_lo <= cfg_.sport_hi ? uint32_t{cfg_.sport_hi} - cfg_.sport_lo + 1 : 0;
    const uint32_t srcs4 = cfg_.src_lo.v <= cfg_.src_hi.v ? cfg_.src_hi.v - cfg_.src_lo.v + 1 : 0;
    const auto dports = static_cast<uint32_t>(cfg_.dports.size());
    const TupleDims d4{srcs4, sports, static_cast<uint32_t>(cfg_.dsts.size()), dports};
    const TupleDims d6{cfg_.src6_count, sports, static_cast<uint32_t>(cfg_.dsts6.size()), dports};
    // A family without a tuple opens no connection (and with neither, none at all).
    if (d6.size() == 0) cfg_.v6_share = 0;
    if (d4.size() == 0 && d6.size() != 0) cfg_.v6_share = 1;
    if (d4.size() == 0 && d6.size() == 0) stopped_.store(true, std::memory_order_relaxed);
    dst4_.reserve(cfg_.dsts.size());
    for (const Ipv4& a : cfg_.dsts) dst4_.push_back(a.v);
    space6_ = TupleSpace(d6, cfg_.order, cfg_.tuple_seed ^ 0x6666);  // walked once the handles are known
    has4_ = d4.size() != 0;
    if (has4_)
        walk4_ = TupleWalk(TupleSpace(d4, cfg_.order, cfg_.tuple_seed),
                           TupleMap{cfg_.src_lo.v, cfg_.sport_lo, dst4_.data(), cfg_.dports.data()});
    build_requests();
}

// The handles of our IPv6 sources (consecutive: the worker pinned them in order, or we do it here on a stack of
// our own) and of the destinations. Without them, every connection goes over IPv4.
void Client::enter_v6(tcp::Stack& st) {
    flow::AddrTable& a = st.addrs();
    const bool pinned = a.find(cfg_.src6_lo) != 0;
    bool ok = true;
    for (uint32_t i = 0; i < cfg_.src6_count && ok; ++i) {
        const Ipv6 ip = cfg_.src6_lo.with_low32(cfg_.src6_lo.low32() + i);
        const uint32_t h = pinned ? a.find(ip) : a.pin(ip);
        if (i == 0) src6_base_ = h;
        ok = h != 0 && h == src6_base_ + i;
    }
    for (const Ipv6& d : cfg_.dsts6) {
        dst6_.push_back(a.pin(d));
        ok = ok && dst6_.back() != 0;
    }
    if (!ok) {
        cfg_.v6_share = 0;
        if (!has4_) stopped_.store(true, std::memory_order_relaxed);
        return;
    }
    walk6_ = TupleWalk(space6_, TupleMap{src6_base_, cfg_.sport_lo, dst6_.data(), cfg_.dports.data()});
}

void Client::tick(tcp::Stack& st, Instant now) {
    if (!started_) {
        started_ = true;
        start_ = now;
        last_ = now;
        if (cfg_.v6_share > 0) enter_v6(st);
    }
    if (think_n_ != 0) resume_thinking(st, now);
    if (stopped_.load(std::memory_order_relaxed)) return;
    uint32_t budget = cfg_.launch_burst;
    if (cfg_.rate != 0) {
        // Token bucket at the (ramped) rate; at most one burst of credit is kept so a stall does not
        // turn into a SYN burst (the bursty-launch problem dperf and TRex users report).
        double r = static_cast<double>(cfg_.rate);
        const uint64_t since = rate_.to_ms(now - start_);
        if (cfg_.ramp_ms && since < cfg_.ramp_ms) r = r * static_cast<double>(since + 1) / cfg_.ramp_ms;
        tokens_ += r * static_cast<double>(rate_.to_ns(now - last_)) / 1e9;
        tokens_ = std::min(tokens_, static_cast<double>(cfg_.launch_burst));
        budget = static_cast<uint32_t>(tokens_);
    }
    last_ = now;
    uint32_t tries = 0;
    while (budget > 0) {
        if (cfg_.max_connections && c.conn_attempted >= cfg_.max_connections) {
            stopped_.store(true, std::memory_order_relaxed);
            return;
        }
        if (open_ >= cfg_.concurrency) {
            ++c.launch_limited;
            return;
        }
        if (++tries > cfg_.launch_burst * 64) return;  // tuple space busy: try again next turn
        // The family of this connection: IPv6 for a v6_share of them, spread evenly (an error accumulator).
        bool v6 = false;
        if (cfg_.v6_share > 0) {
            v6_acc_ += cfg_.v6_share;
            if (v6_acc_ >= 1) {
                v6_acc_ -= 1;
                v6 = true;
            }
        }
        // IPv6 addresses are handles in the stack's keys (flow/addr_table.hpp).
        TupleWalk& w = v6 ? walk6_ : walk4_;
        const flow::FlowKey k = w.next();
        // connect() first looks the new 4-tuple up in the flow table: a cache miss on a random bucket that
        // was most of its time. Start loading the bucket of the tuple kAhead steps further on now, so that its
        // connect() finds it in cache (the walk goes on across ticks, so it is always ahead).
        st.prefetch_flow(w.ahead());
        // The server's packets (src = server, dst = us) must hash to our queue.
        if (!v6 && cfg_.rss &&
            cfg_.reta->queue_of(cfg_.rss->hash(k.remote_ip, k.local_ip, k.remote_port, k.local_port)) != cfg_.queue)
            continue;
        if (v6 && cfg_.rss6 &&
            cfg_.reta->queue_of(cfg_.rss6->hash(st.addrs().addr(k.remote_ip), st.addrs().addr(k.local_ip),
                                                k.remote_port, k.local_port)) != cfg_.queue)
            continue;
        uint32_t conn = 0;
        const auto r = st.connect(Ipv4{k.local_ip}, k.local_port, Ipv4{k.remote_ip}, k.remote_port,
                                  static_cast<uint32_t>(c.conn_attempted), now, &conn);
        if (r == tcp::Stack::ConnectResult::Exists) {
            ++c.port_busy;
            continue;
        }
        if (r != tcp::Stack::ConnectResult::Ok) return;  // table or pool full: counted by the stack
        ++c.conn_attempted;
        c.conn_attempted_v6 += v6;
        ++open_;
        --budget;
        if (cfg_.rate != 0) tokens_ -= 1;
        if (conn < slots_.size()) {
            Slot& s = slots_[conn];
            const uint32_t gen = s.gen + 1;
            s = Slot{};
            s.started = now.cycles;
            s.gen = gen;
            s.v6 = v6;
        }
    }
}

void Client::on_event(tcp::Stack& st, const Event& ev) {
    Slot* s = ev.conn < slots_.size() ? &slots_[ev.conn] : nullptr;
    switch (ev.kind) {
    case EventKind::Connected:
        ++c.conn_connected;
        if (s) connect_ns.record(rate_.to_ns(st.now() - Instant{s->started}));
        if (cfg_.send_request) {
            if (s) {
                s->tpl = pick_template();
                send_request(st, ev.conn, *s);
            }
        } else if (cfg_.close == CloseMode::ClientFirst) {
            st.close(ev.conn);
            if (s) s->closed = 1;
        } else if (cfg_.close == CloseMode::Rst) {
            st.abort(ev.conn);
            completed(s);
            --open_;
        }
        break;
    case EventKind::Data:
        c.response_bytes += ev.len;
        if (s) on_data(st, ev.conn, *s, ev.data, ev.len);
        break;
    case EventKind::PeerFin:
        if (s) on_peer_fin(st, ev.conn, *s);
        else st.close(ev.conn);
        break;
    case EventKind::Closed:
        completed(s);
        if (s) ++s->gen;
        --open_;
        break;
    case EventKind::Aborted:
        --open_;
        if (s) ++s->gen;
        if (s && s->closed && ev.reason == tcp::AbortReason::Reset) {
            // The exchange was done and we had closed; only the peer's last ACK was missing (RFC 9293: a
            // segment to no connection gets a RST, so a peer that dropped its state answers our FIN so).
            if (s->fail == Fail::None) ++c.conn_reset_at_close;
            completed(s);
            break;
        }
        ++c.conn_failed;
        if (s) c.conn_failed_v6 += s->v6;
        switch (ev.reason) {
        case tcp::AbortReason::Refused: ++c.conn_failed_refused; break;
        case tcp::AbortReason::Reset: ++c.conn_failed_reset; break;
        case tcp::AbortReason::None:
        case tcp::AbortReason::SynTimeout:
        case tcp::AbortReason::SynAckTimeout:
        case tcp::AbortReason::RtxTimeout:
        case tcp::AbortReason::KeepaliveTimeout:
        case tcp::AbortReason::FinWait2Timeout:
        case tcp::AbortReason::LocalAbort: ++c.conn_failed_timeout; break;
        }
        break;
    case EventKind::SendDone:
        if (s && s->pending) send_request(st, ev.conn, *s);
        break;
    case EventKind::Accepted: break;
    }
}

}  // namespace synwave::engine
