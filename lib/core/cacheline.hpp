// Cache-line layout helpers: hot per-lcore structures are aligned so two lcores never share a line,
// and record sizes are static_asserted against a number of lines.
#pragma once
#include <cstddef>
#include <new>

namespace synwave {

inline constexpr std::size_t kCacheLine = 64;

template <typename T>
constexpr std::size_t cache_lines_of() { return (sizeof(T) + kCacheLine - 1) / kCacheLine; }

// A T padded to its own cache line(s): per-lcore counters and queues in an array indexed by lcore.
template <typename T>
struct alignas(kCacheLine) CachePadded {
    T value{};
};

inline void prefetch_read(const void* p) { __builtin_prefetch(p, 0, 3); }
inline void prefetch_write(const void* p) { __builtin_prefetch(p, 1, 3); }

#define SYNWAVE_LIKELY(x) __builtin_expect(!!(x), 1)
#define SYNWAVE_UNLIKELY(x) __builtin_expect(!!(x), 0)

} // namespace synwave
