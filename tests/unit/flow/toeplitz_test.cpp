// Toeplitz/RSS, IPv4 and IPv6: the published verification vectors, DPDK's rte_softrss() as an independent
// reference on random tuples and keys, the symmetric key, the RETA mirror and the port picker.
#include "flow/toeplitz.hpp"

#include <gtest/gtest.h>

#include <rte_thash.h>

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

#include "core/endian.hpp"

namespace synwave::flow {
namespace {

// DPDK's software RSS over its IPv4 tuple (host-order words: src, dst, then sport:dport).
uint32_t dpdk_l4(const uint8_t* key, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
    rte_ipv4_tuple t{};
    t.src_addr = src;
    t.dst_addr = dst;
    t.sport = sport;
    t.dport = dport;
    return rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L4_LEN, key);
}
uint32_t dpdk_l3(const uint8_t* key, uint32_t src, uint32_t dst) {
    rte_ipv4_tuple t{};
    t.src_addr = src;
    t.dst_addr = dst;
    return rte_softrss(reinterpret_cast<uint32_t*>(&t), RTE_THASH_V4_L3_LEN, key);
}

// DPDK's software RSS over its IPv6 tuple: the addresses loaded from an IPv6 header the way DPDK's RX path
// does (rte_thash_load_v6_addrs: four host-order words each), the ports in host order.
uint32_t dpdk_v6(const uint8_t* key, const Ipv6& src, const Ipv6& dst, uint16_t sport, uint16_t dport,
                 bool l4 = true) {
    rte_ipv6_hdr hdr{};
    std::copy(src.b.begin(), src.b.end(), hdr.src_addr);
    std::copy(dst.b.begin(), dst.b.end(), hdr.dst_addr);
    rte_thash_tuple t{};
    rte_thash_load_v6_addrs(&hdr, &t);
    t.v6.sport = sport;
    t.v6.dport = dport;
    return rte_softrss(reinterpret_cast<uint32_t*>(&t.v6), l4 ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN, key);
}

// The 12 input bytes as they appear on the wire: addresses then ports, network order.
std::array<uint8_t, 12> wire_tuple(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport) {
    std::array<uint8_t, 12> b{};
    store_be32(b.data(), src);
    store_be32(b.data() + 4, dst);
    store_be16(b.data() + 8, sport);
    store_be16(b.data() + 10, dport);
    return b;
}

// The 36 input bytes of an IPv6 tuple on the wire.
std::array<uint8_t, 36> wire_tuple6(const Ipv6& src, const Ipv6& dst, uint16_t sport, uint16_t dport) {
    std::array<uint8_t, 36> b{};
    std::copy(src.b.begin(), src.b.end(), b.begin());
    std::copy(dst.b.begin(), dst.b.end(), b.begin() + 16);
    store_be16(b.data() + 32, sport);
    store_be16(b.data() + 34, dport);
    return b;
}

Ipv6 v6(const char* text) {
    const std::optional<Ipv6> a = Ipv6::parse(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(Ipv6{});
}

Ipv6 random_v6(std::mt19937_64& rng) {
    Ipv6 a;
    for (auto& byte : a.b) byte = static_cast<uint8_t>(rng());
    return a;
}

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

// Microsoft "Verifying the RSS Hash Calculation", IPv4 table (= Intel 82599 datasheet §7.1.2.8.3), with the
// default key. Hash input is (source, destination); the table lists the destination first.
struct Vector {
    uint32_t dst_ip;
    uint16_t dst_port;
    uint32_t src_ip;
    uint16_t src_port;
    uint32_t ipv4_only;
    uint32_t ipv4_tcp;
};
constexpr Vector kMicrosoftVectors[] = {
    {ip(161, 142, 100, 80), 1766, ip(66, 9, 149, 187), 2794, 0x323e8fc2, 0x51ccc178},
    {ip(65, 69, 140, 83), 4739, ip(199, 92, 111, 2), 14230, 0xd718262a, 0xc626b0ea},
    {ip(12, 22, 207, 184), 38024, ip(24, 19, 198, 95), 12898, 0xd2d0a5de, 0x5c2b394a},
    {ip(209, 142, 163, 6), 2217, ip(38, 27, 205, 30), 48228, 0x82989176, 0xafc7327f},
    {ip(202, 188, 127, 2), 1303, ip(153, 39, 163, 191), 44251, 0x5d1809c5, 0x10e828a2},
};

TEST(Toeplitz, MicrosoftVerificationVectors) {
    const ToeplitzV4 rss(kDefaultRssKey);
    for (const Vector& v : kMicrosoftVectors) {
        SCOPED_TRACE(v.ipv4_tcp);
        EXPECT_EQ(rss.hash(v.src_ip, v.dst_ip, v.src_port, v.dst_port), v.ipv4_tcp);
        EXPECT_EQ(rss.hash_l3(v.src_ip, v.dst_ip), v.ipv4_only);
        const auto in = wire_tuple(v.src_ip, v.dst_ip, v.src_port, v.dst_port);
        EXPECT_EQ(toeplitz(kDefaultRssKey.data(), kDefaultRssKey.size(), in.data(), 12), v.ipv4_tcp);
        EXPECT_EQ(toeplitz(kDefaultRssKey.data(), kDefaultRssKey.size(), in.data(), 8), v.ipv4_only);
        // DPDK agrees too (this checks the reference against the reference).
        EXPECT_EQ(dpdk_l4(kDefaultRssKey.data(), v.src_ip, v.dst_ip, v.src_port, v.dst_port), v.ipv4_tcp);
    }
}

void expect_matches_dpdk(const std::array<uint8_t, kRssKeyLen>& key, uint64_t seed) {
    const ToeplitzV4 rss(key);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 10'000; ++i) {
        const auto src = static_cast<uint32_t>(rng());
        const auto dst = static_cast<uint32_t>(rng());
        const auto sport = static_cast<uint16_t>(rng());
        const auto dport = static_cast<uint16_t>(rng());
        const uint32_t want = dpdk_l4(key.data(), src, dst, sport, dport);
        ASSERT_EQ(rss.hash(src, dst, sport, dport), want) << i;
        const auto in = wire_tuple(src, dst, sport, dport);
        ASSERT_EQ(toeplitz(key.data(), key.size(), in.data(), 12), want) << i;
        ASSERT_EQ(rss.hash_l3(src, dst), dpdk_l3(key.data(), src, dst)) << i;
    }
}

TEST(Toeplitz, MatchesRteSoftrssWithDefaultKey) { expect_matches_dpdk(kDefaultRssKey, 1); }

TEST(Toeplitz, MatchesRteSoftrssWithRandomKeys) {
    std::mt19937_64 rng(77);
    for (int round = 0; round < 3; ++round) {
        std::array<uint8_t, kRssKeyLen> key{};
        for (auto& b : key) b = static_cast<uint8_t>(rng());
        expect_matches_dpdk(key, 100 + round);
    }
}

TEST(Toeplitz, ReferenceIsLinearAndZeroExtendsShortKeys) {
    // A single set bit at input bit i selects key bits [i, i + 32).
    const uint8_t key[8] = {0x80, 0, 0, 0x01, 0xff, 0, 0, 0};
    const uint8_t msb[1] = {0x80};
    EXPECT_EQ(toeplitz(key, 8, msb, 1), 0x80000001u);
    // Bit 7 selects key bits 7..38: bit 31 (the 0x01 byte) lands on result bit 7, bits 32..38 (0xff) on 6..0.
    const uint8_t lsb[1] = {0x01};
    EXPECT_EQ(toeplitz(key, 8, lsb, 1), 0x000000ffu);
    const uint8_t both[1] = {0x81};  // linear: the XOR of the two
    EXPECT_EQ(toeplitz(key, 8, both, 1), 0x80000001u ^ 0x000000ffu);
    // Past the key's end the bits are zero: a 4-byte key hashes a 1-byte input, bit 7 sees 25 key bits.
    const uint8_t k4[4] = {0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(toeplitz(k4, 4, lsb, 1), 0xffffff80u);
    EXPECT_EQ(toeplitz(k4, 4, msb, 1), 0xffffffffu);
    const uint8_t none[2] = {0, 0};
    EXPECT_EQ(toeplitz(kDefaultRssKey.data(), kRssKeyLen, none, 2), 0u);
}

// With the 0x6d5a key both directions of a connection hash alike.
TEST(Toeplitz, SymmetricKeyHashesBothDirectionsAlike) {
    const ToeplitzV4 sym(kSymmetricRssKey);
    const ToeplitzV4 def(kDefaultRssKey);
    std::mt19937_64 rng(5);
    int asymmetric_with_default = 0;
    for (int i = 0; i < 10'000; ++i) {
        const auto a = static_cast<uint32_t>(rng());
        const auto b = static_cast<uint32_t>(rng());
        const auto pa = static_cast<uint16_t>(rng());
        const auto pb = static_cast<uint16_t>(rng());
        ASSERT_EQ(sym.hash(a, b, pa, pb), sym.hash(b, a, pb, pa)) << i;
        ASSERT_EQ(sym.hash(a, b, pa, pb), dpdk_l4(kSymmetricRssKey.data(), a, b, pa, pb)) << i;
        asymmetric_with_default += def.hash(a, b, pa, pb) != def.hash(b, a, pb, pa);
    }
    EXPECT_GT(asymmetric_with_default, 9'990);  // the default key is not symmetric
}

// Microsoft "Verifying the RSS Hash Calculation", IPv6 table (= Intel 82599 datasheet §7.1.2.8.3), default
// key; destination listed first as above.
struct Vector6 {
    const char* dst_ip;
    uint16_t dst_port;
    const char* src_ip;
    uint16_t src_port;
    uint32_t ipv6_only;
    uint32_t ipv6_tcp;
};
constexpr Vector6 kMicrosoftVectors6[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985, 0x02d1feef},
};

TEST(ToeplitzV6, MicrosoftVerificationVectors) {
    const ToeplitzV6 rss(kDefaultRssKey);
    for (const Vector6& v : kMicrosoftVectors6) {
        SCOPED_TRACE(v.src_ip);
        const Ipv6 src = v6(v.src_ip);
        const Ipv6 dst = v6(v.dst_ip);
        EXPECT_EQ(rss.hash(src, dst, v.src_port, v.dst_port), v.ipv6_tcp);
        EXPECT_EQ(rss.hash_l3(src, dst), v.ipv6_only);
        EXPECT_EQ(rss.hash(src, dst, v.src_port, 0) ^ rss.dst_port_part(v.dst_port), v.ipv6_tcp);
        const auto in = wire_tuple6(src, dst, v.src_port, v.dst_port);
        EXPECT_EQ(toeplitz(kDefaultRssKey.data(), kDefaultRssKey.size(), in.data(), 36), v.ipv6_tcp);
        EXPECT_EQ(toeplitz(kDefaultRssKey.data(), kDefaultRssKey.size(), in.data(), 32), v.ipv6_only);
        EXPECT_EQ(dpdk_v6(kDefaultRssKey.data(), src, dst, v.src_port, v.dst_port), v.ipv6_tcp);
        EXPECT_EQ(dpdk_v6(kDefaultRssKey.data(), src, dst, 0, 0, false), v.ipv6_only);
    }
}

void expect_v6_matches_dpdk(const std::array<uint8_t, kRssKeyLen>& key, uint64_t seed) {
    const ToeplitzV6 rss(key);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 10'000; ++i) {
        const Ipv6 src = random_v6(rng);
        const Ipv6 dst = random_v6(rng);
        const auto sport = static_cast<uint16_t>(rng());
        const auto dport = static_cast<uint16_t>(rng());
        const uint32_t want = dpdk_v6(key.data(), src, dst, sport, dport);
        ASSERT_EQ(rss.hash(src, dst, sport, dport), want) << i;
        const auto in = wire_tuple6(src, dst, sport, dport);
        ASSERT_EQ(toeplitz(key.data(), key.size(), in.data(), 36), want) << i;
        ASSERT_EQ(rss.hash_l3(src, dst), dpdk_v6(key.data(), src, dst, 0, 0, false)) << i;
    }
}

TEST(ToeplitzV6, MatchesRteSoftrssWithDefaultKey) { expect_v6_matches_dpdk(kDefaultRssKey, 11); }
TEST(ToeplitzV6, MatchesRteSoftrssWithSymmetricKey) { expect_v6_matches_dpdk(kSymmetricRssKey, 12); }

TEST(ToeplitzV6, MatchesRteSoftrssWithRandomKeys) {
    std::mt19937_64 rng(78);
    for (int round = 0; round < 3; ++round) {
        std::array<uint8_t, kRssKeyLen> key{};
        for (auto& b : key) b = static_cast<uint8_t>(rng());
        expect_v6_matches_dpdk(key, 200 + round);
    }
}

// Every byte position counts: a tuple differing from another in one byte hashes differently for (nearly)
// every position and value with the default key; a table wired to the wrong position would not.
TEST(ToeplitzV6, EveryInputByteMatters) {
    const ToeplitzV6 rss(kDefaultRssKey);
    std::mt19937_64 rng(9);
    const Ipv6 src = random_v6(rng);
    const Ipv6 dst = random_v6(rng);
    const uint32_t h = rss.hash(src, dst, 1234, 80);
    for (size_t pos = 0; pos < 36; ++pos) {
        Ipv6 s = src;
        Ipv6 d = dst;
        uint16_t sp = 1234;
        uint16_t dp = 80;
        const auto flip = static_cast<uint8_t>(1u << (pos % 8));
        if (pos < 16) {
            s.b[pos] ^= flip;
        } else if (pos < 32) {
            d.b[pos - 16] ^= flip;
        } else if (pos < 34) {
            sp = static_cast<uint16_t>(sp ^ (flip << (pos == 32 ? 8 : 0)));
        } else {
            dp = static_cast<uint16_t>(dp ^ (flip << (pos == 34 ? 8 : 0)));
        }
        const uint32_t h2 = rss.hash(s, d, sp, dp);
        EXPECT_NE(h2, h) << pos;
        EXPECT_EQ(h2, dpdk_v6(kDefaultRssKey.data(), s, d, sp, dp)) << pos;
    }
}

TEST(ToeplitzV6, SymmetricKeyHashesBothDirectionsAlike) {
    const ToeplitzV6 sym(kSymmetricRssKey);
    const ToeplitzV6 def(kDefaultRssKey);
    std::mt19937_64 rng(6);
    int asymmetric_with_default = 0;
    for (int i = 0; i < 10'000; ++i) {
        const Ipv6 a = random_v6(rng);
        const Ipv6 b = random_v6(rng);
        const auto pa = static_cast<uint16_t>(rng());
        const auto pb = static_cast<uint16_t>(rng());
        ASSERT_EQ(sym.hash(a, b, pa, pb), sym.hash(b, a, pb, pa)) << i;
        ASSERT_EQ(sym.hash_l3(a, b), sym.hash_l3(b, a)) << i;
        asymmetric_with_default += def.hash(a, b, pa, pb) != def.hash(b, a, pb, pa);
    }
    EXPECT_GT(asymmetric_with_default, 9'990);
}

TEST(Reta, DefaultIsRoundRobinOverLowBits) {
    const Reta r(128, 3);
    EXPECT_EQ(r.size(), 128u);
    for (uint32_t i = 0; i < 128; ++i) EXPECT_EQ(r.at(i), i % 3);
    // hash % 128 picks the entry.
    EXPECT_EQ(r.queue_of(0x51ccc178u), (0x51ccc178u % 128) % 3);  // entry 120 -> queue 0
    EXPECT_EQ(r.queue_of(0x51ccc178u), 0u);
    EXPECT_EQ(r.queue_of(0xffffffffu), 127u % 3);
    Reta s(512, 4);
    s.set(0x178, 3);
    EXPECT_EQ(s.queue_of(0x51ccc178u), 3u);  // 0x51ccc178 % 512 = 0x178
    EXPECT_TRUE(Reta::valid_size(64));
    EXPECT_TRUE(Reta::valid_size(2048));
    EXPECT_FALSE(Reta::valid_size(0));
    EXPECT_FALSE(Reta::valid_size(96));
}

// Checks, for every queue, that pick() returns exactly the ports whose return packets DPDK's rte_softrss
// (`dpdk_return_hash` of the port) and the RETA send to that queue, and that the queues partition [lo, hi].
void expect_partition(const PortPicker& picker, const std::function<uint32_t(uint16_t)>& dpdk_return_hash,
                      const Reta& reta, uint16_t nq, uint16_t lo, uint16_t hi) {
    std::vector<uint16_t> all;
    std::vector<uint16_t> buf(65536);
    for (uint16_t q = 0; q < nq; ++q) {
        const size_t n = picker.pick(q, lo, hi, buf);
        ASSERT_EQ(n, picker.count(q, lo, hi));
        ASSERT_GT(n, 0u);
        for (size_t i = 0; i < n; ++i) {
            const uint16_t p = buf[i];
            ASSERT_GE(p, lo);
            ASSERT_LE(p, hi);
            if (i > 0) {
                ASSERT_LT(buf[i - 1], p);  // ascending
            }
            const uint32_t h = dpdk_return_hash(p);
            ASSERT_EQ(picker.return_hash(p), h);
            ASSERT_EQ(reta.queue_of(h), q) << "port " << p;
            all.push_back(p);
        }
        // next() walks the same sequence.
        std::optional<uint16_t> w = picker.next(q, lo, hi);
        for (size_t i = 0; i < n; ++i) {
            ASSERT_TRUE(w.has_value());
            ASSERT_EQ(*w, buf[i]);
            w = *w < hi ? picker.next(q, static_cast<uint16_t>(*w + 1), hi) : std::nullopt;
        }
        ASSERT_FALSE(w.has_value());
    }
    // The union over all queues is [lo, hi], each port exactly once.
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), static_cast<size_t>(hi - lo + 1));
    for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], lo + i);
}

