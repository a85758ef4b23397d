// The client application: launches connections over its tuple space at a rate, sends requests, reads responses.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/application.hpp"
#include "engine/tuple_space.hpp"
#include "flow/toeplitz.hpp"
#include "http/http.hpp"

namespace synwave::engine {

// One request a client may send; several are taken by connections in smooth weighted round-robin (equal
// weights: plain round-robin).
struct RequestDef {
    http::RequestSpec spec;  // spec.host empty: the destination's address (and port unless 80)
    uint32_t weight = 1;
};

// The tuples of a family: every source (address x port) to every destination (address x port), walked in
// `order` (tuple_space.hpp).
struct ClientConfig {
    Ipv4 src_lo{0x0A01'0001}, src_hi{0x0A01'0001};  // source address range (inclusive)
    uint16_t sport_lo = 1024, sport_hi = 65535;     // source port range (inclusive)
    std::vector<Ipv4> dsts{Ipv4{0x0A00'0001}};      // destination addresses, distinct (empty: no IPv4)
    std::vector<uint16_t> dports{80};               // destination ports, distinct, for both families
    // IPv6 tuples: sources src6_lo and the next src6_count - 1 (last 32 bits step), to dsts6.
    Ipv6 src6_lo;
    uint32_t src6_count = 0;  // 0: no IPv6
    std::vector<Ipv6> dsts6;
    double v6_share = 0;      // fraction of new connections opened over IPv6 (1: IPv6 only)
    TupleOrder order = TupleOrder::Sequential;
    uint64_t tuple_seed = 1;  // the random order's permutation
    uint64_t rate = 0;             // new connections per second (0: as fast as concurrency allows)
    uint32_t ramp_ms = 0;          // linear ramp of the rate from 0
    uint32_t concurrency = 10000;  // open connections at most
    uint64_t max_connections = 0;  // stop launching after this many (0: unlimited)
    bool send_request = true;      // HTTP requests after the handshake (false: handshake and close only)
    // HTTP: the requests (empty: GET /), how many per connection over keep-alive (0: until the run ends), the
    // pause between a response and the next request, and the statuses that count as success (RFC 9110 §15).
    std::vector<RequestDef> requests;
    uint32_t requests_per_conn = 1;
    uint32_t think_us = 0;
    StatusSet expect = StatusSet::success();
    CloseMode close = CloseMode::ServerFirst;
    uint32_t launch_burst = 32;    // new connections per loop turn at most (paced launch, bounded TX bursts)
    uint64_t response_bytes = 0;   // a check: every whole response is this long (0: none); framing ends responses
    // With RSS on a multi-queue port: use only source ports whose return traffic the NIC hashes to `queue`
    // (software Toeplitz over the port's key and a mirror of its RETA), so a connection stays on its lcore.
    const flow::ToeplitzV4* rss = nullptr;
    const flow::ToeplitzV6* rss6 = nullptr;  // the same for IPv6 connections
    const flow::Reta* reta = nullptr;
    uint16_t queue = 0;

    // Every IPv4 4-tuple this client can use, for the stack's direct index: only when the destinations are
    // consecutive addresses and ports in ascending order (the index numbers them by offset); otherwise empty,
    // and the hash table serves.
    [[nodiscard]] flow::TupleRange tuples() const {
        if (dsts.empty() || dports.empty()) return {};
        for (size_t i = 1; i < dsts.size(); ++i)
            if (dsts[i].v != dsts[0].v + i) return {};
        for (size_t i = 1; i < dports.size(); ++i)
            if (dports[i] != dports[0] + i) return {};
        return flow::TupleRange{src_lo.v,    src_hi.v,     sport_lo, sport_hi, dsts[0].v, dports[0],
                                static_cast<uint32_t>(dsts.size()), static_cast<uint32_t>(dports.size())};
    }
};

class Client final : public Application {
public:
    Client(const ClientConfig& cfg, TscRate rate);
    void on_event(tcp::Stack& st, const tcp::Event& ev) override;
    // SendDone matters only when a connection carries more than one request (the next waits for it).
    [[nodiscard]] uint32_t interests() const override {
        const uint32_t skip = tcp::event_bit(tcp::EventKind::Accepted) |
                              (cfg_.requests_per_conn == 1 ? tcp::event_bit(tcp::EventKind::SendDone) : 0);
        return ~skip;
    }
    // The request texts, per template: [4 * i + 2 * v6 + closes] (closes: with "Connection: close").
    [[nodiscard]] const std::vector<std::string>& request_texts() const { return texts_; }
    // Launch new connections as the rate and concurrency allow (called once per loop turn).
    void tick(tcp::Stack& st, Instant now) override;
    // May be called from another thread (the main lcore ending a run).
    // The run is ending: no new connections, and open ones send no further requests (--requests 0 ends).
    void stop_launching() {
        ending_.store(true, std::memory_order_relaxed);
        stopped_.store(true, std::memory_order_relaxed);
    }
    // Per-connection slots indexed by the stack's TCB handle: one per TCB the stack can hold.
    void set_slots(uint32_t n) override;
    [[nodiscard]] bool done() const override { return stopped_.load(std::memory_order_relaxed) && open_ == 0; }
    [[nodiscard]] uint32_t open() const { return open_; }
    stats::LatencyHistogram connect_ns;     // connect() -> ESTABLISHED
    stats::LatencyHistogram first_byte_ns;  // request sent -> first byte of its response
    stats::LatencyHistogram response_ns;    // request sent -> complete response
    void copy_latencies(Latencies& out) const override {
        out.connect = connect_ns;
        out.first_byte = first_byte_ns;
        out.response = response_ns;
    }

private:
    enum class Fail : uint8_t { None, BadResponse, Status };
    struct Slot {                 // per connection, indexed by the TCB handle
        uint64_t started = 0;     // TSC at connect()
        uint64_t requested = 0;   // TSC at the outstanding request (0: none outstanding)
        uint32_t got = 0;         // bytes of the current response so far
        uint32_t sent = 0;        // requests sent on this connection
        uint32_t gen = 0;         // connections this slot has held (a think-time entry names one)
        uint8_t closed = 0;       // 1 once we closed with the exchange complete (a later RST ends a done connection)
        uint8_t v6 = 0;           // an IPv6 connection
        uint8_t tpl = 0;          // its request template
        uint8_t pending = 0;      // 1: the next request waits for the previous one's SendDone
        Fail fail = Fail::None;
        http::ResponseParser rp;
    };
    struct Thinking {             // a connection waiting out --think before its next request
        uint32_t conn, gen;
        uint64_t due;             // TSC
    };
    // http_client.cpp
    void build_requests();
    [[nodiscard]] uint8_t pick_template();
    void send_request(tcp::Stack& st, uint32_t conn, Slot& s);
    void on_data(tcp::Stack& st, uint32_t conn, Slot& s, const uint8_t* p, uint32_t n);
    void on_response(tcp::Stack& st, uint32_t conn, Slot& s, bool peer_fin);
    void on_peer_fin(tcp::Stack& st, uint32_t conn, Slot& s);
    // Our side ends the connection after its last exchange as the close mode says.
    void finish(tcp::Stack& st, uint32_t conn, Slot& s);
    // Ends a connection whose response was bad: RST, counted as failed.
    void fail_bad(tcp::Stack& st, uint32_t conn, Slot& s);
    void count_failed(Slot* s, Fail f);
    void resume_thinking(tcp::Stack& st, Instant now);
    void enter_v6(tcp::Stack& st);
    // A connection that ended cleanly: completed, unless one of its responses was bad or unexpected.
    void completed(Slot* s) {
        if (s && s->fail != Fail::None) {
            count_failed(s, s->fail);
            return;
        }
        ++c.conn_completed;
        if (s) c.conn_completed_v6 += s->v6;
    }
    ClientConfig cfg_;
    TscRate rate_;
    std::vector<std::string> texts_;   // see request_texts()
    std::vector<uint8_t> heads_;       // per template: 1 for HEAD
    std::vector<int64_t> wrr_;         // smooth weighted round-robin credit per template
    int64_t wrr_total_ = 0;
    std::vector<Slot> slots_;
    std::vector<Thinking> think_;      // FIFO ring (the think time is constant, so due times are in order)
    size_t think_head_ = 0, think_n_ = 0;
    Instant start_{};
    bool started_ = false;
    std::atomic<bool> stopped_{false};  // no more launches (the run ends, or --total reached)
    std::atomic<bool> ending_{false};   // the run ends
    double tokens_ = 0;
    Instant last_{};
    uint32_t open_ = 0;
    TupleWalk walk4_, walk6_;
    TupleSpace space6_;
    bool has4_ = false;
    std::vector<uint32_t> dst4_, dst6_;  // the destinations as key addresses (IPv6: the stack's handles)
    uint32_t src6_base_ = 0;             // the handle of our first IPv6 source
    double v6_acc_ = 0;
};

}  // namespace synwave::engine
