// TCP options: parsing and encoding.
//   RFC 9293 §3.1–3.2 (EOL, NOP, MSS; unknown options skipped by their length; MUST-7 illegal lengths),
//   RFC 7323 (window scale, timestamps; Appendix A: the NOP,NOP,TS layout), RFC 2018 (SACK-permitted, SACK).
//
// Encoding follows Linux's tcp_options_write() so the kernel peer, tcpdump and tshark see the SYNs they
// are used to, and so captures from Linux rebuild byte for byte:
//   MSS                          02 04 mm mm
//   SACK-permitted + timestamps  04 02 08 0a <tsval> <tsecr>      (or, without SACK-permitted: 01 01 08 0a ...)
//   SACK-permitted alone         01 01 04 02
//   window scale                 01 03 03 ss
//   SACK blocks                  01 01 05 len <left right>...
// Every item is a 4-byte multiple, so the result needs no padding. The options area holds at most 40 bytes
// (RFC 9293: data offset <= 15 words): if the SACK blocks do not all fit, the first ones that fit are sent
// (the first block is the most recent one, RFC 2018 §4), as Linux does.
#pragma once
#include "core/endian.hpp"
#include "core/seq.hpp"
#include "wire/drop.hpp"
#include "wire/views.hpp"

#include <algorithm>
#include <cstdint>

namespace synwave::wire {

namespace tcpopt {
inline constexpr uint8_t kEol = 0, kNop = 1, kMss = 2, kWscale = 3, kSackPermitted = 4, kSack = 5, kTimestamp = 8;
inline constexpr uint8_t kLenMss = 4, kLenWscale = 3, kLenSackPermitted = 2, kLenTimestamp = 10;
inline constexpr uint8_t kLenSackBase = 2, kLenSackBlock = 8;
inline constexpr uint8_t kMaxSackBlocks = 4;  // (40 - 2) / 8
inline constexpr uint8_t kMaxWscale = 14;     // RFC 7323 §2.3; larger values are clamped by the receiver
}  // namespace tcpopt

struct SackBlock {
    Seq left, right;  // [left, right): right is the sequence number just past the block (RFC 2018 §3)
    constexpr bool operator==(const SackBlock&) const = default;
};

// The options of one segment as values; `has_*` tell presence. Window scale is kept as received (the TCP
// layer clamps a shift above 14, RFC 7323 §2.3), MSS likewise (0 is legal on the wire).
struct TcpOptions {
    uint16_t mss = 0;
    bool has_mss = false;
    uint8_t wscale = 0;
    bool has_wscale = false;
    bool sack_permitted = false;
    bool has_ts = false;
    uint32_t tsval = 0, tsecr = 0;
    uint8_t num_sack = 0;
    SackBlock sack[tcpopt::kMaxSackBlocks];

