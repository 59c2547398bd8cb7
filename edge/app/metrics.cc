#include "edge/app/metrics.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <utility>

#include "edge/pipeline/coalescer.h"
#include "edge/pipeline/stats.h"

namespace strata::edge::app {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(std::string name, std::string help, MetricType type) {
  return MetricFamily{std::move(name), std::move(help), type, {}};
}

void addCounter(MetricFamily& f, double value, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  f.metric.push_back(std::move(m));
}

void addGauge(MetricFamily& f, double value, Labels labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

double load(const std::atomic<std::uint64_t>& c) {
  return static_cast<double>(c.load(std::memory_order_relaxed));
}

}  // namespace

std::vector<MetricFamily> nodeMetricFamilies(const NodeMetricsInput& in) {
  std::vector<MetricFamily> out;
  auto info = family("strata_build_info", "Always 1; labels name the node and its version.",
                     MetricType::Gauge);
  addGauge(info, 1, {{"node", in.nodeName}, {"version", in.version}});
  out.push_back(std::move(info));
  auto start =
      family("strata_start_time_seconds", "Unix time the node started.", MetricType::Gauge);
  addGauge(start, static_cast<double>(in.startedAtUnix));
  out.push_back(std::move(start));

  if (in.stats) {
    const pipeline::Stats& s = *in.stats;
    auto lookups = family("strata_cache_lookups_total",
                          "Cache lookups by result (hit, miss, stale: found but not fresh).",
                          MetricType::Counter);
    addCounter(lookups, load(s.hits), {{"result", "hit"}});
    addCounter(lookups, load(s.misses), {{"result", "miss"}});
    addCounter(lookups, load(s.stale), {{"result", "stale"}});
    out.push_back(std::move(lookups));
    struct Simple {
      const char* name;
      const char* help;
      const std::atomic<std::uint64_t>& value;
    };
    const Simple simple[] = {
        {"strata_cache_bypass_total", "Requests that bypassed the cache.", s.bypass},
        {"strata_cache_stored_total", "Responses stored in the cache.", s.stored},
        {"strata_cache_store_failures_total", "Responses that could not be stored.",
         s.storeFailures},
        {"strata_cache_revalidated_total", "Stored entries refreshed by a 304 from the origin.",
         s.revalidated},
        {"strata_cache_stale_served_total", "Stale responses served.", s.staleServed},
        {"strata_cache_invalidations_total", "Entries removed after unsafe methods.",
         s.invalidations},
        {"strata_cache_background_refreshes_total", "Background refreshes started.",
         s.backgroundRefreshes},
        {"strata_cache_purged_hits_total", "Lookups that found an entry a purge covers.",
         s.purgedHits},
        {"strata_requests_refused_total",
         "Requests answered by edge protection (403, 429, 401, https redirects).", s.refused},
        {"strata_cache_corrupt_bodies_total", "Stored bodies that failed their checksum.",
         s.corruptBodies},
        {"strata_origin_fetches_total", "Requests sent to origins.", s.originFetches},
        {"strata_origin_errors_total", "Origin requests that failed.", s.originErrors},
        {"strata_origin_received_bytes_total", "Body bytes received from origins.",
         s.bytesFromOrigin},
        {"strata_sent_bytes_total", "Body bytes sent to clients.", s.bytesToClients},
        {"strata_client_aborts_total", "Requests whose client went away mid-response.",
         s.clientAborts},
        {"strata_loops_total", "Requests refused as loops (508).", s.loops},
    };
    for (const auto& m : simple) {
      auto f = family(m.name, m.help, MetricType::Counter);
      addCounter(f, load(m.value));
      out.push_back(std::move(f));
    }
    auto inFlight =
        family("strata_in_flight_requests", "Requests being handled now.", MetricType::Gauge);
    addGauge(inFlight, static_cast<double>(s.inFlight.load(std::memory_order_relaxed)));
    out.push_back(std::move(inFlight));
  }
  if (in.coalescer) {
    const auto& c = in.coalescer->counters();
    auto coalesced =
        family("strata_coalesced_requests_total",
               "Requests that joined another request's origin fetch.", MetricType::Counter);
    addCounter(coalesced, load(c.coalescedWaiters));
    out.push_back(std::move(coalesced));
    auto fills = family("strata_fills_total", "Origin fetches shared through the coalescer.",
                        MetricType::Counter);
    addCounter(fills, load(c.leaders));
    out.push_back(std::move(fills));
    auto failures =
        family("strata_fill_leader_failures_total",
               "Shared fetches that failed before their response head.", MetricType::Counter);
    addCounter(failures, load(c.leaderFailures));
    out.push_back(std::move(failures));
    auto hfm = family("strata_hit_for_miss_total",
                      "Uncacheable answers remembered so later requests skip coalescing.",
                      MetricType::Counter);
    addCounter(hfm, load(c.hitForMiss));
    out.push_back(std::move(hfm));
    auto fillsNow =
        family("strata_fills_in_flight", "Shared fetches running now.", MetricType::Gauge);
    addGauge(fillsNow, static_cast<double>(in.coalescer->inFlight()));
    out.push_back(std::move(fillsNow));
  }

  auto purges =
      family("strata_purges_total", "Purge requests recorded, by mode.", MetricType::Counter);
  addCounter(purges, static_cast<double>(in.purgesHard), {{"mode", "hard"}});
  addCounter(purges, static_cast<double>(in.purgesSoft), {{"mode", "soft"}});
  out.push_back(std::move(purges));

  auto bytes =
      family("strata_cache_tier_bytes", "Bytes charged to a cache tier.", MetricType::Gauge);
  auto capacity =
      family("strata_cache_tier_capacity_bytes", "A cache tier's budget.", MetricType::Gauge);
  auto entries = family("strata_cache_tier_entries", "Entries in a cache tier.", MetricType::Gauge);
  auto hits =
      family("strata_cache_tier_hits_total", "Lookups a tier answered.", MetricType::Counter);
  auto misses = family("strata_cache_tier_misses_total", "Lookups a tier could not answer.",
                       MetricType::Counter);
  auto evictions = family("strata_cache_tier_evictions_total",
                          "Entries a tier evicted to stay within its budget.", MetricType::Counter);
  auto tier = [&](const char* name, const storage::StoreStats& t) {
    const Labels labels = {{"tier", name}};
    addGauge(bytes, static_cast<double>(t.bytes), labels);
    addGauge(capacity, static_cast<double>(t.capacityBytes), labels);
    addGauge(entries, static_cast<double>(t.entries), labels);
    addCounter(hits, static_cast<double>(t.hits), labels);
    addCounter(misses, static_cast<double>(t.misses), labels);
    addCounter(evictions, static_cast<double>(t.evictions), labels);
  };
  if (in.memory) tier("memory", *in.memory);
  if (in.disk) tier("disk", *in.disk);
  for (auto* f : {&bytes, &capacity, &entries, &hits, &misses, &evictions}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

std::vector<MetricFamily> backendMetricFamilies(const std::string& backendsJson) {
  if (backendsJson.empty()) return {};
  Poco::JSON::Object::Ptr root;
  try {
    root = Poco::JSON::Parser().parse(backendsJson).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return {};
  } catch (const std::exception&) {
    return {};
  }
  auto up =
      family("strata_backend_up", "1 when the backend is healthy, else 0.", MetricType::Gauge);
  auto state = family("strata_backend_state",
                      "1 for the backend's current state (up, down, draining), 0 for the others.",
                      MetricType::Gauge);
  auto weight = family("strata_backend_weight", "Load-balancing weight.", MetricType::Gauge);
  auto inFlight = family("strata_backend_in_flight_requests", "Requests in flight to a backend.",
                         MetricType::Gauge);
  auto requests =
      family("strata_backend_requests_total", "Requests sent to a backend.", MetricType::Counter);
  auto errors = family("strata_backend_errors_total", "Requests to a backend that failed.",
                       MetricType::Counter);
  auto latency =
      family("strata_backend_latency_seconds",
             "Recent response latency of a backend (as the pool measures it).", MetricType::Gauge);
  auto healthy =
      family("strata_pool_healthy_backends", "Healthy backends in a pool.", MetricType::Gauge);
  try {
    auto pools = root->getArray("pools");
    for (std::size_t i = 0; pools && i < pools->size(); ++i) {
      auto pool = pools->getObject(static_cast<unsigned>(i));
      if (!pool) continue;
      const std::string poolName = pool->optValue<std::string>("name", "");
      addGauge(healthy, pool->optValue<double>("healthy", 0), {{"pool", poolName}});
      auto backends = pool->getArray("backends");
      for (std::size_t k = 0; backends && k < backends->size(); ++k) {
        auto b = backends->getObject(static_cast<unsigned>(k));
        if (!b) continue;
        const Labels labels = {{"pool", poolName},
                               {"backend", b->optValue<std::string>("name", "")}};
        addGauge(up, b->optValue<bool>("healthy", false) ? 1 : 0, labels);
        const std::string current = b->optValue<std::string>("state", "");
        for (const char* s : {"up", "down", "draining"}) {
          Labels withState = labels;
          withState.push_back({"state", s});
          addGauge(state, current == s ? 1 : 0, std::move(withState));
        }
        addGauge(weight, b->optValue<double>("weight", 0), labels);
        addGauge(inFlight, b->optValue<double>("in_flight", 0), labels);
        addCounter(requests, b->optValue<double>("requests", 0), labels);
        addCounter(errors, b->optValue<double>("errors", 0), labels);
        addGauge(latency, b->optValue<double>("latency_ms", 0) / 1000.0, labels);
      }
    }
  } catch (const Poco::Exception&) {
    return {};
  }
  std::vector<MetricFamily> out;
  for (auto* f : {&up, &state, &weight, &inFlight, &requests, &errors, &latency, &healthy}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

std::string serializeMetrics(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace strata::edge::app
