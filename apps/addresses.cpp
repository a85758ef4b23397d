#include "addresses.hpp"

#include <algorithm>
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

namespace {

// One entry of a list: an address or a range of one family, checked, into `out` (one family set).
bool parse_item(std::string_view s, std::string_view item, AddrSet& out, std::string& err) {
    out = AddrSet{};
    const size_t dash = item.find('-');
    const std::string_view a = trim(item.substr(0, dash));
    const std::string_view b = dash == std::string_view::npos ? a : trim(item.substr(dash + 1));
    if (item.find(':') != std::string_view::npos) {
        const auto lo = Ipv6::parse(a), hi = Ipv6::parse(b);
        if (!lo || !hi) {
            err = "not an address: " + quoted(!lo ? a : b) + " (in " + quoted(s) + ")";
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
        return true;
    }
    const auto lo = Ipv4::parse(a), hi = Ipv4::parse(b);
    if (!lo || !hi) {
        err = "not an address: " + quoted(!lo ? a : b) + " (in " + quoted(s) + ")";
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
    return true;
}

// Calls f(item text, its AddrSet) for each comma-separated entry of `s`; false at the first bad one.
template <class F>
bool for_each_item(std::string_view s, std::string& err, F&& f) {
    size_t start = 0;
    for (;;) {
        const size_t comma = s.find(',', start);
        const std::string_view item = trim(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start));
        AddrSet one;
        if (!parse_item(s, item, one, err) || !f(item, one)) return false;
        if (comma == std::string_view::npos) return true;
        start = comma + 1;
    }
}

}  // namespace

bool parse_addrs(std::string_view s, AddrSet& out, std::string& err) {
    out = AddrSet{};
    std::string first4, first6;  // the entries already taken, for "two ranges" messages
    return for_each_item(s, err, [&](std::string_view item, const AddrSet& one) {
        std::string& first = one.has6 ? first6 : first4;
        if (!first.empty()) {
            err = std::string(one.has6 ? "two IPv6 ranges: " : "two IPv4 ranges: ") + quoted(first) + " and " +
                  quoted(item) + " (at most one address or range per family)";
            return false;
        }
        first = item;
        if (one.has6) {
            out.has6 = true;
            out.lo6 = one.lo6;
            out.count6 = one.count6;
        } else {
            out.has4 = true;
            out.lo4 = one.lo4;
            out.hi4 = one.hi4;
        }
        return true;
    });
}

bool parse_dsts(std::string_view s, DstList& out, std::string& err) {
    out = DstList{};
    const bool ok = for_each_item(s, err, [&](std::string_view item, const AddrSet& one) {
        const uint64_t n = one.has6 ? one.count6 : one.count4();
        if ((one.has6 ? out.v6.size() : out.v4.size()) + n > kMaxDsts) {
            err = "more than " + std::to_string(kMaxDsts) + " IPv" + (one.has6 ? "6" : "4") + " destinations (at " +
                  quoted(item) + ")";
            return false;
        }
        for (uint64_t i = 0; i < n; ++i) {
            if (one.has6) out.v6.push_back(one.lo6.with_low32(static_cast<uint32_t>(one.lo6.low32() + i)));
            else out.v4.push_back(Ipv4{static_cast<uint32_t>(one.lo4.v + i)});
        }
        return true;
    });
    if (!ok) return false;
    // A destination twice would give its tuples twice in one pass of the walk.
    auto twice = [&](auto list) {
        std::sort(list.begin(), list.end());
        const auto d = std::adjacent_find(list.begin(), list.end());
        if (d != list.end()) err = "destination " + d->str() + " given twice (in " + quoted(s) + ")";
        return d != list.end();
    };
    if (twice(out.v4) || twice(out.v6)) return false;
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

std::string dsts_text(const DstList& d) {
    std::string t;
    auto add = [&](const std::string& run) {
        if (!t.empty()) t += ',';
        t += run;
    };
    for (size_t i = 0; i < d.v4.size();) {
        size_t k = i + 1;
        while (k < d.v4.size() && d.v4[k].v == d.v4[k - 1].v + 1) ++k;
        add(range_text(d.v4[i], d.v4[k - 1]));
        i = k;
    }
    for (size_t i = 0; i < d.v6.size();) {
        size_t k = i + 1;
        while (k < d.v6.size() && d.v6[k] == d.v6[k - 1].with_low32(d.v6[k - 1].low32() + 1) &&
               d.v6[k].low32() != 0)
            ++k;
        add(range6_text(d.v6[i], static_cast<uint32_t>(k - i)));
        i = k;
    }
    return t;
}

}  // namespace synwave::app
