// The common shapes of an HTTP/1.1 message head, read in one pass when the whole head is in hand: a status or
// request line, CRLF-ended field lines, at most one Content-Length, no Transfer-Encoding, Connection a single
// close or keep-alive. Anything else (a 1xx, chunked or close-delimited framing, obs-fold, bare LF, a list in
// Connection, a head split over segments, an absolute-form target) returns false and goes to http_parser,
// which parses every message the same way: these scans only decide sooner, never differently (the fuzz target
// compares the two on every input).
//
// Why: http_parser walks a byte at a time through a state machine, about 2,900 instructions for a 150-byte
// response or an 80-byte request, which was 40% of a whole connection's cost in the storm; these scans take
// a few hundred.
#pragma once
#include <cstdint>

#include "http/http.hpp"

namespace synwave::http::fast {

struct ResponseHead {
    uint32_t head_len = 0;       // bytes through the empty line
    uint16_t status = 0;         // 200..599
    uint8_t minor = 1;           // HTTP/1.minor
    bool keep_alive = false;     // RFC 9112 §9.3
    bool has_length = false;     // Content-Length given (always, unless 204/304)
    uint64_t length = 0;
};

struct RequestHead {
    uint32_t head_len = 0;
    Method method = Method::Get;
    uint8_t minor = 1;
    bool keep_alive = false;
    bool has_host = false;
    bool expect_continue = false;  // one Expect field, "100-continue"
    uint64_t length = 0;         // Content-Length (0 when absent)
    int route = -1;              // index into Routes::paths of the exact match, or -1
};

// After a fast head: takes what n bytes hold of the `left` bytes of a Content-Length body, counting them in
// `body`; returns the bytes taken (the body is done when `left` is 0).
[[nodiscard]] inline uint32_t take_body(uint64_t& left, uint64_t& body, uint32_t n) {
    const uint32_t take = left < n ? static_cast<uint32_t>(left) : n;
    left -= take;
    body += take;
    return take;
}

// True with `h` filled when [p, p+n) begins with a whole response head of the common shape.
[[nodiscard]] bool scan_response(const uint8_t* p, uint32_t n, ResponseHead& h);
// True with `h` filled when [p, p+n) begins with a whole request head of the common shape, within `lim` (a head
// or body over the limits is left to http_parser's path, which answers it).
[[nodiscard]] bool scan_request(const uint8_t* p, uint32_t n, const Routes& routes, const RequestLimits& lim,
                                RequestHead& h);

}  // namespace synwave::http::fast
