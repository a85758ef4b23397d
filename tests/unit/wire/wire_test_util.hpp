// Helpers for the wire tests: an independent, deliberately naive checksum (the oracle the fast one is
// checked against), and in-place fixes that let a test change one field and keep every other check happy.
#pragma once
#include "captures.hpp"
#include "captures6.hpp"
#include "wire/frame.hpp"

#include <cstdint>
#include <utility>
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

// GCC 12 at -O3 reports false out-of-bounds copies (-Warray-bounds, -Wstringop-overflow) when a vector whose
// size it can see grows or is written past its first bytes; growing through a call it does not inline
// keeps the analysis out.
[[gnu::noinline]] inline void resize_to(Bytes& f, size_t n, uint8_t fill = 0) { f.resize(n, fill); }
[[gnu::noinline]] inline void append(Bytes& f, const Bytes& b) { f.insert(f.end(), b.begin(), b.end()); }

// ---- IPv6 ----

inline uint32_t flow_label(const Bytes& f) { return load_be32(&f[l3_of(f)]) & 0xFFFFF; }
inline void set_flow_label(Bytes& f, uint32_t label) {
    uint8_t* ip = &f[l3_of(f)];
    store_be32(ip, (load_be32(ip) & 0xFFF00000u) | (label & 0xFFFFF));
}

inline uint32_t ref_pseudo6(const Ipv6& s, const Ipv6& d, uint8_t next, uint32_t len) {
    uint32_t sum = 0;
    for (int i = 0; i < 16; i += 2) sum += ((uint32_t{s.b[i]} << 8) | s.b[i + 1]) + ((uint32_t{d.b[i]} << 8) | d.b[i + 1]);
    return sum + (len >> 16) + (len & 0xFFFF) + next;
}

// The upper-layer header of an IPv6 frame, found by a naive walk over any chain of hop-by-hop (0), routing
// (43), fragment (44) and destination options (60) headers: {offset in the frame, protocol}, or {0, 0}.
inline std::pair<size_t, uint8_t> upper6_of(const Bytes& f) {
    const size_t l3 = l3_of(f);
    const size_t end = l3 + 40 + load_be16(&f[l3 + 4]);
    uint8_t next = f[l3 + 6];
    size_t off = l3 + 40;
    while (next == 0 || next == 43 || next == 44 || next == 60) {
        if (off + 8 > end) return {0, 0};
        const size_t len = next == 44 ? 8 : (size_t{f[off + 1]} + 1) * 8;
        next = f[off];
        off += len;
    }
    return off <= end ? std::pair<size_t, uint8_t>{off, next} : std::pair<size_t, uint8_t>{0, 0};
}

// Recomputes the TCP or ICMPv6 checksum of an IPv6 frame with the reference sum.
inline void fix_csum6(Bytes& f) {
    const size_t l3 = l3_of(f);
    const auto [l4, proto] = upper6_of(f);
    if (l4 == 0 || (proto != 6 && proto != 58)) return;
    const auto len = static_cast<uint32_t>(l3 + 40 + load_be16(&f[l3 + 4]) - l4);
    const size_t at = l4 + (proto == 6 ? tcp::kOffCsum : icmp6::kOffCsum);
    store_be16(&f[at], 0);
    store_be16(&f[at], ref_csum(&f[l4], len, ref_pseudo6(load_ipv6(&f[l3 + 8]), load_ipv6(&f[l3 + 24]), proto, len)));
}

// Inserts `ext` (whole extension headers, the first one's next-header byte included) right after the IPv6
// header: the IPv6 next header becomes `first`, and the last header's next header must be set by the caller
// (or by `chain_to_old`, which points it at what the IPv6 header named before). Payload length adjusted.
[[gnu::noinline]] inline void insert_ext6(Bytes& f, uint8_t first, Bytes ext, size_t last_off,
                                         bool chain_to_old = true) {
    const size_t l3 = l3_of(f);
    if (chain_to_old) ext[last_off] = f[l3 + 6];
    f[l3 + 6] = first;
    f.insert(f.begin() + static_cast<long>(l3 + 40), ext.begin(), ext.end());
    store_be16(&f[l3 + 4], static_cast<uint16_t>(load_be16(&f[l3 + 4]) + ext.size()));
}

inline Drop parse(const Bytes& f, ParsedFrame& out, ParseConfig cfg = {}) {
    return parse_frame(f.data(), static_cast<uint32_t>(f.size()), cfg, out);
}

}  // namespace synwave::wire::testutil
