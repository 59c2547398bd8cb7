#pragma once
// The last minutes of the node's activity for the admin page's charts: a ring of per-second
// samples of a few counters, turned into rates on read. Thread-safe (one mutex; one writer per
// second and the occasional reader).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace strata::admin {

// Counter totals and gauges read at one moment.
struct HistorySample {
  std::int64_t unixMillis = 0;
  std::uint64_t requests = 0;
  std::uint64_t hits = 0;
  std::uint64_t lookups = 0;  // hits + misses + stale
  std::uint64_t bytesSent = 0;
  std::uint64_t originFetches = 0;
  std::uint64_t originErrors = 0;
  std::uint64_t coalesced = 0;
  std::uint64_t memoryBytes = 0;
  std::uint64_t diskBytes = 0;
};

class History {
 public:
  explicit History(std::size_t capacity = 600) : capacity_(capacity) {}

  void record(const HistorySample& sample);
  // {"points":[{"t":UNIX_MS,"requests_per_s":..,"hit_ratio":..|null,"bytes_per_s":..,
  //   "origin_fetches_per_s":..,"origin_errors_per_s":..,"coalesced_per_s":..,
  //   "memory_bytes":..,"disk_bytes":..}]}: one point per pair of consecutive samples, oldest
  // first. hit_ratio is null when no lookup happened in the interval.
  std::string json() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<HistorySample> samples_;
};

}  // namespace strata::admin
