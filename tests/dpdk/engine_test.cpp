// lib/engine's Worker against a real EAL (started once by engine_main.cpp: --no-huge --no-pci --no-shconf -l 0)
// and real virtual devices: a net_ring pair joining a client worker to a server worker, net_pcap replaying a
// hand-built capture, rings nobody drains, a pool too small, and net_null.
//
// Both workers of a pair run in the test thread: run_once(Instant{rte_rdtsc()}) on one, then the other, as
// the storm's lanes do on two lcores (apps/runner.cpp). Time is the real TSC, so the TCP timers (RTO 200 ms
// at least, 1 s for a SYN; TIME_WAIT 2 * msl_ms) run at wall-clock speed: every phase here ends well inside
// one RTO, and the storm shortens MSL to 100 ms so its TIME_WAIT records expire within the test.
//
// What is checked is exact: every counter that a run determines (connections, segments == frames on each
// side, drops by reason, ring-full and pool-empty counts), the bytes of every reply frame, and that the
// tables, the timer wheel and the mempools are empty / full again afterwards.
#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "core/endian.hpp"
#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "io/mempool.hpp"
#include "io/pcap.hpp"
#include "io/port.hpp"
#include "io/vdev.hpp"
#include "wire/checksum.hpp"
#include "wire/frame.hpp"

