// IPv6 addresses as 32-bit handles, so that an IPv6 connection costs the same records and flow-table entries as
// an IPv4 one.
//
// Every connection record (Tcb, SYN-RECEIVED record, TIME_WAIT record) and every flow-table entry holds its
// 4-tuple as a 12-byte FlowKey with 32-bit addresses. An IPv6 connection's addresses are entered here once and
// stand in the key as a handle, a number in 0.0.0.0/8: RFC 1122 §3.2.1.3 forbids that block as the source of
// any segment and as a destination ("this network"), so the parser drops IPv4 TCP from it (ipv4_martian_src)
// and no IPv4 key can equal an IPv6 one. The IPv4 path stays as it was: the same key, the same table, one
// compare more where an entry is inserted or erased. A handle is only meaningful inside one stack; the
// wire addresses are looked up again (addr()) where frames are built and where RFC 6528 and the SYN
// cookies hash the real 4-tuple.
//
// Lifetime: our own addresses and a client's destinations are pinned (never freed). A peer's address is
// acquired by the engine when a segment from it arrives, referenced by each flow-table entry that holds it
// (ConnIndex counts them on insert and erase), and freed by sweep() at the end of the loop turn once no
// entry holds it: so segments queued this turn (a RST to a stranger, a cookie SYN-ACK) can still be built.
//
// Memory: one 24-byte entry per distinct address plus 8 bytes of index (a server facing 10^6 clients behind
// 10^3 addresses pays for 10^3). Capacity is fixed at construction; when it is full, acquire() fails and the
// engine counts the segment (addr_table_full).
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/ipv6addr.hpp"
#include "flow/flow_key.hpp"

namespace synwave::flow {

class AddrTable {
public:
    static constexpr uint32_t kNone = 0;                  // no handle (0.0.0.0 is never one)
    static constexpr uint32_t kLimit = uint32_t{1} << 24; // handles are 1 .. 2^24 - 1: 0.0.0.0/8

    [[nodiscard]] static constexpr bool is_handle(uint32_t ip) { return ip - 1 < kLimit - 1; }

    explicit AddrTable(uint32_t capacity)
        : cap_(capacity < kLimit - 1 ? capacity : kLimit - 1),
          entries_(static_cast<size_t>(cap_) + 1),
          mask_(static_cast<uint32_t>(std::bit_ceil(uint64_t{cap_} * 2 + 2)) - 1),
          slots_(size_t{mask_} + 1, kNone) {
        pending_.reserve(cap_);
        // Handles are handed out from the bottom, so a run of pinned addresses gets consecutive handles.
        for (uint32_t h = cap_; h >= 1; --h) free_.push_back(h);
    }

    // The handle of `a`, or kNone.
    [[nodiscard]] uint32_t find(const Ipv6& a) const {
        for (uint32_t i = home(a);; i = (i + 1) & mask_) {
            const uint32_t h = slots_[i];
            if (h == kNone || entries_[h].addr == a) return h;
        }
    }
    // The handle of `a`, entered for good (our addresses, a client's destinations); kNone when full.
    [[nodiscard]] uint32_t pin(const Ipv6& a) {
        const uint32_t h = enter(a);
        if (h != kNone) entries_[h].pinned = 1;
        return h;
    }
    // The handle of `a` for the segment being processed: freed by sweep() unless a flow-table entry takes a
    // reference first. kNone when the table is full.
    [[nodiscard]] uint32_t acquire(const Ipv6& a) {
        const uint32_t h = enter(a);
        if (h != kNone && entries_[h].refs == 0 && !entries_[h].pinned) queue(h);
        return h;
    }
    // A flow-table entry holding `ip` was inserted / erased (no-op for IPv4 addresses and pinned handles).
    void ref(uint32_t ip) {
        if (is_handle(ip)) ++entries_[ip].refs;
    }
    void unref(uint32_t ip) {
        if (is_handle(ip) && --entries_[ip].refs == 0) queue(ip);
    }
    // Frees the handles queued since the last sweep that nothing references.
    void sweep() {
        for (const uint32_t h : pending_) {
            Entry& e = entries_[h];
            e.queued = 0;
            if (e.refs == 0 && !e.pinned) remove(h);
        }
        pending_.clear();
    }
    [[nodiscard]] const Ipv6& addr(uint32_t h) const { return entries_[h].addr; }
    [[nodiscard]] uint32_t refs(uint32_t h) const { return entries_[h].refs; }
    [[nodiscard]] uint32_t size() const { return cap_ - static_cast<uint32_t>(free_.size()); }
    [[nodiscard]] uint32_t capacity() const { return cap_; }

private:
    struct Entry {
        Ipv6 addr;
        uint32_t refs = 0;
        uint8_t pinned = 0, queued = 0;
    };

    [[nodiscard]] uint32_t home(const Ipv6& a) const {
        FlowKey k;  // the 16 bytes through the flow table's hash (CRC32C + finaliser), as two keys' worth
        std::memcpy(&k, a.b.data(), sizeof(k));
        uint32_t tail;
        std::memcpy(&tail, a.b.data() + sizeof(k), sizeof(tail));
        return (flow_hash(k) ^ detail::fmix32(tail + detail::kFlowHashSeed)) & mask_;
    }
    uint32_t enter(const Ipv6& a) {
        uint32_t i = home(a);
        for (;; i = (i + 1) & mask_) {
            const uint32_t h = slots_[i];
            if (h == kNone) break;
            if (entries_[h].addr == a) return h;
        }
        if (free_.empty()) return kNone;
        const uint32_t h = free_.back();
        free_.pop_back();
        entries_[h] = Entry{a};
        slots_[i] = h;
        return h;
    }
    void queue(uint32_t h) {
        if (entries_[h].queued) return;
        entries_[h].queued = 1;
        pending_.push_back(h);  // at most one place per handle: never reallocates
    }
    // Linear probing with backward-shift deletion (Knuth 6.4 Algorithm R): no tombstones.
    void remove(uint32_t h) {
        uint32_t i = home(entries_[h].addr);
        while (slots_[i] != h) i = (i + 1) & mask_;
        for (uint32_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
            const uint32_t g = slots_[j];
            if (g == kNone) break;
            const uint32_t k = home(entries_[g].addr);
            // Move g back to i unless its home lies cyclically in (i, j].
            if (((j - k) & mask_) >= ((j - i) & mask_)) {
                slots_[i] = g;
                i = j;
            }
        }
        slots_[i] = kNone;
        free_.push_back(h);
    }

    uint32_t cap_;
    std::vector<Entry> entries_;  // by handle; [0] unused
    uint32_t mask_;
    std::vector<uint32_t> slots_;    // open addressing: handles, kNone = empty
    std::vector<uint32_t> free_;     // free handles, lowest last
    std::vector<uint32_t> pending_;  // acquired or dropped to 0 references since the last sweep
};

}  // namespace synwave::flow
