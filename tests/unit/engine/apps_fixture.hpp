// The two-stack fixture of the engine application tests: a Server and a Client, each on its own tcp::Stack,
// segments passed between them as values (no DPDK), time stepped by hand.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "engine/apps.hpp"

namespace synwave::engine::testing {

inline constexpr uint64_t kMs = 1'000'000;  // cycles per ms at 1 GHz
inline constexpr Ipv4 kServerIp{0x0A00'0001};
inline constexpr Ipv4 kClientIp{0x0A01'0001};

class AppsTest : public ::testing::Test {
protected:
    void make(ServerConfig scfg, ClientConfig ccfg) {
        tcp::StackConfig st;
        st.max_conns = 4096;
        st.max_timewait = 4096;
        st.addrs6 = 64;
        const TscRate rate{1'000'000'000};
        ccfg.src_lo = ccfg.src_hi = kClientIp;
        server = std::make_unique<Server>(scfg);
        client = std::make_unique<Client>(ccfg, rate);
        sst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{1, 2}, {3, 4}, {5, 6}}, server.get());
        cst = std::make_unique<tcp::Stack>(st, rate, now, tcp::Secrets{{7, 8}, {9, 10}, {11, 12}}, client.get());
        client->set_slots(st.max_conns);
        server->set_slots(st.max_conns);
        for (uint16_t p : ccfg.dports) sst->listen(p);
    }

    // Moves every queued segment to the other side until both are quiet.
    void shuttle() {
        for (int rounds = 0; rounds < 64; ++rounds) {
            auto a = std::move(cst->out());
            cst->out().clear();
            auto b = std::move(sst->out());
            sst->out().clear();
            if (a.empty() && b.empty()) return;
            segments += a.size() + b.size();
            for (const auto& o : a)
                if (o.seg.flags == wire::tcpflag::SYN) syns.push_back(o);
            for (const auto& o : a) sst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
            for (const auto& o : b) cst->input(tcp::InSegment{o.src, o.dst, o.seg}, now);
        }
        FAIL() << "segments still flowing after 64 rounds";
    }

    // One millisecond of the engine loop for both sides.
    void step() {
        now += Duration{kMs};
        client->tick(*cst, now);
        cst->poll(now);
        sst->poll(now);
        shuttle();
    }

    void run_until_done(uint32_t max_ms) {
        for (uint32_t i = 0; i < max_ms && !client->done(); ++i) step();
        ASSERT_TRUE(client->done());
    }

    Instant now{5'000'000'000};
    std::unique_ptr<Server> server;
    std::unique_ptr<Client> client;
    std::unique_ptr<tcp::Stack> sst, cst;
    uint64_t segments = 0;
    std::vector<tcp::OutSegment> syns;  // the client's SYNs, in the order sent
};

inline ClientConfig http_client(uint64_t n, CloseMode close) {
    ClientConfig c;
    c.max_connections = n;
    c.concurrency = 100;
    c.close = close;
    c.response_bytes = http_response(64, false).size();
    return c;
}

}  // namespace synwave::engine::testing
