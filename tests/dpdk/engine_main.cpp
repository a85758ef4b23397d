// dpdk_engine's main: starts EAL once for the whole process (EAL cannot be started twice), runs the engine
// tests, shuts EAL down. No vdev is given on the command line: each test makes the devices it needs at run
// time (RingPair, io::probe_vdev) and removes them again, so tests do not share ports.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>
#include <vector>

#include "io/eal.hpp"

namespace {

class EalEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        // Ordinary memory (no hugepages on the lab machines), no PCI scan, no shared config files, a
        // per-process prefix, one lcore: the workers run in the test thread.
        const std::vector<std::string> args = {
            "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
            "--file-prefix=swtest-engine-" + std::to_string(::getpid()), "-l", "0",
            "--log-level=lib.eal:error",
        };
        synwave::io::EalOptions opts;
        opts.require_ports = false;  // ports are created by the tests
        auto r = synwave::io::eal_init(args, opts);
        ASSERT_TRUE(r.ok()) << r.error();
    }
    void TearDown() override {
        auto r = synwave::io::eal_cleanup();
        EXPECT_TRUE(r.ok()) << r.error();
    }
};

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new EalEnvironment);  // gtest owns and deletes it
    return RUN_ALL_TESTS();
}
