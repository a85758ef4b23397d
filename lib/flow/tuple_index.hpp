// A direct-mapped index for the 4-tuples a client owns: every connection of a load generator goes from one of
// its source addresses and ports to one destination, so (source address, source port) numbers a slot and the
// record is found without hashing or probing (dperf indexes its sockets the same way). Keys outside the range
// (other destinations, a server's peers) are not in it: the caller falls back to the hash table.
//
// The slots of one source address are its ports in order, and a client walks its ports in order, so
// consecutive connections use neighbouring slots: a line of 16 slots serves 16 connections, where a hash
// table spends a cache line per connection. 64 addresses x 64512 ports: 16.5 MB of address space, touched
// only where tuples are used.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "flow/flow_key.hpp"

namespace synwave::flow {

struct TupleRange {
    uint32_t local_ip_lo = 1, local_ip_hi = 0;  // host order, inclusive; lo > hi: no range
    uint16_t local_port_lo = 0, local_port_hi = 0;
    uint32_t remote_ip = 0;                      // the one destination
    uint16_t remote_port = 0;
    [[nodiscard]] bool empty() const { return local_ip_lo > local_ip_hi || local_port_lo > local_port_hi; }
    [[nodiscard]] uint64_t slots() const {
        return empty() ? 0
                       : (uint64_t{local_ip_hi} - local_ip_lo + 1) * (uint64_t{local_port_hi} - local_port_lo + 1);
    }
};

class TupleIndex {
public:
    static constexpr uint32_t kNone = UINT32_MAX;
    // Larger ranges than this are left to the hash table (4 bytes a slot: 64 MiB of address space, of which
    // only the pages of tuples in use are ever touched).
    static constexpr uint64_t kMaxSlots = uint64_t{1} << 24;

    explicit TupleIndex(const TupleRange& r) : r_(r) {
        if (r.empty() || r.slots() > kMaxSlots) {
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
        // there. Unsigned differences: a value below lo wraps above the range and fails the same test; with no
        // range nports_ is 0 and every port fails.
        if (k.remote_ip != r_.remote_ip || k.remote_port != r_.remote_port) return kNone;
        const uint32_t ip = k.local_ip - r_.local_ip_lo;
        const uint32_t port = uint32_t{k.local_port} - r_.local_port_lo;
        if (ip > ip_span_ || port >= nports_) return kNone;
        return ip * nports_ + port;
    }

    struct Free {
        void operator()(uint32_t* p) const { std::free(p); }
    };
    TupleRange r_;
    uint32_t nports_ = 0;   // 0: no range
    uint32_t ip_span_ = 0;
    uint32_t used_ = 0;
    size_t nslots_ = 0;
    std::unique_ptr<uint32_t[], Free> slots_;
};

}  // namespace synwave::flow
