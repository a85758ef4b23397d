// EAL start-up and shutdown; see eal.hpp for the contract.
#include "io/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>

namespace synwave::io {
namespace {

// Set by a successful eal_init, cleared by eal_cleanup. Start-up state, never read on the data path.
bool g_running = false;
// rte_eal_init may keep pointers into argv (devargs, telemetry's copy of the command line): the strings
// built for the vector form live until the process ends.
std::vector<std::string>* g_argv_strings = nullptr;
std::vector<char*>* g_argv_ptrs = nullptr;

// What check_eal_args and eal_init need to know about an EAL command line. Only the options that matter
// here are recognised; anything else is left for rte_eal_init to judge.
struct ParsedEal {
    std::optional<std::string> corelist;  // -l
    std::optional<std::string> lcores;    // --lcores
    std::optional<std::string> coremask;  // -c
    bool no_huge = false;
    bool in_memory = false;
    std::vector<std::string> vdevs;  // --vdev values, with their arguments
};

ParsedEal parse_eal(const std::vector<std::string>& args) {
    ParsedEal p;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") break;  // the program's own arguments follow
        auto value_of = [&](std::string_view opt) -> std::optional<std::string> {
            // "-l 0-1", "-l0-1", "--lcores 0-1", "--lcores=0-1"
            if (a == opt) {
                if (i + 1 < args.size()) return args[++i];
                return std::string{};
            }
            if (opt.size() == 2 && a.size() > 2 && a.compare(0, 2, opt) == 0) return a.substr(2);
            if (opt.size() > 2 && a.size() > opt.size() && a.compare(0, opt.size(), opt) == 0 &&
                a[opt.size()] == '=')
                return a.substr(opt.size() + 1);
            return std::nullopt;
        };
        if (a == "--no-huge") { p.no_huge = true; continue; }
        if (a == "--in-memory") { p.in_memory = true; continue; }
        if (a.rfind("--", 0) == 0) {
            if (auto v = value_of("--lcores")) { p.lcores = *v; continue; }
            if (auto v = value_of("--vdev")) { p.vdevs.push_back(*v); continue; }
            continue;
        }
        if (auto v = value_of("-l")) { p.corelist = *v; continue; }
        if (auto v = value_of("-c")) { p.coremask = *v; continue; }
    }
    return p;
}

// "0-3,5" -> {0,1,2,3,5}. EAL's corelist syntax (eal_parse_corelist): numbers and ranges, comma separated.
std::optional<std::vector<unsigned>> parse_corelist(std::string_view s) {
    std::vector<unsigned> out;
    if (s.empty()) return std::nullopt;
    size_t i = 0;
    auto number = [&](unsigned& v) {
        while (i < s.size() && s[i] == ' ') ++i;
        const char* b = s.data() + i;
        auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
        if (ec != std::errc{} || p == b) return false;
        i = static_cast<size_t>(p - s.data());
        while (i < s.size() && s[i] == ' ') ++i;
        return true;
    };
    while (i < s.size()) {
        unsigned lo = 0, hi = 0;
        if (!number(lo)) return std::nullopt;
        hi = lo;
        if (i < s.size() && s[i] == '-') {
            ++i;
            if (!number(hi) || hi < lo) return std::nullopt;
        }
        // RTE_MAX_LCORE bounds what EAL accepts anyway; the bound keeps a typo from allocating gigabytes.
        if (hi >= 65536) return std::nullopt;
        for (unsigned c = lo; c <= hi; ++c) out.push_back(c);
        if (i < s.size()) {
            if (s[i] != ',') return std::nullopt;
            ++i;
        }
    }
    return out;
}

// "0x3" or "3" -> {0,1}.
std::optional<std::vector<unsigned>> parse_coremask(std::string_view s) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
    if (s.empty()) return std::nullopt;
    std::vector<unsigned> out;
    unsigned bit = 0;
    for (size_t k = s.size(); k-- > 0; bit += 4) {
        int d = 0;
        char ch = s[k];
        if (ch >= '0' && ch <= '9') d = ch - '0';
        else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
        else return std::nullopt;
        for (unsigned b = 0; b < 4; ++b)
            if (d & (1 << b)) out.push_back(bit + b);
    }
    return out;
}

std::string ranges_text(const std::vector<unsigned>& cpus) {
    std::string s;
    for (size_t i = 0; i < cpus.size();) {
        size_t j = i;
        while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
        if (!s.empty()) s += ',';
        s += std::to_string(cpus[i]);
        if (j > i) s += '-' + std::to_string(cpus[j]);
        i = j + 1;
    }
    return s.empty() ? "none" : s;
}

