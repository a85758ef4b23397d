// The fast checksum against the naive reference and RFC examples; incremental updates against full ones.
#include "wire_test_util.hpp"

#include <gtest/gtest.h>

#include <random>

using namespace synwave;
using namespace synwave::wire;
using namespace synwave::wire::testutil;

namespace {
// csum_finish() returns the memory representation; the reference returns host order.
uint16_t fast_csum_host(const uint8_t* p, size_t n, uint32_t sum = 0) {
    const uint16_t raw = csum_finish(csum_add(p, n, sum));
    uint8_t b[2];
    std::memcpy(b, &raw, 2);
    return load_be16(b);
}
}  // namespace

// RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's complement, big-endian words).
TEST(Checksum, Rfc1071Example) {
    const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    const uint16_t folded = csum_fold(csum_add(b, sizeof b, 0));
    uint8_t out[2];
    std::memcpy(out, &folded, 2);
    EXPECT_EQ(load_be16(out), 0xddf2);
    EXPECT_EQ(fast_csum_host(b, sizeof b), static_cast<uint16_t>(~0xddf2));
}

TEST(Checksum, KnownIpv4Header) {
    // A textbook header (Wikipedia's example): checksum b861.
    uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    EXPECT_EQ(fast_csum_host(h, 20), 0xb861);
    store_be16(h + 10, 0xb861);
    EXPECT_TRUE(csum_ok(csum_add(h, 20, 0)));
}

TEST(Checksum, EmptyAndAllZero) {
    const uint8_t z[64] = {};
    EXPECT_EQ(fast_csum_host(z, 0), 0xFFFF);
    EXPECT_EQ(fast_csum_host(z, 64), 0xFFFF);
}

// Every length 0..300 at every alignment 0..7, with a random starting sum: equal to the reference.
TEST(Checksum, MatchesReferenceAtEveryLengthAndAlignment) {
    std::mt19937 rng(12345);
    std::vector<uint8_t> buf(320);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    for (size_t align = 0; align < 8; ++align) {
        for (size_t len = 0; len <= 300; ++len) {
            const uint32_t start = rng() & 0xFFFF;
            const uint8_t* p = buf.data() + align;
            ASSERT_EQ(fast_csum_host(p, len, bswap16(static_cast<uint16_t>(start))), ref_csum(p, len, start))
                << "len " << len << " align " << align;
        }
    }
}

// All 0xFF bytes: the 64-bit accumulator carries out on every add; the end-around carries must all count.
TEST(Checksum, ManyCarries) {
    std::vector<uint8_t> ff(65536, 0xFF);
    for (size_t len : {8u, 32u, 40u, 1500u, 9000u, 65535u, 65536u})
        EXPECT_EQ(fast_csum_host(ff.data(), len, 0xFFFFFFFFu), ref_csum(ff.data(), len, 0xFFFF + 0xFFFF)) << len;
}

TEST(Checksum, PiecesOfEvenLengthAddUp) {
    std::mt19937 rng(7);
    std::vector<uint8_t> buf(1001);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    const uint32_t whole = csum_add(buf.data(), buf.size(), 0);
    const uint32_t parts = csum_add(buf.data() + 500, 501, csum_add(buf.data() + 14, 486, csum_add(buf.data(), 14, 0)));
    EXPECT_EQ(csum_fold(whole), csum_fold(parts));
}

TEST(Checksum, PseudoHeaderMatchesReference) {
    const Ipv4 s{0xC0000201}, d{0xC0000202};
    const uint16_t folded = csum_fold(csum_pseudo(s, d, 6, 40));
    uint8_t out[2];
    std::memcpy(out, &folded, 2);
    EXPECT_EQ(load_be16(out), ref_sum(nullptr, 0, ref_pseudo(s, d, 6, 40)));
}

// RFC 1624 §4's example: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
TEST(Checksum, Rfc1624Example) {
    auto raw = [](uint16_t host) { return bswap16(host); };
    EXPECT_EQ(csum_update16(raw(0xdd2f), raw(0x5555), raw(0x3285)), raw(0x0000));
}

// Property: for random headers and random edits of an aligned 16- or 32-bit field, the incremental
// update equals recomputing the checksum from scratch (fixed seed, 10^4 cases each).
TEST(Checksum, IncrementalEqualsFullRecomputation) {
    std::mt19937 rng(20240611);
    uint8_t h[60];
    for (int iter = 0; iter < 10000; ++iter) {
        const size_t len = 20 + 4 * (rng() % 11);
        for (size_t i = 0; i < len; ++i) h[i] = static_cast<uint8_t>(rng());
        store_raw16(h + 10, 0);
        store_raw16(h + 10, csum_finish(csum_add(h, len, 0)));
        const uint16_t before = load_raw16(h + 10);
        // An even offset other than the checksum's own.
        size_t off;
        do off = 2 * (rng() % (len / 2 - 1)); while (off == 10);
        if (rng() & 1) {
            const uint16_t old_v = load_raw16(h + off);
            const uint16_t new_v = static_cast<uint16_t>(rng());
            store_raw16(h + off, new_v);
            store_raw16(h + 10, csum_update16(before, old_v, new_v));
        } else {
            if (off + 4 > len || (off <= 10 && off + 4 > 10)) continue;
            const uint32_t old_v = load_raw32(h + off);
            const uint32_t new_v = static_cast<uint32_t>(rng());
            std::memcpy(h + off, &new_v, 4);
            store_raw16(h + 10, csum_update32(before, old_v, new_v));
        }
        const uint16_t incremental = load_raw16(h + 10);
        store_raw16(h + 10, 0);
        ASSERT_EQ(incremental, csum_finish(csum_add(h, len, 0))) << "iteration " << iter;
    }
}
