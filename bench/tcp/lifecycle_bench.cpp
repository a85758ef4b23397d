// The cost of one whole TCP connection through both state machines: a client Stack and a server Stack,
// segments handed from one to the other as values (no frames, no checksums: this measures the state
// machines, their flow tables, timer wheels, ISNs and events), no loss.
//
// One connection, client closes first (the HTTP/1.0 shape with a small request and response):
//   client SYN -> server SYN-ACK -> client request (100 B, carries the handshake's ACK) -> server response
//   (200 B, one segment) -> client FIN -> server FIN -> client ACK (TIME_WAIT) -> server CLOSED,
// seven segments, plus the client's TIME_WAIT record expiring in a later poll(). The clock advances 1 µs per
// connection (a 10^6 connections/s pace) and MSL is 1 ms, so about 2000 TIME_WAIT records are alive at any
// time and each connection also pays for its record's expiry; 4-tuples (64 client addresses x 50000 ports)
// are reused only after 3.2 M connections. Both stacks run on one thread, one after the other: the figure
// is the sum of both ends' costs per connection.
//
// With --server-first (and BM_ConnectionLifecycleServerFirst): the storm's shape, an HTTP/1.1 exchange where
// the server closes with its response: SYN -> SYN-ACK -> request -> response + FIN -> FIN (acking both) -> ACK,
// six segments, the TIME_WAIT record on the server.
//
// Run:
//   build/bench/tcp/bench_lifecycle --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Instructions per connection (both ends), counting only the loop:
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/lifecycle.cg
//       --toggle-collect='*run_connections*' build/bench/tcp/bench_lifecycle --count=100000
//   callgrind_annotate /tmp/lifecycle.cg | head   (total Ir / 100000)
//   (add --server-first after --count=N for the server-closes-first shape)
// --count=N runs N connections outside Google Benchmark and prints a summary.
#include "tcp/stack.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace synwave;
using namespace synwave::tcp;

