#include "admin/history.h"

#include <algorithm>
#include <cstdio>

namespace strata::admin {

void History::record(const HistorySample& sample) {
  std::lock_guard lock(mutex_);
  samples_.push_back(sample);
  while (samples_.size() > capacity_ + 1) samples_.pop_front();
}

std::string History::json() const {
  std::lock_guard lock(mutex_);
  std::string out = "{\"points\":[";
  char buffer[512];
  bool first = true;
  for (std::size_t i = 1; i < samples_.size(); ++i) {
    const HistorySample& a = samples_[i - 1];
    const HistorySample& b = samples_[i];
    const double seconds = static_cast<double>(b.unixMillis - a.unixMillis) / 1000.0;
    if (seconds <= 0) continue;
    // Counters only grow; a difference that would be negative (a reset) counts as zero.
    auto rate = [seconds](std::uint64_t from, std::uint64_t to) {
      return to >= from ? static_cast<double>(to - from) / seconds : 0.0;
    };
    const std::uint64_t lookups = b.lookups >= a.lookups ? b.lookups - a.lookups : 0;
    const std::uint64_t hits = b.hits >= a.hits ? b.hits - a.hits : 0;
    char ratio[32] = "null";
    if (lookups > 0) {
      std::snprintf(ratio, sizeof ratio, "%.4f",
                    static_cast<double>(std::min(hits, lookups)) / static_cast<double>(lookups));
    }
    std::snprintf(buffer, sizeof buffer,
                  "%s{\"t\":%lld,\"requests_per_s\":%.3f,\"hit_ratio\":%s,\"bytes_per_s\":%.1f,"
                  "\"origin_fetches_per_s\":%.3f,\"origin_errors_per_s\":%.3f,"
                  "\"coalesced_per_s\":%.3f,\"memory_bytes\":%llu,\"disk_bytes\":%llu}",
                  first ? "" : ",", static_cast<long long>(b.unixMillis),
                  rate(a.requests, b.requests), ratio, rate(a.bytesSent, b.bytesSent),
                  rate(a.originFetches, b.originFetches), rate(a.originErrors, b.originErrors),
                  rate(a.coalesced, b.coalesced), static_cast<unsigned long long>(b.memoryBytes),
                  static_cast<unsigned long long>(b.diskBytes));
    out += buffer;
    first = false;
  }
  out += "]}";
  return out;
}

}  // namespace strata::admin
