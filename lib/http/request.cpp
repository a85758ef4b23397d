// The server side (RequestParser over http_parser, in HTTP_REQUEST mode) and the client's request builder.
#include "http/http.hpp"

#include "http/fast.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstring>

namespace synwave::http {

const char* error_name(ParseError e) {
    switch (e) {
        case ParseError::None: return "none";
        case ParseError::BadRequestLine: return "bad_request_line";
        case ParseError::BadStatusLine: return "bad_status_line";
        case ParseError::BadVersion: return "bad_version";
        case ParseError::BadHeader: return "bad_header";
        case ParseError::BadContentLength: return "bad_content_length";
        case ParseError::BadChunk: return "bad_chunk";
        case ParseError::HeaderTooLarge: return "header_too_large";
        case ParseError::BodyTooLarge: return "body_too_large";
        case ParseError::UnknownMethod: return "unknown_method";
        case ParseError::Truncated: return "truncated";
        case ParseError::Other: return "other";
    }
    return "other";
}

ParseError detail::map_errno(unsigned e, bool in_fields, bool in_body, bool response) {
    switch (static_cast<http_errno>(e)) {
        case HPE_OK: return ParseError::None;
        case HPE_INVALID_EOF_STATE: return ParseError::Truncated;
        case HPE_HEADER_OVERFLOW: return ParseError::HeaderTooLarge;
        case HPE_INVALID_VERSION: return ParseError::BadVersion;
        case HPE_INVALID_STATUS: return ParseError::BadStatusLine;
        case HPE_INVALID_METHOD: return ParseError::UnknownMethod;
        case HPE_INVALID_URL:
        case HPE_INVALID_HOST:
        case HPE_INVALID_PORT:
        case HPE_INVALID_PATH:
        case HPE_INVALID_QUERY_STRING:
        case HPE_INVALID_FRAGMENT: return ParseError::BadRequestLine;
        case HPE_INVALID_CONTENT_LENGTH:
        case HPE_UNEXPECTED_CONTENT_LENGTH: return ParseError::BadContentLength;
        case HPE_INVALID_CHUNK_SIZE: return ParseError::BadChunk;
        case HPE_INVALID_TRANSFER_ENCODING: return ParseError::BadHeader;
        case HPE_INVALID_HEADER_TOKEN:  // in a trailer section too: that is part of the chunked framing
        case HPE_LF_EXPECTED:
        case HPE_INVALID_CONSTANT:
        case HPE_STRICT:
            if (in_body) return ParseError::BadChunk;
            if (in_fields || e == HPE_INVALID_HEADER_TOKEN) return ParseError::BadHeader;
            return response ? ParseError::BadStatusLine : ParseError::BadRequestLine;
        default: return ParseError::Other;
    }
}

// ---- RequestParser ----

struct RequestParser::Ctx {
    RequestParser* self;
    const Routes* routes;
    const RequestLimits* lim;
};

namespace {
constexpr uint8_t kHostNo = 5;     // the field name being read is not "host"
constexpr uint8_t kHostValue = 6;  // in a field value (the next field name starts the match again)

constexpr uint32_t kHostWord = 'h' | 'o' << 8 | 's' << 16 | uint32_t{'t'} << 24;  // "host" loaded little-endian
static_assert(std::endian::native == std::endian::little);

constexpr auto kTchar = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = is_tchar(static_cast<uint8_t>(c));
    return t;
}();
}  // namespace

struct RequestCallbacks {
    using R = RequestParser;
    static R::Ctx& ctx(http_parser* hp) { return *static_cast<R::Ctx*>(hp->data); }

    static int on_message_begin(http_parser* hp) {
        ctx(hp).self->flags_ |= R::kBegun;
        return 0;
    }

    // A piece of the path: the routes that still match it at this position keep their bit. One comparison
    // per surviving route and piece, not per byte.
    static void match(R& r, const Routes& routes, const uint8_t* p, uint32_t n) {
        uint32_t keep = r.route_mask_;
        for (uint32_t m = keep; m != 0; m &= m - 1) {
            const auto i = static_cast<uint32_t>(std::countr_zero(m));
            const std::string& s = routes.paths[i];
            if (s.size() < r.url_pos_ + n || std::memcmp(s.data() + r.url_pos_, p, n) != 0) keep &= ~(1u << i);
        }
        r.route_mask_ = keep;
        r.url_pos_ += n;
        if (keep == 0) r.flags_ |= R::kUrlStop;
    }

