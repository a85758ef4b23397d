// ResponseParser: the client's view of responses, framed each way RFC 9112 §6.3 lists, with persistence
// (§9.3), and wrong in each way it reports.
#include "http_test_util.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

using namespace synwave::http;
using namespace synwave::http::testutil;

namespace {

const std::string kOk = "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 5\r\n\r\nhello";

TEST(Response, ContentLength) {
    ResponseParser rp;
    rp.start(false);
    EXPECT_FALSE(rp.started());
    EXPECT_TRUE(is(rp.feed(bytes(kOk + "HTTP/1.1"), len(kOk) + 8), Progress::Done, len(kOk)));
    EXPECT_EQ(rp.status(), 200);
    EXPECT_TRUE(rp.keep_alive());
    EXPECT_TRUE(rp.headers_done());
    EXPECT_TRUE(rp.started());
    EXPECT_EQ(rp.body_bytes(), 5u);
    EXPECT_EQ(rp.error(), ParseError::None);
    EXPECT_TRUE(is(rp.feed(bytes(kOk), 4), Progress::Done, 0));  // until start()
    EXPECT_TRUE(is(rp.eof(), Progress::Done, 0));
}

TEST(Response, ByteByByte) {
    const std::string r = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "4\r\nabcd\r\n0\r\n\r\n";
    ResponseParser rp;
    rp.start(false);
    for (uint32_t i = 0; i < r.size(); ++i) {
        ASSERT_TRUE(is(rp.feed(bytes(r) + i, 1), i + 1 == r.size() ? Progress::Done : Progress::More, 1)) << i;
        EXPECT_EQ(rp.headers_done(), i + 1 >= r.find("\r\n\r\n") + 4) << i;
    }
    EXPECT_EQ(rp.status(), 404);
    EXPECT_EQ(rp.body_bytes(), 4u);
    // And every two-piece split.
    for (uint32_t cut = 0; cut < r.size(); ++cut) {
        rp.start(false);
        ASSERT_TRUE(is(rp.feed(bytes(r), cut), Progress::More, cut));
        ASSERT_TRUE(is(rp.feed(bytes(r) + cut, len(r) - cut), Progress::Done, len(r) - cut)) << cut;
        EXPECT_EQ(rp.body_bytes(), 4u);
    }
}

TEST(Response, ChunkedWithExtensionsAndTrailers) {
    const std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;name=value\r\nhello\r\n1;a;b=\"q\"\r\n!\r\n0\r\nExpires: never\r\nX-T: 1\r\n\r\n";
    ResponseParser rp;
    EXPECT_TRUE(is(feed_response(rp, r + "HTTP"), Progress::Done, len(r)));
    EXPECT_EQ(rp.body_bytes(), 6u);
    EXPECT_TRUE(rp.keep_alive());
    const std::string bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nX";
    EXPECT_TRUE(is(feed_response(rp, bad), Progress::Error, len(bad) - 1));
    EXPECT_EQ(rp.error(), ParseError::BadChunk);
    // Not HTTP_PARSER_STRICT (Debian's build): the two bytes after a chunk's data are not checked for CRLF.
    const std::string lax = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n";
    EXPECT_TRUE(is(feed_response(rp, lax), Progress::Done, len(lax)));
    EXPECT_EQ(rp.body_bytes(), 5u);
}

TEST(Response, CloseDelimited) {
    // HTTP/1.0 without a length: the body runs to the FIN (RFC 9112 §6.3 item 8).
    const std::string r = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body";
    ResponseParser rp;
    EXPECT_TRUE(is(feed_response(rp, r), Progress::More, len(r)));
    EXPECT_TRUE(rp.headers_done());
    EXPECT_EQ(rp.body_bytes(), 9u);
    EXPECT_TRUE(is(rp.eof(), Progress::Done, 0));
    EXPECT_FALSE(rp.keep_alive());
    EXPECT_EQ(rp.status(), 200);
    // The same in 1.1, and with a Transfer-Encoding that is not chunked.
    const std::string r11 = "HTTP/1.1 200 OK\r\n\r\nabc";
    EXPECT_TRUE(is(feed_response(rp, r11), Progress::More, len(r11)));
    EXPECT_TRUE(is(rp.eof(), Progress::Done, 0));
    EXPECT_EQ(rp.body_bytes(), 3u);
    const std::string gz = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabcd";
    EXPECT_TRUE(is(feed_response(rp, gz), Progress::More, len(gz)));
    EXPECT_TRUE(is(rp.eof(), Progress::Done, 0));
    EXPECT_EQ(rp.body_bytes(), 4u);
    EXPECT_FALSE(rp.keep_alive());
}

TEST(Response, EofInsideAMessage) {
    ResponseParser rp;
    const std::string mid_body = kOk.substr(0, kOk.size() - 2);
    EXPECT_TRUE(is(feed_response(rp, mid_body), Progress::More, len(mid_body)));
    EXPECT_TRUE(is(rp.eof(), Progress::Error, 0));
    EXPECT_EQ(rp.error(), ParseError::Truncated);
    const std::string mid_head = "HTTP/1.1 200 OK\r\nContent-Le";
    EXPECT_TRUE(is(feed_response(rp, mid_head), Progress::More, len(mid_head)));
    EXPECT_TRUE(is(rp.eof(), Progress::Error, 0));
    EXPECT_EQ(rp.error(), ParseError::Truncated);
    const std::string mid_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
    EXPECT_TRUE(is(feed_response(rp, mid_chunk), Progress::More, len(mid_chunk)));
    EXPECT_TRUE(is(rp.eof(), Progress::Error, 0));
    EXPECT_EQ(rp.error(), ParseError::Truncated);
    // Nothing of a response seen (empty lines do not count): the caller decides.
    rp.start(false);
    EXPECT_TRUE(is(rp.eof(), Progress::More, 0));
    EXPECT_TRUE(is(rp.feed(bytes("\r\n"), 2), Progress::More, 2));
    EXPECT_FALSE(rp.started());
    EXPECT_TRUE(is(rp.eof(), Progress::More, 0));
}

TEST(Response, NoBodyStatuses) {
    ResponseParser rp;
    // 204 and 304 end at their header section whatever their fields say (RFC 9112 §6.3 item 1).
    for (const char* r : {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                          "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                          "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                          "HTTP/1.1 204 No Content\r\n\r\n"}) {
        EXPECT_TRUE(is(feed_response(rp, std::string(r) + "HTTP/1.1 200"), Progress::Done, len(r))) << r;
        EXPECT_EQ(rp.body_bytes(), 0u);
        EXPECT_TRUE(rp.keep_alive()) << r;
    }
    // 1xx interim responses are passed over to the final one (RFC 9110 §15.2).
    const std::string r = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" + kOk;
    EXPECT_TRUE(is(feed_response(rp, r), Progress::Done, len(r)));
    EXPECT_EQ(rp.status(), 200);
    EXPECT_EQ(rp.interim(), 2);
    EXPECT_EQ(rp.body_bytes(), 5u);
    // Split right after the interim one.
    rp.start(false);
    EXPECT_TRUE(is(rp.feed(bytes(r), 25), Progress::More, 25));
    EXPECT_FALSE(rp.headers_done());
    EXPECT_EQ(rp.interim(), 1);
    EXPECT_TRUE(is(rp.feed(bytes(r) + 25, len(r) - 25), Progress::Done, len(r) - 25));
    EXPECT_EQ(rp.status(), 200);
    // A FIN after an interim response only: truncated.
    EXPECT_TRUE(is(feed_response(rp, "HTTP/1.1 100 Continue\r\n\r\n"), Progress::More, 25));
    EXPECT_TRUE(is(rp.eof(), Progress::Error, 0));
    EXPECT_EQ(rp.error(), ParseError::Truncated);
    // 101 is final: the connection leaves HTTP/1.1.
    const std::string up = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    EXPECT_TRUE(is(feed_response(rp, up + "\x81\x05"), Progress::Done, len(up)));
    EXPECT_EQ(rp.status(), 101);
    EXPECT_FALSE(rp.keep_alive());
}

TEST(Response, Head) {
    ResponseParser rp;
    const std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    EXPECT_TRUE(is(feed_response(rp, r + "HTTP/1.1 200 OK\r\n", true), Progress::Done, len(r)));
    EXPECT_EQ(rp.body_bytes(), 0u);
    EXPECT_TRUE(rp.keep_alive());
    const std::string c = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_TRUE(is(feed_response(rp, c, true), Progress::Done, len(c)));
    // No length at all: still no body, and the connection persists.
    const std::string n = "HTTP/1.1 200 OK\r\n\r\n";
    EXPECT_TRUE(is(feed_response(rp, n, true), Progress::Done, len(n)));
    EXPECT_TRUE(rp.keep_alive());
    // The same without HEAD waits for a body.
    EXPECT_TRUE(is(feed_response(rp, r, false), Progress::More, len(r)));
}

TEST(Response, StatusClassesAndPersistence) {
    ResponseParser rp;
    struct Case {
        std::string r;
        uint16_t status;
        bool keep;
    } cases[] = {
        {"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 201, true},
        {"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", 301, true},
        {"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404, true},
        {"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 503, false},
        {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 200, false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false},
        {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 200, true},
        {"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, true},  // no reason phrase (RFC 9112 §4)
        {"HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n", 599, true},
        {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", 200, true},  // bare LF, as in requests
    };
    for (const auto& c : cases) {
        ASSERT_TRUE(is(feed_response(rp, c.r), Progress::Done, len(c.r))) << c.r;
        EXPECT_EQ(rp.status(), c.status) << c.r;
        EXPECT_EQ(rp.keep_alive(), c.keep) << c.r;
    }
}

TEST(Response, Errors) {
    ResponseParser rp;
    struct Case {
        std::string r;
        ParseError want;
    } cases[] = {
        {"XTTP/1.1 200 OK\r\n\r\n", ParseError::BadStatusLine},
        {"GET / HTTP/1.1\r\n\r\n", ParseError::BadStatusLine},
        {"HTTP/1.1 2000 OK\r\n\r\n", ParseError::BadStatusLine},
        {"HTTP/1.1 099 OK\r\n\r\n", ParseError::BadStatusLine},
        {"HTTP/1.1 600 X\r\n\r\n", ParseError::BadStatusLine},
        {"HTTP/1.1 abc\r\n\r\n", ParseError::BadStatusLine},
        {"HTTP/2.0 200 OK\r\n\r\n", ParseError::BadVersion},
        {"HTTP/1.x 200 OK\r\n\r\n", ParseError::BadVersion},
        {"HTTP/1.1 200 OK\r\nBad\x01Name: x\r\n\r\n", ParseError::BadHeader},
        {"HTTP/1.1 200 OK\r\nX: a\x01\r\n\r\n", ParseError::BadHeader},
        {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", ParseError::BadContentLength},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", ParseError::BadContentLength},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nx\r\n", ParseError::BadChunk},
        {"HTTP/1.1 200 OK\r\nX: " + std::string(90 * 1024, 'a') + "\r\n\r\n", ParseError::HeaderTooLarge},
    };
    for (const auto& c : cases) {
        const Result r = feed_response(rp, c.r);
        EXPECT_EQ(r.p, Progress::Error) << c.r.substr(0, 60);
        EXPECT_LT(r.used, len(c.r));
        EXPECT_EQ(rp.error(), c.want) << c.r.substr(0, 60) << ": " << error_name(rp.error());
        EXPECT_TRUE(rp.started());
        EXPECT_TRUE(is(rp.feed(bytes(kOk), len(kOk)), Progress::Error, 0));
        EXPECT_TRUE(is(rp.eof(), Progress::Error, 0));
    }
    // What the client lets through from Debian's non-strict http_parser (a load generator need not police
    // its server): any letters for "TTP/" after the 'H', a space in a field name, any byte for the LF after
    // the status line's CR.
    for (const std::string r : {"HXYZ/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                                "HTTP/1.1 200 OK\rXContent-Length: 0\r\n\r\n",
                                "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"}) {
        EXPECT_TRUE(is(feed_response(rp, r), Progress::Done, len(r))) << r;
        EXPECT_EQ(rp.status(), 200);
    }
    // After start() the parser is good again.
    EXPECT_TRUE(is(feed_response(rp, kOk), Progress::Done, len(kOk)));
}

TEST(Response, BackToBackOnOneConnection) {
    const std::string two = kOk + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
    ResponseParser rp;
    rp.start(false);
    const Result a = rp.feed(bytes(two), len(two));
    ASSERT_TRUE(is(a, Progress::Done, len(kOk)));
    rp.start(false);
    const Result b = rp.feed(bytes(two) + a.used, len(two) - a.used);
    EXPECT_TRUE(is(b, Progress::Done, len(two) - a.used));
    EXPECT_EQ(rp.body_bytes(), 2u);
}

}  // namespace
