#pragma once
// What a shared cache may do with a stored response for a new request (RFC 9111 §4, §5.2;
// RFC 5861; RFC 9213). Pure: every time is an argument, nothing throws, any input is accepted.

#include <cstdint>

#include "edge/http/header_list.h"
#include "edge/policy/cache_status.h"
#include "edge/policy/targeted.h"

namespace strata::edge::policy {

struct LookupOptions {
  TargetedFields targeted;
  // Operator stale-if-error window (seconds) used when the stored response gives none.
  // Default: 0 (no grace).
  std::int64_t graceSeconds = 0;
};

enum class Lookup {
  kFresh,                 // Serve the stored response (RFC 9111 §4.2).
  kStaleAllowed,          // Stale, but the request's max-stale permits it (§5.2.1.2, §4.2.4).
  kStaleWhileRevalidate,  // Serve stale and revalidate in the background (RFC 5861 §3).
  kRevalidate,            // Send a conditional request using the stored validators (§4.3.1).
  kUnusable,              // Needs validation but has no validators: refetch unconditionally.
};
const char* toString(Lookup l);  // "fresh", "stale-allowed", "stale-while-revalidate", ...

struct LookupDecision {
  Lookup outcome = Lookup::kUnusable;
  std::int64_t age = 0;        // Current age (RFC 9111 §4.2.3).
  std::int64_t lifetime = 0;   // Freshness lifetime (RFC 9111 §4.2.1, §4.2.2, RFC 9213).
  std::int64_t ttl = 0;        // lifetime - age; negative when stale.
  bool hasValidators = false;  // The stored response has an ETag or a valid Last-Modified.
  // True when the request's own directives (no-cache, Pragma: no-cache, max-age, min-fresh)
  // are why the stored response cannot be used as is; feeds Cache-Status fwd=request.
  bool forcedByRequest = false;
};

// Decides how to use a stored response (status `storedStatus`, fields `storedHeaders`, stored at
// `responseTime` for a request sent at `requestTime`) for a request with `requestHeaders` at
// `now`. The caller has already matched the cache key and Vary. Rules, in order:
//  1. request no-cache (§5.2.1.4), or Pragma: no-cache without request Cache-Control (§5.4),
//     or response unqualified no-cache (§5.2.2.4) → validate;
//  2. request max-age=N with age > N (§5.2.1.1), request min-fresh=N with ttl < N
//     (§5.2.1.3) → validate;
//  3. fresh (lifetime > age, §4.2) → kFresh;
//  4. stale: must-revalidate, proxy-revalidate or s-maxage (§4.2.4, §5.2.2.2, §5.2.2.8,
//     §5.2.2.10) → validate; request max-stale (any, or staleness <= N) → kStaleAllowed;
//     response stale-while-revalidate=N with age < lifetime + N → kStaleWhileRevalidate;
//     otherwise validate.
// "Validate" is kRevalidate when the stored response has validators, else kUnusable.
LookupDecision decideLookup(const http::HeaderList& requestHeaders, int storedStatus,
                            const http::HeaderList& storedHeaders, std::int64_t requestTime,
                            std::int64_t responseTime, std::int64_t now,
                            const LookupOptions& options = LookupOptions{});

// Whether a stale stored response may be served because the origin failed (5xx or no answer)
// (RFC 5861 §4): yes when it is still fresh, or when its staleness (age - lifetime) is within
// the response's stale-if-error=N, the request's stale-if-error=N, or, when the response gives
// no stale-if-error, the operator's grace. Never when the response has must-revalidate,
// proxy-revalidate, s-maxage or unqualified no-cache (RFC 9111 §4.2.4 overrides RFC 5861).
bool canServeStaleOnError(const http::HeaderList& requestHeaders,
                          const http::HeaderList& storedHeaders, std::int64_t age,
                          std::int64_t lifetime, const LookupOptions& options = LookupOptions{});

// Whether a stored response can never be served again, so a background reclaimer may delete it
// (RFC 9111 §4.2.4): it is stale, has no validators to revalidate it with, and its staleness is
// beyond every window in which it could still be served stale (its stale-while-revalidate and
// stale-if-error, the operator's grace, and `extraGraceSeconds`, e.g. the unreachable-origin
// window).
bool neverReusable(int storedStatus, const http::HeaderList& storedHeaders,
                   std::int64_t requestTime, std::int64_t responseTime, std::int64_t now,
                   const LookupOptions& options, std::int64_t extraGraceSeconds);

// The Cache-Status fwd parameter (RFC 9211 §2.2) for a lookup decision: kNone when the stored
// response is served (kFresh, kStaleAllowed, kStaleWhileRevalidate), kRequest when the request
// forced the forward, else kStale.
ForwardReason forwardReason(const LookupDecision& decision);

}  // namespace strata::edge::policy
