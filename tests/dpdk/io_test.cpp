// lib/io against a real EAL (started once by main.cpp with --no-huge --no-pci --no-shconf -l 0) and real
// virtual devices: net_null, ring pairs made with rte_eth_from_rings, net_pcap for a rejected vdev.
// eal_init's own failures are exercised in child processes (`dpdk_io --eal-child ...`), since EAL can be
// started only once per process.
#include <gtest/gtest.h>

#include <pcap/pcap.h>
#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/eal.hpp"
#include "io/mbuf.hpp"
#include "io/mempool.hpp"
#include "io/pcap.hpp"
#include "io/port.hpp"
#include "io/rss.hpp"
#include "io/txbatch.hpp"
#include "io/vdev.hpp"
#include "io_test_env.hpp"

extern char** environ;

namespace synwave::io {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------
// helpers

struct ChildResult {
    int exit_code = -1;
    std::string out;  // stdout and stderr (EAL logs) together
};

// Runs this test binary as `--eal-child <args>` and collects what it prints.
ChildResult run_eal_child(const std::vector<std::string>& eal_args) {
    std::vector<std::string> argv_s = {"dpdk_io", "--eal-child"};
    argv_s.insert(argv_s.end(), eal_args.begin(), eal_args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    int fds[2];
    ChildResult r;
    if (pipe(fds) != 0) return r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return r;
    }
    char buf[4096];
    ssize_t n = 0;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string child_prefix(const std::string& tag) { return test::main_file_prefix() + "-" + tag; }

// The line the child printed that starts with `head` ("ERR ", "OK ").
std::string line_starting(const std::string& out, const std::string& head) {
    size_t pos = 0;
    while (pos < out.size()) {
        size_t end = out.find('\n', pos);
        if (end == std::string::npos) end = out.size();
        if (out.compare(pos, head.size(), head) == 0) return out.substr(pos, end - pos);
        pos = end + 1;
    }
    return {};
}

bool have_free_hugepages() {
    std::error_code ec;
    for (fs::directory_iterator it("/sys/kernel/mm/hugepages", ec), end; !ec && it != end; it.increment(ec)) {
        FILE* f = std::fopen((it->path() / "free_hugepages").c_str(), "r");
        unsigned long n = 0;
        if (f) {
            if (std::fscanf(f, "%lu", &n) != 1) n = 0;
            std::fclose(f);
        }
        if (n > 0) return true;
    }
    return false;
}

// A recognisable Ethernet frame: broadcast destination, a fixed source, IPv4 ethertype, then bytes that
// depend on position and seed so a reordering or truncation shows.
void fill_frame(uint8_t* p, uint16_t len, uint8_t seed) {
    static constexpr uint8_t hdr[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x20, 0x30, 0x08, 0x00};
    for (uint16_t i = 0; i < len; ++i) p[i] = i < 14 ? hdr[i] : static_cast<uint8_t>(i * 7 + seed);
}

std::vector<uint8_t> expected_frame(uint16_t len, uint8_t seed) {
    std::vector<uint8_t> v(len);
    fill_frame(v.data(), len, seed);
    return v;
}

rte_mbuf* make_frame(rte_mempool* mp, uint16_t len, uint8_t seed) {
    rte_mbuf* m = alloc_frame(mp, len);
    if (m != nullptr) fill_frame(frame_bytes(m).data(), len, seed);
    return m;
}

MempoolPtr pool_or_fail(const std::string& name, uint32_t n, uint32_t cache) {
    auto r = make_pktmbuf_pool(name, n, cache);
    EXPECT_TRUE(r.ok()) << r.error();
    return r.ok() ? std::move(r).value() : MempoolPtr{};
}

// A pool and a ring pair "<name>" (ports net_ring_<name>_a and _b), optionally with both ports opened on
// the pool. Members go in reverse order: ports, then the pair (which frees what its rings still hold), then
// the pool. setup() ASSERTs: call it through ASSERT_NO_FATAL_FAILURE.
struct RingRig {
    MempoolPtr pool;
    std::optional<RingPair> pair;
    std::optional<Port> a, b;
    std::array<rte_mempool*, 1> pools{};

    void setup(const std::string& name, uint32_t n_mbufs, uint32_t ring_size, bool open_ports) {
        pool = pool_or_fail("swt_ring_" + name, n_mbufs, 0);
        ASSERT_TRUE(pool);
        pools[0] = pool.get();
        auto p = RingPair::create(name, ring_size);
        ASSERT_TRUE(p.ok()) << p.error();
        pair.emplace(std::move(p).value());
        if (!open_ports) return;
        auto pa = Port::open(PortConfig{.port_id = pair->port_a()}, pools);
        ASSERT_TRUE(pa.ok()) << pa.error();
        a.emplace(std::move(pa).value());
        auto pb = Port::open(PortConfig{.port_id = pair->port_b()}, pools);
        ASSERT_TRUE(pb.ok()) << pb.error();
        b.emplace(std::move(pb).value());
    }
};

// A scratch directory under $TMPDIR (or /tmp), removed with everything in it when the test ends.
struct TempDir {
    fs::path path;
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/swtest-io-XXXXXX";
        if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

// ---------------------------------------------------------------------------------------------------
// EAL

TEST(Eal, EmbeddedArgsAreTheNoSetupDefault) {
    EalDefaults d;
    d.memory_mb = 384;
    d.lcores = "0-1";
    d.vdevs = {"net_ring0", "net_null0,size=64"};
    d.file_prefix = "synwave-test";
    d.extra = {"--log-level=lib.eal:info"};
    const std::vector<std::string> want = {
        "--no-huge", "-m", "384", "--no-pci", "--no-shconf", "--file-prefix=synwave-test", "-l", "0-1",
        "--vdev=net_ring0", "--vdev=net_null0,size=64", "--log-level=lib.eal:info"};
    EXPECT_EQ(embedded_eal_args(d), want);
}

TEST(Eal, EmbeddedArgsInventAUniquePrefixPerCall) {
    const std::string pid = std::to_string(getpid());
    const auto a = embedded_eal_args({});
    const auto b = embedded_eal_args({});
    ASSERT_EQ(a.size(), 8u);
    EXPECT_EQ(a[2], "512");  // the default memory
    EXPECT_EQ(a[7], "0-1");  // the default lcores
    EXPECT_EQ(a[5].rfind("--file-prefix=synwave-" + pid + "-", 0), 0u) << a[5];
    EXPECT_NE(a[5], b[5]);
    const std::string p1 = unique_file_prefix("x");
    const std::string p2 = unique_file_prefix("x");
    const std::string stem = "x-" + pid + "-";
    ASSERT_EQ(p1.rfind(stem, 0), 0u);
    ASSERT_EQ(p2.rfind(stem, 0), 0u);
    // The counter is process-wide: consecutive calls differ by exactly one.
    EXPECT_EQ(std::stoul(p2.substr(stem.size())), std::stoul(p1.substr(stem.size())) + 1);
}

TEST(Eal, CheckRejectsLcoresOutsideTheAffinityMask) {
    auto r = check_eal_args({"--no-huge", "-l", "0,1000"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("lcore list unavailable"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("`-l 0,1000` names CPU(s) 1000 "), std::string::npos) << r.error();
    // The other spellings EAL accepts.
    EXPECT_FALSE(check_eal_args({"--no-huge", "-l1000"}).ok());
    EXPECT_FALSE(check_eal_args({"--no-huge", "--lcores=999-1000"}).ok());
    auto mask = check_eal_args({"--no-huge", "-c", "0x10000000000000000000"});  // bit 76
    ASSERT_FALSE(mask.ok());
    EXPECT_NE(mask.error().find("CPU(s) 76 "), std::string::npos) << mask.error();
    auto bad = check_eal_args({"--no-huge", "-l", "1-0"});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("cannot parse"), std::string::npos) << bad.error();
    // CPU 0 is in every affinity mask this suite runs with (it runs EAL with -l 0).
    EXPECT_TRUE(check_eal_args({"--no-huge", "-l", "0"}).ok());
    // Arguments after `--` belong to the program.
    EXPECT_TRUE(check_eal_args({"--no-huge", "-l", "0", "--", "-l", "1000"}).ok());
}

TEST(Eal, CheckRejectsHugepageMemoryWhereThereIsNone) {
    EXPECT_TRUE(check_eal_args({"--no-huge", "-m", "64", "-l", "0"}).ok());
    if (have_free_hugepages()) GTEST_SKIP() << "this machine has free hugepages: nothing to reject";
    auto r = check_eal_args({"-m", "64", "-l", "0"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rfind("no hugepages: ", 0), 0u) << r.error();
    EXPECT_NE(r.error().find("--no-huge"), std::string::npos) << r.error();
}

TEST(Eal, RunningProcessHasItsPortAndRefusesASecondStart) {
    EXPECT_TRUE(eal_running());
    const EalInfo& info = test::main_eal_info();
    EXPECT_EQ(info.lcores, 1u);
    EXPECT_EQ(info.main_lcore, 0u);
    EXPECT_EQ(info.app_args, std::vector<std::string>{"synwave"});
    EXPECT_EQ(info.runtime_dir, eal_runtime_dir_for(test::main_file_prefix()));
    uint16_t pid = 0;
    EXPECT_EQ(rte_eth_dev_get_port_by_name("net_null0", &pid), 0);
    auto again = eal_init({"--no-huge", "-m", "64", "--no-pci", "--no-shconf", "-l", "0"});
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().find("once per process"), std::string::npos) << again.error();
}

TEST(EalChild, StartsAndCleansUpItsRuntimeDirectory) {
    const std::string prefix = child_prefix("ok");
    auto r = run_eal_child({"--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--file-prefix=" + prefix, "-l", "0",
                            "--vdev=net_null0", "--vdev=net_null1"});
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(line_starting(r.out, "OK "), "OK ports=2 lcores=1 dir=" + eal_runtime_dir_for(prefix)) << r.out;
    EXPECT_EQ(line_starting(r.out, "CLEANUP "), "CLEANUP ok") << r.out;
    EXPECT_FALSE(fs::exists(eal_runtime_dir_for(prefix)));
}

TEST(EalChild, UnknownVdevDriverIsAnError) {
    const std::string prefix = child_prefix("bogus");
    auto r = run_eal_child({"--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--file-prefix=" + prefix, "-l", "0",
                            "--vdev=net_bogus0"});
    EXPECT_EQ(r.exit_code, 3) << r.out;
    const std::string err = line_starting(r.out, "ERR ");
    EXPECT_EQ(err.rfind("ERR rte_eal_init failed: No such device (errno 19): a --vdev", 0), 0u) << r.out;
    EXPECT_FALSE(fs::exists(eal_runtime_dir_for(prefix)));
}

TEST(EalChild, VdevWhoseDriverRejectsItsArgumentsIsAnError) {
    // net_pcap exists but cannot open its input: EAL logs it and starts anyway; eal_init must not.
    const std::string prefix = child_prefix("pcap");
    auto r = run_eal_child({"--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--file-prefix=" + prefix, "-l", "0",
                            "--vdev=net_null0", "--vdev=net_pcap0,rx_pcap=/nonexistent/synwave-in.pcap"});
    EXPECT_EQ(r.exit_code, 3) << r.out;
    EXPECT_EQ(line_starting(r.out, "ERR "),
              "ERR bad vdev: `--vdev=net_pcap0,rx_pcap=/nonexistent/synwave-in.pcap` did not become a port: its "
              "driver rejected the arguments (missing file or interface, bad key=value; see the EAL log lines above)")
        << r.out;
    EXPECT_FALSE(fs::exists(eal_runtime_dir_for(prefix)));
}

TEST(EalChild, NoPortsIsAnError) {
    const std::string prefix = child_prefix("noport");
    auto r = run_eal_child({"--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--file-prefix=" + prefix, "-l", "0"});
    EXPECT_EQ(r.exit_code, 3) << r.out;
    EXPECT_EQ(line_starting(r.out, "ERR ").rfind("ERR no ports: EAL started but found no usable Ethernet device", 0),
              0u)
        << r.out;
    EXPECT_FALSE(fs::exists(eal_runtime_dir_for(prefix)));
}

TEST(EalChild, UnavailableLcoreIsAnErrorBeforeEalStarts) {
    const std::string prefix = child_prefix("lcore");
    auto r = run_eal_child({"--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--file-prefix=" + prefix, "-l",
                            "0,1000", "--vdev=net_null0"});
    EXPECT_EQ(r.exit_code, 3) << r.out;
    EXPECT_EQ(line_starting(r.out, "ERR ").rfind("ERR lcore list unavailable: `-l 0,1000` names CPU(s) 1000 ", 0), 0u)
        << r.out;
    EXPECT_EQ(r.out.find("EAL:"), std::string::npos) << "EAL should not have run:\n" << r.out;
    EXPECT_FALSE(fs::exists(eal_runtime_dir_for(prefix)));
}

// ---------------------------------------------------------------------------------------------------
// vdevs

TEST(Vdev, BogusVdevIsAnErrorNotACrash) {
    auto r = probe_vdev("net_bogus7,foo=bar");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().rfind("cannot probe vdev 'net_bogus7,foo=bar': ", 0), 0u) << r.error();
    auto rm = remove_vdev("net_bogus7");
    EXPECT_FALSE(rm.ok());
}

TEST(Vdev, NullVdevProbesToAPortAndIsRemoved) {
    auto r = probe_vdev("net_null_probe");
    ASSERT_TRUE(r.ok()) << r.error();
    uint16_t pid = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_null_probe", &pid), 0);
    EXPECT_EQ(*r, pid);
    auto dup = probe_vdev("net_null_probe");
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error(), "vdev 'net_null_probe' already exists (port " + std::to_string(pid) + ")");
    ASSERT_TRUE(remove_vdev("net_null_probe").ok());
    EXPECT_NE(rte_eth_dev_get_port_by_name("net_null_probe", &pid), 0);
}

// ---------------------------------------------------------------------------------------------------
// ports

TEST(RingPort, FramesArriveByteExactAndPortReportsNoRss) {
    RingRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.setup("x", 511, 256, true));
    auto& [pool, pair, a, b, pools] = rig;

    const PortInfo& ia = a->info();
    EXPECT_EQ(ia.name, "net_ring_x_a");
    EXPECT_EQ(ia.driver, "net_ring");
    EXPECT_EQ(ia.queues, 1);
    EXPECT_FALSE(ia.rss);
    EXPECT_TRUE(ia.reta.empty());
    EXPECT_TRUE(ia.rss_key.empty());
    EXPECT_FALSE(ia.tx_csum_offload);  // rings offer no checksum offload
    EXPECT_FALSE(ia.rx_csum_offload);
    EXPECT_EQ(ia.mtu, 1500);
    // A ring port has no MAC of its own (it reports all zeros): open() gives it a locally administered
    // unicast address made from the port id.
    const Mac want_mac{{0x02, 0x53, 0x57, 0x00, 0x00, static_cast<uint8_t>(pair->port_a())}};
    EXPECT_EQ(a->mac(), want_mac) << a->mac().str();
    const std::vector<std::string> notes = {"no RSS on this device: 1 queue, served by 1 lcore",
                                            "no TX IPv4+TCP checksum offload: checksums computed in software",
                                            "device has no MAC address: using " + want_mac.str()};
    EXPECT_EQ(ia.notes, notes);
    EXPECT_TRUE(a->link().up);

    const std::array<uint16_t, 4> lens = {60, 64, 1000, 1514};
    TxBatch tx(pair->port_a(), 0, Duration{100'000});
    for (size_t i = 0; i < lens.size(); ++i) tx.push(make_frame(pool.get(), lens[i], static_cast<uint8_t>(i)));
    EXPECT_EQ(tx.flush(), 4);

    std::array<rte_mbuf*, 8> rx{};
    ASSERT_EQ(rte_eth_rx_burst(pair->port_b(), 0, rx.data(), rx.size()), 4);
    for (size_t i = 0; i < lens.size(); ++i) {
        auto got = frame_bytes(rx[i]);
        const auto want = expected_frame(lens[i], static_cast<uint8_t>(i));
        EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), want) << "frame " << i;
        rte_pktmbuf_free(rx[i]);
    }
    auto sa = a->stats();
    auto sb = b->stats();
    ASSERT_TRUE(sa.ok() && sb.ok());
    EXPECT_EQ(sa->opackets, 4u);
    EXPECT_EQ(sa->ipackets, 0u);
    EXPECT_EQ(sb->ipackets, 4u);
    EXPECT_EQ(sb->opackets, 0u);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 511u);
    ASSERT_TRUE(a->reset_stats().ok());
    EXPECT_EQ(a->stats()->opackets, 0u);
}

