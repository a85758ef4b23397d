// Congestion control: NewReno (RFC 5681 slow start, congestion avoidance, fast retransmit; RFC 6582 fast
// recovery). The state machine calls these four decisions and does the sending itself; another algorithm
// (CUBIC, RFC 9438) would be another type with the same four members.
#pragma once
#include <algorithm>
#include <cstdint>

#include "tcp/records.hpp"

namespace synwave::tcp {

struct NewReno {
    // RFC 5681 §2 FlightSize: data sent but not yet acknowledged.
    [[nodiscard]] static uint32_t flight_size(const Tcb& t) { return static_cast<uint32_t>(t.snd_max - t.snd_una); }

    // An ACK of `acked` new octets (SND.UNA already moved to `ack`). Returns true for an RFC 6582 partial
    // acknowledgment: the caller resends the first unacknowledged segment and restarts the timer.
    [[nodiscard]] static bool on_new_ack(Tcb& t, Seq ack, uint32_t acked, uint32_t mss) {
        if (t.flags & tcbflag::kInRecovery) {
            if (ack >= t.recover) {
                // RFC 6582 §3.2 step 3, full acknowledgment: deflate to min(ssthresh, FlightSize + SMSS).
                t.cwnd = std::min(t.ssthresh, flight_size(t) + mss);
                t.flags &= static_cast<uint16_t>(~tcbflag::kInRecovery);
                t.dupacks = 0;
                return false;
            }
            // Partial acknowledgment: deflate by the amount acked, add back one SMSS.
            t.cwnd = (t.cwnd > acked ? t.cwnd - acked : 0) + mss;
            return true;
        }
        t.dupacks = 0;
        if (t.cwnd < t.ssthresh) {
            t.cwnd += std::min(acked, mss);  // RFC 5681 §3.1 slow start (RFC 3465 L = 1 SMSS)
        } else {
            t.cwnd += std::max<uint32_t>(1, mss * mss / t.cwnd);  // congestion avoidance, eq. (3)
        }
        return false;
    }

    // A duplicate ACK (RFC 5681 §2). Returns true when it triggers a fast retransmit: the caller resends the
    // first unacknowledged segment.
    [[nodiscard]] static bool on_dup_ack(Tcb& t, uint32_t mss) {
        if (t.flags & tcbflag::kInRecovery) {
            t.cwnd += mss;  // RFC 6582 §3.2 step 4: inflate for each additional duplicate ACK
            return false;
        }
        if (++t.dupacks != 3) return false;
        // RFC 6582 §3.2 step 2: only if the duplicate ACKs cover more than "recover" (no second fast
        // retransmit for losses of the same window); "recover" still at ISS means no recovery yet.
        if (!(t.snd_una - 1 >= t.recover) && t.recover != t.iss) return false;
        t.ssthresh = std::max(flight_size(t) / 2, 2 * mss);  // RFC 5681 eq. (4)
        t.recover = t.snd_max;
        t.cwnd = t.ssthresh + 3 * mss;
        t.flags |= tcbflag::kInRecovery;
        return true;
    }

    // A retransmission timeout: RFC 5681 §3.1 eq. (4) and the loss window (cwnd = 1 SMSS); RFC 6582 §3.2
    // step 4: no fast retransmit for the loss we time out on.
    static void on_timeout(Tcb& t, uint32_t mss) {
        t.ssthresh = std::max(flight_size(t) / 2, 2 * mss);
        t.cwnd = mss;
        t.recover = t.snd_max;
        t.flags &= static_cast<uint16_t>(~tcbflag::kInRecovery);
        t.dupacks = 0;
    }
};

}  // namespace synwave::tcp
