#pragma once
// Request-path counters. Relaxed atomics: each counter is exact, but a snapshot read while
// traffic flows is not a single consistent cut.

#include <atomic>
#include <cstdint>

namespace strata::edge::pipeline {

struct Stats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> stale{0};
  std::atomic<std::uint64_t> bypass{0};
  std::atomic<std::uint64_t> stored{0};
  std::atomic<std::uint64_t> storeFailures{0};
  std::atomic<std::uint64_t> originFetches{0};
  std::atomic<std::uint64_t> originErrors{0};
  std::atomic<std::uint64_t> clientAborts{0};
  std::atomic<std::uint64_t> loops{0};
  std::atomic<std::uint64_t> bytesToClients{0};
  std::atomic<std::uint64_t> bytesFromOrigin{0};
  std::atomic<std::uint64_t> corruptBodies{0};
  std::atomic<std::uint64_t> revalidated{0};    // 304 from the origin refreshed a stored entry.
  std::atomic<std::uint64_t> staleServed{0};    // Stale served (max-stale, SWR, stale-if-error).
  std::atomic<std::uint64_t> notModified{0};    // 304 answered to clients from cache.
  std::atomic<std::uint64_t> rangesServed{0};   // 206 answered from cache or a fill.
  std::atomic<std::uint64_t> invalidations{0};  // Entries removed after unsafe methods.
  std::atomic<std::uint64_t> backgroundRefreshes{0};
  std::atomic<std::uint64_t> purgedHits{0};  // Lookups that found an entry a purge covers.
  std::atomic<std::uint64_t> refused{0};     // Answered by the guard: 403, 429, 401, redirects.
  std::atomic<std::int64_t> inFlight{0};     // Gauge: requests being handled now.

  static void add(std::atomic<std::int64_t>& gauge, std::int64_t n) {
    gauge.fetch_add(n, std::memory_order_relaxed);
  }
  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace strata::edge::pipeline
