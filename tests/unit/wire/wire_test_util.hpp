// Helpers for the wire tests: an independent, deliberately naive checksum (the oracle the fast one is
// checked against), and in-place fixes that let a test change one field and keep every other check happy.
#pragma once
#include "captures.hpp"
#include "wire/frame.hpp"

#include <cstdint>
#include <vector>

namespace synwave::wire::testutil {

using Bytes = std::vector<uint8_t>;

template <size_t N>
Bytes bytes_of(const uint8_t (&a)[N]) {
    return Bytes(a, a + N);
}

// RFC 1071 the slow way: big-endian 16-bit words, 32-bit sum, carries folded at the end.
inline uint16_t ref_sum(const uint8_t* p, size_t n, uint32_t start = 0) {
    uint64_t s = start;
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t{p[i]} << 8) | p[i + 1];
    if (n & 1) s += uint32_t{p[n - 1]} << 8;
    while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
    return static_cast<uint16_t>(s);
}
// The checksum to store, in host order (store with store_be16).
inline uint16_t ref_csum(const uint8_t* p, size_t n, uint32_t start = 0) {
    return static_cast<uint16_t>(~ref_sum(p, n, start));
}
inline uint32_t ref_pseudo(Ipv4 s, Ipv4 d, uint8_t proto, uint16_t len) {
    return (s.v >> 16) + (s.v & 0xFFFF) + (d.v >> 16) + (d.v & 0xFFFF) + proto + len;
}

// Offsets of an untagged or tagged IPv4 frame.
inline size_t l3_of(const Bytes& f) { return load_be16(&f[12]) == eth::kTypeVlan ? 18 : 14; }
inline size_t l4_of(const Bytes& f) { return l3_of(f) + (f[l3_of(f)] & 0x0F) * 4; }

inline void fix_ip_csum(Bytes& f) {
    uint8_t* ip = &f[l3_of(f)];
    store_be16(ip + ipv4::kOffCsum, 0);
    store_be16(ip + ipv4::kOffCsum, ref_csum(ip, (ip[0] & 0x0F) * 4));
}
// The L4 length is taken from the IPv4 total length.
inline void fix_l4_csum(Bytes& f) {
    uint8_t* ip = &f[l3_of(f)];
    uint8_t* l4 = &f[l4_of(f)];
    const uint16_t l4_len = static_cast<uint16_t>(load_be16(ip + 2) - (ip[0] & 0x0F) * 4);
    if (ip[ipv4::kOffProto] == ipv4::kProtoTcp) {
        store_be16(l4 + tcp::kOffCsum, 0);
        const uint32_t ph = ref_pseudo(Ipv4{load_be32(ip + 12)}, Ipv4{load_be32(ip + 16)}, 6, l4_len);
        store_be16(l4 + tcp::kOffCsum, ref_csum(l4, l4_len, ph));
    } else {
        store_be16(l4 + icmp::kOffCsum, 0);
        store_be16(l4 + icmp::kOffCsum, ref_csum(l4, l4_len));
    }
}
inline void fix_csums(Bytes& f) {
    fix_ip_csum(f);
    fix_l4_csum(f);
}

inline Drop parse(const Bytes& f, ParsedFrame& out, ParseConfig cfg = {}) {
    return parse_frame(f.data(), static_cast<uint32_t>(f.size()), cfg, out);
}

}  // namespace synwave::wire::testutil
