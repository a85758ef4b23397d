// Retransmission timeout: the smoothed RTT estimator and exponential backoff.
//
// Follows: RFC 6298 (Computing TCP's Retransmission Timer), with the fixed-point form of V. Jacobson,
// "Congestion Avoidance and Control" (SIGCOMM 1988, appendix A) that Linux also uses (tcp_rtt_estimator):
// SRTT is kept scaled by 8 and RTTVAR by 4, so alpha = 1/8 and beta = 1/4 are shifts and the fractional
// bits of the averages are not thrown away at every sample.
//
// Units are microseconds in uint32_t: the estimator lives in every TCB (16 bytes, beside the send buffer)
// where 32 would not. The largest RTT sample taken is kMaxRttSampleUs (~268 s), which keeps 8 * SRTT
// inside 32 bits; no real path comes near it.
//
// Karn's rule (RFC 6298 §3, Karn and Partridge 1987) is the caller's: on_sample() must only be fed RTTs
// measured on segments that were not retransmitted (or, with timestamps, from TSecr, RFC 7323 §4), since
// an ACK of a retransmitted segment cannot say which transmission it acknowledges. The backed-off RTO is
// then kept until such a sample arrives (RFC 6298 §5.5 and the note after §5.7).
#pragma once
#include <algorithm>
#include <cstdint>

namespace synwave::tcp {

struct RtoConfig {
    // RFC 6298 §2.1: "Until a RTT measurement has been made ... the sender SHOULD set RTO <- 1 second".
    uint32_t initial_us = 1'000'000;
    // RFC 6298 §2.4 rounds RTO up to 1 s; 200 ms is Linux's TCP_RTO_MIN (HZ / 5), the common practice on
    // today's short paths, where a 1 s floor makes every loss cost a second.
    uint32_t min_us = 200'000;
    // RFC 6298 §2.5: a maximum "MAY be placed on RTO provided it is at least 60 seconds"; 120 s is Linux's
    // TCP_RTO_MAX.
    uint32_t max_us = 120'000'000;
    // G, the clock granularity of RFC 6298 §2: the timing wheel's tick, 1 ms by default.
    uint32_t granularity_us = 1000;
};

// RFC 6298 §2.2: K = 4.
inline constexpr uint32_t kRtoK = 4;
// Largest RTT sample used (2^28 µs ~ 268 s): keeps SRTT << 3 and the RTTVAR << 2 sums inside uint32_t.
inline constexpr uint32_t kMaxRttSampleUs = uint32_t{1} << 28;
// Doublings after which backoff() stops counting. Any RTO of 1 µs or more reaches a max_us of 120 s
// within 27 doublings; 31 keeps base << shift inside 64 bits for every 32-bit base.
inline constexpr uint8_t kMaxBackoffShift = 31;
// RFC 6298 §5.7: after a lost SYN, with no RTT sample yet, RTO is re-initialised to 3 s for data.
inline constexpr uint32_t kSynLossFallbackUs = 3'000'000;

class RttEstimator {
public:
    // RFC 6298 §2.2 (first measurement) and §2.3 (later ones), with alpha = 1/8, beta = 1/4, K = 4.
    // A fresh sample also ends any backoff, as on Linux (tcp_ack_update_rtt): §2.3 recomputes RTO from
    // the new estimate, which replaces the doubled value of §5.5.
    void on_sample(uint32_t rtt_us, const RtoConfig& cfg) {
        // 0 µs (a sub-microsecond ring RTT) counts as 1 so that srtt8_ != 0 means "has a sample".
        const uint32_t r = std::clamp<uint32_t>(rtt_us, 1, kMaxRttSampleUs);
        if (srtt8_ == 0) {
            // §2.2: SRTT <- R, RTTVAR <- R/2.  In the scaled form RTTVAR << 2 = 2R exactly.
            srtt8_ = r << 3;
            rttvar4_ = r << 1;
        } else {
            // §2.3, in this order (RTTVAR uses the SRTT from before this sample):
            //   RTTVAR <- (1 - 1/4) * RTTVAR + 1/4 * |SRTT - R'|
            //   SRTT   <- (1 - 1/8) * SRTT   + 1/8 * R'
            // Scaled: rttvar4 += |SRTT - R'| - rttvar4 / 4;  srtt8 += R' - srtt8 / 8.
            const uint32_t r8 = r << 3;
            const uint32_t err = (r8 > srtt8_ ? r8 - srtt8_ : srtt8_ - r8) >> 3;  // |SRTT - R'| in µs
            rttvar4_ = rttvar4_ - (rttvar4_ >> 2) + err;
            srtt8_ = srtt8_ - (srtt8_ >> 3) + r;
        }
        // §2.3: RTO <- SRTT + max(G, K * RTTVAR); K * RTTVAR is rttvar4_ itself. §2.4 / §2.5 clamp.
        const uint32_t rto = (srtt8_ >> 3) + std::max(cfg.granularity_us, rttvar4_);
        rto_ = std::clamp(rto, cfg.min_us, std::max(cfg.min_us, cfg.max_us));
        backoff_shift_ = 0;
    }

    // The timeout to arm now: the computed RTO (or initial_us before any sample), doubled per backoff,
    // clamped to max_us (RFC 6298 §5.5 and §2.5).
    [[nodiscard]] uint32_t rto_us(const RtoConfig& cfg) const {
        const uint64_t base = rto_ != 0 ? rto_ : cfg.initial_us;
        const uint64_t v = base << backoff_shift_;
        return v < cfg.max_us ? static_cast<uint32_t>(v) : cfg.max_us;
    }

    // RFC 6298 §5.5: on retransmission timeout, RTO <- RTO * 2.
    void backoff() {
        if (backoff_shift_ < kMaxBackoffShift) ++backoff_shift_;
    }

    // Undo the doublings without a new sample (e.g. the connection is reused after an idle period).
    void reset_backoff() { backoff_shift_ = 0; }

    // RFC 6298 §5.7: the SYN (or SYN-ACK) was retransmitted and no RTT sample exists, so the RTO for data
    // starts at 3 s instead of initial_us. No effect once a sample was taken. (§5.7 applies only to RTOs
    // below 3 s; with initial_us configured above 3 s this lowers it, so keep initial_us <= 3 s.)
    void on_syn_loss_fallback() {
        if (srtt8_ == 0) rto_ = kSynLossFallbackUs;
    }

    [[nodiscard]] bool has_sample() const { return srtt8_ != 0; }
    [[nodiscard]] uint32_t srtt_us() const { return srtt8_ >> 3; }
    [[nodiscard]] uint32_t rttvar_us() const { return rttvar4_ >> 2; }
    [[nodiscard]] uint32_t srtt_x8() const { return srtt8_; }    // SRTT in 1/8 µs, full precision
    [[nodiscard]] uint32_t rttvar_x4() const { return rttvar4_; } // RTTVAR in 1/4 µs, full precision
    [[nodiscard]] uint8_t backoff_shift() const { return backoff_shift_; }

private:
    uint32_t srtt8_ = 0;    // SRTT << 3, µs; 0 = no sample yet
    uint32_t rttvar4_ = 0;  // RTTVAR << 2, µs (equals K * RTTVAR with K = 4)
    uint32_t rto_ = 0;      // RTO before backoff, µs, clamped; 0 = none computed, use initial_us
    uint8_t backoff_shift_ = 0;
};

// Embedded in every TCB: keep it to 16 bytes.
static_assert(sizeof(RttEstimator) == 16);

} // namespace synwave::tcp