    // Equal when the options a peer would see are equal: values behind a false `has_*` and SACK blocks past
    // `num_sack` are not compared.
    friend constexpr bool operator==(const TcpOptions& a, const TcpOptions& b) {
        if (a.has_mss != b.has_mss || (a.has_mss && a.mss != b.mss)) return false;
        if (a.has_wscale != b.has_wscale || (a.has_wscale && a.wscale != b.wscale)) return false;
        if (a.sack_permitted != b.sack_permitted) return false;
        if (a.has_ts != b.has_ts || (a.has_ts && (a.tsval != b.tsval || a.tsecr != b.tsecr))) return false;
        if (a.num_sack != b.num_sack) return false;
        for (uint8_t i = 0; i < a.num_sack && i < tcpopt::kMaxSackBlocks; ++i)
            if (!(a.sack[i] == b.sack[i])) return false;
        return true;
    }
};

// Parses the options area (`len` = data offset * 4 - 20). Stops at EOL; skips NOPs and unknown kinds by
// their length. TcpBadOptionLength when a length is below 2, runs past the area, or is wrong for a known
// kind (MSS 4, WS 3, SACK-permitted 2, TS 10, SACK 2 + 8n with n >= 1): RFC 9293 MUST-7 asks to be
// prepared for illegal lengths and suggests rejecting the segment; we drop and count it, which is
// stricter than Linux (it ignores a known option of the wrong size) but no real stack sends one.
// A repeated option overwrites the earlier one. `out` is reset first.
[[nodiscard]] inline Drop parse_tcp_options(const uint8_t* p, uint32_t len, TcpOptions& out) {
    out = TcpOptions{};
    // Fast path: NOP,NOP,TS is all that Linux, FreeBSD and synwave put on an established connection's
    // segments (RFC 7323 Appendix A).
    if (len == 12 && load_be32(p) == 0x0101080Au) {
        out.has_ts = true;
        out.tsval = load_be32(p + 4);
        out.tsecr = load_be32(p + 8);
        return Drop::None;
    }
    uint32_t i = 0;
    while (i < len) {
        const uint8_t kind = p[i];
        if (kind == tcpopt::kEol) break;
        if (kind == tcpopt::kNop) {
            ++i;
            continue;
        }
        if (SYNWAVE_UNLIKELY(len - i < 2)) return Drop::TcpBadOptionLength;
        const uint8_t olen = p[i + 1];
        if (SYNWAVE_UNLIKELY(olen < 2 || olen > len - i)) return Drop::TcpBadOptionLength;
        const uint8_t* v = p + i + 2;
        switch (kind) {
        case tcpopt::kMss:
            if (SYNWAVE_UNLIKELY(olen != tcpopt::kLenMss)) return Drop::TcpBadOptionLength;
            out.has_mss = true;
            out.mss = load_be16(v);
            break;
        case tcpopt::kWscale:
            if (SYNWAVE_UNLIKELY(olen != tcpopt::kLenWscale)) return Drop::TcpBadOptionLength;
            out.has_wscale = true;
            out.wscale = v[0];
            break;
        case tcpopt::kSackPermitted:
            if (SYNWAVE_UNLIKELY(olen != tcpopt::kLenSackPermitted)) return Drop::TcpBadOptionLength;
            out.sack_permitted = true;
            break;
        case tcpopt::kTimestamp:
            if (SYNWAVE_UNLIKELY(olen != tcpopt::kLenTimestamp)) return Drop::TcpBadOptionLength;
            out.has_ts = true;
            out.tsval = load_be32(v);
            out.tsecr = load_be32(v + 4);
            break;
        case tcpopt::kSack: {
            const uint32_t body = olen - tcpopt::kLenSackBase;
            // olen <= 40 here, so at most 4 blocks.
            if (SYNWAVE_UNLIKELY(body == 0 || body % tcpopt::kLenSackBlock != 0)) return Drop::TcpBadOptionLength;
            out.num_sack = static_cast<uint8_t>(body / tcpopt::kLenSackBlock);
            for (uint32_t b = 0; b < out.num_sack; ++b) {
                out.sack[b].left = Seq(load_be32(v + b * 8));
                out.sack[b].right = Seq(load_be32(v + b * 8 + 4));
            }
            break;
        }
        default:  // MUST-6: ignore an option we do not implement (it has a length field)
            break;
        }
        i += olen;
    }
    return Drop::None;
}

// How the options will be encoded: total length (a multiple of 4, at most 40) and how many SACK blocks fit.
struct TcpOptionsLayout {
    uint8_t len = 0;
    uint8_t num_sack = 0;
};

[[nodiscard]] constexpr TcpOptionsLayout tcp_options_layout(const TcpOptions& o) {
    uint32_t n = 0;
    if (o.has_mss) n += 4;
    if (o.has_ts) n += 12;  // SACK-permitted, when present, takes the place of the two NOPs
    else if (o.sack_permitted) n += 4;
    if (o.has_wscale) n += 4;
    uint32_t blocks = std::min<uint32_t>(o.num_sack, tcpopt::kMaxSackBlocks);
    if (blocks) {
        const uint32_t room = tcp::kMaxOptions - n;
        blocks = room < 4 + 8 ? 0 : std::min<uint32_t>(blocks, (room - 4) / 8);
        if (blocks) n += 4 + 8 * blocks;
    }
    return {static_cast<uint8_t>(n), static_cast<uint8_t>(blocks)};
}

// Encoded length of the options, padded to 4 bytes (it is always a multiple of 4).
[[nodiscard]] constexpr uint32_t tcp_options_length(const TcpOptions& o) { return tcp_options_layout(o).len; }

// Writes the options at `p` (room for lay.len bytes; `lay` is tcp_options_layout(o)) and returns lay.len.
inline uint32_t write_tcp_options(uint8_t* p, const TcpOptions& o, const TcpOptionsLayout& lay) {
    uint8_t* w = p;
    auto word = [&w](uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
        store_be32(w, (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
        w += 4;
    };
    if (o.has_mss) {
        word(tcpopt::kMss, tcpopt::kLenMss, static_cast<uint8_t>(o.mss >> 8), static_cast<uint8_t>(o.mss));
    }
    if (o.has_ts) {
        if (o.sack_permitted) word(tcpopt::kSackPermitted, tcpopt::kLenSackPermitted, tcpopt::kTimestamp, tcpopt::kLenTimestamp);
        else word(tcpopt::kNop, tcpopt::kNop, tcpopt::kTimestamp, tcpopt::kLenTimestamp);
        store_be32(w, o.tsval);
        store_be32(w + 4, o.tsecr);
        w += 8;
    } else if (o.sack_permitted) {
        word(tcpopt::kNop, tcpopt::kNop, tcpopt::kSackPermitted, tcpopt::kLenSackPermitted);
    }
    if (o.has_wscale) word(tcpopt::kNop, tcpopt::kWscale, tcpopt::kLenWscale, o.wscale);
    if (lay.num_sack) {
        word(tcpopt::kNop, tcpopt::kNop, tcpopt::kSack,
             static_cast<uint8_t>(tcpopt::kLenSackBase + tcpopt::kLenSackBlock * lay.num_sack));
        for (uint32_t b = 0; b < lay.num_sack; ++b) {
            store_be32(w, o.sack[b].left.raw());
            store_be32(w + 4, o.sack[b].right.raw());
            w += 8;
        }
    }
    return static_cast<uint32_t>(w - p);
}

inline uint32_t write_tcp_options(uint8_t* p, const TcpOptions& o) {
    return write_tcp_options(p, o, tcp_options_layout(o));
}

}  // namespace synwave::wire
