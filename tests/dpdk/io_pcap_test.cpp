// lib/io's pcap writer: per-lcore file names, TSC to wall-clock time, frames (chained mbufs, snaplen cuts)
// read back byte-exact with libpcap, open errors, and a capture tshark can read.
#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io/pcap.hpp"
#include "io_test_util.hpp"
#include "temp_dir.hpp"

namespace synwave::io {
namespace {

using namespace testutil;
using synwave::testutil::TempDir;

TEST(Pcap, PerLcorePaths) {
    EXPECT_EQ(per_lcore_pcap_path("trace.pcap", 3), "trace-lcore3.pcap");
    EXPECT_EQ(per_lcore_pcap_path("/tmp/x/run.1.pcapng", 0), "/tmp/x/run.1-lcore0.pcapng");
    EXPECT_EQ(per_lcore_pcap_path("/tmp/x.d/trace", 12), "/tmp/x.d/trace-lcore12.pcap");
    EXPECT_EQ(per_lcore_pcap_path(".hidden", 1), ".hidden-lcore1.pcap");
}

TEST(Pcap, ClockTurnsTscIntoWallNanoseconds) {
    PcapClock c{.rate = TscRate{2'100'000'000}, .anchor_tsc = Instant{1'000'000}, .anchor_unix_ns = 1'700'000'000'000'000'000};
    EXPECT_EQ(c.unix_ns(Instant{1'000'000}), 1'700'000'000'000'000'000u);
    EXPECT_EQ(c.unix_ns(Instant{1'000'000 + 2'100'000'000}), 1'700'000'001'000'000'000u);  // one second later
    EXPECT_EQ(c.unix_ns(Instant{1'000'000 + 2'100}), 1'700'000'000'000'001'000u);          // one microsecond
}

TEST(Pcap, WrittenFramesReadBackByteExact) {
    TempDir dir("swtest-io");
    ASSERT_FALSE(dir.path.empty());
    const std::string file = (dir.path / "cap.pcap").string();
    MempoolPtr pool = pool_or_fail("swt_pcap", 31, 0);
    ASSERT_TRUE(pool);
    const uint64_t t0 = 1'700'000'000'123'456'789;
    {
        auto w = PcapWriter::open(file, 1000);
        ASSERT_TRUE(w.ok()) << w.error();
        const auto f0 = expected_frame(60, 1);
        const auto f1 = expected_frame(1514, 2);  // longer than snaplen 1000: cut
        w->write(f0.data(), static_cast<uint32_t>(f0.size()), t0);
        w->write(f1.data(), static_cast<uint32_t>(f1.size()), t0 + 1);
        // A two-segment chain is one frame: 40 + 34 bytes.
        rte_mbuf* head = make_frame(pool.get(), 40, 3);
        rte_mbuf* tail = alloc_frame(pool.get(), 34);
        ASSERT_NE(head, nullptr);
        ASSERT_NE(tail, nullptr);
        const auto f2 = expected_frame(74, 3);
        std::memcpy(frame_bytes(tail).data(), f2.data() + 40, 34);
        ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
        w->write(head, t0 + 1'000'000'000);
        rte_pktmbuf_free(head);
        // A single-segment mbuf.
        rte_mbuf* one = make_frame(pool.get(), 64, 4);
        w->write(one, t0 + 2'000'000'001);
        rte_pktmbuf_free(one);
        EXPECT_EQ(w->frames(), 4u);
        EXPECT_EQ(w->bytes(), 60u + 1000u + 74u + 64u);
        EXPECT_EQ(w->truncated(), 1u);
        ASSERT_TRUE(w->flush().ok());
        w->close();
        EXPECT_FALSE(w->is_open());
        w->write(f0.data(), 60, t0);  // ignored after close
        EXPECT_EQ(w->frames(), 4u);
    }
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);

    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    ASSERT_NE(p, nullptr) << errbuf;
    EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
    EXPECT_EQ(pcap_snapshot(p), 1000);
    struct Want {
        std::vector<uint8_t> bytes;
        uint32_t len;
        uint64_t ns;
    };
    const std::vector<Want> want = {
        {expected_frame(60, 1), 60, t0},
        {[] { auto v = expected_frame(1514, 2); v.resize(1000); return v; }(), 1514, t0 + 1},
        {expected_frame(74, 3), 74, t0 + 1'000'000'000},
        {expected_frame(64, 4), 64, t0 + 2'000'000'001},
    };
    for (size_t i = 0; i < want.size(); ++i) {
        pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        ASSERT_EQ(pcap_next_ex(p, &h, &data), 1) << "frame " << i;
        EXPECT_EQ(h->len, want[i].len) << i;
        ASSERT_EQ(h->caplen, want[i].bytes.size()) << i;
        EXPECT_EQ(std::vector<uint8_t>(data, data + h->caplen), want[i].bytes) << i;
        EXPECT_EQ(uint64_t(h->ts.tv_sec) * 1'000'000'000 + uint64_t(h->ts.tv_usec), want[i].ns) << i;
    }
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    EXPECT_EQ(pcap_next_ex(p, &h, &data), PCAP_ERROR_BREAK);  // end of file
    pcap_close(p);
}

TEST(Pcap, OpenFailureIsAnError) {
    auto w = PcapWriter::open("/nonexistent-dir/synwave/cap.pcap");
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().rfind("pcap '/nonexistent-dir/synwave/cap.pcap': cannot create file: ", 0), 0u) << w.error();
}

TEST(Pcap, TsharkReadsTheCapture) {
    if (std::system("command -v tshark >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark is not installed";
    TempDir dir("swtest-io");
    ASSERT_FALSE(dir.path.empty());
    const std::string file = (dir.path / "cap.pcap").string();
    {
        auto w = PcapWriter::open(file);
        ASSERT_TRUE(w.ok()) << w.error();
        // A real ARP request (who-has 10.0.0.2 tell 10.0.0.1), so tshark has something to dissect.
        const uint8_t arp[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
                                 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
                                 10,   0,    0,    1,    0,    0,    0,    0,    0,    0,    10,   0,    0,    2};
        w->write(arp, sizeof arp, 1'700'000'000'000'000'000);
    }
    const std::string out_file = (dir.path / "tshark.txt").string();
    const std::string cmd = "tshark -r '" + file + "' -c 1 -T fields -e arp.dst.proto_ipv4 -e frame.len > '" +
                            out_file + "' 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    FILE* f = std::fopen(out_file.c_str(), "r");
    ASSERT_NE(f, nullptr);
    char line[128] = {};
    ASSERT_NE(std::fgets(line, sizeof line, f), nullptr);
    std::fclose(f);
    EXPECT_STREQ(line, "10.0.0.2\t42\n");
}

}  // namespace
}  // namespace synwave::io
