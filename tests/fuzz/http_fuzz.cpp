// libFuzzer target for lib/http: any bytes through RequestParser and ResponseParser, fed whole and again at
// split points the input chooses. Aborts on a broken promise, which libFuzzer (and the replay driver,
// http_fuzz_replay.cpp) report as a crash:
//  - used <= n; More uses all n; Done uses at least one byte, with the header section done and no error;
//    Error names a reason, and sticks (feed and eof give Error with 0 bytes) until start();
//  - Done and Error hold until start(); a parser restarted after an Error keeps working on what follows;
//  - the verdicts do not depend on how the bytes were split (whole heads go through the fast scans of
//    http/fast.hpp, heads fed a byte at a time through http_parser alone, so the two are compared): each message ends at the same offset with the
//    same method, route, persistence, Host, status and body length, and the first error is the same;
//  - a request's route is the one an exact match of its origin-form path (before '?', '#') picks; its body
//    never exceeds max_body; a response to HEAD, a 204 and a 304 have no body; a status is 100..599.
// Input: byte 0 the mode (limits, HEAD), bytes 1..4 the piece sizes (1 + b, cycled), the rest the stream.
#include "http/http.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace synwave::http;

namespace {

const uint8_t* g_input = nullptr;  // the input under test, saved on a failure (HTTP_FUZZ_DUMP=file)
size_t g_size = 0;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "http_fuzz: broken invariant: %s\n", what);
    if (const char* dump = std::getenv("HTTP_FUZZ_DUMP")) {
        if (FILE* f = std::fopen(dump, "wb")) {
            std::fwrite(g_input, 1, g_size, f);
            std::fclose(f);
        }
    }
    std::abort();
}
#define CHECK(cond)               \
    do {                          \
        if (!(cond)) fail(#cond); \
    } while (0)

const Routes& routes() {
    static const Routes r{{"/", "/a", "/api", "/api/v1", "/index.html", "/a?b", "/A", "/%20"}};
    return r;
}

// One verdict of a parser, at an absolute offset in the stream.
struct Event {
    Progress p;
    uint64_t end;  // Done: offset after the message's last byte; Error: 0 (offsets may differ by split)
    ParseError err;
    int method, route;
    bool keep, host, expect;  // expect: Expect: 100-continue (requests)
    uint16_t status;
    uint64_t body;
    bool operator==(const Event&) const = default;
};

struct Pieces {
    const uint8_t* sizes;  // 4 bytes
    bool whole;
    bool bytes = false;    // one byte at a time: never a whole head in hand, so http_parser reads every message
    uint32_t at = 0;
    uint32_t next() { return bytes ? 1 : whole ? UINT32_MAX : 1u + sizes[at++ % 4]; }
};

// The route an exact match of the origin-form path picks (the first of equal paths, the first kMax only).
int expected_route(std::string_view msg) {
    size_t i = 0;
    while (i < msg.size() && (msg[i] == '\r' || msg[i] == '\n')) ++i;
    while (i < msg.size() && msg[i] != ' ') ++i;
    while (i < msg.size() && msg[i] == ' ') ++i;
    size_t j = i;
    while (j < msg.size() && msg[j] != ' ' && msg[j] != '\r' && msg[j] != '\n') ++j;
    const std::string_view target = msg.substr(i, j - i);
    if (target.empty() || target[0] != '/') return -2;  // not origin-form: not checked here
    const std::string_view path = target.substr(0, target.find_first_of("?#"));
    const auto& paths = routes().paths;
    for (size_t k = 0; k < paths.size() && k < Routes::kMax; ++k)
        if (paths[k] == path) return static_cast<int>(k);
    return -1;
}

void check_error_sticks(RequestParser& rp, const RequestLimits& lim, const uint8_t* p, uint32_t n) {
    CHECK(rp.error() != ParseError::None);
    CHECK(!rp.idle());
    const Result again = rp.feed(routes(), lim, p, n);
    CHECK(again.p == Progress::Error && again.used == 0);
    const Result e = rp.eof();
    CHECK(e.p == Progress::Error && e.used == 0);
}

// Feeds the stream to a RequestParser in pieces; the events up to the first error. After an error the
// feeding goes on (restarted one byte further) when `go_on`, unrecorded.
std::vector<Event> run_requests(const uint8_t* s, uint32_t n, Pieces pieces, const RequestLimits& lim, bool go_on) {
    std::vector<Event> ev;
    RequestParser rp;
    rp.start();
    uint32_t off = 0, msg_start = 0;
    bool recording = true;
    while (off < n) {
        const uint32_t piece = std::min(pieces.next(), n - off);
        uint32_t done = 0;
        while (done < piece) {
            const uint32_t k = piece - done;
            const Result r = rp.feed(routes(), lim, s + off + done, k);
            CHECK(r.used <= k);
            if (r.p == Progress::More) {
                CHECK(r.used == k);
                CHECK(rp.error() == ParseError::None);
                done = piece;
            } else if (r.p == Progress::Done) {
                CHECK(r.used >= 1 && rp.error() == ParseError::None && rp.headers_done() && !rp.idle());
                CHECK(rp.body_bytes() <= lim.max_body);
                CHECK(rp.version_minor() <= 1);
                const Result again = rp.feed(routes(), lim, s, n);
                CHECK(again.p == Progress::Done && again.used == 0);
                done += r.used;
                const uint32_t end = off + done;
                const std::string_view msg(reinterpret_cast<const char*>(s) + msg_start, end - msg_start);
                const int want = expected_route(msg);
                CHECK(rp.route() >= -1 && rp.route() < static_cast<int>(routes().paths.size()));
                if (want != -2) CHECK(rp.route() == want);
                if (recording)
                    ev.push_back({Progress::Done, end, ParseError::None, static_cast<int>(rp.method()), rp.route(),
                                  rp.keep_alive(), rp.has_host(), rp.expects_continue(), 0, rp.body_bytes()});
                rp.start();
                msg_start = end;
            } else {
                check_error_sticks(rp, lim, s, n);
                if (recording) ev.push_back({Progress::Error, 0, rp.error(), 0, 0, false, false, false, 0, 0});
                if (!go_on) return ev;
                recording = false;
                done += r.used + 1 <= k ? r.used + 1 : k;  // skip the byte found wrong and go on
                rp.start();
                msg_start = off + done;
            }
        }
        off += piece;
    }
    const Result e = rp.eof();
    CHECK(e.used == 0);
    CHECK(e.p == (rp.idle() ? Progress::More : Progress::Error));
    if (e.p == Progress::Error) CHECK(rp.error() == ParseError::Truncated);
    if (recording) ev.push_back({e.p, 0, rp.error(), 0, 0, false, false, false, 0, 0});
    return ev;
}

void check_response_done(const ResponseParser& rp, bool head) {
    CHECK(rp.error() == ParseError::None && rp.headers_done() && rp.started());
    CHECK(rp.status() >= 100 && rp.status() <= 599);
    CHECK(rp.status() >= 200 || rp.status() == 101);
    if (head || rp.status() == 204 || rp.status() == 304 || rp.status() == 101) CHECK(rp.body_bytes() == 0);
    if (rp.status() == 101) CHECK(!rp.keep_alive());
}

std::vector<Event> run_responses(const uint8_t* s, uint32_t n, Pieces pieces, bool head, bool go_on) {
    std::vector<Event> ev;
    ResponseParser rp;
    rp.start(head);
    uint32_t off = 0, msg_start = 0;
    bool recording = true;
    const auto record = [&](Progress p, uint64_t end) {
        if (recording)
            ev.push_back({p, end, rp.error(), 0, 0, rp.keep_alive(), false, false, rp.status(), rp.body_bytes()});
    };
    while (off < n) {
        const uint32_t piece = std::min(pieces.next(), n - off);
        uint32_t done = 0;
        while (done < piece) {
            const uint32_t k = piece - done;
            const Result r = rp.feed(s + off + done, k);
            CHECK(r.used <= k);
            if (r.p == Progress::More) {
                CHECK(r.used == k && rp.error() == ParseError::None);
                done = piece;
            } else if (r.p == Progress::Done) {
                CHECK(r.used >= 1);
                check_response_done(rp, head);
                CHECK(rp.body_bytes() < off + done + r.used - msg_start);
                const Result again = rp.feed(s, n);
                CHECK(again.p == Progress::Done && again.used == 0);
                CHECK(rp.eof().p == Progress::Done);
                done += r.used;
                record(Progress::Done, off + done);
                rp.start(head);
                msg_start = off + done;
            } else {
                CHECK(rp.error() != ParseError::None && rp.started());
                const Result again = rp.feed(s, n);
                CHECK(again.p == Progress::Error && again.used == 0);
                CHECK(rp.eof().p == Progress::Error);
                record(Progress::Error, 0);
                if (!go_on) return ev;
                recording = false;
                done += r.used + 1 <= k ? r.used + 1 : k;
                rp.start(head);
                msg_start = off + done;
            }
        }
        off += piece;
    }
    const bool started = rp.started();
    const Result e = rp.eof();
    CHECK(e.used == 0);
    if (!started) CHECK(e.p == Progress::More);
    if (e.p == Progress::Done) {
        check_response_done(rp, head);
        CHECK(!rp.keep_alive());
    }
    if (e.p == Progress::Error) CHECK(rp.error() == ParseError::Truncated);
    record(e.p, 0);
    return ev;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    g_input = data;
    g_size = size;
    if (size < 5 || size > (1u << 20)) return 0;
    const uint8_t mode = data[0];
    static constexpr uint32_t kHeader[] = {64, 200, 1024, 8192};
    static constexpr uint64_t kBody[] = {0, 16, 1000, 1 << 20};
    const RequestLimits lim{kHeader[mode & 3], kBody[(mode >> 2) & 3]};
    const bool head = mode & 16;
    // Each stream in its own allocation, so ASan sees a read past its end.
    const std::vector<uint8_t> stream(data + 5, data + size);
    const auto n = static_cast<uint32_t>(stream.size());
    const uint8_t* s = stream.data();

    const auto req_whole = run_requests(s, n, Pieces{data + 1, true}, lim, false);
    const auto req_split = run_requests(s, n, Pieces{data + 1, false}, lim, false);
    CHECK(req_whole == req_split);
    // The fast head scans (http/fast.hpp) decide whole heads; fed a byte at a time, http_parser decides all.
    CHECK(req_whole == run_requests(s, n, Pieces{data + 1, false, true}, lim, false));
    run_requests(s, n, Pieces{data + 1, false}, lim, true);

    const auto res_whole = run_responses(s, n, Pieces{data + 1, true}, head, false);
    const auto res_split = run_responses(s, n, Pieces{data + 1, false}, head, false);
    CHECK(res_whole == res_split);
    CHECK(res_whole == run_responses(s, n, Pieces{data + 1, false, true}, head, false));
    run_responses(s, n, Pieces{data + 1, false}, head, true);
    return 0;
}
