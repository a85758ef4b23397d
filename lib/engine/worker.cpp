#include "engine/worker.hpp"

#include <cstring>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "io/mbuf.hpp"
#include "wire/views.hpp"

namespace synwave::engine {

namespace {
constexpr uint64_t kPublishMs = 200;  // snapshot refresh for the stats thread
constexpr uint32_t kArpFrameLen = 60;  // ARP in Ethernet: 42 bytes, padded to the 60-byte minimum
// Ethernet + 802.1Q tag + IPv4 without options + TCP with the longest options.
inline uint32_t arp_slot(uint32_t ip) { return (ip * 2654435761u) >> 20; }  // Fibonacci hash to 12 bits
inline uint64_t mac_bits(const Mac& m) {
    uint64_t v = 0;
    std::memcpy(&v, m.b.data(), m.b.size());
    return v;
}
}  // namespace

Worker::Worker(const WorkerConfig& cfg, TscRate rate, Instant now, const tcp::Secrets& secrets, Application* app)
    : cfg_(cfg),
      rate_(rate),
      stack_(cfg.stack, rate, now, secrets, app),
      app_(app),
      tx_(cfg.port, cfg.queue, rate.us(50), now),
      arp_(new ArpEntry[kArpSlots]()),
      tpl_(wire::make_tcp_template(wire::L2{cfg.mac, Mac{}})) {
    now_ = now;
    last_publish_ = now;
    // SplitMix64 of the seed (so that nearby seeds give unrelated sequences), never 0 for xorshift.
    uint64_t z = cfg.loss_seed + 0x9E37'79B9'7F4A'7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
    loss_state_ = (z ^ (z >> 31)) | 1;
}

Worker::~Worker() {
    for (uint32_t i = 0; i < nheld_; ++i) rte_pktmbuf_free(held_[i].m);
}

// Called for every frame that reaches us (ARP and IPv4): the common case, a known address with the same MAC,
// is two compares and no write.
void Worker::learn(Ipv4 ip, const Mac& mac) {
    ArpEntry& e = arp_[arp_slot(ip.v)];
    const bool fresh = e.ip != ip.v || !e.known;
    if (!fresh && mac_bits(e.mac) == mac_bits(mac)) return;
    e.ip = ip.v;
    e.known = true;
    e.mac = mac;
    if (SYNWAVE_UNLIKELY(fresh && nheld_ != 0)) release_held(ip, mac);
}

void Worker::hold(rte_mbuf* m, Ipv4 ip) {
    if (nheld_ == kHoldSlots) {
        ++c_.tx_no_arp;
        rte_pktmbuf_free(m);
        return;
    }
    held_[nheld_++] = Held{m, ip.v, now_.cycles};
    ++c_.arp_held;
}

void Worker::release_held(Ipv4 ip, const Mac& mac) {
    for (uint32_t i = 0; i < nheld_;) {
        if (held_[i].ip != ip.v) {
            ++i;
            continue;
        }
        rte_mbuf* m = held_[i].m;
        std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), mac.b.data(), mac.b.size());  // Ethernet destination
        held_[i] = held_[--nheld_];
        ++c_.arp_released;
        send(m);
    }
}

void Worker::expire_held() {
    const uint64_t limit = rate_.sec(1).cycles;
    for (uint32_t i = 0; i < nheld_;) {
        if (now_.cycles - held_[i].since < limit) {
            ++i;
            continue;
        }
        rte_pktmbuf_free(held_[i].m);
        held_[i] = held_[--nheld_];
        ++c_.tx_no_arp;
    }
}

bool Worker::resolve(Ipv4 ip, Mac& out) {
    if (cfg_.static_neighbour) {
        out = cfg_.neighbour_mac;
        return true;
    }
    ArpEntry& e = arp_[arp_slot(ip.v)];
    if (e.ip == ip.v && e.known) {
        out = e.mac;
        return true;
    }
    if (e.ip != ip.v) {  // a new address takes the slot; its MAC is not known yet
        e.ip = ip.v;
        e.known = false;
        e.asked_at = 0;
    }
    if (now_.cycles - e.asked_at > rate_.ms(100).cycles) {
        e.asked_at = now_.cycles;
        if (send_arp_request(ip)) ++c_.arp_requests_tx;
    }
    return false;
}

