// SipHash-2-4 and SipHash-1-3: the keyed PRF behind ISNs (RFC 6528) and SYN cookies.
//
// Follows: J.-P. Aumasson, D. J. Bernstein, "SipHash: a fast short-input PRF" (INDOCRYPT 2012), and its
// reference implementation (github.com/veorq/SipHash), whose 64 test vectors (key 00..0f, message 00..n-1)
// the unit tests check for both variants.
//
// Why SipHash: RFC 6528 §3 asks for F() to be a PRF of the 4-tuple and a secret that an off-path attacker
// cannot invert; it names MD5 only as an example. SipHash is a PRF built for exactly this shape of input
// (a few machine words) and costs tens of cycles, so the SYN path can afford two or three of them per packet.
//
// Why two round counts:
//  - SipHash-2-4 is the paper's conservative choice. ISNs use it: one hash per connection, never hot.
//  - SipHash-1-3 (one compression round per word, three finalisation rounds) is what Rust's std HashMap,
//    CPython (since 3.11 for str/bytes hashing) and Linux's hsiphash on 64-bit use where speed matters
//    and only hash-flooding resistance is needed. SYN cookies run make (2 hashes) per SYN and check
//    (2 hashes) per cookie ACK at the rate of a SYN flood; 1-3 does 6 SipRounds over a 16-byte input
//    instead of 10. The cookie leaks at most 32 bits of each output to an attacker who can see our
//    SYN-ACKs; forging one still needs the keys, and no attack on 1-3 better than brute force on the
//    128-bit key is published. bench/tcp/cookie_bench.cpp measures both; see syncookie.hpp for the choice.
//
// The hot entry point is siphash_4tuple(): a fixed 16-byte message (two 32-bit addresses, two 16-bit
// ports, one 32-bit extra word), or 20 bytes with a second extra word, hashed with the message words formed
// directly in registers. It is defined to equal the byte-oriented hash of that message serialised
// little-endian, and the tests check that.
#pragma once
#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace synwave::tcp {

// A 128-bit SipHash key as the two little-endian 64-bit words (k0 = bytes 0..7, k1 = bytes 8..15).
struct SipKey {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
    constexpr bool operator==(const SipKey&) const = default;

    // The paper's byte order: k0 is the first 8 key bytes read little-endian.
    [[nodiscard]] static constexpr SipKey from_bytes(std::span<const uint8_t, 16> b) {
        SipKey k;
        for (int i = 7; i >= 0; --i) k.k0 = (k.k0 << 8) | b[static_cast<std::size_t>(i)];
        for (int i = 15; i >= 8; --i) k.k1 = (k.k1 << 8) | b[static_cast<std::size_t>(i)];
        return k;
    }
};

// The four numbers that name a TCP connection as this host sees it (local = our side), host byte order.
// Both ISN and cookie hashes take it in this orientation, so a SYN and the ACK that answers our SYN-ACK
// produce the same hash input.
struct Tuple4 {
    Ipv4 local_ip;
    Ipv4 remote_ip;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    // An IPv6 connection's addresses (local_ip and remote_ip are then only handles, flow/addr_table.hpp): the
    // hash covers these instead.
    const Ipv6* local6 = nullptr;
    const Ipv6* remote6 = nullptr;
    [[nodiscard]] constexpr bool v6() const { return local6 != nullptr; }
};

