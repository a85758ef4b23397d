// The connection 4-tuple as a table key, and its hash.
//
// A TCP connection is identified by the 4-tuple of RFC 9293 §3.1 ("a pair of sockets": local address and
// port, remote address and port). synwave serves IPv4 only, so the key is 12 bytes with no padding: it is
// compared as raw bytes (one SSE compare in the table) and hashed as one 64-bit and one 32-bit word.
//
// flow_hash() is the table's hash, not the NIC's: it only has to spread keys well and be cheap. It is
// CRC32C (one SSE4.2 instruction per word, available on every x86-64-v2 target) followed by the MurmurHash3
// 32-bit finaliser. CRC32C alone is linear over XOR, so structured key sets (a /24 of clients times a port
// range) could line up in the high bits the table uses for its bucket index; the finaliser is a bijection
// that makes every output bit depend on every input bit at a cost of ~5 cycles.
// The value is stable within one build; it is not a wire format and must not be stored across runs.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace synwave::flow {

struct FlowKey {
    uint32_t local_ip = 0;     // host byte order
    uint32_t remote_ip = 0;    // host byte order
    uint16_t local_port = 0;   // host byte order
    uint16_t remote_port = 0;  // host byte order
    constexpr bool operator==(const FlowKey&) const = default;
};
// The table compares keys as 12 raw bytes; that is only equality if there is no padding.
static_assert(sizeof(FlowKey) == 12, "FlowKey is 12 bytes: two IPv4 addresses and two ports");
static_assert(std::has_unique_object_representations_v<FlowKey>, "FlowKey must have no padding bytes");
static_assert(std::is_trivially_copyable_v<FlowKey>);

namespace detail {

// MurmurHash3 fmix32 (Austin Appleby, public domain): a bijection on 32 bits with full avalanche.
[[nodiscard]] constexpr uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

// Arbitrary non-zero seed (the first 32 bits of the fractional part of sqrt(2)), so the all-zero key
// does not hash to a CRC of zero.
inline constexpr uint32_t kFlowHashSeed = 0x6a09e667u;

}  // namespace detail

[[nodiscard]] inline uint32_t flow_hash(const FlowKey& k) {
    uint64_t addrs;
    uint32_t ports;
    std::memcpy(&addrs, &k, sizeof(addrs));
    std::memcpy(&ports, reinterpret_cast<const unsigned char*>(&k) + sizeof(addrs), sizeof(ports));
#if defined(__SSE4_2__)
    uint32_t h = static_cast<uint32_t>(_mm_crc32_u64(detail::kFlowHashSeed, addrs));
    h = _mm_crc32_u32(h, ports);
#else
    // Portable fallback (not the same values as the SSE4.2 build): a multiplicative mix of the words.
    uint64_t x = (addrs ^ detail::kFlowHashSeed) * 0x9e3779b97f4a7c15ull;
    x ^= (x >> 29) ^ (uint64_t{ports} * 0xbf58476d1ce4e5b9ull);
    uint32_t h = static_cast<uint32_t>(x ^ (x >> 32));
#endif
    return detail::fmix32(h);
}

}  // namespace synwave::flow
