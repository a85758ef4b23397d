// Where a stack finds a connection's record from its 4-tuple: the hash table (flow_table.hpp), with a client's
// own 4-tuples found by index in front of it (tuple_index.hpp). One call decides which of the two holds a key;
// the hash is computed only for keys of the table, and callers pass it back so it is computed once. It also
// owns the IPv6 address handles (addr_table.hpp) and counts each entry as one reference to its remote
// address.
#pragma once
#include <cstdint>

#include "core/cacheline.hpp"
#include "flow/addr_table.hpp"
#include "flow/flow_key.hpp"
#include "flow/flow_table.hpp"
#include "flow/tuple_index.hpp"

namespace synwave::flow {

class ConnIndex {
public:
    static constexpr uint32_t kNone = FlowTable::kNone;
    static_assert(FlowTable::kNone == TupleIndex::kNone, "one 'no entry' value for both");

    ConnIndex(uint32_t max_entries, const TupleRange& direct, uint32_t addrs6 = 0)
        : table_(max_entries), direct_(direct), addrs_(addrs6) {}

    // The key's hash as the other calls want it: 0 (not used) for a key of the direct range.
    [[nodiscard]] uint32_t hash_of(const FlowKey& k) const { return direct_.slot(k) ? 0 : flow_hash(k); }

    // The value stored for `k` (kNone if none); `h` receives hash_of(k).
    [[nodiscard]] uint32_t find(const FlowKey& k, uint32_t& h) const {
        if (const uint32_t* s = direct_.slot(k)) {
            h = 0;
            return TupleIndex::get(s);
        }
        h = flow_hash(k);
        return table_.lookup(k, h);
    }
    // Enters an absent key; false when the table is full (the direct range never is).
    [[nodiscard]] bool insert(const FlowKey& k, uint32_t h, uint32_t v) {
        if (uint32_t* s = direct_.slot(k)) {
            direct_.set(s, v);
        } else if (table_.insert(k, h, v) != FlowTable::Insert::Ok) {
            return false;
        }
        addrs_.ref(k.remote_ip);
        return true;
    }
    void update(const FlowKey& k, uint32_t h, uint32_t v) {
        if (uint32_t* s = direct_.slot(k)) {
            direct_.set(s, v);
        } else {
            (void)table_.update(k, h, v);
        }
    }
    void erase(const FlowKey& k, uint32_t h) {
        if (uint32_t* s = direct_.slot(k)) {
            if (TupleIndex::get(s) == kNone) return;
            direct_.set(s, kNone);
        } else if (!table_.erase(k, h)) {
            return;
        }
        addrs_.unref(k.remote_ip);
    }
    // Starts loading where `k`'s entry lives.
    void prefetch(const FlowKey& k, uint32_t h) const {
        if (const uint32_t* s = direct_.slot(k)) {
            prefetch_read(s);
        } else {
            table_.prefetch(h);
        }
    }
    [[nodiscard]] uint32_t size() const { return table_.size() + direct_.size(); }
    [[nodiscard]] uint32_t indexed() const { return direct_.size(); }  // of size(): in the direct range
    [[nodiscard]] AddrTable& addrs() { return addrs_; }
    [[nodiscard]] const AddrTable& addrs() const { return addrs_; }

private:
    FlowTable table_;
    TupleIndex direct_;
    AddrTable addrs_;
};

}  // namespace synwave::flow
