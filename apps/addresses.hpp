// Address options (--ip, --src, --dst, --gateway): IPv4 and IPv6 addresses and ranges in one comma-separated
// list, at most one range per family, e.g. "10.1.0.1-10.1.0.64,2001:db8::1-2001:db8::40"; a client's
// destinations (--dst) any number of them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"

namespace synwave::app {

// The most addresses an IPv6 range may hold: our own addresses take handles in the stack's address table
// (2^24 - 1 of them, flow/addr_table.hpp) and must leave room for the peers', and a range steps through its last
// 32 bits.
inline constexpr uint32_t kMaxV6Range = 1u << 20;

// One option's addresses: an IPv4 range and an IPv6 range, each optional.
struct AddrSet {
    bool has4 = false;
    Ipv4 lo4, hi4;             // inclusive
    bool has6 = false;
    Ipv6 lo6;                  // lo6 and the next count6 - 1 addresses (the last 32 bits step)
    uint32_t count6 = 0;

    [[nodiscard]] uint64_t count4() const { return has4 ? uint64_t{hi4.v} - lo4.v + 1 : 0; }
    [[nodiscard]] Ipv6 hi6() const { return lo6.with_low32(lo6.low32() + count6 - 1); }
};

// Parses `s` into `out`. On failure returns false with `err` giving the reason and the offending text (the
// caller puts the key in front): not an address, reversed, too large, two ranges of a family, an IPv6 range
// whose ends differ above the last 32 bits, or an address that cannot be a host's own or its peer's
// (IPv4 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4, 255.255.255.255; IPv6 ::, ::1, ff00::/8, ::ffff:0:0/96).
[[nodiscard]] bool parse_addrs(std::string_view s, AddrSet& out, std::string& err);

// A client's destinations, every address of its list's entries in the order given, distinct.
struct DstList {
    std::vector<Ipv4> v4;
    std::vector<Ipv6> v6;
};
// The most destinations of a family: each multiplies the client's tuple space, and an IPv6 one takes a handle.
inline constexpr uint32_t kMaxDsts = 65536;

// Parses a destination list: entries as parse_addrs takes them, any number per family (but at most kMaxDsts
// addresses), none twice; false with `err` as parse_addrs gives it.
[[nodiscard]] bool parse_dsts(std::string_view s, DstList& out, std::string& err);
// "10.0.0.1-10.0.0.3,10.0.0.9,fd00::1" (runs of consecutive addresses as ranges); "" when empty.
[[nodiscard]] std::string dsts_text(const DstList& d);

// "10.1.0.1-10.1.0.64,fd00:1::1-fd00:1::40" (a range of one address as the address alone); "" when empty.
[[nodiscard]] std::string addrs_text(const AddrSet& a);
[[nodiscard]] std::string range_text(Ipv4 lo, Ipv4 hi);
[[nodiscard]] std::string range6_text(Ipv6 lo, uint32_t count);

}  // namespace synwave::app
