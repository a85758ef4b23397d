// net_pcap replay: a hand-built capture of a peer's frames in (ARP request, ICMP echo, SYNs to an open and a
// closed port, a stray ACK, a frame with a bad TCP checksum, a truncated one), the worker's answers out, read
// back with libpcap and checked byte by byte.
#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/endian.hpp"
#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "engine_test_util.hpp"
#include "io/mempool.hpp"
#include "io/pcap.hpp"
#include "io/vdev.hpp"
#include "temp_dir.hpp"
#include "wire/checksum.hpp"
#include "wire/frame.hpp"

namespace synwave::engine {
namespace {

using namespace testutil;
using synwave::testutil::TempDir;

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
    TempDir dir("swtest-engine");
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
    ASSERT_TRUE(run_replay(*w, frames.size(), rate, t0)) << "ran into the SYN-ACK retransmission timeout";

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
        case wire::FrameKind::Icmp6Echo:
        case wire::FrameKind::NdSolicit:
        case wire::FrameKind::NdAdvert: ADD_FAILURE() << "IPv6 frame " << i << " from an IPv4-only replay"; break;
        }
    }
    EXPECT_TRUE(seen_arp && seen_echo && seen_synack && seen_rst81 && seen_rst);
}

}  // namespace
}  // namespace synwave::engine
