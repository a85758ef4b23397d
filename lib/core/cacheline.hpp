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

// Start loading the line at p. On x86-64 an asm statement: GCC 12 drops __builtin_prefetch from some inlined
// callers as dead code (the flow table's prefetch through tcp::Stack::prefetch_flow compiled to nothing at -O2),
// and a volatile asm is never removed. DPDK's rte_prefetch0 does the same.
#if defined(__x86_64__)
inline void prefetch_read(const void* p) { asm volatile("prefetcht0 %0" : : "m"(*static_cast<const volatile char*>(p))); }
inline void prefetch_write(const void* p) { asm volatile("prefetchw %0" : : "m"(*static_cast<const volatile char*>(p))); }
#else
inline void prefetch_read(const void* p) { __builtin_prefetch(p, 0, 3); }
inline void prefetch_write(const void* p) { __builtin_prefetch(p, 1, 3); }
#endif

#define SYNWAVE_LIKELY(x) __builtin_expect(!!(x), 1)
#define SYNWAVE_UNLIKELY(x) __builtin_expect(!!(x), 0)

} // namespace synwave
