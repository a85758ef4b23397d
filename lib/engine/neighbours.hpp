// The worker's neighbour caches: next-hop address -> MAC, learned from ARP (RFC 826) for IPv4 and from Neighbor
// Discovery (RFC 4861) for IPv6, and from every TCP frame that reaches us.
//
// Direct-mapped (4096 slots per family): a load generator talks to one gateway or to a few peers, and a server
// answers peers whose MAC every one of their frames re-teaches, so a collision costs one more request, never
// a wrong MAC. RFC 4861's full state machine (REACHABLE / STALE / DELAY / PROBE, §7.3.2) is not kept: an entry
// is known or asked for, requests for one address go out at most every 100 ms (RFC 4861 §7.2.2 RetransTimer
// is 1 s; ARP has no rule, Linux uses 1 s too), and frames wait in the worker's hold queue meanwhile.
#pragma once
#include <cstdint>
#include <memory>

#include "core/ipv4addr.hpp"
#include "core/ipv6addr.hpp"

namespace synwave::engine {

template <class Addr>
class NeighbourCache {
public:
    static constexpr uint32_t kSlots = 4096;

    NeighbourCache() : e_(new Entry[kSlots]()) {}

    // The MAC of `ip` when known. Otherwise false, and `ask` says whether a request is due now (one per
    // `interval` cycles per address).
    [[nodiscard]] bool resolve(const Addr& ip, uint64_t now, uint64_t interval, Mac& out, bool& ask) {
        Entry& e = e_[slot(ip)];
        if (e.ip == ip && e.known) {
            out = e.mac;
            ask = false;
            return true;
        }
        if (!(e.ip == ip)) {  // a new address takes the slot; its MAC is not known yet
            e.ip = ip;
            e.known = false;
            e.asked_at = 0;
        }
        ask = e.asked_at == 0 || now - e.asked_at > interval;
        if (ask) e.asked_at = now;
        return false;
    }
    // Records what a frame from `ip` showed. True when the address was not known before (frames held for it
    // may go now). The common case, a known address with the same MAC, is two compares and no write.
    bool learn(const Addr& ip, const Mac& mac) {
        Entry& e = e_[slot(ip)];
        const bool fresh = !(e.ip == ip) || !e.known;
        if (!fresh && e.mac == mac) return false;
        e.ip = ip;
        e.known = true;
        e.mac = mac;
        return fresh;
    }

private:
    struct Entry {
        Addr ip{};
        bool known = false;  // mac is valid (learned), not merely asked for
        Mac mac;
        uint64_t asked_at = 0;
    };
    // Fibonacci hashing of the address's last 32 bits to 12 bits.
    [[nodiscard]] static uint32_t slot(const Ipv4& ip) { return (ip.v * 2654435761u) >> 20; }
    [[nodiscard]] static uint32_t slot(const Ipv6& ip) { return (ip.low32() * 2654435761u) >> 20; }

    std::unique_ptr<Entry[]> e_;
};

// A next hop of either family, as the hold queue keeps it (IPv4 as its IPv4-mapped IPv6 form).
[[nodiscard]] inline Ipv6 hop_key(const Ipv4& ip) {
    Ipv6 a;
    a.b[10] = a.b[11] = 0xff;
    return a.with_low32(ip.v);
}

}  // namespace synwave::engine
