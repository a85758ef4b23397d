// RequestParser: the server's view of requests (RFC 9112 §3, §6, §9.3), whole, split at every byte,
// pipelined, and wrong in each way the server answers differently.
#include "http/fast.hpp"
#include "http_test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

using namespace synwave::http;
using namespace synwave::http::testutil;

namespace {

constexpr std::string_view kGet = "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";

TEST(Request, SimpleGet) {
    RequestParser rp;
    EXPECT_TRUE(is(feed_request(rp, kGet), Progress::Done, len(kGet)));
    EXPECT_EQ(rp.method(), Method::Get);
    EXPECT_EQ(rp.version_minor(), 1);
    EXPECT_TRUE(rp.keep_alive());
    EXPECT_TRUE(rp.has_host());
    EXPECT_TRUE(rp.headers_done());
    EXPECT_FALSE(rp.idle());
    EXPECT_EQ(rp.route(), -1);
    EXPECT_EQ(rp.error(), ParseError::None);
    EXPECT_EQ(rp.body_bytes(), 0u);
    // Done holds until start(): nothing more is taken.
    EXPECT_TRUE(is(rp.feed(no_routes(), {}, bytes(kGet), len(kGet)), Progress::Done, 0));
}

TEST(Request, IdleUntilTheFirstByteOfAMethod) {
    RequestParser rp;
    rp.start();
    EXPECT_TRUE(rp.idle());
    EXPECT_TRUE(is(rp.eof(), Progress::More, 0));  // nothing started: the caller just closes
    // Empty lines before a request are skipped (RFC 9112 §2.2) and leave it idle.
    EXPECT_TRUE(is(rp.feed(no_routes(), {}, bytes("\r\n\r\n"), 4), Progress::More, 4));
    EXPECT_TRUE(rp.idle());
    EXPECT_TRUE(is(rp.feed(no_routes(), {}, bytes("G"), 1), Progress::More, 1));
    EXPECT_FALSE(rp.idle());
    EXPECT_TRUE(is(rp.eof(), Progress::Error, 0));
    EXPECT_EQ(rp.error(), ParseError::Truncated);
}

// Every split of a request with fields and a body into two feeds, and the whole of it byte by byte.
TEST(Request, EverySplitPoint) {
    const std::string req = "POST /upload?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 11\r\n\r\nhello world";
    Routes routes{{"/upload", "/up"}};
    for (uint32_t cut = 0; cut <= req.size(); ++cut) {
        RequestParser rp;
        rp.start();
        const Result a = rp.feed(routes, {}, bytes(req), cut);
        ASSERT_TRUE(is(a, cut == req.size() ? Progress::Done : Progress::More, cut)) << "cut " << cut;
        if (cut < req.size()) {
            const Result b = rp.feed(routes, {}, bytes(req) + cut, len(req) - cut);
            ASSERT_TRUE(is(b, Progress::Done, len(req) - cut)) << "cut " << cut;
        }
        EXPECT_EQ(rp.method(), Method::Post);
        EXPECT_EQ(rp.route(), 0) << "cut " << cut;
        EXPECT_TRUE(rp.has_host()) << "cut " << cut;
        EXPECT_EQ(rp.body_bytes(), 11u);
    }
    RequestParser rp;
    rp.start();
    for (uint32_t i = 0; i < req.size(); ++i) {
        const Result r = rp.feed(routes, {}, bytes(req) + i, 1);
        ASSERT_TRUE(is(r, i + 1 == req.size() ? Progress::Done : Progress::More, 1)) << "byte " << i;
    }
    EXPECT_EQ(rp.route(), 0);
    EXPECT_TRUE(rp.has_host());
    EXPECT_TRUE(rp.keep_alive());
    EXPECT_EQ(rp.body_bytes(), 11u);
}

TEST(Request, PipelinedThreeInOneBuffer) {
    const std::string a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string b = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
    const std::string c = "HEAD /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    const std::string all = a + b + c;
    Routes routes{{"/c", "/b", "/a"}};
    RequestParser rp;
    uint32_t off = 0;
    std::vector<uint32_t> used;
    std::vector<Method> methods;
    std::vector<int> route;
    std::vector<bool> keep;
    while (off < all.size()) {
        rp.start();
        const Result r = rp.feed(routes, {}, bytes(all) + off, len(all) - off);
        ASSERT_EQ(r.p, Progress::Done);
        used.push_back(r.used);
        methods.push_back(rp.method());
        route.push_back(rp.route());
        keep.push_back(rp.keep_alive());
        off += r.used;
    }
    EXPECT_EQ(used, (std::vector<uint32_t>{len(a), len(b), len(c)}));
    EXPECT_EQ(off, all.size());
    EXPECT_EQ(methods, (std::vector<Method>{Method::Get, Method::Post, Method::Head}));
    EXPECT_EQ(route, (std::vector<int>{2, 1, 0}));
    EXPECT_EQ(keep, (std::vector<bool>{true, true, false}));
}

TEST(Request, MethodsAndHead) {
    RequestParser rp;
    const std::pair<const char*, Method> cases[] = {
        {"GET", Method::Get},       {"HEAD", Method::Head},       {"POST", Method::Post},
        {"PUT", Method::Put},       {"DELETE", Method::Delete},   {"OPTIONS", Method::Options},
        {"PATCH", Method::Other},   {"TRACE", Method::Other},     {"PROPFIND", Method::Other},
    };
    for (const auto& [name, m] : cases) {
        const std::string req = std::string(name) + " / HTTP/1.1\r\nHost: h\r\n\r\n";
        EXPECT_TRUE(is(feed_request(rp, req), Progress::Done, len(req))) << name;
        EXPECT_EQ(rp.method(), m) << name;
    }
    // HEAD with a Content-Length: a request's body is framed by its own fields whatever the method.
    const std::string head = "HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab";
    EXPECT_TRUE(is(feed_request(rp, head), Progress::Done, len(head)));
    EXPECT_EQ(rp.body_bytes(), 2u);
}

TEST(Request, ChunkedBody) {
    const std::string req = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer-X: y\r\n\r\n";
    RequestParser rp;
    EXPECT_TRUE(is(feed_request(rp, req + "GET"), Progress::Done, len(req)));
    EXPECT_EQ(rp.body_bytes(), 11u);
    EXPECT_TRUE(rp.keep_alive());
    // A bad chunk size.
    const std::string bad = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    EXPECT_EQ(feed_request(rp, bad).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BadChunk);
    // Transfer-Encoding not ending in chunked cannot be framed (RFC 9112 §6.3 item 4).
    const std::string te = "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n";
    EXPECT_EQ(feed_request(rp, te).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BadHeader);
    // Content-Length with chunked, and two Content-Length fields: refused.
    const std::string both = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_EQ(feed_request(rp, both).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BadContentLength);
    const std::string two = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc";
    EXPECT_EQ(feed_request(rp, two).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BadContentLength);
    const std::string neg = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n";
    EXPECT_EQ(feed_request(rp, neg).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BadContentLength);
}

// RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
TEST(Request, Persistence) {
    RequestParser rp;
    struct Case {
        const char* req;
        bool keep;
        uint8_t minor;
    } cases[] = {
        {"GET / HTTP/1.0\r\n\r\n", false, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 0},
        {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true, 0},
        {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true, 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false, 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n", false, 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n", false, 1},
        {"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", true, 1},
        {"GET / HTTP/1.2\r\nHost: h\r\n\r\n", true, 1},  // a later 1.x is read as 1.1 (RFC 9112 §2.3)
    };
    for (const auto& c : cases) {
        ASSERT_EQ(feed_request(rp, c.req).p, Progress::Done) << c.req;
        EXPECT_EQ(rp.keep_alive(), c.keep) << c.req;
        EXPECT_EQ(rp.version_minor(), c.minor) << c.req;
    }
}

TEST(Request, Host) {
    RequestParser rp;
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n").p, Progress::Done);
    EXPECT_FALSE(rp.has_host());  // the server answers 400 (RFC 9112 §3.2)
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.0\r\n\r\n").p, Progress::Done);
    EXPECT_FALSE(rp.has_host());
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.1\r\nhOsT: x\r\n\r\n").p, Progress::Done);
    EXPECT_TRUE(rp.has_host());
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.1\r\nHost:\r\n\r\n").p, Progress::Done);
    EXPECT_TRUE(rp.has_host());  // empty is allowed (RFC 9112 §3.2), present is what counts
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.1\r\nHosts: x\r\nHos: y\r\nX-Host: z\r\nhost-x: w\r\n\r\n").p,
              Progress::Done);
    EXPECT_FALSE(rp.has_host());
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.1\r\nX: host\r\nHost: a\r\n\r\n").p, Progress::Done);
    EXPECT_TRUE(rp.has_host());
    EXPECT_EQ(feed_request(rp, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BadHeader);  // two Host fields: 400 (RFC 9112 §3.2)
    // The name split across feeds at every point.
    const std::string req = "GET / HTTP/1.1\r\nA: b\r\nHost: x\r\n\r\n";
    for (uint32_t cut = 17; cut < 30; ++cut) {
        rp.start();
        ASSERT_EQ(rp.feed(no_routes(), {}, bytes(req), cut).p, Progress::More);
        ASSERT_EQ(rp.feed(no_routes(), {}, bytes(req) + cut, len(req) - cut).p, Progress::Done);
        EXPECT_TRUE(rp.has_host()) << cut;
    }
    const std::string not_host = "GET / HTTP/1.1\r\nHostx: x\r\n\r\n";
    for (uint32_t cut = 17; cut < 22; ++cut) {
        rp.start();
        ASSERT_EQ(rp.feed(no_routes(), {}, bytes(not_host), cut).p, Progress::More);
        ASSERT_EQ(rp.feed(no_routes(), {}, bytes(not_host) + cut, len(not_host) - cut).p, Progress::Done);
        EXPECT_FALSE(rp.has_host()) << cut;
    }
}

TEST(Request, HeaderTooLarge) {
    const RequestLimits lim{64, 1 << 20};
    RequestParser rp;
    // Exactly 64 bytes of header section passes; 65 does not.
    std::string ok = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
    ok += std::string(64 - ok.size() - 4, 'a') + "\r\n\r\n";
    ASSERT_EQ(ok.size(), 64u);
    EXPECT_TRUE(is(feed_request(rp, ok, no_routes(), lim), Progress::Done, 64));
    std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
    big += std::string(65 - big.size() - 4, 'a') + "\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, big, no_routes(), lim), Progress::Error, 64));
    EXPECT_EQ(rp.error(), ParseError::HeaderTooLarge);
    // Split in the middle: the first part is within the limit, the second crosses it.
    for (uint32_t cut : {10u, 32u, 63u, 64u}) {
        rp.start();
        EXPECT_TRUE(is(rp.feed(no_routes(), lim, bytes(big), cut), Progress::More, cut)) << cut;
        const Result r = rp.feed(no_routes(), lim, bytes(big) + cut, len(big) - cut);
        EXPECT_TRUE(is(r, Progress::Error, 64 - cut)) << cut;
        EXPECT_EQ(rp.error(), ParseError::HeaderTooLarge);
        EXPECT_TRUE(is(rp.feed(no_routes(), lim, bytes(big), 1), Progress::Error, 0));  // sticks until start()
    }
    // The body does not count toward it.
    const std::string post = "POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b');
    EXPECT_TRUE(is(feed_request(rp, post, no_routes(), lim), Progress::Done, len(post)));
    // A flood of empty lines is header bytes too (no endless idle stream).
    const std::string crlf(200, '\n');
    EXPECT_TRUE(is(feed_request(rp, crlf, no_routes(), lim), Progress::Error, 64));
    EXPECT_EQ(rp.error(), ParseError::HeaderTooLarge);
    // Beyond http_parser's own 80 KiB (HTTP_MAX_HEADER_SIZE) its limit answers first, with the same verdict.
    const RequestLimits huge{1u << 20, 1 << 20};
    const std::string long_req = "GET / HTTP/1.1\r\nX: " + std::string(90 * 1024, 'a') + "\r\n\r\n";
    EXPECT_EQ(feed_request(rp, long_req, no_routes(), huge).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::HeaderTooLarge);
}

TEST(Request, BodyTooLarge) {
    const RequestLimits lim{8192, 10};
    RequestParser rp;
    const std::string at = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789";
    EXPECT_TRUE(is(feed_request(rp, at, no_routes(), lim), Progress::Done, len(at)));
    // A declared length over the limit: refused at the end of the header section, before any body byte.
    const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";
    const Result r = feed_request(rp, head + "01234567890", no_routes(), lim);
    EXPECT_EQ(r.p, Progress::Error);
    EXPECT_EQ(r.used, len(head) - 1);  // http_parser stops at the header section's last LF
    EXPECT_EQ(rp.error(), ParseError::BodyTooLarge);
    EXPECT_TRUE(rp.headers_done());
    // Chunked: counted as it arrives.
    const std::string chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n";
    EXPECT_EQ(feed_request(rp, chunked, no_routes(), lim).p, Progress::Error);
    EXPECT_EQ(rp.error(), ParseError::BodyTooLarge);
    EXPECT_EQ(rp.body_bytes(), 11u);
}

TEST(Request, UnknownMethodAndGarbage) {
    RequestParser rp;
    struct Case {
        std::string req;
        ParseError want;
        uint32_t used;
    } cases[] = {
        {"FOO / HTTP/1.1\r\n\r\n", ParseError::UnknownMethod, 0},  // 'F' starts no method http_parser knows
        {"GETX / HTTP/1.1\r\n\r\n", ParseError::UnknownMethod, 3},
        {"GE / HTTP/1.1\r\n\r\n", ParseError::UnknownMethod, 2},
        {"get / HTTP/1.1\r\n\r\n", ParseError::UnknownMethod, 0},  // methods are case-sensitive (RFC 9110 §9.1)
        {std::string("\x16\x03\x01\x02\x00", 5), ParseError::BadRequestLine, 0},  // a TLS ClientHello
        {" GET / HTTP/1.1\r\n\r\n", ParseError::BadRequestLine, 0},
        {"GET\t/ HTTP/1.1\r\n\r\n", ParseError::BadRequestLine, 3},
        {"GET / HTTP/1.1 \r\n\r\n", ParseError::BadVersion, 14},
        {"GET / XTTP/1.1\r\n\r\n", ParseError::BadRequestLine, 6},
        {"GET / HTTP/x.1\r\n\r\n", ParseError::BadVersion, 11},
        {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", ParseError::BadVersion, 26},
        {"GET /\r\n\r\n", ParseError::BadVersion, 8},                  // HTTP/0.9: not served
        {"GET /a b HTTP/1.1\r\n\r\n", ParseError::BadRequestLine, 7},  // a space in the target
        {"GET /\x01 HTTP/1.1\r\n\r\n", ParseError::BadRequestLine, 5},  // a CTL in the target
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", ParseError::BadHeader, 22},  // RFC 9112 §5.1 (at the ':')
        {"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", ParseError::BadHeader, 20},
        {"GET / HTTP/1.1\r\n: v\r\n\r\n", ParseError::BadHeader, 16},
        {"GET / HTTP/1.1\r\nX-A\x01: h\r\n\r\n", ParseError::BadHeader, 19},
    };
    for (const auto& c : cases) {
        const Result r = feed_request(rp, c.req);
        EXPECT_TRUE(is(r, Progress::Error, c.used)) << c.req;
        EXPECT_EQ(rp.error(), c.want) << c.req << ": " << error_name(rp.error());
        EXPECT_FALSE(rp.idle());
    }
}

// What http_parser lets through, pinned so a change of library version shows.
TEST(Request, LenientInputs) {
    RequestParser rp;
    // Bare LF line ends (RFC 9112 §2.2: a recipient MAY accept them).
    const std::string lf = "GET /x HTTP/1.1\nHost: h\nConnection: close\n\n";
    EXPECT_TRUE(is(feed_request(rp, lf, Routes{{"/x"}}), Progress::Done, len(lf)));
    EXPECT_TRUE(rp.has_host());
    EXPECT_FALSE(rp.keep_alive());
    EXPECT_EQ(rp.route(), 0);
    // obs-fold: the continuation line belongs to the value.
    const std::string fold = "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, fold), Progress::Done, len(fold)));
    // Empty lines before the request line.
    const std::string pre = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, pre), Progress::Done, len(pre)));
    // Debian's build is not HTTP_PARSER_STRICT, so the checks that mode adds are off:
    //  - the letters of "HTTP/" in the version: any four bytes after the 'H' pass;
    const std::string version = "GET / HXYZW1.1\r\nHost: h\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, version), Progress::Done, len(version)));
    EXPECT_EQ(rp.version_minor(), 1);
    //  - the CRLF after a chunk's data: any two bytes are taken for it, so a bare LF there is not a line end
    //    but the first of those two bytes, and the next chunk-size line fails;
    const std::string crlf = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, crlf), Progress::Done, len(crlf)));
    EXPECT_EQ(rp.body_bytes(), 3u);
    const std::string ch = "POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n";
    EXPECT_TRUE(is(feed_request(rp, ch), Progress::Error, 53));
    EXPECT_EQ(rp.error(), ParseError::BadChunk);
    //  - bytes over 0x7F in the request-target (RFC 3986 wants them percent-encoded);
    const std::string utf8 = "GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, utf8, Routes{{"/\xc3\xa9"}}), Progress::Done, len(utf8)));
    EXPECT_EQ(rp.route(), 0);
    //  - a space in a field name, which RequestParser refuses itself (RFC 9112 §5.1); see UnknownMethodAndGarbage.
    // A bare CR in a field line is refused (RFC 9112 §2.2).
    const std::string cr = "GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n";
    EXPECT_TRUE(is(feed_request(rp, cr), Progress::Error, 24));
    EXPECT_EQ(rp.error(), ParseError::BadHeader);
}

