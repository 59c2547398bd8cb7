#pragma once
// The edge guard: every protection a route asks for, checked once per request before the cache
// or an origin sees it (issue 9). Order: access list (403), rate limit (429 + Retry-After),
// HTTPS redirect (301/308), signed URL (403), JWT bearer (401, or 403 for a wrong audience).
//
// An admitted request may come back rewritten: a signed URL's `expires` and `signature` are
// dropped from the target (one cache entry for every holder of a valid link), and a validated
// bearer token's Authorization field is dropped unless the route forwards it (so the content can
// be cached; RFC 9111 §3.5 forbids sharing responses to requests that carry it).
//
// Thread-safety: check() may be called concurrently (rate limiters lock per shard; the rest is
// immutable after construction).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/security/access.h"
#include "edge/security/jwt_verifier.h"
#include "edge/security/rate_limiter.h"

namespace strata::edge::security {

struct RoutePolicy {
  AccessList access;
  enum class Rate { kNodeWide, kOff, kOwn };
  Rate rate = Rate::kNodeWide;  // kOwn: `ownRate`, with buckets of its own.
  RateLimit ownRate;
  bool signedUrls = false;
  bool jwt = false;
  JwtExpectations jwtExpect;
  bool forwardAuthorization = false;
  bool httpsRedirect = false;
  int httpsPort = 443;
  std::string hsts;  // The Strict-Transport-Security value for https responses; "" none.
};

struct GuardOptions {
  std::optional<RateLimit> rateLimit;  // Node-wide, per client address; nullopt: none.
  std::size_t rateCapacity = 65536;    // Clients tracked per limiter.
  std::vector<std::string> signingKeys;
  std::vector<RoutePolicy> routes;  // By route position (the origin router's order).
};

// What the guard needs to know about a request.
struct RequestFacts {
  std::string_view method;
  std::string_view scheme;  // "http" or "https"
  std::string_view host;    // Host field, with any port.
  std::string_view target;  // Origin-form path and query.
  std::string_view clientAddress;
  std::optional<std::string_view> authorization;
};

struct Verdict {
  int status = 0;  // 0: admitted; otherwise the refusal's status.
  std::string reason;
  std::string message;  // For the error page; never names backends.
  std::string detail;   // Cache-Status detail: "forbidden", "rate-limited", ...
  std::vector<std::pair<std::string, std::string>> headers;  // Retry-After, Location, ...
  std::optional<std::string> target;  // Admitted with this target in place of the request's.
  bool stripAuthorization = false;    // Admitted without the Authorization field.
  std::string hsts;                   // Strict-Transport-Security to add ("" none).
  bool admitted() const { return status == 0; }
};

// "https://HOST[:PORT]TARGET" for a redirect: HOST is the Host field without its port; PORT is
// left out when 443. Pure.
std::string httpsLocation(std::string_view host, std::string_view target, int httpsPort);

// The target used to pick a request's route for protection: percent-encoded unreserved
// characters and "/" decoded (RFC 3986 §6.2.2.2), dot segments removed (§5.2.4) and repeated "/"
// merged, so "/%70rivate/x", "//private/x" and "/a/../private/x" all meet the policy of the
// "/private/" route whatever the origin makes of them. The query is kept as is. Pure.
std::string routingTarget(std::string_view target);

// "max-age=N[; includeSubDomains][; preload]" (RFC 6797 §6.1). Pure.
std::string hstsValue(std::int64_t maxAgeSeconds, bool includeSubdomains, bool preload);

class Guard {
 public:
  using MillisClock = std::function<std::int64_t()>;  // For rate limits.
  using Clock = std::function<std::int64_t()>;        // Unix seconds, for expiries.

  // `jwt` may be nullptr when no route asks for JWT.
  Guard(GuardOptions options, std::unique_ptr<JwtVerifier> jwt, Clock clock,
        MillisClock millisClock);
  ~Guard();

  // `route`: the request's route position; nullopt when no route matches (only the node-wide
  // rate limit applies).
  Verdict check(const RequestFacts& request, std::optional<std::size_t> route) const;

  // Clients tracked by the node-wide limiter (0 when none).
  std::size_t trackedClients() const;

 private:
  GuardOptions options_;
  std::unique_ptr<JwtVerifier> jwt_;
  Clock clock_;
  std::unique_ptr<RateLimiter> nodeLimiter_;
  std::vector<std::unique_ptr<RateLimiter>> routeLimiters_;  // By route; nullptr when not kOwn.
};

}  // namespace strata::edge::security