namespace detail {

[[nodiscard]] constexpr uint64_t rotl64(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

// The four-word SipHash state. Initialisation constants are the paper's ("somepseudorandomlygeneratedbytes"
// in ASCII); the rotation amounts 13, 16, 21, 17, 32 are the paper's SipRound.
struct SipState {
    uint64_t v0, v1, v2, v3;

    constexpr explicit SipState(SipKey k)
        : v0(k.k0 ^ 0x736f6d6570736575ull),
          v1(k.k1 ^ 0x646f72616e646f6dull),
          v2(k.k0 ^ 0x6c7967656e657261ull),
          v3(k.k1 ^ 0x7465646279746573ull) {}

    constexpr void round() {
        v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
        v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
        v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
        v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
    }

    // One message word: c compression rounds between the two XORs (paper §2.2).
    template <int C>
    constexpr void absorb(uint64_t m) {
        v3 ^= m;
        for (int i = 0; i < C; ++i) round();
        v0 ^= m;
    }

    // Finalisation: XOR 0xff into v2, d rounds, fold the state (paper §2.3).
    template <int D>
    [[nodiscard]] constexpr uint64_t finish() {
        v2 ^= 0xff;
        for (int i = 0; i < D; ++i) round();
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

} // namespace detail

// SipHash-c-d over arbitrary bytes: the reference algorithm, used by tests and off the data path.
// The last word carries the message length mod 256 in its top byte (paper §2.2).
template <int C, int D>
[[nodiscard]] constexpr uint64_t siphash(SipKey key, std::span<const uint8_t> msg) {
    detail::SipState s(key);
    const std::size_t n = msg.size();
    const std::size_t whole = n & ~std::size_t{7};
    for (std::size_t i = 0; i < whole; i += 8) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; --j) m = (m << 8) | msg[i + static_cast<std::size_t>(j)];
        s.absorb<C>(m);
    }
    uint64_t last = static_cast<uint64_t>(n & 0xff) << 56;
    for (std::size_t j = 0; j < (n & 7); ++j) last |= static_cast<uint64_t>(msg[whole + j]) << (8 * j);
    s.absorb<C>(last);
    return s.finish<D>();
}

[[nodiscard]] constexpr uint64_t siphash24(SipKey key, std::span<const uint8_t> msg) { return siphash<2, 4>(key, msg); }
[[nodiscard]] constexpr uint64_t siphash13(SipKey key, std::span<const uint8_t> msg) { return siphash<1, 3>(key, msg); }

// Length of the fixed message siphash_4tuple() hashes: 4 + 4 + 2 + 2 + 4 bytes.
inline constexpr std::size_t kTupleMessageBytes = 16;

// SipHash-c-d of the 16-byte message  a | b | c | d | extra  (each little-endian), i.e. exactly
// siphash<C, D>(key, bytes) of that serialisation, with the two message words built in registers:
//   m0 = a | b << 32,  m1 = c | d << 16 | extra << 32,  then the length word 16 << 56 (no tail bytes).
template <int C, int D>
[[nodiscard]] constexpr uint64_t siphash_4tuple(SipKey key, uint32_t a, uint32_t b, uint16_t c, uint16_t d,
                                                uint32_t extra) {
    detail::SipState s(key);
    s.absorb<C>(static_cast<uint64_t>(a) | (static_cast<uint64_t>(b) << 32));
    s.absorb<C>(static_cast<uint64_t>(c) | (static_cast<uint64_t>(d) << 16) | (static_cast<uint64_t>(extra) << 32));
    s.absorb<C>(static_cast<uint64_t>(kTupleMessageBytes) << 56);
    return s.finish<D>();
}

// The 20-byte message  a | b | c | d | extra | extra2  (little-endian): the same three absorptions as the
// 16-byte form, because the last four bytes share the length word:  m2 = extra2 | 20 << 56.
// So binding one more 32-bit value (a client ISN) into the hash costs nothing but an OR.
template <int C, int D>
[[nodiscard]] constexpr uint64_t siphash_4tuple(SipKey key, uint32_t a, uint32_t b, uint16_t c, uint16_t d,
                                                uint32_t extra, uint32_t extra2) {
    detail::SipState s(key);
    s.absorb<C>(static_cast<uint64_t>(a) | (static_cast<uint64_t>(b) << 32));
    s.absorb<C>(static_cast<uint64_t>(c) | (static_cast<uint64_t>(d) << 16) | (static_cast<uint64_t>(extra) << 32));
    s.absorb<C>(static_cast<uint64_t>(extra2) | (static_cast<uint64_t>(kTupleMessageBytes + 4) << 56));
    return s.finish<D>();
}

// The IPv6 form: the 40- or 44-byte message  local[16] | remote[16] | c | d | extra [| extra2], i.e.
// siphash<C, D>(key, bytes) of that serialisation: four address words ahead of the same tail as above.
template <int C, int D>
[[nodiscard]] constexpr uint64_t siphash_6tuple(SipKey key, const Ipv6& a, const Ipv6& b, uint16_t c, uint16_t d,
                                                uint32_t extra, const uint32_t* extra2) {
    detail::SipState s(key);
    auto word = [](const Ipv6& x, int at) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; --j) m = (m << 8) | x.b[static_cast<std::size_t>(at + j)];
        return m;
    };
    s.absorb<C>(word(a, 0));
    s.absorb<C>(word(a, 8));
    s.absorb<C>(word(b, 0));
    s.absorb<C>(word(b, 8));
    s.absorb<C>(static_cast<uint64_t>(c) | (static_cast<uint64_t>(d) << 16) | (static_cast<uint64_t>(extra) << 32));
    const uint64_t len = extra2 ? 44 : 40;
    s.absorb<C>((extra2 ? static_cast<uint64_t>(*extra2) : 0) | (len << 56));
    return s.finish<D>();
}

// The connection's 4-tuple as that message: local ip, remote ip, local port, remote port, extra [, extra2].
template <int C, int D>
[[nodiscard]] constexpr uint64_t siphash_tuple(SipKey key, const Tuple4& t, uint32_t extra) {
    if (t.v6()) return siphash_6tuple<C, D>(key, *t.local6, *t.remote6, t.local_port, t.remote_port, extra, nullptr);
    return siphash_4tuple<C, D>(key, t.local_ip.v, t.remote_ip.v, t.local_port, t.remote_port, extra);
}
template <int C, int D>
[[nodiscard]] constexpr uint64_t siphash_tuple(SipKey key, const Tuple4& t, uint32_t extra, uint32_t extra2) {
    if (t.v6()) return siphash_6tuple<C, D>(key, *t.local6, *t.remote6, t.local_port, t.remote_port, extra, &extra2);
    return siphash_4tuple<C, D>(key, t.local_ip.v, t.remote_ip.v, t.local_port, t.remote_port, extra, extra2);
}

} // namespace synwave::tcp