TEST(Request, Routes) {
    const Routes routes{{"/", "/api", "/api/v1", "/static/app.js"}};
    RequestParser rp;
    struct Case {
        const char* target;
        int route;
    } cases[] = {
        {"/", 0},
        {"/api", 1},
        {"/api/v1", 2},
        {"/api/", -1},  // exact only: no prefix, no trailing-slash folding
        {"/ap", -1},
        {"/api/v12", -1},
        {"/API", -1},
        {"/api?x=1", 1},  // the query is not the path
        {"/api#frag", 1},
        {"/?", 0},
        {"/static/app.js?v=3", 3},
        {"/static/app.jsx", -1},
        {"http://example.com/api", 1},  // absolute-form (RFC 9112 §3.2.2)
        {"http://example.com:8080/api/v1?q", 2},
        {"http://example.com", 0},  // an empty path is "/"
        {"http://example.com?q", 0},
        {"http://example.com/apix", -1},
    };
    for (const auto& c : cases) {
        const std::string req = std::string("GET ") + c.target + " HTTP/1.1\r\nHost: h\r\n\r\n";
        ASSERT_TRUE(is(feed_request(rp, req, routes), Progress::Done, len(req))) << c.target;
        EXPECT_EQ(rp.route(), c.route) << c.target;
    }
    // The target split at every byte.
    const std::string req = "GET /api/v1?a=b HTTP/1.1\r\nHost: h\r\n\r\n";
    for (uint32_t cut = 1; cut < 20; ++cut) {
        rp.start();
        ASSERT_EQ(rp.feed(routes, {}, bytes(req), cut).p, Progress::More);
        ASSERT_EQ(rp.feed(routes, {}, bytes(req) + cut, len(req) - cut).p, Progress::Done);
        EXPECT_EQ(rp.route(), 2) << cut;
    }
    // Duplicate paths: the first wins. More than kMax paths: only the first kMax are matched.
    const Routes dup{{"/a", "/a"}};
    ASSERT_EQ(feed_request(rp, "GET /a HTTP/1.1\r\n\r\n", dup).p, Progress::Done);
    EXPECT_EQ(rp.route(), 0);
    Routes many;
    for (uint32_t i = 0; i < Routes::kMax + 2; ++i) many.paths.push_back("/r" + std::to_string(i));
    ASSERT_EQ(feed_request(rp, "GET /r31 HTTP/1.1\r\n\r\n", many).p, Progress::Done);
    EXPECT_EQ(rp.route(), 31);
    ASSERT_EQ(feed_request(rp, "GET /r32 HTTP/1.1\r\n\r\n", many).p, Progress::Done);
    EXPECT_EQ(rp.route(), -1);
    // No routes at all.
    ASSERT_EQ(feed_request(rp, "GET / HTTP/1.1\r\n\r\n").p, Progress::Done);
    EXPECT_EQ(rp.route(), -1);
    // OPTIONS * and CONNECT's authority-form match nothing.
    ASSERT_EQ(feed_request(rp, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", routes).p, Progress::Done);
    EXPECT_EQ(rp.route(), -1);
    EXPECT_EQ(rp.method(), Method::Options);
    ASSERT_EQ(feed_request(rp, "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", routes).p, Progress::Done);
    EXPECT_EQ(rp.route(), -1);
    EXPECT_EQ(rp.method(), Method::Other);
}

TEST(Request, UpgradeIsAnOrdinaryRequestToUs) {
    // http_parser flags an Upgrade request and stops after its header section; we answer it as HTTP/1.1.
    const std::string req = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    RequestParser rp;
    EXPECT_TRUE(is(feed_request(rp, req + "GET / HTTP/1.1\r\n\r\n"), Progress::Done, len(req)));
    EXPECT_EQ(rp.method(), Method::Get);
    rp.start();
    EXPECT_TRUE(is(rp.feed(no_routes(), {}, bytes("GET / HTTP/1.1\r\n\r\n"), 18), Progress::Done, 18));
}

// The fast scan's field-name end (sixteen bytes at a time over letters, digits and '-', then the tchar table):
// every byte value at every offset of a 40-byte name, so each lane of the first, second and third block is
// tried. A head is taken fast exactly when the name is all tchar (RFC 9110 §5.6.2) or a ':' ends it early.
TEST(Request, FastScanFieldNameEveryByteAtEveryOffset) {
    const std::string base = "X-Synwave-Long-Field-Name-0123456789-abc";  // 40 bytes, no special prefix
    ASSERT_EQ(base.size(), 40u);
    for (size_t at = 0; at < base.size(); ++at) {
        for (unsigned b = 0; b < 256; ++b) {
            std::string name = base;
            name[at] = static_cast<char>(b);
            const std::string req = "GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n";
            fast::RequestHead h;
            const bool fast = fast::scan_request(bytes(req), len(req), no_routes(), {}, h);
            const bool want = b == ':' ? at > 0 : is_tchar(static_cast<uint8_t>(b));
            ASSERT_EQ(fast, want) << "byte " << b << " at " << at;
            if (fast) {
                EXPECT_EQ(h.head_len, len(req));
            }
        }
    }
}

// RFC 9110 §10.1.1: "Expect: 100-continue" on an HTTP/1.1 request with content, whole (the fast scan) and a
// byte at a time (http_parser's path), which must agree.
TEST(Request, ExpectContinue) {
    struct Case {
        std::string fields;
        bool minor1, want;
    };
    const Case cases[] = {
        {"Expect: 100-continue\r\n", true, true},
        {"expect: 100-Continue\r\n", true, true},
        {"Expect:  100-CONTINUE \t\r\n", true, true},
        {"Expect: 100-continue\r\n", false, false},     // HTTP/1.0: ignored
        {"Expect: 100-continue, x\r\n", true, false},   // another expectation with it: not ours to meet
        {"Expect: 100-continues\r\n", true, false},
        {"Expect: 100-continu\r\n", true, false},
        {"Expect: 101-continue\r\n", true, false},
        {"Expect: 100 continue\r\n", true, false},
        {"Expectation: 100-continue\r\n", true, false},
        {"Expec: 100-continue\r\n", true, false},
        {"X-Expect: 100-continue\r\n", true, false},
        {"Expect: foo\r\nExpect: 100-continue\r\n", true, true},
        {"Expect: 100-continue\r\nExpect: 100-continue\r\n", true, true},
        {"Accept: 100-continue\r\n", true, false},
        {"", true, false},
    };
    for (const Case& c : cases) {
        const std::string head = std::string("POST /up HTTP/1.") + (c.minor1 ? "1" : "0") + "\r\nHost: h\r\n" + c.fields +
                                 "Content-Length: 3\r\n\r\n";
        for (const bool byte_at_a_time : {false, true}) {
            SCOPED_TRACE(testing::Message() << c.fields << (byte_at_a_time ? " (a byte at a time)" : " (whole)"));
            RequestParser rp;
            rp.start();
            if (byte_at_a_time) {
                for (size_t i = 0; i < head.size(); ++i)
                    ASSERT_TRUE(is(rp.feed(no_routes(), {}, bytes(head) + i, 1), Progress::More, 1));
            } else {
                ASSERT_TRUE(is(feed_request(rp, head), Progress::More, len(head)));
            }
            ASSERT_TRUE(rp.headers_done());
            EXPECT_EQ(rp.expects_continue(), c.want);
            rp.continue_sent();
            EXPECT_FALSE(rp.expects_continue());
            EXPECT_TRUE(is(rp.feed(no_routes(), {}, bytes("abc"), 3), Progress::Done, 3));
            rp.start();
            EXPECT_FALSE(rp.expects_continue());
        }
    }
    // In a trailer section (after a chunked body), an Expect field expects nothing.
    const std::string chunked = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "0\r\nExpect: 100-continue\r\nX: y\r\n\r\n";
    RequestParser rp;
    rp.start();
    for (size_t i = 0; i + 1 < chunked.size(); ++i) {
        ASSERT_TRUE(is(rp.feed(no_routes(), {}, bytes(chunked) + i, 1), Progress::More, 1)) << i;
        EXPECT_FALSE(rp.expects_continue()) << i;
    }
    EXPECT_TRUE(is(rp.feed(no_routes(), {}, bytes(chunked) + chunked.size() - 1, 1), Progress::Done, 1));
    EXPECT_FALSE(rp.expects_continue());
}

TEST(Request, ErrorNames) {
    EXPECT_STREQ(error_name(ParseError::None), "none");
    EXPECT_STREQ(error_name(ParseError::BadStatusLine), "bad_status_line");
    EXPECT_STREQ(error_name(ParseError::HeaderTooLarge), "header_too_large");
    EXPECT_STREQ(error_name(ParseError::UnknownMethod), "unknown_method");
    EXPECT_STREQ(error_name(ParseError::Other), "other");
    std::vector<std::string> names;
    for (int i = 0; i < kParseErrors; ++i) {
        const std::string n = error_name(static_cast<ParseError>(i));
        for (const char ch : n) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_') << n;
        for (const auto& m : names) EXPECT_NE(n, m);
        names.push_back(n);
    }
}

}  // namespace
