// The two-endpoint simulator: a client Stack and a server Stack joined by a simulated link, driven by a fake
// clock. Every segment either stack emits is built into a real frame (wire::build_tcp_frame, software
// checksums), carried by the link, parsed back at the receiver (wire::parse_frame, checksums verified) and
// handed to the other stack, so the wire code runs on every packet the state machines exchange.
//
// The link (one per direction, sharing one delivery queue ordered by time) is driven by a seeded PRNG:
//   - loss:        a frame is dropped with probability `loss`;
//   - duplication: a frame is delivered twice with probability `dup`, the copy with its own delay;
//   - reordering:  a frame is held back by up to `reorder_extra_ns` with probability `reorder`, so frames
//                  sent after it overtake it;
//   - delay:       every frame takes `delay_ns` plus a uniform jitter in [0, jitter_ns], but never arrives
//                  before a frame sent earlier in its direction (a FIFO path) unless picked for reordering.
// Everything is deterministic for a seed: the queue breaks ties between equal delivery times by send order.
//
// Time: Instant in TSC cycles at TscRate{1 GHz} (1 cycle = 1 ns). The loop advances the clock to the next
// delivery (at least kMinStepNs later, so a burst of frames is delivered together) or, with nothing in
// flight, by kIdleStepNs; each step it launches connections, delivers every frame due, and polls both
// stacks' timers. Nothing sleeps.
//
// The applications (one 4-tuple per connection, or connections cycling over Scenario::tuples 4-tuples):
//   client: connect; on Connected send a request of request_len bytes; read response_len bytes and check
//           them byte by byte; then close, abort or wait for the server's FIN, per CloseMode;
//   server: on Accepted wait for the request (checked byte by byte); answer with response_len bytes (more
//           than one segment); then close at once, or on the peer's FIN, per CloseMode.
// Request and response are windows into two static pattern buffers at an offset that depends on the
// connection, so a byte delivered to the wrong connection or at the wrong offset is caught.
//
// Outcomes: every client connection ends exactly once: Completed (the mode's normal ending with every byte
// right), or Failed with a reason (an AbortReason from an Aborted event, a local connect error, or a bad
// ending the checks name). The server counts its endings per reason as well. The caller checks them
// against the stacks' own counters, and that both stacks end empty (no TCB, no TIME_WAIT record, no table
// entry, no armed timer) once the clock has run past every timeout.
#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <deque>
#include <queue>
#include <vector>

#include "core/ipv4addr.hpp"
#include "core/time.hpp"
#include "tcp/stack.hpp"
#include "wire/frame.hpp"