bool Worker::send_arp_request(Ipv4 ip) {
    rte_mbuf* m = io::alloc_frame(cfg_.pool, kArpFrameLen, c_.tx_no_mbuf);
    if (!m) return false;
    const uint32_t len = wire::build_arp_request(rte_pktmbuf_mtod(m, uint8_t*), kArpFrameLen, cfg_.mac, cfg_.ip_lo, ip);
    return push_frame(m, len);
}

// Hands a frame of `len` bytes (padded to Ethernet's minimum) to the TX batch; frees it if building failed.
bool Worker::push_frame(rte_mbuf* m, uint32_t len) {
    if (len == 0) {
        ++c_.tx_build_failed;
        rte_pktmbuf_free(m);
        return false;
    }
    if (len < kArpFrameLen) {
        // Ethernet's minimum: pad with zeros, never with what the buffer held before (CVE-2003-0001).
        std::memset(rte_pktmbuf_mtod(m, uint8_t*) + len, 0, kArpFrameLen - len);
        len = kArpFrameLen;
    }
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    send(m);
    return true;
}

// Every frame leaves through here, so the capture sees what the port was given.
void Worker::send(rte_mbuf* m) {
    if (SYNWAVE_UNLIKELY(cfg_.pcap != nullptr)) cfg_.pcap->write(m, cfg_.pcap_clock.unix_ns(now_));
    tx_.push(m);
}

void Worker::announce() {
    // Gratuitous ARP (RFC 5227 §3: an ARP request for our own address) so switches and peers learn us.
    if (send_arp_request(cfg_.ip_lo)) ++c_.arp_requests_tx;
}

void Worker::handle(rte_mbuf* m, Instant now, rte_mbuf** keep, uint32_t& nkeep) {
    if (SYNWAVE_UNLIKELY(cfg_.pcap != nullptr)) cfg_.pcap->write(m, cfg_.pcap_clock.unix_ns(now));
    uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
    const auto cs = io::rx_csum_status(m);
    wire::ParseConfig pc;
    pc.verify_ip_checksum = cs.ip != io::RxCsum::Good && cs.ip != io::RxCsum::None;
    pc.verify_l4_checksum = cs.l4 != io::RxCsum::Good && cs.l4 != io::RxCsum::None;
    wire::ParsedFrame f;
    const wire::Drop d = wire::parse_frame(data, rte_pktmbuf_data_len(m), pc, f);
    if (d != wire::Drop::None) {
        ++c_.rx_dropped;
        ++drops_[static_cast<size_t>(d)];
        return;
    }
    // A host takes unicast frames for its own MAC only (a promiscuous port sees others'), and broadcasts for ARP.
    const uint64_t dst = mac_bits(f.dst);
    if (SYNWAVE_UNLIKELY(dst != mac_bits(cfg_.mac)) &&
        !(f.kind == wire::FrameKind::Arp && dst == mac_bits(Mac::broadcast()))) {
        ++c_.rx_not_ours;
        return;
    }
    switch (f.kind) {
    case wire::FrameKind::Arp:
        ++c_.arp_rx;
        learn(f.arp.spa, f.arp.sha);
        if (f.arp.op == wire::arp::kOpRequest && ours(f.arp.tpa)) {
            // Answer in place of the request's mbuf: build into a fresh one (the request may be shorter).
            rte_mbuf* r = io::alloc_frame(cfg_.pool, kArpFrameLen, c_.tx_no_mbuf);
            if (!r) return;
            const uint32_t len = wire::build_arp_reply(rte_pktmbuf_mtod(r, uint8_t*), kArpFrameLen, f, cfg_.mac);
            if (push_frame(r, len)) ++c_.arp_replies_tx;
        }
        return;
    case wire::FrameKind::IcmpEcho:
        if (!ours(f.ip_dst)) {
            ++c_.rx_not_ours;
            return;
        }
        if (f.icmp.type == wire::icmp::kTypeEchoRequest) {
            const uint32_t len = wire::icmp_echo_reply_in_place(data, f, cfg_.mac);
            if (len != 0) {
                m->data_len = static_cast<uint16_t>(len);
                m->pkt_len = len;
                io::clear_tx_offload(m);
                ++c_.icmp_echo_replies;
                keep[nkeep++] = m;  // the mbuf now belongs to the TX batch
            }
        }
        return;
    case wire::FrameKind::Tcp:
        if (!ours(f.ip_dst)) {
            ++c_.rx_not_ours;
            return;
        }
        if (!cfg_.static_neighbour) learn(f.ip_src, f.src);  // a fixed neighbour is never looked up
        stack_.input(tcp::InSegment{f.ip_src, f.ip_dst, f.tcp}, now);
        return;
    }
}

