// Per-lcore counter tables, generated from one list of names and help texts.
//
// A layer writes its counters once, as an X-macro list (a block comment: line-continuation backslashes
// inside // comments would splice lines):
/*
    #define SYNWAVE_TCP_COUNTERS(X)                                \
        X(rx_syn,            "SYN segments received")              \
        X(drop_bad_cookie,   "ACKs dropped: SYN cookie invalid")
    SYNWAVE_STATS_DEFINE_COUNTERS(TcpCounters, SYNWAVE_TCP_COUNTERS);
*/
//
// and gets a struct `TcpCounters` with
//   - one plain `uint64_t` field per counter (`c.rx_syn++` on the data path: one ADD to memory, no atomics,
//     no lock; each lcore owns its own table, aligned to cache lines so two lcores never share one),
//   - `enum class Id` with one value per counter and `c[Id::rx_syn]`, for code that picks a counter by
//     reason (a drop reason enum mapped to counters),
//   - `kCount`, and constexpr arrays `kNames` and `kHelp` in declaration order,
//   - `for_each(fn)` calling fn(std::string_view name, std::string_view help, uint64_t value) in order,
//   - `operator+=` to add another lcore's table (aggregation off the data path), `operator==`,
//   - `snapshot()`: a copy read with relaxed atomic loads, for the stats thread reading a live table.
// The printers below (format_text) and in stats/json.hpp (to_json) work on any such table.
//
// Why a macro: the names, the help texts, the struct, the printer and the JSON keys must never drift apart;
// one list that generates all of them is the only way C++20 offers without reflection.
#pragma once
#include "core/cacheline.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

// Helpers expanded per list entry. Each takes (name, help).
#define SYNWAVE_STATS_FIELD_(name, help) uint64_t name = 0;
#define SYNWAVE_STATS_ID_(name, help) name,
#define SYNWAVE_STATS_ONE_(name, help) +1
#define SYNWAVE_STATS_NAME_(name, help) ::std::string_view{#name},
#define SYNWAVE_STATS_HELP_(name, help) ::std::string_view{help},
#define SYNWAVE_STATS_VISIT_(name, help) fn(::std::string_view{#name}, ::std::string_view{help}, name);
#define SYNWAVE_STATS_ADD_(name, help) name += o.name;
#define SYNWAVE_STATS_CASE_(name, help) \
    case Id::name:                      \
        return name;
#define SYNWAVE_STATS_LOAD_(name, help) out.name = __atomic_load_n(&name, __ATOMIC_RELAXED);

// Defines `struct Type` from the X-macro list LIST (see the top of this file). Use at namespace scope.
#define SYNWAVE_STATS_DEFINE_COUNTERS(Type, LIST)                                                              \
    struct alignas(::synwave::kCacheLine) Type {                                                               \
        LIST(SYNWAVE_STATS_FIELD_)                                                                             \
                                                                                                               \
        enum class Id : uint32_t { LIST(SYNWAVE_STATS_ID_) };                                                  \
        static constexpr ::std::size_t kCount = 0 LIST(SYNWAVE_STATS_ONE_);                                    \
        static constexpr ::std::array<::std::string_view, kCount> kNames{{LIST(SYNWAVE_STATS_NAME_)}};         \
        static constexpr ::std::array<::std::string_view, kCount> kHelp{{LIST(SYNWAVE_STATS_HELP_)}};          \
                                                                                                               \
        template <typename Fn>                                                                                 \
        void for_each([[maybe_unused]] Fn&& fn) const {                                                        \
            LIST(SYNWAVE_STATS_VISIT_)                                                                         \
        }                                                                                                      \
        Type& operator+=([[maybe_unused]] const Type& o) {                                                     \
            LIST(SYNWAVE_STATS_ADD_)                                                                           \
            return *this;                                                                                      \
        }                                                                                                      \
        [[nodiscard]] uint64_t& operator[](Id id) {                                                            \
            switch (id) { LIST(SYNWAVE_STATS_CASE_) }                                                          \
            __builtin_unreachable();                                                                           \
        }                                                                                                      \
        [[nodiscard]] uint64_t operator[](Id id) const { return const_cast<Type&>(*this)[id]; }                \
        /* Another thread's view of a live table: relaxed loads of aligned 64-bit fields never tear on         \
           x86-64 or AArch64; the owner's plain increments are accepted as racing, as DPDK's per-lcore         \
           stats are. */                                                                                       \
        [[nodiscard]] Type snapshot() const {                                                                  \
            Type out;                                                                                          \
            LIST(SYNWAVE_STATS_LOAD_)                                                                          \
            return out;                                                                                        \
        }                                                                                                      \
        bool operator==(const Type&) const = default;                                                          \
    };                                                                                                         \
    static_assert(sizeof(Type) % ::synwave::kCacheLine == 0 && alignof(Type) == ::synwave::kCacheLine)

namespace synwave::stats {

// Any table made by SYNWAVE_STATS_DEFINE_COUNTERS.
template <typename T>
concept CounterTable = requires(const T& t, T& m) {
    { T::kCount } -> std::convertible_to<std::size_t>;
    { T::kNames[0] } -> std::convertible_to<std::string_view>;
    { T::kHelp[0] } -> std::convertible_to<std::string_view>;
    { m += t } -> std::same_as<T&>;
};

// The sum of all lcores' tables.
template <CounterTable T>
[[nodiscard]] T aggregate(std::span<const T> per_lcore) {
    T total{};
    for (const T& t : per_lcore) total += t.snapshot();
    return total;
}

struct TextOptions {
    bool skip_zero = false;     // leave out counters that are 0 (a quiet run prints only what happened)
    bool with_help = false;     // append "  # help text"
    std::string_view prefix{};  // prepended to every name, e.g. "tcp."
};

// One "name value" line per counter, names left-aligned and values right-aligned in columns sized to
// the whole table (so successive prints line up even when zeros are skipped).
template <CounterTable T>
[[nodiscard]] std::string format_text(const T& c, const TextOptions& opt = {}) {
    std::size_t name_w = 0;
    for (std::string_view n : T::kNames) name_w = std::max(name_w, n.size());
    name_w += opt.prefix.size();
    std::size_t value_w = 1;
    c.for_each([&](std::string_view, std::string_view, uint64_t v) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        value_w = std::max(value_w, static_cast<std::size_t>(r.ptr - buf));
    });
    std::string out;
    c.for_each([&](std::string_view name, std::string_view help, uint64_t v) {
        if (opt.skip_zero && v == 0) return;
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        const std::size_t digits = static_cast<std::size_t>(r.ptr - buf);
        out += opt.prefix;
        out += name;
        out.append(name_w - opt.prefix.size() - name.size() + 1 + value_w - digits, ' ');
        out.append(buf, digits);
        if (opt.with_help) {
            out += "  # ";
            out += help;
        }
        out += '\n';
    });
    return out;
}

} // namespace synwave::stats