// The server's packet to us: src = server, dst = client, sport = server port, dport = p.
void expect_partition(const std::array<uint8_t, kRssKeyLen>& key, const Reta& reta, uint16_t nq, uint16_t lo,
                      uint16_t hi) {
    const ToeplitzV4 rss(key);
    const uint32_t server_ip = ip(198, 51, 100, 7);
    const uint16_t server_port = 443;
    const uint32_t client_ip = ip(10, 1, 2, 3);
    const PortPicker picker(rss, reta, server_ip, server_port, client_ip);
    expect_partition(
        picker, [&](uint16_t p) { return dpdk_l4(key.data(), server_ip, client_ip, server_port, p); }, reta, nq, lo,
        hi);
}

void expect_partition_v6(const std::array<uint8_t, kRssKeyLen>& key, const Reta& reta, uint16_t nq, uint16_t lo,
                         uint16_t hi) {
    const ToeplitzV6 rss(key);
    const Ipv6 server_ip = v6("2001:db8:51:100::7");
    const uint16_t server_port = 443;
    const Ipv6 client_ip = v6("2001:db8:a:1:2::3");
    const PortPicker picker(rss, reta, server_ip, server_port, client_ip);
    expect_partition(
        picker, [&](uint16_t p) { return dpdk_v6(key.data(), server_ip, client_ip, server_port, p); }, reta, nq, lo,
        hi);
}