// The stack's segments become frames. Mbufs come from the pool in bulk (one pass over the lcore's mempool
// cache for up to 64), and the first line of each one's data is prefetched for writing before any frame is
// built: a recycled mbuf was last touched by the core that received it, so each build would otherwise wait
// for its line in turn. When the pool cannot give a whole batch, frames get mbufs one by one and each one
// missing is counted (tx_no_mbuf; TCP retransmits).
void Worker::transmit() {
    auto& out = stack_.out();
    const uint32_t n_out = static_cast<uint32_t>(out.size());
    uint32_t i = 0;
    while (i < n_out) {
        rte_mbuf* ms[64];
        const uint32_t k = std::min<uint32_t>(64, n_out - i);
        // This turn's received mbufs first (still in cache, no trip through the pool), then the pool.
        uint32_t got = 0;
        while (got < k && nspare_ != 0) ms[got++] = spare_[--nspare_];
        if (got < k && SYNWAVE_UNLIKELY(rte_pktmbuf_alloc_bulk(cfg_.pool, ms + got, k - got) != 0)) {
            for (uint32_t j = 0; j < got; ++j) build_and_send(out[i + j], ms[j]);
            i += got;
            for (; i < n_out; ++i) {
                rte_mbuf* m = rte_pktmbuf_alloc(cfg_.pool);
                if (m == nullptr) {
                    ++c_.tx_no_mbuf;
                    continue;
                }
                build_and_send(out[i], m);
            }
            break;
        }
        for (uint32_t j = 0; j < k; ++j) __builtin_prefetch(rte_pktmbuf_mtod(ms[j], void*), 1, 3);
        for (uint32_t j = 0; j < k; ++j) build_and_send(out[i + j], ms[j]);
        i += k;
    }
    out.clear();
}

void Worker::build_and_send(const tcp::OutSegment& o, rte_mbuf* m) {
    Mac dmac;  // zero while unresolved: the frame is built and held until the ARP reply fills it in
    const bool resolved = resolve(o.dst, dmac);
    const auto mode = cfg_.tx_csum_offload ? wire::CsumMode::Offload : wire::CsumMode::Software;
    const uint32_t len = wire::build_tcp_frame(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_tailroom(m), tpl_, dmac,
                                               o.src, o.dst, ip_id_++, o.seg, mode);
    if (len == 0) {  // larger than an mbuf's room
        ++c_.tx_build_failed;
        rte_pktmbuf_free(m);
        return;
    }
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    if (cfg_.tx_csum_offload) io::set_tx_tcp_csum_offload(m, wire::eth::kHeaderLen, wire::ipv4::kMinHeader);
    if (resolved) {
        send(m);
    } else {
        hold(m, o.dst);
    }
}

// Before any frame of a burst is processed, its cache misses are started together (DPDK's usual pattern, as
// in l3fwd): the frames' first lines, then for each TCP frame the flow-table bucket of its 4-tuple (read from
// the headers without a full parse), then the connection record the bucket names. Processed one after the
// other, each frame would wait for its own bucket and record; perf showed that one load as most of
// Stack::input's time.
void Worker::prefetch_burst(rte_mbuf* const* rx, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
    flow::FlowKey keys[64];
    uint32_t nk = 0;
    for (uint16_t i = 0; i < n; ++i) {
        const uint8_t* d = rte_pktmbuf_mtod(rx[i], const uint8_t*);
        // Untagged IPv4 without options carrying TCP: the storm's and a server's frames. Others are parsed
        // as usual, just without the head start.
        if (rte_pktmbuf_data_len(rx[i]) < 54 || d[12] != 0x08 || d[13] != 0x00 || d[14] != 0x45 || d[23] != 6) continue;
        flow::FlowKey& k = keys[nk++];
        k.local_ip = load_be32(d + 30);
        k.remote_ip = load_be32(d + 26);
        k.local_port = load_be16(d + 36);
        k.remote_port = load_be16(d + 34);
        stack_.prefetch_flow(k);
    }
    for (uint32_t i = 0; i < nk; ++i) stack_.prefetch_conn(keys[i]);
}

