// Out-of-order data held until the hole before it fills (RFC 9293 §3.10.7.4 seventh step: "segments with
// higher beginning sequence numbers SHOULD be held for later processing"), and the SACK blocks that describe
// it to the sender (RFC 2018 §3-4).
//
// One pool per stack (per lcore), sized once: fixed blocks of kBlockBytes, each holding one contiguous range
// of sequence space copied out of a received frame (the frame goes back to the NIC at once; holding mbufs
// instead would tie the RX mempool to the slowest hole). A connection's queue is a list of blocks sorted by
// sequence number with no overlap, threaded through the blocks by index; the Tcb holds only its head. The
// pool is the per-lcore byte budget: a segment that does not fit is dropped and counted, and the sender
// retransmits it as it would have without a queue.
#pragma once
#include <cstdint>
#include <vector>

#include "core/seq.hpp"
#include "wire/tcp_options.hpp"

namespace synwave::tcp {

class Reassembly {
public:
    static constexpr uint32_t kBlockBytes = 2048;  // one MSS of a 1500-byte MTU and room to spare
    static constexpr uint32_t kNone = 0xFFFF'FFFFu;

    struct Block {
        Seq seq;                // first octet held
        uint16_t len = 0;       // octets held (0 only for a block that carries just the FIN)
        uint8_t fin = 0;        // the peer's FIN follows the last octet
        uint8_t pad = 0;
        uint32_t next = kNone;  // next block of the same queue (or of the free list)
        [[nodiscard]] Seq end() const { return seq + len; }
    };

    // Budget in bytes, rounded up to whole blocks (0: no queue at all, every out-of-order segment dropped).
    explicit Reassembly(uint32_t bytes);

    struct Stored {
        uint32_t bytes = 0;  // new octets taken into the queue (those already held are not copied again)
        bool full = false;   // some octets did not fit: the pool is empty
    };
    // Holds [seq, seq + len) of `data` (and the FIN after it when `fin`) in the queue at `head`, keeping what
    // the queue already holds where they overlap (RFC 9293 leaves the choice; the first copy is as good).
    Stored insert(uint32_t& head, Seq seq, const uint8_t* data, uint32_t len, bool fin);

    // Detaches the blocks at the front of the queue that the cumulative point `rcv_nxt` reaches (each starts at
    // or before the end of the one before it), and returns them as a chain for delivery: the caller hands
    // out each block's octets beyond what it already has, then release()s the chain. `*end` becomes the new
    // RCV.NXT (the FIN not included), `*fin` whether the FIN follows it.
    [[nodiscard]] uint32_t take_ready(uint32_t& head, Seq rcv_nxt, Seq* end, bool* fin);

    void release(uint32_t chain);  // gives a chain or a whole queue back to the pool

    // RFC 2018 §4: the SACK blocks of a queue, as contiguous runs of octets held; the run holding `latest`
    // (the octet that triggered this ACK) first, then the others from the highest down (the most recently
    // received, in a transfer that moves forward). Returns how many of at most `max` were written.
    uint8_t sack_blocks(uint32_t head, Seq latest, wire::SackBlock* out, uint8_t max) const;

    [[nodiscard]] const Block& block(uint32_t b) const { return blocks_[b]; }
    [[nodiscard]] const uint8_t* data(uint32_t b) const { return &mem_[static_cast<size_t>(b) * kBlockBytes]; }
    [[nodiscard]] uint32_t capacity() const { return static_cast<uint32_t>(blocks_.size()); }
    [[nodiscard]] uint32_t used() const { return used_; }

private:
    [[nodiscard]] uint32_t alloc();
    std::vector<Block> blocks_;
    std::vector<uint8_t> mem_;
    uint32_t free_ = kNone;
    uint32_t used_ = 0;
};

}  // namespace synwave::tcp
