#include "edge/origin/origin_router.h"

#include <Poco/Logger.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <utility>

#include "edge/origin/health_checker.h"

namespace strata::edge::origin {
namespace {

Poco::Logger& logger() { return Poco::Logger::get("strata.origin"); }

// A request body up to this size with a known length is kept, so the request can be retried.
constexpr std::int64_t kReplayableBody = 64 * 1024;

bool isIdempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

bool isRetriableStatus(int status) { return status == 502 || status == 503 || status == 504; }

}  // namespace

std::int64_t steadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct OriginPool::Backend {
  Backend(Member m, int rise, int fall, PassiveOptions passive)
      : member(std::move(m)), health(rise, fall, passive) {}
  Member member;
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> inFlight{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<double> latencyMs{0};
  mutable std::mutex mutex;  // Guards health.
  HealthState health;
};

namespace {

std::vector<std::string> namesOf(const std::vector<OriginPool::Member>& members) {
  std::vector<std::string> names;
  for (const auto& m : members) names.push_back(m.name);
  return names;
}

std::vector<int> weightsOf(const std::vector<OriginPool::Member>& members) {
  std::vector<int> weights;
  for (const auto& m : members) weights.push_back(m.weight);
  return weights;
}

std::vector<OriginPool::Member> membersOf(std::vector<std::unique_ptr<Origin>> backends) {
  std::vector<OriginPool::Member> members;
  for (auto& b : backends) {
    OriginPool::Member m;
    m.name = b->name();
    m.origin = std::move(b);
    members.push_back(std::move(m));
  }
  return members;
}

}  // namespace

OriginPool::OriginPool(std::string name, PoolOptions options, std::vector<Member> members,
                       MillisClock clock)
    : name_(std::move(name)),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : MillisClock(steadyMillis)),
      balancer_(options_.policy, namesOf(members), weightsOf(members)) {
  for (auto& m : members) {
    backends_.push_back(std::make_unique<Backend>(std::move(m), options_.healthCheck.rise,
                                                  options_.healthCheck.fall, options_.passive));
  }
}

OriginPool::OriginPool(std::string name, std::vector<std::unique_ptr<Origin>> backends)
    : OriginPool(std::move(name), PoolOptions{}, membersOf(std::move(backends))) {}

OriginPool::~OriginPool() = default;

Origin& OriginPool::origin(std::size_t i) const { return *backends_[i]->member.origin; }
const std::string& OriginPool::backendName(std::size_t i) const {
  return backends_[i]->member.name;
}

std::optional<std::size_t> OriginPool::find(std::string_view backend) const {
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    if (backends_[i]->member.name == backend) return i;
  }
  return std::nullopt;
}

bool OriginPool::healthy(std::size_t i) const {
  const Backend& b = *backends_[i];
  std::lock_guard lock(b.mutex);
  return b.health.healthy(clock_());
}

std::optional<std::size_t> OriginPool::pick(std::string_view key, const std::vector<bool>& tried,
                                            bool ignoreHealth) {
  std::vector<Candidate> candidates(backends_.size());
  const std::int64_t now = clock_();
  for (std::size_t i = 0; i < backends_.size(); ++i) {
    const Backend& b = *backends_[i];
    Candidate& c = candidates[i];
    c.weight = b.member.weight;
    c.inFlight = b.inFlight.load(std::memory_order_relaxed);
    c.eligible = !(i < tried.size() && tried[i]) && !b.draining.load(std::memory_order_relaxed);
    if (c.eligible && !ignoreHealth) {
      std::lock_guard lock(b.mutex);
      c.eligible = b.health.healthy(now);
    }
  }
  return balancer_.pick(candidates, key);
}

void OriginPool::attemptStarted(std::size_t i) {
  backends_[i]->inFlight.fetch_add(1, std::memory_order_relaxed);
  backends_[i]->requests.fetch_add(1, std::memory_order_relaxed);
}

void OriginPool::attemptAnswered(std::size_t i, bool failed, double latencyMs) {
  Backend& b = *backends_[i];
  // Exponential moving average; concurrent updates may lose one sample, which is fine here.
  const double previous = b.latencyMs.load(std::memory_order_relaxed);
  b.latencyMs.store(previous == 0 ? latencyMs : previous * 0.8 + latencyMs * 0.2,
                    std::memory_order_relaxed);
  if (failed) {
    recordFailure(i);
    return;
  }
  std::lock_guard lock(b.mutex);
  b.health.onRequestSuccess();
}

void OriginPool::attemptFailed(std::size_t i) {
  backends_[i]->inFlight.fetch_sub(1, std::memory_order_relaxed);
  recordFailure(i);
}

void OriginPool::recordFailure(std::size_t i) {
  Backend& b = *backends_[i];
  b.errors.fetch_add(1, std::memory_order_relaxed);
  bool down = false;
  {
    std::lock_guard lock(b.mutex);
    down = b.health.onRequestFailure(clock_());
  }
  if (down) {
    logger().warning(
        "event=backend_down reason=passive pool=%s backend=%s failures=%d cooldown_ms=%s", name_,
        b.member.name, options_.passive.failures, std::to_string(options_.passive.cooldownMs));
  }
}