// rx_loss: the frames of a burst that the impaired link "lost" are freed and the rest closed up, in order.
uint16_t Worker::inject_loss(rte_mbuf** rx, uint16_t n) {
    uint16_t kept = 0;
    for (uint16_t i = 0; i < n; ++i) {
        loss_state_ ^= loss_state_ << 13;  // xorshift64 (Marsaglia 2003)
        loss_state_ ^= loss_state_ >> 7;
        loss_state_ ^= loss_state_ << 17;
        if (static_cast<uint32_t>(loss_state_ >> 32) < cfg_.rx_loss) {
            ++c_.rx_loss_injected;
            rte_pktmbuf_free(rx[i]);
        } else {
            rx[kept++] = rx[i];
        }
    }
    return kept;
}

uint32_t Worker::run_once(Instant now) {
    now_ = now;
    ++c_.loop_turns;
    rte_mbuf* rx[64];
    uint16_t n = rte_eth_rx_burst(cfg_.port, cfg_.queue, rx, static_cast<uint16_t>(std::min<uint32_t>(cfg_.rx_burst, 64)));
    if (SYNWAVE_UNLIKELY(cfg_.rx_loss != 0) && n != 0) n = inject_loss(rx, n);
    if (n) {
        ++c_.rx_bursts;
        c_.rx_packets += n;
        prefetch_burst(rx, n);
        rte_mbuf* keep[64];
        uint32_t nkeep = 0;
        for (uint16_t i = 0; i < n; ++i) {
            const uint32_t before = nkeep;
            handle(rx[i], now, keep, nkeep);
            if (nkeep == before) {  // payload pointers handed to the app were valid until here
                if (nspare_ < kSpares && io::reuse_for_tx(rx[i], cfg_.pool)) {
                    spare_[nspare_++] = rx[i];
                } else {
                    rte_pktmbuf_free(rx[i]);
                }
            }
            // Build replies while the packet is hot (and before the out queue grows past a burst).
            if (stack_.out().size() >= 64) transmit();
        }
        for (uint32_t i = 0; i < nkeep; ++i) send(keep[i]);
    }
    if (stack_.timers_due(now)) stack_.poll(now, cfg_.timer_budget);
    app_->tick(stack_, now);
    transmit();
    if (nspare_ != 0) {  // what this turn's replies did not need goes back: nothing is held between turns
        rte_pktmbuf_free_bulk(spare_, nspare_);
        nspare_ = 0;
    }
    (void)tx_.flush();
    sync_tx_counters();
    if (now.cycles - last_publish_.cycles >= rate_.ms(kPublishMs).cycles) {
        last_publish_ = now;
        if (nheld_ != 0) expire_held();
        publish();
    }
    return n;
}

void Worker::flush() {
    transmit();
    (void)tx_.flush();
    sync_tx_counters();
}

// The TX batch counts what it sent and what the ring refused, whenever it flushes (also when it fills in the
// middle of a turn): the engine's figures are read from it, not kept a second time.
void Worker::sync_tx_counters() {
    c_.tx_packets = tx_.counters().tx_packets;
    c_.tx_ring_full = tx_.counters().tx_ring_full_drops;
}

void Worker::publish() {
    seq_.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
    pub_.engine = c_;
    pub_.app = app_->c;
    pub_.tcp = stack_.counters();
    pub_.drops = drops_;
    pub_.active = stack_.active_conns();
    pub_.timewait = stack_.timewait_count();
    pub_.half_open = stack_.half_open();
    pub_.app_done = app_->done();
    seq_.fetch_add(1, std::memory_order_acq_rel);  // even: stable
}

WorkerStats Worker::read() const {
    WorkerStats s;
    for (;;) {
        const uint32_t a = seq_.load(std::memory_order_acquire);
        if (a & 1) continue;
        s = pub_;
        std::atomic_thread_fence(std::memory_order_acquire);
        if (seq_.load(std::memory_order_acquire) == a) return s;
    }
}

}  // namespace synwave::engine
