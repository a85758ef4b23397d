// The texts synwave sends: the client's request (build_request, check_request) and the server's response
// heads (response_head, reason_phrase), byte for byte, and each parsed back by the other side's parser.
#include "http_test_util.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace synwave::http;
using namespace synwave::http::testutil;

namespace {

TEST(Build, PlainGet) {
    RequestSpec s;
    s.host = "192.0.2.1";
    EXPECT_EQ(build_request(s), "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\nUser-Agent: synwave\r\n\r\n");
    std::string err;
    EXPECT_TRUE(check_request(s, err)) << err;
}

TEST(Build, EverythingSet) {
    RequestSpec s;
    s.method = "POST";
    s.path = "/api/v1?x=1&y=%20";
    s.host = "example.com:8080";
    s.headers = {{"Accept", "*/*"}, {"X-Empty", ""}, {"X-Tab", "a\tb"}};
    s.body = "{\"a\":1}";
    s.close = true;
    EXPECT_EQ(build_request(s),
              "POST /api/v1?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: synwave\r\n"
              "Accept: */*\r\nX-Empty: \r\nX-Tab: a\tb\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}");
    std::string err;
    EXPECT_TRUE(check_request(s, err)) << err;
}

TEST(Build, ContentLengthRules) {
    RequestSpec s;
    s.host = "h";
    s.method = "POST";
    EXPECT_EQ(build_request(s), "POST / HTTP/1.1\r\nHost: h\r\nUser-Agent: synwave\r\nContent-Length: 0\r\n\r\n");
    s.method = "PUT";
    EXPECT_EQ(build_request(s), "PUT / HTTP/1.1\r\nHost: h\r\nUser-Agent: synwave\r\nContent-Length: 0\r\n\r\n");
    s.method = "DELETE";
    EXPECT_EQ(build_request(s), "DELETE / HTTP/1.1\r\nHost: h\r\nUser-Agent: synwave\r\n\r\n");
    s.body = "x";
    EXPECT_EQ(build_request(s), "DELETE / HTTP/1.1\r\nHost: h\r\nUser-Agent: synwave\r\nContent-Length: 1\r\n\r\nx");
}

TEST(Build, HostAndUserAgentOverrides) {
    RequestSpec s;
    s.host = "ignored";
    s.headers = {{"X-A", "1"}, {"host", "real.example"}, {"user-agent", "curl/8"}, {"X-B", "2"}};
    // Host stays the first field (RFC 9110 §7.2), with the header's spelling of the value.
    EXPECT_EQ(build_request(s),
              "GET / HTTP/1.1\r\nHost: real.example\r\nUser-Agent: curl/8\r\nX-A: 1\r\nX-B: 2\r\n\r\n");
    std::string err;
    EXPECT_TRUE(check_request(s, err)) << err;
    s.host.clear();  // the override is enough
    EXPECT_TRUE(check_request(s, err)) << err;
}

TEST(Build, BuiltRequestsParse) {
    RequestSpec s;
    s.method = "PUT";
    s.path = "/r";
    s.host = "h";
    s.headers = {{"A", "b"}};
    s.body = std::string(300, 'z');
    s.close = true;
    const std::string req = build_request(s);
    RequestParser rp;
    EXPECT_TRUE(is(feed_request(rp, req, Routes{{"/r"}}), Progress::Done, len(req)));
    EXPECT_EQ(rp.method(), Method::Put);
    EXPECT_EQ(rp.route(), 0);
    EXPECT_TRUE(rp.has_host());
    EXPECT_FALSE(rp.keep_alive());
    EXPECT_EQ(rp.body_bytes(), 300u);
}

TEST(Build, CheckRequestErrors) {
    struct Case {
        const char* what;
        RequestSpec s;
        std::string err;
    };
    const auto spec = [](auto fn) {
        RequestSpec s;
        s.host = "h";
        fn(s);
        return s;
    };
    const Case cases[] = {
        {"empty method", spec([](RequestSpec& s) { s.method = ""; }), "method \"\" is not a token"},
        {"method with space", spec([](RequestSpec& s) { s.method = "G T"; }), "method \"G T\" is not a token"},
        {"relative path", spec([](RequestSpec& s) { s.path = "index.html"; }),
         "path \"index.html\" does not start with '/'"},
        {"empty path", spec([](RequestSpec& s) { s.path = ""; }), "path \"\" does not start with '/'"},
        {"space in path", spec([](RequestSpec& s) { s.path = "/a b"; }),
         "path \"/a b\" has a space, a control or a non-ASCII byte"},
        {"CR in path", spec([](RequestSpec& s) { s.path = "/a\r\n"; }),
         "path \"/a\\x0d\\x0a\" has a space, a control or a non-ASCII byte"},
        {"UTF-8 in path", spec([](RequestSpec& s) { s.path = "/\xc3\xa9"; }),
         "path \"/\\xc3\\xa9\" has a space, a control or a non-ASCII byte"},
        {"fragment", spec([](RequestSpec& s) { s.path = "/a#b"; }), "path \"/a#b\" has a fragment ('#')"},
        {"asterisk not OPTIONS", spec([](RequestSpec& s) { s.path = "*"; }), "path \"*\" does not start with '/'"},
        {"no host", spec([](RequestSpec& s) { s.host = ""; }),
         "host is empty (the Host field is required, RFC 9112 §3.2)"},
        {"host with space", spec([](RequestSpec& s) { s.host = "a b"; }),
         "host \"a b\" has a space, a control or a non-ASCII byte"},
        {"bad name", spec([](RequestSpec& s) { s.headers = {{"A", "1"}, {"a b", "x"}}; }),
         "header 2: name \"a b\" is not a token"},
        {"empty name", spec([](RequestSpec& s) { s.headers = {{"", "x"}}; }), "header 1: name \"\" is not a token"},
        {"colon in name", spec([](RequestSpec& s) { s.headers = {{"A:", "x"}}; }),
         "header 1: name \"A:\" is not a token"},
        {"CRLF in value", spec([](RequestSpec& s) { s.headers = {{"X", "a\r\nEvil: 1"}}; }),
         "header 1: value of X contains CR or LF"},
        {"NUL in value", spec([](RequestSpec& s) { s.headers = {{"X", std::string("a\0b", 3)}}; }),
         "header 1: value of X contains NUL"},
        {"CTL in value", spec([](RequestSpec& s) { s.headers = {{"X", "a\x7f"}}; }),
         "header 1: value of X contains a control character"},
        {"Content-Length", spec([](RequestSpec& s) { s.headers = {{"content-length", "3"}}; }),
         "header 1: content-length is not settable (Content-Length follows the body)"},
        {"Transfer-Encoding", spec([](RequestSpec& s) { s.headers = {{"Transfer-Encoding", "chunked"}}; }),
         "header 1: Transfer-Encoding is not settable (Content-Length follows the body)"},
        {"two Host", spec([](RequestSpec& s) { s.headers = {{"Host", "a"}, {"HOST", "b"}}; }),
         "header 2: a second Host field (RFC 9112 §3.2)"},
        {"empty Host override", spec([](RequestSpec& s) { s.headers = {{"Host", ""}}; }),
         "host is empty (the Host field is required, RFC 9112 §3.2)"},
    };
    for (const auto& c : cases) {
        std::string err;
        EXPECT_FALSE(check_request(c.s, err)) << c.what;
        EXPECT_EQ(err, c.err) << c.what;
    }
    RequestSpec opt;
    opt.method = "OPTIONS";
    opt.path = "*";
    opt.host = "h";
    std::string err;
    EXPECT_TRUE(check_request(opt, err)) << err;
    EXPECT_EQ(build_request(opt), "OPTIONS * HTTP/1.1\r\nHost: h\r\nUser-Agent: synwave\r\n\r\n");
}

TEST(Build, ResponseHead) {
    EXPECT_EQ(response_head(200, 64, true),
              "HTTP/1.1 200 OK\r\nServer: synwave\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n"
              "Connection: keep-alive\r\n\r\n");
    EXPECT_EQ(response_head(431, 0, false, {{"X-Reason", "too big"}}),
              "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: synwave\r\nContent-Type: text/plain\r\n"
              "Content-Length: 0\r\nX-Reason: too big\r\nConnection: close\r\n\r\n");
    // No Content-Length in a 204 (RFC 9110 §8.6).
    EXPECT_EQ(response_head(204, 0, true),
              "HTTP/1.1 204 No Content\r\nServer: synwave\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n\r\n");
    // Unknown code: an empty reason, the space kept (RFC 9112 §4).
    EXPECT_EQ(response_head(299, 1, true).substr(0, 15), "HTTP/1.1 299 \r\n");
}

TEST(Build, ReasonPhrases) {
    EXPECT_STREQ(reason_phrase(200), "OK");
    EXPECT_STREQ(reason_phrase(400), "Bad Request");
    EXPECT_STREQ(reason_phrase(404), "Not Found");
    EXPECT_STREQ(reason_phrase(413), "Content Too Large");  // RFC 9110's name (was Payload Too Large)
    EXPECT_STREQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_STREQ(reason_phrase(501), "Not Implemented");
    EXPECT_STREQ(reason_phrase(505), "HTTP Version Not Supported");
    EXPECT_STREQ(reason_phrase(0), "");
    EXPECT_STREQ(reason_phrase(999), "");
}

TEST(Build, ResponsesParse) {
    ResponseParser rp;
    for (const uint16_t status : {200, 400, 404, 413, 431, 500, 501, 505}) {
        for (const bool keep : {true, false}) {
            const std::string body(status == 200 ? 64 : 5, 'b');
            const std::string r = response_head(status, body.size(), keep) + body;
            ASSERT_TRUE(is(feed_response(rp, r), Progress::Done, len(r))) << status;
            EXPECT_EQ(rp.status(), status);
            EXPECT_EQ(rp.keep_alive(), keep);
            EXPECT_EQ(rp.body_bytes(), body.size());
        }
    }
    // The head of a HEAD answer: the same fields, no body.
    const std::string h = response_head(200, 64, true);
    EXPECT_TRUE(is(feed_response(rp, h, true), Progress::Done, len(h)));
}

}  // namespace
