// A gtest-free, clang-free driver for the http fuzz target, run by the test suite (fuzz_http_replay): feeds
// LLVMFuzzerTestOneInput the seeds (requests and responses of every framing, pipelined, with each mode and
// split pattern) and then about 10^5 mutations of them from a fixed seed: bit flips, byte writes, truncation,
// inserted and removed bytes, and spliced-in pieces of HTTP syntax (CRLF, colons, "chunked", lengths,
// versions) that steer the mutations into the parsers' interesting states. A broken invariant aborts; a run
// that never saw a request or a response complete, or never produced one of the errors below, fails too
// (the generators would no longer reach that path, and the run would prove nothing about it).
//
//   fuzz_http_replay [iterations]          run (default 100000)
//   fuzz_http_replay --write-corpus DIR    write the seeds as libFuzzer seed files and exit
#include "http/http.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

using namespace synwave::http;

namespace {

using Bytes = std::vector<uint8_t>;

const char* const kStreams[] = {
    "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: synwave\r\n\r\n",
    "GET /api/v1?x=1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /a HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /api HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
    "POST /index.html HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "GET http://example.com:80/a#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "PUT /A HTTP/1.1\nhost: a\nHost: b\nContent-Length: 0\n\n",
    "\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\nFOO / HTTP/1.1\r\n\r\n",
    "DELETE /%20 HTTP/1.1\r\nHost : h\r\n\r\nGET / HTTP/2.0\r\n\r\n",
    "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\nabc"
    "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\nContent-Length: 0\r\n\r\n"
    "POST / HTTP/1.1\r\nHost: h\r\nExpect:  100-continue \t\r\nexpect: 100-continue\r\nContent-Length: 1\r\n\r\nz",
    "HTTP/1.1 200 OK\r\nServer: synwave\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n"
    "Connection: keep-alive\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    "4;a=b\r\nabcd\r\n0\r\nExpires: 0\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close",
    "HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
};

const char* const kPieces[] = {
    "\r\n", "\n", "\r\n\r\n", ": ", ":", " ", "Host: h\r\n", "Content-Length: ", "Transfer-Encoding: chunked\r\n",
    "Connection: close\r\n", "Connection: keep-alive\r\n", "0\r\n\r\n", "ffffffffffffffffff", "1;x=y\r\na\r\n",
    "HTTP/1.1 ", "HTTP/1.0 ", " HTTP/1.1\r\n", "GET ", "HEAD ", "POST ", "100", "200 OK", "204", "304", "?",
    "#", "/api", "http://h", "99999999999999999999", "\t", "\x00", "\xff", "Upgrade: x\r\nConnection: upgrade\r\n",
    "Expect: 100-continue\r\n",
};

Bytes make_input(uint8_t mode, std::array<uint8_t, 4> sizes, const std::string& stream) {
    Bytes in{mode, sizes[0], sizes[1], sizes[2], sizes[3]};
    in.insert(in.end(), stream.begin(), stream.end());
    return in;
}

std::vector<Bytes> seeds() {
    std::vector<Bytes> out;
    for (const char* s : kStreams) {
        const std::string stream(s);
        for (uint8_t mode : {0x03, 0x0F, 0x00, 0x1B, 0x16})
            for (auto sizes : {std::array<uint8_t, 4>{0, 0, 0, 0}, std::array<uint8_t, 4>{6, 1, 30, 255},
                               std::array<uint8_t, 4>{16, 17, 2, 3}})
                out.push_back(make_input(mode, sizes, stream));
    }
    return out;
}

Bytes mutate(const Bytes& seed, std::mt19937& rng) {
    Bytes b = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
        const size_t n = b.size();
        switch (rng() % 8) {
            case 0: if (n > 5) b[5 + rng() % (n - 5)] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
            case 1: if (n > 5) b[5 + rng() % (n - 5)] = static_cast<uint8_t>(rng()); break;
            case 2: if (n > 6) b.resize(6 + rng() % (n - 6)); break;
            case 3: if (n > 6) b.erase(b.begin() + static_cast<long>(5 + rng() % (n - 5))); break;
            case 4:
            case 5: {
                std::string p = kPieces[rng() % std::size(kPieces)];
                if (p.empty()) p.push_back('\0');  // the "\x00" piece
                const size_t at = 5 + (n > 5 ? rng() % (n - 4) : 0);
                b.insert(b.begin() + static_cast<long>(std::min(at, b.size())), p.begin(), p.end());
                break;
            }
            case 6: b[static_cast<size_t>(rng() % 5)] = static_cast<uint8_t>(rng()); break;  // mode, pieces
            default: {  // splice: the tail of another stream
                const std::string o = kStreams[rng() % std::size(kStreams)];
                const size_t from = rng() % o.size();
                b.insert(b.end(), o.begin() + static_cast<long>(from), o.end());
                break;
            }
        }
    }
    return b;
}

