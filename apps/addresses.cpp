#include "addresses.hpp"

#include <array>

namespace synwave::app {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Built with append: GCC 12's -Wrestrict misfires on `"'" + std::string(s)` (GCC bug 105329).
std::string quoted(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q.append(1, '\'').append(s).append(1, '\'');
    return q;
}

// IPv4 blocks that are no host's own address nor a peer's (RFC 6890): "this network", loopback, multicast
// (RFC 5771) and the limited broadcast address.
struct Block {
    uint32_t lo, hi;
    const char* what;
};
constexpr std::array<Block, 4> kNotHost4 = {{
    {0x0000'0000, 0x00ff'ffff, "0.0.0.0/8 ('this network', RFC 6890)"},
    {0x7f00'0000, 0x7fff'ffff, "127.0.0.0/8 (loopback)"},
    {0xe000'0000, 0xefff'ffff, "224.0.0.0/4 (multicast)"},
    {0xffff'ffff, 0xffff'ffff, "255.255.255.255 (limited broadcast)"},
}};

// Why an IPv6 range cannot hold a host's address (RFC 4291 §2.5.2, §2.5.3, §2.7, §2.5.5.2), or nullptr. The
// ends share their first 96 bits, so multicast and v4-mapped are properties of the whole range; :: and ::1
// are the lowest two of ::/96.
const char* not_host6(const Ipv6& lo) {
    if (lo.is_multicast()) return "ff00::/8 (multicast)";
    if (lo.is_v4_mapped()) return "::ffff:0:0/96 (IPv4-mapped)";
    if (lo.same_high96(Ipv6{}) && lo.low32() <= 1) return ":: and ::1 (unspecified, loopback)";
    return nullptr;
}

}  // namespace

bool parse_addrs(std::string_view s, AddrSet& out, std::string& err) {
    out = AddrSet{};
    std::string first4, first6;  // the entries already taken, for "two ranges" messages
    size_t start = 0;
    for (;;) {
        const size_t comma = s.find(',', start);
        const std::string_view item = trim(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start));
        const size_t dash = item.find('-');
        const std::string_view a = trim(item.substr(0, dash));
        const std::string_view b = dash == std::string_view::npos ? a : trim(item.substr(dash + 1));
        const bool six = item.find(':') != std::string_view::npos;
        if (six) {
            const auto lo = Ipv6::parse(a), hi = Ipv6::parse(b);
            if (!lo || !hi) {
                err = "not an address: " + quoted(!lo ? a : b) + " (in " + quoted(s) + ")";
                return false;
            }
            if (out.has6) {
                err = "two IPv6 ranges: " + quoted(first6) + " and " + quoted(item) + " (at most one address or range per family)";
                return false;
            }
            if (!lo->same_high96(*hi)) {
                err = "IPv6 range " + quoted(item) + ": its ends differ in their first 96 bits (a range steps "
                      "through the last 32 bits only)";
                return false;
            }
            if (hi->low32() < lo->low32()) {
                err = "range " + quoted(item) + " is reversed (its first address is above its last)";
                return false;
            }
            const uint64_t n = uint64_t{hi->low32()} - lo->low32() + 1;
            if (n > kMaxV6Range) {
                err = "IPv6 range " + quoted(item) + " is too large: " + std::to_string(n) + " addresses, at most " +
                      std::to_string(kMaxV6Range);
                return false;
            }
            if (const char* why = not_host6(*lo)) {
                err = quoted(item) + " is in " + why + ", which is no host's address";
                return false;
            }
            out.has6 = true;
            out.lo6 = *lo;
            out.count6 = static_cast<uint32_t>(n);
            first6 = item;
        } else {
            const auto lo = Ipv4::parse(a), hi = Ipv4::parse(b);
            if (!lo || !hi) {
                err = "not an address: " + quoted(!lo ? a : b) + " (in " + quoted(s) + ")";
                return false;
            }
            if (out.has4) {
                err = "two IPv4 ranges: " + quoted(first4) + " and " + quoted(item) +
                      " (at most one address or range per family)";
                return false;
            }
            if (hi->v < lo->v) {
                err = "range " + quoted(item) + " is reversed (its first address is above its last)";
                return false;
            }
            for (const Block& k : kNotHost4) {
                if (lo->v <= k.hi && k.lo <= hi->v) {
                    err = quoted(item) + (dash == std::string_view::npos ? " is in " : " includes ") + k.what +
                          ", which is no host's address";
                    return false;
                }
            }
            out.has4 = true;
            out.lo4 = *lo;
            out.hi4 = *hi;
            first4 = item;
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return true;
}

std::string range_text(Ipv4 lo, Ipv4 hi) { return lo == hi ? lo.str() : lo.str() + "-" + hi.str(); }

std::string range6_text(Ipv6 lo, uint32_t count) {
    return count <= 1 ? lo.str() : lo.str() + "-" + lo.with_low32(lo.low32() + count - 1).str();
}

std::string addrs_text(const AddrSet& a) {
    std::string s = a.has4 ? range_text(a.lo4, a.hi4) : "";
    if (a.has6) {
        if (!s.empty()) s += ',';
        s += range6_text(a.lo6, a.count6);
    }
    return s;
}

}  // namespace synwave::app