TEST(RingPort, MoreThanOneQueueWithoutRssIsRefused) {
    RingRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.setup("q", 255, 64, false));
    auto& [pool, pair, a, b, pools] = rig;
    // A ring pair port has exactly one queue pair.
    auto two = Port::open(PortConfig{.port_id = pair->port_a(), .queues = 2}, pools);
    ASSERT_FALSE(two.ok());
    EXPECT_EQ(two.error(), "port " + std::to_string(pair->port_a()) +
                               " (net_ring_q_a, driver net_ring): 2 queues requested, the device has at most 1 RX "
                               "and 1 TX");
    auto zero = Port::open(PortConfig{.port_id = pair->port_a(), .queues = 0}, pools);
    ASSERT_FALSE(zero.ok());
    EXPECT_NE(zero.error().find("queues must be at least 1"), std::string::npos);
    auto bad_id = Port::open(PortConfig{.port_id = RTE_MAX_ETHPORTS - 1}, pools);
    ASSERT_FALSE(bad_id.ok());
    EXPECT_EQ(bad_id.error(), "port " + std::to_string(RTE_MAX_ETHPORTS - 1) + ": no such port");
    // The refusals left the port usable.
    auto one = Port::open(PortConfig{.port_id = pair->port_a()}, pools);
    EXPECT_TRUE(one.ok()) << one.error();
}

