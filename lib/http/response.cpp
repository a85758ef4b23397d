// The client side (ResponseParser over http_parser, in HTTP_RESPONSE mode) and the server's response texts.
#include "http/http.hpp"

#include <algorithm>

#include "http/fast.hpp"

namespace synwave::http {

struct ResponseCallbacks {
    using R = ResponseParser;
    static R& self(http_parser* hp) { return *static_cast<R*>(hp->data); }

    static int on_message_begin(http_parser* hp) {
        self(hp).flags_ |= R::kBegun;
        return 0;
    }
    static int on_header_field(http_parser* hp, const char*, size_t) {
        self(hp).flags_ |= R::kInFields;
        return 0;
    }

    // Returning 1 tells http_parser the response has no body whatever its fields say: the answer to HEAD
    // (RFC 9110 §9.3.2), and 1xx, 204 and 304 (RFC 9112 §6.3 item 1).
    static int on_headers_complete(http_parser* hp) {
        R& r = self(hp);
        r.status_ = static_cast<uint16_t>(hp->status_code);
        r.flags_ |= R::kHeadersDone;
        if (hp->http_major != 1) {
            r.err_ = static_cast<uint8_t>(ParseError::BadVersion);
            return -1;
        }
        if (r.status_ < 100 || r.status_ > 599) {  // RFC 9110 §15: three digits, the first 1 to 5
            r.err_ = static_cast<uint8_t>(ParseError::BadStatusLine);
            return -1;
        }
        const bool no_body = (r.flags_ & R::kHead) || r.status_ < 200 || r.status_ == 204 || r.status_ == 304;
        return no_body ? 1 : 0;
    }

    static int on_body(http_parser* hp, const char*, size_t len) {
        self(hp).body_ += len;
        return 0;
    }

    static int on_message_complete(http_parser* hp) {
        R& r = self(hp);
        // An interim response (RFC 9110 §15.2) precedes the final one: http_parser, left running, reads on.
        // 101 is final for HTTP/1.1 on this connection (what follows is another protocol).
        if (r.status_ < 200 && r.status_ != 101) {
            if (r.interim_ < 255) ++r.interim_;
            r.status_ = 0;
            r.body_ = 0;
            r.flags_ &= static_cast<uint8_t>(~(R::kHeadersDone | R::kInFields));
            return 0;
        }
        if (r.status_ != 101 && http_should_keep_alive(hp)) r.flags_ |= R::kKeepAlive;
        r.flags_ |= R::kDone;
        http_parser_pause(hp, 1);
        return 0;
    }

    static constexpr http_parser_settings kSettings = {
        .on_message_begin = on_message_begin,
        .on_url = nullptr,
        .on_status = nullptr,
        .on_header_field = on_header_field,
        .on_header_value = nullptr,
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
        .on_chunk_header = nullptr,
        .on_chunk_complete = nullptr,
    };
};

void ResponseParser::start(bool head_request) {
    http_parser_init(&parser_, HTTP_RESPONSE);
    body_ = 0;
    status_ = 0;
    flags_ = head_request ? kHead : 0;
    err_ = 0;
    interim_ = 0;
}

// The body of a response whose head fast::scan_response read: counted down from its Content-Length.
Result ResponseParser::fast_body(uint32_t n, uint32_t used) {
    used += fast::take_body(parser_.content_length, body_, n);
    if (parser_.content_length != 0) return {Progress::More, used};
    flags_ |= static_cast<uint8_t>(kDone | ((flags_ & kFastKeep) ? kKeepAlive : 0));
    return {Progress::Done, used};
}

Result ResponseParser::feed(const uint8_t* p, uint32_t n) {
    if (err_ != 0) return {Progress::Error, 0};
    if (flags_ & kDone) return {Progress::Done, 0};
    if (flags_ & kFast) return fast_body(n, 0);
    fast::ResponseHead h;
    if (!(flags_ & kBegun) && fast::scan_response(p, n, h)) {
        status_ = h.status;
        flags_ |= static_cast<uint8_t>(kBegun | kHeadersDone | kFast | (h.keep_alive ? kFastKeep : 0));
        parser_.content_length = (flags_ & kHead) ? 0 : h.length;
        return fast_body(n - h.head_len, h.head_len);
    }
    parser_.data = this;
    const auto got = static_cast<uint32_t>(
        http_parser_execute(&parser_, &ResponseCallbacks::kSettings, reinterpret_cast<const char*>(p), n));
    if (flags_ & kDone) {
        http_parser_pause(&parser_, 0);
        return {Progress::Done, got};
    }
    const unsigned e = parser_.http_errno;
    if (e == HPE_OK && got == n) return {Progress::More, got};
    if (err_ == 0) {
        const ParseError pe = detail::map_errno(e, flags_ & kInFields, flags_ & kHeadersDone, true);
        err_ = static_cast<uint8_t>(pe == ParseError::None ? ParseError::Other : pe);
    }
    flags_ |= kBegun;
    return {Progress::Error, got};
}

Result ResponseParser::eof() {
    if (err_ != 0) return {Progress::Error, 0};
    if (flags_ & kDone) return {Progress::Done, 0};
    if (!(flags_ & kBegun)) return {Progress::More, 0};
    if (flags_ & kFast) {  // a Content-Length body cut short
        err_ = static_cast<uint8_t>(ParseError::Truncated);
        return {Progress::Error, 0};
    }
    // http_parser ends a close-delimited body (its "read until EOF" state) on a zero-length execute and calls
    // anything else an unexpected EOF.
    parser_.data = this;
    http_parser_execute(&parser_, &ResponseCallbacks::kSettings, nullptr, 0);
    if (flags_ & kDone) {
        http_parser_pause(&parser_, 0);
        flags_ &= static_cast<uint8_t>(~kKeepAlive);
        return {Progress::Done, 0};
    }
    if (err_ == 0) err_ = static_cast<uint8_t>(ParseError::Truncated);
    return {Progress::Error, 0};
}

// ---- the server's texts ----

const char* reason_phrase(uint16_t status) {
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 203: return "Non-Authoritative Information";
        case 204: return "No Content";
        case 205: return "Reset Content";
        case 206: return "Partial Content";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 305: return "Use Proxy";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 402: return "Payment Required";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 412: return "Precondition Failed";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 421: return "Misdirected Request";
        case 422: return "Unprocessable Content";
        case 426: return "Upgrade Required";
        case 428: return "Precondition Required";            // RFC 6585
        case 429: return "Too Many Requests";                // RFC 6585
        case 431: return "Request Header Fields Too Large";  // RFC 6585
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        case 511: return "Network Authentication Required";  // RFC 6585
        default: return "";
    }
}

std::string response_head(uint16_t status, uint64_t body_len, bool keep_alive,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string out = "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason_phrase(status);
    out += "\r\nServer: synwave\r\nContent-Type: text/plain\r\n";
    if (status >= 200 && status != 204) {
        out += "Content-Length: ";
        out += std::to_string(body_len);
        out += "\r\n";
    }
    for (const auto& [name, value] : headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    return out;
}

}  // namespace synwave::http
