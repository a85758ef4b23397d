// Starting and stopping DPDK's Environment Abstraction Layer (EAL).
//
// Two ways in, both ending in one rte_eal_init() call (EAL can be started once per process; a second
// call is refused, and so is a restart after eal_cleanup()):
//   - from the program's own argv, DPDK's convention: `synwave <EAL args> -- <program args>`;
//   - from a list the program builds, e.g. from a config file's `eal` section, or embedded_eal_args()
//     for the no-setup default (no hugepages, no NIC, virtual devices only).
//
// Nothing here calls rte_exit() or aborts: every failure comes back as a Result whose text names the
// cause and the fix. Before rte_eal_init runs, check_eal_args() rejects the two mistakes EAL reports
// only as "Invalid argument" or "Cannot init memory" (an lcore list naming CPUs the process may not use,
// hugepages requested where there are none). After it, eal_init() confirms every `--vdev` became a port
// (EAL logs a rejected vdev and carries on) and, unless told otherwise, that there is at least one port.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/result.hpp"

namespace synwave::io {

struct EalOptions {
    // Fail when EAL comes up with no Ethernet port: a program with no port can do nothing useful, and the
    // message says how to get one.
    bool require_ports = true;
};

struct EalInfo {
    int consumed = 0;                   // argv entries EAL parsed (rte_eal_init's return value)
    std::vector<std::string> app_args;  // the program's arguments: program name, then what followed `--`
    uint16_t ports = 0;                 // rte_eth_dev_count_avail() after start
    unsigned lcores = 0;                // rte_lcore_count()
    unsigned main_lcore = 0;            // rte_get_main_lcore()
    std::string runtime_dir;            // rte_eal_get_runtime_dir(); removed again by eal_cleanup()
};

// What embedded_eal_args() builds. Values are the project's defaults for a machine with no hugepages and
// no NIC (the embedded default of README.md "Two commands"): 512 MB of ordinary memory, two lcores.
struct EalDefaults {
    uint32_t memory_mb = 512;
    std::string lcores = "0-1";
    std::vector<std::string> vdevs;  // e.g. {"net_ring0", "net_null0"}; each becomes --vdev=<entry>
    std::string file_prefix;         // empty: unique_file_prefix("synwave")
    std::vector<std::string> extra;  // appended verbatim (e.g. "--log-level=lib.eal:debug")
};

// EAL arguments only (no program name):
//   --no-huge -m <MB> --no-pci --no-shconf --file-prefix=<prefix> -l <lcores> --vdev=<v>... <extra>...
// --no-shconf keeps EAL from writing shared config files, so concurrent processes do not collide and
// nothing is left behind; --file-prefix still has to be unique per process for the runtime directory.
[[nodiscard]] std::vector<std::string> embedded_eal_args(const EalDefaults& d);

// "<stem>-<pid>-<n>", n counting calls in this process, so two programs (or two tests) never share a
// runtime directory.
[[nodiscard]] std::string unique_file_prefix(std::string_view stem = "synwave");

// The CPUs this process may run on (its affinity set), in order.
[[nodiscard]] std::vector<unsigned> allowed_cpus();

// Checks what rte_eal_init would reject with an unhelpful errno: lcores (-l, -c, simple --lcores) outside
// this process's CPU affinity, and hugepage memory asked for (no --no-huge) where none is free or
// mounted. Does not start EAL; callable any time.
[[nodiscard]] Result<void> check_eal_args(const std::vector<std::string>& eal_args);

// Starts EAL from the program's argv (EAL args, then `--`, then the program's). On success
// EalInfo::app_args holds argv[0] followed by the arguments after `--`.
[[nodiscard]] Result<EalInfo> eal_init(int argc, char** argv, const EalOptions& opts = {});

// Starts EAL from EAL arguments only; argv[0] is supplied ("synwave"). The strings are copied and kept
// for the life of the process (EAL may refer to argv after init).
[[nodiscard]] Result<EalInfo> eal_init(const std::vector<std::string>& eal_args, const EalOptions& opts = {});

// True between a successful eal_init() and eal_cleanup().
[[nodiscard]] bool eal_running();

// Releases EAL's resources at shutdown (rte_eal_cleanup) and removes this process's runtime directory
// (/var/run/dpdk/<prefix> as root) with the telemetry sockets EAL leaves in it until exit; a directory
// holding anything else (shared config without --no-shconf) stays. Close ports and free pools first.
// EAL cannot be started again afterwards in this process.
[[nodiscard]] Result<void> eal_cleanup();

// The runtime directory EAL uses for a file prefix, computed the way EAL does (root: /var/run/dpdk,
// otherwise $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk). Lets a supervisor remove what a crashed child left.
[[nodiscard]] std::string eal_runtime_dir_for(std::string_view file_prefix);

}  // namespace synwave::io
