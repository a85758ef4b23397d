// What engine::Server answers to the bytes a raw client sends (RFC 9112): requests split to single bytes,
// pipelined requests answered in order, HEAD, methods it does not serve, HTTP/1.1 without Host, malformed and
// oversized requests, HTTP/1.0 and Connection: close in keep-alive mode, and a full slot pool. The client side
// is a tcp::App that sends chunks one segment each, as written, over a real tcp::Stack.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/apps.hpp"

using namespace synwave;
using namespace synwave::engine;

namespace {

constexpr Ipv4 kServer{0x0A00'0001}, kClient{0x0A01'0001};

struct Conv {
    std::vector<std::string> chunks;  // each sent once the previous one is acknowledged
    std::string gate;                 // if set, chunks after the first wait until this much has arrived
    bool waiting = false;             // the previous chunk is acknowledged, the gate not yet open
    size_t next = 0;
    uint32_t conn = 0;
    std::string got;
    bool fin = false, closed = false, aborted = false;
};

class RawClient final : public tcp::App {
public:
    std::vector<Conv> convs;
    void on_event(tcp::Stack& st, const tcp::Event& ev) override {
        Conv& c = convs[ev.user];
        switch (ev.kind) {
        case tcp::EventKind::Connected: c.conn = ev.conn; [[fallthrough]];
        case tcp::EventKind::SendDone:
            c.waiting = c.next > 0 && !c.gate.empty() && c.got.find(c.gate) == std::string::npos;
            if (!c.waiting) send_next(st, c);
            break;
        case tcp::EventKind::Data:
            c.got.append(reinterpret_cast<const char*>(ev.data), ev.len);
            if (c.waiting && c.got.find(c.gate) != std::string::npos) {
                c.waiting = false;
                send_next(st, c);
            }
            break;
        case tcp::EventKind::PeerFin:
            c.fin = true;
            st.close(ev.conn);
            break;
        case tcp::EventKind::Closed: c.closed = true; break;
        case tcp::EventKind::Aborted: c.aborted = true; break;
        case tcp::EventKind::Accepted: break;
        }
    }
    static void send_next(tcp::Stack& st, Conv& c) {
        if (c.next >= c.chunks.size() || c.fin) return;
        const std::string& s = c.chunks[c.next++];
        EXPECT_TRUE(st.send(c.conn, reinterpret_cast<const uint8_t*>(s.data()), static_cast<uint32_t>(s.size())));
    }
};

class HttpServerTest : public ::testing::Test {
protected:
    // Opens one connection per conversation and runs until both sides are quiet for `ms` milliseconds.
    void run(ServerConfig cfg, std::vector<std::vector<std::string>> chunks, uint32_t ms = 200,
             const std::string& gate = {}, uint16_t server_mss = 0) {
        tcp::StackConfig st;
        st.max_conns = 64;
        st.max_timewait = 64;
        tcp::StackConfig server_st = st;
        if (server_mss != 0) server_st.mss = server_mss;
        const TscRate rate{1'000'000'000};
        server = std::make_unique<Server>(cfg);
        sst = std::make_unique<tcp::Stack>(server_st, rate, now, tcp::Secrets{{1, 2}, {3, 4}, {5, 6}}, server.get());
        cst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{7, 8}, {9, 10}, {11, 12}}, &raw);
        server->set_slots(st.max_conns);
        sst->listen(80);
        raw.convs.clear();
        for (auto& c : chunks) raw.convs.push_back(Conv{std::move(c), gate});
        for (uint32_t i = 0; i < raw.convs.size(); ++i) {
            uint32_t conn = 0;
            ASSERT_EQ(cst->connect(kClient, static_cast<uint16_t>(40000 + i), kServer, 80, i, now, &conn),
                      tcp::Stack::ConnectResult::Ok);
        }
        for (uint32_t t = 0; t < ms; ++t) {
            now += Duration{1'000'000};
            cst->poll(now);
            sst->poll(now);
            for (int rounds = 0; rounds < 64; ++rounds) {
                auto a = std::move(cst->out());
                cst->out().clear();
                auto b = std::move(sst->out());
                sst->out().clear();
                if (a.empty() && b.empty()) break;
                for (const auto& o : a) sst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
                for (const auto& o : b) cst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            }
        }
    }
    static size_t count(const std::string& s, const std::string& what) {
        size_t n = 0;
        for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
        return n;
    }
    static std::vector<std::string> bytes_of(const std::string& s) {
        std::vector<std::string> v;
        for (char ch : s) v.emplace_back(1, ch);
        return v;
    }
    ServerConfig keepalive() {
        ServerConfig s;
        s.keepalive = true;
        s.body_bytes = 16;
        return s;
    }
    Instant now{5'000'000'000};
    RawClient raw;
    std::unique_ptr<Server> server;
    std::unique_ptr<tcp::Stack> sst, cst;
};

const std::string kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

TEST_F(HttpServerTest, ARequestSentByteByByteGetsOneResponse) {
    run(keepalive(), {bytes_of(kGet)}, 3000);  // each byte waits for its (delayed) ACK
    const std::string& got = raw.convs[0].got;
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_EQ(count(got, "HTTP/1.1"), 1u);
    EXPECT_NE(got.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_EQ(server->c.requests_received, 1u);
    EXPECT_FALSE(raw.convs[0].fin);  // kept open
}

// RFC 9112 §9.3.2: pipelined requests are answered in the order received.
TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
    ServerConfig s = keepalive();
    s.routes = {HttpRoute{"/a", 200, "A", {}}, HttpRoute{"/b", 404, "B", {}}, HttpRoute{"/c", 503, "C", {}}};
    run(s, {{"GET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"}});
    const std::string& got = raw.convs[0].got;
    const size_t c = got.find("HTTP/1.1 503"), a = got.find("HTTP/1.1 200"), b = got.find("HTTP/1.1 404");
    ASSERT_NE(c, std::string::npos) << got;
    ASSERT_NE(a, std::string::npos) << got;
    ASSERT_NE(b, std::string::npos) << got;
    EXPECT_LT(c, a);
    EXPECT_LT(a, b);
    EXPECT_EQ(count(got, "HTTP/1.1 "), 3u);
    EXPECT_EQ(server->c.responses_sent, 3u);
    EXPECT_EQ(server->c.responses_queued, 2u);  // two waited for the one before them
    EXPECT_EQ(server->c.http_no_slot, 0u);
}

// More pipelined requests than the queue holds (one in flight and 16 waiting): those 17 are answered, the last
// of them with Connection: close, then a FIN; the rest go unanswered for the client to retry (RFC 9112 §9.3.2),
// and nothing is reset.
TEST_F(HttpServerTest, PipeliningBeyondTheQueueClosesAfterWhatFits) {
    std::string burst;
    for (int i = 0; i < 40; ++i) burst += kGet;
    run(keepalive(), {{burst}}, 3000);  // one response per (delayed) ACK
    const std::string& got = raw.convs[0].got;
    EXPECT_EQ(count(got, "HTTP/1.1 200 OK\r\n"), 17u) << got;
    EXPECT_EQ(count(got, "Connection: keep-alive\r\n"), 16u);
    EXPECT_EQ(count(got, "Connection: close\r\n"), 1u);
    EXPECT_GT(got.rfind("Connection: close\r\n"), got.rfind("Connection: keep-alive\r\n"));
    EXPECT_TRUE(raw.convs[0].fin);
    EXPECT_FALSE(raw.convs[0].aborted);
    EXPECT_EQ(server->c.responses_sent, 17u);
    EXPECT_EQ(server->c.http_no_slot, 1u);
    EXPECT_EQ(server->c.http_ignored_bytes, 23 * kGet.size());
}

// RFC 9110 §9.3.2: HEAD gets the GET's fields, Content-Length included, and no body.
TEST_F(HttpServerTest, HeadHasTheLengthButNoBody) {
    run(keepalive(), {{"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"}});
    const std::string& got = raw.convs[0].got;
    EXPECT_NE(got.find("Content-Length: 16\r\n"), std::string::npos) << got;
    EXPECT_EQ(got.size(), got.find("\r\n\r\n") + 4);  // nothing after the header section
}

TEST_F(HttpServerTest, UnknownMethodGets501AndMissingHostGets400) {
    run(keepalive(), {{"FOO / HTTP/1.1\r\nHost: x\r\n\r\n"}, {"GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n"},
                      {"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"}, {"GET / HTTP/1.0\r\n\r\n"}});
    EXPECT_EQ(raw.convs[0].got.rfind("HTTP/1.1 501 ", 0), 0u) << raw.convs[0].got;
    EXPECT_EQ(raw.convs[1].got.rfind("HTTP/1.1 400 ", 0), 0u) << raw.convs[1].got;
    EXPECT_EQ(raw.convs[2].got.rfind("HTTP/1.1 501 ", 0), 0u) << raw.convs[2].got;
    // HTTP/1.0 needs no Host (RFC 9112 §3.2 binds 1.1) and closes without keep-alive (§9.3).
    EXPECT_EQ(raw.convs[3].got.rfind("HTTP/1.1 200 ", 0), 0u) << raw.convs[3].got;
    EXPECT_NE(raw.convs[3].got.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(raw.convs[3].fin);
    EXPECT_TRUE(raw.convs[0].fin);  // the unknown method closes (its framing cannot be trusted)
    EXPECT_TRUE(raw.convs[1].fin);
    EXPECT_EQ(server->c.requests_not_implemented, 2u);
    EXPECT_EQ(server->c.requests_bad, 1u);
}

// A malformed request gets 400 and a close; what follows it is not answered.
TEST_F(HttpServerTest, MalformedRequestGets400AndClose) {
    run(keepalive(), {{"GET / HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"}});
    const std::string& got = raw.convs[0].got;
    EXPECT_EQ(got.rfind("HTTP/1.1 400 ", 0), 0u) << got;
    EXPECT_EQ(count(got, "HTTP/1.1 "), 1u);
    EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(raw.convs[0].fin);
    EXPECT_GT(server->c.http_ignored_bytes, 0u);
}

// A header section over the limit gets 431 and a close, over several segments; another connection is served.
TEST_F(HttpServerTest, OversizedHeaderGets431AndOthersAreServed) {
    ServerConfig s = keepalive();
    s.limits.max_header = 1024;
    const std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n";
    run(s, {{big.substr(0, 700), big.substr(700, 700), big.substr(1400)}, {kGet}});
    EXPECT_EQ(raw.convs[0].got.rfind("HTTP/1.1 431 ", 0), 0u) << raw.convs[0].got;
    EXPECT_TRUE(raw.convs[0].fin);
    EXPECT_EQ(raw.convs[1].got.rfind("HTTP/1.1 200 ", 0), 0u);
    EXPECT_EQ(server->c.requests_too_large, 1u);
}

// RFC 9112 §9.6: "Connection: close" in a keep-alive server: the response says close and the server closes.
// HTTP/1.0 with keep-alive stays open (§9.3, RFC 2068 §19.7.1).
TEST_F(HttpServerTest, ConnectionHeaderIsHonouredBothWays) {
    run(keepalive(), {{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
                      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"}});
    EXPECT_NE(raw.convs[0].got.find("Connection: close\r\n"), std::string::npos) << raw.convs[0].got;
    EXPECT_TRUE(raw.convs[0].fin);
    EXPECT_NE(raw.convs[1].got.find("Connection: keep-alive\r\n"), std::string::npos) << raw.convs[1].got;
    EXPECT_FALSE(raw.convs[1].fin);
}

// One HTTP slot: the first connection's split request holds it; the second's split request gets 503 and a close;
// the first is answered once its end arrives.
TEST_F(HttpServerTest, NoFreeSlotGets503) {
    ServerConfig s = keepalive();
    s.http_slots = 1;
    run(s, {{"GET / HTTP/1.1\r\n", "Host: x\r\n\r\n"}, {"GET / HTTP/1.1\r\n", "Host: x\r\n\r\n"}});
    EXPECT_EQ(raw.convs[0].got.rfind("HTTP/1.1 200 ", 0), 0u) << raw.convs[0].got;
    EXPECT_EQ(raw.convs[1].got.rfind("HTTP/1.1 503 ", 0), 0u) << raw.convs[1].got;
    EXPECT_TRUE(raw.convs[1].fin);
    EXPECT_EQ(server->c.http_no_slot, 1u);
}

// RFC 9110 §10.1.1: a client that sent "Expect: 100-continue" holds the content back until a 100 (Continue);
// the server sends it as soon as the header section is in, once, and the final response after the content.
// Content that came with the head needs no 100. Without keep-alive (the response closes) as with it.
const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
const std::string kExpectHead = "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheContent) {
    ServerConfig close_after;
    close_after.body_bytes = 16;
    run(close_after, {{kExpectHead, "hello"}, {kExpectHead + "hello"}}, 200, kContinue);
    const std::string& got = raw.convs[0].got;
    EXPECT_EQ(got.rfind(kContinue + "HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_EQ(count(got, "HTTP/1.1 "), 2u);
    EXPECT_EQ(raw.convs[0].next, 2u);  // the content went, after the 100
    EXPECT_TRUE(raw.convs[0].fin);
    EXPECT_EQ(raw.convs[1].got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw.convs[1].got;  // content with the head
    EXPECT_EQ(count(raw.convs[1].got, "HTTP/1.1 "), 1u);
    EXPECT_EQ(server->c.http_1xx, 1u);
    EXPECT_EQ(server->c.responses_sent, 2u);  // the 100 is not a response of its own
    EXPECT_EQ(server->c.http_2xx, 2u);
    EXPECT_EQ(server->c.requests_received, 2u);
}

// A client that sends the content right behind the head, in its own segment, before the 100 reached it: the
// 100 (sent for the head alone) is unacknowledged when the content completes the request, so the final response
// waits for the 100's acknowledgement, and goes then, though this server does not keep connections.
TEST_F(HttpServerTest, ContentRightBehindTheHeadGetsItsResponseAfterThe100) {
    ServerConfig close_after;
    close_after.body_bytes = 16;
    // The server's MSS cuts the client's one chunk after the head (the segments carry 12 bytes of timestamps).
    run(close_after, {{kExpectHead + "hello"}}, 3000, {}, static_cast<uint16_t>(kExpectHead.size() + 12));
    const std::string& got = raw.convs[0].got;
    EXPECT_EQ(got.rfind(kContinue + "HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    EXPECT_TRUE(raw.convs[0].fin);
    EXPECT_EQ(server->c.http_1xx, 1u);
    EXPECT_EQ(server->c.responses_sent, 1u);
    EXPECT_EQ(server->c.responses_queued, 1u);  // the final response waited for the 100's ACK
}

// Pipelined behind a response still in flight, the 100 waits its turn in the queue; the content follows it.
// HTTP/1.0 requests' expectations are ignored (the client sends the content anyway).
TEST_F(HttpServerTest, ExpectContinueQueuedBehindAResponseAndIgnoredFor10) {
    run(keepalive(), {{kGet + kExpectHead, "hello"}}, 3000, kContinue);
    const std::string& got = raw.convs[0].got;
    const size_t first = got.find("HTTP/1.1 200 OK"), cont = got.find(kContinue), last = got.rfind("HTTP/1.1 200 OK");
    ASSERT_NE(cont, std::string::npos) << got;
    EXPECT_LT(first, cont);
    EXPECT_LT(cont, last);
    EXPECT_EQ(count(got, "HTTP/1.1 "), 3u);
    EXPECT_FALSE(raw.convs[0].fin);
    EXPECT_EQ(server->c.http_1xx, 1u);
    EXPECT_EQ(server->c.responses_sent, 2u);

    const std::string head10 = "POST /up HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    run(keepalive(), {{head10, "hello"}});
    EXPECT_EQ(raw.convs[0].got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw.convs[0].got;
    EXPECT_EQ(server->c.http_1xx, 0u);
}

}  // namespace
