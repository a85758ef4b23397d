// The TCP fuzzer's invariant checks over a Stack's private records (Stack names StackAudit its friend). Every
// check aborts with a message on violation, which libFuzzer and the replay driver report as a crash:
//  - each pool's records are either free (on its free list, exactly once) or in use, and the counts add up;
//  - the flow table maps exactly the records in use: table_size() == Tcbs + SynRecords + TwRecords in use,
//    and each in-use record's 4-tuple finds that record;
//  - a Tcb in use is in a state a Tcb stands for, with SND.UNA <= SND.NXT <= SND.MAX (mod 2^32, core/seq.hpp),
//    and RCV.NXT and SND.UNA never move back while the same incarnation (4-tuple, ISS) holds the record;
//  - half_open() counts the SynRecords plus the Tcbs in SYN-RECEIVED;
//  - the side records (out-of-order queue, SACK scoreboard) are each held by exactly one Tcb in use, and the
//    reassembly blocks in use are exactly those the side records' queues chain, each beyond its RCV.NXT;
//  - timers are armed only on live records: a free Tcb or SynRecord has no armed node, every SynRecord and
//    every Tcb with a deadline has one, the TIME_WAIT queue's node is armed iff the queue is not empty, and the
//    wheel holds nothing else (its pending count is the sum of those);
//  - the TIME_WAIT FIFO links exactly the records in use, oldest first, none expiring beyond 2MSL from now;
//  - between calls, nothing of a disposition is left over (no connection settling, delivering or awaiting
//    release).
#pragma once
#include "tcp/stack.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace synwave::tcp {

struct StackAudit {
    // What the audit remembers of a Tcb between two calls, to see RCV.NXT and SND.UNA move.
    struct Shadow {
        bool valid = false;
        flow::FlowKey key{};
        Seq iss, rcv_nxt, snd_una;
    };
    std::vector<Shadow> shadow;
    std::vector<uint8_t> free_mark;  // scratch
    std::vector<uint8_t> side_owned;  // scratch

    [[noreturn]] static void fail(const char* who, const char* what, uint32_t idx) {
        std::fprintf(stderr, "tcp_fuzz: broken invariant (%s, record %u): %s\n", who, idx, what);
        std::abort();
    }

    template <class Pool, class T>
    uint32_t walk_free(const Pool& pool, uint32_t T::*link, const char* who) {
        free_mark.assign(pool.capacity(), 0);
        uint32_t n = 0;
        for (uint32_t i = pool.peek(); i != kNoConn; i = pool[i].*link) {
            if (i >= pool.capacity()) fail(who, "free list leaves the pool", i);
            if (free_mark[i]) fail(who, "free list visits a record twice", i);
            free_mark[i] = 1;
            ++n;
        }
        if (n + pool.used() != pool.capacity()) fail(who, "free + used != capacity", n);
        return n;
    }