namespace synwave::engine {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------
// helpers

Instant tsc_now() { return Instant{rte_rdtsc()}; }

TscRate tsc_rate() { return TscRate{rte_get_tsc_hz()}; }

// Fixed keys: ISNs and cookies differ per run only through the clock, which is all the tests need.
const tcp::Secrets kServerSecrets{{0x0123'4567'89ab'cdefULL, 0x1111}, {0x2222, 0x3333}, {0x4444, 0x5555}};
const tcp::Secrets kClientSecrets{{0xfedc'ba98'7654'3210ULL, 0x6666}, {0x7777, 0x8888}, {0x9999, 0xaaaa}};

io::MempoolPtr pool_or_fail(const std::string& name, uint32_t n, uint32_t cache) {
    auto r = io::make_pktmbuf_pool(name, n, cache);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r).value() : io::MempoolPtr{};
}

std::optional<io::Port> open_port(uint16_t port_id, rte_mempool* pool) {
    io::PortConfig pc;
    pc.port_id = port_id;
    pc.rx_desc = pc.tx_desc = 4096;
    auto p = io::Port::open(pc, std::span<rte_mempool* const>(&pool, 1));
    EXPECT_TRUE(p.ok()) << p.error();
    if (!p.ok()) return std::nullopt;
    return std::move(p).value();
}

struct TempDir {
    fs::path path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/swtest-engine-XXXXXX";
        if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

WorkerConfig worker_config(const io::Port& port, rte_mempool* pool, Ipv4 lo, Ipv4 hi) {
    WorkerConfig w;
    w.port = port.id();
    w.queue = 0;
    w.pool = pool;
    w.mac = port.mac();
    w.ip_lo = lo;
    w.ip_hi = hi;
    w.tx_csum_offload = port.tx_csum_offload();
    w.rx_csum_offload = port.rx_csum_offload();
    return w;
}

uint64_t drop_sum(const Worker& w) {
    return std::accumulate(w.drops().begin() + 1, w.drops().end(), uint64_t{0});
}

uint64_t drops_of(const Worker& w, wire::Drop d) { return w.drops()[static_cast<size_t>(d)]; }

// Writes zeros over every mbuf's data room, so a device that hands out mbufs without writing them
// (net_null) delivers frames of known content whatever earlier tests left in that memory.
void zero_pool(rte_mempool* pool, uint32_t n) {
    std::vector<rte_mbuf*> all(n);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool, all.data(), n), 0);
    for (rte_mbuf* m : all) std::memset(m->buf_addr, 0, m->buf_len);
    rte_pktmbuf_free_bulk(all.data(), n);
}

// ---------------------------------------------------------------------------------------------------
// 1. The storm in one thread: a client worker and a server worker over a net_ring pair.

TEST(EngineStorm, HundredThousandHttpConnectionsOverARingPairAllCompleteAndEverythingIsReturned) {
    constexpr uint64_t kConns = 100'000;
    constexpr uint32_t kMslMs = 100;         // TIME_WAIT = 200 ms instead of 60 s
    constexpr uint32_t kPoolMbufs = 16383;   // 2^14 - 1; in flight at once: a few per open connection
    constexpr uint32_t kBody = 64;
    const Ipv4 server_ip{0x0A00'0001};                          // 10.0.0.1
    const Ipv4 client_lo{0x0A01'0001}, client_hi{0x0A01'0004};  // 10.1.0.1 - 10.1.0.4
    const uint64_t resp_len = http_response(kBody, false).size();
    const uint64_t req_len = http_request(server_ip).size();

    io::MempoolPtr spool = pool_or_fail("eng_storm_s", kPoolMbufs, 256);
    io::MempoolPtr cpool = pool_or_fail("eng_storm_c", kPoolMbufs, 256);
    ASSERT_TRUE(spool && cpool);
    auto pair = io::RingPair::create("engstorm", 16384);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto sport = open_port(pair->port_a(), spool.get());
    auto cport = open_port(pair->port_b(), cpool.get());
    ASSERT_TRUE(sport && cport);

    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();

    tcp::StackConfig sst;
    sst.msl_ms = kMslMs;
    sst.max_conns = 8192;
    // Server-first close leaves every connection in the server's TIME_WAIT for 200 ms: at a few hundred
    // thousand connections per second that is tens of thousands of records at once. Room for all of them,
    // so a record is never refused (tw_pool_full) and every connection's TIME_WAIT can be counted.
    sst.max_timewait = 1u << 17;
    tcp::StackConfig cst;
    cst.msl_ms = kMslMs;
    cst.max_conns = 8192;
    cst.max_timewait = 1024;

    ServerConfig scfg;
    scfg.behaviour = ServerBehaviour::Http;
    scfg.body_bytes = kBody;
    scfg.close = CloseMode::ServerFirst;
    Server server(scfg);
    server.set_slots(sst.max_conns);

    ClientConfig ccfg;
    ccfg.src_lo = client_lo;
    ccfg.src_hi = client_hi;  // 4 x 64512 source tuples: none is reused, so no TIME_WAIT is reopened
    ccfg.sport_lo = 1024;
    ccfg.sport_hi = 65535;
    ccfg.dst = server_ip;
    ccfg.dport = 80;
    ccfg.concurrency = 2000;
    ccfg.max_connections = kConns;
    ccfg.close = CloseMode::ServerFirst;
    ccfg.response_bytes = resp_len;
    Client client(ccfg, rate);
    client.set_slots(cst.max_conns);

    WorkerConfig ws = worker_config(*sport, spool.get(), server_ip, server_ip);
    ws.static_neighbour = true;
    ws.neighbour_mac = cport->mac();
    ws.stack = sst;
    ws.rx_burst = 64;
    WorkerConfig wc = worker_config(*cport, cpool.get(), client_lo, client_hi);
    wc.static_neighbour = true;
    wc.neighbour_mac = sport->mac();
    wc.stack = cst;
    wc.rx_burst = 64;

    auto sw = std::make_unique<Worker>(ws, rate, t0, kServerSecrets, &server);
    auto cw = std::make_unique<Worker>(wc, rate, t0, kClientSecrets, &client);
    sw->stack().listen(80);

    // Run until the client has completed everything (15 s at most: it takes about a second).
    const Instant deadline = t0 + rate.sec(15);
    Instant now = t0;
    while (!client.done() && now < deadline) {
        now = tsc_now();
        cw->run_once(now);
        sw->run_once(tsc_now());
    }
    ASSERT_TRUE(client.done()) << "attempted " << client.c.conn_attempted << ", completed "
                               << client.c.conn_completed << ", open " << client.open();
    const double storm_s = static_cast<double>(rate.to_us(tsc_now() - t0)) / 1e6;

    // Past 2MSL (+100 ms for the wheel's tick and the loop): every TIME_WAIT record must have expired.
    const Instant quiet_until = tsc_now() + rate.ms(2 * kMslMs + 100);
    while ((now = tsc_now()) < quiet_until) {
        cw->run_once(now);
        sw->run_once(tsc_now());
    }
    // Drain: nothing should be in flight any more; a few more turns leave both rings empty.
    for (int i = 0; i < 8; ++i) {
        cw->run_once(tsc_now());
        sw->run_once(tsc_now());
    }
    cw->flush();
    sw->flush();

    const auto& ca = client.c;
    const auto& sa = server.c;
    const tcp::TcpCounters& ct = cw->stack().counters();
    const tcp::TcpCounters& stc = sw->stack().counters();
    const EngineCounters& ce = cw->counters();
    const EngineCounters& se = sw->counters();
    std::printf("storm: %lu connections in %.2f s; client tx %lu rx %lu, server tx %lu rx %lu frames "
                "(%.2f frames/connection); delayed ACKs c %lu s %lu\n",
                ca.conn_completed, storm_s, ce.tx_packets, ce.rx_packets, se.tx_packets, se.rx_packets,
                static_cast<double>(ce.tx_packets + se.tx_packets) / kConns, ct.delayed_acks, stc.delayed_acks);

    // Applications: every connection did its whole exchange.
    EXPECT_EQ(ca.conn_attempted, kConns);
    EXPECT_EQ(ca.conn_connected, kConns);
    EXPECT_EQ(ca.requests_sent, kConns);
    EXPECT_EQ(ca.responses_done, kConns);
    EXPECT_EQ(ca.response_bytes, kConns * resp_len);
    EXPECT_EQ(ca.conn_completed, kConns);
    EXPECT_EQ(ca.conn_failed, 0u);
    EXPECT_EQ(ca.port_busy, 0u);
    EXPECT_EQ(client.open(), 0u);
    EXPECT_EQ(sa.conn_accepted, kConns);
    EXPECT_EQ(sa.responses_sent, kConns);
    EXPECT_EQ(sa.conn_completed, kConns);
    EXPECT_EQ(sa.conn_failed, 0u);

    // TCP: opens match on both sides, nothing lost (no retransmission of any kind: a lost frame would show
    // here, and the whole run is far shorter than the 200 ms minimum RTO per exchange).
    EXPECT_EQ(ct.active_opens, kConns);
    EXPECT_EQ(stc.passive_opens + stc.syncookies_ok, kConns);
    EXPECT_EQ(stc.syncookies_ok, 0u);  // concurrency 2000 < half_open_limit 4096: no cookie needed
    EXPECT_EQ(stc.syncookies_sent, 0u);
    EXPECT_EQ(ct.conn_established, kConns);
    EXPECT_EQ(stc.conn_established, kConns);
    EXPECT_EQ(ct.conn_closed, kConns);
    EXPECT_EQ(stc.conn_closed, kConns);
    EXPECT_EQ(ct.tx_data_bytes, kConns * req_len);
    EXPECT_EQ(stc.tx_data_bytes, kConns * resp_len);
    EXPECT_EQ(ct.rx_data_bytes, kConns * resp_len);
    EXPECT_EQ(stc.rx_data_bytes, kConns * req_len);
    EXPECT_EQ(ct.syn_rtx + ct.rtx_segments + ct.rto_expired, 0u);
    EXPECT_EQ(stc.synack_rtx + stc.rtx_segments + stc.rto_expired, 0u);
    // The server closes first: it alone enters TIME_WAIT; the client goes CLOSE-WAIT -> LAST-ACK.
    EXPECT_EQ(stc.tw_entered, kConns);
    EXPECT_EQ(stc.tw_expired, kConns);
    EXPECT_EQ(stc.tw_pool_full + stc.tw_reopened + stc.tw_rst_killed, 0u);
    EXPECT_EQ(ct.tw_entered, 0u);
    EXPECT_EQ(ct.entered[static_cast<size_t>(tcp::State::CloseWait)], kConns);
    EXPECT_EQ(ct.entered[static_cast<size_t>(tcp::State::LastAck)], kConns);
    EXPECT_EQ(stc.entered[static_cast<size_t>(tcp::State::FinWait1)], kConns);
    for (const tcp::TcpCounters* t : {&ct, &stc}) {
        EXPECT_EQ(t->out_overflow, 0u);
        EXPECT_EQ(t->table_full + t->tcb_pool_empty, 0u);
        EXPECT_EQ(t->conn_reset + t->conn_refused + t->conn_aborted_local, 0u);
        EXPECT_EQ(t->rst_no_conn + t->bad_ack_rst + t->challenge_acks, 0u);
    }

    // Engine: every segment one side's stack emitted became one frame the other side received.
    EXPECT_EQ(ce.tx_packets, ct.tx_segments + ce.arp_requests_tx + ce.arp_replies_tx);
    EXPECT_EQ(se.tx_packets, stc.tx_segments + se.arp_requests_tx + se.arp_replies_tx);
    EXPECT_EQ(se.rx_packets, ce.tx_packets);
    EXPECT_EQ(ce.rx_packets, se.tx_packets);
    EXPECT_EQ(stc.rx_segments, ct.tx_segments);
    EXPECT_EQ(ct.rx_segments, stc.tx_segments);
    for (const EngineCounters* e : {&ce, &se}) {
        EXPECT_EQ(e->rx_dropped, 0u);
        EXPECT_EQ(e->rx_not_ours, 0u);
        EXPECT_EQ(e->tx_ring_full, 0u);
        EXPECT_EQ(e->tx_no_mbuf, 0u);
        EXPECT_EQ(e->tx_build_failed, 0u);
        EXPECT_EQ(e->tx_no_arp + e->arp_held + e->arp_requests_tx, 0u);  // static neighbours
    }
    EXPECT_EQ(drop_sum(*cw), 0u);
    EXPECT_EQ(drop_sum(*sw), 0u);

    // Tables, TIME_WAIT records and the timer wheel are empty on both sides.
    for (Worker* w : {cw.get(), sw.get()}) {
        tcp::Stack& st = w->stack();
        EXPECT_EQ(st.active_conns(), 0u);
        EXPECT_EQ(st.half_open(), 0u);
        EXPECT_EQ(st.timewait_count(), 0u);
        EXPECT_EQ(st.table_size(), 0u);
        EXPECT_EQ(st.timers_pending(), 0u);
        EXPECT_TRUE(st.out().empty());
    }

    // The published snapshot agrees with the live counters.
    sw->publish();
    cw->publish();
    const WorkerStats ss = sw->read();
    const WorkerStats cs = cw->read();
    EXPECT_EQ(ss.engine.rx_packets, se.rx_packets);
    EXPECT_EQ(ss.tcp.tw_expired, kConns);
    EXPECT_EQ(ss.app.conn_completed, kConns);
    EXPECT_EQ(ss.timewait, 0u);
    EXPECT_EQ(cs.engine.tx_packets, ce.tx_packets);
    EXPECT_EQ(cs.app.conn_completed, kConns);
    EXPECT_TRUE(cs.app_done);
    EXPECT_EQ(cs.active, 0u);

    // Every mbuf is back: rings empty, pools full (rte_mempool_avail_count includes the lcore cache).
    EXPECT_EQ(rte_ring_count(pair->ring_ab()), 0u);
    EXPECT_EQ(rte_ring_count(pair->ring_ba()), 0u);
    EXPECT_EQ(rte_mempool_avail_count(spool.get()), kPoolMbufs);
    EXPECT_EQ(rte_mempool_avail_count(cpool.get()), kPoolMbufs);

    cw.reset();
    sw.reset();
    sport->close();
    cport->close();
}

// ---------------------------------------------------------------------------------------------------
// 2. net_pcap replay: a capture of a peer's frames in, the worker's answers out.

constexpr Ipv4 kOurIp{0x0A09'0001};   // 10.9.0.1
constexpr Ipv4 kPeerIp{0x0A09'0002};  // 10.9.0.2
constexpr Mac kPeerMac{{0x02, 0x00, 0x5e, 0x09, 0x00, 0x02}};

std::vector<uint8_t> peer_tcp_frame(const Mac& our_mac, uint16_t sport, uint16_t dport, uint8_t flags, Seq seq, Seq ack,
                                    const wire::TcpOptions& opt, uint16_t ip_id) {
    wire::L2L3 h;
    h.l2.src = kPeerMac;
    h.l2.dst = our_mac;
    h.ip_src = kPeerIp;
    h.ip_dst = kOurIp;
    h.ip_id = ip_id;
    wire::TcpSegment s;
    s.src_port = sport;
    s.dst_port = dport;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = 64240;
    s.opt = opt;
    std::vector<uint8_t> b(256);
    const uint32_t n = wire::build_tcp_frame(b.data(), static_cast<uint32_t>(b.size()), h, s, wire::CsumMode::Software);
    b.resize(n);
    return b;
}

// An ICMP echo request (RFC 792) from the peer to us, checksums computed here.
std::vector<uint8_t> peer_echo_request(const Mac& our_mac, uint16_t id, uint16_t seq, const std::vector<uint8_t>& data) {
    const uint32_t ip_len = wire::ipv4::kMinHeader + wire::icmp::kEchoHeaderLen + static_cast<uint32_t>(data.size());
    std::vector<uint8_t> f(wire::eth::kHeaderLen + ip_len, 0);
    wire::store_mac(f.data() + wire::eth::kOffDst, our_mac);
    wire::store_mac(f.data() + wire::eth::kOffSrc, kPeerMac);
    store_be16(f.data() + wire::eth::kOffType, wire::eth::kTypeIpv4);
    uint8_t* ip = f.data() + wire::eth::kHeaderLen;
    ip[wire::ipv4::kOffVerIhl] = 0x45;
    store_be16(ip + wire::ipv4::kOffTotalLen, static_cast<uint16_t>(ip_len));
    store_be16(ip + wire::ipv4::kOffId, 0x4242);
    store_be16(ip + wire::ipv4::kOffFrag, wire::ipv4::kFlagDf);
    ip[wire::ipv4::kOffTtl] = 64;
    ip[wire::ipv4::kOffProto] = wire::ipv4::kProtoIcmp;
    store_be32(ip + wire::ipv4::kOffSrc, kPeerIp.v);
    store_be32(ip + wire::ipv4::kOffDst, kOurIp.v);
    wire::store_raw16(ip + wire::ipv4::kOffCsum, wire::csum_finish(wire::csum_add(ip, wire::ipv4::kMinHeader, 0)));
    uint8_t* ic = ip + wire::ipv4::kMinHeader;
    ic[wire::icmp::kOffType] = wire::icmp::kTypeEchoRequest;
    store_be16(ic + wire::icmp::kOffId, id);
    store_be16(ic + wire::icmp::kOffSeq, seq);
    std::memcpy(ic + wire::icmp::kEchoHeaderLen, data.data(), data.size());
    const uint32_t icmp_len = ip_len - wire::ipv4::kMinHeader;
    wire::store_raw16(ic + wire::icmp::kOffCsum, wire::csum_finish(wire::csum_add(ic, icmp_len, 0)));
    return f;
}

TEST(EnginePcap, ReplayedPeerFramesGetExactlyTheRightAnswers) {
    TempDir dir;
    ASSERT_FALSE(dir.path.empty());
    const std::string in = (dir.path / "in.pcap").string();
    const std::string out = (dir.path / "out.pcap").string();

    // The peer's SYN options, as Linux sends them; sequence numbers and TSval near 2^32 so the answers wrap.
    wire::TcpOptions syn_opt;
    syn_opt.has_mss = true;
    syn_opt.mss = 1460;
    syn_opt.has_wscale = true;
    syn_opt.wscale = 7;
    syn_opt.sack_permitted = true;
    syn_opt.has_ts = true;
    syn_opt.tsval = 0xFFFF'FF00u;
    syn_opt.tsecr = 0;
    const Seq syn_seq{0xFFFF'FFF0u};
    const Seq syn81_seq{0xFFFF'FFFFu};       // RST's ACK = seq + 1 wraps to 0
    const Seq stray_ack{0xFFFF'FFFEu};
    std::vector<uint8_t> echo_data(40);
    for (size_t i = 0; i < echo_data.size(); ++i) echo_data[i] = static_cast<uint8_t>(0xA0 + i);

    // net_pcap opens its input when probed and makes up the port's MAC (it refuses mac_addr_set), but the
    // frames must be addressed to that MAC. So: probe on an empty capture, open the port, read its MAC, write
    // the real capture, then stop and start the device, which reopens the input (and the output) by name.
    {
        auto w = io::PcapWriter::open(in);
        ASSERT_TRUE(w.ok()) << w.error();
        w->close();
    }
    constexpr uint32_t kPoolMbufs = 511;
    io::MempoolPtr pool = pool_or_fail("eng_pcap", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    const std::string vdev = "net_pcap_eng";
    auto pid = io::probe_vdev(vdev + ",rx_pcap=" + in + ",tx_pcap=" + out);
    ASSERT_TRUE(pid.ok()) << pid.error();
    auto port = open_port(*pid, pool.get());
    ASSERT_TRUE(port);
    EXPECT_EQ(port->info().driver, "net_pcap");
    const Mac our_mac = port->mac();
    ASSERT_FALSE(our_mac == Mac{});

    std::vector<std::vector<uint8_t>> frames;
    {
        std::vector<uint8_t> arp(64);
        const uint32_t n = wire::build_arp_request(arp.data(), 64, kPeerMac, kPeerIp, kOurIp);
        ASSERT_NE(n, 0u);
        arp.resize(n);
        frames.push_back(arp);
    }
    frames.push_back(peer_echo_request(our_mac, 0xBEEF, 0x0102, echo_data));
    frames.push_back(peer_tcp_frame(our_mac, 40000, 80, wire::tcpflag::SYN, syn_seq, Seq{0}, syn_opt, 1));
    frames.push_back(peer_tcp_frame(our_mac, 40001, 81, wire::tcpflag::SYN, syn81_seq, Seq{0}, syn_opt, 2));
    frames.push_back(peer_tcp_frame(our_mac, 40002, 80, wire::tcpflag::ACK, Seq{0x1234'5678u}, stray_ack, {}, 3));
    {
        auto bad = peer_tcp_frame(our_mac, 40003, 80, wire::tcpflag::SYN, Seq{1000}, Seq{0}, syn_opt, 4);
        bad[wire::eth::kHeaderLen + wire::ipv4::kMinHeader + wire::tcp::kOffCsum] ^= 0x5a;
        frames.push_back(bad);
    }
    {
        auto cut = peer_tcp_frame(our_mac, 40004, 80, wire::tcpflag::SYN, Seq{2000}, Seq{0}, syn_opt, 5);
        cut.resize(40);  // the IPv4 header says 60 bytes, 26 are there
        frames.push_back(cut);
    }
    // Every frame parses as intended before it goes in (checksums verified), except the two broken ones.
    for (size_t i = 0; i < frames.size(); ++i) {
        wire::ParsedFrame pf;
        const wire::Drop want = i == 5 ? wire::Drop::TcpBadChecksum : i == 6 ? wire::Drop::Ipv4BadTotalLength
                                                                             : wire::Drop::None;
        EXPECT_EQ(wire::parse_frame(frames[i].data(), static_cast<uint32_t>(frames[i].size()), {}, pf), want) << i;
    }
    {
        auto w = io::PcapWriter::open(in);
        ASSERT_TRUE(w.ok()) << w.error();
        uint64_t ts = 1'700'000'000'000'000'000;
        for (const auto& f : frames) w->write(f.data(), static_cast<uint32_t>(f.size()), ts += 1000);
        w->close();
    }
    ASSERT_EQ(rte_eth_dev_stop(*pid), 0);
    ASSERT_EQ(rte_eth_dev_start(*pid), 0);

    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();
    WorkerConfig wc = worker_config(*port, pool.get(), kOurIp, kOurIp);
    wc.stack.cookies = tcp::CookieMode::Off;  // the stray ACK is not taken for a cookie: it gets a RST
    Server server(ServerConfig{});
    auto w = std::make_unique<Worker>(wc, rate, t0, kServerSecrets, &server);
    w->stack().listen(80);
    // net_pcap delivers the file once and then nothing. Run until all 7 frames are in, then a while longer
    // (well under the SYN-ACK's 1 s RTO, so nothing is retransmitted into the capture).
    Instant now = t0;
    while (w->counters().rx_packets < frames.size() && now < t0 + rate.ms(500)) w->run_once(now = tsc_now());
    for (int i = 0; i < 1000; ++i) w->run_once(tsc_now());
    w->flush();
    ASSERT_LT(rate.to_ms(tsc_now() - t0), 900u) << "ran into the SYN-ACK retransmission timeout";

    const EngineCounters& e = w->counters();
    EXPECT_EQ(e.rx_packets, 7u);
    EXPECT_EQ(e.rx_dropped, 2u);
    EXPECT_EQ(drops_of(*w, wire::Drop::TcpBadChecksum), 1u);
    EXPECT_EQ(drops_of(*w, wire::Drop::Ipv4BadTotalLength), 1u);
    EXPECT_EQ(drop_sum(*w), 2u);
    EXPECT_EQ(e.arp_rx, 1u);
    EXPECT_EQ(e.arp_replies_tx, 1u);
    EXPECT_EQ(e.icmp_echo_replies, 1u);
    EXPECT_EQ(e.arp_requests_tx, 0u);  // the peer's MAC was learnt from its ARP request
    EXPECT_EQ(e.arp_held + e.tx_no_arp + e.tx_no_mbuf + e.tx_ring_full + e.tx_build_failed, 0u);
    EXPECT_EQ(e.rx_not_ours, 0u);
    EXPECT_EQ(e.tx_packets, 5u);
    const tcp::TcpCounters& t = w->stack().counters();
    EXPECT_EQ(t.rx_segments, 3u);
    EXPECT_EQ(t.tx_segments, 3u);
    EXPECT_EQ(t.passive_opens, 1u);
    EXPECT_EQ(t.rst_no_conn, 1u);  // SYN to port 81
    EXPECT_EQ(t.bad_ack_rst, 1u);  // ACK to the listener on 80, cookies off
    EXPECT_EQ(t.syncookies_failed + t.syncookies_sent, 0u);
    EXPECT_EQ(w->stack().half_open(), 1u);
    EXPECT_EQ(w->stack().active_conns(), 0u);  // a SYN-RECEIVED record, not a Tcb
    const uint32_t conn = w->stack().find(kOurIp, 80, kPeerIp, 40000);
    ASSERT_EQ(conn & tcp::kSynBit, tcp::kSynBit);
    EXPECT_EQ(w->stack().state_of(conn), tcp::State::SynReceived);
    const Seq synrcvd_iss = w->stack().syn(conn & tcp::kIndexMask).iss;

    port->close();  // stops the device: net_pcap closes (flushes) the TX capture
    w.reset();
    ASSERT_TRUE(io::remove_vdev(vdev).ok());
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);

    // What the worker sent, frame by frame.
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(out.c_str(), errbuf);
    ASSERT_NE(p, nullptr) << errbuf;
    std::vector<std::vector<uint8_t>> sent;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &h, &data) == 1) {
        EXPECT_EQ(h->caplen, h->len);
        sent.emplace_back(data, data + h->caplen);
    }
    pcap_close(p);
    ASSERT_EQ(sent.size(), 5u);

    bool seen_arp = false, seen_echo = false, seen_synack = false, seen_rst81 = false, seen_rst = false;
    for (size_t i = 0; i < sent.size(); ++i) {
        wire::ParsedFrame f;
        ASSERT_EQ(wire::parse_frame(sent[i].data(), static_cast<uint32_t>(sent[i].size()), {}, f), wire::Drop::None)
            << "frame " << i << " does not parse (checksums are verified)";
        // Only ARP is padded to Ethernet's 60-byte minimum by the engine; IPv4 frames go out at their IP
        // length (wire/frame.hpp: the NIC pads), so their lengths are exact here.
        const size_t want_len = f.kind == wire::FrameKind::Arp        ? 60
                                : f.kind == wire::FrameKind::IcmpEcho ? frames[1].size()
                                : (f.tcp.flags & wire::tcpflag::SYN)  ? 14 + 20 + 20 + 20  // MSS, SACK-perm+TS, WS
                                                                      : 14 + 20 + 20;
        EXPECT_EQ(sent[i].size(), want_len) << "frame " << i;
        EXPECT_EQ(f.src, our_mac) << i;
        EXPECT_EQ(f.dst, kPeerMac) << i;
        switch (f.kind) {
        case wire::FrameKind::Arp:
            EXPECT_FALSE(seen_arp);
            seen_arp = true;
            EXPECT_EQ(f.arp.op, wire::arp::kOpReply);
            EXPECT_EQ(f.arp.sha, our_mac);
            EXPECT_EQ(f.arp.spa, kOurIp);
            EXPECT_EQ(f.arp.tha, kPeerMac);
            EXPECT_EQ(f.arp.tpa, kPeerIp);
            break;
        case wire::FrameKind::IcmpEcho:
            EXPECT_FALSE(seen_echo);
            seen_echo = true;
            EXPECT_EQ(f.ip_src, kOurIp);
            EXPECT_EQ(f.ip_dst, kPeerIp);
            EXPECT_EQ(f.icmp.type, wire::icmp::kTypeEchoReply);
            EXPECT_EQ(f.icmp.code, 0);
            EXPECT_EQ(f.icmp.id, 0xBEEF);
            EXPECT_EQ(f.icmp.seq, 0x0102);
            ASSERT_EQ(f.icmp.data_len, echo_data.size());
            EXPECT_EQ(std::memcmp(f.icmp.data, echo_data.data(), echo_data.size()), 0);
            break;
        case wire::FrameKind::Tcp: {
            EXPECT_EQ(f.ip_src, kOurIp);
            EXPECT_EQ(f.ip_dst, kPeerIp);
            const wire::TcpSegment& s = f.tcp;
            EXPECT_EQ(s.payload_len, 0u);
            if (s.dst_port == 40000) {
                EXPECT_FALSE(seen_synack);
                seen_synack = true;
                EXPECT_EQ(s.src_port, 80);
                EXPECT_EQ(s.flags, wire::tcpflag::SYN | wire::tcpflag::ACK);
                EXPECT_EQ(s.ack.raw(), 0xFFFF'FFF1u);
                EXPECT_EQ(s.window, 65535);  // min(rcv_wnd, 65535): a SYN-ACK's window is not scaled
                EXPECT_TRUE(s.opt.has_mss);
                EXPECT_EQ(s.opt.mss, 1460);
                EXPECT_TRUE(s.opt.has_wscale);
                EXPECT_EQ(s.opt.wscale, 2);  // rcv_wnd 262140 >> 2 fits 16 bits (RFC 7323 §2.2)
                EXPECT_TRUE(s.opt.sack_permitted);
                EXPECT_TRUE(s.opt.has_ts);
                EXPECT_EQ(s.opt.tsecr, syn_opt.tsval);
                EXPECT_EQ(s.opt.num_sack, 0);
                EXPECT_EQ(s.seq, synrcvd_iss);  // the ISN the SYN-RECEIVED TCB holds
            } else if (s.dst_port == 40001) {
                EXPECT_FALSE(seen_rst81);
                seen_rst81 = true;
                EXPECT_EQ(s.src_port, 81);
                EXPECT_EQ(s.flags, wire::tcpflag::RST | wire::tcpflag::ACK);
                EXPECT_EQ(s.seq.raw(), 0u);
                EXPECT_EQ(s.ack.raw(), 0u);  // 0xFFFFFFFF + 1 (the SYN)
                EXPECT_FALSE(s.opt.has_ts || s.opt.has_mss);
            } else if (s.dst_port == 40002) {
                EXPECT_FALSE(seen_rst);
                seen_rst = true;
                EXPECT_EQ(s.src_port, 80);
                EXPECT_EQ(s.flags, wire::tcpflag::RST);
                EXPECT_EQ(s.seq, stray_ack);
                EXPECT_EQ(s.ack.raw(), 0u);
            } else {
                ADD_FAILURE() << "unexpected segment to port " << s.dst_port << " flags " << int{s.flags};
            }
            break;
        }
        }
    }
    EXPECT_TRUE(seen_arp && seen_echo && seen_synack && seen_rst81 && seen_rst);
}

// An ARP reply is 42 bytes padded to 60 in an mbuf the engine allocates: the 18 padding bytes must be zeros
// (RFC 1042: "padded (with octets of zero)"), not what that mbuf held before ("Etherleak", CVE-2003-0001).
// Every mbuf of the pool is filled with 0xEE first, so stale bytes would show. The request comes in through
// a ring pair: it is enqueued on port A's RX ring and the reply read from its TX ring.
TEST(EngineArp, ReplyPaddingIsZerosNotStaleMbufBytes) {
    constexpr uint32_t kPoolMbufs = 255;
    io::MempoolPtr pool = pool_or_fail("eng_arppad", kPoolMbufs, 0);
    ASSERT_TRUE(pool);
    {
        std::vector<rte_mbuf*> all(kPoolMbufs);
        ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool.get(), all.data(), kPoolMbufs), 0);
        for (rte_mbuf* m : all) std::memset(m->buf_addr, 0xEE, m->buf_len);
        rte_pktmbuf_free_bulk(all.data(), kPoolMbufs);
    }
    auto pair = io::RingPair::create("engarp", 64);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto port = open_port(pair->port_a(), pool.get());
    ASSERT_TRUE(port);
    Server server(ServerConfig{});
    const WorkerConfig wc = worker_config(*port, pool.get(), kOurIp, kOurIp);
    Worker w(wc, tsc_rate(), tsc_now(), kServerSecrets, &server);

    rte_mbuf* req = rte_pktmbuf_alloc(pool.get());
    ASSERT_NE(req, nullptr);
    const uint32_t n = wire::build_arp_request(rte_pktmbuf_mtod(req, uint8_t*), 64, kPeerMac, kPeerIp, kOurIp);
    ASSERT_EQ(n, 42u);
    req->data_len = static_cast<uint16_t>(n);
    req->pkt_len = n;
    ASSERT_EQ(rte_ring_enqueue(pair->ring_ba(), req), 0);  // port A receives from ring "_ba"
    EXPECT_EQ(w.run_once(tsc_now()), 1u);
    EXPECT_EQ(w.counters().arp_replies_tx, 1u);

    void* obj = nullptr;
    ASSERT_EQ(rte_ring_dequeue(pair->ring_ab(), &obj), 0);
    auto* reply = static_cast<rte_mbuf*>(obj);
    const uint8_t* b = rte_pktmbuf_mtod(reply, const uint8_t*);
    ASSERT_EQ(rte_pktmbuf_data_len(reply), 60u);
    wire::ParsedFrame f;
    ASSERT_EQ(wire::parse_frame(b, 60, {}, f), wire::Drop::None);
    EXPECT_EQ(f.arp.op, wire::arp::kOpReply);
    const std::vector<uint8_t> padding(b + 42, b + 60);
    EXPECT_EQ(padding, std::vector<uint8_t>(18, 0)) << "ARP reply padding carries stale mbuf bytes";
    rte_pktmbuf_free(reply);
    port->close();
}

// No static neighbours: the client resolves the server by ARP. Its first SYNs wait in the hold queue for the
// ARP reply and leave when it comes. The server never asks: it learns the client's first address from the
// ARP request and the second one (connections 600 on) from the source of the SYNs themselves.
TEST(EngineArp, NeighboursResolvedOverARingPairAndHeldFramesReleased) {
    constexpr uint64_t kConns = 1000;
    constexpr uint32_t kPoolMbufs = 4095;
    const Ipv4 server_ip{0x0A00'0001};
    const Ipv4 client_lo{0x0A01'0001}, client_hi{0x0A01'0002};
    io::MempoolPtr spool = pool_or_fail("eng_arp_s", kPoolMbufs, 64);
    io::MempoolPtr cpool = pool_or_fail("eng_arp_c", kPoolMbufs, 64);
    ASSERT_TRUE(spool && cpool);
    auto pair = io::RingPair::create("engarpr", 4096);
    ASSERT_TRUE(pair.ok()) << pair.error();
    auto sport = open_port(pair->port_a(), spool.get());
    auto cport = open_port(pair->port_b(), cpool.get());
    ASSERT_TRUE(sport && cport);
    const TscRate rate = tsc_rate();
    const Instant t0 = tsc_now();

    Server server(ServerConfig{});
    ClientConfig ccfg;
    ccfg.src_lo = client_lo;
    ccfg.src_hi = client_hi;
    ccfg.sport_lo = 20000;
    ccfg.sport_hi = 20599;  // 600 ports per address: connections 600.. come from the second address
    ccfg.dst = server_ip;
    ccfg.concurrency = 200;
    ccfg.max_connections = kConns;
    ccfg.response_bytes = http_response(64, false).size();
    Client client(ccfg, rate);
    WorkerConfig ws = worker_config(*sport, spool.get(), server_ip, server_ip);
    WorkerConfig wc = worker_config(*cport, cpool.get(), client_lo, client_hi);
    client.set_slots(wc.stack.max_conns);
    Worker sw(ws, rate, t0, kServerSecrets, &server);
    Worker cw(wc, rate, t0, kClientSecrets, &client);
    sw.stack().listen(80);

    Instant now = t0;
    while (!client.done() && now < t0 + rate.ms(800)) {  // inside the SYN's 1 s RTO
        cw.run_once(now = tsc_now());
        sw.run_once(tsc_now());
    }
    ASSERT_TRUE(client.done()) << "completed " << client.c.conn_completed;
    for (int i = 0; i < 8; ++i) {
        cw.run_once(tsc_now());
        sw.run_once(tsc_now());
    }
    EXPECT_EQ(client.c.conn_completed, kConns);
    EXPECT_EQ(client.c.conn_failed, 0u);
    EXPECT_EQ(server.c.conn_completed, kConns);
    // Connections 600 on came from the second address; the server holds their TIME_WAIT records.
    EXPECT_NE(sw.stack().find(server_ip, 80, client_hi, 20000) & tcp::kTwBit, 0u);
    const EngineCounters& ce = cw.counters();
    const EngineCounters& se = sw.counters();
    // One request (the reply comes long before the 100 ms per-address retry), one reply.
    EXPECT_EQ(ce.arp_requests_tx, 1u);
    EXPECT_EQ(se.arp_replies_tx, 1u);
    EXPECT_EQ(se.arp_rx, 1u);
    EXPECT_EQ(ce.arp_rx, 1u);
    EXPECT_EQ(se.arp_requests_tx + ce.arp_replies_tx, 0u);
    // The client's first launch (one burst of 32 SYNs) waited for the server's MAC.
    EXPECT_EQ(ce.arp_held, 32u);
    EXPECT_EQ(ce.arp_released, 32u);
    EXPECT_EQ(se.arp_held, 0u);
    EXPECT_EQ(ce.tx_no_arp + se.tx_no_arp, 0u);
    // Frames == segments + ARP on both sides, and what one sent the other received.
    EXPECT_EQ(ce.tx_packets, cw.stack().counters().tx_segments + ce.arp_requests_tx + ce.arp_replies_tx);
    EXPECT_EQ(se.tx_packets, sw.stack().counters().tx_segments + se.arp_requests_tx + se.arp_replies_tx);
    EXPECT_EQ(se.rx_packets, ce.tx_packets);
    EXPECT_EQ(ce.rx_packets, se.tx_packets);
    EXPECT_EQ(cw.stack().counters().syn_rtx + sw.stack().counters().synack_rtx, 0u);
    EXPECT_EQ(rte_mempool_avail_count(spool.get()), kPoolMbufs);
    EXPECT_EQ(rte_mempool_avail_count(cpool.get()), kPoolMbufs);
    sport->close();
    cport->close();
}

// ---------------------------------------------------------------------------------------------------
// 3. Drop and full-ring paths.

ClientConfig syn_client(uint64_t n) {
    ClientConfig c;
    c.src_lo = c.src_hi = Ipv4{0x0A01'0001};
    c.dst = Ipv4{0x0A00'0001};
    c.dport = 80;
    c.concurrency = 100'000;
    c.max_connections = n;
    c.launch_burst = 32;
    return c;
}

// Runs a client worker alone until it has launched everything, then `extra` turns more. All well inside
// the SYN's 1 s RTO: each SYN leaves exactly once.
void launch_all(Worker& w, const Client& c, uint64_t n, int extra) {
    const TscRate rate = tsc_rate();
    const Instant start = tsc_now();
    Instant now = start;
    while (c.c.conn_attempted < n && now < start + rate.ms(500)) w.run_once(now = tsc_now());
    for (int i = 0; i < extra; ++i) w.run_once(tsc_now());
    ASSERT_EQ(c.c.conn_attempted, n);
    ASSERT_LT(rate.to_ms(tsc_now() - start), 900u) << "ran into the SYN retransmission timeout";
}

TEST(EngineDrops, TxRingNobodyDrainsCountsRingFullAndFreesTheRest) {
    constexpr uint32_t kRing = 64;
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kPoolMbufs = 1023;
    io::MempoolPtr pool = pool_or_fail("eng_ringfull", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engfull", kRing);
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());  // port B is never opened nor read
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 2000));

        const EngineCounters& e = w.counters();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
        EXPECT_EQ(w.stack().counters().syn_rtx, 0u);
        EXPECT_EQ(e.tx_packets, kRing);
        EXPECT_EQ(e.tx_ring_full, kSyns - kRing);
        EXPECT_EQ(e.tx_no_mbuf, 0u);
        EXPECT_EQ(e.rx_packets, 0u);
        EXPECT_EQ(rte_ring_count(pair->ring_ab()), kRing);
        // The ring holds 64 SYNs; every refused frame went back to the pool.
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kRing);
        EXPECT_EQ(w.stack().active_conns(), kSyns);  // SYN-SENT, waiting for their RTO
        port->close();
    }  // the pair frees the 64 SYNs left in its ring
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

// The same full ring, but more frames per turn than the TX batch holds (64): TxBatch::push() flushes the full
// batch itself, in the middle of the turn, and what that flush cannot place is dropped too. Every SYN the
// stack emitted must be accounted for as sent or ring-full; and Worker::flush() (shutdown) likewise.
TEST(EngineDrops, RingFullDropsInMidTurnFlushesAndInFlushAreCounted) {
    constexpr uint32_t kRing = 64;
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kPoolMbufs = 1023;
    io::MempoolPtr pool = pool_or_fail("eng_ringfull2", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engfull2", kRing);
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        ClientConfig cc = syn_client(kSyns);
        cc.launch_burst = 128;  // two full TX batches per turn
        Client client(cc, rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 10));
        const EngineCounters& e = w.counters();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
        EXPECT_EQ(e.tx_packets, kRing);
        EXPECT_EQ(e.tx_ring_full, kSyns - kRing) << "ring-full drops of TxBatch::push()'s own flushes are lost";
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kRing);

        // One more SYN, sent by Worker::flush() (what a lane does when it stops): the ring is still full.
        const uint64_t full_before = e.tx_ring_full;
        uint32_t conn = 0;
        ASSERT_EQ(w.stack().connect(Ipv4{0x0A01'0001}, 9999, Ipv4{0x0A00'0001}, 80, 0, tsc_now(), &conn),
                  tcp::Stack::ConnectResult::Ok);
        w.flush();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns + 1);
        EXPECT_EQ(e.tx_packets, kRing);
        EXPECT_EQ(e.tx_ring_full, full_before + 1) << "Worker::flush() does not count its ring-full drops";
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kRing);
        port->close();
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

// Nobody answers ARP: the SYNs wait in the hold queue (256 frames at most, like Linux's unres_qlen), the rest
// are counted as tx_no_arp, one request goes out, and the worker frees what it still holds when destroyed.
TEST(EngineDrops, UnansweredArpHoldsAtMost256FramesAndTheWorkerFreesThem) {
    constexpr uint64_t kSyns = 300;
    constexpr uint32_t kHold = 256;  // Worker::kHoldSlots
    constexpr uint32_t kPoolMbufs = 1023;
    io::MempoolPtr pool = pool_or_fail("eng_noarp", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engnoarp", 1024);
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        {
            Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
            ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 100));
            const EngineCounters& e = w.counters();
            EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
            EXPECT_EQ(e.arp_requests_tx, 1u);  // one per address per 100 ms
            EXPECT_EQ(e.tx_packets, 1u);       // the request alone
            EXPECT_EQ(e.arp_held, kHold);
            EXPECT_EQ(e.tx_no_arp, kSyns - kHold);
            EXPECT_EQ(e.arp_released, 0u);
            EXPECT_EQ(rte_ring_count(pair->ring_ab()), 1u);
            // The request is a broadcast who-has for the server from our first address.
            rte_mbuf* m = nullptr;
            ASSERT_EQ(rte_ring_dequeue(pair->ring_ab(), reinterpret_cast<void**>(&m)), 0);
            wire::ParsedFrame f;
            ASSERT_EQ(wire::parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m), {}, f),
                      wire::Drop::None);
            EXPECT_EQ(f.kind, wire::FrameKind::Arp);
            EXPECT_EQ(f.dst, Mac::broadcast());
            EXPECT_EQ(f.arp.op, wire::arp::kOpRequest);
            EXPECT_EQ(f.arp.spa, Ipv4{0x0A01'0001});
            EXPECT_EQ(f.arp.tpa, Ipv4{0x0A00'0001});
            EXPECT_EQ(f.arp.sha, port->mac());
            rte_pktmbuf_free(m);
            EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs - kHold);
        }  // ~Worker frees the held frames
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

TEST(EngineDrops, TinyPoolCountsNoMbufAndRecoversOnceTheRingIsDrained) {
    constexpr uint32_t kPoolMbufs = 63;  // 2^6 - 1
    constexpr uint64_t kSyns = 300;
    io::MempoolPtr pool = pool_or_fail("eng_tiny", kPoolMbufs, 0);  // no cache: every mbuf is countable
    ASSERT_TRUE(pool);
    {
        auto pair = io::RingPair::create("engtiny", 1024);  // room for more than the pool: only mbufs run out
        ASSERT_TRUE(pair.ok()) << pair.error();
        auto port = open_port(pair->port_a(), pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 2000));

        const EngineCounters& e = w.counters();
        EXPECT_EQ(w.stack().counters().tx_segments, kSyns);
        EXPECT_EQ(e.tx_packets, kPoolMbufs);
        EXPECT_EQ(e.tx_no_mbuf, kSyns - kPoolMbufs);
        EXPECT_EQ(e.tx_ring_full, 0u);
        EXPECT_EQ(rte_ring_count(pair->ring_ab()), kPoolMbufs);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), 0u);

        // Drain the ring by hand (port B's RX): the pool is whole again.
        rte_mbuf* got[64];
        uint32_t drained = 0;
        uint16_t n = 0;
        while ((n = rte_ring_dequeue_burst(pair->ring_ab(), reinterpret_cast<void**>(got), 64, nullptr)) != 0) {
            drained += n;
            rte_pktmbuf_free_bulk(got, n);
        }
        EXPECT_EQ(drained, kPoolMbufs);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
}

TEST(EngineDrops, NetNullServerDropsGarbageAndSendsNothing) {
    constexpr uint32_t kPoolMbufs = 1023;
    constexpr int kTurns = 200;
    io::MempoolPtr pool = pool_or_fail("eng_null_s", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    ASSERT_NO_FATAL_FAILURE(zero_pool(pool.get(), kPoolMbufs));
    const std::string vdev = "net_null_engs";
    auto pid = io::probe_vdev(vdev + ",size=64");
    ASSERT_TRUE(pid.ok()) << pid.error();
    {
        auto port = open_port(*pid, pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A00'0001}, Ipv4{0x0A00'0001});
        Server server(ServerConfig{});
        Worker w(wc, rate, tsc_now(), kServerSecrets, &server);
        w.stack().listen(80);
        for (int i = 0; i < kTurns; ++i) EXPECT_EQ(w.run_once(tsc_now()), 32u);  // net_null fills every burst
        w.flush();
        const EngineCounters& e = w.counters();
        // 64 zero bytes: ethertype 0, neither IPv4 nor ARP.
        EXPECT_EQ(e.rx_packets, uint64_t{kTurns} * 32);
        EXPECT_EQ(e.rx_bursts, uint64_t{kTurns});
        EXPECT_EQ(e.rx_dropped, e.rx_packets);
        EXPECT_EQ(drops_of(w, wire::Drop::UnsupportedEthertype), e.rx_packets);
        EXPECT_EQ(drop_sum(w), e.rx_packets);
        EXPECT_EQ(e.tx_packets, 0u);
        EXPECT_EQ(w.stack().counters().rx_segments + w.stack().counters().tx_segments, 0u);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    ASSERT_TRUE(io::remove_vdev(vdev).ok());
}

TEST(EngineDrops, NetNullClientSynsVanishAndEveryMbufComesBack) {
    constexpr uint32_t kPoolMbufs = 1023;
    constexpr uint64_t kSyns = 300;
    io::MempoolPtr pool = pool_or_fail("eng_null_c", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    ASSERT_NO_FATAL_FAILURE(zero_pool(pool.get(), kPoolMbufs));
    const std::string vdev = "net_null_engc";
    auto pid = io::probe_vdev(vdev);
    ASSERT_TRUE(pid.ok()) << pid.error();
    {
        auto port = open_port(*pid, pool.get());
        ASSERT_TRUE(port);
        const TscRate rate = tsc_rate();
        WorkerConfig wc = worker_config(*port, pool.get(), Ipv4{0x0A01'0001}, Ipv4{0x0A01'0001});
        wc.static_neighbour = true;
        wc.neighbour_mac = Mac{{0x02, 0, 0, 0, 0, 0x02}};
        Client client(syn_client(kSyns), rate);
        client.set_slots(wc.stack.max_conns);
        Worker w(wc, rate, tsc_now(), kClientSecrets, &client);
        ASSERT_NO_FATAL_FAILURE(launch_all(w, client, kSyns, 100));
        w.flush();
        const EngineCounters& e = w.counters();
        EXPECT_EQ(e.tx_packets, kSyns);  // net_null takes every frame and frees it
        EXPECT_EQ(e.tx_ring_full + e.tx_no_mbuf, 0u);
        // net_null hands out mbufs without writing them: once the SYNs it "sent" are freed and reused, RX
        // returns their first 64 bytes (a 74-byte SYN cut to 64: IPv4 total length past the end). Whatever
        // came in, none of it reached the stack.
        EXPECT_GT(e.rx_packets, 0u);
        EXPECT_EQ(e.rx_dropped + e.rx_not_ours, e.rx_packets);
        EXPECT_EQ(drop_sum(w), e.rx_dropped);
        EXPECT_EQ(drops_of(w, wire::Drop::UnsupportedEthertype) + drops_of(w, wire::Drop::Ipv4BadTotalLength),
                  e.rx_dropped);
        EXPECT_EQ(w.stack().counters().rx_segments, 0u);
        EXPECT_EQ(client.c.conn_connected, 0u);
        EXPECT_EQ(rte_mempool_avail_count(pool.get()), kPoolMbufs);
        port->close();
    }
    ASSERT_TRUE(io::remove_vdev(vdev).ok());
}

}  // namespace
}  // namespace synwave::engine
