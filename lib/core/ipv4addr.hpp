// IPv4 addresses and MAC addresses as value types (host byte order for IPv4), with parsers for config.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace synwave {

struct Ipv4 {
    uint32_t v = 0;  // host byte order
    constexpr bool operator==(const Ipv4&) const = default;
    constexpr auto operator<=>(const Ipv4&) const = default;
    [[nodiscard]] static std::optional<Ipv4> parse(std::string_view s) {
        uint32_t out = 0;
        int parts = 0;
        size_t i = 0;
        while (parts < 4) {
            if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
            uint32_t octet = 0;
            size_t digits = 0;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                octet = octet * 10 + static_cast<uint32_t>(s[i] - '0');
                if (++digits > 3 || octet > 255) return std::nullopt;
                ++i;
            }
            out = (out << 8) | octet;
            ++parts;
            if (parts < 4) {
                if (i >= s.size() || s[i] != '.') return std::nullopt;
                ++i;
            }
        }
        if (i != s.size()) return std::nullopt;
        return Ipv4{out};
    }
    [[nodiscard]] std::string str() const {
        return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
               std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
    }
};

struct Mac {
    std::array<uint8_t, 6> b{};
    constexpr bool operator==(const Mac&) const = default;
    [[nodiscard]] static constexpr Mac broadcast() { return Mac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    [[nodiscard]] static std::optional<Mac> parse(std::string_view s) {
        if (s.size() != 17) return std::nullopt;
        Mac m;
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        for (int i = 0; i < 6; ++i) {
            int hi = hex(s[i * 3]), lo = hex(s[i * 3 + 1]);
            if (hi < 0 || lo < 0) return std::nullopt;
            if (i < 5 && s[i * 3 + 2] != ':') return std::nullopt;
            m.b[i] = static_cast<uint8_t>(hi * 16 + lo);
        }
        return m;
    }
    [[nodiscard]] std::string str() const {
        static const char* d = "0123456789abcdef";
        std::string s;
        for (int i = 0; i < 6; ++i) {
            if (i) s += ':';
            s += d[b[i] >> 4];
            s += d[b[i] & 15];
        }
        return s;
    }
};

} // namespace synwave
