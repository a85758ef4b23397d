// Time as a value. The engine reads the TSC once per loop turn and passes `Instant` down; no code below the
// engine reads a clock, so every layer is testable with a fake clock advanced by hand.
//
// Units: TSC cycles. `TscRate` converts to and from wall units; its `hz` is measured once at start-up
// (rte_get_tsc_hz() in the engine, any value in tests).
#pragma once
#include <compare>
#include <cstdint>

namespace synwave {

// 128-bit intermediate for exact cycle conversions (`__extension__` keeps -Wpedantic quiet about __int128).
__extension__ typedef unsigned __int128 uint128_t;

struct Duration {
    uint64_t cycles = 0;
    constexpr bool operator==(const Duration&) const = default;
    constexpr auto operator<=>(const Duration&) const = default;
    constexpr Duration operator+(Duration o) const { return {cycles + o.cycles}; }
    constexpr Duration operator-(Duration o) const { return {cycles - o.cycles}; }
    constexpr Duration operator*(uint64_t k) const { return {cycles * k}; }
    constexpr Duration operator/(uint64_t k) const { return {cycles / k}; }
};

struct Instant {
    uint64_t cycles = 0;
    constexpr bool operator==(const Instant&) const = default;
    constexpr auto operator<=>(const Instant&) const = default;
    constexpr Instant operator+(Duration d) const { return {cycles + d.cycles}; }
    constexpr Instant& operator+=(Duration d) { cycles += d.cycles; return *this; }
    // Saturates at zero so "elapsed since" of a future instant is 0, never a huge number.
    constexpr Duration operator-(Instant o) const { return {cycles > o.cycles ? cycles - o.cycles : 0}; }
};

struct TscRate {
    uint64_t hz = 1'000'000'000;  // 1 GHz default makes 1 cycle == 1 ns in tests
    [[nodiscard]] constexpr Duration ns(uint64_t v) const { return {mul_div(v, hz, 1'000'000'000)}; }
    [[nodiscard]] constexpr Duration us(uint64_t v) const { return {mul_div(v, hz, 1'000'000)}; }
    [[nodiscard]] constexpr Duration ms(uint64_t v) const { return {mul_div(v, hz, 1'000)}; }
    [[nodiscard]] constexpr Duration sec(uint64_t v) const { return {v * hz}; }
    [[nodiscard]] constexpr uint64_t to_ns(Duration d) const { return mul_div(d.cycles, 1'000'000'000, hz); }
    [[nodiscard]] constexpr uint64_t to_us(Duration d) const { return mul_div(d.cycles, 1'000'000, hz); }
    [[nodiscard]] constexpr uint64_t to_ms(Duration d) const { return mul_div(d.cycles, 1'000, hz); }

private:
    static constexpr uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c) {
        return static_cast<uint64_t>((static_cast<uint128_t>(a) * b) / c);
    }
};

} // namespace synwave