void OriginPool::attemptEnded(std::size_t i) {
  backends_[i]->inFlight.fetch_sub(1, std::memory_order_relaxed);
}

void OriginPool::bodyFailed(std::size_t i) {
  backends_[i]->errors.fetch_add(1, std::memory_order_relaxed);
}

void OriginPool::recordProbe(std::size_t i, bool ok) {
  Backend& b = *backends_[i];
  bool before = false;
  bool after = false;
  {
    std::lock_guard lock(b.mutex);
    const std::int64_t now = clock_();
    before = b.health.healthy(now);
    b.health.onProbe(ok, now);
    after = b.health.healthy(now);
  }
  if (before != after) {
    if (after) {
      logger().notice("event=backend_up reason=active pool=%s backend=%s", name_, b.member.name);
    } else {
      logger().warning("event=backend_down reason=active pool=%s backend=%s", name_, b.member.name);
    }
  }
}

void OriginPool::setDraining(std::size_t i, bool draining) {
  backends_[i]->draining.store(draining, std::memory_order_relaxed);
  logger().notice("event=%s pool=%s backend=%s",
                  std::string(draining ? "backend_drain" : "backend_enable"), name_,
                  backends_[i]->member.name);
}

PoolSnapshot OriginPool::snapshot() const {
  PoolSnapshot out;
  out.name = name_;
  out.policy = toString(options_.policy);
  const std::int64_t now = clock_();
  for (const auto& bp : backends_) {
    const Backend& b = *bp;
    BackendSnapshot s;
    s.name = b.member.name;
    s.url = b.member.url;
    s.weight = b.member.weight;
    {
      std::lock_guard lock(b.mutex);
      s.healthy = b.health.healthy(now);
      s.failuresConsecutive = b.health.consecutiveFailures();
    }
    const bool draining = b.draining.load(std::memory_order_relaxed);
    s.state = draining ? "draining" : s.healthy ? "up" : "down";
    s.inFlight = b.inFlight.load(std::memory_order_relaxed);
    s.requests = b.requests.load(std::memory_order_relaxed);
    s.errors = b.errors.load(std::memory_order_relaxed);
    s.latencyMs = b.latencyMs.load(std::memory_order_relaxed);
    const ConnectionCounts c = b.member.origin->connections();
    s.connectionsReused = c.reused;
    s.connectionsOpened = c.opened;
    if (s.healthy) ++out.healthy;
    out.backends.push_back(std::move(s));
  }
  return out;
}

std::unique_ptr<OriginResponse> OriginPool::fetch(const OriginRequest& request,
                                                  FetchFailure* failure, std::string* error) {
  return fetchThrough({this}, request, failure, error);
}

namespace {

// A response that keeps its backend's in-flight count until it is destroyed and counts a body
// that breaks as an error.
class TrackedResponse : public OriginResponse {
 public:
  TrackedResponse(std::unique_ptr<OriginResponse> inner, OriginPool* pool, std::size_t backend)
      : inner_(std::move(inner)), pool_(pool), backend_(backend) {}
  ~TrackedResponse() override {
    inner_.reset();
    pool_->attemptEnded(backend_);
  }
  const std::vector<Interim>& interims() const override { return inner_->interims(); }
  int status() const override { return inner_->status(); }
  const std::string& reason() const override { return inner_->reason(); }
  const http::HeaderList& headers() const override { return inner_->headers(); }
  http::HeaderList takeHeaders() override { return inner_->takeHeaders(); }
  std::int64_t contentLength() const override { return inner_->contentLength(); }
  std::int64_t read(char* buffer, std::size_t size) override {
    const std::int64_t n = inner_->read(buffer, size);
    if (n < 0 && !failed_) {
      failed_ = true;
      pool_->bodyFailed(backend_);
    }
    return n;
  }
  const std::string& error() const override { return inner_->error(); }