    // The request-target arrives in pieces (one call per feed it spans). Origin-form is matched from its first
    // byte; absolute-form (RFC 9112 §3.2.2, which a server must accept) from the '/' after "scheme://authority".
    static int on_url(http_parser* hp, const char* at, size_t len) {
        const R::Ctx& c = ctx(hp);
        R& r = *c.self;
        if (r.flags_ & R::kUrlStop) return 0;
        const auto* p = reinterpret_cast<const uint8_t*>(at);
        const auto* end = p + len;
        if (r.url_pos_ == 0 && !(r.flags_ & R::kAbsolute)) {  // the target's first byte
            const size_t n = c.routes->paths.size();
            r.route_mask_ = n >= Routes::kMax ? ~0u : (1u << n) - 1;
            if (*p != '/') r.flags_ |= R::kAbsolute;
        }
        for (; p < end && (r.flags_ & R::kAbsolute); ++p) {
            if (*p == '?' || *p == '#') {  // "http://host?q": the path is empty, which means "/"
                absolute_end(r, *c.routes);
                return 0;
            }
            if (*p == '/' && ++r.slashes_ == 3) r.flags_ &= static_cast<uint8_t>(~R::kAbsolute);
            else continue;
            break;  // p is the path's '/'
        }
        const uint8_t* q = p;
        while (q < end && *q != '?' && *q != '#') ++q;
        if (q > p) match(r, *c.routes, p, static_cast<uint32_t>(q - p));
        if (q < end) r.flags_ |= R::kUrlStop;
        return 0;
    }
    static void absolute_end(R& r, const Routes& routes) {
        r.flags_ &= static_cast<uint8_t>(~R::kAbsolute);
        if (r.slashes_ == 2) match(r, routes, reinterpret_cast<const uint8_t*>("/"), 1);
        r.flags_ |= R::kUrlStop;
    }

    // RFC 9110 §10.1.1: "Expect: 100-continue", the name and the value each matched as they arrive, in pieces.
    // The value matches when it is those 12 bytes (letters in any case) and then only whitespace (the parser
    // drops the whitespace before it). Trailer fields (after a chunked body) expect nothing.
    static void expect_name(R& r, const uint8_t* p, size_t len) {
        if (r.flags_ & R::kHeadersDone) return;
        uint8_t n = r.expect_ & R::kExpectNo;
        for (size_t i = 0; i < len && n != R::kExpectNo; ++i)
            n = n < 6 && (p[i] | 0x20) == "expect"[n] ? n + 1 : R::kExpectNo;
        r.expect_ = static_cast<uint8_t>((r.expect_ & R::kExpectContinue) | n);
    }
    static void expect_value(R& r, const uint8_t* p, size_t len) {
        if (r.flags_ & R::kHeadersDone) return;
        if (!(r.expect_ & R::kExpectValue))  // the first piece of a value: was the name "expect"?
            r.expect_ = static_cast<uint8_t>((r.expect_ & R::kExpectContinue) | R::kExpectValue |
                                             ((r.expect_ & R::kExpectNo) == 6 ? 0 : R::kExpectNo));
        uint8_t n = r.expect_ & R::kExpectNo;
        for (size_t i = 0; i < len && n != R::kExpectNo; ++i) {
            const uint8_t b = p[i] >= 'A' && p[i] <= 'Z' ? static_cast<uint8_t>(p[i] | 0x20) : p[i];
            if (n < 12) n = b == static_cast<uint8_t>("100-continue"[n]) ? n + 1 : R::kExpectNo;
            else if (b != ' ' && b != '\t') n = R::kExpectNo;
        }
        r.expect_ = static_cast<uint8_t>((r.expect_ & ~R::kExpectNo) | n);
    }
    // A value ends where the next name or the end of the header section begins.
    static void expect_end(R& r) {
        if (r.expect_ & R::kExpectValue)
            r.expect_ = (r.expect_ & R::kExpectNo) == 12 ? R::kExpectContinue : r.expect_ & R::kExpectContinue;
    }

