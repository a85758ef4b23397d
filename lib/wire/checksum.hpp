// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update), RFC 9293 §3.1 and
// RFC 792 (what TCP and ICMP cover), RFC 791 (IPv4 header), RFC 8200 §8.1 and RFC 4443 §2.3 (the IPv6
// pseudo-header under TCP and ICMPv6).
//
// Byte order. The one's-complement sum is independent of byte order (RFC 1071 §2(B)): summing the
// buffer as native little-endian 16-bit words gives the byte-swapped network-order sum, and storing the
// folded result natively (memcpy, no swap) puts the right bytes on the wire. So every value here is in
// *memory representation*: a 16-bit word is what `memcpy(&u16, p, 2)` reads from the packet, and the
// checksum to store is written back the same way. Never hton/ntoh a checksum or a value fed to one,
// except through csum_pseudo() and csum_pseudo6(), which take host-order lengths (and csum_pseudo() host-order
// addresses) and convert them themselves.
//
// Speed. Every frame passes through csum_add() when the NIC has no checksum offload, so it reads 8 bytes
// at a time into a 128-bit accumulator (the compiler emits add/adc: one cycle per 8 bytes); the carries
// collected in the high half are added back ("end-around carry") when the sum is folded.
#pragma once
#include "core/endian.hpp"
#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace synwave::wire {

namespace detail {
__extension__ typedef unsigned __int128 u128;  // __extension__: a GNU type, accepted by GCC and Clang

[[nodiscard]] inline uint32_t fold64(uint64_t s) {
    s = (s & 0xFFFF'FFFFu) + (s >> 32);  // <= 2^33
    s = (s & 0xFFFF'FFFFu) + (s >> 32);  // <= 2^32 (one more carry at most)
    return static_cast<uint32_t>(s);
}
}  // namespace detail

// Adds `len` bytes at `p` to a partial sum and returns the new partial sum (32 bits, not yet folded to 16).
// A buffer may be summed in pieces; every piece but the last must have an even length, or the bytes after
// it would be summed in the wrong half of their 16-bit words.
[[nodiscard]] inline uint32_t csum_add(const void* data, size_t len, uint32_t sum) {
    const auto* p = static_cast<const uint8_t*>(data);
    detail::u128 acc = sum;
    while (len >= 32) {
        uint64_t a, b, c, d;
        std::memcpy(&a, p, 8);
        std::memcpy(&b, p + 8, 8);
        std::memcpy(&c, p + 16, 8);
        std::memcpy(&d, p + 24, 8);
        acc += a;
        acc += b;
        acc += c;
        acc += d;
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        uint64_t a;
        std::memcpy(&a, p, 8);
        acc += a;
        p += 8;
        len -= 8;
    }
    // The tail starts at a multiple of 8, so each piece keeps its position within its 16-bit words.
    if (len & 4) {
        uint32_t a;
        std::memcpy(&a, p, 4);
        acc += a;
        p += 4;
    }
    if (len & 2) {
        uint16_t a;
        std::memcpy(&a, p, 2);
        acc += a;
        p += 2;
    }
    if (len & 1) acc += *p;  // an odd last byte is the first (low in memory order) byte of a zero-padded word
    // End-around carry: the high half counts the carries out of bit 63; each is worth 1 (2^64 ≡ 1 mod 2^16-1).
    const auto lo = static_cast<uint64_t>(acc);
    const auto hi = static_cast<uint64_t>(acc >> 64);
    const uint64_t s = lo + hi;
    return detail::fold64(s + (s < lo));
}

// Folds a partial sum to 16 bits (one's-complement addition of its halves). Not inverted.
[[nodiscard]] inline uint16_t csum_fold(uint32_t sum) {
    sum = (sum & 0xFFFF) + (sum >> 16);
    sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// The value to store in a checksum field: the complement of the folded sum (memory representation).
[[nodiscard]] inline uint16_t csum_finish(uint32_t sum) { return static_cast<uint16_t>(~csum_fold(sum)); }

// A header or message whose stored checksum is right sums (checksum field included) to 0xFFFF.
[[nodiscard]] inline bool csum_ok(uint32_t sum) { return csum_fold(sum) == 0xFFFF; }

// Sum of the TCP/UDP pseudo-header (RFC 9293 §3.1): source, destination, zero, protocol, L4 length.
// Addresses and length in host order; the result is a partial sum in memory representation.
[[nodiscard]] inline uint32_t csum_pseudo(Ipv4 src, Ipv4 dst, uint8_t proto, uint16_t l4_len) {
    const uint64_t s = uint64_t{hton32(src.v)} + hton32(dst.v) + hton16(proto) + hton16(l4_len);
    return detail::fold64(s);
}

// Sum of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination (network order, as stored in Ipv6),
// the 32-bit upper-layer length and the next header value (the upper-layer protocol, not the first
// extension header's). The result is a partial sum in memory representation, like csum_pseudo()'s.
[[nodiscard]] inline uint32_t csum_pseudo6(const Ipv6& src, const Ipv6& dst, uint8_t next, uint32_t len) {
    uint64_t a[4];
    std::memcpy(a, src.b.data(), 16);
    std::memcpy(a + 2, dst.b.data(), 16);
    detail::u128 acc = a[0];
    acc += a[1];
    acc += a[2];
    acc += a[3];
    acc += uint64_t{hton32(len)} + hton32(next);  // the zero octets add nothing
    const auto lo = static_cast<uint64_t>(acc);
    const uint64_t s = lo + static_cast<uint64_t>(acc >> 64);
    return detail::fold64(s + (s < lo));
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word m changed to m' (memory representation).
// Eqn. 3 (unlike eqn. 2) never turns a checksum of 0x0000 into 0xFFFF, so the result equals a full
// recomputation for any header that is not all zeros.
[[nodiscard]] inline uint16_t csum_update16(uint16_t old_csum, uint16_t old_val, uint16_t new_val) {
    uint32_t s = uint32_t{static_cast<uint16_t>(~old_csum)} + static_cast<uint16_t>(~old_val) + new_val;
    return static_cast<uint16_t>(~csum_fold(s));
}

// The same for a 32-bit field (a sequence number, an address) that starts at an even offset.
[[nodiscard]] inline uint16_t csum_update32(uint16_t old_csum, uint32_t old_val, uint32_t new_val) {
    uint64_t s = uint64_t{static_cast<uint16_t>(~old_csum)} + (~old_val & 0xFFFF) + (~old_val >> 16) +
                 (new_val & 0xFFFF) + (new_val >> 16);
    return static_cast<uint16_t>(~csum_fold(detail::fold64(s)));
}

// Reads/writes a 16- or 32-bit field in memory representation, for the incremental updates above.
[[nodiscard]] inline uint16_t load_raw16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
[[nodiscard]] inline uint32_t load_raw32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline void store_raw16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

}  // namespace synwave::wire
