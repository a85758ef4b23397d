// bench_http: lib/http's parsers on the messages synwave exchanges: an 80-byte GET (four routes to match) and
// the server's own 200 answer (170 bytes: our response_head's 106 and a 64-byte body), each whole and
// pipelined 8 to a buffer (Google Benchmark). The result of every loop is checked, so a benchmark that
// silently took an error path reports an error instead.
// Run: build/bench/http/bench_http --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Wall times vary by 10 %+ on a shared machine; instruction counts do not. --loop=KIND:N parses one message N
// times outside Google Benchmark, for callgrind (KIND: request, response). Per-message instructions = the
// difference of two runs / the difference of their N:
//   valgrind --tool=callgrind --callgrind-out-file=/dev/null build/bench/http/bench_http --loop=request:100000
#include "http/http.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace synwave::http;

namespace {

const std::string kRequest =
    "GET /index.html HTTP/1.1\r\nHost: 192.0.2.10\r\nUser-Agent: synwave\r\nAccept: */*\r\n\r\n";
const Routes kRoutes{{"/", "/index.html", "/api", "/status"}};

std::string response() { return response_head(200, 64, true) + std::string(64, 'x'); }

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
uint32_t size(const std::string& s) { return static_cast<uint32_t>(s.size()); }

// One request parsed whole; true when it came out as expected.
bool parse_request(RequestParser& rp, const std::string& s) {
    rp.start();
    const Result r = rp.feed(kRoutes, RequestLimits{}, bytes(s), size(s));
    return r.p == Progress::Done && r.used == s.size() && rp.route() == 1 && rp.has_host() && rp.keep_alive();
}

bool parse_response(ResponseParser& rp, const std::string& s) {
    rp.start(false);
    const Result r = rp.feed(bytes(s), size(s));
    return r.p == Progress::Done && r.used == s.size() && rp.status() == 200 && rp.body_bytes() == 64;
}

void Request(benchmark::State& state) {
    RequestParser rp;
    bool ok = true;
    for (auto _ : state) {
        benchmark::DoNotOptimize(kRequest.data());
        ok &= parse_request(rp, kRequest);
        benchmark::DoNotOptimize(rp);
    }
    if (!ok) state.SkipWithError("the request did not parse as expected");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRequest.size()));
}
BENCHMARK(Request);

void RequestsPipelined(benchmark::State& state) {
    std::string buf;
    for (int i = 0; i < 8; ++i) buf += kRequest;
    RequestParser rp;
    bool ok = true;
    for (auto _ : state) {
        uint32_t off = 0;
        int n = 0;
        while (off < buf.size()) {
            rp.start();
            const Result r = rp.feed(kRoutes, RequestLimits{}, bytes(buf) + off, size(buf) - off);
            ok &= r.p == Progress::Done;
            off += r.used;
            ++n;
        }
        ok &= n == 8;
        benchmark::DoNotOptimize(rp);
    }
    if (!ok) state.SkipWithError("the pipelined requests did not parse as expected");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 8));
}
BENCHMARK(RequestsPipelined);

void Response(benchmark::State& state) {
    const std::string s = response();
    ResponseParser rp;
    bool ok = true;
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.data());
        ok &= parse_response(rp, s);
        benchmark::DoNotOptimize(rp);
    }
    if (!ok) state.SkipWithError("the response did not parse as expected");
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(Response);

// --loop=KIND:N (see the top). Exit 2 for an unknown kind.
int run_loop(const char* arg) {
    const char* colon = std::strchr(arg, ':');
    const std::string kind = colon ? std::string(arg, colon) : std::string(arg);
    const long n = colon ? std::strtol(colon + 1, nullptr, 10) : 0;
    if ((kind != "request" && kind != "response") || n <= 0) {
        std::fprintf(stderr, "bench_http: --loop=KIND:N with KIND request or response, N > 0\n");
        return 2;
    }
    const std::string resp = response();
    RequestParser rq;
    ResponseParser rs;
    long good = 0;
    for (long i = 0; i < n; ++i) {
        benchmark::DoNotOptimize(kRequest.data());
        good += kind == "request" ? parse_request(rq, kRequest) : parse_response(rs, resp);
    }
    std::printf("%s (%zu bytes): %ld iterations, %ld parsed as expected\n", kind.c_str(),
                kind == "request" ? kRequest.size() : resp.size(), n, good);
    return good == n ? 0 : 1;
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
