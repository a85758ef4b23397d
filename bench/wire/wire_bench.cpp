// wire benchmarks: what every received and every sent frame costs.
//   ParseTsAck/<payload>/<verify>  parse an ACK with NOP,NOP,TS and a payload, checksums verified (1) or left
//                                  to the NIC (0): one frame per iteration, items/s = frames/s.
//   BuildSynAck/<mode>             build a SYN-ACK with MSS, SACK-permitted, TS and WS; software checksums (0)
//                                  or the offload convention (1).
//   ParseTsAck6/<payload>/<verify> the same ACK over IPv6 (no extension headers).
//   BuildSynAck6/<mode>            the same SYN-ACK over IPv6, from a TcpFrameTemplate6.
//   Checksum/<bytes>               csum_add over a buffer, for the cost per byte.
// The frame stays in L1 (the engine prefetches the next mbufs, so this is the hot-cache cost). After each
// loop the result is checked, so a benchmark that silently took a drop path reports an error instead.
// Run: build/bench/wire/bench_wire --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Wall times vary by 10 %+ on a shared machine; instruction counts do not. --loop=KIND:N runs N iterations of
// one operation outside Google Benchmark, for callgrind (KIND: parse4, parse6 (the 64-byte TS ACK, checksums
// verified; parse4-nic and parse6-nic without), build4, build6 (the SYN-ACK, software checksums; build4-nic
// and build6-nic in offload mode)). Per-operation instructions = the difference of two runs / the difference
// of their N:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/bench/wire/bench_wire --loop=parse4:100000
#include "wire/frame.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace synwave;
using namespace synwave::wire;

namespace {

L2L3 addrs() {
    L2L3 h;
    h.l2.src = Mac{{0x02, 0, 0, 0, 0, 0x0b}};
    h.l2.dst = Mac{{0x02, 0, 0, 0, 0, 0x0a}};
    h.ip_src = Ipv4{0xC0000202};
    h.ip_dst = Ipv4{0xC0000201};
    return h;
}

TcpSegment syn_ack() {
    TcpSegment s;
    s.src_port = 80;
    s.dst_port = 40000;
    s.seq = Seq(0xFFFFFFF0u);
    s.ack = Seq(12345);
    s.flags = tcpflag::SYN | tcpflag::ACK;
    s.window = 65535;
    s.opt.has_mss = true;
    s.opt.mss = 1460;
    s.opt.sack_permitted = true;
    s.opt.has_ts = true;
    s.opt.tsval = 1000;
    s.opt.tsecr = 2000;
    s.opt.has_wscale = true;
    s.opt.wscale = 9;
    return s;
}

const Ipv6 kSrc6 = *Ipv6::parse("2001:db8::2");
const Ipv6 kDst6 = *Ipv6::parse("2001:db8::1");

TcpSegment ts_ack(const std::vector<uint8_t>& payload) {
    TcpSegment s;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = Seq(1);
    s.ack = Seq(2);
    s.flags = tcpflag::ACK | tcpflag::PSH;
    s.window = 512;
    s.opt.has_ts = true;
    s.opt.tsval = 7;
    s.opt.tsecr = 8;
    s.payload = payload.data();
    s.payload_len = static_cast<uint32_t>(payload.size());
    return s;
}

void ParseTsAck(benchmark::State& state) {
    const auto payload_len = static_cast<uint32_t>(state.range(0));
    const bool verify = state.range(1) != 0;
    std::vector<uint8_t> payload(payload_len, 'x');
    TcpSegment s;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = Seq(1);
    s.ack = Seq(2);
    s.flags = tcpflag::ACK | tcpflag::PSH;
    s.window = 512;
    s.opt.has_ts = true;
    s.opt.tsval = 7;
    s.opt.tsecr = 8;
    s.payload = payload.data();
    s.payload_len = payload_len;
    alignas(64) uint8_t frame[2048];
    const uint32_t len = build_tcp_frame(frame, sizeof frame, addrs(), s, CsumMode::Software);
    const ParseConfig cfg{verify, verify};
    ParsedFrame out;
    Drop d = Drop::None;
    uint64_t bad = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(frame);
        d = parse_frame(frame, len, cfg, out);
        bad += d != Drop::None;
        benchmark::DoNotOptimize(out);
    }
    if (len == 0 || bad != 0 || out.kind != FrameKind::Tcp || out.tcp.payload_len != payload_len || !out.tcp.opt.has_ts)
        state.SkipWithError("parse did not take the accepted TCP path");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * len);
}
BENCHMARK(ParseTsAck)->ArgNames({"payload", "verify"})->ArgsProduct({{64, 512, 1460}, {1, 0}});

void BuildSynAck(benchmark::State& state) {
    const auto mode = state.range(0) == 0 ? CsumMode::Software : CsumMode::Offload;
    const L2L3 h = addrs();
    TcpSegment s = syn_ack();
    alignas(64) uint8_t frame[256];
    uint32_t len = 0;
    uint64_t zero = 0;
    for (auto _ : state) {
        s.opt.tsval += 1;  // a field that changes per reply, as it would
        len = build_tcp_frame(frame, sizeof frame, h, s, mode);
        zero += len == 0;
        benchmark::DoNotOptimize(frame);
    }
    ParsedFrame out;
    const ParseConfig cfg{mode == CsumMode::Software, mode == CsumMode::Software};
    if (len != 74 || zero != 0 || parse_frame(frame, len, cfg, out) != Drop::None || !(out.tcp == s))
        state.SkipWithError("build did not produce the expected SYN-ACK");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BuildSynAck)->ArgName("offload")->Arg(0)->Arg(1);

