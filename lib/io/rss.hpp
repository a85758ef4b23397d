// RSS (receive-side scaling) Toeplitz keys. No DPDK here: the keys are plain bytes, shared by the port set-up
// (which programs them into the NIC) and by whoever predicts the NIC's queue choice in software.
//
// Sources:
//   - The default key is the one in Microsoft's "Verifying the RSS Hash Calculation" (RSS specification),
//     which Intel NICs (82599, i40e, ice) and DPDK's testpmd also use as their default.
//   - The symmetric key 0x6d5a repeated is from Woo and Park, "Scalable TCP Session Monitoring with
//     Symmetric Receive-side Scaling" (KAIST 2012): with it the Toeplitz hash of (src, dst, sport, dport)
//     equals that of (dst, src, dport, sport), so both directions of a connection land on one queue.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace synwave::io {

// The Toeplitz key length of Intel 82599 / X710 / E810 and most other NICs, and of the key above.
inline constexpr size_t kRssKeyLen = 40;

inline constexpr std::array<uint8_t, kRssKeyLen> kRssDefaultKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

// A key of `len` bytes (a device's hash_key_size; 52 on i40e). The symmetric key is 0x6d 0x5a repeated to
// any length. The default key is 40 bytes; longer keys repeat it from the start, which keeps the first 40
// bytes (all an IPv4/TCP 4-tuple hash reads: 12 input bytes need 12 + 4 key bytes) identical to the spec.
[[nodiscard]] inline std::vector<uint8_t> make_rss_key(size_t len, bool symmetric) {
    std::vector<uint8_t> key(len);
    for (size_t i = 0; i < len; ++i)
        key[i] = symmetric ? static_cast<uint8_t>(i % 2 == 0 ? 0x6d : 0x5a) : kRssDefaultKey[i % kRssKeyLen];
    return key;
}

}  // namespace synwave::io