Result<void> check_lcores(const ParsedEal& p) {
    std::string given;
    std::optional<std::vector<unsigned>> want;
    if (p.corelist) {
        given = "-l " + *p.corelist;
        want = parse_corelist(*p.corelist);
    } else if (p.coremask) {
        given = "-c " + *p.coremask;
        want = parse_coremask(*p.coremask);
    } else if (p.lcores) {
        // --lcores also has a mapping syntax ("0@1,(2-3)@4"); only the plain list form is checked here,
        // EAL judges the rest itself.
        if (p.lcores->find_first_of("@()") != std::string::npos) return {};
        given = "--lcores " + *p.lcores;
        want = parse_corelist(*p.lcores);
    } else {
        return {};  // EAL uses every CPU in the affinity set
    }
    if (!want) return Error{"lcore list unavailable: cannot parse `" + given + "` (expected e.g. `-l 0-1,3`)"};
    const std::vector<unsigned> allowed = allowed_cpus();
    std::vector<unsigned> missing;
    for (unsigned c : *want) {
        bool ok = false;
        for (unsigned a : allowed) ok = ok || a == c;
        if (!ok) missing.push_back(c);
    }
    if (missing.empty()) return {};
    return Error{"lcore list unavailable: `" + given + "` names CPU(s) " + ranges_text(missing) +
                 " that this process may not run on (allowed: " + ranges_text(allowed) +
                 "; see `nproc`, taskset and the container's cpuset)"};
}

Result<void> check_hugepages(const ParsedEal& p) {
    if (p.no_huge) return {};
    namespace fs = std::filesystem;
    uint64_t free_pages = 0;
    std::error_code ec;
    for (fs::directory_iterator it("/sys/kernel/mm/hugepages", ec), end; !ec && it != end; it.increment(ec)) {
        std::ifstream f(it->path() / "free_hugepages");
        uint64_t n = 0;
        if (f >> n) free_pages += n;
    }
    bool mounted = false;
    {
        std::ifstream mounts("/proc/mounts");
        std::string dev, dir, type, rest;
        while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) mounted = mounted || type == "hugetlbfs";
    }
    // --in-memory backs hugepages with memfd and needs no hugetlbfs mount, but still needs free pages.
    std::string why;
    if (free_pages == 0) why = "no free hugepages are reserved (/sys/kernel/mm/hugepages/*/free_hugepages)";
    else if (!mounted && !p.in_memory) why = "no hugetlbfs is mounted (/proc/mounts)";
    if (why.empty()) return {};
    return Error{"no hugepages: EAL was asked for hugepage memory (no --no-huge) but " + why +
                 ". Add `--no-huge -m <MB>` to run from ordinary memory (fine for virtual devices), or reserve "
                 "and mount hugepages: `echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages; "
                 "mount -t hugetlbfs nodev /dev/hugepages`"};
}

// Both checks of check_eal_args(), also run by eal_init() before rte_eal_init.
Result<void> check_parsed(const ParsedEal& p) {
    if (Result<void> r = check_lcores(p); !r) return r;
    return check_hugepages(p);
}

// EAL names a vdev's device after the part of the argument before the first comma.
std::string vdev_name(const std::string& devargs) { return devargs.substr(0, devargs.find(',')); }

// Virtual devices that are not Ethernet ports (crypto, event, DMA, baseband, compression, raw) do not
// become ports; every other vdev must.
bool is_port_vdev(const std::string& name) {
    for (std::string_view prefix : {"crypto_", "event_", "dma_", "baseband_", "compress_", "raw", "regex_", "gpu_"})
        if (name.rfind(prefix, 0) == 0) return false;
    return true;
}

std::string eal_errno_hint(int e) {
    switch (e) {
    case ENODEV:
        return "a --vdev or -a device could not be parsed: unknown driver name or malformed arguments";
    case EALREADY:
        return "EAL was already started in this process (once per process)";
    case EINVAL:
        return "invalid EAL arguments (the EAL log line above names the option)";
    case ENOMEM:
        return "cannot reserve memory: too few hugepages, or -m larger than what is available";
    case EACCES:
        return "permission denied (hugepage files or device access; run as root or fix permissions)";
    case ENOTSUP:
        return "a bus could not be scanned or probed, or an option is not supported on this system";
    case EFAULT:
        return "cannot load driver plugins or initialise EAL internals (see the EAL log above)";
    default:
        return "see the EAL log lines above";
    }
}

void remove_runtime_dir(const std::string& dir) {
    if (dir.empty()) return;
    // rte_eal_cleanup leaves the telemetry sockets (telemetry unlinks them from an atexit handler), so the
    // directory is not yet empty; they are ours, and nothing listens on them after cleanup. Anything
    // else in it (shared config of a --no-shconf-less primary) is left alone, and so is the directory.
    for (const char* sock : {"/dpdk_telemetry.v2", "/telemetry"}) (void)::unlink((dir + sock).c_str());
    (void)::rmdir(dir.c_str());
}

