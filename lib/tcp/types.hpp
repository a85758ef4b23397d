// The TCP layer's vocabulary: the 11 states of RFC 9293 §3.3.2, the configuration of a per-lcore stack,
// the events the application sees, and the counters every drop and anomaly feeds.
#pragma once
#include <array>
#include <cstdint>

#include "flow/tuple_index.hpp"
#include "stats/counters.hpp"
#include "tcp/rto.hpp"

namespace synwave::tcp {

// RFC 9293 §3.3.2. One enum; the only code that assigns a connection's state is Stack::set_state(),
// which also counts the transition.
enum class State : uint8_t {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
};
inline constexpr std::size_t kStateCount = 11;

[[nodiscard]] constexpr const char* state_name(State s) {
    switch (s) {
    case State::Closed: return "CLOSED";
    case State::Listen: return "LISTEN";
    case State::SynSent: return "SYN-SENT";
    case State::SynReceived: return "SYN-RECEIVED";
    case State::Established: return "ESTABLISHED";
    case State::FinWait1: return "FIN-WAIT-1";
    case State::FinWait2: return "FIN-WAIT-2";
    case State::CloseWait: return "CLOSE-WAIT";
    case State::Closing: return "CLOSING";
    case State::LastAck: return "LAST-ACK";
    case State::TimeWait: return "TIME-WAIT";
    }
    return "?";
}

// RFC 9293 §3.3.2: "synchronized" states are those after the handshake has exchanged both ISNs.
[[nodiscard]] constexpr bool is_synchronized(State s) {
    switch (s) {
    case State::Closed:
    case State::Listen:
    case State::SynSent:
    case State::SynReceived: return false;
    case State::Established:
    case State::FinWait1:
    case State::FinWait2:
    case State::CloseWait:
    case State::Closing:
    case State::LastAck:
    case State::TimeWait: return true;
    }
    return false;
}

enum class CookieMode : uint8_t {
    Off,     // never: beyond the half-open limit new SYNs are dropped (counted)
    Auto,    // stateless SYN-ACKs once half-open records reach the limit (Linux tcp_syncookies=1)
    Always,  // every SYN is answered statelessly (Linux tcp_syncookies=2)
};

struct StackConfig {
    uint32_t max_conns = 1u << 16;         // TCBs (passive SYN-RECEIVED uses SynRecords instead); < 2^30
    uint32_t max_timewait = 1u << 16;      // TIME_WAIT records
    uint32_t half_open_limit = 1u << 12;   // SynRecords (64 B each): half-open connections before cookies (Auto) or drops (Off)
    CookieMode cookies = CookieMode::Auto;
    uint16_t mss = 1460;                   // our MSS: MTU 1500 - 20 (IPv4) - 20 (TCP)
    uint16_t mss6 = 1440;                  // over IPv6: MTU 1500 - 40 (IPv6) - 20 (TCP)
    uint32_t rcv_wnd = 65535 * 4;          // receive window we advertise (bytes)
    bool timestamps = true;                // RFC 7323 TSopt
    bool window_scale = true;              // RFC 7323 WSopt
    bool sack = true;                      // RFC 2018 SACK-permitted; blocks sent and used (RFC 6675)
    RtoConfig rto{};                       // RFC 6298 (min 200 ms like Linux, initial 1 s, max 120 s)
    uint8_t syn_retries = 6;               // like tcp_syn_retries
    uint8_t synack_retries = 5;            // like tcp_synack_retries
    uint8_t retries2 = 15;                 // like tcp_retries2: data/FIN retransmissions before abort
    uint8_t orphan_retries = 8;            // like tcp_orphan_retries (0 there means 8): the same after close()
    uint32_t msl_ms = 30'000;              // TIME_WAIT lasts 2 * MSL (RFC 9293 §3.4.2 suggests MSL = 2 min;
                                           // Linux uses a fixed 60 s TIME_WAIT, i.e. MSL 30 s)
    bool tw_reuse = true;                  // RFC 6191: a SYN with higher seq / newer TS may reopen TIME_WAIT
    bool rfc1337 = false;                  // true: RSTs are ignored in TIME_WAIT (RFC 1337 TIME-WAIT assassination)
    uint32_t fin_wait2_timeout_ms = 60'000;// like tcp_fin_timeout: orphaned FIN-WAIT-2 is dropped after this
    uint32_t delack_ms = 40;               // delayed ACK bound (RFC 9293 §3.8.6.3: < 0.5 s; Linux min 40 ms)
    uint32_t init_cwnd_segs = 10;          // RFC 6928
    bool keepalive = false;                // TCP_KEEPALIVE-like, off by default as in sockets
    uint32_t ka_idle_ms = 7'200'000;       // TCP_KEEPIDLE (tcp_keepalive_time)
    uint32_t ka_intvl_ms = 75'000;         // TCP_KEEPINTVL
    uint8_t ka_probes = 9;                 // TCP_KEEPCNT
    uint32_t challenge_ack_per_sec = 1000; // RFC 5961 §7 rate limit, per lcore (Linux tcp_challenge_ack_limit)
    uint32_t reasm_bytes = 4u << 20;       // out-of-order data held, per stack (whole 2 KiB blocks)
    uint32_t loss_records = 1u << 14;      // connections with out-of-order data or SACK state at once
    uint32_t addrs6 = 0;                   // distinct IPv6 addresses at once (flow/addr_table.hpp: ~40 B each);
                                           // 0: IPv4 only (the engine sizes it when it has IPv6 addresses)
    uint32_t out_capacity = 4096;          // segments the output queue holds between drains
    uint32_t timer_tick_shift = 0;         // 0: derived from the TSC rate (~1 ms tick)
    // A client's own 4-tuples (its source addresses and ports to its one destination): found by index, not
    // by hash (flow/tuple_index.hpp). Empty by default.
    flow::TupleRange direct{};
};

enum class AbortReason : uint8_t {
    None,
    SynTimeout,       // SYN retransmitted syn_retries times without answer
    SynAckTimeout,    // SYN-ACK retransmitted synack_retries times
    RtxTimeout,       // data/FIN retransmitted retries2 times
    KeepaliveTimeout, // ka_probes probes unanswered
    FinWait2Timeout,
    Refused,          // RST in SYN-SENT
    Reset,            // RST in a synchronized state
    LocalAbort,
};

[[nodiscard]] constexpr const char* abort_reason_name(AbortReason r) {
    switch (r) {
    case AbortReason::None: return "none";
    case AbortReason::SynTimeout: return "syn_timeout";
    case AbortReason::SynAckTimeout: return "synack_timeout";
    case AbortReason::RtxTimeout: return "rtx_timeout";
    case AbortReason::KeepaliveTimeout: return "keepalive_timeout";
    case AbortReason::FinWait2Timeout: return "fin_wait2_timeout";
    case AbortReason::Refused: return "refused";
    case AbortReason::Reset: return "reset";
    case AbortReason::LocalAbort: return "local_abort";
    }
    return "?";
}

// In the order the events of one segment happen (the ACK step before the text step, the FIN after the text,
// the end last), which is the order the application sees them in.
enum class EventKind : uint8_t {
    Connected,  // active open reached ESTABLISHED
    Accepted,   // passive open reached ESTABLISHED (from a SYN-RECEIVED TCB or a valid SYN cookie)
    SendDone,   // every byte given to send() is acknowledged: the app may send again
    Data,       // in-order bytes: data/len point into the received segment, valid only during the call
    PeerFin,    // the peer closed its direction (FIN received in order)
    Closed,     // the connection is gone (TCB freed; TIME_WAIT, if any, continues as a record)
    Aborted,    // the connection is gone because of `reason` (RST, timeout, ...)
};

struct Event {
    EventKind kind;
    AbortReason reason = AbortReason::None;
    uint32_t conn;              // TCB handle; after Closed/Aborted it is no longer valid
    uint32_t user;              // the application's value for this connection (connect())
    const uint8_t* data = nullptr;
    uint32_t len = 0;
};

// Every counter of the TCP layer, one line each: name and help. Stats code generates printers from this list.
#define SYNWAVE_TCP_COUNTERS(X)                                                                            \
    X(rx_segments, "TCP segments given to the stack")                                                      \
    X(tx_segments, "TCP segments the stack emitted")                                                       \
    X(tx_data_bytes, "payload bytes sent (first transmissions and retransmissions)")                       \
    X(rx_data_bytes, "in-order payload bytes delivered to the application")                                \
    X(active_opens, "connect() calls that sent a SYN")                                                     \
    X(passive_opens, "SYNs that created a SYN-RECEIVED TCB")                                               \
    X(conn_established, "connections that reached ESTABLISHED")                                           \
    X(conn_closed, "connections that ended normally (TIME_WAIT entered or LAST-ACK/CLOSING acked)")        \
    X(conn_reset, "connections ended by a valid RST from the peer")                                       \
    X(conn_refused, "active opens answered by RST")                                                        \
    X(conn_aborted_local, "connections aborted by the application (RST sent)")                            \
    X(syn_timeouts, "active opens abandoned after syn_retries")                                            \
    X(synack_timeouts, "passive opens abandoned after synack_retries")                                     \
    X(rtx_abort, "connections aborted after retries2 (orphan_retries once closed) retransmissions")        \
    X(orphan_rtx_abort, "of rtx_abort: closed by the application, orphan_retries reached")                 \
    X(orphan_pressure_abort, "of rtx_abort: closed, timed out while TCBs were 3/4 used: RST, freed")       \
    X(keepalive_abort, "connections aborted after unanswered keepalive probes")                            \
    X(fin_wait2_timeouts, "FIN-WAIT-2 connections dropped after fin_wait2_timeout")                        \
    X(syn_rtx, "SYN retransmissions")                                                                      \
    X(synack_rtx, "SYN-ACK retransmissions (timer or duplicate SYN)")                                      \
    X(rto_expired, "retransmission timeouts of data or FIN")                                               \
    X(rtx_segments, "segments retransmitted (timeout, fast retransmit, partial ACK)")                      \
    X(fast_retransmits, "fast retransmits (3 duplicate ACKs, RFC 5681)")                                   \
    X(partial_acks, "NewReno partial ACKs (RFC 6582)")                                                     \
    X(dup_acks_rx, "duplicate ACKs received")                                                              \
    X(ooo_queued, "out-of-order segments held for reassembly (RFC 9293 §3.10.7.4)")                       \
    X(ooo_dropped, "out-of-order segments not (wholly) held: reassembly budget or side records exhausted")  \
    X(ooo_delivered_bytes, "bytes delivered from the reassembly queue once the hole before them filled")      \
    X(sack_blocks_tx, "SACK blocks sent in our ACKs (RFC 2018)")                                            \
    X(dsack_tx, "D-SACK blocks sent for octets received twice (RFC 2883)")                                    \
    X(sack_blocks_rx, "SACK blocks received and taken into the scoreboard")                                 \
    X(sack_recoveries, "loss recoveries driven by the peer's SACK blocks (RFC 6675)")                      \
    X(sack_rtx, "segments retransmitted from the scoreboard (RFC 6675 NextSeg)")                           \
    X(loss_records_empty, "out-of-order data or SACK blocks not kept: no free side record")                \
    X(tlp_probes, "tail loss probes sent (RFC 8985 §7)")                                                    \
    X(rtt_ts_samples, "RTT samples taken from TSecr when no timed segment was (RFC 7323 §4)")             \
    X(unacceptable_seq, "segments failing the RFC 9293 acceptability test (answered by ACK)")              \
    X(ack_too_new, "ACKs for data not yet sent (RFC 5961 §5: answered by ACK)")                            \
    X(ack_too_old, "ACKs older than SND.UNA - MAX.SND.WND (RFC 5961 §5: answered by ACK)")                 \
    X(paws_rejected, "segments rejected by PAWS (RFC 7323 §5)")                                            \
    X(rst_in_window, "in-window but inexact RSTs (RFC 5961 §3: challenge ACK)")                            \
    X(rst_out_of_window, "RSTs outside the window, dropped silently")                                      \
    X(syn_in_synchronized, "SYNs in a synchronized state (RFC 5961 §4: challenge ACK)")                    \
    X(challenge_acks, "challenge ACKs sent")                                                               \
    X(challenge_acks_limited, "challenge ACKs suppressed by the per-lcore rate limit")                      \
    X(no_ack_dropped, "segments without ACK in a synchronized state, dropped")                             \
    X(bad_ack_rst, "unacceptable ACKs in SYN-SENT/SYN-RECEIVED/LISTEN answered by RST")                    \
    X(rst_no_conn, "RSTs sent for segments to no connection and no listener")                              \
    X(rst_rx_no_conn, "RSTs received for no connection, dropped")                                          \
    X(syn_data_ignored, "SYN segments carrying data (data not accepted)")                                  \
    X(half_open_dropped, "SYNs dropped: half-open limit reached and cookies off")                          \
    X(syncookies_sent, "SYN-ACKs sent with a SYN cookie")                                                  \
    X(syncookies_ok, "valid SYN cookie ACKs that created a connection")                                    \
    X(syncookies_failed, "ACKs to a listener with an invalid or stale cookie (answered by RST)")           \
    X(table_full, "connections refused: flow table full")                                                  \
    X(tcb_pool_empty, "connections refused: no free TCB")                                                  \
    X(tw_pool_full, "TIME_WAIT records not kept: pool full (connection closed at once)")                   \
    X(tw_entered, "TIME_WAIT records created")                                                             \
    X(tw_fin_reacked, "retransmitted FINs re-ACKed in TIME_WAIT (2MSL restarted)")                         \
    X(tw_reopened, "TIME_WAIT records reopened by a new SYN (RFC 6191)")                                  \
    X(tw_acked, "other segments answered by ACK in TIME_WAIT")                                             \
    X(tw_rst_killed, "TIME_WAIT records ended by RST")                                                     \
    X(tw_expired, "TIME_WAIT records that lasted 2MSL")                                                    \
    X(keepalive_probes, "keepalive probes sent")                                                           \
    X(zero_window_probes, "zero-window probes sent")                                                       \
    X(delayed_acks, "ACKs sent by the delayed-ACK timer")                                                  \
    X(send_refused, "send() calls refused (buffer busy or wrong state)")                                   \
    X(out_overflow, "segments not emitted: output queue full (recovered by retransmission)")               \
    X(timers_fired, "TCB and SYN-RECEIVED timer expiries (TIME_WAIT ones: tw_expired)")                   \
    X(timers_stale, "TCB timer wake-ups with nothing due (deadlines moved later or cleared: lazy re-arm)")

SYNWAVE_STATS_DEFINE_COUNTERS(TcpEventCounters, SYNWAVE_TCP_COUNTERS);

// The event counters plus transitions into each state (counted by Stack::set_state). Printers and JSON take
// the TcpEventCounters part (stats/counters.hpp, stats/json.hpp).
struct TcpCounters : TcpEventCounters {
    std::array<uint64_t, kStateCount> entered{};

    TcpCounters& operator+=(const TcpCounters& o) {
        TcpEventCounters::operator+=(o);
        for (std::size_t i = 0; i < kStateCount; ++i) entered[i] += o.entered[i];
        return *this;
    }
    [[nodiscard]] const TcpEventCounters& events() const { return *this; }
};

} // namespace synwave::tcp
