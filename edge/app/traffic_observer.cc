#include "edge/app/traffic_observer.h"

#include <Poco/Logger.h>
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

namespace strata::edge::app {
namespace {

std::size_t classIndex(std::string_view cacheClass) {
  for (std::size_t i = 0; i < TrafficObserver::kCacheClasses.size(); ++i) {
    if (cacheClass == TrafficObserver::kCacheClasses[i]) return i;
  }
  return TrafficObserver::kCacheClasses.size() - 1;  // "none"
}

void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t read(const std::atomic<std::uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

prometheus::ClientMetric counterMetric(std::vector<prometheus::ClientMetric::Label> labels,
                                       double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

}  // namespace

TrafficObserver::TrafficObserver(Options options) : options_(options) {
  shards_.reserve(kShards);
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>(options_.topCapacity));
  }
}

TrafficObserver::~TrafficObserver() = default;

TrafficObserver::Shard& TrafficObserver::shardForThisThread() {
  static std::atomic<std::size_t> nextThread{0};
  thread_local const std::size_t index = nextThread.fetch_add(1) % kShards;
  return *shards_[index];
}

void TrafficObserver::observe(const pipeline::RequestRecord& r) noexcept {
  try {
    const std::string_view cacheClass = cacheStatusClass(r.cacheStatus);
    const std::size_t c = classIndex(cacheClass);
    Shard& shard = shardForThisThread();
    bump(shard.requests[c]);
    bump(shard.bytes[c], r.bytes);
    const std::uint64_t micros =
        r.durationMicros > 0 ? static_cast<std::uint64_t>(r.durationMicros) : 0;
    bump(shard.latencySumMicros[c], micros);
    const double seconds = static_cast<double>(micros) / 1e6;
    const auto bound = std::lower_bound(kLatencyBounds.begin(), kLatencyBounds.end(), seconds);
    bump(shard.latency[c][static_cast<std::size_t>(bound - kLatencyBounds.begin())]);
    const bool known = r.status >= kMinStatus && r.status <= kMaxStatus;
    bump(shard.statuses[known ? static_cast<std::size_t>(r.status - kMinStatus)
                              : shard.statuses.size() - 1]);

    std::string url;
    url.reserve(r.host.size() + r.target.size());
    url += r.host;
    url += r.target;
    {
      std::lock_guard lock(shard.topMutex);
      shard.byRequests.add(url, 1);
      if (r.bytes > 0) shard.byBytes.add(url, r.bytes);
    }

    if (options_.accessLog) {
      const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      options_.accessLog->information(formatAccessLine(options_.format, r, now));
    }
  } catch (...) {
    // Out of memory while formatting: the request is served; its observation is dropped.
  }
}

std::vector<prometheus::MetricFamily> TrafficObserver::metricFamilies() const {
  using prometheus::MetricType;
  prometheus::MetricFamily requests{"strata_requests_total",
                                    "Requests answered by the proxy, by cache outcome.",
                                    MetricType::Counter,
                                    {}};
  prometheus::MetricFamily bytes{"strata_response_body_bytes_total",
                                 "Response body bytes sent to clients, by cache outcome.",
                                 MetricType::Counter,
                                 {}};
  prometheus::MetricFamily duration{
      "strata_request_duration_seconds",
      "Time from the request head to the last response byte, by cache outcome.",
      MetricType::Histogram,
      {}};
  prometheus::MetricFamily statuses{"strata_responses_total",
                                    "Responses sent by the proxy, by status code.",
                                    MetricType::Counter,
                                    {}};
  for (std::size_t c = 0; c < kClasses; ++c) {
    std::uint64_t n = 0, b = 0, sumMicros = 0;
    std::array<std::uint64_t, kBuckets> buckets{};
    for (const auto& shard : shards_) {
      n += read(shard->requests[c]);
      b += read(shard->bytes[c]);
      sumMicros += read(shard->latencySumMicros[c]);
      for (std::size_t k = 0; k < kBuckets; ++k) buckets[k] += read(shard->latency[c][k]);
    }
    const std::vector<prometheus::ClientMetric::Label> labels = {
        {"cache_status", kCacheClasses[c]}};
    requests.metric.push_back(counterMetric(labels, static_cast<double>(n)));
    bytes.metric.push_back(counterMetric(labels, static_cast<double>(b)));
    prometheus::ClientMetric h;
    h.label = labels;
    std::uint64_t cumulative = 0;
    for (std::size_t k = 0; k < kBuckets; ++k) {
      cumulative += buckets[k];
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound =
          k < kLatencyBounds.size() ? kLatencyBounds[k] : std::numeric_limits<double>::infinity();
      h.histogram.bucket.push_back(bucket);
    }
    // The count is the +Inf bucket, so the histogram stays consistent however reads interleave.
    h.histogram.sample_count = cumulative;
    h.histogram.sample_sum = static_cast<double>(sumMicros) / 1e6;
    duration.metric.push_back(std::move(h));
  }
  const std::size_t slots = shards_.front()->statuses.size();
  for (std::size_t s = 0; s < slots; ++s) {
    std::uint64_t n = 0;
    for (const auto& shard : shards_) n += read(shard->statuses[s]);
    if (n == 0) continue;
    const std::string code =
        s + 1 == slots ? "other" : std::to_string(kMinStatus + static_cast<int>(s));
    statuses.metric.push_back(counterMetric({{"code", code}}, static_cast<double>(n)));
  }
  return {std::move(requests), std::move(statuses), std::move(bytes), std::move(duration)};
}

TrafficObserver::Top TrafficObserver::top(std::size_t n) const {
  // A key may sit in several shards (threads of several shards requested it): its estimates
  // and error bounds add up, which keeps both the upper and the lower bound valid.
  std::map<std::string, TopUrl> requests, bytes;
  for (const auto& shard : shards_) {
    std::vector<SpaceSaving::Item> r, b;
    {
      std::lock_guard lock(shard->topMutex);
      r = shard->byRequests.top(shard->byRequests.size());
      b = shard->byBytes.top(shard->byBytes.size());
    }
    for (auto& item : r) {
      auto& t = requests[item.key];
      t.value += item.count;
      t.error += item.error;
    }
    for (auto& item : b) {
      auto& t = bytes[item.key];
      t.value += item.count;
      t.error += item.error;
    }
  }
  auto ranked = [n](std::map<std::string, TopUrl>& merged) {
    std::vector<TopUrl> out;
    out.reserve(merged.size());
    for (auto& [key, t] : merged) {
      t.url = key;
      out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end(), [](const TopUrl& a, const TopUrl& b) {
      return a.value != b.value ? a.value > b.value : a.url < b.url;
    });
    if (out.size() > n) out.resize(n);
    return out;
  };
  return {ranked(requests), ranked(bytes)};
}

std::string TrafficObserver::topJson(std::size_t n) const {
  const Top t = top(n);
  std::string out = "{\"by_requests\":[";
  auto list = [&out](const std::vector<TopUrl>& items, const char* field) {
    bool first = true;
    for (const auto& item : items) {
      out += first ? "{\"url\":" : ",{\"url\":";
      first = false;
      appendJsonString(out, item.url);
      out += ",\"";
      out += field;
      out += "\":";
      out += std::to_string(item.value);
      out += ",\"error\":";
      out += std::to_string(item.error);
      out += '}';
    }
  };
  list(t.byRequests, "requests");
  out += "],\"by_bytes\":[";
  list(t.byBytes, "bytes");
  out += "]}";
  return out;
}

}  // namespace strata::edge::app
