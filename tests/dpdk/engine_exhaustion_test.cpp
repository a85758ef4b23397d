// Exhaustion at the engine level, with established connections across it: an echo server worker and a client
// worker over a net_ring pair, 64 connections that exchange a message per round. Between two rounds the
// server's mbuf pool is emptied (the test holds every mbuf), or its TX ring is filled and not drained (the
// test enqueues frames of its own and nobody reads them). During that round every segment the server's stack
// emits is lost to the shortage and counted as such (tx_no_mbuf, tx_ring_full); once the shortage ends, TCP's
// retransmission repairs the round, later rounds run as usual, every connection closes cleanly and every
// mbuf comes back.
//
// (An empty pool on the receive side is the device's business: it cannot refill its RX ring and counts
// rx_nombuf or imissed in the port's statistics. net_ring hands over the sender's mbufs and allocates none,
// so the engine meets an empty pool only when it builds frames.)
#include <gtest/gtest.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/apps.hpp"
#include "engine/worker.hpp"
#include "engine_test_util.hpp"
#include "io/mempool.hpp"
#include "io/vdev.hpp"

namespace synwave::engine {
namespace {

using namespace testutil;

constexpr uint32_t kConns = 64;
constexpr uint32_t kMsg = 100;  // bytes per connection per round
constexpr uint32_t kPoolMbufs = 2047;
constexpr Ipv4 kServerIp{0x0A00'0001};
constexpr Ipv4 kClientIp{0x0A01'0001};

// The client: opens kConns connections at its first tick, sends one message per connection when told
// (round()), counts the echoed bytes, and closes every connection when told (close_all()).
class Pinger final : public Application {
public:
    void on_event(tcp::Stack&, const tcp::Event& ev) override {
        switch (ev.kind) {
        case tcp::EventKind::Connected:
            conn_[ev.user] = ev.conn;
            ++connected;
            break;
        case tcp::EventKind::Data:
            echoed_[ev.user] += ev.len;
            echoed_total += ev.len;
            break;
        case tcp::EventKind::Closed: ++closed; break;
        case tcp::EventKind::Aborted: ++aborted; break;
        default: break;
        }
    }
    void tick(tcp::Stack& st, Instant now) override {
        if (launched_) return;
        launched_ = true;
        for (uint32_t i = 0; i < kConns; ++i) {
            uint32_t c = 0;
            EXPECT_EQ(st.connect(kClientIp, static_cast<uint16_t>(20000 + i), kServerIp, 80, i, now, &c),
                      tcp::Stack::ConnectResult::Ok);
        }
    }
    [[nodiscard]] bool done() const override { return closed + aborted == kConns; }

    void round(tcp::Stack& st) {
        for (uint32_t i = 0; i < kConns; ++i) EXPECT_TRUE(st.send(conn_[i], msg_.data(), kMsg)) << "connection " << i;
        sent_total += uint64_t{kConns} * kMsg;
    }
    void close_all(tcp::Stack& st) {
        for (uint32_t i = 0; i < kConns; ++i) st.close(conn_[i]);
    }
    [[nodiscard]] bool round_back() const { return echoed_total == sent_total; }

    uint32_t connected = 0, closed = 0, aborted = 0;
    uint64_t sent_total = 0, echoed_total = 0;

private:
    bool launched_ = false;
    uint32_t conn_[kConns] = {};
    uint64_t echoed_[kConns] = {};
    std::vector<uint8_t> msg_ = std::vector<uint8_t>(kMsg, 'x');
};

class EngineExhaustion : public ::testing::Test {
protected:
    void SetUp() override {
        spool_ = pool_or_fail("eng_exh_s", kPoolMbufs, 0);  // no cache: the test can take every mbuf
        cpool_ = pool_or_fail("eng_exh_c", kPoolMbufs, 0);
        ASSERT_TRUE(spool_ && cpool_);
        auto pair = io::RingPair::create("engexh", 1024);
        ASSERT_TRUE(pair.ok()) << pair.error();
        pair_ = std::make_unique<io::RingPair>(std::move(pair.value()));
        sport_ = open_port(pair_->port_a(), spool_.get());
        cport_ = open_port(pair_->port_b(), cpool_.get());
        ASSERT_TRUE(sport_ && cport_);
        const TscRate rate = tsc_rate();
        ServerConfig scfg;
        scfg.behaviour = ServerBehaviour::Echo;
        scfg.echo_slots = kConns;
        server_ = std::make_unique<Server>(scfg);
        server_->set_slots(tcp::StackConfig{}.max_conns);
        WorkerConfig ws = worker_config(*sport_, spool_.get(), kServerIp, kServerIp);
        ws.static_neighbour = true;
        ws.neighbour_mac = cport_->mac();
        ws.stack.msl_ms = 100;
        WorkerConfig wc = worker_config(*cport_, cpool_.get(), kClientIp, kClientIp);
        wc.static_neighbour = true;
        wc.neighbour_mac = sport_->mac();
        wc.stack.msl_ms = 100;
        sw_ = std::make_unique<Worker>(ws, rate, tsc_now(), kServerSecrets, server_.get());
        cw_ = std::make_unique<Worker>(wc, rate, tsc_now(), kClientSecrets, &client_);
        sw_->stack().listen(80);
    }

    void TearDown() override {
        cw_.reset();
        sw_.reset();
        if (sport_) sport_->close();
        if (cport_) cport_->close();
        pair_.reset();
    }

    // Runs both workers until `cond` holds, 5 s at most (a repair waits for an RTO of 200 ms to 1 s).
    bool run_until(const std::function<bool()>& cond) {
        const Instant end = tsc_now() + tsc_rate().sec(5);
        while (!cond()) {
            if (tsc_now() > end) return false;
            cw_->run_once(tsc_now());
            sw_->run_once(tsc_now());
        }
        return true;
    }
    bool round_trip() {
        client_.round(cw_->stack());
        return run_until([&] { return client_.round_back(); });
    }

    // One round during a shortage that `begin` starts and `end` ends: the client sends, only the server runs
    // (its replies are lost to the shortage), then the shortage ends and both run until the echoes are back.
    // Returns the segments the server's stack emitted meanwhile.
    uint64_t round_through(const std::function<void()>& begin, const std::function<void()>& end) {
        client_.round(cw_->stack());
        cw_->run_once(tsc_now());  // the messages leave
        begin();
        const uint64_t seg0 = sw_->stack().counters().tx_segments;
        const uint64_t tx0 = sw_->counters().tx_packets;
        const uint64_t rx0 = sw_->counters().rx_packets;
        for (int i = 0; i < 20; ++i) sw_->run_once(tsc_now());
        EXPECT_GE(sw_->counters().rx_packets - rx0, kConns) << "the server received the round";
        EXPECT_EQ(sw_->counters().tx_packets, tx0) << "nothing left the server during the shortage";
        const uint64_t lost = sw_->stack().counters().tx_segments - seg0;
        EXPECT_GE(lost, kConns);
        end();
        EXPECT_TRUE(run_until([&] { return client_.round_back(); })) << "echoed " << client_.echoed_total << " of "
                                                                      << client_.sent_total;
        return lost;
    }

    // Connections up, one ordinary round; then the shortage round (the caller's part), and after it two more
    // rounds and a clean close of every connection.
    void open_and_warm() {
        ASSERT_TRUE(run_until([&] { return client_.connected == kConns; }));
        ASSERT_TRUE(round_trip());
    }
    void finish() {
        ASSERT_TRUE(round_trip());
        ASSERT_TRUE(round_trip());
        client_.close_all(cw_->stack());
        ASSERT_TRUE(run_until([&] { return client_.done() && server_->c.conn_completed == kConns; }));
        EXPECT_EQ(client_.closed, kConns);
        EXPECT_EQ(client_.aborted, 0u);
        EXPECT_EQ(client_.echoed_total, 4u * kConns * kMsg);
        EXPECT_EQ(server_->c.echo_bytes, 4u * kConns * kMsg);
        EXPECT_EQ(server_->c.conn_failed + server_->c.echo_no_buffer + server_->c.echo_overflow, 0u);
        // The client closed first: its TIME_WAIT records (2 x 100 ms) expire, and nothing is left anywhere.
        ASSERT_TRUE(run_until([&] { return cw_->stack().timewait_count() == 0; }));
        for (int i = 0; i < 8; ++i) {
            cw_->run_once(tsc_now());
            sw_->run_once(tsc_now());
        }
        for (Worker* w : {cw_.get(), sw_.get()}) {
            EXPECT_EQ(w->stack().table_size(), 0u);
            EXPECT_EQ(w->stack().timers_pending(), 0u);
            EXPECT_EQ(w->stack().counters().conn_reset + w->stack().counters().rtx_abort, 0u);
            EXPECT_EQ(w->counters().rx_dropped, 0u);
        }
        EXPECT_EQ(rte_ring_count(pair_->ring_ab()) + rte_ring_count(pair_->ring_ba()), 0u);
        EXPECT_EQ(rte_mempool_avail_count(spool_.get()), kPoolMbufs);
        EXPECT_EQ(rte_mempool_avail_count(cpool_.get()), kPoolMbufs);
    }

    io::MempoolPtr spool_, cpool_;
    std::unique_ptr<io::RingPair> pair_;
    std::optional<io::Port> sport_, cport_;
    std::unique_ptr<Server> server_;
    Pinger client_;
    std::unique_ptr<Worker> sw_, cw_;
};

TEST_F(EngineExhaustion, MempoolEmptyLosesTheRoundsRepliesCountedAndTheConnectionsRecover) {
    ASSERT_NO_FATAL_FAILURE(open_and_warm());
    std::vector<rte_mbuf*> held;
    const uint64_t no_mbuf0 = sw_->counters().tx_no_mbuf;
    const uint64_t rtx0 = sw_->stack().counters().rtx_segments;
    const uint64_t lost = round_through(
        [&] {
            while (rte_mbuf* m = rte_pktmbuf_alloc(spool_.get())) held.push_back(m);
            EXPECT_EQ(rte_mempool_avail_count(spool_.get()), 0u);
        },
        [&] {
            rte_pktmbuf_free_bulk(held.data(), static_cast<unsigned>(held.size()));
            held.clear();
        });
    // Every segment the stack emitted while the pool was empty is counted, and only those.
    EXPECT_EQ(sw_->counters().tx_no_mbuf - no_mbuf0, lost);
    EXPECT_EQ(sw_->counters().tx_ring_full, 0u);
    EXPECT_GE(sw_->stack().counters().rtx_segments - rtx0, kConns) << "the echoes came back by retransmission";
    ASSERT_NO_FATAL_FAILURE(finish());
    EXPECT_EQ(sw_->counters().tx_no_mbuf - no_mbuf0, lost) << "no mbuf was missing after the pool refilled";
}

TEST_F(EngineExhaustion, TxRingFullLosesTheRoundsRepliesCountedAndTheConnectionsRecover) {
    ASSERT_NO_FATAL_FAILURE(open_and_warm());
    io::MempoolPtr junk = pool_or_fail("eng_exh_j", 2047, 0);
    ASSERT_TRUE(junk);
    uint32_t filled = 0;
    const uint64_t full0 = sw_->counters().tx_ring_full;
    const uint64_t rtx0 = sw_->stack().counters().rtx_segments;
    const uint64_t lost = round_through(
        [&] {
            // The server's TX ring (A -> B) filled with frames nobody reads while the client does not run.
            while (rte_mbuf* m = rte_pktmbuf_alloc(junk.get())) {
                if (rte_ring_enqueue(pair_->ring_ab(), m) != 0) {
                    rte_pktmbuf_free(m);
                    break;
                }
                ++filled;
            }
            EXPECT_EQ(rte_ring_free_count(pair_->ring_ab()), 0u);
        },
        [&] {
            // The ring drains: only the test's own frames are in it (every server frame was refused).
            rte_mbuf* m = nullptr;
            uint32_t drained = 0;
            while (rte_ring_dequeue(pair_->ring_ab(), reinterpret_cast<void**>(&m)) == 0) {
                EXPECT_EQ(m->pool, junk.get());
                rte_pktmbuf_free(m);
                ++drained;
            }
            EXPECT_EQ(drained, filled);
        });
    EXPECT_GT(filled, 0u);
    EXPECT_EQ(sw_->counters().tx_ring_full - full0, lost);
    EXPECT_EQ(sw_->counters().tx_no_mbuf, 0u);
    EXPECT_GE(sw_->stack().counters().rtx_segments - rtx0, kConns) << "the echoes came back by retransmission";
    // The refused frames went back to the server's pool at once, not only when the ring drained.
    ASSERT_NO_FATAL_FAILURE(finish());
    EXPECT_EQ(sw_->counters().tx_ring_full - full0, lost) << "no frame was refused once the ring drained";
    EXPECT_EQ(rte_mempool_avail_count(junk.get()), 2047u);
}

}  // namespace
}  // namespace synwave::engine
