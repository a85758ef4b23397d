// The applications that sit on a per-lcore tcp::Stack: the server responder and the client generator.
// DPDK-free: they see only stack events, user calls and the time the worker passes in, so the simulator and
// the unit tests can drive them too.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"
#include "core/time.hpp"
#include "flow/toeplitz.hpp"
#include "stats/counters.hpp"
#include "stats/histogram.hpp"
#include "tcp/stack.hpp"

namespace synwave::engine {

#define SYNWAVE_APP_COUNTERS(X)                                                                       \
    X(conn_attempted, "client: connect() calls that sent a SYN")                                     \
    X(conn_connected, "client: connections that reached ESTABLISHED")                                \
    X(conn_completed, "connections that finished their whole exchange and closed cleanly")           \
    X(conn_failed, "connections that ended in a reset or timeout before completing")                 \
    X(conn_failed_refused, "client: connections refused (RST to our SYN)")                           \
    X(conn_failed_timeout, "connections abandoned after retransmission limits")                      \
    X(conn_failed_reset, "connections reset by the peer before completing")                          \
    X(conn_accepted, "server: connections accepted")                                                 \
    X(conn_attempted_v6, "client: of conn_attempted, over IPv6")                                       \
    X(conn_completed_v6, "of conn_completed, over IPv6")                                               \
    X(conn_failed_v6, "of conn_failed, over IPv6")                                                     \
    X(conn_accepted_v6, "server: of conn_accepted, over IPv6")                                         \
    X(requests_sent, "client: requests sent")                                                        \
    X(responses_sent, "server: responses sent")                                                      \
    X(responses_done, "client: complete responses received")                                         \
    X(response_bytes, "client: response bytes received")                                             \
    X(port_busy, "client: source tuples skipped because still in use (TIME_WAIT or open)")           \
    X(launch_limited, "client: launches deferred by the concurrency limit")                          \
    X(conn_reset_at_close, "client: completed connections a peer RST ended after our FIN (the peer had "  \
                           "no state left, e.g. its TIME_WAIT ran out before our FIN was acknowledged)")  \
    X(echo_bytes, "server: bytes echoed")                                                            \
    X(echo_no_buffer, "server: echo connections aborted: no echo buffer free (echo_slots)")          \
    X(echo_overflow, "server: echo connections aborted: peer sent more than the buffer while unacked")      \
    X(sink_bytes, "server sink: bytes received and checked against the pattern at their stream offset")   \
    X(sink_mismatch, "server sink: received bytes that differ from the pattern at their stream offset")   \
    X(sink_first_mismatch, "server sink: stream offset + 1 of the first differing byte this lcore saw "   \
                           "(0: none; a sum over lcores: read each lane's when several sink)")

SYNWAVE_STATS_DEFINE_COUNTERS(AppCounters, SYNWAVE_APP_COUNTERS);

enum class CloseMode : uint8_t { ClientFirst, ServerFirst, Rst };
enum class ServerBehaviour : uint8_t { Close, Http, Echo, Sink };

struct ServerConfig {
    ServerBehaviour behaviour = ServerBehaviour::Http;
    uint32_t body_bytes = 64;              // HTTP response body size
    CloseMode close = CloseMode::ServerFirst;  // who closes after the response
    bool keepalive = false;                // HTTP keep-alive: answer every request, close on the peer's FIN
    // Echo: send() does not copy, so each echo connection takes a slot of two buffers (in flight, and what
    // arrived meanwhile), allocated once; a connection beyond echo_slots, or whose peer outruns the buffer, is
    // aborted and counted.
    uint32_t echo_slots = 1024;
    uint32_t echo_buffer = 4096;
    // Sink: takes whatever the peer sends, checks it against pattern_byte() by stream offset (counted), sends
    // nothing, and closes when the peer does.
};

// Byte i of the test pattern: HTTP response bodies, and what the sink expects at stream offset i. 16-byte
// records, each the record's own number in 15 hex digits and a newline ("000000000000000\n000000000000001\n"...):
// text, so HTTP clients and test scripts read it as text, and unique at every offset below 2^64, so bytes put
// at any other offset than their own (a retransmission from the wrong place in the buffer, a hole filled with
// other data) differ from what belongs there, and the record they came from says where they belonged.
[[nodiscard]] constexpr uint8_t pattern_byte(uint64_t i) {
    const unsigned pos = static_cast<unsigned>(i & 15);
    if (pos == 15) return '\n';
    return static_cast<uint8_t>("0123456789abcdef"[((i >> 4) >> (4 * (14 - pos))) & 15]);
}

struct ClientConfig {
    Ipv4 src_lo{0x0A01'0001}, src_hi{0x0A01'0001};  // source address range (inclusive)
    uint16_t sport_lo = 1024, sport_hi = 65535;     // source port range (inclusive)
    Ipv4 dst{0x0A00'0001};
    uint16_t dport = 80;
    // IPv6 tuples: sources src6_lo and the next src6_count - 1 (last 32 bits step), to dst6 (same dport).
    Ipv6 src6_lo;
    uint32_t src6_count = 0;  // 0: no IPv6
    Ipv6 dst6;
    double v6_share = 0;      // fraction of new connections opened over IPv6 (1: IPv6 only)
    uint64_t rate = 0;             // new connections per second (0: as fast as concurrency allows)
    uint32_t ramp_ms = 0;          // linear ramp of the rate from 0
    uint32_t concurrency = 10000;  // open connections at most
    uint64_t max_connections = 0;  // stop launching after this many (0: unlimited)
    bool send_request = true;      // HTTP GET after the handshake
    CloseMode close = CloseMode::ServerFirst;
    uint32_t launch_burst = 32;    // new connections per loop turn at most (paced launch, bounded TX bursts)
    uint64_t response_bytes = 0;   // length of a whole response when known (0: the server's FIN ends it)
    // With RSS on a multi-queue port: use only source ports whose return traffic the NIC hashes to `queue`
    // (software Toeplitz over the port's key and a mirror of its RETA), so a connection stays on its lcore.
    const flow::ToeplitzV4* rss = nullptr;
    const flow::ToeplitzV6* rss6 = nullptr;  // the same for IPv6 connections
    const flow::Reta* reta = nullptr;
    uint16_t queue = 0;

    // Every 4-tuple this client can use (its sources to its destination), for the stack's direct index.
    [[nodiscard]] flow::TupleRange tuples() const {
        return flow::TupleRange{src_lo.v, src_hi.v, sport_lo, sport_hi, dst.v, dport};
    }
};

// What a worker runs on its stack: events in, and a tick once per loop turn to start new work.
class Application : public tcp::App {
public:
    virtual void tick(tcp::Stack& st, Instant now) = 0;
    // Nothing left to do (a client that stopped launching and has no connection open).
    [[nodiscard]] virtual bool done() const = 0;
    AppCounters c{};
};

class Server final : public Application {
public:
    explicit Server(const ServerConfig& cfg);
    void on_event(tcp::Stack& st, const tcp::Event& ev) override;
    // SendDone matters to echo only (its buffers); a response template stays valid anyway.
    [[nodiscard]] uint32_t interests() const override {
        return cfg_.behaviour == ServerBehaviour::Echo ? ~0u : ~tcp::event_bit(tcp::EventKind::SendDone);
    }
    void tick(tcp::Stack&, Instant) override {}
    [[nodiscard]] bool done() const override { return true; }
    // Per-connection state indexed by the stack's TCB handle, one entry per TCB: echo's slot map, or the sink's
    // stream offsets.
    void set_slots(uint32_t n);

private:
    struct EchoSlot {
        uint32_t inflight = 0;   // bytes of buf[cur] given to send(), not yet acknowledged
        uint32_t pending = 0;    // bytes waiting in buf[cur ^ 1]
        uint8_t cur = 0;
        bool fin = false;        // the peer closed: close once everything is echoed
    };
    void echo_data(tcp::Stack& st, const tcp::Event& ev);
    void echo_flush(tcp::Stack& st, uint32_t conn);
    void echo_free(uint32_t conn);
    void sink_data(const tcp::Event& ev);
    void completed(uint32_t conn) {
        ++c.conn_completed;
        if (conn < v6_.size()) c.conn_completed_v6 += v6_[conn];
    }
    [[nodiscard]] uint8_t* echo_buf(uint32_t slot, uint8_t which) {
        return echo_mem_.data() + (static_cast<size_t>(slot) * 2 + which) * cfg_.echo_buffer;
    }