    static int on_header_field(http_parser* hp, const char* at, size_t len) {
        R& r = *ctx(hp).self;
        r.flags_ |= R::kInFields;
        if (r.host_ == kHostValue) r.host_ = 0;
        expect_end(r);
        // Debian builds http_parser without HTTP_PARSER_STRICT, which lets a space into a field name; RFC
        // 9112 §5.1 wants a 400 for whitespace before the colon, so the name is checked here.
        const auto* p = reinterpret_cast<const uint8_t*>(at);
        for (size_t i = 0; i < len; ++i) {
            if (!kTchar[p[i]]) {  // in a trailer section, as http_parser's own refusals there: BadChunk
                r.err_ = static_cast<uint8_t>(r.flags_ & R::kHeadersDone ? ParseError::BadChunk : ParseError::BadHeader);
                return -1;
            }
        }
        expect_name(r, p, len);
        if (r.host_ == 0 && len >= 4) {  // the usual case, a whole name in one piece (ASCII lower case: | 0x20)
            uint32_t w;
            std::memcpy(&w, p, 4);
            r.host_ = len == 4 && (w | 0x20202020u) == kHostWord ? 4 : kHostNo;
            return 0;
        }
        for (size_t i = 0; i < len && r.host_ != kHostNo; ++i) {
            const auto b = static_cast<uint8_t>(p[i] | 0x20);
            r.host_ = r.host_ < 4 && b == static_cast<uint8_t>("host"[r.host_]) ? r.host_ + 1 : kHostNo;
        }
        return 0;
    }
    // The first piece of a value ends the name: a Host field if all four letters and nothing more matched.
    static int host_found(R& r) {
        if (r.host_ == 4) {
            if (r.flags_ & R::kHasHost) {  // RFC 9112 §3.2: more than one Host field is a 400
                r.err_ = static_cast<uint8_t>(ParseError::BadHeader);
                return -1;
            }
            r.flags_ |= R::kHasHost;
        }
        r.host_ = kHostValue;
        return 0;
    }
    static int on_header_value(http_parser* hp, const char* at, size_t len) {
        R& r = *ctx(hp).self;
        expect_value(r, reinterpret_cast<const uint8_t*>(at), len);
        return r.host_ == kHostValue ? 0 : host_found(r);
    }

    static int on_headers_complete(http_parser* hp) {
        const R::Ctx& c = ctx(hp);
        R& r = *c.self;
        r.flags_ |= R::kHeadersDone;
        expect_end(r);
        if (r.host_ != kHostValue && host_found(r) != 0) return -1;
        if (hp->http_major != 1) {  // HTTP/0.9 (no version) or 2+: not ours to speak
            r.err_ = static_cast<uint8_t>(ParseError::BadVersion);
            return -1;
        }
        if (r.flags_ & R::kAbsolute) absolute_end(r, *c.routes);
        for (uint32_t m = r.route_mask_; m != 0; m &= m - 1) {
            const auto i = static_cast<uint32_t>(std::countr_zero(m));
            if (c.routes->paths[i].size() == r.url_pos_) {
                r.route_ = static_cast<int8_t>(i);
                break;
            }
        }
        if (http_should_keep_alive(hp)) r.flags_ |= R::kKeepAlive;
        // A declared length over the limit is refused before its first byte (RFC 9110 §15.5.14).
        if (!(hp->flags & F_CHUNKED) && hp->content_length != ULLONG_MAX && hp->content_length > c.lim->max_body) {
            r.err_ = static_cast<uint8_t>(ParseError::BodyTooLarge);
            return -1;
        }
        return 0;
    }

    static int on_body(http_parser* hp, const char*, size_t len) {
        const R::Ctx& c = ctx(hp);
        R& r = *c.self;
        r.body_ += len;
        if (r.body_ > c.lim->max_body) {
            r.err_ = static_cast<uint8_t>(ParseError::BodyTooLarge);
            return -1;
        }
        return 0;
    }

    // One request at a time: execute() returns right after this byte, with HPE_PAUSED.
    static int on_message_complete(http_parser* hp) {
        ctx(hp).self->flags_ |= R::kDone;
        http_parser_pause(hp, 1);
        return 0;
    }

    static constexpr http_parser_settings kSettings = {
        .on_message_begin = on_message_begin,
        .on_url = on_url,
        .on_status = nullptr,
        .on_header_field = on_header_field,
        .on_header_value = on_header_value,
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
        .on_chunk_header = nullptr,
        .on_chunk_complete = nullptr,
    };
};

void RequestParser::start() {
    http_parser_init(&parser_, HTTP_REQUEST);
    body_ = 0;
    header_seen_ = 0;
    route_mask_ = 0;
    url_pos_ = 0;
    flags_ = 0;
    err_ = 0;
    host_ = 0;
    slashes_ = 0;
    route_ = -1;
    fast_ = 0;
    expect_ = 0;
}

// The body of a request whose head fast::scan_request read: counted down from its Content-Length.
Result RequestParser::fast_body(uint32_t n, uint32_t used) {
    used += fast::take_body(parser_.content_length, body_, n);
    if (parser_.content_length != 0) return {Progress::More, used};
    flags_ |= kDone;
    return {Progress::Done, used};
}