void ParseTsAck6(benchmark::State& state) {
    const auto payload_len = static_cast<uint32_t>(state.range(0));
    const bool verify = state.range(1) != 0;
    const std::vector<uint8_t> payload(payload_len, 'x');
    const L2L3 h = addrs();
    alignas(64) uint8_t frame[2048];
    const uint32_t len = build_tcp_frame6(frame, sizeof frame, make_tcp_template6(h.l2), h.l2.dst, kSrc6, kDst6,
                                          ts_ack(payload), CsumMode::Software);
    const ParseConfig cfg{verify, verify};
    ParsedFrame out;
    uint64_t bad = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(frame);
        bad += parse_frame(frame, len, cfg, out) != Drop::None;
        benchmark::DoNotOptimize(out);
    }
    if (len == 0 || bad != 0 || out.kind != FrameKind::Tcp || out.ip_version != 6 ||
        out.tcp.payload_len != payload_len || !out.tcp.opt.has_ts)
        state.SkipWithError("parse did not take the accepted TCP/IPv6 path");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * len);
}
BENCHMARK(ParseTsAck6)->ArgNames({"payload", "verify"})->ArgsProduct({{64, 512, 1440}, {1, 0}});

void BuildSynAck6(benchmark::State& state) {
    const auto mode = state.range(0) == 0 ? CsumMode::Software : CsumMode::Offload;
    const L2L3 h = addrs();
    const TcpFrameTemplate6 tpl = make_tcp_template6(h.l2);
    TcpSegment s = syn_ack();
    alignas(64) uint8_t frame[256];
    uint32_t len = 0;
    uint64_t zero = 0;
    for (auto _ : state) {
        s.opt.tsval += 1;
        len = build_tcp_frame6(frame, sizeof frame, tpl, h.l2.dst, kSrc6, kDst6, s, mode);
        zero += len == 0;
        benchmark::DoNotOptimize(frame);
    }
    ParsedFrame out;
    const ParseConfig cfg{true, mode == CsumMode::Software};
    if (len != 94 || zero != 0 || parse_frame(frame, len, cfg, out) != Drop::None || !(out.tcp == s))
        state.SkipWithError("build did not produce the expected SYN-ACK over IPv6");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BuildSynAck6)->ArgName("offload")->Arg(0)->Arg(1);

void Checksum(benchmark::State& state) {
    const auto n = static_cast<size_t>(state.range(0));
    std::vector<uint8_t> buf(n);
    uint64_t want = 0;  // the RFC 1071 sum the slow way: native 16-bit words (see checksum.hpp), odd byte low
    for (size_t i = 0; i < n; ++i) {
        buf[i] = static_cast<uint8_t>(i * 7 + 1);
        want += (i & 1) ? uint32_t{buf[i]} << 8 : buf[i];
    }
    while (want >> 16) want = (want & 0xFFFF) + (want >> 16);
    uint32_t sum = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(buf.data());
        sum = csum_add(buf.data(), buf.size(), 0);
        benchmark::DoNotOptimize(sum);
    }
    if (csum_fold(sum) != want) state.SkipWithError("csum_add disagrees with the reference sum");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(Checksum)->Arg(20)->Arg(64)->Arg(1460)->Arg(9000);

// --loop=KIND:N (see the top). Exit 2 for an unknown kind.
int run_loop(const char* arg) {
    const char* colon = std::strchr(arg, ':');
    const std::string kind = colon ? std::string(arg, colon) : std::string(arg);
    const long n = colon ? std::strtol(colon + 1, nullptr, 10) : 0;
    const bool nic = kind.size() > 4 && kind.compare(kind.size() - 4, 4, "-nic") == 0;
    const std::string op = nic ? kind.substr(0, kind.size() - 4) : kind;
    if ((op != "parse4" && op != "parse6" && op != "build4" && op != "build6") || n <= 0) {
        std::fprintf(stderr, "bench_wire: --loop=KIND:N with KIND parse4, parse6, build4, build6 (each also -nic), N > 0\n");
        return 2;
    }
    const L2L3 h = addrs();
    const std::vector<uint8_t> payload(64, 'x');
    alignas(64) static uint8_t frame[2048];
    long sum = 0;
    if (op == "parse4" || op == "parse6") {
        const uint32_t len = op == "parse4" ? build_tcp_frame(frame, sizeof frame, h, ts_ack(payload), CsumMode::Software)
                                            : build_tcp_frame6(frame, sizeof frame, make_tcp_template6(h.l2), h.l2.dst,
                                                               kSrc6, kDst6, ts_ack(payload), CsumMode::Software);
        const ParseConfig cfg{!nic, !nic};
        ParsedFrame out;
        for (long i = 0; i < n; ++i) {
            benchmark::DoNotOptimize(frame);
            sum += parse_frame(frame, len, cfg, out) == Drop::None;
        }
    } else {
        const CsumMode mode = nic ? CsumMode::Offload : CsumMode::Software;
        const TcpFrameTemplate tpl = make_tcp_template(h.l2);
        const TcpFrameTemplate6 tpl6 = make_tcp_template6(h.l2);
        TcpSegment s = syn_ack();
        for (long i = 0; i < n; ++i) {
            s.opt.tsval += 1;
            sum += op == "build4" ? build_tcp_frame(frame, sizeof frame, tpl, h.l2.dst, h.ip_src, h.ip_dst, 0, s, mode)
                                  : build_tcp_frame6(frame, sizeof frame, tpl6, h.l2.dst, kSrc6, kDst6, s, mode);
            benchmark::DoNotOptimize(frame);
        }
    }
    std::printf("%s: %ld iterations, checksum %ld\n", kind.c_str(), n, sum);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--loop=", 7) == 0) return run_loop(argv[i] + 7);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
