// RSS (receive-side scaling) keys as a device wants them. No DPDK here: the keys are plain bytes, shared by
// the port set-up (which programs them into the NIC) and by whoever predicts the NIC's queue choice in
// software. The 40-byte keys themselves, and where they come from, are the flow layer's
// (flow/toeplitz.hpp: kDefaultRssKey, kSymmetricRssKey), so the NIC and its software mirror cannot disagree.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "flow/toeplitz.hpp"

namespace synwave::io {

// A key of `len` bytes (a device's hash_key_size; 52 on i40e): flow::kSymmetricRssKey or
// flow::kDefaultRssKey, repeated from the start when the device takes more than 40 bytes. That keeps the
// first 40 bytes (all an IPv4/TCP 4-tuple hash reads: 12 input bytes need 12 + 4 key bytes) identical to the
// spec, and the symmetric key 0x6d5a repeated to any length (40 is even).
[[nodiscard]] inline std::vector<uint8_t> make_rss_key(size_t len, bool symmetric) {
    const auto& base = symmetric ? flow::kSymmetricRssKey : flow::kDefaultRssKey;
    std::vector<uint8_t> key(len);
    for (size_t i = 0; i < len; ++i) key[i] = base[i % base.size()];
    return key;
}

}  // namespace synwave::io
