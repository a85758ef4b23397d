// Runs a set of lanes (one worker per lcore) until the duration ends or a signal arrives, prints one line of
// figures per second, then a summary in text and, with --json, JSON.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "io/pcap.hpp"
#include "io/port.hpp"
#include "options.hpp"

namespace synwave::app {

struct Lane {
    unsigned lcore = 0;                          // lanes[0] runs on the main lcore
    uint16_t port = 0, queue = 0;                // the lane's port and RX/TX queue pair
    engine::Client* client = nullptr;            // set when app is a Client
    std::unique_ptr<engine::Application> app;    // Server or Client
    std::unique_ptr<io::PcapWriter> pcap;
    std::unique_ptr<engine::Worker> worker;
    // Memory: what building this lane added to the process's resident set (stack tables and pools,
    // application slots, worker), measured by make_lane; and the bytes of its mbuf pool (set by the caller).
    uint64_t rss_bytes = 0;
    uint64_t pool_bytes = 0;
    // Client: its source tuples. Set by the caller to give the lane a slice of its port's sources (storm
    // lanes); make_lane fills in all of them otherwise.
    std::optional<SrcSlice> src;
};

// Builds the lane's application, capture file and worker (the worker config's stack, pool, port, queue and
// addresses are the caller's). Returns an error text, or empty.
// A client connects from the lane's `src` slice when set, else from all of `net`'s sources.
// A client on a multi-queue RSS port gets the port's key and RETA mirror to pick its source ports.
[[nodiscard]] std::string make_lane(Lane& lane, const Options& o, const PortSetup& net, bool client,
                                    engine::WorkerConfig wc, TscRate rate, Instant now,
                                    const flow::ToeplitzV4* rss = nullptr, const flow::Reta* reta = nullptr,
                                    const flow::ToeplitzV6* rss6 = nullptr);

// Waits (not polling any port) until SIGINT or SIGTERM arrives after run_lanes returned: `--hold`, so that
// a net_memif peer can stop polling before this process closes its port (see config/memif-server.toml).
void hold_until_signal();

// Resident set size of this process in bytes (/proc/self/statm), 0 if unreadable.
[[nodiscard]] uint64_t resident_bytes();

// Returns the process exit status: 0, or 1 when more client connections failed than --fail-tolerance allows
// (or none completed). `ports` are the ports the lanes use: their own counters (rte_eth_stats: frames the
// device dropped or could not send) are read by this function on the main lcore, once a second and at the end.
[[nodiscard]] int run_lanes(std::vector<Lane>& lanes, const std::vector<io::Port>& ports, const Options& o,
                            const std::string& title);

}  // namespace synwave::app
