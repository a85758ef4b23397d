// HTTP/1.1 message parsing and the fixed texts synwave sends (RFC 9110 semantics, RFC 9112 syntax).
//
// The parsing is http_parser's (the nodejs parser, 2.9): streaming, allocation-free, its whole state a 32-byte
// struct, so a parser per connection fits in a cache line with ours. It never keeps a byte of the message: a
// caller feeds what TCP delivered and gets a decision back (More, Done with the bytes used, Error with a
// reason), and keeps no copy of the request either (routes are matched byte by byte as the target arrives).
//
// What http_parser accepts beyond RFC 9112 (pinned in tests/unit/http: a load generator and a benchmark
// server gain little by being stricter than the peers they meet):
//  - bare LF as a line terminator in the start line and the fields (RFC 9112 §2.2 allows a recipient that);
//  - obs-fold (a field line continued on the next after SP/HTAB), and empty lines before a message;
//  - a request line without a version ("GET /\r\n", HTTP/0.9): we refuse it (BadVersion), as any major
//    version but 1; a 1.y with y > 1 is read as 1.1 (RFC 9112 §2.3);
//  - Debian builds it without HTTP_PARSER_STRICT, which drops these checks: the letters of "HTTP/" after the
//    'H'; the two bytes after a chunk's data (any two pass as its CRLF); the LF after the status line's CR;
//    bytes over 0x7F in a request-target; a space in a field name (which RequestParser refuses itself:
//    RFC 9112 §5.1 wants a 400 for whitespace before the colon; ResponseParser lets it pass).
// Refused: CTLs in a field value, a bare CR in a field line, Content-Length with chunked or twice
// (BadContentLength), a request Transfer-Encoding not ending in chunked (BadHeader, RFC 9112 §6.3), a method
// it does not know (UnknownMethod: 501), a header section over its compiled-in 80 KiB (HeaderTooLarge).
#pragma once
#include <http_parser.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace synwave::http {

enum class ParseError : uint8_t {
    None,
    BadRequestLine,
    BadStatusLine,
    BadVersion,
    BadHeader,  // also: a second Host field in a request (RFC 9112 §3.2: 400)
    BadContentLength,
    BadChunk,
    HeaderTooLarge,  // header section (start line + fields) over the limit -> server answers 431
    BodyTooLarge,    // request body over the limit -> 413
    UnknownMethod,   // a method token http_parser does not know -> 501
    Truncated,       // EOF inside a message
    Other
};
inline constexpr int kParseErrors = static_cast<int>(ParseError::Other) + 1;
[[nodiscard]] const char* error_name(ParseError e);  // "bad_status_line", ... (snake_case counter/JSON names)

enum class Method : uint8_t { Get, Head, Post, Put, Delete, Options, Other };  // Other: known, not listed

enum class Progress : uint8_t { More, Done, Error };
// used: bytes consumed. Done: up to and including the message's last byte. More: all of them. Error: those
// before the byte found wrong (or through the piece a callback refused: a field name up to its colon).
struct Result {
    Progress p;
    uint32_t used;
};

// Server: the paths it answers specially (exact match on the request-target's path, before any '?' or '#').
struct Routes {
    static constexpr uint32_t kMax = 32;
    std::vector<std::string> paths;  // at most kMax, each starting with '/'
};
// max_header counts every byte of the header section: empty lines before the request line, the request line,
// the field lines and the empty line ending them, each with its CRLF.
struct RequestLimits {
    uint32_t max_header = 8192;
    uint64_t max_body = 1 << 20;
};

