// A client's tuple space of one family: sources (addresses x ports) x destinations (addresses x ports), and
// the two orders a client walks it in, one connection per step.
//
// Natural order (index i in [0, N)): the destination address varies fastest, then the destination port, then
// the source port, then the source address. Consecutive connections so go round the servers (and their
// ports) instead of spending the 64k source ports of an address on one server before moving on; with one
// destination it is the port-then-address order firewall tests expect. For each destination the source ports
// go in order, which is the slot order of the stack's direct index (flow/tuple_index.hpp): the connections
// to one destination use neighbouring slots.
//
// Sequential walk: i = 0, 1, ..., N - 1, 0, ... Random walk: step s yields P(s mod N) for one fixed
// pseudo-random permutation P of [0, N), the same every pass, so each tuple is used exactly once per pass and
// comes back exactly N connections later in both orders: TIME_WAIT reuse stays as predictable as in
// sequential order (a tuple is reused no sooner than N connections on). P is a keyed bijection of
// [0, 2^k) (2^k >= N, the least such) restricted to [0, N) by cycle walking: x = F(s); while x >= N: x = F(x)
// (Black and Rogaway, "Ciphers with arbitrary finite domains", 2002). F is four rounds of add-key, multiply by
// an odd key and xor-shift right, each a bijection modulo 2^k; since 2^k < 2N, fewer than two evaluations
// per step are needed on average.
#pragma once
#include <array>
#include <cstdint>

#include "flow/flow_key.hpp"

namespace synwave::engine {

enum class TupleOrder : uint8_t { Sequential, Random };

// One tuple as indices into the four dimensions.
struct TupleIx {
    uint32_t src = 0;    // source address: the i-th of the client's (a handle offset for IPv6)
    uint32_t sport = 0;  // source port: offset from the lowest
    uint32_t dst = 0;    // destination address: index into the client's list
    uint32_t dport = 0;  // destination port: index into the client's list
    bool operator==(const TupleIx&) const = default;
};

struct TupleDims {
    uint32_t src_addrs = 1, src_ports = 1, dst_addrs = 1, dst_ports = 1;
    // The number of tuples; the caller keeps it below 2^62 (apps check it), 0 when a dimension is empty.
    [[nodiscard]] uint64_t size() const {
        return uint64_t{src_addrs} * src_ports * uint64_t{dst_addrs} * dst_ports;
    }
};

class TupleSpace {
public:
    TupleSpace() : TupleSpace(TupleDims{}, TupleOrder::Sequential, 0) {}
    TupleSpace(TupleDims d, TupleOrder order, uint64_t seed) : d_(d), order_(order), n_(d.size()) {
        if (n_ == 0) {  // an empty dimension: a space of one tuple (0, 0, 0, 0) keeps every walk defined
            d_ = TupleDims{};
            n_ = 1;
        }
        while ((uint64_t{1} << bits_) < n_) ++bits_;
        mask_ = (uint64_t{1} << bits_) - 1;
        shift_ = bits_ > 1 ? (bits_ + 1) / 2 : 1;
        for (uint32_t r = 0; r < kRounds; ++r) {
            add_[r] = splitmix(seed) & mask_;
            mul_[r] = splitmix(seed) | 1;
        }
    }

    [[nodiscard]] uint64_t size() const { return n_; }
    [[nodiscard]] const TupleDims& dims() const { return d_; }
    [[nodiscard]] TupleOrder order() const { return order_; }

    // The tuple of natural index i < size().
    [[nodiscard]] TupleIx at(uint64_t i) const {
        TupleIx t;
        if (i <= UINT32_MAX) {  // 32-bit divisions where they do (a few times cheaper than 64-bit ones)
            auto x = static_cast<uint32_t>(i);
            t.dst = x % d_.dst_addrs;
            x /= d_.dst_addrs;
            t.dport = x % d_.dst_ports;
            x /= d_.dst_ports;
            t.sport = x % d_.src_ports;
            t.src = x / d_.src_ports;
            return t;
        }
        t.dst = static_cast<uint32_t>(i % d_.dst_addrs);
        i /= d_.dst_addrs;
        t.dport = static_cast<uint32_t>(i % d_.dst_ports);
        i /= d_.dst_ports;
        t.sport = static_cast<uint32_t>(i % d_.src_ports);
        t.src = static_cast<uint32_t>(i / d_.src_ports);
        return t;
    }

