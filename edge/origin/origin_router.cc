#include "edge/origin/origin_router.h"

#include <utility>

namespace strata::edge::origin {

OriginPool::OriginPool(std::string name, std::vector<std::unique_ptr<Origin>> backends)
    : name_(std::move(name)), backends_(std::move(backends)) {}

std::unique_ptr<OriginResponse> OriginPool::fetch(const OriginRequest& request,
                                                  FetchFailure* failure, std::string* error) {
  if (backends_.empty()) {
    *failure = FetchFailure::kConnect;
    *error = "pool " + name_ + " has no backends";
    return nullptr;
  }
  std::size_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    Origin& backend = *backends_[(start + i) % backends_.size()];
    auto response = backend.fetch(request, failure, error);
    if (response) return response;
    if (*failure != FetchFailure::kConnect) return nullptr;
  }
  return nullptr;
}

OriginRouter::OriginRouter(std::vector<std::unique_ptr<OriginPool>> pools,
                           std::vector<RouteSpec> routes)
    : pools_(std::move(pools)), routes_(std::move(routes)) {}

const RouteSpec* OriginRouter::route(std::string_view host, std::string_view target) const {
  std::string_view bareHost = host;
  if (!bareHost.empty() && bareHost.front() != '[') {
    bareHost = bareHost.substr(0, bareHost.find(':'));
  } else if (!bareHost.empty()) {
    bareHost = bareHost.substr(0, bareHost.find(']') + 1);
  }
  // Routes naming this host win over host-less ones; among those, the longest prefix wins.
  const RouteSpec* best = nullptr;
  auto better = [&best](const RouteSpec& r) {
    if (!best) return true;
    if (best->host.empty() != r.host.empty()) return !r.host.empty();
    return r.pathPrefix.size() > best->pathPrefix.size();
  };
  for (const auto& r : routes_) {
    if (!r.host.empty() && !http::iequals(r.host, bareHost)) continue;
    if (target.substr(0, r.pathPrefix.size()) != r.pathPrefix) continue;
    if (better(r)) best = &r;
  }
  return best;
}

std::unique_ptr<OriginResponse> OriginRouter::fetch(std::string_view host,
                                                    const OriginRequest& request,
                                                    FetchFailure* failure, std::string* error) {
  const RouteSpec* r = route(host, request.target);
  if (!r) {
    *failure = FetchFailure::kConnect;
    *error = "no route for this host and path";
    return nullptr;
  }
  for (OriginPool* pool : r->pools) {
    auto response = pool->fetch(request, failure, error);
    if (response) return response;
    if (*failure != FetchFailure::kConnect) return nullptr;
  }
  return nullptr;
}

}  // namespace strata::edge::origin
