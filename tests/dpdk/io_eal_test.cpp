// lib/io's EAL start against the real EAL that main.cpp started once for the process (--no-huge --no-pci
// --no-shconf -l 0, one net_null port): the embedded defaults, the argument checks made before EAL runs, and
// the refusal of a second start. eal_init's own failures are exercised in child processes
// (`dpdk_io --eal-child ...`), since EAL can be started only once per process.
#include <gtest/gtest.h>

#include <rte_ethdev.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "io/eal.hpp"
#include "io_test_env.hpp"

extern char** environ;

namespace synwave::io {
namespace {

namespace fs = std::filesystem;

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

}  // namespace
}  // namespace synwave::io
