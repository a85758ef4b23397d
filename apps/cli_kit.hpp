// How synwave's options are added to CLI11: numbers checked as text before CLI11 converts them, so a bad one is
// refused with the option's name and the reason; the unit as the help's type name and the default beside it.
#pragma once
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

namespace synwave::app {

// Why `in` is no whole number in [0, max], or "". CLI11 converts an unsigned with strtoull in base 0: "-5"
// became 2^64 - 5 in a 64-bit option (--rate -5 ran unlimited) and "010" was octal 8.
inline std::string whole_number_error(const std::string& in, uint64_t max) {
    const std::string range = "[0, " + std::to_string(max) + "]";
    if (!in.empty() && in[0] == '-') return "must not be negative (a whole number in " + range + "): '" + in + "'";
    if (in.empty() || in.find_first_not_of("0123456789") != std::string::npos) {
        const bool fraction = !in.empty() && in.find_first_not_of("0123456789.eE+") == std::string::npos;
        return std::string(fraction ? "must be a whole number (no fraction)" : "not a whole number") + " in " + range +
               ": '" + in + "'";
    }
    uint64_t v = 0;
    for (char ch : in) {
        const auto d = static_cast<uint64_t>(ch - '0');
        if (v > (max - d) / 10) return "must be in " + range + ": '" + in + "'";
        v = v * 10 + d;
    }
    return {};
}

// Why `in` is no finite number >= 0, or "".
inline std::string real_number_error(const std::string& in) {
    char* end = nullptr;
    const double v = in.empty() ? 0 : std::strtod(in.c_str(), &end);
    if (in.empty() || end != in.c_str() + in.size() || !std::isfinite(v)) return "not a number: '" + in + "'";
    if (v < 0 || (in[0] == '-')) return "must not be negative: '" + in + "'";
    return {};
}

// The value type of an option bound to T or to std::optional<T>.
template <class T>
struct Unsigned {
    using type = T;
};
template <class T>
struct Unsigned<std::optional<T>> {
    using type = T;
};

// An unsigned option (or an optional one): decimal digits only, within its type. `unit` is the help's type
// name (e.g. "CONNS/S"); the default is shown unless the option is optional (its absence means "not given").
template <class T>
CLI::Option* add_whole(CLI::App& s, const std::string& names, T& v, const std::string& desc, const std::string& unit) {
    using U = typename Unsigned<T>::type;
    static_assert(std::is_unsigned_v<U>);
    constexpr uint64_t max = std::numeric_limits<U>::max();
    CLI::Option* opt = s.add_option(names, v, desc)->type_name(unit);
    // Leading zeros go before CLI11 converts: "010" is ten, not octal eight.
    opt->transform(CLI::Validator(
        [](std::string& in) {
            std::string why = whole_number_error(in, max);
            if (why.empty()) in.erase(0, std::min(in.find_first_not_of('0'), in.size() - 1));
            return why;
        },
        ""));
    if constexpr (std::is_same_v<T, U>) opt->capture_default_str();
    return opt;
}

// A real option (or an optional one): a finite number >= 0.
template <class T>
CLI::Option* add_real(CLI::App& s, const std::string& names, T& v, const std::string& desc, const std::string& unit) {
    CLI::Option* opt = s.add_option(names, v, desc)->type_name(unit);
    opt->check(CLI::Validator([](std::string& in) { return real_number_error(in); }, ""));
    if constexpr (std::is_same_v<T, double>) opt->capture_default_str();
    return opt;
}

// A text option; its default shown when it has one.
inline CLI::Option* add_text(CLI::App& s, const std::string& names, std::string& v, const std::string& desc,
                             const std::string& unit = "TEXT") {
    CLI::Option* opt = s.add_option(names, v, desc)->type_name(unit);
    if (!v.empty()) opt->capture_default_str();
    return opt;
}

}  // namespace synwave::app