// The verdicts the run must have produced, found by running the parsers alongside the target.
struct Seen {
    bool req_done = false, res_done = false, req_expect = false;
    std::array<bool, kParseErrors> req_err{}, res_err{};
};

void observe(const Bytes& in, Seen& seen) {
    if (in.size() < 5) return;
    const uint8_t* s = in.data() + 5;
    const auto n = static_cast<uint32_t>(in.size() - 5);
    static constexpr uint32_t kHeader[] = {64, 200, 1024, 8192};
    static constexpr uint64_t kBody[] = {0, 16, 1000, 1 << 20};
    const RequestLimits lim{kHeader[in[0] & 3], kBody[(in[0] >> 2) & 3]};
    static const Routes routes{{"/"}};
    RequestParser rq;
    rq.start();
    const Result a = rq.feed(routes, lim, s, n);
    if (a.p == Progress::Done) seen.req_done = true;
    if (a.p == Progress::Done && rq.expects_continue()) seen.req_expect = true;
    if (a.p == Progress::More) rq.eof();
    seen.req_err[static_cast<size_t>(rq.error())] = true;
    ResponseParser rs;
    rs.start(in[0] & 16);
    const Result b = rs.feed(s, n);
    if (b.p == Progress::Done) seen.res_done = true;
    if (b.p == Progress::More && rs.eof().p == Progress::Done) seen.res_done = true;
    seen.res_err[static_cast<size_t>(rs.error())] = true;
}

int write_corpus(const char* dir) {
    int i = 0;
    for (const Bytes& b : seeds()) {
        const std::string path = std::string(dir) + "/seed-" + std::to_string(i++);
        FILE* f = std::fopen(path.c_str(), "wb");
        if (f == nullptr) {
            std::fprintf(stderr, "fuzz_http_replay: cannot write %s\n", path.c_str());
            return 1;
        }
        std::fwrite(b.data(), 1, b.size(), f);
        std::fclose(f);
    }
    std::printf("fuzz_http_replay: wrote %d seeds to %s\n", i, dir);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--write-corpus") == 0) return write_corpus(argv[2]);
    const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 100000;
    if (iterations <= 0) {
        std::fprintf(stderr, "fuzz_http_replay: iterations must be a positive number\n");
        return 2;
    }
    const std::vector<Bytes> pool = seeds();
    Seen seen;
    for (const Bytes& b : pool) {
        LLVMFuzzerTestOneInput(b.data(), b.size());
        observe(b, seen);
    }
    std::mt19937 rng(20240601);
    for (long i = 0; i < iterations; ++i) {
        const Bytes b = mutate(pool[rng() % pool.size()], rng);
        LLVMFuzzerTestOneInput(b.data(), b.size());
        observe(b, seen);
    }
    int bad = 0;
    const auto need = [&](bool ok, const char* what) {
        if (!ok) {
            std::fprintf(stderr, "fuzz_http_replay: the run never produced %s\n", what);
            ++bad;
        }
    };
    need(seen.req_done, "a complete request");
    need(seen.res_done, "a complete response");
    need(seen.req_expect, "a complete request expecting 100-continue");
    for (const ParseError e : {ParseError::BadRequestLine, ParseError::BadVersion, ParseError::BadHeader,
                               ParseError::BadContentLength, ParseError::BadChunk, ParseError::HeaderTooLarge,
                               ParseError::BodyTooLarge, ParseError::UnknownMethod, ParseError::Truncated})
        need(seen.req_err[static_cast<size_t>(e)], (std::string("request error ") + error_name(e)).c_str());
    for (const ParseError e : {ParseError::BadStatusLine, ParseError::BadVersion, ParseError::BadHeader,
                               ParseError::BadContentLength, ParseError::BadChunk, ParseError::Truncated})
        need(seen.res_err[static_cast<size_t>(e)], (std::string("response error ") + error_name(e)).c_str());
    std::printf("fuzz_http_replay: %zu seeds and %ld mutations, %s\n", pool.size(), iterations,
                bad == 0 ? "all invariants held" : "some verdicts never reached");
    return bad == 0 ? 0 : 1;
}
