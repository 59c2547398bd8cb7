#include "edge/policy/cache_decision.h"

#include <limits>
#include <string>
#include <string_view>

#include "edge/http/http_date.h"
#include "edge/policy/cache_control.h"
#include "edge/policy/conditional.h"
#include "edge/policy/freshness.h"
#include "edge/policy/saturating.h"

namespace strata::edge::policy {
namespace {

std::int64_t satAdd(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return r;
}

// RFC 9111 §5.4: Pragma: no-cache (a list member, case-insensitive).
bool pragmaNoCache(const http::HeaderList& headers) {
  const auto value = headers.combined("Pragma");
  if (!value) return false;
  return parseCacheControl(*value).noCache;  // Same list/token syntax; only no-cache matters.
}

bool hasValidators(const http::HeaderList& stored) {
  if (storedEntityTag(stored)) return true;
  if (const auto lm = stored.get("Last-Modified")) return http::parseHttpDate(*lm).has_value();
  return false;
}

// RFC 9111 §4.2.4: "A cache MUST NOT generate a stale response if it is prohibited by an
// explicit in-protocol directive": must-revalidate (§5.2.2.2), proxy-revalidate (§5.2.2.8),
// s-maxage (§5.2.2.10, implies proxy-revalidate for a shared cache).
bool staleForbidden(const CacheControl& response) {
  return response.mustRevalidate || response.proxyRevalidate || response.sMaxAge.has_value();
}

}  // namespace

const char* toString(Lookup l) {
  switch (l) {
    case Lookup::kFresh:
      return "fresh";
    case Lookup::kStaleAllowed:
      return "stale-allowed";
    case Lookup::kStaleWhileRevalidate:
      return "stale-while-revalidate";
    case Lookup::kRevalidate:
      return "revalidate";
    case Lookup::kUnusable:
      return "unusable";
  }
  return "unknown";
}

LookupDecision decideLookup(const http::HeaderList& requestHeaders, int storedStatus,
                            const http::HeaderList& storedHeaders, std::int64_t requestTime,
                            std::int64_t responseTime, std::int64_t now,
                            const LookupOptions& options) {
  LookupDecision d;
  // RFC 9213 §2.2: a valid targeted field replaces Cache-Control for this cache. Parsed once for
  // the lifetime and the directives below.
  const Directives directives = effectiveDirectives(storedHeaders, options.targeted);
  const CacheControl& response = directives.cc;
  d.lifetime = freshnessLifetime(storedHeaders, storedStatus, responseTime, directives).lifetime;
  d.age = currentAge(storedHeaders, requestTime, responseTime, now);
  d.ttl = satSub(d.lifetime, d.age);
  d.hasValidators = hasValidators(storedHeaders);
  const Lookup validate = d.hasValidators ? Lookup::kRevalidate : Lookup::kUnusable;

  const auto requestCcText = requestHeaders.combined("Cache-Control");
  const CacheControl request = parseCacheControl(requestCcText.value_or(""));

  // RFC 9111 §5.2.1.4: request no-cache: do not use a stored response without validating it.
  // RFC 9111 §5.4: Pragma: no-cache counts only when the request has no Cache-Control.
  if (request.noCache || (!requestCcText && pragmaNoCache(requestHeaders))) {
    d.outcome = validate;
    d.forcedByRequest = true;
    return d;
  }
  // RFC 9111 §5.2.2.4: unqualified response no-cache: always validate before reuse. (The
  // qualified form only requires stripping the named fields, which happens before storing.)
  if (response.noCache) {
    d.outcome = validate;
    return d;
  }
  // RFC 9111 §5.2.1.1: request max-age: the age must not exceed N (max-stale cannot relax it).
  if (request.maxAge && d.age > *request.maxAge) {
    d.outcome = validate;
    d.forcedByRequest = true;
    return d;
  }
  // RFC 9111 §5.2.1.3: request min-fresh: the response must stay fresh for at least N more.
  if (request.minFresh && d.ttl < *request.minFresh) {
    d.outcome = validate;
    d.forcedByRequest = true;
    return d;
  }
  // RFC 9111 §4.2: fresh when freshness_lifetime > current_age.
  if (d.ttl > 0) {
    d.outcome = Lookup::kFresh;
    return d;
  }
  // Stale from here on. RFC 9111 §4.2.4: directives that forbid serving it stale.
  if (staleForbidden(response)) {
    d.outcome = validate;
    return d;
  }
  // RFC 9111 §5.2.1.2: request max-stale (no value: any staleness; else staleness <= N).
  const std::int64_t staleness = satSub(d.age, d.lifetime);
  if (request.maxStale && (!request.maxStaleSeconds || staleness <= *request.maxStaleSeconds)) {
    d.outcome = Lookup::kStaleAllowed;
    return d;
  }
  // RFC 5861 §3: stale-while-revalidate=N: serve stale while age < lifetime + N.
  if (response.staleWhileRevalidate && d.age < satAdd(d.lifetime, *response.staleWhileRevalidate)) {
    d.outcome = Lookup::kStaleWhileRevalidate;
    return d;
  }
  d.outcome = validate;
  return d;
}

bool canServeStaleOnError(const http::HeaderList& requestHeaders,
                          const http::HeaderList& storedHeaders, std::int64_t age,
                          std::int64_t lifetime, const LookupOptions& options) {
  const CacheControl response = effectiveCacheControl(storedHeaders, options.targeted);
  // RFC 9111 §4.2.4 (which names no-cache, must-revalidate, s-maxage and proxy-revalidate)
  // wins over RFC 5861 §4: those responses are never served stale, not even on error.
  if (staleForbidden(response) || response.noCache) return false;
  const std::int64_t staleness = satSub(age, lifetime);
  if (staleness < 0) return true;  // Still fresh (RFC 9111 §4.2).
  // RFC 5861 §4: stale-if-error=N in the response or in the request permits serving a
  // response up to N seconds stale when the origin errs.
  if (response.staleIfError && staleness <= *response.staleIfError) return true;
  const CacheControl request =
      parseCacheControl(requestHeaders.combined("Cache-Control").value_or(""));
  if (request.staleIfError && staleness <= *request.staleIfError) return true;
  // Operator grace, only when the response states no stale-if-error of its own.
  return !response.staleIfError && options.graceSeconds > 0 && staleness <= options.graceSeconds;
}

ForwardReason forwardReason(const LookupDecision& decision) {
  switch (decision.outcome) {
    case Lookup::kFresh:
    case Lookup::kStaleAllowed:
    case Lookup::kStaleWhileRevalidate:
      return ForwardReason::kNone;  // Served from cache (RFC 9211 §2.1 hit).
    case Lookup::kRevalidate:
    case Lookup::kUnusable:
      // RFC 9211 §2.2: "request" when the request's directives prevented use, else "stale".
      return decision.forcedByRequest ? ForwardReason::kRequest : ForwardReason::kStale;
  }
  return ForwardReason::kStale;
}

bool neverReusable(int storedStatus, const http::HeaderList& storedHeaders,
                   std::int64_t requestTime, std::int64_t responseTime, std::int64_t now,
                   const LookupOptions& options, std::int64_t extraGraceSeconds) {
  const std::int64_t lifetime =
      freshnessLifetime(storedHeaders, storedStatus, responseTime, options.targeted).lifetime;
  const std::int64_t age = currentAge(storedHeaders, requestTime, responseTime, now);
  if (age < lifetime) return false;                // Still fresh (§4.2).
  if (hasValidators(storedHeaders)) return false;  // Revalidatable (§4.3.1).
  const CacheControl cc = effectiveCacheControl(storedHeaders, options.targeted);
  std::int64_t window = std::max(options.graceSeconds, extraGraceSeconds);
  window = std::max(window, cc.staleWhileRevalidate.value_or(0));  // RFC 5861 §3
  window = std::max(window, cc.staleIfError.value_or(0));          // RFC 5861 §4
  return age - lifetime > window;
}

}  // namespace strata::edge::policy
