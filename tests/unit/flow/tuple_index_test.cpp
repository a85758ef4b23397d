// The direct-mapped index of a client's own 4-tuples: which keys it holds, where, and that everything else is
// left to the hash table.
#include "flow/tuple_index.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace synwave::flow;

namespace {
// 10.1.0.1-10.1.0.4, ports 1024-1033, to 10.0.0.1:80.
constexpr TupleRange kRange{0x0A01'0001, 0x0A01'0004, 1024, 1033, 0x0A00'0001, 80};
FlowKey key(uint32_t ip, uint16_t port, uint32_t rip = 0x0A00'0001, uint16_t rport = 80) {
    return FlowKey{ip, rip, port, rport};
}
}  // namespace

TEST(TupleIndex, EveryTupleOfTheRangeHasItsOwnSlot) {
    TupleIndex ix(kRange);
    ASSERT_TRUE(ix.enabled());
    EXPECT_EQ(ix.bytes(), 4u * 10u * 4u);
    std::set<const uint32_t*> seen;
    for (uint32_t ip = 0x0A01'0001; ip <= 0x0A01'0004; ++ip)
        for (uint16_t p = 1024; p <= 1033; ++p) {
            uint32_t* s = ix.slot(key(ip, p));
            ASSERT_NE(s, nullptr) << ip << ":" << p;
            EXPECT_EQ(TupleIndex::get(s), TupleIndex::kNone);
            seen.insert(s);
        }
    EXPECT_EQ(seen.size(), 40u);
    // Ports of one address are neighbours: consecutive connections share cache lines.
    EXPECT_EQ(ix.slot(key(0x0A01'0002, 1025)) - ix.slot(key(0x0A01'0002, 1024)), 1);
}

TEST(TupleIndex, KeysOutsideTheRangeAreNotInIt) {
    const TupleIndex ix(kRange);
    EXPECT_EQ(ix.slot(key(0x0A01'0000, 1024)), nullptr);  // address below
    EXPECT_EQ(ix.slot(key(0x0A01'0005, 1024)), nullptr);  // address above
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1023)), nullptr);  // port below
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1034)), nullptr);  // port above
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1024, 0x0A00'0002)), nullptr);  // another destination
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1024, 0x0A00'0001, 81)), nullptr);
    EXPECT_NE(ix.slot(key(0x0A01'0004, 1033)), nullptr);  // the last tuple is in
}

TEST(TupleIndex, NoRangeOrOneTooLargeHoldsNothing) {
    const TupleIndex none(TupleRange{});
    EXPECT_FALSE(none.enabled());
    EXPECT_EQ(none.slot(key(0, 0, 0, 0)), nullptr);  // not even the all-zero key
    EXPECT_EQ(none.slot(key(0x0A01'0001, 1024)), nullptr);
    // 2^16 addresses x 2^16 ports would be 16 GiB: left to the hash table.
    const TupleIndex huge(TupleRange{0x0A00'0000, 0x0A00'FFFF, 0, 65535, 0x0B00'0001, 80});
    EXPECT_FALSE(huge.enabled());
    EXPECT_EQ(huge.slot(key(0x0A00'0001, 5, 0x0B00'0001, 80)), nullptr);
}

TEST(TupleIndex, StoresValuesAndCountsEntries) {
    TupleIndex ix(kRange);
    uint32_t* s = ix.slot(key(0x0A01'0003, 1030));
    ix.set(s, 7);
    EXPECT_EQ(ix.size(), 1u);
    EXPECT_EQ(TupleIndex::get(ix.slot(key(0x0A01'0003, 1030))), 7u);
    ix.set(s, 0);  // 0 is a value like any other (a Tcb index)
    EXPECT_EQ(ix.size(), 1u);
    EXPECT_EQ(TupleIndex::get(s), 0u);
    ix.set(s, 0x8000'0005u);  // a TIME_WAIT record replaces the Tcb: still one entry
    EXPECT_EQ(ix.size(), 1u);
    ix.set(s, TupleIndex::kNone);
    EXPECT_EQ(ix.size(), 0u);
    EXPECT_EQ(TupleIndex::get(s), TupleIndex::kNone);
    ix.set(s, TupleIndex::kNone);  // emptying an empty slot counts nothing
    EXPECT_EQ(ix.size(), 0u);
}

// Several destinations (consecutive addresses, consecutive ports): every tuple its own slot, each destination
// a block of its sources' ports in order, and keys beside the destinations' ranges not in it.
TEST(TupleIndex, SeveralDestinationsEachTupleItsSlotInBlocksPerDestination) {
    // 10.1.0.1-10.1.0.2, ports 1024-1030, to 10.0.0.1-10.0.0.3 on ports 80-81.
    TupleIndex ix(TupleRange{0x0A01'0001, 0x0A01'0002, 1024, 1030, 0x0A00'0001, 80, 3, 2});
    ASSERT_TRUE(ix.enabled());
    EXPECT_EQ(ix.bytes(), 4u * 2 * 7 * 3 * 2);
    const uint32_t* first = ix.slot(key(0x0A01'0001, 1024, 0x0A00'0001, 80));
    ASSERT_NE(first, nullptr);
    int64_t expect = 0;
    for (uint16_t rp = 80; rp <= 81; ++rp)
        for (uint32_t rip = 0x0A00'0001; rip <= 0x0A00'0003; ++rip)
            for (uint32_t ip = 0x0A01'0001; ip <= 0x0A01'0002; ++ip)
                for (uint16_t p = 1024; p <= 1030; ++p) {
                    const uint32_t* s = ix.slot(key(ip, p, rip, rp));
                    ASSERT_NE(s, nullptr);
                    EXPECT_EQ(s - first, expect++);  // each its own, a destination's ports neighbours
                }
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1024, 0x0A00'0000, 80)), nullptr);  // destination below
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1024, 0x0A00'0004, 80)), nullptr);  // destination above
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1024, 0x0A00'0001, 79)), nullptr);  // destination port below
    EXPECT_EQ(ix.slot(key(0x0A01'0001, 1024, 0x0A00'0001, 82)), nullptr);  // destination port above
    EXPECT_EQ(ix.slot(key(0x0A01'0003, 1024, 0x0A00'0002, 81)), nullptr);  // a source beside, another destination
    // Destination ranges that run past the last address or port are refused (left to the hash table).
    EXPECT_FALSE(TupleIndex(TupleRange{0x0A01'0001, 0x0A01'0001, 1024, 1030, 0xFFFF'FFFE, 80, 3, 1}).enabled());
    EXPECT_FALSE(TupleIndex(TupleRange{0x0A01'0001, 0x0A01'0001, 1024, 1030, 0x0A00'0001, 65535, 1, 2}).enabled());
}
