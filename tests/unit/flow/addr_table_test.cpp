// The IPv6 address table: handles in 0.0.0.0/8, pinned and acquired addresses, references from flow-table
// entries (through ConnIndex), the end-of-turn sweep, and the probe table's deletion under churn against a
// model.
#include "flow/addr_table.hpp"
#include "flow/conn_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace synwave::flow {
namespace {

Ipv6 addr(uint32_t low, uint8_t net = 0x20) {
    Ipv6 a;
    a.b[0] = net;
    a.b[1] = 0x01;
    a.b[2] = 0x0d;
    a.b[3] = 0xb8;
    return a.with_low32(low);
}

TEST(AddrTable, HandlesAreInThisNetworkBlock) {
    EXPECT_FALSE(AddrTable::is_handle(0));
    EXPECT_TRUE(AddrTable::is_handle(1));
    EXPECT_TRUE(AddrTable::is_handle(0x00FF'FFFF));
    EXPECT_FALSE(AddrTable::is_handle(0x0100'0000));  // 1.0.0.0: an IPv4 address
    EXPECT_FALSE(AddrTable::is_handle(0x0A00'0001));
    EXPECT_FALSE(AddrTable::is_handle(0xFFFF'FFFF));
}

TEST(AddrTable, PinnedRunGetsConsecutiveHandles) {
    AddrTable t(100);
    for (uint32_t i = 0; i < 64; ++i) EXPECT_EQ(t.pin(addr(i + 1)), i + 1);
    EXPECT_EQ(t.size(), 64u);
    EXPECT_EQ(t.find(addr(10)), 10u);
    EXPECT_EQ(t.addr(10), addr(10));
    EXPECT_EQ(t.pin(addr(10)), 10u);  // already there: same handle
    EXPECT_EQ(t.find(addr(999)), AddrTable::kNone);
    t.sweep();  // pinned addresses survive any sweep
    EXPECT_EQ(t.size(), 64u);
}

TEST(AddrTable, AcquiredAddressLivesWhileAnEntryHoldsIt) {
    AddrTable t(8);
    const uint32_t h = t.acquire(addr(7));
    ASSERT_NE(h, AddrTable::kNone);
    EXPECT_EQ(t.acquire(addr(7)), h);  // a second segment from it in the same turn
    t.ref(h);                          // a record took it
    t.sweep();
    EXPECT_EQ(t.find(addr(7)), h);
    EXPECT_EQ(t.refs(h), 1u);
    t.ref(h);
    t.unref(h);
    t.sweep();
    EXPECT_EQ(t.find(addr(7)), h);
    t.unref(h);                        // the last record is gone: the handle stays until the turn ends
    EXPECT_EQ(t.find(addr(7)), h);
    EXPECT_EQ(t.addr(h), addr(7));
    t.sweep();
    EXPECT_EQ(t.find(addr(7)), AddrTable::kNone);
    EXPECT_EQ(t.size(), 0u);
}

TEST(AddrTable, UnreferencedAcquireIsFreedAtSweep) {
    AddrTable t(8);
    const uint32_t h = t.acquire(addr(1));
    EXPECT_EQ(t.size(), 1u);
    t.sweep();
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.find(addr(1)), AddrTable::kNone);
    EXPECT_EQ(t.acquire(addr(2)), h);  // the handle is reused
}

TEST(AddrTable, FullTableRefusesAndRecovers) {
    AddrTable t(4);
    for (uint32_t i = 0; i < 4; ++i) EXPECT_NE(t.acquire(addr(i)), AddrTable::kNone);
    EXPECT_EQ(t.acquire(addr(99)), AddrTable::kNone);
    EXPECT_EQ(t.pin(addr(98)), AddrTable::kNone);
    t.sweep();
    EXPECT_NE(t.acquire(addr(99)), AddrTable::kNone);
}

TEST(AddrTable, IPv4KeysAreNotCounted) {
    AddrTable t(4);
    t.ref(0x0A00'0001);
    t.unref(0x0A00'0001);
    t.sweep();
    EXPECT_EQ(t.size(), 0u);
}

// Random acquire / ref / unref / sweep against a model: every live address is found under its handle, every
// freed one is gone, and handles are never shared (the backward-shift deletion keeps every probe chain whole).
TEST(AddrTable, ChurnMatchesModel) {
    constexpr uint32_t kCap = 512;
    AddrTable t(kCap);
    std::mt19937 rng(12345);
    std::map<uint32_t, uint32_t> refs;  // low32 of the address -> references
    std::map<uint32_t, uint32_t> handle;
    for (int turn = 0; turn < 4000; ++turn) {
        for (int op = 0; op < 8; ++op) {
            const uint32_t a = rng() % 700;  // more addresses than room: full-table refusals happen
            const uint32_t h = t.acquire(addr(a, 0x30));
            if (h == AddrTable::kNone) {
                EXPECT_EQ(t.size(), kCap);
                continue;
            }
            if (handle.count(a)) {
                EXPECT_EQ(handle[a], h);
            }
            handle[a] = h;
            if (rng() % 2) {
                t.ref(h);
                ++refs[a];
            }
        }
        for (auto it = refs.begin(); it != refs.end();) {
            if (rng() % 4 == 0) {
                t.unref(handle[it->first]);
                if (--it->second == 0) {
                    it = refs.erase(it);
                    continue;
                }
            }
            ++it;
        }
        t.sweep();
        for (auto it = handle.begin(); it != handle.end();) {
            const bool live = refs.count(it->first) != 0;
            ASSERT_EQ(t.find(addr(it->first, 0x30)), live ? it->second : AddrTable::kNone) << it->first;
            if (live) {
                ASSERT_EQ(t.addr(it->second), addr(it->first, 0x30));
                ++it;
            } else {
                it = handle.erase(it);
            }
        }
        ASSERT_EQ(t.size(), refs.size());
    }
}

// ConnIndex counts one reference per entry holding an IPv6 remote address, whichever index stores it.
TEST(AddrTable, ConnIndexReferencesRemoteAddresses) {
    ConnIndex idx(64, TupleRange{}, 16);
    AddrTable& t = idx.addrs();
    const uint32_t local = t.pin(addr(1));
    const uint32_t remote = t.acquire(addr(2));
    const FlowKey k1{local, remote, 80, 1000}, k2{local, remote, 80, 1001};
    uint32_t h = 0;
    ASSERT_EQ(idx.find(k1, h), ConnIndex::kNone);
    ASSERT_TRUE(idx.insert(k1, h, 5));
    h = idx.hash_of(k2);
    ASSERT_TRUE(idx.insert(k2, h, 6));
    EXPECT_EQ(t.refs(remote), 2u);
    t.sweep();
    idx.erase(k1, idx.hash_of(k1));
    idx.erase(k1, idx.hash_of(k1));  // erasing what is not there takes no reference away
    EXPECT_EQ(t.refs(remote), 1u);
    idx.erase(k2, idx.hash_of(k2));
    EXPECT_EQ(t.refs(remote), 0u);
    t.sweep();
    EXPECT_EQ(t.find(addr(2)), AddrTable::kNone);
    EXPECT_EQ(t.find(addr(1)), local);
}

}  // namespace
}  // namespace synwave::flow
