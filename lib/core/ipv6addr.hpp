// IPv6 addresses as a value type (the 16 bytes in network order), with the text forms of RFC 5952 (output)
// and RFC 4291 §2.2 (input, every form inet_pton accepts), and the derived addresses Neighbor Discovery uses.
//
// Text conversion is libc's inet_pton/inet_ntop: they accept exactly RFC 4291's forms (including "::" and an
// embedded dotted quad) and print RFC 5952's canonical one; a hand-written parser would be one more place to
// get "::" wrong.
#pragma once
#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/ipv4addr.hpp"

namespace synwave {

struct Ipv6 {
    std::array<uint8_t, 16> b{};  // network byte order
    constexpr bool operator==(const Ipv6&) const = default;
    constexpr auto operator<=>(const Ipv6&) const = default;

    [[nodiscard]] static std::optional<Ipv6> parse(std::string_view s) {
        char buf[INET6_ADDRSTRLEN + 1];
        if (s.empty() || s.size() >= sizeof(buf)) return std::nullopt;
        std::memcpy(buf, s.data(), s.size());
        buf[s.size()] = '\0';
        Ipv6 a;
        if (inet_pton(AF_INET6, buf, a.b.data()) != 1) return std::nullopt;
        return a;
    }
    [[nodiscard]] std::string str() const {
        char buf[INET6_ADDRSTRLEN];
        return inet_ntop(AF_INET6, b.data(), buf, sizeof(buf)) ? std::string(buf) : std::string("?");
    }

    // The last 32 bits, as a number (host order): what address ranges step through.
    [[nodiscard]] constexpr uint32_t low32() const {
        return (uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) | b[15];
    }
    [[nodiscard]] constexpr Ipv6 with_low32(uint32_t v) const {
        Ipv6 a = *this;
        a.b[12] = static_cast<uint8_t>(v >> 24);
        a.b[13] = static_cast<uint8_t>(v >> 16);
        a.b[14] = static_cast<uint8_t>(v >> 8);
        a.b[15] = static_cast<uint8_t>(v);
        return a;
    }
    // The first 96 bits equal: two ends of a range that low32() can walk.
    [[nodiscard]] bool same_high96(const Ipv6& o) const { return std::memcmp(b.data(), o.b.data(), 12) == 0; }

    [[nodiscard]] constexpr bool is_unspecified() const { return *this == Ipv6{}; }
    [[nodiscard]] constexpr bool is_multicast() const { return b[0] == 0xff; }              // RFC 4291 §2.7
    [[nodiscard]] constexpr bool is_link_local() const { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }  // fe80::/10
    [[nodiscard]] constexpr bool is_loopback() const {
        for (int i = 0; i < 15; ++i)
            if (b[i]) return false;
        return b[15] == 1;
    }
    // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): an IPv4 address, never an IPv6 peer on the wire.
    [[nodiscard]] constexpr bool is_v4_mapped() const {
        for (int i = 0; i < 10; ++i)
            if (b[i]) return false;
        return b[10] == 0xff && b[11] == 0xff;
    }

    // RFC 4291 §2.7.1: the solicited-node multicast address ff02::1:ffXX:XXXX of this address (its low 24
    // bits), to which a Neighbor Solicitation for it is sent (RFC 4861 §7.2.2).
    [[nodiscard]] constexpr Ipv6 solicited_node() const {
        Ipv6 a;
        a.b[0] = 0xff;
        a.b[1] = 0x02;
        a.b[11] = 0x01;
        a.b[12] = 0xff;
        a.b[13] = b[13];
        a.b[14] = b[14];
        a.b[15] = b[15];
        return a;
    }
    // ff02::1, all nodes on the link (RFC 4291 §2.7.1).
    [[nodiscard]] static constexpr Ipv6 all_nodes() {
        Ipv6 a;
        a.b[0] = 0xff;
        a.b[1] = 0x02;
        a.b[15] = 0x01;
        return a;
    }
};

// RFC 2464 §7: an IPv6 multicast address maps to the Ethernet address 33:33 followed by its last 32 bits.
[[nodiscard]] constexpr Mac multicast_mac(const Ipv6& a) {
    return Mac{{0x33, 0x33, a.b[12], a.b[13], a.b[14], a.b[15]}};
}

}  // namespace synwave
