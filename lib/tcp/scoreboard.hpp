// The sender's record of what the peer's SACK blocks say it holds (RFC 6675 §3 "scoreboard"), and the three
// questions loss recovery asks of it: which octets are lost (IsLost), how much is in the network (SetPipe) and
// what to retransmit next (NextSeg rule 1). A value type with no I/O; the stack keeps one per connection
// beside the Tcb and only touches it once the peer has sent SACK blocks.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/seq.hpp"

namespace synwave::tcp {

struct Scoreboard {
    // Disjoint SACKed ranges above SND.UNA, ascending. A receiver reports at most 3-4 blocks per ACK and
    // repeats the most recent ones (RFC 2018 §4); when more ranges are known than fit, the highest are
    // forgotten: losing them only makes IsLost more cautious, never wrong.
    static constexpr uint8_t kRanges = 4;
    static constexpr uint32_t kDupThresh = 3;  // RFC 6675 §2 DupThresh

    Seq left[kRanges], right[kRanges];
    uint8_t n = 0;
    Seq high_rxt;  // RFC 6675 HighRxt, as the end of what was retransmitted in this recovery

    void clear(Seq una) {
        n = 0;
        high_rxt = una;
    }

    // The cumulative ACK moved to `una`: ranges it covers go (RFC 6675 §5: SACKed data below SND.UNA is
    // acknowledged anyway).
    void advance(Seq una) {
        uint8_t k = 0;
        for (uint8_t i = 0; i < n; ++i) {
            if (right[i] <= una) continue;
            left[k] = seq_max(left[i], una);
            right[k] = right[i];
            ++k;
        }
        n = k;
        high_rxt = seq_max(high_rxt, una);
    }

    // One SACK block [l, r) from an ACK (the caller has checked SND.UNA < l < r <= SND.MAX, RFC 2018 §3). Returns
    // the octets it SACKed that were not SACKed before (RFC 6675 §2: what makes an ACK a "duplicate").
    uint32_t add(Seq l, Seq r) {
        const uint32_t before = sacked();
        Seq nl[kRanges + 1], nr[kRanges + 1];
        uint8_t k = 0, i = 0;
        while (i < n && left[i] < l) {
            nl[k] = left[i];
            nr[k++] = right[i++];
        }
        nl[k] = l;
        nr[k++] = r;
        while (i < n) {
            nl[k] = left[i];
            nr[k++] = right[i++];
        }
        // Merge neighbours that touch or overlap.
        uint8_t m = 0;
        for (uint8_t j = 0; j < k; ++j) {
            if (m > 0 && nl[j] <= right[m - 1]) {
                right[m - 1] = seq_max(right[m - 1], nr[j]);
            } else if (m < kRanges) {
                left[m] = nl[j];
                right[m] = nr[j];
                ++m;
            }
        }
        n = m;
        const uint32_t after = sacked();
        return after > before ? after - before : 0;
    }

    [[nodiscard]] uint32_t sacked() const {
        uint32_t b = 0;
        for (uint8_t i = 0; i < n; ++i) b += static_cast<uint32_t>(right[i] - left[i]);
        return b;
    }

    // RFC 6675 §4 IsLost(SeqNum): DupThresh discontiguous SACKed ranges above it, or more than
    // (DupThresh - 1) * SMSS SACKed octets above it. Both only grow as SeqNum goes down, so the answer for
    // every un-SACKed octet is one boundary: those below the returned sequence number are lost (`una` when
    // none is).
    [[nodiscard]] Seq lost_below(Seq una, uint32_t mss) const {
        uint32_t above = 0;
        for (uint8_t i = n; i-- > 0;) {
            above += static_cast<uint32_t>(right[i] - left[i]);
            if (above > (kDupThresh - 1) * mss || static_cast<uint32_t>(n - i) >= kDupThresh) return left[i];
        }
        return una;
    }

    // RFC 6675 §4 SetPipe: octets between SND.UNA and SND.MAX that are not SACKed count once if not lost and
    // once more if retransmitted (below HighRxt).
    [[nodiscard]] uint32_t pipe(Seq una, Seq snd_max, uint32_t mss) const {
        const Seq lost = lost_below(una, mss);
        uint32_t p = 0;
        Seq pos = una;
        auto hole = [&](Seq a, Seq b) {
            if (!(a < b)) return;
            const Seq nl = seq_max(a, lost);  // [nl, b) not lost
            if (nl < b) p += static_cast<uint32_t>(b - nl);
            const Seq rx = seq_min(b, high_rxt);  // [a, rx) retransmitted
            if (a < rx) p += static_cast<uint32_t>(rx - a);
        };
        for (uint8_t i = 0; i < n; ++i) {
            hole(pos, left[i]);
            pos = right[i];
        }
        hole(pos, snd_max);
        return p;
    }

    // RFC 6675 §4 NextSeg rule 1: the first octet at or above HighRxt that is neither SACKed nor above the
    // lost boundary; [*s, *e) is the rest of its hole below that boundary. False when there is none.
    [[nodiscard]] bool next_lost(Seq una, uint32_t mss, Seq* s, Seq* e) const {
        const Seq lost = lost_below(una, mss);
        Seq pos = seq_max(una, high_rxt);
        for (uint8_t i = 0; i <= n; ++i) {
            const Seq hole_end = seq_min(i < n ? left[i] : lost, lost);
            if (pos < hole_end) {
                *s = pos;
                *e = hole_end;
                return true;
            }
            if (i < n) pos = seq_max(pos, right[i]);
            if (!(pos < lost)) return false;
        }
        return false;
    }
};

}  // namespace synwave::tcp
