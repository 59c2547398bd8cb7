#pragma once
// TrafficObserver: what the node learns from each finished request. It counts requests, status
// codes and body bytes per cache outcome, keeps a latency histogram, tracks the top URLs by
// requests and by bytes (space-saving, bounded memory) and writes the access-log line.
//
// Thread-safety: observe() runs concurrently on every worker thread. State is split into 16
// shards; a thread always uses the same shard (assigned round-robin on its first request), so
// counters are relaxed atomics without contention on a shared cache line, and each shard's
// top-k summaries sit behind the shard's own mutex, which threads of other shards never take.
// Readers (metrics, top URLs) sum the shards; a read while traffic flows is not a single cut.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edge/app/access_log.h"
#include "edge/app/space_saving.h"
#include "edge/pipeline/request_record.h"

namespace Poco {
class Logger;
}
namespace prometheus {
struct MetricFamily;
}

namespace strata::edge::app {

class TrafficObserver final : public pipeline::RequestObserver {
 public:
  struct Options {
    // Where access-log lines go (null: no access log); not owned, must outlive the observer.
    Poco::Logger* accessLog = nullptr;
    AccessLogFormat format = AccessLogFormat::kCombined;
    // Keys kept per shard and summary (16 shards, one summary by requests, one by bytes).
    std::size_t topCapacity = 128;
  };

  // The cache outcomes counted (cacheStatusClass() values) and latency bucket bounds.
  static constexpr std::array<const char*, 7> kCacheClasses = {
      "hit", "stale", "miss", "revalidated", "coalesced", "bypass", "none"};
  static constexpr std::array<double, 15> kLatencyBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  explicit TrafficObserver(Options options);
  ~TrafficObserver() override;

  void observe(const pipeline::RequestRecord& record) noexcept override;

  // strata_requests_total, strata_responses_total, strata_response_body_bytes_total and
  // strata_request_duration_seconds.
  std::vector<prometheus::MetricFamily> metricFamilies() const;

  struct TopUrl {
    std::string url;          // "HOST/TARGET" as received (truncated to 512 bytes).
    std::uint64_t value = 0;  // Requests or bytes (an upper bound).
    std::uint64_t error = 0;  // value - error is a lower bound.
  };
  struct Top {
    std::vector<TopUrl> byRequests;
    std::vector<TopUrl> byBytes;
  };
  Top top(std::size_t n) const;
  // {"by_requests":[{"url":..,"requests":N,"error":E}],"by_bytes":[{"url":..,"bytes":N,...}]}
  std::string topJson(std::size_t n) const;

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kClasses = kCacheClasses.size();
  static constexpr std::size_t kBuckets = kLatencyBounds.size() + 1;  // The last is +Inf.
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;

  struct alignas(64) Shard {
    std::array<std::atomic<std::uint64_t>, kClasses> requests{};
    std::array<std::atomic<std::uint64_t>, kClasses> bytes{};
    std::array<std::atomic<std::uint64_t>, kClasses> latencySumMicros{};
    std::array<std::array<std::atomic<std::uint64_t>, kBuckets>, kClasses> latency{};
    std::array<std::atomic<std::uint64_t>, kMaxStatus - kMinStatus + 2> statuses{};  // Last: other.
    mutable std::mutex topMutex;
    SpaceSaving byRequests;
    SpaceSaving byBytes;
    explicit Shard(std::size_t capacity) : byRequests(capacity), byBytes(capacity) {}
  };

  Shard& shardForThisThread();

  Options options_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace strata::edge::app