TEST(RingPort, TwoQueuesWithoutRssAreRefusedWithTheReason) {
    // rte_eth_from_rings with two rings per direction: a port with two queue pairs and no RSS.
    MempoolPtr pool = pool_or_fail("swt_ring_2q", 255, 0);
    ASSERT_TRUE(pool);
    rte_ring* r[4] = {};
    for (int i = 0; i < 4; ++i) {
        r[i] = rte_ring_create(("swt2q" + std::to_string(i)).c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ASSERT_NE(r[i], nullptr);
    }
    const int pid = rte_eth_from_rings("2q", r, 2, r + 2, 2, 0);  // port "net_ring_2q"
    ASSERT_GE(pid, 0);
    rte_mempool* pools[] = {pool.get()};
    {
        auto p = Port::open(PortConfig{.port_id = static_cast<uint16_t>(pid), .queues = 2}, pools);
        ASSERT_FALSE(p.ok());
        EXPECT_EQ(p.error(), "port " + std::to_string(pid) +
                                 " (net_ring_2q, driver net_ring): no RSS over TCP/IPv4 (flow_type_rss_offloads=0x0), "
                                 "so 2 queues cannot share its connections: open it with 1 queue and give each lcore "
                                 "its own device");
        // Asking for no RSS is the caller's explicit choice: allowed, with a note.
        auto norss = Port::open(PortConfig{.port_id = static_cast<uint16_t>(pid), .queues = 2, .rss = false}, pools);
        ASSERT_TRUE(norss.ok()) << norss.error();
        EXPECT_EQ(norss->queues(), 2);
        EXPECT_FALSE(norss->rss());
        EXPECT_EQ(norss->info().notes.at(0), "RSS off with 2 queues: the device decides which queue receives what");
    }
    EXPECT_EQ(rte_vdev_uninit("net_ring_2q"), 0);
    for (rte_ring* x : r) rte_ring_free(x);
}

TEST(NullPort, RssIsEnabledWithSymmetricKeyAndRoundRobinReta) {
    auto id = probe_vdev("net_null_rss");
    ASSERT_TRUE(id.ok()) << id.error();
    MempoolPtr pool = pool_or_fail("swt_null_rss", 1023, 0);
    ASSERT_TRUE(pool);
    rte_mempool* pools[] = {pool.get(), pool.get()};
    {
        auto p = Port::open(PortConfig{.port_id = *id, .queues = 2}, pools);
        ASSERT_TRUE(p.ok()) << p.error();
        EXPECT_TRUE(p->rss());
        EXPECT_EQ(p->info().rss_hf, RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV4);
        std::vector<uint8_t> sym(40);
        for (size_t i = 0; i < sym.size(); ++i) sym[i] = i % 2 ? 0x5a : 0x6d;
        EXPECT_EQ(p->info().rss_key, sym);
        ASSERT_EQ(p->reta().size(), 128u);  // net_null's RETA size
        for (size_t i = 0; i < p->reta().size(); ++i) ASSERT_EQ(p->reta()[i], i % 2) << "entry " << i;
        EXPECT_FALSE(p->tx_csum_offload());  // net_null offers no checksum offload
        EXPECT_EQ(p->info().notes,
                  std::vector<std::string>{"no TX IPv4+TCP checksum offload: checksums computed in software"});
        EXPECT_NE(p->mac(), Mac{});  // net_null has a MAC of its own
        // Reopening with the default (Microsoft/Intel) key: close first, the port id is released.
        p->close();
        EXPECT_FALSE(p->is_open());
    }
    ASSERT_TRUE(remove_vdev("net_null_rss").ok());
    auto id2 = probe_vdev("net_null_rss");
    ASSERT_TRUE(id2.ok()) << id2.error();
    {
        auto p = Port::open(PortConfig{.port_id = *id2, .queues = 3, .symmetric = false}, pools);
        ASSERT_FALSE(p.ok());  // two pools for three queues
        EXPECT_NE(p.error().find("give one RX mempool, or one per queue (3), not 2"), std::string::npos) << p.error();
        rte_mempool* one[] = {pool.get()};
        auto q = Port::open(PortConfig{.port_id = *id2, .queues = 3, .symmetric = false}, one);
        ASSERT_TRUE(q.ok()) << q.error();
        EXPECT_EQ(q->info().rss_key, std::vector<uint8_t>(flow::kDefaultRssKey.begin(), flow::kDefaultRssKey.end()));
        ASSERT_EQ(q->reta().size(), 128u);
        for (size_t i = 0; i < q->reta().size(); ++i) ASSERT_EQ(q->reta()[i], i % 3) << "entry " << i;
        auto wrong_key = Port::open(PortConfig{.port_id = *id2, .rss_key = {1, 2, 3}}, one);
        ASSERT_FALSE(wrong_key.ok());
        EXPECT_NE(wrong_key.error().find(": RSS key of 3 bytes, the device takes 40"), std::string::npos)
            << wrong_key.error();
    }
    ASSERT_TRUE(remove_vdev("net_null_rss").ok());
}

// Devices with longer keys (i40e: 52 bytes) get the 40-byte key repeated: the first 40 bytes, all a
// TCP/IPv4 hash reads, are the spec's.
TEST(Rss, KeysOfAnyLengthKeepTheFortyByteKeyInFront) {
    for (size_t len : {size_t{40}, size_t{52}, size_t{16}}) {
        SCOPED_TRACE(len);
        const std::vector<uint8_t> def = make_rss_key(len, false);
        const std::vector<uint8_t> sym = make_rss_key(len, true);
        ASSERT_EQ(def.size(), len);
        ASSERT_EQ(sym.size(), len);
        for (size_t i = 0; i < len; ++i) {
            EXPECT_EQ(def[i], flow::kDefaultRssKey[i % 40]) << i;
            EXPECT_EQ(sym[i], i % 2 ? 0x5a : 0x6d) << i;
        }
    }
    EXPECT_EQ(make_rss_key(52, false)[40], 0x6d);  // the repeat starts over
}

TEST(NullPort, MtuOutsideTheDeviceRangeIsRefused) {
    auto id = probe_vdev("net_null_mtu");
    ASSERT_TRUE(id.ok()) << id.error();
    MempoolPtr pool = pool_or_fail("swt_null_mtu", 255, 0);
    rte_mempool* pools[] = {pool.get()};
    {
        auto p = Port::open(PortConfig{.port_id = *id, .mtu = 20}, pools);
        ASSERT_FALSE(p.ok());
        EXPECT_EQ(p.error(), "port " + std::to_string(*id) +
                                 " (net_null_mtu, driver net_null): MTU 20 outside the device's range 46..65535");
        auto q = Port::open(PortConfig{.port_id = *id, .mtu = 9000}, pools);
        ASSERT_TRUE(q.ok()) << q.error();
        EXPECT_EQ(q->info().mtu, 9000);
    }
    ASSERT_TRUE(remove_vdev("net_null_mtu").ok());
}

// ---------------------------------------------------------------------------------------------------
// TX batch

class NullTx : public ::testing::Test {
protected:
    void SetUp() override {
        auto id = probe_vdev("net_null_tx");
        ASSERT_TRUE(id.ok()) << id.error();
        pool_ = pool_or_fail("swt_null_tx", 255, 0);
        ASSERT_TRUE(pool_);
        rte_mempool* pools[] = {pool_.get()};
        auto p = Port::open(PortConfig{.port_id = *id}, pools);
        ASSERT_TRUE(p.ok()) << p.error();
        port_.emplace(std::move(p).value());
    }
    void TearDown() override {
        port_.reset();
        EXPECT_TRUE(remove_vdev("net_null_tx").ok());
    }
    MempoolPtr pool_;
    std::optional<Port> port_;
};

TEST_F(NullTx, FullBatchFlushesByItself) {
    TxBatch tx(port_->id(), 0, Duration{100'000});
    for (int i = 0; i < TxBatch::kCapacity - 1; ++i) tx.push(make_frame(pool_.get(), 64, 1));
    EXPECT_EQ(tx.size(), TxBatch::kCapacity - 1);
    EXPECT_EQ(tx.counters().tx_packets, 0u);
    tx.push(make_frame(pool_.get(), 64, 1));  // the 64th
    EXPECT_EQ(tx.size(), 0);
    EXPECT_EQ(tx.counters().tx_packets, 64u);
    EXPECT_EQ(tx.counters().tx_bursts, 1u);
    EXPECT_EQ(tx.counters().flushes_full, 1u);
    EXPECT_EQ(tx.counters().tx_ring_full_drops, 0u);
    EXPECT_EQ(port_->stats()->opackets, 64u);
    EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 255u);  // net_null frees what it "sends"
}

TEST_F(NullTx, DrainsWhenTheIntervalPassesOnAFakeClock) {
    const Instant start{(uint64_t{1} << 40) + 12345};
    const Duration drain{100'000};  // 100 us at the 1 GHz test rate
    TxBatch tx(port_->id(), 0, drain, start);
    for (int i = 0; i < 5; ++i) tx.push(make_frame(pool_.get(), 60, 2));
    EXPECT_FALSE(tx.flush_if_due(start + Duration{99'999}));
    EXPECT_EQ(tx.size(), 5);
    EXPECT_TRUE(tx.flush_if_due(start + drain));
    EXPECT_EQ(tx.size(), 0);
    EXPECT_EQ(tx.counters().tx_packets, 5u);
    EXPECT_EQ(tx.counters().flushes_due, 1u);
    // The interval runs from the last drain, not from the push.
    tx.push(make_frame(pool_.get(), 60, 3));
    EXPECT_FALSE(tx.flush_if_due(start + Duration{150'000}));
    EXPECT_TRUE(tx.flush_if_due(start + Duration{200'000}));
    EXPECT_EQ(tx.counters().tx_packets, 6u);
    // An empty batch is not "flushed", but the interval restarts.
    EXPECT_FALSE(tx.flush_if_due(start + Duration{400'000}));
    tx.push(make_frame(pool_.get(), 60, 4));
    EXPECT_FALSE(tx.flush_if_due(start + Duration{450'000}));
    EXPECT_TRUE(tx.flush_if_due(start + Duration{500'000}));
    EXPECT_EQ(tx.counters().flushes_due, 3u);
    EXPECT_EQ(tx.counters().tx_bursts, 3u);
    EXPECT_EQ(port_->stats()->opackets, 7u);
    EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 255u);
}

TEST_F(NullTx, DiscardFreesWithoutSending) {
    {
        TxBatch tx(port_->id(), 0, Duration{1});
        for (int i = 0; i < 10; ++i) tx.push(make_frame(pool_.get(), 60, 5));
        EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 245u);
        TxBatch moved(std::move(tx));
        EXPECT_EQ(tx.size(), 0);
        EXPECT_EQ(moved.size(), 10);
        // `moved` goes out of scope holding 10 frames: the destructor frees them.
    }
    EXPECT_EQ(rte_mempool_avail_count(pool_.get()), 255u);
    EXPECT_EQ(port_->stats()->opackets, 0u);
}

TEST(RingTx, FullRingDropsAreCountedAndFreedWithoutHanging) {
    RingRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.setup("full", 255, 64, true));  // exactly 64 mbufs fit in a ring
    auto& [pool, pair, a, b, pools] = rig;

    TxBatch tx(pair->port_a(), 0, Duration{100'000});
    for (int i = 0; i < 64; ++i) tx.push(make_frame(pool.get(), 128, 6));  // fills the batch and the ring
    EXPECT_EQ(tx.counters().tx_packets, 64u);
    EXPECT_EQ(tx.counters().tx_ring_full_drops, 0u);
    for (int i = 0; i < 36; ++i) tx.push(make_frame(pool.get(), 128, 7));
    EXPECT_EQ(tx.flush(), 0);  // nobody drains the ring
    const TxCounters& c = tx.counters();
    EXPECT_EQ(c.tx_packets, 64u);
    EXPECT_EQ(c.tx_ring_full_drops, 36u);
    EXPECT_EQ(c.tx_retries, TxBatch::kMaxRetries);
    EXPECT_EQ(c.tx_bursts, 1u + 1u + TxBatch::kMaxRetries);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 255u - 64u);  // the 36 were freed, 64 wait in the ring

    // Drain the ring from the other side: the pool is whole again, and the ring takes frames again.
    std::array<rte_mbuf*, 64> rx{};
    ASSERT_EQ(rte_eth_rx_burst(pair->port_b(), 0, rx.data(), rx.size()), 64);
    EXPECT_EQ(frame_bytes(rx[0]).size(), 128u);
    EXPECT_EQ(frame_bytes(rx[0])[14], static_cast<uint8_t>(14 * 7 + 6));
    rte_pktmbuf_free_bulk(rx.data(), 64);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 255u);
    for (int i = 0; i < 10; ++i) tx.push(make_frame(pool.get(), 128, 8));
    EXPECT_EQ(tx.flush(), 10);
    EXPECT_EQ(tx.counters().tx_ring_full_drops, 36u);
    EXPECT_EQ(a->stats()->opackets, 74u);
    // What is left in the ring is freed by RingPair's destructor; check the pool after it runs.
    a->close();
    b->close();
    pair.reset();
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 255u);
}

// ---------------------------------------------------------------------------------------------------
// mempool and mbuf helpers

TEST(Mempool, EmptyPoolAllocationIsNullptrAndCounted) {
    MempoolPtr pool = pool_or_fail("swt_empty", 31, 0);
    ASSERT_TRUE(pool);
    std::vector<rte_mbuf*> held;
    uint64_t pool_empty = 0;
    for (int i = 0; i < 31; ++i) {
        rte_mbuf* m = alloc_frame(pool.get(), 100, pool_empty);
        ASSERT_NE(m, nullptr) << i;
        EXPECT_EQ(rte_pktmbuf_data_len(m), 100);
        EXPECT_EQ(rte_pktmbuf_pkt_len(m), 100u);
        held.push_back(m);
    }
    EXPECT_EQ(pool_empty, 0u);
    EXPECT_EQ(alloc_frame(pool.get(), 100, pool_empty), nullptr);
    EXPECT_EQ(alloc_frame(pool.get(), 100, pool_empty), nullptr);
    EXPECT_EQ(pool_empty, 2u);
    std::array<rte_mbuf*, 2> bulk{};
    EXPECT_FALSE(alloc_frames(pool.get(), bulk, 60));
    rte_pktmbuf_free_bulk(held.data(), static_cast<unsigned>(held.size()));
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);
    // A frame longer than the data room fails the same way, and takes nothing from the pool.
    EXPECT_EQ(max_frame_len(pool.get()), 2048);
    EXPECT_EQ(alloc_frame(pool.get(), 2049, pool_empty), nullptr);
    EXPECT_EQ(pool_empty, 3u);
    EXPECT_FALSE(alloc_frames(pool.get(), bulk, 2049));
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);
    ASSERT_TRUE(alloc_frames(pool.get(), bulk, 1514));
    EXPECT_EQ(rte_pktmbuf_pkt_len(bulk[1]), 1514u);
    rte_pktmbuf_free_bulk(bulk.data(), 2);
    EXPECT_EQ(rte_mempool_avail_count(pool.get()), 31u);
}

TEST(Mempool, CreationErrorsSayWhy) {
    MempoolPtr a = pool_or_fail("swt_dup", 63, 0);
    ASSERT_TRUE(a);
    auto dup = make_pktmbuf_pool("swt_dup", 63, 0);
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.error().find("already exists"), std::string::npos) << dup.error();
    auto longname = make_pktmbuf_pool(std::string(40, 'n'), 63, 0);
    ASSERT_FALSE(longname.ok());
    EXPECT_NE(longname.error().find("name longer than"), std::string::npos) << longname.error();
    auto huge = make_pktmbuf_pool("swt_huge", 4'000'000, 0);  // ~9 GB with -m 256
    ASSERT_FALSE(huge.ok());
    EXPECT_NE(huge.error().find("raise EAL's -m"), std::string::npos) << huge.error();
    auto cache = make_pktmbuf_pool("swt_cache", 63, 600);
    ASSERT_FALSE(cache.ok());
    EXPECT_NE(cache.error().find("invalid size"), std::string::npos) << cache.error();
}

TEST(Mempool, SizingCountsEveryPlaceAnMbufCanBe) {
    // 2 queues x (1024 + 1024 + 32 + 64) + 2 x 384 (cache 256 x 1.5) = 4288 + 768 = 5056 -> 8191.
    PoolSizing s = size_pktmbuf_pool({.connections = 100000, .burst = 32, .queues = 2});
    EXPECT_EQ(s.n_mbufs, 8191u);
    EXPECT_EQ(s.cache, 256u);
    // One mbuf per connection: 5056 + 100000 = 105056 -> 131071.
    s = size_pktmbuf_pool({.connections = 100000, .queues = 2, .mbufs_per_connection = 1});
    EXPECT_EQ(s.n_mbufs, 131071u);
    // Exactly 2^k - 1 needed stays there: 1 x (64 + 64 + 0 + 0) + 0 = 128 -> 255; 127 -> 127.
    s = size_pktmbuf_pool({.burst = 0, .rx_desc = 64, .tx_desc = 63, .tx_batch = 0, .cache = 0});
    EXPECT_EQ(s.n_mbufs, 127u);
    EXPECT_EQ(s.cache, 0u);
    s = size_pktmbuf_pool({.burst = 0, .rx_desc = 64, .tx_desc = 64, .tx_batch = 0, .cache = 0});
    EXPECT_EQ(s.n_mbufs, 255u);
    // Cache clamped to RTE_MEMPOOL_CACHE_MAX_SIZE (512), then to 2/3 of a small pool.
    s = size_pktmbuf_pool({.queues = 1, .rx_desc = 4096, .tx_desc = 4096, .cache = 1000});
    EXPECT_EQ(s.cache, 512u);
    s = size_pktmbuf_pool({.burst = 0, .rx_desc = 8, .tx_desc = 8, .tx_batch = 0, .cache = 100});
    // 16 + 150 = 166 -> 255, cache 100 <= 170.
    EXPECT_EQ(s.n_mbufs, 255u);
    EXPECT_EQ(s.cache, 100u);
    // The sizing is usable as is.
    auto pool = make_pktmbuf_pool("swt_sized", s.n_mbufs, s.cache);
    EXPECT_TRUE(pool.ok()) << pool.error();
}

TEST(Mbuf, TxChecksumOffloadMetadata) {
    MempoolPtr pool = pool_or_fail("swt_csum", 31, 0);
    rte_mbuf* m = alloc_frame(pool.get(), 54);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM), 0u);
    set_tx_tcp_csum_offload(m, 14, 20);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK),
              RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
    EXPECT_EQ(m->l2_len, 14u);
    EXPECT_EQ(m->l3_len, 20u);
    // DPDK's own validator agrees the metadata is complete for a checksum offload.
    EXPECT_EQ(rte_validate_tx_offload(m), 0);
    set_tx_tcp_csum_offload(m, 18, 60);  // VLAN tag, IPv4 options
    EXPECT_EQ(m->l2_len, 18u);
    EXPECT_EQ(m->l3_len, 60u);
    clear_tx_offload(m);
    EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0u);
    rte_pktmbuf_free(m);
}

TEST(Mbuf, RxChecksumVerdicts) {
    MempoolPtr pool = pool_or_fail("swt_rxcsum", 31, 0);
    rte_mbuf* m = alloc_frame(pool.get(), 60);
    ASSERT_NE(m, nullptr);
    struct Case {
        uint64_t flags;
        RxCsum ip, l4;
    };
    const Case cases[] = {
        {0, RxCsum::Unknown, RxCsum::Unknown},
        {RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD, RxCsum::Good, RxCsum::Good},
        {RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_BAD, RxCsum::Good, RxCsum::Bad},
        {RTE_MBUF_F_RX_IP_CKSUM_BAD, RxCsum::Bad, RxCsum::Unknown},
        {RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE, RxCsum::None, RxCsum::None},
        {RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_RSS_HASH, RxCsum::Unknown, RxCsum::Good},
    };
    for (const Case& c : cases) {
        m->ol_flags = c.flags;
        const RxCsumStatus s = rx_csum_status(m);
        EXPECT_EQ(s.ip, c.ip) << std::hex << c.flags;
        EXPECT_EQ(s.l4, c.l4) << std::hex << c.flags;
    }
    rte_pktmbuf_free(m);
}

TEST(Mbuf, FrameBytesViewsTheData) {
    MempoolPtr pool = pool_or_fail("swt_view", 31, 0);
    rte_mbuf* m = make_frame(pool.get(), 77, 9);
    ASSERT_NE(m, nullptr);
    auto v = frame_bytes(m);
    EXPECT_EQ(v.data(), rte_pktmbuf_mtod(m, uint8_t*));
    EXPECT_EQ(v.size(), 77u);
    v[76] = 0xab;
    const rte_mbuf* cm = m;
    EXPECT_EQ(frame_bytes(cm)[76], 0xab);
    rte_pktmbuf_free(m);
}

// ---------------------------------------------------------------------------------------------------
// pcap

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
    TempDir dir;
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
    TempDir dir;
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