    // The natural index the walk uses at step s of a pass (s < size()).
    [[nodiscard]] uint64_t position(uint64_t s) const {
        if (order_ == TupleOrder::Sequential) return s;
        uint64_t x = mix(s);
        while (x >= n_) x = mix(x);  // cycle walking: ends, as s's cycle under mix() holds s itself
        return x;
    }

    // The tuple after t in natural order (wrapping to the first), without a division.
    [[nodiscard]] TupleIx next_natural(TupleIx t) const {
        if (++t.dst < d_.dst_addrs) return t;
        t.dst = 0;
        if (++t.dport < d_.dst_ports) return t;
        t.dport = 0;
        if (++t.sport < d_.src_ports) return t;
        t.sport = 0;
        if (++t.src == d_.src_addrs) t.src = 0;
        return t;
    }

private:
    static constexpr uint32_t kRounds = 4;
    static uint64_t splitmix(uint64_t& s) {
        uint64_t z = (s += 0x9e37'79b9'7f4a'7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58'476d'1ce4'e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d0'49bb'1331'11ebull;
        return z ^ (z >> 31);
    }
    // A bijection of [0, 2^bits): adding a key, multiplying by an odd number and x ^= x >> shift are each
    // invertible modulo 2^bits; the multiplications carry low bits up, the shifts bring high bits down.
    [[nodiscard]] uint64_t mix(uint64_t x) const {
        for (uint32_t r = 0; r < kRounds; ++r) {
            x = ((x + add_[r]) * mul_[r]) & mask_;
            x ^= x >> shift_;
        }
        return x;
    }

    TupleDims d_;
    TupleOrder order_;
    uint64_t n_;
    uint32_t bits_ = 0, shift_ = 1;
    uint64_t mask_ = 0;
    std::array<uint64_t, kRounds> add_{}, mul_{};
};

// Where a walk's tuples go: the values of a flow key for the indices of a tuple.
struct TupleMap {
    uint32_t src_base = 0;            // the first source address (IPv6: the first source's handle)
    uint16_t sport_base = 0;          // the lowest source port
    const uint32_t* dsts = nullptr;   // the destination addresses (IPv6: handles), one per index
    const uint16_t* dports = nullptr; // the destination ports, one per index
};

// A walk over a TupleSpace that keeps the flow keys of the next kAhead steps computed, so that the caller can
// start loading the flow-table entry of a tuple (ahead()) kAhead connections before it connects it, and each
// tuple is still computed and mapped once.
class TupleWalk {
public:
    static constexpr uint32_t kAhead = 8;
    TupleWalk() = default;  // walks nothing: next() gives zero keys
    TupleWalk(const TupleSpace& s, const TupleMap& m) : s_(s), m_(m) {
        for (flow::FlowKey& k : ring_) k = produce();
    }

    // The tuple of this step (local = source, remote = destination); the walk moves on by one.
    flow::FlowKey next() {
        const flow::FlowKey k = ring_[head_];
        if (m_.dsts) ring_[head_] = produce();
        head_ = (head_ + 1) & (kAhead - 1);
        return k;
    }
    // The tuple kAhead steps after the one next() returned last.
    [[nodiscard]] const flow::FlowKey& ahead() const { return ring_[(head_ + kAhead - 1) & (kAhead - 1)]; }
    [[nodiscard]] const TupleSpace& space() const { return s_; }

private:
    static_assert((kAhead & (kAhead - 1)) == 0, "a power of two");
    flow::FlowKey produce() {
        TupleIx t;
        if (s_.order() == TupleOrder::Sequential) {
            t = lead_;
            lead_ = s_.next_natural(lead_);
        } else {
            t = s_.at(s_.position(step_));
            if (++step_ == s_.size()) step_ = 0;
        }
        return flow::FlowKey{m_.src_base + t.src, m_.dsts[t.dst], static_cast<uint16_t>(m_.sport_base + t.sport),
                             m_.dports[t.dport]};
    }

    TupleSpace s_;
    TupleMap m_;
    TupleIx lead_{};         // sequential: the tuple the next produce() maps
    uint64_t step_ = 0;      // random: the step of the pass the next produce() computes
    std::array<flow::FlowKey, kAhead> ring_{};
    uint32_t head_ = 0;
};

}  // namespace synwave::engine
