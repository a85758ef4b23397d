// A gtest-free, clang-free driver for the TCP state-machine fuzz target, run by the test suite
// (fuzz_tcp_replay): feeds LLVMFuzzerTestOneInput the seed scenarios (written here in the target's input
// language, tcp_fuzz.hpp: the unit tests' handshakes, data, closes both ways, simultaneous open and close,
// RST, refusal, SYN cookies, TIME_WAIT reuse, phantom clients, every timeout), byte-level mutations of them and
// generated operation sequences from a fixed seed. A broken invariant aborts; a run that never reached one of
// the main paths (a counter below that stayed 0) fails too: the generators no longer reach it, so the run
// proves nothing about it. The exit status is the verdict.
//
//   fuzz_tcp_replay [inputs]              seeds, then this many generated inputs (default 20000)
//   fuzz_tcp_replay --write-corpus DIR    write the seeds as libFuzzer seed files and exit
//   fuzz_tcp_replay --replay FILE...      run these inputs only (a corpus, for the coverage report)
#include "tcp_fuzz.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

using namespace synwave::tcp;
using namespace synwave::tcp::fuzz;

namespace {

using Bytes = std::vector<uint8_t>;

// One input being written: configuration, policy, then operations.
struct Prog {
    std::string name;
    Bytes b;
    Prog(std::string n, uint8_t config, uint8_t policy) : name(std::move(n)), b{config, policy} {}
    Prog& op(Op o, std::initializer_list<uint8_t> args = {}) {
        b.push_back(o);
        b.insert(b.end(), args);
        return *this;
    }
    static uint8_t at(int side, int slot) { return static_cast<uint8_t>((side << 3) | slot); }
    Prog& connect(int side, int slot) { return op(kConnect, {at(side, slot)}); }
    Prog& send(int side, int slot, uint8_t len) { return op(kSend, {at(side, slot), len}); }
    Prog& close(int side, int slot) { return op(kClose, {at(side, slot)}); }
    Prog& abort(int side, int slot) { return op(kAbort, {at(side, slot)}); }
    Prog& pump(uint8_t rounds = 0) { return op(kPump, {rounds}); }
    Prog& deliver(int from, uint8_t pos = 0) { return op(kDeliver, {static_cast<uint8_t>(from | (pos << 1))}); }
    Prog& drop(int from, uint8_t pos = 0) { return op(kDrop, {static_cast<uint8_t>(from | (pos << 1))}); }
    Prog& swap(int from, uint8_t pos = 0) { return op(kSwap, {static_cast<uint8_t>(from | (pos << 1))}); }
    Prog& dup(int from, uint8_t pos = 0) { return op(kDup, {static_cast<uint8_t>(from | (pos << 1))}); }
    Prog& ms(uint8_t n) { return op(kClock, {n}); }
    Prog& quarter_s(uint8_t n) { return op(kClockBig, {n}); }
    Prog& forge(int to, int slot, uint8_t kind, uint8_t sd, uint8_t ad, uint8_t ls) {
        return op(kForge, {at(to, slot), kind, sd, ad, ls});
    }
};

constexpr uint8_t kQ = kPolicyQuiesce;

std::vector<Prog> seeds() {
    std::vector<Prog> v;
    // Handshake, a request and its reply, the client closes first (client TIME_WAIT), 2MSL passes.
    v.emplace_back("close_client_first", 0, kQ | kPolicyServerReply | kPolicyServerCloseOnFin);
    v.back().connect(0, 0).pump().send(0, 0, 40).pump(1).close(0, 0).pump(2).quarter_s(255);
    // The server closes first (server TIME_WAIT).
    v.emplace_back("close_server_first", 0, kPolicyClientCloseOnFin);
    v.back().connect(0, 1).pump().send(1, 1, 100).pump().close(1, 1).pump(1).quarter_s(255);
    // Simultaneous close (CLOSING on both sides), and simultaneous open (SYN-RECEIVED Tcbs).
    v.emplace_back("simultaneous_close", 0, 0);
    v.back().connect(0, 0).pump().close(0, 0).close(1, 0).deliver(0).deliver(1).pump(1);
    v.emplace_back("simultaneous_open", 1, kQ);
    v.back().connect(0, 2).connect(1, 2).deliver(0).deliver(1).pump().send(0, 2, 9).pump().close(1, 2).pump();
    // RST both ways, and a connection refused (no listener on port 81).
    v.emplace_back("abort", 0, 0);
    v.back().connect(0, 2).connect(0, 3).pump().abort(0, 2).abort(1, 3).pump();
    v.emplace_back("refused", 2, 0);
    v.back().connect(0, 4).pump().connect(0, 0).drop(0).quarter_s(20).pump();
    // SYN cookies always; and a phantom client completing a cookie handshake with data.
    v.emplace_back("cookies", 5, kQ | kPolicyServerReply);
    v.back().connect(0, 0).pump().send(0, 0, 20).pump().close(0, 0).pump();
    v.emplace_back("phantom_cookie", 5, 0);
    v.back().forge(1, 6, 6, 0, 0, 0xC0).op(kAnswer, {0, 5}).pump();
    // A phantom's SYN and the ACK that completes it from a SYN-RECEIVED record; a second phantom never answers.
    v.emplace_back("phantom_record", 0, 0);
    v.back().forge(1, 5, 6, 3, 0, 0).forge(1, 7, 6, 0, 0, 0).op(kAnswer, {0, 2}).quarter_s(255);
    // TIME_WAIT reuse: the server closes first (server TIME_WAIT), the client reconnects the same 4-tuple.
    v.emplace_back("time_wait_reuse", 3, kPolicyClientCloseOnFin | kPolicyReconnect);
    v.back().connect(0, 0).pump().close(1, 0).pump(2).ms(5).connect(0, 0).pump(2).send(0, 0, 3).pump();
    v.emplace_back("time_wait_full", 3, kPolicyServerCloseOnFin);
    v.back().connect(0, 0).connect(0, 1).connect(0, 2).pump().close(0, 0).close(0, 1).close(0, 2).pump(3);
    // Keepalive probes unanswered, FIN-WAIT-2 timeout, retransmissions until retries2.
    v.emplace_back("keepalive", 6, 0);
    v.back().connect(0, 0).pump().quarter_s(12).quarter_s(12).quarter_s(12);
    v.emplace_back("fin_wait2_timeout", 6, 0);
    v.back().connect(0, 1).pump().close(0, 1).pump().quarter_s(8);
    v.emplace_back("rto_abort", 6, 0);
    v.back().connect(0, 0).pump().send(0, 0, 30).drop(0).quarter_s(4).drop(0).quarter_s(8).quarter_s(16);
    v.emplace_back("syn_timeouts", 6, 0);
    v.back().connect(0, 0).drop(0).quarter_s(40).forge(1, 5, 6, 0, 0, 0).quarter_s(40);
    // Small windows and segments: many segments, reordered, lost and duplicated; zero window probes.
    v.emplace_back("reorder_loss", 7, kQ);
    v.back().connect(0, 0).pump().send(0, 0, 255).swap(0).deliver(0).drop(0).deliver(0).dup(0).deliver(0);
    v.back().deliver(0, 1).deliver(1).deliver(1).deliver(1).pump(3);
    v.emplace_back("fast_retransmit", 0, kQ);
    v.back().connect(0, 0).pump().send(1, 0, 255).drop(1).pump().send(0, 0, 1).pump();
    // Tiny tables: pools and output queue full, half-open limit without cookies.
    v.emplace_back("tiny", 4, kQ);
    v.back().connect(0, 0).connect(0, 1).forge(1, 5, 6, 0, 0, 0).forge(1, 6, 6, 0, 0, 0).pump().send(0, 0, 200).pump(2);
    v.back().forge(1, 7, 6, 9, 0, 0).op(kAnswer, {0, 0}).op(kAnswer, {0, 1});  // no Tcb for the completed record
    // An ACK far below SND.UNA - MAX.SND.WND, and one above SND.NXT (RFC 5961 §5).
    v.back().forge(1, 0, 0xF0, 0, 0x81, 0).forge(0, 0, 0xE0, 0, 0x7F, 0);
    // Forged segments around a live connection: in-window RST (challenge ACK), exact RST, old timestamps,
    // ACK of unsent data, data overlapping what was delivered and beyond a hole.
    v.emplace_back("forged", 0, 0);
    v.back().connect(0, 0).pump().forge(1, 0, 4, 2, 0, 0).forge(1, 0, 1, 0xFF, 1, 0x18).forge(1, 0, 0, 0, 0x41, 0);
    v.back().forge(1, 0, 1, 40, 0, 0x20).forge(1, 0, 1, 0, 0, 0x20).forge(0, 0, 5, 0, 0, 0).pump();
    return v;
}

// Operation sequences shaped like the scenarios: mostly deliveries and user calls, some damage.
Bytes generated(std::mt19937& rng) {
    Bytes b{static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng())};
    static constexpr Op kWeighted[] = {kDeliver, kDeliver, kDeliver, kDeliver, kDeliver, kDeliver, kPump, kPump,
                                       kDrop,    kDup,     kSwap,    kSwap,    kDelay,   kMutate,  kMutate, kForge,
                                       kForge,   kForge,   kAnswer,  kConnect, kConnect, kConnect, kSend,   kSend,
                                       kSend,    kClose,   kClose,   kAbort,   kClock,   kClock,   kClockBig};
    const int n = 4 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
        const Op o = kWeighted[rng() % std::size(kWeighted)];
        b.push_back(o);
        const int slot = rng() % 4 == 0 ? static_cast<int>(rng() % kSlots) : static_cast<int>(rng() % 2);
        const uint8_t side_slot = static_cast<uint8_t>(((rng() % 3 == 0) << 3) | slot);
        switch (o) {
        case kDeliver:
        case kDrop:
        case kDup:
        case kSwap:
        case kDelay: b.push_back(static_cast<uint8_t>((rng() % 2) | ((rng() % 4 == 0 ? rng() % 8 : 0) << 1))); break;
        case kPump: b.push_back(static_cast<uint8_t>(rng() % 3)); break;
        case kMutate:
            b.insert(b.end(), {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng()),
                               static_cast<uint8_t>(static_cast<int>(rng() % 9) - 4)});
            break;
        case kForge:
            b.insert(b.end(), {side_slot, static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng() % 2 ? rng() % 5 : rng()),
                               static_cast<uint8_t>(rng() % 2 ? rng() % 5 : rng()), static_cast<uint8_t>(rng())});
            break;
        case kAnswer: b.insert(b.end(), {static_cast<uint8_t>(rng()), static_cast<uint8_t>(rng() % 8)}); break;
        case kConnect:
        case kClose:
        case kAbort: b.push_back(side_slot); break;
        case kSend: b.insert(b.end(), {side_slot, static_cast<uint8_t>(rng())}); break;
        case kClock: b.push_back(static_cast<uint8_t>(rng() % 4 == 0 ? rng() : rng() % 50)); break;
        case kClockBig: b.push_back(static_cast<uint8_t>(rng() % 64)); break;
        case kOpCount: break;
        }
    }
    return b;
}