namespace {

constexpr uint32_t kRequestLen = 100;
constexpr uint32_t kResponseLen = 200;
constexpr uint16_t kServerPort = 80;
constexpr uint32_t kServerIp = 0x0A00'0001;   // 10.0.0.1
constexpr uint32_t kClientNet = 0x0A01'0000;  // 10.1.0.0/26
constexpr uint32_t kPortsPerAddr = 50'000;
constexpr uint32_t kTuples = 64 * kPortsPerAddr;
constexpr uint16_t kPortBase = 10'000;
constexpr TscRate kRate{1'000'000'000};
constexpr Duration kPace{1'000};  // 1 µs of simulated time per connection

alignas(64) const uint8_t kRequest[kRequestLen] = {'G', 'E', 'T', ' ', '/'};
alignas(64) const uint8_t kResponse[kResponseLen] = {'H', 'T', 'T', 'P', '/', '1', '.', '0', ' ', '2', '0', '0'};

struct Tally {
    uint64_t connected = 0, accepted = 0, client_closed = 0, server_closed = 0, aborted = 0;
    uint64_t request_bytes = 0, response_bytes = 0;
};

class ClientApp final : public App {
public:
    ClientApp(Tally& t, bool server_first) : t_(t), server_first_(server_first) {}
    // What this client acts on (the engine's Client declares the same way).
    [[nodiscard]] uint32_t interests() const override {
        return event_bit(EventKind::Connected) | event_bit(EventKind::Data) | event_bit(EventKind::Closed) |
               event_bit(EventKind::Aborted) | (server_first_ ? event_bit(EventKind::PeerFin) : 0);
    }
    void on_event(Stack& st, const Event& ev) override {
        switch (ev.kind) {
        case EventKind::Connected:
            ++t_.connected;
            (void)st.send(ev.conn, kRequest, kRequestLen);
            break;
        case EventKind::Data:
            t_.response_bytes += ev.len;
            if (ev.len == kResponseLen && !server_first_) st.close(ev.conn);
            break;
        case EventKind::PeerFin: st.close(ev.conn); break;
        case EventKind::Closed: ++t_.client_closed; break;
        case EventKind::Aborted: ++t_.aborted; break;
        case EventKind::Accepted:
        case EventKind::SendDone: break;
        }
    }

private:
    Tally& t_;
    bool server_first_;
};

class ServerApp final : public App {
public:
    ServerApp(Tally& t, bool server_first) : t_(t), server_first_(server_first) {}
    [[nodiscard]] uint32_t interests() const override {
        return event_bit(EventKind::Accepted) | event_bit(EventKind::Data) | event_bit(EventKind::PeerFin) |
               event_bit(EventKind::Closed) | event_bit(EventKind::Aborted);
    }
    void on_event(Stack& st, const Event& ev) override {
        switch (ev.kind) {
        case EventKind::Accepted: ++t_.accepted; break;
        case EventKind::Data:
            t_.request_bytes += ev.len;
            if (ev.len == kRequestLen) {
                (void)st.send(ev.conn, kResponse, kResponseLen);
                if (server_first_) st.close(ev.conn);
            }
            break;
        case EventKind::PeerFin: st.close(ev.conn); break;
        case EventKind::Closed: ++t_.server_closed; break;
        case EventKind::Aborted: ++t_.aborted; break;
        case EventKind::Connected:
        case EventKind::SendDone: break;
        }
    }

private:
    Tally& t_;
    bool server_first_;
};

StackConfig config() {
    StackConfig c;
    c.max_conns = 1u << 12;
    c.max_timewait = 1u << 13;  // ~2000 live at the 1 µs pace with 2 ms of TIME_WAIT
    c.msl_ms = 1;
    c.out_capacity = 64;
    return c;
}

struct Pair {
    explicit Pair(bool sf) : server_first(sf) { server.listen(kServerPort); scratch.reserve(64); }
    bool server_first;
    Tally tally;
    ClientApp capp{tally, server_first};
    ServerApp sapp{tally, server_first};
    Instant now{1'000ull * 1'000'000'000};
    Stack client{config(), kRate, now, Secrets{{1, 2}, {3, 4}, {5, 6}}, &capp};
    Stack server{config(), kRate, now, Secrets{{7, 8}, {9, 10}, {11, 12}}, &sapp};
    std::vector<OutSegment> scratch;
    uint32_t next = 0;
    uint64_t segments = 0;
    bool stuck = false;

    // Moves everything `from` emitted into `to`. Returns whether there was anything.
    bool pass(Stack& from, Stack& to) {
        if (from.out().empty()) return false;
        std::swap(from.out(), scratch);  // both keep their reserved capacity: no allocation
        for (const OutSegment& o : scratch) to.input(InSegment{o.src, o.dst, o.seg}, now);
        segments += scratch.size();
        scratch.clear();
        return true;
    }

    // One connection, from connect() to the last ACK, then the timers of this instant.
    void one() {
        const uint32_t k = next;
        next = next + 1 == kTuples ? 0 : next + 1;
        uint32_t conn = 0;
        if (client.connect(Ipv4{kClientNet + k / kPortsPerAddr}, static_cast<uint16_t>(kPortBase + k % kPortsPerAddr),
                           Ipv4{kServerIp}, kServerPort, k, now, &conn) != Stack::ConnectResult::Ok) {
            stuck = true;
            return;
        }
        bool moved = true;
        while (moved) {
            moved = pass(client, server);
            moved = pass(server, client) || moved;
        }
        now += kPace;
        (void)client.poll(now);
        (void)server.poll(now);
        // Nothing is due but TIME_WAIT expiries, which emit nothing.
        if (!client.out().empty() || !server.out().empty()) stuck = true;
    }
};

// Not inlined, so that callgrind can count just this (--toggle-collect='*run_connections*').
[[gnu::noinline]] void run_connections(Pair& p, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) p.one();
}

// The intended path ran: every connection completed on both sides, nothing else happened.
bool check(const Pair& p, uint64_t n, std::string* why) {
    const Tally& t = p.tally;
    const TcpCounters& c = p.client.counters();
    const TcpCounters& s = p.server.counters();
    if (p.stuck) return *why = "connect refused or stray segments", false;
    if (t.connected != n || t.accepted != n || t.client_closed != n || t.server_closed != n || t.aborted != 0)
        return *why = "connections did not all complete", false;
    if (t.request_bytes != n * kRequestLen || t.response_bytes != n * kResponseLen)
        return *why = "payload bytes differ", false;
    if (p.segments != (p.server_first ? 6 : 7) * n) return *why = "not 7 (6 server first) segments per connection", false;
    if (c.rtx_segments + s.rtx_segments + c.syn_rtx + s.synack_rtx + c.delayed_acks + s.delayed_acks != 0)
        return *why = "retransmissions or delayed ACKs on a clean path", false;
    const TcpCounters& closer = p.server_first ? s : c;
    const TcpCounters& other = p.server_first ? c : s;
    if (closer.tw_entered != n || other.tw_entered != 0) return *why = "TIME_WAIT on the wrong side", false;
    if (p.client.active_conns() != 0 || p.server.active_conns() != 0) return *why = "TCBs left", false;
    if (p.client.timewait_count() + p.server.timewait_count() > 4096) return *why = "TIME_WAIT records not expiring", false;
    return true;
}

void lifecycle(benchmark::State& state, bool server_first) {
    auto p = std::make_unique<Pair>(server_first);
    run_connections(*p, 10'000);  // warm up: TIME_WAIT population at its steady state
    const uint64_t before = p->tally.connected;
    for (auto _ : state) p->one();
    const uint64_t n = p->tally.connected - before;
    std::string why;
    if (n != static_cast<uint64_t>(state.iterations()) || !check(*p, p->tally.connected, &why)) {
        state.SkipWithError(why.empty() ? "connection count mismatch" : why.c_str());
        return;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["segments/conn"] = static_cast<double>(p->segments) / static_cast<double>(p->tally.connected);
    state.counters["tw_live"] = p->client.timewait_count() + p->server.timewait_count();
}
void BM_ConnectionLifecycle(benchmark::State& state) { lifecycle(state, false); }
void BM_ConnectionLifecycleServerFirst(benchmark::State& state) { lifecycle(state, true); }
BENCHMARK(BM_ConnectionLifecycle);
BENCHMARK(BM_ConnectionLifecycleServerFirst);

}  // namespace

int main(int argc, char** argv) {
    // --count=N: N connections outside Google Benchmark, for callgrind.
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--count=", 8) != 0) continue;
        const uint64_t n = std::strtoull(argv[i] + 8, nullptr, 10);
        const bool server_first = i + 1 < argc && std::strcmp(argv[i + 1], "--server-first") == 0;
        auto p = std::make_unique<Pair>(server_first);
        run_connections(*p, n);
        std::string why;
        const bool ok = check(*p, n, &why);
        std::printf("%llu connections, %llu segments, %u TIME_WAIT records live: %s%s\n",
                    static_cast<unsigned long long>(n), static_cast<unsigned long long>(p->segments),
                    p->client.timewait_count() + p->server.timewait_count(), ok ? "ok" : "FAILED: ", why.c_str());
        return ok ? 0 : 1;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
