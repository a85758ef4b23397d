// Stateless SYN cookies, Linux style.
//
// Follows: RFC 4987 §3.6 (SYN cookies as a SYN-flood defence), D. J. Bernstein's SYN cookie design
// (cr.yp.to/syncookies.html), RFC 7323 §2.3 / §3.2 (window scale bound, timestamps) and the layout
// Linux uses in net/ipv4/syncookies.c (one deliberate difference, see SynCookies::make).
//
// The listener answers a SYN without keeping any state: everything it must remember (that it sent the
// SYN-ACK, when, and the peer's MSS) is folded into the SYN-ACK's sequence number. The peer's ACK echoes
// it back as SEG.ACK - 1; check() recomputes the hashes and accepts the ACK only if the cookie is ours,
// recent, and for this 4-tuple and this client ISN. Window scale, SACK-permitted and ECN do not fit in
// the 32 bits; when the peer sent timestamps they ride in the low 6 bits of our TSval instead, which the
// peer echoes in TSecr (encode_ts / decode_ts). Without timestamps they are lost: the connection runs
// without window scaling or SACK, as on Linux.
//
// Why SipHash-1-3 here (siphash.hpp explains the variants): a cookie costs two hashes to make and two to
// check, at SYN-flood rates. On the 2.6 GHz EPYC of bench/tcp (CPU time, medians of 5) one 4-tuple hash
// is 8.2 ns with 1-3 and 13.3 ns with 2-4; make + check is 35.5 ns (28 M/s per core) with 1-3 and
// 52.9 ns (19 M/s) with 2-4, below the 20 M/s target. An attacker who wants to forge a cookie for a
// spoofed source still has to predict a keyed PRF output, which 1-3 provides (no attack better than
// brute force on the 128-bit key is published). Linux uses full SipHash-2-4 here.
// The keys are the engine's: two independent random 128-bit keys, as Linux keeps syncookie_secret[2].
#pragma once
#include "core/seq.hpp"
#include "core/time.hpp"
#include "tcp/siphash.hpp"

#include <array>
#include <cstdint>
#include <optional>

namespace synwave::tcp {

// The MSS values a cookie can carry, indexed by 2 bits: Linux's IPv4 table (net/ipv4/syncookies.c,
// msstab), chosen there from S. Alcock and R. Nelson, "An Analysis of TCP Maximum Segment Sizes" (2011):
// 1460 is the most announced value, 1300..1349 a sixth of them, under 536 and 537..1299 rare. 536 is also
// the RFC 9293 §3.7.1 default. Ascending order is relied on.
inline constexpr std::array<uint16_t, 4> kCookieMssTable = {536, 1300, 1440, 1460};
// Over IPv6, Linux's IPv6 table (net/ipv6/syncookies.c): the minimum MTU (RFC 8200 §5), a tunnel's, Ethernet's
// and a jumbo frame's, each less the 60 bytes of IPv6 and TCP headers.
inline constexpr std::array<uint16_t, 4> kCookieMssTable6 = {1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60};

// The low 24 bits of the cookie hold the keyed hash plus the MSS index; the top 8 the time counter.
inline constexpr uint32_t kCookieBits = 24;
inline constexpr uint32_t kCookieMask = (uint32_t{1} << kCookieBits) - 1;

// Age, in counter units, of the oldest cookie still accepted: counts now, now-1 and now-2 pass, now-3
// does not. With 64 s units a cookie is accepted for at least 128 s and at most 192 s after it was made:
// the handshake's ACK normally follows the SYN-ACK within one RTT, and the margin covers a lost ACK
// replaced by the client's retransmitted first data segment, which also carries SEG.ACK = cookie + 1.
// Note: Linux uses the same name (MAX_SYNCOOKIE_AGE = 2) but rejects diff >= 2, i.e. keeps 0 and 1 only.
inline constexpr uint32_t kMaxCookieAge = 2;

// The counter ticks every 64 s. Linux ticks every 60 s (jiffies / (HZ * 60)); a power of two lets the
// engine turn TSC cycles into counts with one division by a precomputed 64 * hz.
inline constexpr uint64_t kCookieCountSeconds = 64;

// The coarse time counter the cookie carries (only its low 8 bits travel). Computed by the caller once
// per loop turn (one 64-bit division) and passed to make() and check().
[[nodiscard]] constexpr uint32_t cookie_count(Instant now, TscRate rate) {
    return static_cast<uint32_t>(now.cycles / (rate.hz * kCookieCountSeconds));
}

// What make() returns: the ISN to put in the SYN-ACK and the MSS that check() will restore, the largest
// table entry not above the peer's. A connection born from the cookie can only know this value, so it
// sends at most the peer's MSS (except for peers announcing less than 536).
struct CookieIsn {
    Seq isn;
    uint16_t mss = 0;
};

// C and D are the SipHash round counts of H1 and H2. The stack uses SynCookies (1-3, see the top of this
// file); bench/tcp instantiates 2-4 to measure the alternative with the same code.
template <int C, int D>
class BasicSynCookies {
public:
    // Two independent secret keys: k1 for the per-tuple hash, k2 for the hash that binds the counter.
    BasicSynCookies(SipKey k1, SipKey k2) : k1_(k1), k2_(k2) {}