// One per connection: trivially copyable, no heap, 64 bytes at most.
class RequestParser {
public:
    void start();  // before each request (also after a Done, for the next pipelined one)
    // Parses up to one request from [p, p+n); stops right after its end (pipelining: the caller answers, calls
    // start() and feeds the rest). Bytes of a request body are consumed and counted, not kept. After Done or
    // Error, feed returns the same verdict with used 0 until start().
    Result feed(const Routes& routes, const RequestLimits& lim, const uint8_t* p, uint32_t n);
    // The peer's FIN: Error Truncated inside a request, More when idle() (the caller closes), Done after Done.
    Result eof();
    [[nodiscard]] Method method() const;
    [[nodiscard]] bool keep_alive() const;  // RFC 9112 §9.3: 1.1 persists unless "Connection: close"; 1.0 only with keep-alive
    [[nodiscard]] bool has_host() const;    // a Host field was present (RFC 9112 §3.2: a 1.1 request without one gets 400)
    // An HTTP/1.1 request whose header section holds "Expect: 100-continue" (one field, that value, any case):
    // the client waits for a 100 (Continue) before sending the content (RFC 9110 §10.1.1; 1.0 requests' are
    // ignored). Cleared by continue_sent().
    [[nodiscard]] bool expects_continue() const { return (expect_ & kExpectContinue) && parser_.http_minor >= 1; }
    void continue_sent() { expect_ &= static_cast<uint8_t>(~kExpectContinue); }
    [[nodiscard]] uint8_t version_minor() const;  // 0 or 1 (major is 1)
    [[nodiscard]] int route() const;              // index into routes.paths of the exact match, or -1
    [[nodiscard]] ParseError error() const { return static_cast<ParseError>(err_); }
    [[nodiscard]] bool idle() const { return !(flags_ & kBegun); }  // no byte but empty lines seen yet
    [[nodiscard]] bool headers_done() const { return flags_ & kHeadersDone; }
    [[nodiscard]] uint64_t body_bytes() const { return body_; }

    struct Ctx;  // the callbacks' view of one feed() (request.cpp)

private:
    enum : uint8_t {
        kBegun = 1,
        kHeadersDone = 2,
        kDone = 4,
        kInFields = 8,   // a field name was seen (errors from here on are BadHeader)
        kUrlStop = 16,   // '?' or '#' seen: the rest of the target is not the path
        kAbsolute = 32,  // absolute-form target: skipping "scheme://authority" to the path
        kKeepAlive = 64,
        kHasHost = 128,
    };
    http_parser parser_;
    uint64_t body_;
    uint32_t header_seen_;  // bytes fed while the header section was incomplete
    uint32_t route_mask_;   // routes whose path still matches the target's bytes so far
    uint32_t url_pos_;      // bytes of the path matched so far
    uint8_t flags_;
    uint8_t err_;
    uint8_t host_;     // Host field detection: 0..4 chars of "host" matched, kHostNo, kHostValue
    uint8_t slashes_;  // absolute-form: '/' seen before the path (the third starts it)
    int8_t route_;
    uint8_t fast_;     // 1: the head was read by fast::scan_request; parser_.content_length is the body left
    // Expect field detection beside Host's: kExpectContinue once an Expect value was "100-continue"; while a
    // field name is read, the low six bits count the letters of "expect" matched; in its value (kExpectValue)
    // the bytes of "100-continue" matched; kExpectNo: not it.
    uint8_t expect_;
    static constexpr uint8_t kExpectContinue = 0x80, kExpectValue = 0x40, kExpectNo = 0x3F;

    Result fast_body(uint32_t n, uint32_t used);

    friend struct RequestCallbacks;
};
static_assert(std::is_trivially_copyable_v<RequestParser>);
static_assert(sizeof(RequestParser) <= 64);

