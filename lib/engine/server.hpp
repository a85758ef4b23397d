// The server application: accepts, answers (HTTP, echo, sink or nothing) and closes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/application.hpp"
#include "http/http.hpp"

namespace synwave::engine {

// What the HTTP server answers for one path (or for every other path: ServerConfig::fallback).
struct HttpRoute {
    std::string path;  // the request-target's path, matched exactly ("/", "/status/503")
    uint16_t status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra response fields
};

struct ServerConfig {
    ServerBehaviour behaviour = ServerBehaviour::Http;
    uint32_t body_bytes = 64;              // HTTP: body size of the default 200 response (the test pattern)
    CloseMode close = CloseMode::ServerFirst;  // who closes after the response
    // HTTP keep-alive: a connection stays open for more requests while the client asks for it (RFC 9112 §9.3).
    bool keepalive = false;
    std::vector<HttpRoute> routes;         // at most http::Routes::kMax paths answered specially
    std::optional<HttpRoute> fallback;     // every other path; unset: 200 with body_bytes of the test pattern
    http::RequestLimits limits;            // a header section over max_header gets 431, a body over max_body 413
    // Requests that end in a later segment than they began, and responses waiting behind one still in flight
    // (pipelining), keep their state in one of http_slots per lcore, taken when needed and given back when the
    // connection is idle again; none free: the request gets 503 and the connection closes (http_no_slot).
    uint32_t http_slots = 16384;
    // Echo: send() does not copy, so each echo connection takes a slot of two buffers (in flight, and what
    // arrived meanwhile), allocated once; a connection beyond echo_slots, or whose peer outruns the buffer, is
    // aborted and counted.
    uint32_t echo_slots = 1024;
    uint32_t echo_buffer = 4096;
    // Sink: takes whatever the peer sends, checks it against pattern_byte() by stream offset (counted), sends
    // nothing, and closes when the peer does.
};

class Server final : public Application {
public:
    explicit Server(const ServerConfig& cfg);
    void on_event(tcp::Stack& st, const tcp::Event& ev) override;
    // SendDone matters to echo (its buffers), and to HTTP once a response has to wait for the one in flight
    // (respond() asks for it then); a response template stays valid anyway.
    [[nodiscard]] uint32_t interests() const override {
        return cfg_.behaviour == ServerBehaviour::Echo ? ~0u : ~tcp::event_bit(tcp::EventKind::SendDone);
    }
    void tick(tcp::Stack&, Instant) override {}
    [[nodiscard]] bool done() const override { return true; }
    // Per-connection state indexed by the stack's TCB handle, one entry per TCB: echo's slot map, or the sink's
    // stream offsets.
    void set_slots(uint32_t n) override;

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
    // HTTP (http_server.cpp)
    struct HttpSlot {
        static constexpr uint32_t kQueue = 16;  // responses waiting behind the one in flight
        http::RequestParser req;
        uint8_t queue[kQueue];                  // response ids, oldest at head
        uint8_t head = 0, queued = 0;
        bool fin = false;                       // the peer closed: close once the queue is sent
    };
    struct Response {                           // one prebuilt response text
        std::string bytes;
        uint16_t status;
        bool closes;                            // the connection ends after it
    };
    void build_responses();
    [[nodiscard]] uint8_t decide(const http::RequestParser& rp, bool error);
    void http_data(tcp::Stack& st, const tcp::Event& ev);
    // Sends response `id` now, or queues it behind the one in flight; false when neither was possible.
    bool respond(tcp::Stack& st, uint32_t conn, uint8_t id);
    void http_send_done(tcp::Stack& st, uint32_t conn);
    // The peer's FIN: true when the connection may close now, false when responses are still queued.
    [[nodiscard]] bool http_peer_fin(uint32_t conn);
    void after_response(tcp::Stack& st, uint32_t conn, const Response& r);
    // The queue is full: its last response becomes the closing one; false when nothing is queued.
    [[nodiscard]] bool close_after_queue(uint32_t conn);
    [[nodiscard]] uint32_t http_slot(uint32_t conn);
    void http_release(uint32_t conn);
    void completed(uint32_t conn) {
        ++c.conn_completed;
        if (conn < flags_.size()) c.conn_completed_v6 += flags_[conn] & kV6;
    }
    [[nodiscard]] uint8_t* echo_buf(uint32_t slot, uint8_t which) {
        return echo_mem_.data() + (static_cast<size_t>(slot) * 2 + which) * cfg_.echo_buffer;
    }

    ServerConfig cfg_;
    http::Routes routes_;
    std::vector<Response> responses_;      // 4 per route and the fallback (HEAD x close), then the errors
    uint8_t err_400_ = 0, err_413_ = 0, err_431_ = 0, err_501_ = 0, err_503_ = 0;
    uint8_t continue_ = 0;  // the interim "100 Continue" (RFC 9110 §15.2.1)
    std::vector<uint32_t> http_of_;        // TCB handle -> HTTP slot (kNoSlot: none)
    std::vector<HttpSlot> http_;
    std::vector<uint32_t> http_free_;
    std::vector<uint32_t> echo_of_;      // TCB handle -> echo slot (kNoSlot: none)
    std::vector<EchoSlot> echo_;
    std::vector<uint8_t> echo_mem_;
    std::vector<uint32_t> echo_free_;
    std::vector<uint64_t> sink_off_;     // TCB handle -> stream offset of the next byte (sink only)
    std::vector<uint8_t> flags_;         // TCB handle -> kV6 | kClosing
    static constexpr uint8_t kV6 = 1;      // an IPv6 connection
    static constexpr uint8_t kClosing = 2; // HTTP: a response that ends the connection was decided; later bytes are ignored
    static constexpr uint32_t kNoSlot = UINT32_MAX;
};

}  // namespace synwave::engine
