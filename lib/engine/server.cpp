#include "engine/server.hpp"

#include <algorithm>
#include <cstring>

namespace synwave::engine {

using tcp::Event;
using tcp::EventKind;

Server::Server(const ServerConfig& cfg) : cfg_(cfg) { build_responses(); }

void Server::set_slots(uint32_t n) {
    flags_.assign(n, 0);
    if (cfg_.behaviour == ServerBehaviour::Http) {
        http_of_.assign(n, kNoSlot);
        http_.assign(std::min(n, cfg_.http_slots), HttpSlot{});
        http_free_.clear();
        for (uint32_t i = static_cast<uint32_t>(http_.size()); i-- > 0;) http_free_.push_back(i);
    }
    if (cfg_.behaviour == ServerBehaviour::Sink) sink_off_.assign(n, 0);
    if (cfg_.behaviour != ServerBehaviour::Echo) return;
    echo_of_.assign(n, kNoSlot);
    echo_.assign(cfg_.echo_slots, EchoSlot{});
    echo_mem_.assign(static_cast<size_t>(cfg_.echo_slots) * 2 * cfg_.echo_buffer, 0);
    echo_free_.clear();
    for (uint32_t i = cfg_.echo_slots; i-- > 0;) echo_free_.push_back(i);
}

// Echo: what arrives while an echo is in flight waits in the other buffer and goes when the first is
// acknowledged (SendDone); the peer's FIN closes once both are empty.
void Server::echo_data(tcp::Stack& st, const Event& ev) {
    if (ev.conn >= echo_of_.size()) return;
    uint32_t slot = echo_of_[ev.conn];
    if (slot == kNoSlot) {
        if (echo_free_.empty()) {
            ++c.echo_no_buffer;
            st.abort(ev.conn);
            return;
        }
        slot = echo_free_.back();
        echo_free_.pop_back();
        echo_of_[ev.conn] = slot;
        echo_[slot] = EchoSlot{};
    }
    EchoSlot& e = echo_[slot];
    if (e.pending + ev.len > cfg_.echo_buffer) {
        ++c.echo_overflow;
        echo_free(ev.conn);
        st.abort(ev.conn);
        return;
    }
    std::memcpy(echo_buf(slot, e.cur ^ 1) + e.pending, ev.data, ev.len);
    e.pending += ev.len;
    if (e.inflight == 0) echo_flush(st, ev.conn);
}

void Server::echo_flush(tcp::Stack& st, uint32_t conn) {
    const uint32_t slot = echo_of_[conn];
    EchoSlot& e = echo_[slot];
    if (e.pending != 0) {
        const uint8_t next = e.cur ^ 1;  // the pending buffer becomes the one in flight
        if (st.send(conn, echo_buf(slot, next), e.pending)) {
            e.cur = next;
            c.echo_bytes += e.pending;
            e.inflight = e.pending;
            e.pending = 0;
        }
        return;
    }
    e.inflight = 0;
    if (e.fin) st.close(conn);
}

void Server::echo_free(uint32_t conn) {
    if (conn >= echo_of_.size() || echo_of_[conn] == kNoSlot) return;
    echo_free_.push_back(echo_of_[conn]);
    echo_of_[conn] = kNoSlot;
}

// Sink: every byte is compared with the pattern at its offset in the peer's stream (bytes arrive in order,
// so the offset is the count so far).
void Server::sink_data(const Event& ev) {
    if (ev.conn >= sink_off_.size()) return;
    uint64_t off = sink_off_[ev.conn];
    for (uint32_t k = 0; k < ev.len; ++k, ++off) {
        if (ev.data[k] == pattern_byte(off)) continue;
        if (c.sink_mismatch++ == 0) c.sink_first_mismatch = off + 1;
    }
    sink_off_[ev.conn] = off;
    c.sink_bytes += ev.len;
}

void Server::on_event(tcp::Stack& st, const Event& ev) {
    switch (ev.kind) {
    case EventKind::Accepted:
        ++c.conn_accepted;
        if (ev.conn < flags_.size()) {
            flags_[ev.conn] = flow::AddrTable::is_handle(st.tcb(ev.conn).key.remote_ip) ? kV6 : 0;
            c.conn_accepted_v6 += flags_[ev.conn] & kV6;
        }
        if (ev.conn < sink_off_.size()) sink_off_[ev.conn] = 0;
        if (cfg_.behaviour == ServerBehaviour::Close) {
            if (cfg_.close == CloseMode::Rst) {
                st.abort(ev.conn);
                completed(ev.conn);
            } else if (cfg_.close == CloseMode::ServerFirst) {
                st.close(ev.conn);
            }
        }
        break;
    case EventKind::Data:
        if (cfg_.behaviour == ServerBehaviour::Http) {
            http_data(st, ev);
        } else if (cfg_.behaviour == ServerBehaviour::Echo) {
            echo_data(st, ev);
        } else if (cfg_.behaviour == ServerBehaviour::Sink) {
            sink_data(ev);
        }
        break;
    case EventKind::PeerFin:
        if (cfg_.behaviour == ServerBehaviour::Http && !http_peer_fin(ev.conn)) break;
        if (cfg_.behaviour == ServerBehaviour::Echo && ev.conn < echo_of_.size() && echo_of_[ev.conn] != kNoSlot) {
            EchoSlot& e = echo_[echo_of_[ev.conn]];
            if (e.inflight != 0 || e.pending != 0) {
                e.fin = true;  // close after the last echo is acknowledged
                break;
            }
        }
        st.close(ev.conn);
        break;
    case EventKind::SendDone:
        if (cfg_.behaviour == ServerBehaviour::Http) http_send_done(st, ev.conn);
        if (cfg_.behaviour == ServerBehaviour::Echo && ev.conn < echo_of_.size() && echo_of_[ev.conn] != kNoSlot) {
            echo_[echo_of_[ev.conn]].inflight = 0;
            echo_flush(st, ev.conn);
        }
        break;
    case EventKind::Closed:
        echo_free(ev.conn);
        http_release(ev.conn);
        completed(ev.conn);
        break;
    case EventKind::Aborted:
        echo_free(ev.conn);
        http_release(ev.conn);
        ++c.conn_failed;
        if (ev.conn < flags_.size()) c.conn_failed_v6 += flags_[ev.conn] & kV6;
        if (ev.reason == tcp::AbortReason::Reset) ++c.conn_failed_reset;
        else ++c.conn_failed_timeout;
        break;
    case EventKind::Connected: break;
    }
}

}  // namespace synwave::engine