// Client: a request built once at configuration time.
struct RequestSpec {
    std::string method = "GET", path = "/", host;  // host: the Host field value (required, non-empty)
    std::vector<std::pair<std::string, std::string>> headers;  // extra fields, in order ("Host", "User-Agent" here replace ours)
    std::string body;   // sent with Content-Length when non-empty (or method POST/PUT: "Content-Length: 0")
    bool close = false; // add "Connection: close"
};
// Checks the spec (method a token, path origin-form without spaces/CTLs, header names tokens, values without
// CR/LF/NUL); false with `err` naming the field and the reason ("header 2: name \"a b\" is not a token";
// headers count from 1).
[[nodiscard]] bool check_request(const RequestSpec& s, std::string& err);
// The request bytes: "<METHOD> <path> HTTP/1.1\r\nHost: ..\r\nUser-Agent: synwave\r\n<headers>[Content-Length]
// [Connection: close]\r\n\r\n<body>".
[[nodiscard]] std::string build_request(const RequestSpec& s);

// One per connection on the client (trivially copyable, no heap, <= 64 bytes).
class ResponseParser {
public:
    void start(bool head_request);  // before each response; a response to HEAD has no body (RFC 9110 §9.3.2)
    // Parses up to one response; stops right after its end (bytes after it are left: the caller decides).
    // Interim 1xx responses other than 101 are consumed on the way (RFC 9110 §15.2) and counted in interim().
    Result feed(const uint8_t* p, uint32_t n);
    // The peer's FIN: Done when the response is delimited by the close (RFC 9112 §6.3 item 8: no length, not
    // chunked), Error Truncated when inside a message, More when no byte of a response was seen.
    Result eof();
    [[nodiscard]] uint16_t status() const { return status_; }  // valid once headers are done
    [[nodiscard]] bool keep_alive() const { return flags_ & kKeepAlive; }  // valid once Done (RFC 9112 §9.3)
    [[nodiscard]] bool headers_done() const { return flags_ & kHeadersDone; }
    [[nodiscard]] bool started() const { return flags_ & kBegun; }
    [[nodiscard]] uint64_t body_bytes() const { return body_; }
    [[nodiscard]] ParseError error() const { return static_cast<ParseError>(err_); }
    [[nodiscard]] uint8_t interim() const { return interim_; }

    struct Ctx;

private:
    enum : uint8_t {
        kBegun = 1,
        kHeadersDone = 2,
        kDone = 4,
        kInFields = 8,
        kHead = 16,
        kKeepAlive = 32,
        kFast = 64,  // the head was read by fast::scan_response; parser_.content_length is the body left
        kFastKeep = 128,  // ... and it keeps the connection (kKeepAlive is set once Done, as http_parser's is)
    };
    Result fast_body(uint32_t n, uint32_t used);
    http_parser parser_;
    uint64_t body_;
    uint16_t status_;
    uint8_t flags_;
    uint8_t err_;
    uint8_t interim_;

    friend struct ResponseCallbacks;
};
static_assert(std::is_trivially_copyable_v<ResponseParser>);
static_assert(sizeof(ResponseParser) <= 64);

// Server response texts, built once at configuration time.
// "HTTP/1.1 <status> <reason>\r\nServer: synwave\r\nContent-Type: text/plain\r\nContent-Length: N\r\n<extra
// headers>Connection: keep-alive|close\r\n\r\n" (the caller appends the body unless answering HEAD). No
// Content-Length for a 1xx or 204 (RFC 9110 §8.6).
[[nodiscard]] std::string response_head(uint16_t status, uint64_t body_len, bool keep_alive,
                                        const std::vector<std::pair<std::string, std::string>>& headers = {});
[[nodiscard]] const char* reason_phrase(uint16_t status);  // RFC 9110 §15 (and RFC 6585's); "" if unknown

namespace detail {
// An http_parser error (enum http_errno) as ours, by where the parser was: in the start line, the fields, or
// the body (chunk framing and trailers).
[[nodiscard]] ParseError map_errno(unsigned http_errno, bool in_fields, bool in_body, bool response);
}  // namespace detail

// RFC 9110 §5.6.2 tchar.
[[nodiscard]] constexpr bool is_tchar(uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
        case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
        case '^': case '_': case '`': case '|': case '~':
            return true;
        default:
            return false;
    }
}

}  // namespace synwave::http