namespace synwave::sim {

// ---------------------------------------------------------------------------------------------------------
// PRNG: xoshiro256** (Blackman and Vigna), seeded by splitmix64. Fast, and the same sequence on every
// platform (std::uniform_real_distribution is not specified bit for bit).
// ---------------------------------------------------------------------------------------------------------
class Rng {
public:
    explicit Rng(uint64_t seed) {
        for (auto& w : s_) {
            seed += 0x9e3779b97f4a7c15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            w = z ^ (z >> 31);
        }
    }
    uint64_t next() {
        const uint64_t r = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return r;
    }
    // True with probability p (53-bit resolution).
    bool chance(double p) {
        if (p <= 0) return false;
        return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
    }
    // Uniform in [0, n] (n small: the modulo bias is below 2^-40 for n < 2^24).
    uint64_t upto(uint64_t n) { return n == 0 ? 0 : next() % (n + 1); }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

// ---------------------------------------------------------------------------------------------------------
// Scenario description
// ---------------------------------------------------------------------------------------------------------

struct LinkConfig {
    double loss = 0;                       // per frame, each direction
    double loss_to_server = -1;            // >= 0: overrides `loss` for client -> server frames
    double loss_to_client = -1;            // >= 0: overrides `loss` for server -> client frames
    double dup = 0;                        // per frame (the copy is never lost: loss is decided once)
    double reorder = 0;                    // per frame (and per copy)
    uint64_t delay_ns = 50'000;            // one-way: 100 µs RTT, a LAN
    uint64_t jitter_ns = 5'000;
    uint64_t reorder_extra_ns = 200'000;   // a held-back frame is overtaken by ~2 RTTs of traffic
};

enum class CloseMode : uint8_t {
    ClientFirst,   // client closes after the response; server closes on PeerFin (client gets TIME_WAIT)
    ServerFirst,   // server closes right after send(); client closes on PeerFin (server gets TIME_WAIT)
    Simultaneous,  // server closes right after send(); client closes on SendDone of its request, which the
                   // first response segment acknowledges, before the server's FIN can arrive: the FINs cross
                   // and both sides go through CLOSING (or FIN-WAIT-2) to TIME_WAIT
    ClientAbort,   // server closes right after send(); client aborts (RST) once the response is complete
    Mixed,         // connection i uses mode i % 4
};
inline constexpr uint32_t kModes = 4;

struct Scenario {
    uint32_t connections = 100'000;
    uint32_t window = 2000;         // client connections open at once
    uint32_t launch_burst = 200;    // new connections per clock step at most (paces SYN bursts)
    CloseMode mode = CloseMode::ClientFirst;
    LinkConfig link{};
    uint64_t seed = 1;
    tcp::StackConfig client{};
    tcp::StackConfig server{};
    uint32_t request_len = 100;     // both at most kMaxPayload
    uint32_t response_len = 4000;   // three segments at MSS 1460 with timestamps (1448 each)
    bool verify_roundtrip = true;   // parse every built frame again and compare with the segment emitted
    uint64_t max_sim_ns = 3600ull * 1'000'000'000;  // give up (and fail the leak checks) after this
    int64_t trace_conn = -1;        // >= 0: print every frame of this 4-tuple index (debugging aid)
    // 4-tuples the connections cycle through: connection i uses tuple i % tuples, once the connection that
    // used it before has ended (at the client). 0: one tuple per connection, never reused.
    uint32_t tuples = 0;
    [[nodiscard]] uint32_t tuple_count() const { return tuples ? tuples : connections; }
};

// The configuration the scenarios start from: room for every connection's TIME_WAIT record, an output
// queue no step can overflow, and a short MSL so the no-leak check runs within seconds of simulated time.
inline tcp::StackConfig default_stack_config(uint32_t connections, uint32_t max_conns) {
    tcp::StackConfig c;
    c.max_conns = max_conns;
    c.max_timewait = connections + 1024;
    c.half_open_limit = 1u << 12;
    c.out_capacity = 1u << 16;
    c.msl_ms = 1000;
    return c;
}

inline Scenario make_scenario(uint32_t connections, CloseMode mode, LinkConfig link, uint64_t seed) {
    Scenario s;
    s.connections = connections;
    s.mode = mode;
    s.link = link;
    s.seed = seed;
    s.client = default_stack_config(connections, 8192);
    s.server = default_stack_config(connections, 1u << 15);
    return s;
}

// ---------------------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------------------

// AbortReason values: LocalAbort is the last enumerator.
inline constexpr std::size_t kReasons = static_cast<std::size_t>(tcp::AbortReason::LocalAbort) + 1;

// Why a client connection failed, beyond the stack's AbortReasons.
struct ClientAnomalies {
    uint64_t connect_error = 0;      // connect() did not return Ok
    uint64_t send_refused = 0;       // send() of the request returned false
    uint64_t closed_incomplete = 0;  // Closed before the whole response arrived
    uint64_t bad_bytes = 0;          // connections with a wrong response byte
    uint64_t extra_bytes = 0;        // connections that received more than response_len bytes
    uint64_t events_after_end = 0;   // any event for a connection that had already ended
    uint64_t send_done_extra = 0;    // more than one SendDone for the single request
    uint64_t peer_fin_early = 0;     // PeerFin before the whole response
};

struct ServerAnomalies {
    uint64_t ghost_accepts = 0;      // a second Accepted for a 4-tuple already served (see ServerApp)
    uint64_t bad_bytes = 0;
    uint64_t extra_bytes = 0;
    uint64_t send_refused = 0;
    uint64_t send_done_extra = 0;
    uint64_t closed_unserved = 0;    // Closed before the request was answered
};

struct Result {
    // client side
    uint64_t launched = 0;
    uint32_t peak_open = 0;          // most client connections open at once
    uint64_t connected = 0;          // Connected events
    uint64_t completed = 0;          // the mode's normal ending, every byte right
    uint64_t failed = 0;             // every other ending (sum of the reasons below)
    std::array<uint64_t, kReasons> client_aborts{};  // Aborted events by reason
    uint64_t client_closed = 0;      // Closed events
    uint64_t client_local_aborts = 0;
    ClientAnomalies client_bad{};
    uint64_t response_bytes = 0;     // bytes the client app received and checked
    // server side
    uint64_t accepted = 0;
    uint64_t served = 0;             // requests received in full and answered
    uint64_t server_closed = 0;
    std::array<uint64_t, kReasons> server_aborts{};
    uint64_t server_local_aborts = 0;  // ghost connections the app aborted
    ServerAnomalies server_bad{};
    uint64_t request_bytes = 0;
    // the stacks
    tcp::TcpCounters cc{}, sc{};
    uint32_t active[2]{}, tw[2]{}, table[2]{}, half_open[2]{};
    size_t timers[2]{};
    // the link
    uint64_t frames = 0, lost = 0, duplicated = 0, reordered = 0, delivered = 0;
    uint64_t build_errors = 0, parse_errors = 0, roundtrip_mismatch = 0;
    // time
    uint64_t sim_ns = 0;             // simulated time from start to both stacks empty
    uint64_t resolved_ns = 0;        // simulated time until every client connection had ended
    uint64_t steps = 0;
    double wall_s = 0;
    bool timed_out = false;          // max_sim_ns reached before both stacks were empty
    struct Failure {
        uint32_t conn;               // connection index
        tcp::AbortReason reason;     // None for a failure the app detected (see ClientAnomalies)
    };
    std::vector<Failure> failed_conns;  // the first few failures of each reason, for tracing
    std::vector<Failure> server_unexpected;  // the first few server endings other than the mode's (4-tuple index)
    struct Stuck {
        uint32_t conn;               // connection index
        tcp::State state;            // its TCB's state when the run gave up
    };
    std::vector<Stuck> stuck_conns;  // the first few client connections that never ended
};

// ---------------------------------------------------------------------------------------------------------
// Addresses: 4-tuple k is 10.1.0.0 + k / kPortsPerAddr : kPortBase + k % kPortsPerAddr -> 10.0.0.1:80, so
// 10^5 connections need two client addresses and the server recovers k from the 4-tuple. The close mode
// and the payload offsets are functions of k, so that both sides know them.
// ---------------------------------------------------------------------------------------------------------
inline constexpr uint32_t kClientNet = (10u << 24) | (1u << 16);
inline constexpr uint32_t kServerIp = (10u << 24) | 1u;
inline constexpr uint16_t kServerPort = 80;
inline constexpr uint16_t kPortBase = 10'000;
inline constexpr uint32_t kPortsPerAddr = 50'000;
inline constexpr Mac kClientMac{{0x02, 0, 0, 0, 0, 0x01}};
inline constexpr Mac kServerMac{{0x02, 0, 0, 0, 0, 0x02}};

inline constexpr TscRate kRate{1'000'000'000};
// Start far from zero (5000 s) so nothing depends on the clock starting at 0.
inline constexpr Instant kStart{5'000ull * 1'000'000'000};

inline Ipv4 client_ip(uint32_t i) { return Ipv4{kClientNet + i / kPortsPerAddr}; }
inline uint16_t client_port(uint32_t i) { return static_cast<uint16_t>(kPortBase + i % kPortsPerAddr); }
inline uint32_t conn_index(uint32_t ip, uint16_t port) {
    return (ip - kClientNet) * kPortsPerAddr + (port - kPortBase);
}
inline CloseMode mode_of(CloseMode m, uint32_t i) {
    return m == CloseMode::Mixed ? static_cast<CloseMode>(i % kModes) : m;
}

// The payloads: request k is kRequest[req_off(k) ..], response k is kResponse[resp_off(k) ..]. The offsets
// are < 251 (prime) and the patterns are random bytes, so a byte from another connection or another
// position differs with probability 255/256.
inline constexpr uint32_t kMaxPayload = 1u << 17;
inline constexpr uint32_t kOffsets = 251;
inline uint32_t req_off(uint32_t i) { return (i * 40503u) % kOffsets; }
inline uint32_t resp_off(uint32_t i) { return (i * 2654435761u) % kOffsets; }

struct Patterns {
    std::array<uint8_t, kMaxPayload + kOffsets> request{}, response{};
    Patterns() {
        Rng r(0x5eed);
        for (auto& b : request) b = static_cast<uint8_t>(r.next());
        for (auto& b : response) b = static_cast<uint8_t>(r.next());
    }
};
// Static: send() borrows the bytes until SendDone, and every connection of every stack shares them.
inline const Patterns& patterns() {
    static const Patterns p;
    return p;
}

// ---------------------------------------------------------------------------------------------------------
// The applications
// ---------------------------------------------------------------------------------------------------------

class ClientApp final : public tcp::App {
public:
    enum class End : uint8_t { Open, Completed, Failed };
    struct Conn {
        uint32_t handle = tcp::kNoConn;
        uint32_t tuple = 0;
        uint32_t rx = 0;
        End end = End::Open;
        CloseMode mode = CloseMode::ClientFirst;
        uint8_t send_done = 0;
        bool bad = false;
        bool closed_by_us = false;
    };

    ClientApp(const Scenario& sc, Result& r)
        : sc_(sc), r_(r), conns_(sc.connections), busy_(sc.tuple_count(), 0) {}

    Conn& conn(uint32_t i) { return conns_[i]; }
    [[nodiscard]] uint32_t open() const { return open_; }
    [[nodiscard]] uint64_t ended() const { return ended_; }

    // Connection i may start once the one before it on its 4-tuple has ended.
    [[nodiscard]] bool can_launch(uint32_t i) const { return busy_[i % sc_.tuple_count()] == 0; }

    // Starts connection i at `now` (a connect() refusal is counted as a failure).
    void launch(tcp::Stack& st, uint32_t i, Instant now) {
        Conn& c = conns_[i];
        const uint32_t k = i % sc_.tuple_count();
        c.tuple = k;
        c.mode = mode_of(sc_.mode, k);
        busy_[k] = 1;
        ++r_.launched;
        const auto res =
            st.connect(client_ip(k), client_port(k), Ipv4{kServerIp}, kServerPort, i, now, &c.handle);
        if (res != tcp::Stack::ConnectResult::Ok) {
            ++r_.client_bad.connect_error;
            end(c, End::Failed);
            return;
        }
        if (++open_ > r_.peak_open) r_.peak_open = open_;
    }

    void on_event(tcp::Stack& st, const tcp::Event& ev) override {
        const auto i = static_cast<uint32_t>(ev.user);
        Conn& c = conns_[i];
        if (c.end != End::Open) {
            ++r_.client_bad.events_after_end;
            return;
        }
        switch (ev.kind) {
        case tcp::EventKind::Connected:
            ++r_.connected;
            if (!st.send(ev.conn, patterns().request.data() + req_off(c.tuple), sc_.request_len)) {
                ++r_.client_bad.send_refused;
                c.bad = true;
            }
            break;
        case tcp::EventKind::Accepted: break;  // never on the client
        case tcp::EventKind::Data: on_data(st, ev, c); break;
        case tcp::EventKind::SendDone:
            if (++c.send_done > 1) ++r_.client_bad.send_done_extra;
            if (c.mode == CloseMode::Simultaneous && !c.closed_by_us) {
                c.closed_by_us = true;
                st.close(ev.conn);
            }
            break;
        case tcp::EventKind::PeerFin:
            if (c.rx != sc_.response_len) ++r_.client_bad.peer_fin_early;
            if (c.mode == CloseMode::ServerFirst && !c.closed_by_us) {
                c.closed_by_us = true;
                st.close(ev.conn);
            }
            break;
        case tcp::EventKind::Closed:
            ++r_.client_closed;
            --open_;
            if (c.rx != sc_.response_len) {
                ++r_.client_bad.closed_incomplete;
                end(c, End::Failed);
            } else if (c.bad || c.mode == CloseMode::ClientAbort) {
                end(c, End::Failed);
            } else {
                end(c, End::Completed);
            }
            break;
        case tcp::EventKind::Aborted:
            ++r_.client_aborts[static_cast<std::size_t>(ev.reason)];
            --open_;
            end(c, End::Failed, ev.reason);
            break;
        }
    }

private:
    void on_data(tcp::Stack& st, const tcp::Event& ev, Conn& c) {
        const uint8_t* want = patterns().response.data() + resp_off(c.tuple) + c.rx;
        if (c.rx + ev.len > sc_.response_len) {
            ++r_.client_bad.extra_bytes;
            c.bad = true;
        } else if (std::memcmp(ev.data, want, ev.len) != 0) {
            ++r_.client_bad.bad_bytes;
            c.bad = true;
        }
        c.rx += ev.len;
        r_.response_bytes += ev.len;
        if (c.rx != sc_.response_len) return;
        if (c.mode == CloseMode::ClientFirst && !c.closed_by_us) {
            c.closed_by_us = true;
            st.close(ev.conn);
        } else if (c.mode == CloseMode::ClientAbort) {
            // RFC 9293 §3.10.5 ABORT: the stack sends RST and frees the TCB at once; no event follows.
            st.abort(ev.conn);
            ++r_.client_local_aborts;
            --open_;
            end(c, c.bad ? End::Failed : End::Completed);
        }
    }

    void end(Conn& c, End e, tcp::AbortReason why = tcp::AbortReason::None) {
        c.end = e;
        busy_[c.tuple] = 0;
        ++ended_;
        if (e == End::Completed) {
            ++r_.completed;
            return;
        }
        ++r_.failed;
        std::size_t same = 0;
        for (const Result::Failure& f : r_.failed_conns) same += f.reason == why ? 1 : 0;
        if (same < 4) r_.failed_conns.push_back({static_cast<uint32_t>(&c - conns_.data()), why});
    }

    const Scenario& sc_;
    Result& r_;
    std::vector<Conn> conns_;
    std::vector<uint8_t> busy_;  // per 4-tuple: a connection on it has not ended yet
    uint32_t open_ = 0;
    uint64_t ended_ = 0;
};

// The server keeps its per-connection state by TCB handle (valid from Accepted to Closed/Aborted); the
// stack's `user` stays 0 for passive connections. It remembers which 4-tuples it has served: with SYN
// cookies a late duplicate of the handshake's ACK can arrive after the connection ended on the server and
// still carry a valid cookie, and the listener then builds a connection the client no longer has (as any
// cookie implementation, Linux's included, would). The app aborts such a ghost at once and counts it.
class ServerApp final : public tcp::App {
public:
    ServerApp(const Scenario& sc, Result& r)
        : sc_(sc), r_(r), conns_(sc.server.max_conns), served_(sc.tuple_count(), 0) {}

    void on_event(tcp::Stack& st, const tcp::Event& ev) override {
        Conn& c = conns_[ev.conn];
        switch (ev.kind) {
        case tcp::EventKind::Accepted: {
            ++r_.accepted;
            const flow::FlowKey& k = st.tcb(ev.conn).key;
            c = Conn{};
            c.i = conn_index(k.remote_ip, k.remote_port);
            c.mode = mode_of(sc_.mode, c.i);
            // Only without reuse does a second connection on a 4-tuple mean a ghost.
            if (served_[c.i]++ != 0 && sc_.tuple_count() == sc_.connections) {
                ++r_.server_bad.ghost_accepts;
                ++r_.server_local_aborts;
                st.abort(ev.conn);
            }
            break;
        }
        case tcp::EventKind::Connected: break;  // never on the server
        case tcp::EventKind::Data: {
            const uint8_t* want = patterns().request.data() + req_off(c.i) + c.rx;
            if (c.rx + ev.len > sc_.request_len) {
                ++r_.server_bad.extra_bytes;
            } else if (std::memcmp(ev.data, want, ev.len) != 0) {
                ++r_.server_bad.bad_bytes;
            }
            c.rx += ev.len;
            r_.request_bytes += ev.len;
            if (c.rx == sc_.request_len && !c.answered) {
                c.answered = true;
                ++r_.served;
                if (!st.send(ev.conn, patterns().response.data() + resp_off(c.i), sc_.response_len))
                    ++r_.server_bad.send_refused;
                if (c.mode != CloseMode::ClientFirst) st.close(ev.conn);
            }
            break;
        }
        case tcp::EventKind::SendDone:
            if (++c.send_done > 1) ++r_.server_bad.send_done_extra;
            break;
        case tcp::EventKind::PeerFin:
            if (c.mode == CloseMode::ClientFirst) st.close(ev.conn);
            break;
        case tcp::EventKind::Closed:
            ++r_.server_closed;
            if (!c.answered) ++r_.server_bad.closed_unserved;
            break;
        case tcp::EventKind::Aborted:
            ++r_.server_aborts[static_cast<std::size_t>(ev.reason)];
            if (c.mode != CloseMode::ClientAbort && r_.server_unexpected.size() < 16)
                r_.server_unexpected.push_back({c.i, ev.reason});
            break;
        }
    }

private:
    struct Conn {
        uint32_t i = 0;
        uint32_t rx = 0;
        CloseMode mode = CloseMode::ClientFirst;
        uint8_t send_done = 0;
        bool answered = false;
    };
    const Scenario& sc_;
    Result& r_;
    std::vector<Conn> conns_;
    std::vector<uint8_t> served_;
};

// ---------------------------------------------------------------------------------------------------------
// The link: frames in flight, in one queue ordered by delivery time (then by send order).
// ---------------------------------------------------------------------------------------------------------

enum class Side : uint8_t { Client, Server };

class Link {
public:
    static constexpr uint32_t kFrameCap = 2048;  // > 14 + 20 + 60 + 1460

    Link(const LinkConfig& cfg, uint64_t seed, Result& r, int64_t trace_conn = -1)
        : cfg_(cfg), rng_(seed), r_(r), trace_(trace_conn) {}

    // Builds every segment `from` emitted into a frame and puts it on the link (or loses it).
    void take(tcp::Stack& from, Side side, Instant now, bool verify) {
        auto& out = from.out();
        for (const tcp::OutSegment& o : out) send(o, side, now, verify);
        out.clear();
    }

    [[nodiscard]] bool empty() const { return q_.empty(); }
    [[nodiscard]] uint64_t next_at() const { return q_.top().at; }

    // Delivers every frame due at `now`: parsed and handed to the receiving stack, whose answers go
    // straight back on the link.
    void deliver(tcp::Stack& client, tcp::Stack& server, Instant now, bool verify) {
        while (!q_.empty() && q_.top().at <= now.cycles) {
            const InFlight f = q_.top();
            q_.pop();
            ++r_.delivered;
            wire::ParsedFrame pf;
            const wire::Drop d = wire::parse_frame(buf(f.buf), f.len, wire::ParseConfig{}, pf);
            if (d != wire::Drop::None || pf.kind != wire::FrameKind::Tcp) {
                ++r_.parse_errors;
            } else {
                tcp::Stack& to = f.to == Side::Server ? server : client;
                // The payload points into the frame, which stays put until input() returns.
                to.input(tcp::InSegment{pf.ip_src, pf.ip_dst, pf.tcp}, now);
                take(to, f.to, now, verify);
            }
            free_.push_back(f.buf);
        }
    }

private:
    struct InFlight {
        uint64_t at;
        uint64_t order;
        uint32_t buf;
        uint16_t len;
        Side to;
        bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : order > o.order; }
    };

    uint8_t* buf(uint32_t i) { return bufs_[i].data(); }

    uint32_t alloc() {
        if (!free_.empty()) {
            const uint32_t i = free_.back();
            free_.pop_back();
            return i;
        }
        bufs_.emplace_back();  // std::deque: earlier buffers never move
        return static_cast<uint32_t>(bufs_.size() - 1);
    }

    // When a frame sent now to `to` arrives. The link is FIFO (jitter never swaps two frames: a frame is not
    // delivered before one sent earlier in the same direction) except for the frames picked for reordering,
    // which are held back and let later frames pass.
    uint64_t arrival(Side to, uint64_t now) {
        uint64_t at = now + cfg_.delay_ns + rng_.upto(cfg_.jitter_ns);
        if (rng_.chance(cfg_.reorder)) {
            ++r_.reordered;
            return at + 1 + rng_.upto(cfg_.reorder_extra_ns);
        }
        uint64_t& last = last_at_[static_cast<int>(to)];
        at = std::max(at, last);
        last = at;
        return at;
    }

    void send(const tcp::OutSegment& o, Side from, Instant now, bool verify) {
        ++r_.frames;
        const uint32_t b = alloc();
        wire::L2L3 h;
        h.l2.src = from == Side::Client ? kClientMac : kServerMac;
        h.l2.dst = from == Side::Client ? kServerMac : kClientMac;
        h.ip_src = o.src;
        h.ip_dst = o.dst;
        h.ip_id = static_cast<uint16_t>(r_.frames);
        const uint32_t len = wire::build_tcp_frame(buf(b), kFrameCap, h, o.seg, wire::CsumMode::Software);
        if (len == 0) {
            ++r_.build_errors;
            free_.push_back(b);
            return;
        }
        if (verify) {
            wire::ParsedFrame pf;
            if (wire::parse_frame(buf(b), len, wire::ParseConfig{}, pf) != wire::Drop::None ||
                pf.kind != wire::FrameKind::Tcp || !(pf.tcp == o.seg) || !(pf.ip_src == o.src) ||
                !(pf.ip_dst == o.dst))
                ++r_.roundtrip_mismatch;
        }
        const double override_loss = from == Side::Client ? cfg_.loss_to_server : cfg_.loss_to_client;
        if (rng_.chance(override_loss >= 0 ? override_loss : cfg_.loss)) {
            ++r_.lost;
            if (trace_ >= 0) trace(o, from, now, 0, "LOST");
            free_.push_back(b);
            return;
        }
        const Side to = from == Side::Client ? Side::Server : Side::Client;
        const uint64_t at = arrival(to, now.cycles);
        if (trace_ >= 0) trace(o, from, now, at, "");
        q_.push(InFlight{at, order_++, b, static_cast<uint16_t>(len), to});
        if (rng_.chance(cfg_.dup)) {
            ++r_.duplicated;
            const uint32_t c = alloc();
            std::memcpy(buf(c), buf(b), len);
            const uint64_t at2 = arrival(to, now.cycles);
            if (trace_ >= 0) trace(o, from, now, at2, "DUP");
            q_.push(InFlight{at2, order_++, c, static_cast<uint16_t>(len), to});
        }
    }

    void trace(const tcp::OutSegment& o, Side from, Instant now, uint64_t at, const char* what) const {
        const bool c = from == Side::Client;
        const uint32_t ip = c ? o.src.v : o.dst.v;
        const uint16_t port = c ? o.seg.src_port : o.seg.dst_port;
        if (ip < kClientNet || conn_index(ip, port) != static_cast<uint64_t>(trace_)) return;
        const uint8_t f = o.seg.flags;
        std::printf("[trace %lld] %12.6f ms %s %s%s%s%s%s seq %u ack %u len %u win %u tsval %u tsecr %u -> %.6f %s\n",
                    static_cast<long long>(trace_), static_cast<double>(now.cycles - kStart.cycles) * 1e-6,
                    c ? "C->S" : "S->C", (f & wire::tcpflag::SYN) ? "S" : "", (f & wire::tcpflag::ACK) ? "A" : "",
                    (f & wire::tcpflag::FIN) ? "F" : "", (f & wire::tcpflag::RST) ? "R" : "",
                    (f & wire::tcpflag::PSH) ? "P" : "", o.seg.seq.raw(), o.seg.ack.raw(), o.seg.payload_len,
                    o.seg.window, o.seg.opt.tsval, o.seg.opt.tsecr,
                    at ? static_cast<double>(at - kStart.cycles) * 1e-6 : 0.0, what);
    }

    LinkConfig cfg_;
    Rng rng_;
    Result& r_;
    int64_t trace_;
    std::deque<std::array<uint8_t, kFrameCap>> bufs_;
    std::vector<uint32_t> free_;
    std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> q_;
    uint64_t order_ = 0;
    uint64_t last_at_[2] = {0, 0};
};

// ---------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------

inline constexpr uint64_t kMinStepNs = 5'000;    // frames due within 5 µs are delivered in one step
inline constexpr uint64_t kIdleStepNs = 500'000; // nothing in flight: about one wheel tick (2^19 ns)

// No TCB, no TIME_WAIT record, no armed timer (the flow table and half-open count are checked by the caller).
inline bool drained(const tcp::Stack& st) {
    return st.active_conns() == 0 && st.timewait_count() == 0 && st.timers_pending() == 0;
}

inline tcp::Secrets secrets_for(uint64_t seed, uint64_t side) {
    Rng r(seed * 2 + side + 0x7e57);
    return tcp::Secrets{{r.next(), r.next()}, {r.next(), r.next()}, {r.next(), r.next()}};
}

inline Result run(const Scenario& sc) {
    const auto wall0 = std::chrono::steady_clock::now();
    Result r;
    if (sc.request_len > kMaxPayload || sc.response_len > kMaxPayload) {
        r.timed_out = true;  // the pattern buffers are too short: fail loudly rather than read past them
        return r;
    }
    ClientApp capp(sc, r);
    ServerApp sapp(sc, r);
    tcp::Stack client(sc.client, kRate, kStart, secrets_for(sc.seed, 0), &capp);
    tcp::Stack server(sc.server, kRate, kStart, secrets_for(sc.seed, 1), &sapp);
    server.listen(kServerPort);
    Link link(sc.link, sc.seed, r, sc.trace_conn);

    Instant now = kStart;
    uint32_t next = 0;
    bool resolved = false;
    for (;;) {
        ++r.steps;
        for (uint32_t k = 0;
             k < sc.launch_burst && next < sc.connections && capp.open() < sc.window && capp.can_launch(next); ++k)
            capp.launch(client, next++, now);
        link.take(client, Side::Client, now, sc.verify_roundtrip);
        link.deliver(client, server, now, sc.verify_roundtrip);
        (void)client.poll(now);
        link.take(client, Side::Client, now, sc.verify_roundtrip);
        (void)server.poll(now);
        link.take(server, Side::Server, now, sc.verify_roundtrip);

        if (!resolved && capp.ended() == sc.connections) {
            resolved = true;
            r.resolved_ns = now.cycles - kStart.cycles;
        }
        if (resolved && link.empty() && drained(client) && drained(server)) break;
        if (now.cycles - kStart.cycles >= sc.max_sim_ns) {
            r.timed_out = true;
            break;
        }
        uint64_t to = now.cycles + kIdleStepNs;
        if (!link.empty()) to = std::min(to, std::max(link.next_at(), now.cycles + kMinStepNs));
        if (next < sc.connections && capp.open() < sc.window && capp.can_launch(next))
            to = std::min(to, now.cycles + kMinStepNs);
        now = Instant{to};
    }
    r.sim_ns = now.cycles - kStart.cycles;
    for (uint32_t i = 0; i < next && r.stuck_conns.size() < 8; ++i) {
        const ClientApp::Conn& c = capp.conn(i);
        if (c.end == ClientApp::End::Open) r.stuck_conns.push_back({i, client.tcb(c.handle).state});
    }
    r.cc = client.counters();
    r.sc = server.counters();
    const tcp::Stack* st[2] = {&client, &server};
    for (int s = 0; s < 2; ++s) {
        r.active[s] = st[s]->active_conns();
        r.tw[s] = st[s]->timewait_count();
        r.table[s] = st[s]->table_size();
        r.timers[s] = st[s]->timers_pending();
        r.half_open[s] = st[s]->half_open();
    }
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    return r;
}

}  // namespace synwave::sim
