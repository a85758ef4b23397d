#include "engine/worker.hpp"

#include <cstring>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "io/mbuf.hpp"
#include "wire/views.hpp"

namespace synwave::engine {

namespace {
constexpr uint64_t kPublishMs = 200;  // snapshot refresh for the stats thread

// The stack's configuration with an address table when we have IPv6 addresses: room for them (pinned there)
// and, unless configured, for 2^16 peers' addresses at once (2.5 MiB; more show as addr_table_full).
tcp::StackConfig with_addr_room(tcp::StackConfig s, uint32_t ip6_count) {
    if (ip6_count == 0) return s;
    const uint64_t need = uint64_t{ip6_count} + (s.addrs6 != 0 ? s.addrs6 : uint32_t{1} << 16);
    s.addrs6 = static_cast<uint32_t>(std::min<uint64_t>(need, flow::AddrTable::kLimit - 1));
    return s;
}
}  // namespace

Worker::Worker(const WorkerConfig& cfg, TscRate rate, Instant now, const tcp::Secrets& secrets, Application* app)
    : cfg_(cfg),
      rate_(rate),
      stack_(with_addr_room(cfg.stack, cfg.ip6_count), rate, now, secrets, app),
      app_(app),
      tx_(cfg.port, cfg.queue, rate.us(50), now),
      mark_csum_good_(cfg.in_process_link && !cfg.tx_csum_offload) {
    now_ = now;
    last_publish_ = now;
    if (app_) app_->set_slots(cfg.stack.max_conns);
    n4_ = cfg.ip_lo.v <= cfg.ip_hi.v ? uint64_t{cfg.ip_hi.v} - cfg.ip_lo.v + 1 : 0;
    vlan_tci_ = static_cast<uint16_t>((uint32_t{cfg.vlan_pcp} << 13) | (cfg.vlan_id & 0x0FFFu));
    tpl_ = wire::make_tcp_template(l2());
    tpl6_ = wire::make_tcp_template6(l2());
    // Our IPv6 addresses get consecutive handles (the table hands out the lowest free one), so that local6()
    // is a subtraction.
    for (uint32_t i = 0; i < cfg.ip6_count; ++i) {
        const uint32_t h = stack_.addrs().pin(cfg.ip6_lo.with_low32(cfg.ip6_lo.low32() + i));
        if (i == 0) local6_base_ = h;
        if (h == 0 || h != local6_base_ + i) {  // cannot happen with_addr_room; never mis-route if it did
            cfg_.ip6_count = i;
            break;
        }
    }
    // SplitMix64 of the seed (so that nearby seeds give unrelated sequences), never 0 for xorshift.
    uint64_t z = cfg.loss_seed + 0x9E37'79B9'7F4A'7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
    loss_state_ = (z ^ (z >> 31)) | 1;
    if (cfg.flood.kind != FloodKind::None) flood_ = std::make_unique<Flood>(cfg.flood, rate, now);
}

Worker::~Worker() {
    for (uint32_t i = 0; i < nheld_; ++i) rte_pktmbuf_free(held_[i].m);
}

// Every frame leaves through here, so the capture sees what the port was given.
void Worker::send(rte_mbuf* m) {
    if (mark_csum_good_) m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    if (SYNWAVE_UNLIKELY(cfg_.pcap != nullptr)) cfg_.pcap->write(m, cfg_.pcap_clock.unix_ns(now_));
    tx_.push(m);
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
    // IEEE 802.1Q: a host on VLAN v takes frames tagged v only (priority bits aside); a host without one takes
    // untagged frames only, as a Linux interface without a VLAN sub-interface does.
    if (SYNWAVE_UNLIKELY(f.has_vlan != cfg_.vlan || (f.has_vlan && (f.vlan_tci & 0x0FFFu) != cfg_.vlan_id))) {
        ++c_.rx_vlan_other;
        return;
    }
    if (f.ethertype == wire::eth::kTypeIpv6) ++c_.rx_ipv6;
    // A host takes unicast frames for its own MAC only (a promiscuous port sees others'); broadcast and
    // multicast only for ARP and Neighbor Discovery (a solicited-node group, RFC 4861 §7.2.2).
    if (SYNWAVE_UNLIKELY(!(f.dst == cfg_.mac))) {
        const bool group = (f.dst.b[0] & 1) != 0;
        if (!group || (f.kind != wire::FrameKind::Arp && f.kind != wire::FrameKind::NdSolicit &&
                       f.kind != wire::FrameKind::NdAdvert)) {
            ++c_.rx_not_ours;
            return;
        }
    }
    switch (f.kind) {
    case wire::FrameKind::Tcp: input_tcp(f, now); return;
    case wire::FrameKind::Arp: handle_arp(f); return;
    case wire::FrameKind::NdSolicit:
    case wire::FrameKind::NdAdvert: handle_nd(f); return;
    case wire::FrameKind::IcmpEcho:
    case wire::FrameKind::Icmp6Echo:
        if (echo_reply(m, data, f)) keep[nkeep++] = m;  // the mbuf now belongs to the TX batch
        return;
    }
}

void Worker::input_tcp(const wire::ParsedFrame& f, Instant now) {
    if (SYNWAVE_LIKELY(f.ip_version == 4)) {
        if (flood4(f.ip_dst)) {  // answers to the flood: counted there, kept from the stack
            if (!cfg_.static_neighbour) learn4(f.ip_src, f.src);
            flood_->on_reply(f.ip_src, f.ip_dst, f.tcp);
            return;
        }
        if (!ours4(f.ip_dst)) {
            ++c_.rx_not_ours;
            return;
        }
        if (!cfg_.static_neighbour) learn4(f.ip_src, f.src);  // a fixed neighbour is never looked up
        stack_.input(tcp::InSegment{f.ip_src, f.ip_dst, f.tcp}, now);
        return;
    }
    const uint32_t local = local6(f.ip6_dst);
    if (local == 0) {
        ++c_.rx_not_ours;
        return;
    }
    // The peer's address as a handle, for this turn unless a connection record keeps it.
    const uint32_t remote = stack_.addrs().acquire(f.ip6_src);
    if (remote == 0) {
        ++c_.addr_table_full;
        return;
    }
    if (!cfg_.static_neighbour) learn6(f.ip6_src, f.src);
    stack_.input(tcp::InSegment{Ipv4{remote}, Ipv4{local}, f.tcp}, now);
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

// One segment into a frame. The next hop is the gateway when there is one, else the destination; its MAC is
// zero while unresolved: the frame is built and held until the ARP reply or Neighbor Advertisement fills it in.
void Worker::build_and_send(const tcp::OutSegment& o, rte_mbuf* m) {
    const auto mode = cfg_.tx_csum_offload ? wire::CsumMode::Offload : wire::CsumMode::Software;
    uint8_t* buf = rte_pktmbuf_mtod(m, uint8_t*);
    const uint32_t cap = rte_pktmbuf_tailroom(m);
    Mac dmac = cfg_.neighbour_mac;
    if (SYNWAVE_LIKELY(!flow::AddrTable::is_handle(o.dst.v))) {
        const Ipv4 next = SYNWAVE_UNLIKELY(cfg_.gateway4.has_value()) ? *cfg_.gateway4 : o.dst;
        const bool resolved = cfg_.static_neighbour || resolve4(next, dmac);
        const uint32_t len = wire::build_tcp_frame(buf, cap, tpl_, dmac, o.src, o.dst, ip_id_++, o.seg, mode);
        if (cfg_.tx_csum_offload) io::set_tx_tcp_csum_offload(m, tpl_.l2_len, wire::ipv4::kMinHeader);
        if (SYNWAVE_LIKELY(resolved)) {
            send_built(m, len);
        } else if (set_len(m, len)) {
            hold(m, hop_key(next));
        }
        return;
    }
    const flow::AddrTable& a = stack_.addrs();
    const Ipv6& dst = a.addr(o.dst.v);
    const Ipv6& next = cfg_.gateway6 ? *cfg_.gateway6 : dst;
    const bool resolved = cfg_.static_neighbour || resolve6(next, dmac);
    const uint32_t len = wire::build_tcp_frame6(buf, cap, tpl6_, dmac, a.addr(o.src.v), dst, o.seg, mode);
    if (cfg_.tx_csum_offload) io::set_tx_tcp6_csum_offload(m, tpl6_.l2_len, wire::ipv6::kHeaderLen);
    ++c_.tx_ipv6;
    if (resolved) {
        send_built(m, len);
    } else if (set_len(m, len)) {
        hold(m, next);
    }
}

// A built frame of `len` bytes to the TX batch; 0 means it did not fit the mbuf.
void Worker::send_built(rte_mbuf* m, uint32_t len) {
    if (SYNWAVE_LIKELY(set_len(m, len))) send(m);
}

bool Worker::set_len(rte_mbuf* m, uint32_t len) {
    if (SYNWAVE_UNLIKELY(len == 0)) {  // larger than an mbuf's room
        ++c_.tx_build_failed;
        rte_pktmbuf_free(m);
        return false;
    }
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    return true;
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
        // IPv4 without options carrying TCP, untagged or with our tag: the storm's and a server's frames.
        // Others (IPv6 among them: its key needs the address table) are parsed as usual, without the head start.
        if (cfg_.vlan) d += wire::eth::kVlanTagLen;  // the tag's 4 bytes sit before the ethertype
        if (rte_pktmbuf_data_len(rx[i]) < 54 + tpl_.l2_len - wire::eth::kHeaderLen || d[12] != 0x08 ||
            d[13] != 0x00 || d[14] != 0x45 || d[23] != 6)
            continue;
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
        uint64_t bytes = 0;  // in a register across the burst; the mbuf header is hot as the frame is handled
        for (uint16_t i = 0; i < n; ++i) {
            const uint32_t before = nkeep;
            bytes += rte_pktmbuf_pkt_len(rx[i]);
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
        c_.rx_bytes += bytes;
    }
    if (stack_.timers_due(now)) stack_.poll(now, cfg_.timer_budget);
    app_->tick(stack_, now);
    transmit();
    if (flood_) send_flood(now);
    stack_.addrs().sweep();  // IPv6 addresses this turn used and no connection keeps
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
    c_.tx_bytes = tx_.counters().tx_bytes;
    c_.tx_ring_full = tx_.counters().tx_ring_full_drops;
}

void Worker::publish() {
    seq_.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
    pub_.engine = c_;
    pub_.app = app_->c;
    pub_.tcp = stack_.counters();
    if (flood_) pub_.flood = flood_->c;
    pub_.drops = drops_;
    pub_.active = stack_.active_conns();
    pub_.timewait = stack_.timewait_count();
    pub_.half_open = stack_.half_open();
    pub_.states = stack_.open_by_state();
    pub_.app_done = app_->done();
    pub_.at = now_;
    app_->copy_latencies(pub_.lat);
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
