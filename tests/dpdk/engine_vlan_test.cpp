// IEEE 802.1Q through the engine, as a net_pcap replay: a worker on VLAN 100 (priority 5) gets a peer's frames
// tagged 100, tagged 200, untagged, and a tagged frame cut short. Frames tagged with our VLAN ID are answered
// with our tag and priority (an ARP reply too, whatever the request's priority); the others are dropped and
// counted, and the answers read back from the output capture are checked.
#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <rte_ethdev.h>

#include <cstdint>
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
#include "wire/frame.hpp"

namespace synwave::engine {
namespace {

using namespace testutil;
using synwave::testutil::TempDir;

constexpr uint16_t kVid = 100;
constexpr uint8_t kPcp = 5;

// A SYN from the peer, with an 802.1Q tag of `tci` unless tci is negative.
std::vector<uint8_t> syn(const Mac& our_mac, uint16_t sport, int tci) {
    wire::L2L3 h;
    h.l2.src = kPeerMac;
    h.l2.dst = our_mac;
    h.l2.vlan = tci >= 0;
    h.l2.vlan_tci = static_cast<uint16_t>(tci < 0 ? 0 : tci);
    h.ip_src = kPeerIp;
    h.ip_dst = kOurIp;
    wire::TcpSegment s;
    s.src_port = sport;
    s.dst_port = 80;
    s.seq = Seq{1000};
    s.flags = wire::tcpflag::SYN;
    s.window = 64240;
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    std::vector<uint8_t> b(256);
    b.resize(wire::build_tcp_frame(b.data(), static_cast<uint32_t>(b.size()), h, s, wire::CsumMode::Software));
    return b;
}

TEST(EngineVlan, TaggedFramesOfOurVlanAnsweredWithTheTagOthersDroppedAndCounted) {
    TempDir dir("swtest-vlan");
    ASSERT_FALSE(dir.path.empty());
    const std::string in = (dir.path / "in.pcap").string();
    const std::string out = (dir.path / "out.pcap").string();
    {
        auto w = io::PcapWriter::open(in);  // net_pcap needs its input at probe time; refilled below
        ASSERT_TRUE(w.ok()) << w.error();
        w->close();
    }
    constexpr uint32_t kPoolMbufs = 511;
    io::MempoolPtr pool = pool_or_fail("eng_vlan", kPoolMbufs, 32);
    ASSERT_TRUE(pool);
    auto pid = io::probe_vdev("net_pcap_vlan,rx_pcap=" + in + ",tx_pcap=" + out);
    ASSERT_TRUE(pid.ok()) << pid.error();
    auto port = open_port(*pid, pool.get());
    ASSERT_TRUE(port);
    const Mac our_mac = port->mac();

    std::vector<std::vector<uint8_t>> frames;
    {
        std::vector<uint8_t> arp(64);
        arp.resize(wire::build_arp_request(arp.data(), 64, kPeerMac, kPeerIp, kOurIp, true, kVid));  // PCP 0
        frames.push_back(arp);                                              // 0: answered, tag 100 PCP 0
    }
    frames.push_back(syn(our_mac, 40000, kVid));                            // 1: SYN-ACK, tag 100 PCP 5
    frames.push_back(syn(our_mac, 40001, 200));                             // 2: another VLAN: dropped
    frames.push_back(syn(our_mac, 40002, -1));                              // 3: untagged: dropped
    {
        std::vector<uint8_t> cut = syn(our_mac, 40003, kVid);
        cut.resize(wire::eth::kHeaderLen + 2);                              // 4: the tag cut in half
        frames.push_back(cut);
    }
    frames.push_back(syn(our_mac, 40004, (3 << 13) | kVid));               // 5: our VLAN, other priority: taken
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
    wc.vlan = true;
    wc.vlan_id = kVid;
    wc.vlan_pcp = kPcp;
    Server server(ServerConfig{});
    auto w = std::make_unique<Worker>(wc, rate, t0, kServerSecrets, &server);
    w->stack().listen(80);
    ASSERT_TRUE(run_replay(*w, frames.size(), rate, t0)) << "ran into the SYN-ACK retransmission timeout";

    const EngineCounters& e = w->counters();
    EXPECT_EQ(e.rx_packets, 6u);
    EXPECT_EQ(e.rx_vlan_other, 2u);
    EXPECT_EQ(drops_of(*w, wire::Drop::EthTooShort), 1u);
    EXPECT_EQ(drop_sum(*w), 1u);
    EXPECT_EQ(e.arp_replies_tx, 1u);
    EXPECT_EQ(e.rx_not_ours, 0u);
    EXPECT_EQ(w->stack().counters().rx_segments, 2u);
    EXPECT_EQ(w->stack().counters().passive_opens, 2u);
    EXPECT_EQ(e.tx_packets, 3u);

    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(out.c_str(), errbuf);
    ASSERT_NE(p, nullptr) << errbuf;
    std::vector<wire::ParsedFrame> sent;
    std::vector<std::vector<uint8_t>> bytes;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p, &h, &data) == 1) bytes.emplace_back(data, data + h->caplen);
    pcap_close(p);
    ASSERT_EQ(bytes.size(), 3u);
    for (const auto& b : bytes) {
        wire::ParsedFrame f;
        ASSERT_EQ(wire::parse_frame(b.data(), static_cast<uint32_t>(b.size()), {}, f), wire::Drop::None);
        EXPECT_TRUE(f.has_vlan);
        EXPECT_EQ(load_be16(b.data() + wire::eth::kOffType), wire::eth::kTypeVlan);
        EXPECT_EQ(f.vlan_tci & 0x0FFF, kVid);
        sent.push_back(f);
    }
    EXPECT_EQ(sent[0].kind, wire::FrameKind::Arp);
    EXPECT_EQ(sent[0].arp.op, wire::arp::kOpReply);
    EXPECT_EQ(sent[0].vlan_tci, (kPcp << 13) | kVid);  // the request had priority 0: ours is 5
    for (int i : {1, 2}) {
        EXPECT_EQ(sent[i].kind, wire::FrameKind::Tcp);
        EXPECT_EQ(sent[i].tcp.flags, wire::tcpflag::SYN | wire::tcpflag::ACK);
        EXPECT_EQ(sent[i].vlan_tci, (kPcp << 13) | kVid);  // ours: priority 5
        EXPECT_EQ(sent[i].dst, kPeerMac);
    }
    EXPECT_EQ(sent[1].tcp.dst_port, 40000);
    EXPECT_EQ(sent[2].tcp.dst_port, 40004);
    w.reset();
    port->close();
}

}  // namespace
}  // namespace synwave::engine