    // Every invariant of one stack; `who` names it in the message.
    void check(const Stack& s, const char* who) {
        using flow::FlowKey;
        if (s.settling_ != kNoConn || s.delivering_ != kNoConn || s.release_after_delivery_ != kNoConn ||
            s.disp_.what != 0 || s.ready_ != Reassembly::kNone)
            fail(who, "a disposition outlived its call", 0);
        auto finds = [&s](const FlowKey& k) {
            uint32_t h = 0;
            return s.flows_.find(k, h);
        };
        size_t armed = 0;
        uint32_t syn_rcvd_tcbs = 0;

        // Tcbs.
        const uint32_t ncap = s.tcbs_.capacity();
        shadow.resize(ncap);
        walk_free(s.tcbs_, &Tcb::user, who);
        for (uint32_t i = 0; i < ncap; ++i) {
            const Tcb& t = s.tcbs_[i];
            Shadow& sh = shadow[i];
            if (free_mark[i]) {
                if (t.timer.armed()) fail(who, "free Tcb with an armed timer", i);
                if (t.state != State::Closed) fail(who, "free Tcb not CLOSED", i);
                sh.valid = false;
                continue;
            }
            if (t.timer.armed()) ++armed;
            if (t.state == State::Closed || t.state == State::Listen || t.state == State::TimeWait)
                fail(who, "Tcb in use in CLOSED, LISTEN or TIME-WAIT", i);
            if (finds(t.key) != i) fail(who, "Tcb in use not found under its 4-tuple", i);
            if (!(t.snd_una <= t.snd_nxt)) fail(who, "SND.UNA > SND.NXT", i);
            if (!(t.snd_nxt <= t.snd_max)) fail(who, "SND.NXT > SND.MAX", i);
            if (s.has_deadline(i) && !t.timer.armed()) fail(who, "Tcb deadline without an armed timer", i);
            if (t.state == State::SynReceived) ++syn_rcvd_tcbs;
            if (t.state == State::SynSent) {  // RCV.NXT is not set yet; a new incarnation starts here
                sh.valid = false;
                continue;
            }
            if (sh.valid && sh.key == t.key && sh.iss == t.iss) {
                if (t.rcv_nxt < sh.rcv_nxt) fail(who, "RCV.NXT moved back", i);
                if (t.snd_una < sh.snd_una) fail(who, "SND.UNA moved back", i);
            }
            sh = Shadow{true, t.key, t.iss, t.rcv_nxt, t.snd_una};
        }

        // Side records and the reassembly blocks their queues hold.
        walk_free(s.sides_, &TcbSide::link, who);
        side_owned.assign(s.sides_.capacity(), 0);
        uint32_t owned = 0, blocks = 0;
        for (uint32_t i = 0; i < ncap; ++i) {
            const Tcb& t = s.tcbs_[i];
            if (t.state == State::Closed || t.side == kNoConn) continue;
            if (t.side >= s.sides_.capacity() || free_mark[t.side]) fail(who, "Tcb names a free side record", i);
            if (side_owned[t.side]++) fail(who, "two Tcbs share a side record", i);
            ++owned;
            for (uint32_t b = s.sides_[t.side].ooo; b != Reassembly::kNone; b = s.reasm_.block(b).next) {
                if (b >= s.reasm_.capacity() || ++blocks > s.reasm_.used()) fail(who, "reassembly queue broken", i);
                if (!(t.rcv_nxt < s.reasm_.block(b).end() || s.reasm_.block(b).fin))
                    fail(who, "reassembly queue holds octets below RCV.NXT", i);
            }
        }
        if (owned != s.sides_.used()) fail(who, "side records in use != those Tcbs hold", owned);
        if (blocks != s.reasm_.used()) fail(who, "reassembly blocks in use != those queued", blocks);

        // SYN-RECEIVED records.
        walk_free(s.syns_, &SynRecord::hash, who);
        for (uint32_t i = 0; i < s.syns_.capacity(); ++i) {
            const SynRecord& r = s.syns_[i];
            if (free_mark[i]) {
                if (r.timer.armed()) fail(who, "free SynRecord with an armed timer", i);
                continue;
            }
            if (!r.timer.armed()) fail(who, "SynRecord without its SYN-ACK timer", i);
            ++armed;
            if (finds(r.key) != (kSynBit | i)) fail(who, "SynRecord in use not found under its 4-tuple", i);
        }
        if (s.half_open_ != s.syns_.used() + syn_rcvd_tcbs) fail(who, "half_open != SYN-RECEIVED records", s.half_open_);

        // TIME_WAIT records and their FIFO.
        walk_free(s.tws_, &TwRecord::next, who);
        uint32_t linked = 0, prev = kNoConn;
        for (uint32_t i = s.tw_head_; i != kNoConn; i = s.tws_[i].next) {
            if (i >= s.tws_.capacity() || free_mark[i]) fail(who, "TIME_WAIT queue links a free record", i);
            if (++linked > s.tws_.used()) fail(who, "TIME_WAIT queue longer than the records in use", i);
            const TwRecord& w = s.tws_[i];
            if (w.prev != prev) fail(who, "TIME_WAIT queue prev link broken", i);
            if (prev != kNoConn && static_cast<int32_t>(w.expire_ms - s.tws_[prev].expire_ms) < 0)
                fail(who, "TIME_WAIT queue not in expiry order", i);
            if (static_cast<int32_t>(w.expire_ms - s.now_ms_) > static_cast<int32_t>(2 * s.cfg_.msl_ms))
                fail(who, "TIME_WAIT record expires beyond 2MSL", i);
            if (finds(w.key) != (kTwBit | i)) fail(who, "TwRecord in use not found under its 4-tuple", i);
            prev = i;
        }
        if (linked != s.tws_.used()) fail(who, "TIME_WAIT records in use not all queued", linked);
        if (s.tw_tail_ != prev) fail(who, "TIME_WAIT queue tail", prev);
        if (s.tw_timer_.armed() != (s.tw_head_ != kNoConn)) fail(who, "TIME_WAIT timer armed iff queue not empty", 0);
        armed += s.tw_timer_.armed() ? 1 : 0;

        if (s.flows_.size() != s.tcbs_.used() + s.syns_.used() + s.tws_.used())
            fail(who, "flow table size != records in use", s.flows_.size());
        if (s.wheel_.pending() != armed) fail(who, "wheel holds timers of no live record", static_cast<uint32_t>(armed));
    }

    // After every timeout has passed: nothing left anywhere.
    static void check_empty(const Stack& s, const char* who) {
        for (uint32_t i = 0; i < s.tcbs_.capacity(); ++i) {
            const Tcb& t = s.tcbs_[i];
            if (t.state == State::Closed) continue;
            std::fprintf(stderr, "tcp_fuzz: %s Tcb %u left in %s: main timer %u at %u ms (now %u), delayed ACK at %u, "
                         "node %s, flags %#x, SND.UNA %u SND.NXT %u SND.MAX %u, send buffer %u bytes from %u\n",
                         who, i, state_name(t.state), static_cast<unsigned>(t.main_timer), t.main_at_ms, s.now_ms_,
                         t.delack_at_ms, t.timer.armed() ? "armed" : "idle", t.flags, t.snd_una.raw(), t.snd_nxt.raw(),
                         t.snd_max.raw(), t.tx_len, t.tx_seq.raw());
        }
        if (s.active_conns() != 0) fail(who, "Tcbs left after every timeout", s.active_conns());
        if (s.timewait_count() != 0) fail(who, "TIME_WAIT records left after 2MSL", s.timewait_count());
        if (s.half_open() != 0) fail(who, "half-open records left after every retry", s.half_open());
        if (s.table_size() != 0) fail(who, "flow table not empty", s.table_size());
        if (s.timers_pending() != 0) fail(who, "timers pending with no record", static_cast<uint32_t>(s.timers_pending()));
        if (s.sides_.used() != 0) fail(who, "side records left", s.sides_.used());
        if (s.reasm_.used() != 0) fail(who, "reassembly blocks left", s.reasm_.used());
    }
};

}  // namespace synwave::tcp