Result<EalInfo> after_init(int consumed, int argc, char** argv, const ParsedEal& parsed, const EalOptions& opts) {
    EalInfo info;
    info.consumed = consumed;
    info.runtime_dir = rte_eal_get_runtime_dir();
    // rte_eal_init leaves argv[consumed] = program name, followed by what came after `--`.
    for (int i = consumed; i < argc; ++i) info.app_args.emplace_back(argv[i]);
    auto fail = [&](std::string msg) -> Result<EalInfo> {
        (void)rte_eal_cleanup();
        remove_runtime_dir(info.runtime_dir);
        return Error{std::move(msg)};
    };
    // EAL logs a vdev whose driver rejected its arguments and starts anyway; a program that asked for a
    // port and silently runs without it is worse than one that stops with the reason.
    for (const std::string& v : parsed.vdevs) {
        const std::string name = vdev_name(v);
        uint16_t port = 0;
        if (is_port_vdev(name) && rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0)
            return fail("bad vdev: `--vdev=" + v + "` did not become a port: its driver rejected the arguments " +
                        "(missing file or interface, bad key=value; see the EAL log lines above)");
    }
    info.ports = rte_eth_dev_count_avail();
    if (opts.require_ports && info.ports == 0)
        return fail("no ports: EAL started but found no usable Ethernet device. Add a virtual device "
                    "(e.g. `--vdev=net_ring0`, `--vdev=net_null0`, `--vdev=net_tap0,iface=sw0`) or bind a NIC to "
                    "vfio-pci (and drop --no-pci)");
    info.lcores = rte_lcore_count();
    info.main_lcore = rte_get_main_lcore();
    g_running = true;
    return info;
}

Result<EalInfo> run_init(int argc, char** argv, const std::vector<std::string>& eal_args, const EalOptions& opts) {
    if (g_running) return Error{"EAL is already running: it can be started once per process"};
    const ParsedEal parsed = parse_eal(eal_args);
    if (Result<void> r = check_parsed(parsed); !r) return Error{r.error()};
    const int consumed = rte_eal_init(argc, argv);
    if (consumed < 0) {
        const int e = rte_errno;
        // EAL creates its runtime directory early and leaves it behind when a later step fails.
        remove_runtime_dir(rte_eal_get_runtime_dir());
        return Error{"rte_eal_init failed: " + std::string(rte_strerror(e)) + " (errno " + std::to_string(e) +
                     "): " + eal_errno_hint(e)};
    }
    return after_init(consumed, argc, argv, parsed, opts);
}

std::atomic<unsigned> g_prefix_counter{0};

}  // namespace

std::vector<unsigned> allowed_cpus() {
    std::vector<unsigned> out;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return out;
    for (unsigned c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) out.push_back(c);
    return out;
}

std::vector<std::string> embedded_eal_args(const EalDefaults& d) {
    std::vector<std::string> a = {
        "--no-huge", "-m", std::to_string(d.memory_mb), "--no-pci", "--no-shconf",
        "--file-prefix=" + (d.file_prefix.empty() ? unique_file_prefix("synwave") : d.file_prefix),
        "-l", d.lcores,
    };
    for (const std::string& v : d.vdevs) a.push_back("--vdev=" + v);
    a.insert(a.end(), d.extra.begin(), d.extra.end());
    return a;
}

std::string unique_file_prefix(std::string_view stem) {
    return std::string(stem) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(g_prefix_counter.fetch_add(1, std::memory_order_relaxed));
}

Result<void> check_eal_args(const std::vector<std::string>& eal_args) { return check_parsed(parse_eal(eal_args)); }

Result<EalInfo> eal_init(int argc, char** argv, const EalOptions& opts) {
    std::vector<std::string> eal_args;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--") break;
        eal_args.emplace_back(argv[i]);
    }
    return run_init(argc, argv, eal_args, opts);
}

Result<EalInfo> eal_init(const std::vector<std::string>& eal_args, const EalOptions& opts) {
    if (g_running) return Error{"EAL is already running: it can be started once per process"};
    // Kept for the life of the process (see g_argv_strings). After a failed attempt the old copy is left
    // alone rather than freed: EAL may still point into it.
    g_argv_strings = new std::vector<std::string>();
    g_argv_strings->reserve(eal_args.size() + 1);
    g_argv_strings->emplace_back("synwave");
    g_argv_strings->insert(g_argv_strings->end(), eal_args.begin(), eal_args.end());
    g_argv_ptrs = new std::vector<char*>();
    for (std::string& s : *g_argv_strings) g_argv_ptrs->push_back(s.data());
    g_argv_ptrs->push_back(nullptr);
    return run_init(static_cast<int>(g_argv_strings->size()), g_argv_ptrs->data(), eal_args, opts);
}

bool eal_running() { return g_running; }

Result<void> eal_cleanup() {
    if (!g_running) return Error{"EAL is not running"};
    const std::string dir = rte_eal_get_runtime_dir();
    const int rc = rte_eal_cleanup();
    g_running = false;
    remove_runtime_dir(dir);
    if (rc != 0) return Error{"rte_eal_cleanup failed: " + std::string(rte_strerror(-rc))};
    return {};
}

std::string eal_runtime_dir_for(std::string_view file_prefix) {
    // Mirrors eal_create_runtime_dir() in DPDK's lib/eal/linux/eal.c.
    std::string base = "/var/run";
    if (::getuid() != 0) {
        const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        base = xdg ? xdg : "/tmp";
    }
    return base + "/dpdk/" + std::string(file_prefix);
}

}  // namespace synwave::io