Bytes mutated(const Bytes& seed, std::mt19937& rng) {
    Bytes f = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !f.empty(); ++e) {
        const size_t at = rng() % f.size();
        switch (rng() % 5) {
        case 0: f[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: f[at] = static_cast<uint8_t>(rng()); break;
        case 2: f.insert(f.begin() + static_cast<long>(at), static_cast<uint8_t>(rng())); break;
        case 3: f.erase(f.begin() + static_cast<long>(at)); break;
        case 4: f.resize(at); break;
        }
    }
    return f;
}

// The input being run, printed in hex when it aborts (replay it with --replay after xxd -r -p).
const Bytes* g_current = nullptr;
extern "C" void on_abort(int) {
    static const char kHex[] = "0123456789abcdef";
    const char head[] = "fuzz_tcp_replay: the failing input (hex): ";
    (void)!write(2, head, sizeof head - 1);
    if (g_current) {
        for (const uint8_t x : *g_current) {
            const char two[2] = {kHex[x >> 4], kHex[x & 15]};
            (void)!write(2, two, 2);
        }
    }
    (void)!write(2, "\n", 1);
    std::signal(SIGABRT, SIG_DFL);
}

void run(const Bytes& b) {
    g_current = &b;
    // A heap copy of exactly the input's size, so ASan (when built with it) sees any overread.
    auto* p = static_cast<uint8_t*>(std::malloc(b.empty() ? 1 : b.size()));
    if (!b.empty()) std::memcpy(p, b.data(), b.size());
    LLVMFuzzerTestOneInput(p, b.size());
    std::free(p);
}