    // The MSS table of the tuple's family.
    [[nodiscard]] static constexpr const std::array<uint16_t, 4>& mss_table(const Tuple4& t) {
        return t.v6() ? kCookieMssTable6 : kCookieMssTable;
    }
    // The index of the largest table entry <= peer_mss; 0 when the peer's MSS is below the first (as Linux;
    // hosts must accept 536 over IPv4 and 1220 over IPv6, RFC 9293 §3.7.1, so such SYNs are rare and suspect).
    [[nodiscard]] static constexpr uint32_t mss_index(uint16_t peer_mss, const std::array<uint16_t, 4>& table = kCookieMssTable) {
        uint32_t i = static_cast<uint32_t>(table.size() - 1);
        while (i > 0 && peer_mss < table[i]) --i;
        return i;
    }

    // Build the cookie for a SYN from `t` (local = us) with sequence number client_isn.
    //
    //   cookie = H1(t) + client_isn + (count << 24) + ((H2(t, count, client_isn) + mss_index) & 0x00FFFFFF)
    //                                                                                         (mod 2^32)
    // With A = H1(t) + client_isn removed, what remains is
    //
    //    31          24 23                                                0
    //   +--------------+---------------------------------------------------+
    //   | count mod 256|  (H2(t, count, client_isn) + mss_index) mod 2^24  |
    //   +--------------+---------------------------------------------------+
    //
    // H1 (key 1, extra word 0) makes the cookie unpredictable per 4-tuple; adding client_isn ties it to
    // this SYN. The counter in the top byte is in clear once A is removed, so check() knows which count to
    // recompute H2 with. H2 (key 2) authenticates counter and MSS index together: changing the top byte
    // without key 2 leaves a random low part.
    //
    // One departure from Linux, whose H2 covers (tuple, count) only: there the client ISN enters the cookie
    // only through "+ client_isn", so an ACK whose SEG.SEQ is 1..3 off (e.g. after a lost 1-3 byte first
    // data segment) is indistinguishable from a cookie whose MSS index is 1..3 off, and is accepted with a
    // wrong MSS and a wrong RCV.NXT. Hashing client_isn into H2 as well makes any other ISN fail like a
    // random guess; it is free, because the 20-byte message takes the same three SipHash absorptions as
    // the 16-byte one (siphash.hpp).
    [[nodiscard]] CookieIsn make(const Tuple4& t, Seq client_isn, uint16_t peer_mss, uint32_t count) const {
        const auto& table = mss_table(t);
        const uint32_t idx = mss_index(peer_mss, table);
        const uint32_t cookie = h1(t) + client_isn.raw() + (count << kCookieBits) +
                                ((h2(t, count, client_isn.raw()) + idx) & kCookieMask);
        return {Seq(cookie), table[idx]};
    }

    // Validate a cookie. client_isn = SEG.SEQ - 1 of the ACK (the SYN's sequence number), cookie =
    // SEG.ACK - 1 (our SYN-ACK's ISN). Returns the MSS the cookie carries, or nullopt when the cookie is
    // not ours, older than kMaxCookieAge counts, from the future, or for another tuple or client ISN.
    //
    // What it cannot catch: the two low bits of the cookie are the MSS index plus a hash, so a cookie
    // moved by +-1..3 decodes to a neighbouring table entry when that stays inside 0..3. Only someone who
    // saw our SYN-ACK knows a cookie to move, and they could as well have sent a SYN with another MSS.
    [[nodiscard]] std::optional<uint16_t> check(const Tuple4& t, Seq client_isn, Seq cookie, uint32_t count) const {
        const uint32_t rest = cookie.raw() - h1(t) - client_isn.raw();
        // Age in counts, modulo 256: a cookie from a future count shows up as an age of 255 or so.
        const uint32_t age = (count - (rest >> kCookieBits)) & (0xFFFFFFFFu >> kCookieBits);
        if (age > kMaxCookieAge) return std::nullopt;
        const uint32_t idx = (rest - h2(t, count - age, client_isn.raw())) & kCookieMask;
        if (idx >= kCookieMssTable.size()) return std::nullopt;  // 2^24 - 4 of 2^24 forgeries end here
        return mss_table(t)[idx];
    }