    ServerConfig cfg_;
    std::string response_;
    std::vector<uint32_t> echo_of_;      // TCB handle -> echo slot (kNoSlot: none)
    std::vector<EchoSlot> echo_;
    std::vector<uint8_t> echo_mem_;
    std::vector<uint32_t> echo_free_;
    std::vector<uint64_t> sink_off_;     // TCB handle -> stream offset of the next byte (sink only)
    std::vector<uint8_t> v6_;            // TCB handle -> 1 for an IPv6 connection
    static constexpr uint32_t kNoSlot = UINT32_MAX;
};

class Client final : public Application {
public:
    Client(const ClientConfig& cfg, TscRate rate);
    void on_event(tcp::Stack& st, const tcp::Event& ev) override;
    [[nodiscard]] uint32_t interests() const override {
        return ~(tcp::event_bit(tcp::EventKind::SendDone) | tcp::event_bit(tcp::EventKind::Accepted));
    }
    // Launch new connections as the rate and concurrency allow (called once per loop turn).
    void tick(tcp::Stack& st, Instant now) override;
    // May be called from another thread (the main lcore ending a run).
    void stop_launching() { stopped_.store(true, std::memory_order_relaxed); }
    // Per-connection slots indexed by the stack's TCB handle: one per TCB the stack can hold.
    void set_slots(uint32_t n) { slots_.assign(n, Slot{}); }
    [[nodiscard]] bool done() const override { return stopped_.load(std::memory_order_relaxed) && open_ == 0; }
    [[nodiscard]] uint32_t open() const { return open_; }
    stats::LatencyHistogram connect_ns;   // connect() -> ESTABLISHED
    stats::LatencyHistogram response_ns;  // request sent -> complete response

private:
    struct Slot {                 // per connection, indexed by the TCB handle
        uint64_t started = 0;     // TSC at connect()
        uint64_t requested = 0;   // TSC at request
        uint32_t got = 0;         // response bytes so far
        uint8_t closed = 0;       // 1 once we closed with the exchange complete (a later RST ends a done connection)
        uint8_t v6 = 0;           // an IPv6 connection
    };
    struct Walk {                 // where the sequential walk over one family's source tuples stands
        uint32_t ip = 0, port = 0;
    };
    void enter_v6(tcp::Stack& st);
    void completed(const Slot* s) {
        ++c.conn_completed;
        if (s) c.conn_completed_v6 += s->v6;
    }
    ClientConfig cfg_;
    TscRate rate_;
    std::string request_, request6_;
    std::vector<Slot> slots_;
    Instant start_{};
    bool started_ = false;
    std::atomic<bool> stopped_{false};
    double tokens_ = 0;
    Instant last_{};
    uint32_t open_ = 0;
    Walk walk4_, walk6_;
    uint32_t src6_base_ = 0, dst6_ = 0;  // handles of our first IPv6 source and of the destination
    double v6_acc_ = 0;
};

// The HTTP/1.1 response the server sends for a body of n bytes (so a client can know its length).
[[nodiscard]] std::string http_response(uint32_t body_bytes, bool keepalive);
[[nodiscard]] std::string http_request(Ipv4 host);
[[nodiscard]] std::string http_request(const Ipv6& host);

}  // namespace synwave::engine
