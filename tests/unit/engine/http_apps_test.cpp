// The HTTP/1.1 behaviour of engine::Server and engine::Client over two real tcp::Stacks: keep-alive request
// counts, status classes against --expect-status, routes, think time, and the server's answers to what a raw
// client sends (split, pipelined, HEAD, unknown methods, missing Host, oversized headers, HTTP/1.0).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apps_fixture.hpp"

using namespace synwave;
using namespace synwave::engine;
using namespace synwave::engine::testing;

namespace {

ClientConfig keepalive_client(uint64_t conns, uint32_t requests) {
    ClientConfig c = http_client(conns, CloseMode::ServerFirst);
    c.response_bytes = 0;
    c.requests_per_conn = requests;
    return c;
}

RequestDef get(const std::string& path) {
    RequestDef d;
    d.spec.path = path;
    return d;
}

}  // namespace

// RFC 9112 §9.3: ten requests per connection; the last asks the server to close (§9.6), so it closes first.
TEST_F(AppsTest, KeepAliveCarriesExactlyTheRequestedNumberPerConnection) {
    ServerConfig s;
    s.keepalive = true;
    make(s, keepalive_client(50, 10));
    run_until_done(2000);
    EXPECT_EQ(client->c.conn_attempted, 50u);
    EXPECT_EQ(client->c.requests_sent, 500u);
    EXPECT_EQ(client->c.responses_done, 500u);
    EXPECT_EQ(client->c.http_2xx, 500u);
    EXPECT_EQ(client->c.conn_completed, 50u);
    EXPECT_EQ(client->c.conn_failed, 0u);
    EXPECT_EQ(client->first_byte_ns.count(), 500u);
    EXPECT_EQ(server->c.conn_accepted, 50u);
    EXPECT_EQ(server->c.requests_received, 500u);
    EXPECT_EQ(server->c.responses_sent, 500u);
    EXPECT_EQ(server->c.conn_completed, 50u);
    EXPECT_EQ(sst->timewait_count(), 50u);  // the server closed each connection after the tenth response
    EXPECT_EQ(cst->timewait_count(), 0u);
}

// A server that does not keep connections answers "Connection: close" and closes: the client sends no more.
TEST_F(AppsTest, ClientStopsAtAResponseThatCloses) {
    make(ServerConfig{}, keepalive_client(20, 5));
    run_until_done(2000);
    EXPECT_EQ(client->c.requests_sent, 20u);
    EXPECT_EQ(client->c.responses_done, 20u);
    EXPECT_EQ(client->c.conn_completed, 20u);
    EXPECT_EQ(server->c.requests_received, 20u);
}

// Routes answer 404 and 503; three templates taken round-robin; only the 2xx connections complete.
TEST_F(AppsTest, StatusClassesAndExpectStatusDecideCompletion) {
    ServerConfig s;
    s.keepalive = true;
    s.routes = {HttpRoute{"/missing", 404, "gone\n", {}}, HttpRoute{"/busy", 503, "", {{"Retry-After", "1"}}}};
    ClientConfig c = keepalive_client(30, 2);
    c.requests = {get("/"), get("/missing"), get("/busy")};
    make(s, c);
    run_until_done(2000);
    EXPECT_EQ(client->c.requests_sent, 60u);
    EXPECT_EQ(client->c.http_2xx, 20u);
    EXPECT_EQ(client->c.http_4xx, 20u);
    EXPECT_EQ(client->c.http_5xx, 20u);
    EXPECT_EQ(client->c.status_unexpected, 40u);
    EXPECT_EQ(client->c.conn_completed, 10u);
    EXPECT_EQ(client->c.conn_failed, 20u);
    EXPECT_EQ(client->c.conn_failed_status, 20u);
    EXPECT_EQ(server->c.http_4xx, 20u);
    EXPECT_EQ(server->c.http_5xx, 20u);
}

TEST_F(AppsTest, ExpectStatusCanAcceptOtherCodes) {
    ServerConfig s;
    s.routes = {HttpRoute{"/missing", 404, "", {}}};
    ClientConfig c = keepalive_client(10, 1);
    c.requests = {get("/missing")};
    c.expect = StatusSet{};
    c.expect.add(404);
    make(s, c);
    run_until_done(2000);
    EXPECT_EQ(client->c.http_4xx, 10u);
    EXPECT_EQ(client->c.conn_completed, 10u);
    EXPECT_EQ(client->c.status_unexpected, 0u);
}

// Weights 3:1 over 40 connections: 30 and 10, interleaved.
TEST_F(AppsTest, TemplatesAreTakenByWeight) {
    ServerConfig s;
    s.routes = {HttpRoute{"/b", 404, "", {}}};
    ClientConfig c = keepalive_client(40, 1);
    c.requests = {get("/a"), get("/b")};
    c.requests[0].weight = 3;
    c.expect.add(404);
    make(s, c);
    run_until_done(2000);
    EXPECT_EQ(client->c.http_2xx, 30u);
    EXPECT_EQ(client->c.http_4xx, 10u);
}

// --think-ms: the next request waits out the pause after the response.
TEST_F(AppsTest, ThinkTimeDelaysTheNextRequest) {
    ServerConfig s;
    s.keepalive = true;
    ClientConfig c = keepalive_client(1, 3);
    c.think_us = 5000;
    make(s, c);
    step();  // connect, request and response within the first millisecond
    EXPECT_EQ(client->c.responses_done, 1u);
    EXPECT_EQ(client->c.requests_sent, 1u);
    for (int i = 0; i < 4; ++i) step();
    EXPECT_EQ(client->c.requests_sent, 1u);  // still thinking at 4 ms
    step();
    EXPECT_EQ(client->c.requests_sent, 2u);  // due at 5 ms
    run_until_done(100);
    EXPECT_EQ(client->c.responses_done, 3u);
    EXPECT_EQ(client->c.conn_completed, 1u);
}