TEST(PortPicker, DefaultKeyFourQueuesPartitionEphemeralRange) {
    expect_partition(kDefaultRssKey, Reta(128, 4), 4, 1024, 65535);
}

TEST(PortPicker, ThreeQueuesOn512EntryRetaAndFullRange) {
    expect_partition(kDefaultRssKey, Reta(512, 3), 3, 0, 65535);
}

TEST(PortPicker, ReprogrammedRetaIsSeen) {
    Reta reta(64, 2);
    // Skew the table: queue 1 gets only entries 0 and 1, queue 0 the other 62.
    for (uint32_t i = 0; i < 64; ++i) reta.set(i, i < 2 ? 1 : 0);
    expect_partition(kDefaultRssKey, reta, 2, 32768, 40959);
    const ToeplitzV4 rss(kDefaultRssKey);
    const PortPicker picker(rss, reta, ip(1, 1, 1, 1), 80, ip(2, 2, 2, 2));
    const uint32_t q1 = picker.count(1, 0, 65535);
    EXPECT_GT(q1, 65536u / 32 - 400);  // ~2/64 of the ports
    EXPECT_LT(q1, 65536u / 32 + 400);
}

TEST(PortPicker, SymmetricKeyPicksAreRightInBothDirections) {
    const Reta reta(128, 4);
    expect_partition(kSymmetricRssKey, reta, 4, 1024, 65535);
    const ToeplitzV4 rss(kSymmetricRssKey);
    const uint32_t server_ip = ip(203, 0, 113, 9);
    const uint32_t client_ip = ip(192, 168, 7, 1);
    const PortPicker picker(rss, reta, server_ip, 8080, client_ip);
    std::vector<uint16_t> buf(65536);
    const size_t n = picker.pick(2, 1024, 65535, buf);
    ASSERT_GT(n, 0u);
    for (size_t i = 0; i < n; ++i) {
        // The client's own SYN (src = client:p, dst = server:8080) lands on the same queue.
        ASSERT_EQ(reta.queue_of(rss.hash(client_ip, server_ip, buf[i], 8080)), 2u);
    }
}

