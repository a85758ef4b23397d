// Toeplitz hash: reference implementation, per-byte tables, RETA and port picking. See toeplitz.hpp.
#include "flow/toeplitz.hpp"

#include <bit>
#include <cassert>

namespace synwave::flow {

uint32_t toeplitz(const uint8_t* key, size_t key_len, const uint8_t* input, size_t n) {
    // Microsoft's definition: for each input bit b (most significant first), if set, XOR into the result
    // the leftmost 32 bits of the key, then shift the key left by one bit. `window` holds key bits
    // [8i, 8i + 64) for input byte i, so bit j of that byte selects window >> (32 - j), truncated.
    auto key_byte = [&](size_t i) -> uint64_t { return i < key_len ? key[i] : 0; };
    uint32_t result = 0;
    for (size_t i = 0; i < n; ++i) {
        uint64_t window = 0;
        for (size_t k = 0; k < 8; ++k) window = (window << 8) | key_byte(i + k);
        const uint8_t byte = input[i];
        for (uint32_t j = 0; j < 8; ++j) {
            if (byte & (0x80u >> j)) result ^= static_cast<uint32_t>(window >> (32 - j));
        }
    }
    return result;
}

namespace {

// By linearity, t[pos][v] is the hash of the tuple whose only non-zero byte is byte pos = v; the bytes
// after pos are zero and contribute nothing, so the reference over the first pos + 1 bytes gives it
// (256 short hashes per position at construction; toeplitz() zero-extends a short key).
template <size_t N>
void fill_byte_tables(std::span<const uint8_t> key, std::array<std::array<uint32_t, 256>, N>& t) {
    std::array<uint8_t, N> in{};
    for (size_t pos = 0; pos < N; ++pos) {
        for (uint32_t v = 0; v < 256; ++v) {
            in[pos] = static_cast<uint8_t>(v);
            t[pos][v] = toeplitz(key.data(), key.size(), in.data(), pos + 1);
        }
        in[pos] = 0;
    }
}

}  // namespace

ToeplitzV4::ToeplitzV4(std::span<const uint8_t> key) { fill_byte_tables(key, t_); }

ToeplitzV6::ToeplitzV6(std::span<const uint8_t> key) { fill_byte_tables(key, t_); }

Reta::Reta(uint32_t size, uint16_t nb_queues) {
    assert(valid_size(size));
    assert(nb_queues >= 1);
    if (size == 0) size = 1;
    if (size > kMaxSize) size = kMaxSize;
    size = std::bit_floor(size);
    if (nb_queues == 0) nb_queues = 1;
    mask_ = size - 1;
    q_.resize(size);
    for (uint32_t i = 0; i < size; ++i) q_[i] = static_cast<uint16_t>(i % nb_queues);
}

PortPicker::PortPicker(const ToeplitzV4& rss, const Reta& reta, uint32_t server_ip, uint16_t server_port,
                       uint32_t client_ip)
    : port_(&rss.t_[ToeplitzV4::kTupleBytes - 2]),
      reta_(&reta),
      base_(rss.hash(server_ip, client_ip, server_port, 0)) {}

PortPicker::PortPicker(const ToeplitzV6& rss, const Reta& reta, const Ipv6& server_ip, uint16_t server_port,
                       const Ipv6& client_ip)
    : port_(&rss.t_[ToeplitzV6::kTupleBytes - 2]),
      reta_(&reta),
      base_(rss.hash(server_ip, client_ip, server_port, 0)) {}

size_t PortPicker::pick(uint16_t queue, uint16_t lo, uint16_t hi, std::span<uint16_t> out) const {
    size_t n = 0;
    if (lo > hi) return 0;
    for (uint32_t p = lo; p <= hi && n < out.size(); ++p) {
        if (queue_of(static_cast<uint16_t>(p)) == queue) out[n++] = static_cast<uint16_t>(p);
    }
    return n;
}

uint32_t PortPicker::count(uint16_t queue, uint16_t lo, uint16_t hi) const {
    uint32_t n = 0;
    for (uint32_t p = lo; p <= hi; ++p) n += queue_of(static_cast<uint16_t>(p)) == queue;
    return n;
}

std::optional<uint16_t> PortPicker::next(uint16_t queue, uint16_t from, uint16_t hi) const {
    for (uint32_t p = from; p <= hi; ++p) {
        if (queue_of(static_cast<uint16_t>(p)) == queue) return static_cast<uint16_t>(p);
    }
    return std::nullopt;
}

}  // namespace synwave::flow
