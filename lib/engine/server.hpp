// The server application: accepts, answers (HTTP, echo, sink or nothing) and closes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/application.hpp"

namespace synwave::engine {

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

}  // namespace synwave::engine
