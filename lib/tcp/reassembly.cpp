// The out-of-order queue's list operations: insert with overlap trimming, the hand-over of what became in
// order, and the SACK blocks that describe what is held (RFC 2018).
#include "tcp/reassembly.hpp"

#include <algorithm>
#include <cstring>

namespace synwave::tcp {

Reassembly::Reassembly(uint32_t bytes)
    : blocks_((bytes + kBlockBytes - 1) / kBlockBytes), mem_(blocks_.size() * kBlockBytes) {
    for (uint32_t i = 0; i < blocks_.size(); ++i) blocks_[i].next = i + 1 < blocks_.size() ? i + 1 : kNone;
    free_ = blocks_.empty() ? kNone : 0;
}

uint32_t Reassembly::alloc() {
    const uint32_t b = free_;
    if (b == kNone) return kNone;
    free_ = blocks_[b].next;
    ++used_;
    return b;
}

void Reassembly::release(uint32_t chain) {
    while (chain != kNone) {
        const uint32_t next = blocks_[chain].next;
        blocks_[chain] = Block{};
        blocks_[chain].next = free_;
        free_ = chain;
        --used_;
        chain = next;
    }
}

Reassembly::Stored Reassembly::insert(uint32_t& head, Seq seq, const uint8_t* data, uint32_t len, bool fin) {
    Stored st;
    const Seq end = seq + len;
    uint32_t prev = kNone, cur = head;
    while (cur != kNone && blocks_[cur].end() <= seq) {  // wholly before the new range
        prev = cur;
        cur = blocks_[cur].next;
    }
    Seq pos = seq;
    while (pos < end) {
        if (cur != kNone && blocks_[cur].seq <= pos) {  // already held from here: skip over it
            pos = seq_max(pos, blocks_[cur].end());
            prev = cur;
            cur = blocks_[cur].next;
            continue;
        }
        const Seq gap_end = (cur != kNone && blocks_[cur].seq < end) ? blocks_[cur].seq : end;
        while (pos < gap_end) {
            const uint32_t b = alloc();
            if (b == kNone) {
                st.full = true;
                return st;
            }
            const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(gap_end - pos), kBlockBytes);
            Block& k = blocks_[b];
            k.seq = pos;
            k.len = static_cast<uint16_t>(n);
            k.fin = 0;
            k.next = cur;
            if (prev == kNone) {
                head = b;
            } else {
                blocks_[prev].next = b;
            }
            std::memcpy(&mem_[static_cast<size_t>(b) * kBlockBytes], data + static_cast<uint32_t>(pos - seq), n);
            st.bytes += n;
            prev = b;
            pos += n;
        }
    }
    // The FIN belongs to the block whose last octet is the segment's last (for a FIN alone: the block that
    // ends where it sits). A FIN with octets held beyond it is inconsistent and not taken.
    if (fin && prev != kNone && blocks_[prev].end() == end) blocks_[prev].fin = 1;
    return st;
}

uint32_t Reassembly::take_ready(uint32_t& head, Seq rcv_nxt, Seq* end, bool* fin) {
    Seq pos = rcv_nxt;
    bool f = false;
    uint32_t last = kNone, cur = head;
    while (cur != kNone && blocks_[cur].seq <= pos) {
        pos = seq_max(pos, blocks_[cur].end());
        f = blocks_[cur].fin && blocks_[cur].end() == pos;
        last = cur;
        cur = blocks_[cur].next;
    }
    if (last == kNone) return kNone;
    const uint32_t chain = head;
    blocks_[last].next = kNone;
    head = cur;
    *end = pos;
    *fin = f;
    return chain;
}

uint8_t Reassembly::sack_blocks(uint32_t head, Seq latest, wire::SackBlock* out, uint8_t max) const {
    if (max == 0 || head == kNone) return 0;
    // Runs in ascending order; keep the first (the one holding `latest`) apart and the last max-1 others in a
    // small ring, which is then written highest first.
    constexpr uint8_t kKeep = wire::tcpopt::kMaxSackBlocks;
    wire::SackBlock ring[kKeep];
    uint8_t n_ring = 0, at = 0;
    bool have_first = false;
    wire::SackBlock first{};
    uint32_t b = head;
    while (b != kNone) {
        const Seq l = blocks_[b].seq;
        Seq r = blocks_[b].end();
        uint32_t nb = blocks_[b].next;
        while (nb != kNone && blocks_[nb].seq == r) {
            r = blocks_[nb].end();
            nb = blocks_[nb].next;
        }
        const wire::SackBlock run{l, r};
        if (!have_first && l <= latest && latest < r) {
            first = run;
            have_first = true;
        } else {
            ring[at] = run;
            at = static_cast<uint8_t>((at + 1) % kKeep);
            if (n_ring < kKeep) ++n_ring;
        }
        b = nb;
    }
    uint8_t n = 0;
    if (have_first) out[n++] = first;
    for (uint8_t i = 0; i < n_ring && n < max; ++i) out[n++] = ring[(at + kKeep - 1 - i) % kKeep];
    return n;
}

}  // namespace synwave::tcp
