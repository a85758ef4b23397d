#include "engine/flood.hpp"

#include <algorithm>

#include <rte_mbuf.h>

#include "engine/worker.hpp"
#include "io/mbuf.hpp"

namespace synwave::engine {

namespace {
// What our SYN offers, as a Linux SYN does (window 64240 = 44 x 1460, as Linux's first window for that MSS).
constexpr uint16_t kMss = 1460;
constexpr uint8_t kWscale = 7;
// The low 6 bits of a cookie SYN-ACK's TSval for that SYN: wscale | SACK-permitted << 4, no ECN (RFC 7323
// timestamps carry what the 32-bit cookie cannot; the layout of Linux's cookie_init_timestamp()).
constexpr uint32_t kCookieTsLow = kWscale | (1u << 4);
constexpr uint32_t kTsLowMask = 0x3F;

uint64_t mix(uint64_t z) {  // SplitMix64's finalizer
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
    return z ^ (z >> 31);
}

// An index in [0, n) from 32 random bits, without a division (Lemire's multiply-shift).
uint32_t below(uint32_t r, uint64_t n) { return static_cast<uint32_t>((uint64_t{r} * n) >> 32); }
}  // namespace

const char* flood_kind_name(FloodKind k) {
    switch (k) {
    case FloodKind::None: return "none";
    case FloodKind::Syn: return "syn";
    case FloodKind::SynAck: return "syn-ack";
    case FloodKind::Ack: return "ack";
    case FloodKind::Rst: return "rst";
    }
    return "?";
}

Flood::Flood(const FloodConfig& cfg, TscRate rate, Instant now) : cfg_(cfg), rate_(rate), last_(now) {
    naddr_ = cfg.src_lo.v <= cfg.src_hi.v ? uint64_t{cfg.src_hi.v} - cfg.src_lo.v + 1 : 0;
    nport_ = cfg.sport_lo <= cfg.sport_hi ? uint64_t{cfg.sport_hi} - cfg.sport_lo + 1 : 0;
    space_ = naddr_ * nport_;
    cfg_.burst = std::clamp<uint32_t>(cfg.burst, 1, 64);
    rng_ = mix(cfg.seed + 0x9E37'79B9'7F4A'7C15ULL) | 1;  // never 0 for xorshift
    key_ = mix(cfg.seed ^ 0x5EED'F100'D000'0000ULL);
}

uint32_t Flood::due(Instant now) {
    if (stopped() || space_ == 0 || cfg_.kind == FloodKind::None) return 0;
    if (cfg_.rate == 0) return cfg_.burst;
    const uint64_t dt = now.cycles - last_.cycles;
    last_ = now;
    // At most 10 ms of frames (or two bursts) owed: a slow turn (a loaded CPU, a syscall per frame on
    // af_packet) is made up by the next ones, a long stall is not sent as one backlog.
    const double cap = std::max(2.0 * cfg_.burst, static_cast<double>(cfg_.rate) / 100.0);
    tokens_ = std::min(tokens_ + static_cast<double>(dt) * static_cast<double>(cfg_.rate) /
                                     static_cast<double>(rate_.hz),
                       cap);
    const uint32_t n = std::min(static_cast<uint32_t>(tokens_), cfg_.burst);
    tokens_ -= n;
    return n;
}

Flood::Seqs Flood::seqs(Ipv4 src, uint16_t sport) const {
    const uint64_t z = mix(((uint64_t{src.v} << 16) | sport) ^ key_);
    return Seqs{static_cast<uint32_t>(z >> 32), static_cast<uint32_t>(z)};
}

void Flood::next(FloodFrame& out, uint32_t ts) {
    uint32_t ai = 0, pi = 0;
    if (cfg_.random) {
        rng_ ^= rng_ << 13;  // xorshift64 (Marsaglia 2003)
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        ai = below(static_cast<uint32_t>(rng_ >> 32), naddr_);
        pi = below(static_cast<uint32_t>(rng_), nport_);
    } else {  // address-major: every port of an address, then the next address
        ai = static_cast<uint32_t>(idx_ / nport_);
        pi = static_cast<uint32_t>(idx_ % nport_);
        if (++idx_ == space_) idx_ = 0;
    }
    out.src = Ipv4{cfg_.src_lo.v + ai};
    wire::TcpSegment& s = out.seg;
    s = wire::TcpSegment{};
    s.src_port = static_cast<uint16_t>(cfg_.sport_lo + pi);
    s.dst_port = cfg_.dport;
    const Seqs q = seqs(out.src, s.src_port);
    s.seq = Seq(q.isn);
    auto handshake_options = [&](uint32_t tsecr) {
        s.opt.has_mss = true;
        s.opt.mss = kMss;
        s.opt.sack_permitted = true;
        s.opt.has_ts = true;
        s.opt.tsval = ts;
        s.opt.tsecr = tsecr;
        s.opt.has_wscale = true;
        s.opt.wscale = kWscale;
    };
    switch (cfg_.kind) {
    case FloodKind::None:
    case FloodKind::Syn:
        s.flags = wire::tcpflag::SYN;
        s.window = 64240;
        handshake_options(0);
        break;
    case FloodKind::SynAck:
        s.flags = wire::tcpflag::SYN | wire::tcpflag::ACK;
        s.ack = Seq(q.ack);
        s.window = 65160;  // Linux's SYN-ACK window for MSS 1460
        handshake_options(q.ack);
        break;
    case FloodKind::Ack:
        s.flags = wire::tcpflag::ACK;
        s.ack = Seq(q.ack);
        s.window = 502;
        s.opt.has_ts = true;
        s.opt.tsval = ts;
        s.opt.tsecr = q.ack;
        break;
    case FloodKind::Rst:
        s.flags = wire::tcpflag::RST;  // no options, as Linux's RSTs
        break;
    }
}

void Flood::on_reply(Ipv4 src, Ipv4 dst, const wire::TcpSegment& seg) {
    using namespace wire::tcpflag;
    const uint16_t dp = seg.dst_port;
    if (src != cfg_.dst || seg.src_port != cfg_.dport || dp < cfg_.sport_lo || dp > cfg_.sport_hi) {
        ++c.flood_other_rx;
        return;
    }
    const Seqs q = seqs(dst, dp);
    if (seg.flags & RST) {
        // RFC 9293 §3.10.7.1/2: a RST for a segment without ACK carries <SEQ=0><ACK=SEG.SEQ+SEG.LEN>, one for a
        // segment with ACK <SEQ=SEG.ACK>.
        const bool to_syn = cfg_.kind == FloodKind::Syn && (seg.flags & ACK) && seg.ack.raw() == q.isn + 1;
        const bool to_ack = (cfg_.kind == FloodKind::SynAck || cfg_.kind == FloodKind::Ack) && seg.seq.raw() == q.ack;
        ++(to_syn || to_ack ? c.flood_rst_rx : c.flood_other_rx);
        return;
    }
    if (cfg_.kind == FloodKind::Syn && (seg.flags & (SYN | ACK)) == (SYN | ACK) && seg.ack.raw() == q.isn + 1) {
        ++c.flood_syn_ack_rx;
        if (seg.opt.has_ts && (seg.opt.tsval & kTsLowMask) == kCookieTsLow) ++c.flood_cookie_syn_ack_rx;
        return;
    }
    ++c.flood_other_rx;
}

// The flood's share of a loop turn: its frames are built from the worker's TCP template like the stack's and go
// out through the same TX batch, to the destination's next hop (resolved like any other).
void Worker::send_flood(Instant now) {
    Flood& fl = *flood_;
    // A ring that refused frames last turn is full: wait that many turns more each time it happens again,
    // one fewer after each turn it took everything (the flood settles at what the ring takes).
    if (SYNWAVE_UNLIKELY(c_.tx_ring_full != flood_ring_full_)) {
        flood_ring_full_ = c_.tx_ring_full;
        flood_wait_ = std::min<uint32_t>(flood_wait_ * 2 + 1, 1024);
        flood_skip_ = flood_wait_;
    } else if (flood_skip_ == 0 && flood_wait_ != 0) {
        --flood_wait_;
    }
    if (flood_skip_ != 0) {
        --flood_skip_;
        ++fl.c.flood_ring_waits;
        return;
    }
    const uint32_t n = fl.due(now);
    if (n == 0) return;
    const Ipv4 dst = fl.config().dst;
    Mac dmac = cfg_.neighbour_mac;
    if (!cfg_.static_neighbour && !resolve4(cfg_.gateway4 ? *cfg_.gateway4 : dst, dmac)) {
        ++fl.c.flood_no_arp;
        return;
    }
    rte_mbuf* ms[64];
    if (SYNWAVE_UNLIKELY(rte_pktmbuf_alloc_bulk(cfg_.pool, ms, n) != 0)) {
        fl.c.flood_no_mbuf += n;
        return;
    }
    for (uint32_t j = 0; j < n; ++j) __builtin_prefetch(rte_pktmbuf_mtod(ms[j], void*), 1, 3);
    const auto mode = cfg_.tx_csum_offload ? wire::CsumMode::Offload : wire::CsumMode::Software;
    const uint32_t ts = static_cast<uint32_t>(now.cycles / std::max<uint64_t>(rate_.ms(1).cycles, 1));
    FloodFrame fr;
    for (uint32_t j = 0; j < n; ++j) {
        fl.next(fr, ts);
        rte_mbuf* m = ms[j];
        const uint32_t len = wire::build_tcp_frame(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_tailroom(m), tpl_,
                                                   dmac, fr.src, dst, ip_id_++, fr.seg, mode);
        if (cfg_.tx_csum_offload) io::set_tx_tcp_csum_offload(m, tpl_.l2_len, wire::ipv4::kMinHeader);
        if (SYNWAVE_UNLIKELY(len == 0)) {  // cannot happen with a pool's mbufs; counted like the stack's
            ++c_.tx_build_failed;
            rte_pktmbuf_free(m);
            continue;
        }
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = len;
        send(m);
        ++fl.c.flood_tx;
    }
}

}  // namespace synwave::engine
