// What the applications on a per-lcore tcp::Stack share: their counters, the Application interface the worker
// drives, the test pattern and the HTTP texts. DPDK-free: applications see only stack events, user calls and
// the time the worker passes in, so the simulator and the unit tests can drive them too.
#pragma once
#include <array>
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
    X(conn_failed_bad_response, "client: connections ended by a response that did not parse, was cut short, "  \
                                "or never came before the server closed")                                     \
    X(conn_failed_status, "client: connections that got a response whose status --expect-status excludes")    \
    X(requests_sent, "client: requests sent")                                                        \
    X(requests_received, "server: requests parsed whole")                                            \
    X(requests_bad, "server: requests answered 400 (malformed, or HTTP/1.1 without Host)")            \
    X(requests_too_large, "server: requests answered 431 (header section) or 413 (body) over the limits")  \
    X(requests_not_implemented, "server: requests answered 501 (a method the server does not serve)") \
    X(responses_sent, "server: responses sent")                                                      \
    X(responses_queued, "server: pipelined responses that waited for the one before them")           \
    X(http_no_slot, "server: connections closed for want of an HTTP slot (http_slots) or queue room") \
    X(http_ignored_bytes, "server: request bytes after a request that closes the connection (not answered)") \
    X(responses_done, "client: complete responses received")                                         \
    X(bad_responses, "client: responses that did not parse, were cut short or came unasked")          \
    X(status_unexpected, "client: responses whose status --expect-status excludes")                  \
    X(http_1xx, "HTTP responses with a 1xx status (client: received, interim; server: sent)")        \
    X(http_2xx, "HTTP responses with a 2xx status (client: received; server: sent)")                 \
    X(http_3xx, "HTTP responses with a 3xx status (client: received; server: sent)")                 \
    X(http_4xx, "HTTP responses with a 4xx status (client: received; server: sent)")                 \
    X(http_5xx, "HTTP responses with a 5xx status (client: received; server: sent)")                 \
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

// A set of HTTP status codes (100..599): what a client counts as a good response (--expect-status).
class StatusSet {
public:
    void add(uint16_t code) {
        if (code >= 100 && code < 600) bits_[code >> 6] |= uint64_t{1} << (code & 63);
    }
    void add_class(uint16_t cls) {  // 2 -> 200..299
        for (uint16_t s = cls * 100; s < cls * 100 + 100; ++s) add(s);
    }
    [[nodiscard]] bool has(uint16_t code) const { return code < 640 && ((bits_[code >> 6] >> (code & 63)) & 1); }
    [[nodiscard]] bool empty() const {
        for (uint64_t b : bits_) if (b) return false;
        return true;
    }
    [[nodiscard]] static StatusSet success() {
        StatusSet s;
        s.add_class(2);
        return s;
    }

private:
    std::array<uint64_t, 10> bits_{};
};
enum class ServerBehaviour : uint8_t { Close, Http, Echo, Sink };

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

// A client's latency histograms (ns): what the worker publishes for the per-second series and the metrics
// endpoint, and what the report merges across lcores.
struct Latencies {
    stats::LatencyHistogram connect;     // connect() -> ESTABLISHED
    stats::LatencyHistogram first_byte;  // request sent -> first byte of its response
    stats::LatencyHistogram response;    // request sent -> complete response
    Latencies& operator+=(const Latencies& o) {
        connect += o.connect;
        first_byte += o.first_byte;
        response += o.response;
        return *this;
    }
};

// What a worker runs on its stack: events in, and a tick once per loop turn to start new work.
class Application : public tcp::App {
public:
    virtual void tick(tcp::Stack& st, Instant now) = 0;
    // Per-connection state indexed by the stack's TCB handle, one entry per TCB (the worker sizes it).
    virtual void set_slots(uint32_t) {}
    // Nothing left to do (a client that stopped launching and has no connection open).
    [[nodiscard]] virtual bool done() const = 0;
    // Copies the application's latency histograms (a client's; a server has none) for publishing.
    virtual void copy_latencies(Latencies&) const {}
    AppCounters c{};
};

// Counts an HTTP status in its class (http_1xx .. http_5xx; anything else as 5xx).
inline void count_status(AppCounters& c, uint16_t status) {
    switch (status / 100) {
    case 1: ++c.http_1xx; break;
    case 2: ++c.http_2xx; break;
    case 3: ++c.http_3xx; break;
    case 4: ++c.http_4xx; break;
    default: ++c.http_5xx; break;
    }
}

// The HTTP/1.1 response the server sends by default for a body of n bytes (so a client can know its length).
[[nodiscard]] std::string http_response(uint32_t body_bytes, bool keepalive);
// A Host field value for an address (RFC 9110 §7.2; an IPv6 literal in brackets, RFC 3986 §3.2.2) and port
// (omitted when 80).
[[nodiscard]] std::string host_field(const std::string& addr, bool v6, uint16_t port);

}  // namespace synwave::engine
