#pragma once
// Pools of origins and the routes that pick them.
//
// A pool is a set of backends with a load-balancing policy (balancer.h), health (health.h:
// active probes by HealthChecker, passive accounting of request outcomes), an admin state per
// backend (up or draining) and retry limits. A route tries its pools in failover order.
//
// Retries (fetchThrough): an attempt that fails before any response byte arrived (connect
// error, reset, timeout) or that answers 502/503/504 is retried on another backend of the pool,
// then on the next pool, within the first pool's `tries` per pool and total `deadline`. Only
// idempotent requests with a replayable body (none, or up to 64 KiB of known length) are
// retried after the request was sent; a connect failure (nothing sent) is retried for any
// request. All of this happens before the response head is returned, so nothing has reached
// the client yet. When no backend of any pool is healthy, one last pass ignores health (never
// drain): a wrong health verdict must not turn into an outage.
//
// Thread-safety: fetch(), snapshot(), setDraining() and the probe/outcome recorders are safe to
// call concurrently. Counters are relaxed atomics; health state is mutex-guarded per backend;
// pools and routes are immutable after construction.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/origin/balancer.h"
#include "edge/origin/health.h"
#include "edge/origin/origin.h"

namespace strata::edge::origin {

class HealthChecker;

struct HealthCheckConfig {
  bool enabled = false;            // Default: off (passive checks only).
  std::string path = "/";          // Default: "/"
  int expectStatus = 200;          // Default: 200
  std::int64_t intervalMs = 5000;  // Default: 5s
  std::int64_t timeoutMs = 2000;   // Default: 2s
  int rise = 2;                    // Default: 2
  int fall = 3;                    // Default: 3
};

struct RetryConfig {
  int tries = 3;                    // Default: 3 attempts per pool (on distinct backends).
  std::int64_t deadlineMs = 30000;  // Default: 30s; no new attempt starts after it.
};

struct PoolOptions {
  BalancePolicy policy = BalancePolicy::kRoundRobin;
  HealthCheckConfig healthCheck;
  PassiveOptions passive;
  RetryConfig retries;
};

// Plain per-backend figures for the admin API and metrics (rendered outside this module).
struct BackendSnapshot {
  std::string name;
  std::string url;
  int weight = 0;
  std::string state;  // "up", "down" (unhealthy) or "draining" (by the admin; wins over down).
  bool healthy = true;
  std::int64_t inFlight = 0;
  std::uint64_t requests = 0;  // Attempts sent to this backend.
  std::uint64_t errors = 0;    // Failed attempts: no response, 502/503/504, broken bodies.
  int failuresConsecutive = 0;
  double latencyMs = 0;  // Moving average of the time to the response head.
  std::uint64_t connectionsReused = 0;
  std::uint64_t connectionsOpened = 0;
};

struct PoolSnapshot {
  std::string name;
  std::string policy;  // "round_robin", "least_conn", "hash"
  int healthy = 0;     // Backends whose health is good (drained ones included).
  std::vector<BackendSnapshot> backends;
};

// Milliseconds on a monotonic scale; injectable for tests.
using MillisClock = std::function<std::int64_t()>;
std::int64_t steadyMillis();

class OriginPool {
 public:
  struct Member {
    std::string name;
    std::string url;
    int weight = 1;
    std::unique_ptr<Origin> origin;
  };

  OriginPool(std::string name, PoolOptions options, std::vector<Member> members,
             MillisClock clock = steadyMillis);
  // Round-robin over `backends` with default options (named by Origin::name()).
  OriginPool(std::string name, std::vector<std::unique_ptr<Origin>> backends);
  ~OriginPool();

  const std::string& name() const { return name_; }
  const PoolOptions& options() const { return options_; }
  std::size_t size() const { return backends_.size(); }
  Origin& origin(std::size_t i) const;
  const std::string& backendName(std::size_t i) const;
  std::optional<std::size_t> find(std::string_view backend) const;

  // Chooses a backend for `key` among those not in `tried` (one flag per backend) that are up
  // (not draining) with a weight above 0 and, unless `ignoreHealth`, healthy.
  std::optional<std::size_t> pick(std::string_view key, const std::vector<bool>& tried,
                                  bool ignoreHealth);

  // Request accounting, called by fetchThrough(): an attempt starts (in flight), then ends with
  // a response head (good or failed status) or without one; the response's end leaves flight.
  void attemptStarted(std::size_t i);
  void attemptAnswered(std::size_t i, bool failed, double latencyMs);
  void attemptFailed(std::size_t i);
  void attemptEnded(std::size_t i);
  void bodyFailed(std::size_t i);

  // The result of an active probe (HealthChecker).
  void recordProbe(std::size_t i, bool ok);
  // Admin drain/enable: a draining backend gets no new requests; in-flight ones finish.
  void setDraining(std::size_t i, bool draining);

  bool healthy(std::size_t i) const;
  PoolSnapshot snapshot() const;

  // Fetches from this pool alone (see fetchThrough()).
  std::unique_ptr<OriginResponse> fetch(const OriginRequest& request, FetchFailure* failure,
                                        std::string* error);

 private:
  struct Backend;
  void recordFailure(std::size_t i);  // Counts an error and feeds passive health.
  std::string name_;
  PoolOptions options_;
  MillisClock clock_;
  std::vector<std::unique_ptr<Backend>> backends_;
  Balancer balancer_;
};

// Fetches through `pools` in failover order with the retry rules above.
std::unique_ptr<OriginResponse> fetchThrough(const std::vector<OriginPool*>& pools,
                                             const OriginRequest& request, FetchFailure* failure,
                                             std::string* error);

struct RouteSpec {
  std::string host;        // "" matches any host; otherwise case-insensitive, port ignored.
  std::string pathPrefix;  // "/" matches every path.
  std::vector<OriginPool*> pools;
};

class OriginRouter {
 public:
  OriginRouter(std::vector<std::unique_ptr<OriginPool>> pools, std::vector<RouteSpec> routes);
  ~OriginRouter();
  // The matching route: one naming this host (port ignored) over a host-less one, then the
  // longest path prefix. nullptr when none matches.
  const RouteSpec* route(std::string_view host, std::string_view target) const;
  // The matching route's position in the constructor's list (per-route policies are kept by
  // position); nullopt when none matches.
  std::optional<std::size_t> routeIndex(std::string_view host, std::string_view target) const;
  // Fetches through the matching route's pools in order. No route: nullptr, kConnect.
  std::unique_ptr<OriginResponse> fetch(std::string_view host, const OriginRequest& request,
                                        FetchFailure* failure, std::string* error);
  const std::vector<std::unique_ptr<OriginPool>>& pools() const { return pools_; }

  // Starts the active health checks (one thread per probed backend); stopped by stop() or the
  // destructor. Backends that are not HttpBackends (the demo origin) are not probed.
  void startHealthChecks();
  void stopHealthChecks();

  std::vector<PoolSnapshot> snapshot() const;
  // Drains or enables POOL/BACKEND. Returns false with `error` ("unknown pool 'x'") if absent.
  bool setDraining(std::string_view pool, std::string_view backend, bool draining,
                   std::string* error);

 private:
  std::vector<std::unique_ptr<OriginPool>> pools_;
  std::vector<RouteSpec> routes_;
  std::unique_ptr<HealthChecker> checker_;
};

}  // namespace strata::edge::origin
