#include "core/cacheline.hpp"
#include "core/endian.hpp"
#include "core/ipv4addr.hpp"
#include "core/seq.hpp"
#include "core/time.hpp"

#include <gtest/gtest.h>

using namespace synwave;

namespace {
constexpr uint32_t kNearWrap = 0xFFFF'FFF0u;  // 16 below 2^32: every test crosses the wrap
}

TEST(Seq, AdditionWrapsModulo2Pow32) {
    Seq s(kNearWrap);
    EXPECT_EQ((s + 16).raw(), 0u);
    EXPECT_EQ((s + 20).raw(), 4u);
    EXPECT_EQ((Seq(3) - 5).raw(), 0xFFFF'FFFEu);
}

TEST(Seq, CompareAcrossWrap) {
    Seq a(kNearWrap), b = a + 32;  // b.raw() == 16
    EXPECT_LT(b.raw(), a.raw());   // numerically smaller...
    EXPECT_TRUE(a < b);            // ...but later in sequence space
    EXPECT_TRUE(b > a);
    EXPECT_TRUE(a <= a);
    EXPECT_FALSE(a < a);
    EXPECT_EQ(b - a, 32);
    EXPECT_EQ(a - b, -32);
    EXPECT_EQ(seq_max(a, b), b);
    EXPECT_EQ(seq_min(a, b), a);
}

TEST(Seq, HalfSpaceBoundary) {
    Seq a(kNearWrap);
    EXPECT_TRUE(a < a + 0x7FFF'FFFFu);
    // More than 2^31 ahead wraps round to "behind": the comparison is only defined within half the space.
    EXPECT_TRUE(a + 0x8000'0001u < a);
    EXPECT_FALSE(a < a + 0x8000'0001u);
}

TEST(Seq, InWindowAcrossWrap) {
    Seq start(kNearWrap);
    EXPECT_TRUE(seq_in_window(start, start, 100));
    EXPECT_TRUE(seq_in_window(Seq(50), start, 100));   // 66 past start
    EXPECT_TRUE(seq_in_window(Seq(83), start, 100));   // last octet
    EXPECT_FALSE(seq_in_window(Seq(84), start, 100));  // one past the end
    EXPECT_FALSE(seq_in_window(start - 1, start, 100));
    EXPECT_FALSE(seq_in_window(start, start, 0));
    EXPECT_TRUE(seq_between_incl(start, Seq(5), Seq(10)));
    EXPECT_TRUE(seq_between_incl(start, start, Seq(10)));
    EXPECT_TRUE(seq_between_incl(start, Seq(10), Seq(10)));
    EXPECT_FALSE(seq_between_incl(start, Seq(11), Seq(10)));
    EXPECT_FALSE(seq_between_incl(start, start - 1, Seq(10)));
}

// RFC 9293 §3.10.7.4: the four cases of the acceptability test.
TEST(Seq, AcceptabilityZeroLenZeroWindow) {
    Seq rcv(kNearWrap + 10);
    EXPECT_TRUE(segment_acceptable(rcv, 0, rcv, 0));
    EXPECT_FALSE(segment_acceptable(rcv + 1, 0, rcv, 0));
    EXPECT_FALSE(segment_acceptable(rcv - 1, 0, rcv, 0));
}
TEST(Seq, AcceptabilityZeroLenOpenWindow) {
    Seq rcv(kNearWrap + 10);
    EXPECT_TRUE(segment_acceptable(rcv, 0, rcv, 1000));
    EXPECT_TRUE(segment_acceptable(rcv + 999, 0, rcv, 1000));
    EXPECT_FALSE(segment_acceptable(rcv + 1000, 0, rcv, 1000));
    EXPECT_FALSE(segment_acceptable(rcv - 1, 0, rcv, 1000));
}
TEST(Seq, AcceptabilityDataZeroWindow) {
    Seq rcv(kNearWrap + 10);
    EXPECT_FALSE(segment_acceptable(rcv, 1, rcv, 0));
    EXPECT_FALSE(segment_acceptable(rcv, 100, rcv, 0));
}
TEST(Seq, AcceptabilityDataOpenWindow) {
    Seq rcv(kNearWrap + 10);
    EXPECT_TRUE(segment_acceptable(rcv, 100, rcv, 1000));
    EXPECT_TRUE(segment_acceptable(rcv - 50, 100, rcv, 1000));   // tail overlaps the window start
    EXPECT_FALSE(segment_acceptable(rcv - 100, 100, rcv, 1000)); // wholly old
    EXPECT_TRUE(segment_acceptable(rcv + 999, 100, rcv, 1000));  // head in the last octet
    EXPECT_FALSE(segment_acceptable(rcv + 1000, 100, rcv, 1000));
}

TEST(Endian, LoadStoreRoundTrip) {
    uint8_t buf[7] = {};
    store_be16(buf + 1, 0x1234);
    EXPECT_EQ(buf[1], 0x12);
    EXPECT_EQ(buf[2], 0x34);
    EXPECT_EQ(load_be16(buf + 1), 0x1234);
    store_be32(buf + 3, 0xDEADBEEF);  // unaligned
    EXPECT_EQ(buf[3], 0xDE);
    EXPECT_EQ(buf[6], 0xEF);
    EXPECT_EQ(load_be32(buf + 3), 0xDEADBEEFu);
    static_assert(hton16(0x0800) == 0x0008);
    static_assert(ntoh32(hton32(0x01020304)) == 0x01020304);
}

TEST(Time, ConversionsAt2_1GHz) {
    TscRate r{2'100'000'000};
    EXPECT_EQ(r.ms(1).cycles, 2'100'000u);
    EXPECT_EQ(r.us(1).cycles, 2'100u);
    EXPECT_EQ(r.sec(60).cycles, 126'000'000'000u);
    EXPECT_EQ(r.to_ms(r.sec(30)), 30'000u);
    EXPECT_EQ(r.to_us(r.ms(200)), 200'000u);
    Instant t{100};
    EXPECT_EQ((t + Duration{50}).cycles, 150u);
    EXPECT_EQ((Instant{150} - t).cycles, 50u);
    EXPECT_EQ((t - Instant{150}).cycles, 0u);  // saturates
    EXPECT_TRUE(Instant{1} < Instant{2});
}

TEST(Time, NoOverflowForLargeValues) {
    TscRate r{3'000'000'000};
    // 10 years in ms would overflow a naive 64-bit multiply by hz.
    EXPECT_EQ(r.to_ms(r.ms(315'360'000'000ull)), 315'360'000'000ull);
}

TEST(Addr, Ipv4ParseAndPrint) {
    auto a = Ipv4::parse("10.0.0.1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->v, 0x0A000001u);
    EXPECT_EQ(a->str(), "10.0.0.1");
    EXPECT_FALSE(Ipv4::parse("10.0.0"));
    EXPECT_FALSE(Ipv4::parse("10.0.0.256"));
    EXPECT_FALSE(Ipv4::parse("10.0.0.1x"));
    EXPECT_FALSE(Ipv4::parse(""));
    EXPECT_FALSE(Ipv4::parse("1..2.3"));
}

TEST(Addr, MacParseAndPrint) {
    auto m = Mac::parse("02:00:00:aB:cd:ef");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->b[3], 0xAB);
    EXPECT_EQ(m->str(), "02:00:00:ab:cd:ef");
    EXPECT_FALSE(Mac::parse("02:00:00:ab:cd"));
    EXPECT_FALSE(Mac::parse("02-00-00-ab-cd-ef"));
    EXPECT_FALSE(Mac::parse("02:00:00:ab:cd:eg"));
}

TEST(CacheLine, PaddedOccupiesWholeLines) {
    static_assert(sizeof(CachePadded<int>) == kCacheLine);
    static_assert(alignof(CachePadded<int>) == kCacheLine);
    static_assert(cache_lines_of<char[65]>() == 2);
    SUCCEED();
}