TEST(PortPicker, PickStopsWhenOutputIsFull) {
    const Reta reta(128, 4);
    const ToeplitzV4 rss(kDefaultRssKey);
    const PortPicker picker(rss, reta, ip(1, 2, 3, 4), 80, ip(5, 6, 7, 8));
    std::vector<uint16_t> all(65536);
    const size_t total = picker.pick(1, 1024, 65535, all);
    std::array<uint16_t, 10> few{};
    ASSERT_EQ(picker.pick(1, 1024, 65535, few), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(few[i], all[i]);
    EXPECT_GT(total, 10u);
    EXPECT_EQ(picker.pick(1, 2000, 1999, all), 0u);  // empty range
    EXPECT_EQ(picker.count(1, 2000, 1999), 0u);
}

TEST(PortPickerV6, DefaultKeyFourQueuesPartitionEphemeralRange) {
    expect_partition_v6(kDefaultRssKey, Reta(128, 4), 4, 1024, 65535);
}

TEST(PortPickerV6, ThreeQueuesOn512EntryRetaAndFullRange) {
    expect_partition_v6(kDefaultRssKey, Reta(512, 3), 3, 0, 65535);
}

TEST(PortPickerV6, SymmetricKeyPicksAreRightInBothDirections) {
    const Reta reta(128, 4);
    expect_partition_v6(kSymmetricRssKey, reta, 4, 1024, 65535);
    const ToeplitzV6 rss(kSymmetricRssKey);
    const Ipv6 server_ip = v6("2001:db8::9");
    const Ipv6 client_ip = v6("fd00:7::1");
    const PortPicker picker(rss, reta, server_ip, 8080, client_ip);
    std::vector<uint16_t> buf(65536);
    const size_t n = picker.pick(2, 1024, 65535, buf);
    ASSERT_GT(n, 0u);
    for (size_t i = 0; i < n; ++i) {
        // The client's own SYN (src = client:p, dst = server:8080) lands on the same queue.
        ASSERT_EQ(reta.queue_of(dpdk_v6(kSymmetricRssKey.data(), client_ip, server_ip, buf[i], 8080)), 2u);
    }
}

}  // namespace
}  // namespace synwave::flow
