// engine::TupleSpace and TupleWalk: both orders use every tuple exactly once per pass over odd-sized spaces,
// the random order is the same permutation every pass (so a tuple comes back exactly N steps later), the
// walk's tuples are at(position(step)), its ahead() is the tuple kAhead steps on, disjoint source slices give
// disjoint tuples, and the random order is not the sequential one.
#include "engine/tuple_space.hpp"

#include <gtest/gtest.h>

#include <set>
#include <tuple>
#include <vector>

using namespace synwave;
using namespace synwave::engine;

namespace {

using Key = std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>;
Key key(const TupleIx& t) { return {t.src, t.sport, t.dst, t.dport}; }

// Every tuple of the space, once: the natural indices' decompositions are all the combinations.
void expect_every_tuple_once(const std::vector<TupleIx>& got, const TupleDims& d) {
    std::set<Key> seen;
    for (const TupleIx& t : got) {
        EXPECT_LT(t.src, d.src_addrs);
        EXPECT_LT(t.sport, d.src_ports);
        EXPECT_LT(t.dst, d.dst_addrs);
        EXPECT_LT(t.dport, d.dst_ports);
        EXPECT_TRUE(seen.insert(key(t)).second) << t.src << " " << t.sport << " " << t.dst << " " << t.dport;
    }
    EXPECT_EQ(seen.size(), d.size());
}

// A walk whose flow keys are the tuples' indices (the identity map), and back.
const std::vector<uint32_t> kIds = [] {
    std::vector<uint32_t> v(65536);
    for (uint32_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
}();
const std::vector<uint16_t> kPortIds(kIds.begin(), kIds.end());
TupleWalk walker(const TupleSpace& s) { return TupleWalk(s, TupleMap{0, 0, kIds.data(), kPortIds.data()}); }
TupleIx ix(const flow::FlowKey& k) { return TupleIx{k.local_ip, k.local_port, k.remote_ip, k.remote_port}; }

std::vector<TupleIx> walk(TupleWalk& w, uint64_t n) {
    std::vector<TupleIx> out;
    for (uint64_t i = 0; i < n; ++i) out.push_back(ix(w.next()));
    return out;
}

const TupleDims kOdd{3, 7, 5, 2};  // 210 tuples: no dimension a power of two, N not one either

}  // namespace

TEST(TupleSpace, SequentialOrderIsDestinationFastestThenPortsThenSourceAddress) {
    TupleWalk w = walker(TupleSpace(kOdd, TupleOrder::Sequential, 1));
    const std::vector<TupleIx> got = walk(w, kOdd.size());
    expect_every_tuple_once(got, kOdd);
    EXPECT_EQ(got[0], (TupleIx{0, 0, 0, 0}));
    EXPECT_EQ(got[1], (TupleIx{0, 0, 1, 0}));   // the next destination address first
    EXPECT_EQ(got[5], (TupleIx{0, 0, 0, 1}));   // then the next destination port
    EXPECT_EQ(got[10], (TupleIx{0, 1, 0, 0}));  // then the next source port
    EXPECT_EQ(got[70], (TupleIx{1, 0, 0, 0}));  // then the next source address
    EXPECT_EQ(got.back(), (TupleIx{2, 6, 4, 1}));
    EXPECT_EQ(ix(w.next()), got[0]);  // the second pass starts over
}

TEST(TupleSpace, RandomOrderUsesEveryTupleOncePerPassAndRepeatsThePermutation) {
    for (const TupleDims& d : {kOdd, TupleDims{1, 1, 1, 1}, TupleDims{1, 2, 1, 1}, TupleDims{1, 3, 1, 1},
                               TupleDims{2, 64, 1, 1}, TupleDims{5, 1, 3, 1}, TupleDims{64, 1000, 1, 1}}) {
        TupleWalk w = walker(TupleSpace(d, TupleOrder::Random, 42));
        const std::vector<TupleIx> first = walk(w, d.size());
        expect_every_tuple_once(first, d);
        const std::vector<TupleIx> second = walk(w, d.size());
        EXPECT_EQ(first, second) << "the same permutation every pass: a tuple comes back exactly N steps later";
    }
}

TEST(TupleSpace, TheWalkYieldsTheTupleAtEachStepsPositionAndAheadIsKAheadStepsOn) {
    for (const TupleOrder order : {TupleOrder::Sequential, TupleOrder::Random}) {
        const TupleSpace s(kOdd, order, 7);
        TupleWalk w = walker(s);
        std::vector<TupleIx> got, ahead;
        for (uint64_t i = 0; i < 2 * s.size(); ++i) {
            got.push_back(ix(w.next()));
            ahead.push_back(ix(w.ahead()));
            EXPECT_EQ(got.back(), s.at(s.position(i % s.size()))) << i;
        }
        for (uint64_t i = 0; i + TupleWalk::kAhead < got.size(); ++i) EXPECT_EQ(ahead[i], got[i + TupleWalk::kAhead]);
        // at() numbers the natural order: its decomposition inverts the mixed-radix index.
        for (uint64_t i = 0; i < s.size(); ++i) {
            const TupleIx t = s.at(i);
            EXPECT_EQ(((uint64_t{t.src} * kOdd.src_ports + t.sport) * kOdd.dst_ports + t.dport) * kOdd.dst_addrs + t.dst, i);
        }
    }
}

TEST(TupleSpace, RandomOrderIsNotSequentialAndDependsOnTheSeed) {
    const TupleDims d{4, 1000, 3, 2};
    TupleWalk a = walker(TupleSpace(d, TupleOrder::Random, 1)), b = walker(TupleSpace(d, TupleOrder::Random, 2));
    const std::vector<TupleIx> wa = walk(a, d.size()), wb = walk(b, d.size());
    const TupleSpace seq(d, TupleOrder::Sequential, 1);
    uint64_t in_place = 0, same = 0, consecutive = 0;
    for (uint64_t i = 0; i < d.size(); ++i) {
        in_place += wa[i] == seq.at(i);
        same += wa[i] == wb[i];
        if (i > 0) consecutive += seq.next_natural(wa[i - 1]) == wa[i];
    }
    // A random permutation of 24000 leaves about one element in place and about one pair in sequence.
    EXPECT_LT(in_place, 20u);
    EXPECT_LT(same, 20u);
    EXPECT_LT(consecutive, 20u);
    // Every destination and port is used early on, not only after a whole source port's run: the first
    // 600 connections (1/40 of the pass) reach each of the 6 destination tuples about 100 times.
    std::vector<uint32_t> per_dst(6);
    for (uint64_t i = 0; i < 600; ++i) ++per_dst[wa[i].dst * 2 + wa[i].dport];
    for (const uint32_t n : per_dst) {
        EXPECT_GT(n, 60u);
        EXPECT_LT(n, 140u);
    }
}

// Each client lcore walks its own slice of the sources (the apps split them by address, or by port when
// there are fewer addresses than lcores): the slices' tuples never meet, and together they are the whole space.
TEST(TupleSpace, DisjointSourceSlicesGiveDisjointTuplesCoveringTheSpace) {
    constexpr uint32_t kAddrs = 7, kPorts = 11, kDsts = 3, kDports = 2;
    for (const bool by_port : {false, true}) {
        std::set<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>> all;
        uint64_t total = 0;
        const uint32_t lanes = 3, n = by_port ? kPorts : kAddrs;
        for (uint32_t i = 0; i < lanes; ++i) {
            const uint32_t lo = n * i / lanes, hi = n * (i + 1) / lanes;  // [lo, hi) of the split dimension
            const TupleDims d{by_port ? kAddrs : hi - lo, by_port ? hi - lo : kPorts, kDsts, kDports};
            TupleWalk w = walker(TupleSpace(d, TupleOrder::Random, 9));
            for (const TupleIx& t : walk(w, d.size())) {
                // Back to absolute source address and port, as the client adds its slice's base.
                const uint32_t addr = t.src + (by_port ? 0 : lo), port = t.sport + (by_port ? lo : 0);
                EXPECT_TRUE(all.insert({addr, port, t.dst, t.dport}).second);
                ++total;
            }
        }
        EXPECT_EQ(total, uint64_t{kAddrs} * kPorts * kDsts * kDports);
        EXPECT_EQ(all.size(), total);
    }
}

TEST(TupleSpace, AnEmptyDimensionLeavesOneTupleAndLargeSpacesUse64BitIndices) {
    const TupleSpace empty(TupleDims{0, 5, 1, 1}, TupleOrder::Random, 1);
    EXPECT_EQ(empty.size(), 1u);
    EXPECT_EQ(empty.at(empty.position(0)), TupleIx{});
    // 2^24 addresses x 65536 ports x 4 x 3: beyond 2^32, the 64-bit path of at() and position().
    const TupleDims big{1u << 24, 65536, 4, 3};
    const TupleSpace s(big, TupleOrder::Random, 5);
    EXPECT_EQ(s.size(), big.size());
    const TupleIx last = s.at(big.size() - 1);
    EXPECT_EQ(last, (TupleIx{(1u << 24) - 1, 65535, 3, 2}));
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < 1000; ++i) {
        const uint64_t p = s.position(i);
        EXPECT_LT(p, big.size());
        EXPECT_TRUE(seen.insert(p).second);
    }
    EXPECT_GT(*seen.rbegin(), uint64_t{1} << 40);  // spread over the whole space, not bunched at its start
}
