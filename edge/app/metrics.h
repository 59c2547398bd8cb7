#pragma once
// The node's Prometheus metrics (text exposition format 0.0.4), built at scrape time from the
// counters the request path keeps anyway; prometheus-cpp supplies the data model and the text
// serializer. Nothing here runs per request.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/cache_store.h"

namespace prometheus {
struct MetricFamily;
}

namespace strata::edge::pipeline {
struct Stats;
class Coalescer;
}  // namespace strata::edge::pipeline

namespace strata::edge::app {

struct NodeMetricsInput {
  std::string nodeName;
  std::string version;
  std::int64_t startedAtUnix = 0;
  const pipeline::Stats* stats = nullptr;
  const pipeline::Coalescer* coalescer = nullptr;  // May be null.
  std::optional<storage::StoreStats> memory;
  std::optional<storage::StoreStats> disk;
  std::uint64_t purgesHard = 0;
  std::uint64_t purgesSoft = 0;
};

// strata_build_info, strata_start_time_seconds, cache outcome and origin counters, coalescing,
// in-flight gauges, purges, and per tier (tier="memory"|"disk") bytes, capacity, entries,
// hits, misses, evictions.
std::vector<prometheus::MetricFamily> nodeMetricFamilies(const NodeMetricsInput& input);

// Backend families from a GET /api/backends body (the shared contract: pools[].backends[] with
// name, state, healthy, weight, in_flight, requests, errors, latency_ms): strata_backend_up,
// strata_backend_state, strata_backend_weight, strata_backend_in_flight,
// strata_backend_requests_total, strata_backend_errors_total, strata_backend_latency_seconds,
// strata_pool_healthy_backends. Empty for "" or a body that does not parse.
std::vector<prometheus::MetricFamily> backendMetricFamilies(const std::string& backendsJson);

// The text exposition of `families`, in order.
std::string serializeMetrics(const std::vector<prometheus::MetricFamily>& families);

}  // namespace strata::edge::app
