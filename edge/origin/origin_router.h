#pragma once
// Pools of origins and the routes that pick them. A pool balances round-robin over its backends;
// a route tries its pools in failover order. Only failures before anything was sent (connect
// errors) are retried elsewhere, so a retry can never repeat a request with side effects.
// Thread-safety: immutable after construction except for relaxed atomic cursors; fetch() is safe
// to call concurrently.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "edge/origin/origin.h"

namespace strata::edge::origin {

class OriginPool {
 public:
  OriginPool(std::string name, std::vector<std::unique_ptr<Origin>> backends);
  const std::string& name() const { return name_; }
  const std::vector<std::unique_ptr<Origin>>& backends() const { return backends_; }
  // Picks backends round-robin; on a connect failure tries the next one, each at most once.
  std::unique_ptr<OriginResponse> fetch(const OriginRequest& request, FetchFailure* failure,
                                        std::string* error);

 private:
  std::string name_;
  std::vector<std::unique_ptr<Origin>> backends_;
  std::atomic<std::size_t> next_{0};
};

struct RouteSpec {
  std::string host;        // "" matches any host; otherwise case-insensitive, port ignored.
  std::string pathPrefix;  // "/" matches every path.
  std::vector<OriginPool*> pools;
};

class OriginRouter {
 public:
  OriginRouter(std::vector<std::unique_ptr<OriginPool>> pools, std::vector<RouteSpec> routes);
  // The matching route: one naming this host (port ignored) over a host-less one, then the
  // longest path prefix. nullptr when none matches.
  const RouteSpec* route(std::string_view host, std::string_view target) const;
  // Fetches through the matching route's pools in order. No route: nullptr, kConnect.
  std::unique_ptr<OriginResponse> fetch(std::string_view host, const OriginRequest& request,
                                        FetchFailure* failure, std::string* error);
  const std::vector<std::unique_ptr<OriginPool>>& pools() const { return pools_; }

 private:
  std::vector<std::unique_ptr<OriginPool>> pools_;
  std::vector<RouteSpec> routes_;
};

}  // namespace strata::edge::origin