Result RequestParser::feed(const Routes& routes, const RequestLimits& lim, const uint8_t* p, uint32_t n) {
    if (err_ != 0) return {Progress::Error, 0};
    if (flags_ & kDone) return {Progress::Done, 0};
    if (fast_) return fast_body(n, 0);
    fast::RequestHead h;
    if (!(flags_ & kBegun) && header_seen_ == 0 && fast::scan_request(p, n, routes, lim, h)) {
        static constexpr uint8_t kMethods[] = {HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS};
        parser_.method = kMethods[static_cast<int>(h.method)];
        parser_.http_major = 1;
        parser_.http_minor = h.minor;
        parser_.content_length = h.length;
        route_ = static_cast<int8_t>(h.route);
        header_seen_ = h.head_len;
        flags_ |= static_cast<uint8_t>(kBegun | kHeadersDone | (h.keep_alive ? kKeepAlive : 0) |
                                       (h.has_host ? kHasHost : 0));
        fast_ = 1;
        expect_ = h.expect_continue ? kExpectContinue : 0;
        return fast_body(n - h.head_len, h.head_len);
    }
    Ctx ctx{this, &routes, &lim};
    parser_.data = &ctx;
    uint32_t used = 0;
    while (used < n) {
        uint32_t chunk = n - used;
        const bool in_header = !(flags_ & kHeadersDone);
        // Our header limit: the parser sees at most the bytes the header section may still take, so a section
        // over it is caught however it is split, with no copy and no count per callback.
        if (in_header) {
            if (header_seen_ >= lim.max_header) {
                err_ = static_cast<uint8_t>(ParseError::HeaderTooLarge);
                break;
            }
            chunk = std::min(chunk, lim.max_header - header_seen_);
        }
        const auto got = static_cast<uint32_t>(
            http_parser_execute(&parser_, &RequestCallbacks::kSettings, reinterpret_cast<const char*>(p + used), chunk));
        if (in_header) header_seen_ += got;
        used += got;
        if (flags_ & kDone) {
            http_parser_pause(&parser_, 0);
            return {Progress::Done, used};
        }
        const unsigned e = parser_.http_errno;
        if (e != HPE_OK || got != chunk) {
            if (err_ == 0) {
                ParseError pe = detail::map_errno(e, flags_ & kInFields, flags_ & kHeadersDone, false);
                // http_parser stops at the first byte that no method it knows has there. A token going on
                // (or ending, after at least one letter) is a method we do not implement: 501 (RFC 9110
                // §9.1); anything else (TLS, binary, a lone space) is not a request line.
                if (pe == ParseError::UnknownMethod && used < n) {
                    const uint8_t b = p[used];
                    if (!(is_tchar(b) || (b == ' ' && (flags_ & kBegun)))) pe = ParseError::BadRequestLine;
                }
                err_ = static_cast<uint8_t>(pe == ParseError::None ? ParseError::Other : pe);
            }
            break;
        }
    }
    if (err_ != 0) {
        flags_ |= kBegun;
        return {Progress::Error, used};
    }
    return {Progress::More, used};
}

Result RequestParser::eof() {
    if (err_ != 0) return {Progress::Error, 0};
    if (flags_ & kDone) return {Progress::Done, 0};
    if (!(flags_ & kBegun)) return {Progress::More, 0};
    err_ = static_cast<uint8_t>(ParseError::Truncated);
    return {Progress::Error, 0};
}

Method RequestParser::method() const {
    switch (parser_.method) {
        case HTTP_GET: return Method::Get;
        case HTTP_HEAD: return Method::Head;
        case HTTP_POST: return Method::Post;
        case HTTP_PUT: return Method::Put;
        case HTTP_DELETE: return Method::Delete;
        case HTTP_OPTIONS: return Method::Options;
        default: return Method::Other;
    }
}

bool RequestParser::keep_alive() const { return flags_ & kKeepAlive; }
bool RequestParser::has_host() const { return flags_ & kHasHost; }
uint8_t RequestParser::version_minor() const { return parser_.http_minor > 0 ? 1 : 0; }
int RequestParser::route() const { return route_; }

// ---- the client's request ----