int write_corpus(const char* dir) {
    const auto v = seeds();
    for (const auto& s : v) {
        const std::string path = std::string(dir) + "/" + s.name;
        FILE* fp = std::fopen(path.c_str(), "wb");
        if (!fp || std::fwrite(s.b.data(), 1, s.b.size(), fp) != s.b.size()) {
            std::perror(path.c_str());
            return 1;
        }
        std::fclose(fp);
    }
    std::printf("wrote %zu seeds to %s\n", v.size(), dir);
    return 0;
}

// Files, or every file of a directory (a libFuzzer corpus).
int replay_files(int n, char** args) {
    std::vector<std::filesystem::path> files;
    for (int i = 0; i < n; ++i) {
        std::error_code ec;
        if (std::filesystem::is_directory(args[i], ec)) {
            for (const auto& e : std::filesystem::directory_iterator(args[i]))
                if (e.is_regular_file()) files.push_back(e.path());
        } else {
            files.emplace_back(args[i]);
        }
    }
    for (const auto& f : files) {
        FILE* fp = std::fopen(f.c_str(), "rb");
        if (!fp) {
            std::perror(f.c_str());
            return 2;
        }
        Bytes b;
        for (int c; (c = std::fgetc(fp)) != EOF;) b.push_back(static_cast<uint8_t>(c));
        std::fclose(fp);
        run(b);
    }
    std::printf("fuzz_tcp_replay: %zu inputs replayed\n", files.size());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    if (argc >= 2 && std::strcmp(argv[1], "--replay") == 0) return replay_files(argc - 2, argv + 2);
    char* end = nullptr;
    const long n = argc > 1 ? std::strtol(argv[1], &end, 10) : 20000;
    if (argc > 2 || n < 0 || (end && *end)) {
        std::fprintf(stderr, "usage: fuzz_tcp_replay [inputs] | --write-corpus DIR | --replay FILE...\n");
        return 2;
    }
    std::signal(SIGABRT, on_abort);
    const auto v = seeds();
    for (const auto& s : v) run(s.b);
    std::mt19937 rng(0x7C9F);
    for (long i = 0; i < n; ++i) run(i % 3 == 2 ? mutated(v[rng() % v.size()].b, rng) : generated(rng));

    const Totals& t = totals();
    const TcpCounters& c = t.ctr;
    std::printf("fuzz_tcp_replay: %llu inputs, %llu data events checked, %llu streams complete at FIN, %llu drains\n",
                static_cast<unsigned long long>(t.inputs), static_cast<unsigned long long>(t.data_checked),
                static_cast<unsigned long long>(t.streams_complete), static_cast<unsigned long long>(t.end_drains));
#define SYNWAVE_PRINT(name, help) std::printf("  %-24s %llu\n", #name, static_cast<unsigned long long>(c.name));
    SYNWAVE_TCP_COUNTERS(SYNWAVE_PRINT)
#undef SYNWAVE_PRINT
    // The paths each run must reach (a generator that stops reaching one makes the run prove nothing there).
    const struct {
        const char* name;
        uint64_t value;
    } must[] = {
        {"conn_established", c.conn_established}, {"rx_data_bytes", c.rx_data_bytes},
        {"data events checked", t.data_checked},  {"streams complete at FIN", t.streams_complete},
        {"conn_closed", c.conn_closed},           {"entered CLOSING", c.entered[static_cast<size_t>(State::Closing)]},
        {"entered LAST-ACK", c.entered[static_cast<size_t>(State::LastAck)]},
        {"tw_entered", c.tw_entered},             {"tw_expired", c.tw_expired},
        {"tw_reopened", c.tw_reopened},           {"tw_pool_full", c.tw_pool_full},
        {"conn_reset", c.conn_reset},             {"conn_refused", c.conn_refused},
        {"conn_aborted_local", c.conn_aborted_local}, {"syncookies_ok", c.syncookies_ok},
        {"syncookies_failed", c.syncookies_failed}, {"half_open_dropped", c.half_open_dropped},
        {"tcb_pool_empty", c.tcb_pool_empty},     {"out_overflow", c.out_overflow},
        {"syn_timeouts", c.syn_timeouts},         {"synack_timeouts", c.synack_timeouts},
        {"rtx_abort", c.rtx_abort},               {"keepalive_abort", c.keepalive_abort},
        {"fin_wait2_timeouts", c.fin_wait2_timeouts}, {"rto_expired", c.rto_expired},
        {"fast_retransmits", c.fast_retransmits}, {"dup_acks_rx", c.dup_acks_rx},
        {"paws_rejected", c.paws_rejected},       {"challenge_acks", c.challenge_acks},
        {"rst_in_window", c.rst_in_window},       {"unacceptable_seq", c.unacceptable_seq},
        {"ack_too_old", c.ack_too_old},           {"ack_too_new", c.ack_too_new},
        {"zero_window_probes", c.zero_window_probes}, {"delayed_acks", c.delayed_acks},
        {"ooo_queued", c.ooo_queued},
        {"ooo_dropped", c.ooo_dropped},           {"ooo_delivered_bytes", c.ooo_delivered_bytes},
        {"sack_blocks_tx", c.sack_blocks_tx},     {"sack_blocks_rx", c.sack_blocks_rx},
        {"sack_recoveries", c.sack_recoveries},   {"sack_rtx", c.sack_rtx},
        {"loss_records_empty", c.loss_records_empty},
    };
    int unreached = 0;
    for (const auto& m : must) {
        if (m.value == 0) {
            std::fprintf(stderr, "fuzz_tcp_replay: never reached: %s\n", m.name);
            ++unreached;
        }
    }
    if (unreached != 0) {
        std::fprintf(stderr, "fuzz_tcp_replay: %d paths never reached\n", unreached);
        return 1;
    }
    return 0;
}
