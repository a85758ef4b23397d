// A direct-mapped index for the 4-tuples a client owns: every connection of a load generator goes from one of
// its source addresses and ports to one of a few destinations, so (source address, source port, destination
// port, destination address) numbers a slot and the record is found without hashing or probing (dperf indexes
// its sockets the same way). The destinations must be consecutive addresses and consecutive ports (a client
// with a list of them leaves its tuples to the hash table). Keys outside the range (other destinations, a
// server's peers) are not in it: the caller falls back to the hash table.
//
// Each destination (address and port) has a block of slots, its sources' ports in order, address after
// address. A client walks source ports in order for each destination (engine/tuple_space.hpp), so the
// connections to one destination use neighbouring slots: a line of 16 slots serves 16 connections, where a
// hash table spends a cache line per connection. 64 addresses x 64512 ports to one destination: 16.5 MB of
// address space, touched only where tuples are used.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "flow/flow_key.hpp"

namespace synwave::flow {

struct TupleRange {
    uint32_t local_ip_lo = 1, local_ip_hi = 0;  // host order, inclusive; lo > hi: no range
    uint16_t local_port_lo = 0, local_port_hi = 0;
    uint32_t remote_ip = 0;                      // the first destination address and port
    uint16_t remote_port = 0;
    uint32_t remote_ips = 1;                     // destinations: remote_ip and the next remote_ips - 1 addresses,
    uint32_t remote_ports = 1;                   // each on remote_port and the next remote_ports - 1 ports
    [[nodiscard]] bool empty() const {
        return local_ip_lo > local_ip_hi || local_port_lo > local_port_hi || remote_ips == 0 || remote_ports == 0;
    }
    [[nodiscard]] uint64_t slots() const {
        return empty() ? 0
                       : (uint64_t{local_ip_hi} - local_ip_lo + 1) * (uint64_t{local_port_hi} - local_port_lo + 1) *
                             remote_ips * remote_ports;
    }
};

class TupleIndex {
public:
    static constexpr uint32_t kNone = UINT32_MAX;
    // Larger ranges than this are left to the hash table (4 bytes a slot: 64 MiB of address space, of which
    // only the pages of tuples in use are ever touched).
    static constexpr uint64_t kMaxSlots = uint64_t{1} << 24;

    explicit TupleIndex(const TupleRange& r) : r_(r) {
        if (r.empty() || r.slots() > kMaxSlots || uint64_t{r.remote_ip} + r.remote_ips > (uint64_t{1} << 32) ||
            r.remote_port + r.remote_ports > 65536) {
            r_ = TupleRange{};
            return;
        }
        // calloc: large blocks come straight from the kernel as zero pages, so the index costs memory only
        // where a client's tuples are used (a slot holds value + 1; 0 is empty).
        slots_.reset(static_cast<uint32_t*>(std::calloc(static_cast<size_t>(r.slots()), sizeof(uint32_t))));
        if (!slots_) {
            r_ = TupleRange{};
            return;
        }
        nslots_ = static_cast<size_t>(r.slots());
        nports_ = uint32_t{r.local_port_hi} - r.local_port_lo + 1;
        ip_span_ = r.local_ip_hi - r.local_ip_lo;
        rips_ = r.remote_ips;
        rports_ = r.remote_ports;
        per_remote_ = static_cast<uint32_t>(r.slots() / (uint64_t{rips_} * rports_));
        several_ = rips_ > 1 || rports_ > 1;
    }

    // The slot of `k`, or nullptr when `k` is not in the range.
    [[nodiscard]] uint32_t* slot(const FlowKey& k) {
        const uint32_t i = index(k);
        return i == kNone ? nullptr : &slots_[i];
    }
    [[nodiscard]] const uint32_t* slot(const FlowKey& k) const {
        const uint32_t i = index(k);
        return i == kNone ? nullptr : &slots_[i];
    }
    // A slot's value (kNone when empty), and storing one (kNone empties it); the index counts its entries.
    [[nodiscard]] static uint32_t get(const uint32_t* s) { return *s - 1; }  // 0 - 1 = kNone
    void set(uint32_t* s, uint32_t v) {
        used_ += (v != kNone) - (*s != 0);
        *s = v + 1;
    }
    [[nodiscard]] uint32_t size() const { return used_; }
    [[nodiscard]] bool enabled() const { return slots_ != nullptr; }
    [[nodiscard]] size_t bytes() const { return nslots_ * sizeof(uint32_t); }

private:
    [[nodiscard]] uint32_t index(const FlowKey& k) const {
        // The remote end first: a server's keys (and every key when there is no range: remote 0.0.0.0:0) fail
        // there. The first destination's slots come first and its keys take the short way, so a client with
        // one destination pays what it paid before there could be several, and so do a server's keys.
        if (k.remote_ip == r_.remote_ip && k.remote_port == r_.remote_port) return local(k, 0);
        return several_ ? other(k) : kNone;
    }
    // Unsigned differences: a value below lo wraps above the range and fails the same test; with no range
    // nports_ is 0 and every port fails.
    [[nodiscard]] uint32_t local(const FlowKey& k, uint32_t base) const {
        const uint32_t ip = k.local_ip - r_.local_ip_lo;
        const uint32_t port = uint32_t{k.local_port} - r_.local_port_lo;
        if (ip > ip_span_ || port >= nports_) return kNone;
        return base + ip * nports_ + port;
    }
    [[gnu::noinline]] uint32_t other(const FlowKey& k) const {
        const uint32_t rip = k.remote_ip - r_.remote_ip;
        const uint32_t rport = uint32_t{k.remote_port} - r_.remote_port;
        if (rip >= rips_ || rport >= rports_) return kNone;
        return local(k, (rport * rips_ + rip) * per_remote_);
    }

    struct Free {
        void operator()(uint32_t* p) const { std::free(p); }
    };
    TupleRange r_;
    uint32_t nports_ = 0;   // 0: no range
    uint32_t ip_span_ = 0;
    uint32_t rips_ = 0, rports_ = 0;  // 0: no range
    uint32_t per_remote_ = 0;         // slots per destination (address and port)
    bool several_ = false;            // more than one destination
    uint32_t used_ = 0;
    size_t nslots_ = 0;
    std::unique_ptr<uint32_t[], Free> slots_;
};

}  // namespace synwave::flow
