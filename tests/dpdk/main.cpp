// dpdk_io's main: starts EAL once for the whole process (EAL cannot be started twice), runs the tests,
// shuts EAL down. Run as `dpdk_io --eal-child <EAL args...>` it instead starts EAL with those arguments,
// prints the outcome on stdout and exits: the tests use that to see eal_init's errors in a fresh process.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "io/eal.hpp"
#include "io_test_env.hpp"

namespace {

int eal_child(int argc, char** argv) {
    std::vector<std::string> args(argv + 2, argv + argc);
    auto r = synwave::io::eal_init(args);
    if (!r) {
        std::printf("ERR %s\n", r.error().c_str());
        return 3;
    }
    std::printf("OK ports=%u lcores=%u dir=%s\n", r->ports, r->lcores, r->runtime_dir.c_str());
    auto c = synwave::io::eal_cleanup();
    std::printf("CLEANUP %s\n", c ? "ok" : c.error().c_str());
    return 0;
}

class EalEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        // Ordinary memory, no PCI scan, no shared config files, a per-process prefix, one lcore: the suite
        // needs no hugepages or NIC and cannot collide with another EAL process; plus one null port so
        // eal_init's port checks pass.
        const std::vector<std::string> args = {
            "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
            "--file-prefix=" + synwave::io::test::main_file_prefix(), "-l", "0", "--vdev=net_null0",
        };
        auto r = synwave::io::eal_init(args);
        ASSERT_TRUE(r.ok()) << r.error();
        synwave::io::test::main_eal_info() = *r;
    }
    void TearDown() override {
        auto r = synwave::io::eal_cleanup();
        EXPECT_TRUE(r.ok()) << r.error();
    }
};

}  // namespace

namespace synwave::io::test {

std::string main_file_prefix() { return "swtest-io-" + std::to_string(::getpid()); }

EalInfo& main_eal_info() {
    static EalInfo info;
    return info;
}

}  // namespace synwave::io::test

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--eal-child") == 0) return eal_child(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new EalEnvironment);  // gtest owns and deletes it
    return RUN_ALL_TESTS();
}