namespace {

bool iequals(const std::string& a, const char* b) {
    size_t i = 0;
    for (; i < a.size() && b[i] != 0; ++i)
        if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
    return i == a.size() && b[i] == 0;
}

bool is_token(const std::string& s) {
    if (s.empty()) return false;
    for (const char ch : s)
        if (!is_tchar(static_cast<uint8_t>(ch))) return false;
    return true;
}

// RFC 9110 §5.5: field-value is VCHAR, obs-text, SP and HTAB; no other control character.
const char* bad_value(const std::string& v) {
    for (const char ch : v) {
        const auto b = static_cast<uint8_t>(ch);
        if (b == '\r' || b == '\n') return "contains CR or LF";
        if (b == 0) return "contains NUL";
        if ((b < 0x20 && b != '\t') || b == 0x7F) return "contains a control character";
    }
    return nullptr;
}

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        const auto b = static_cast<uint8_t>(ch);
        if (b < 0x20 || b >= 0x7F || b == '"' || b == '\\') {
            static constexpr char kHex[] = "0123456789abcdef";
            out += "\\x";
            out += kHex[b >> 4];
            out += kHex[b & 15];
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

const std::string* host_override(const RequestSpec& s) {
    for (const auto& [name, value] : s.headers)
        if (iequals(name, "host")) return &value;
    return nullptr;
}

}  // namespace

bool check_request(const RequestSpec& s, std::string& err) {
    if (!is_token(s.method)) {
        err = "method " + quoted(s.method) + " is not a token";
        return false;
    }
    // origin-form (RFC 9112 §3.2.1): absolute-path [ "?" query ], printable ASCII without SP; no fragment
    // (RFC 9110 §7.1: it is not sent). "*" only for OPTIONS (asterisk-form, §3.2.4).
    if (!(s.path == "*" && s.method == "OPTIONS")) {
        if (s.path.empty() || s.path[0] != '/') {
            err = "path " + quoted(s.path) + " does not start with '/'";
            return false;
        }
        for (const char ch : s.path) {
            const auto b = static_cast<uint8_t>(ch);
            if (b <= 0x20 || b >= 0x7F || b == '#') {
                err = "path " + quoted(s.path) + (b == '#' ? " has a fragment ('#')"
                                                            : " has a space, a control or a non-ASCII byte");
                return false;
            }
        }
    }
    const std::string* host = host_override(s);
    if (host == nullptr) host = &s.host;
    if (host->empty()) {
        err = "host is empty (the Host field is required, RFC 9112 §3.2)";
        return false;
    }
    for (const char ch : *host) {
        const auto b = static_cast<uint8_t>(ch);
        if (b <= 0x20 || b >= 0x7F) {
            err = "host " + quoted(*host) + " has a space, a control or a non-ASCII byte";
            return false;
        }
    }
    int hosts = 0;
    for (size_t i = 0; i < s.headers.size(); ++i) {
        const auto& [name, value] = s.headers[i];
        const std::string where = "header " + std::to_string(i + 1) + ": ";
        if (!is_token(name)) {
            err = where + "name " + quoted(name) + " is not a token";
            return false;
        }
        if (const char* why = bad_value(value)) {
            err = where + "value of " + name + " " + why;
            return false;
        }
        if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) {
            err = where + name + " is not settable (Content-Length follows the body)";
            return false;
        }
        if (iequals(name, "host") && ++hosts > 1) {
            err = where + "a second Host field (RFC 9112 §3.2)";
            return false;
        }
    }
    return true;
}

std::string build_request(const RequestSpec& s) {
    const std::string* host = host_override(s);
    const std::string* agent = nullptr;
    for (const auto& [name, value] : s.headers)
        if (iequals(name, "user-agent") && agent == nullptr) agent = &value;
    std::string out;
    out.reserve(128 + s.body.size());
    out += s.method;
    out += ' ';
    out += s.path;
    out += " HTTP/1.1\r\nHost: ";  // Host first (RFC 9110 §7.2: SHOULD be the first field)
    out += host != nullptr ? *host : s.host;
    out += "\r\nUser-Agent: ";
    out += agent != nullptr ? *agent : "synwave";
    out += "\r\n";
    for (const auto& h : s.headers) {
        if (&h.second == host || &h.second == agent) continue;
        out += h.first;
        out += ": ";
        out += h.second;
        out += "\r\n";
    }
    // RFC 9110 §8.6: a user agent sends Content-Length when the method gives content a meaning.
    if (!s.body.empty() || s.method == "POST" || s.method == "PUT") {
        out += "Content-Length: ";
        out += std::to_string(s.body.size());
        out += "\r\n";
    }
    if (s.close) out += "Connection: close\r\n";
    out += "\r\n";
    out += s.body;
    return out;
}

}  // namespace synwave::http