    // The same check in the terms of the arriving ACK segment (RFC 9293 §3.10.7.3: the ACK of our SYN-ACK
    // carries SEG.SEQ = client ISN + 1 and SEG.ACK = cookie + 1).
    [[nodiscard]] std::optional<uint16_t> check_ack(const Tuple4& t, Seq seg_seq, Seq seg_ack, uint32_t count) const {
        return check(t, seg_seq - 1, seg_ack - 1, count);
    }

private:
    [[nodiscard]] uint32_t h1(const Tuple4& t) const { return static_cast<uint32_t>(siphash_tuple<C, D>(k1_, t, 0)); }
    [[nodiscard]] uint32_t h2(const Tuple4& t, uint32_t count, uint32_t client_isn) const {
        return static_cast<uint32_t>(siphash_tuple<C, D>(k2_, t, count, client_isn));
    }

    SipKey k1_;
    SipKey k2_;
};

using SynCookies = BasicSynCookies<1, 3>;

// ---- Options carried in the timestamp (RFC 7323) ----
//
// When the SYN carried a Timestamps option, the SYN-ACK's TSval carries the options the cookie cannot:
//
//    31                               6    5      4     3  2  1  0
//   +----------------------------------+-----+------+------------+
//   |      ts_now >> 6 (or one less)   | ECN | SACK |  wscale    |
//   +----------------------------------+-----+------+------------+
//
//   wscale: the peer's window shift (0..14), 0xF when the peer sent no Window Scale option.
//   SACK:   the peer sent SACK-permitted (RFC 2018).   ECN: the SYN asked for ECN (RFC 3168 §6.1.1).
//
// The peer echoes TSval in the TSecr of its ACK; decode_ts() reads the options back from it.

inline constexpr uint32_t kTsOptBits = 6;
inline constexpr uint32_t kTsOptMask = (uint32_t{1} << kTsOptBits) - 1;
inline constexpr uint8_t kTsWscaleMask = 0x0F;
inline constexpr uint8_t kTsNoWscale = 0x0F;      // "no Window Scale option" (a shift of 15 is illegal)
inline constexpr uint32_t kTsSackBit = 1u << 4;
inline constexpr uint32_t kTsEcnBit = 1u << 5;
// RFC 7323 §2.3: a shift above 14 "MUST" be treated as 14.
inline constexpr uint8_t kMaxWindowShift = 14;

struct CookieTsOptions {
    uint8_t wscale = kTsNoWscale;  // the peer's window shift 0..14, or kTsNoWscale
    bool sack_ok = false;
    bool ecn_ok = false;
    constexpr bool operator==(const CookieTsOptions&) const = default;
    [[nodiscard]] constexpr bool wscale_ok() const { return wscale != kTsNoWscale; }
};

// The TSval for a cookie SYN-ACK sent at timestamp clock ts_now. The options replace the clock's low
// 6 bits; if that would put TSval after ts_now, one 64-tick step is taken back, so the TSval we send is
// never ahead of our clock (RFC 7323 §5.3 PAWS compares later TSvals against it) and at most 63 ticks
// behind. Arithmetic is modulo 2^32 like the timestamp clock itself.
[[nodiscard]] constexpr uint32_t encode_ts(uint32_t ts_now, CookieTsOptions o) {
    const uint32_t ws = o.wscale == kTsNoWscale ? kTsNoWscale
                                                : (o.wscale > kMaxWindowShift ? kMaxWindowShift : o.wscale);
    const uint32_t opts = ws | (o.sack_ok ? kTsSackBit : 0u) | (o.ecn_ok ? kTsEcnBit : 0u);
    uint32_t ts = (ts_now & ~kTsOptMask) | opts;
    if (opts > (ts_now & kTsOptMask)) ts -= (uint32_t{1} << kTsOptBits);  // ts would exceed ts_now
    return ts;
}

// The options from the TSecr of the ACK that completes a cookie handshake. Every 6-bit pattern decodes
// (wscale 0..14 or none); the caller validates TSecr itself only if it wants PAWS-style age checks.
[[nodiscard]] constexpr CookieTsOptions decode_ts(uint32_t tsecr) {
    CookieTsOptions o;
    o.wscale = static_cast<uint8_t>(tsecr & kTsWscaleMask);
    o.sack_ok = (tsecr & kTsSackBit) != 0;
    o.ecn_ok = (tsecr & kTsEcnBit) != 0;
    return o;
}

} // namespace synwave::tcp
