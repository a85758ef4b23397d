// Network byte order helpers. Loads and stores go through memcpy so unaligned header fields are safe
// (an IPv4 header after a VLAN tag is 2-byte aligned at best); compilers turn them into one MOVBE/BSWAP.
#pragma once
#include <bit>
#include <cstdint>
#include <cstring>

namespace synwave {

static_assert(std::endian::native == std::endian::little, "synwave assumes a little-endian host");

[[nodiscard]] constexpr uint16_t bswap16(uint16_t v) { return static_cast<uint16_t>((v << 8) | (v >> 8)); }
[[nodiscard]] constexpr uint32_t bswap32(uint32_t v) { return __builtin_bswap32(v); }
[[nodiscard]] constexpr uint16_t hton16(uint16_t v) { return bswap16(v); }
[[nodiscard]] constexpr uint32_t hton32(uint32_t v) { return bswap32(v); }
[[nodiscard]] constexpr uint16_t ntoh16(uint16_t v) { return bswap16(v); }
[[nodiscard]] constexpr uint32_t ntoh32(uint32_t v) { return bswap32(v); }

[[nodiscard]] inline uint16_t load_be16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return ntoh16(v); }
[[nodiscard]] inline uint32_t load_be32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return ntoh32(v); }
inline void store_be16(uint8_t* p, uint16_t v) { v = hton16(v); std::memcpy(p, &v, 2); }
inline void store_be32(uint8_t* p, uint32_t v) { v = hton32(v); std::memcpy(p, &v, 4); }

} // namespace synwave