 private:
  std::unique_ptr<OriginResponse> inner_;
  OriginPool* pool_;
  std::size_t backend_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<OriginResponse> fetchThrough(const std::vector<OriginPool*>& pools,
                                             const OriginRequest& request, FetchFailure* failure,
                                             std::string* error) {
  *failure = FetchFailure::kConnect;
  if (pools.empty()) {
    *error = "the route has no pools";
    return nullptr;
  }
  const bool idempotent = isIdempotent(request.method);
  // Keep a small body so that it can be sent again; a larger or unsized one is streamed once.
  std::string kept;
  const bool replayable =
      !request.body || (request.contentLength >= 0 && request.contentLength <= kReplayableBody);
  if (request.body && replayable) {
    kept.resize(static_cast<std::size_t>(request.contentLength));
    request.body->read(kept.data(), request.contentLength);
    if (request.body->gcount() != request.contentLength) {
      *failure = FetchFailure::kSend;
      *error = "the client's request body ended early";
      return nullptr;
    }
  }
  OriginRequest attempt;
  attempt.method = request.method;
  attempt.target = request.target;
  attempt.headers = request.headers;
  attempt.contentLength = request.contentLength;
  std::string key = request.hashKey;
  if (key.empty()) {
    auto host = request.headers.get("Host");
    key = std::string(host ? *host : std::string_view()) + request.target;
  }

  const std::int64_t deadline = steadyMillis() + pools.front()->options().retries.deadlineMs;
  std::unique_ptr<OriginResponse> fallback;  // The last 502/503/504, answered if nothing better.
  std::string lastError;
  FetchFailure lastFailure = FetchFailure::kConnect;
  bool tried = false;
  bool mayRetry = true;
  for (int pass = 0; pass < 2 && mayRetry; ++pass) {
    if (pass == 1) {
      if (tried) break;  // The last-resort pass is for when no backend was healthy at all.
      logger().warning("event=no_healthy_backend pools=%s action=trying_unhealthy",
                       pools.front()->name());
    }
    for (OriginPool* pool : pools) {
      if (!mayRetry) break;
      std::vector<bool> used(pool->size(), false);
      for (int t = 0; t < pool->options().retries.tries && mayRetry; ++t) {
        if (tried && steadyMillis() >= deadline) {
          mayRetry = false;
          lastError += lastError.empty() ? "" : "; ";
          lastError += "retry deadline reached";
          break;
        }
        auto i = pool->pick(key, used, pass == 1);
        if (!i) break;
        used[*i] = true;
        tried = true;
        // A fresh stream over the kept body for each attempt; none without a body (constructing
        // a stream costs ~1,900 instructions of locale setup: callgrind, per 1 KiB miss).
        std::optional<std::istringstream> body;
        if (request.body && replayable) body.emplace(kept);
        attempt.body = request.body ? (replayable ? &*body : request.body) : nullptr;
        pool->attemptStarted(*i);
        const std::int64_t started = steadyMillis();
        FetchFailure f = FetchFailure::kNone;
        std::string e;
        auto response = pool->origin(*i).fetch(attempt, &f, &e);
        if (response) {
          const int status = response->status();
          const bool failed = isRetriableStatus(status);
          pool->attemptAnswered(*i, failed, static_cast<double>(steadyMillis() - started));
          auto tracked = std::make_unique<TrackedResponse>(std::move(response), pool, *i);
          if (failed && idempotent && replayable) {
            lastError =
                pool->name() + "/" + pool->backendName(*i) + " answered " + std::to_string(status);
            fallback = std::move(tracked);
            continue;
          }
          return tracked;
        }
        pool->attemptFailed(*i);
        lastFailure = f;
        lastError = pool->name() + "/" + e;
        // After the request went out, only an idempotent one with a kept body may go again.
        if (f != FetchFailure::kConnect && !(idempotent && replayable)) mayRetry = false;
      }
    }
  }
  if (fallback) return fallback;
  if (!tried) {
    std::string names;
    for (OriginPool* pool : pools) names += (names.empty() ? "" : ", ") + pool->name();
    *error = "no backend available in pools " + names + " (all draining or with weight 0)";
    return nullptr;
  }
  *failure = lastFailure;
  *error = lastError;
  return nullptr;
}

OriginRouter::OriginRouter(std::vector<std::unique_ptr<OriginPool>> pools,
                           std::vector<RouteSpec> routes)
    : pools_(std::move(pools)), routes_(std::move(routes)) {}

OriginRouter::~OriginRouter() { stopHealthChecks(); }

void OriginRouter::startHealthChecks() {
  if (checker_) return;
  std::vector<OriginPool*> pools;
  for (auto& p : pools_) pools.push_back(p.get());
  checker_ = std::make_unique<HealthChecker>(std::move(pools));
}

void OriginRouter::stopHealthChecks() { checker_.reset(); }

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

std::optional<std::size_t> OriginRouter::routeIndex(std::string_view host,
                                                    std::string_view target) const {
  const RouteSpec* r = route(host, target);
  if (!r) return std::nullopt;
  return static_cast<std::size_t>(r - routes_.data());
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
  return fetchThrough(r->pools, request, failure, error);
}

std::vector<PoolSnapshot> OriginRouter::snapshot() const {
  std::vector<PoolSnapshot> out;
  for (const auto& p : pools_) out.push_back(p->snapshot());
  return out;
}

bool OriginRouter::setDraining(std::string_view pool, std::string_view backend, bool draining,
                               std::string* error) {
  for (auto& p : pools_) {
    if (p->name() != pool) continue;
    auto i = p->find(backend);
    if (!i) {
      *error = "unknown backend '" + std::string(backend) + "' in pool '" + std::string(pool) + "'";
      return false;
    }
    p->setDraining(*i, draining);
    return true;
  }
  *error = "unknown pool '" + std::string(pool) + "'";
  return false;
}

}  // namespace strata::edge::origin
