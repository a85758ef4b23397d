// The TCP state-machine fuzz target's input language, shared by the target (tcp_fuzz.cpp) and the replay
// driver that writes seeds in it (tcp_fuzz_replay.cpp).
//
// An input is: one configuration byte (kConfigs stack configurations, chosen by its value modulo kConfigs),
// one policy byte (what the applications do by themselves: bits of kPolicy*), then operations, each an opcode
// byte (modulo kOpCount) and its argument bytes. Missing bytes read as 0, so every byte string is an input.
// Two stacks talk: the client C (10.0.0.2) and the server S (10.0.0.1, listening on port 80), over two
// queues (C->S and S->C) that the operations deliver, drop, duplicate, reorder and mutate. Eight 4-tuples
// ("slots") are in play:
//   0-3  C:40000+slot <-> S:80
//   4    C:40004 <-> S:81 (no listener: refused)
//   5-7  a phantom client 10.0.0.3:50000+slot <-> S:80 whose segments only forged operations write
#pragma once
#include <cstddef>
#include <cstdint>

#include "tcp/types.hpp"

namespace synwave::tcp::fuzz {

inline constexpr uint32_t kConfigs = 8;
inline constexpr uint32_t kSlots = 8;

// Policy byte: the applications' own reactions (they run inside the stacks' event callbacks).
inline constexpr uint8_t kPolicyServerCloseOnFin = 1 << 0;  // server close()s when the client's FIN arrives
inline constexpr uint8_t kPolicyClientCloseOnFin = 1 << 1;
inline constexpr uint8_t kPolicyServerReply = 1 << 2;       // server send()s a reply on each request's data
inline constexpr uint8_t kPolicyReconnect = 1 << 3;         // client connect()s again from its Closed event
inline constexpr uint8_t kPolicyAbortOnData = 1 << 4;       // server abort()s on data of odd length
inline constexpr uint8_t kPolicyQuiesce = 1 << 5;           // at the end: exchange until quiet before closing

// Opcodes and their argument bytes. dir: bit 0 of the first argument (0: C->S queue, 1: S->C); `at`: the
// rest of it, the position in the queue (modulo its length). side: 0 client, 1 server.
enum Op : uint8_t {
    kDeliver,     // [dir|at]              deliver one queued segment and remove it
    kPump,        // [rounds]              deliver both queues until empty (bounded), rounds+1 times 1 ms apart
    kDrop,        // [dir|at]              lose it
    kDup,         // [dir|at]              deliver a copy, keep it queued
    kSwap,        // [dir|at]              swap it with the next one (reordering)
    kDelay,       // [dir|at]              move it to the back of its queue
    kMutate,      // [dir|at][field][delta] one field by a small delta (seq, ack, flags, window, options, length)
    kForge,       // [side<<3|slot][kind][seq delta][ack delta][len|scale] a segment to `side` relative to its
                  //                        record's RCV.NXT and SND.UNA (or the phantom's handshake); kind's
                  //                        high nibble scales the ACK delta, scale (low 3 bits) the seq delta
    kAnswer,      // [at][len]             a phantom ACK completing a queued SYN-ACK of a phantom slot
    kConnect,     // [side<<3|slot]        active open (the server's is a simultaneous open)
    kSend,        // [side<<3|slot][len]   send() of len * 37 bytes (0: 1 byte)
    kClose,       // [side<<3|slot]
    kAbort,       // [side<<3|slot]
    kClock,       // [ms]                  advance 0-255 ms and poll both stacks
    kClockBig,    // [n]                   advance n * 250 ms and poll both stacks
    kOpCount
};

// Forge kinds (modulo): the flags of the forged segment.
inline constexpr uint8_t kForgeFlags[] = {
    0x10,         // ACK
    0x18,         // ACK PSH (with data)
    0x11,         // ACK FIN
    0x19,         // ACK FIN PSH (with data)
    0x04,         // RST
    0x14,         // RST ACK
    0x02,         // SYN
    0x12,         // SYN ACK
    0x01,         // FIN alone
    0x10,         // ACK, window 0
};

// Sums of both stacks' counters over every input run in this process, plus the harness's own markers: the
// replay driver asserts that the main paths were reached.
struct Totals {
    TcpCounters ctr;
    uint64_t inputs = 0, data_checked = 0, streams_complete = 0, end_drains = 0;
};
[[nodiscard]] const Totals& totals();

}  // namespace synwave::tcp::fuzz
