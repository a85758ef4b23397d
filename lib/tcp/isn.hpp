// Initial sequence numbers.
//
// Follows: RFC 6528 (Defending against Sequence Number Attacks) §3, and RFC 9293 §3.4.1 (the ISN clock).
//
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)                       (RFC 6528 §3)
//
// M is "a 4 microsecond timer" (RFC 9293 §3.4.1: bits 0..31 of a clock that ticks every 4 µs, so it wraps
// in ~4.55 hours). F is a keyed PRF of the connection identifiers; here SipHash-2-4 truncated to 32 bits
// with the per-process secret the engine draws from a random source at start-up. The hash separates the
// ISN spaces of different 4-tuples (an off-path attacker cannot predict ours), and M keeps the ISNs of
// successive incarnations of one 4-tuple increasing, which is what lets a new SYN be accepted over a
// TIME_WAIT record (RFC 1122 §4.2.2.13: its sequence number is above the old connection's; RFC 6191 for
// the timestamp variant) and protects against old duplicates (RFC 9293 §3.4.1).
//
// No clock is read here: the caller passes `now` (the TSC value the engine read once for this loop turn).
#pragma once
#include "core/seq.hpp"
#include "core/time.hpp"
#include "tcp/siphash.hpp"

#include <cstdint>

namespace synwave::tcp {

// RFC 9293 §3.4.1: the ISN clock "is incremented roughly every 4 microseconds", i.e. 250 000 ticks/s.
inline constexpr uint64_t kIsnTicksPerSecond = 250'000;

class IsnGenerator {
    // GCC/Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about the non-ISO type.
    __extension__ typedef unsigned __int128 u128;

public:
    // `secret` must come from a random source (the engine seeds it); `rate` is the TSC frequency.
    // Precondition: rate.hz >= kIsnTicksPerSecond (every real TSC runs at 100 MHz or more).
    IsnGenerator(SipKey secret, TscRate rate) : key_(secret), mul_(ticks_multiplier(rate.hz)) {}

    // M: the 4 µs clock at `now`, modulo 2^32.
    //
    // Converting cycles to ticks is ticks = cycles * 250000 / hz. A 128-bit division per SYN is slow
    // (tens of cycles), so the ratio is kept as a 0.64 fixed-point multiplier and the conversion is one
    // 64x64->128 multiply. The multiplier is rounded up, so the result is never below the exact tick
    // count and exceeds it by less than cycles / 2^64 ticks (< 2^-14 ticks for the first 2^50 cycles,
    // i.e. days at GHz rates): M is exact wherever the exact count is an integer and monotonic always.
    [[nodiscard]] uint32_t clock(Instant now) const {
        return static_cast<uint32_t>((static_cast<u128>(now.cycles) * mul_) >> 64);
    }

    // F: SipHash-2-4(secret; localip, remoteip, localport, remoteport), low 32 bits. SipHash-2-4 rather than
    // the faster 1-3 because this runs once per connection and an ISN lives as long as the connection.
    [[nodiscard]] uint32_t offset(const Tuple4& t) const {
        return static_cast<uint32_t>(siphash_tuple<2, 4>(key_, t, 0));
    }

    // RFC 6528 §3: ISN = M + F(...), modulo 2^32.
    [[nodiscard]] Seq isn(const Tuple4& t, Instant now) const { return Seq(offset(t)) + clock(now); }

private:
    static constexpr uint64_t ticks_multiplier(uint64_t hz) {
        if (hz < kIsnTicksPerSecond) hz = kIsnTicksPerSecond;  // keep the multiplier below 2^64
        const u128 num = static_cast<u128>(kIsnTicksPerSecond) << 64;
        const u128 m = (num + hz - 1) / hz;  // ceil(2^64 * 250000 / hz)
        return m > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(m);
    }

    SipKey key_;
    uint64_t mul_;
};

} // namespace synwave::tcp
