// Sequence numbers as a type, with RFC 9293 §3.4 modular arithmetic.
//
// TCP sequence space is the integers modulo 2^32. "a < b" means "a precedes b" and is only meaningful
// when the two are less than 2^31 apart; it is computed as the sign of the 32-bit difference, exactly as
// RFC 1982 serial-number arithmetic and Linux's before()/after() do. A plain `uint32_t` compare is a bug
// near the wrap, so the raw value is reachable only through `.raw()`.
#pragma once
#include <cstdint>
#include <compare>

namespace synwave {

class Seq {
public:
    constexpr Seq() = default;
    constexpr explicit Seq(uint32_t v) : v_(v) {}
    [[nodiscard]] constexpr uint32_t raw() const { return v_; }

    // Advance by a byte count (SYN and FIN each count as one).
    constexpr Seq operator+(uint32_t n) const { return Seq(v_ + n); }
    constexpr Seq operator-(uint32_t n) const { return Seq(v_ - n); }
    constexpr Seq& operator+=(uint32_t n) { v_ += n; return *this; }
    constexpr Seq& operator-=(uint32_t n) { v_ -= n; return *this; }
    // Signed distance a - b (valid when |a - b| < 2^31).
    constexpr int32_t operator-(Seq o) const { return static_cast<int32_t>(v_ - o.v_); }

    constexpr bool operator==(const Seq&) const = default;
    friend constexpr bool operator<(Seq a, Seq b) { return static_cast<int32_t>(a.v_ - b.v_) < 0; }
    friend constexpr bool operator>(Seq a, Seq b) { return b < a; }
    friend constexpr bool operator<=(Seq a, Seq b) { return !(b < a); }
    friend constexpr bool operator>=(Seq a, Seq b) { return !(a < b); }

private:
    uint32_t v_ = 0;
};

[[nodiscard]] constexpr Seq seq_max(Seq a, Seq b) { return a < b ? b : a; }
[[nodiscard]] constexpr Seq seq_min(Seq a, Seq b) { return a < b ? a : b; }

// start <= s < start + len, evaluated modulo 2^32 (len may be up to 2^32 - 1).
// This is the building block of RFC 9293 §3.10.7.4's acceptability test.
[[nodiscard]] constexpr bool seq_in_window(Seq s, Seq start, uint32_t len) {
    return (s.raw() - start.raw()) < len;
}

// lo <= s <= hi, modulo 2^32 (RFC 9293: "SND.UNA < SEG.ACK =< SND.NXT" style checks).
[[nodiscard]] constexpr bool seq_between_incl(Seq lo, Seq s, Seq hi) {
    return (s.raw() - lo.raw()) <= (hi.raw() - lo.raw());
}

// RFC 9293 §3.10.7.4, segment acceptability. The four cases:
//   len == 0, wnd == 0: acceptable iff seg_seq == rcv_nxt
//   len == 0, wnd  > 0: rcv_nxt <= seg_seq < rcv_nxt + wnd
//   len  > 0, wnd == 0: not acceptable
//   len  > 0, wnd  > 0: the first or the last octet lies inside the window
// `len` counts SYN and FIN as one each.
[[nodiscard]] constexpr bool segment_acceptable(Seq seg_seq, uint32_t len, Seq rcv_nxt, uint32_t rcv_wnd) {
    if (len == 0) {
        if (rcv_wnd == 0) return seg_seq == rcv_nxt;
        return seq_in_window(seg_seq, rcv_nxt, rcv_wnd);
    }
    if (rcv_wnd == 0) return false;
    return seq_in_window(seg_seq, rcv_nxt, rcv_wnd) || seq_in_window(seg_seq + (len - 1), rcv_nxt, rcv_wnd);
}

} // namespace synwave
