#pragma once
// Freshness and age (RFC 9111 §4.2). Pure: `now` and the stored times are arguments.

#include <cstdint>
#include <optional>

#include "edge/http/header_list.h"
#include "edge/policy/targeted.h"

namespace strata::edge::policy {

// The freshness lifetime a shared cache gives a response (RFC 9111 §4.2.1): s-maxage, then
// max-age, then Expires minus Date; nullopt when the response carries no explicit freshness.
// Conflicting or invalid freshness directives and an invalid Expires give 0 (stale).
std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime);

// The current age of a stored response (RFC 9111 §4.2.3), in seconds, never negative.
std::int64_t currentAge(const http::HeaderList& responseHeaders, std::int64_t requestTime,
                        std::int64_t responseTime, std::int64_t now);

// The same, honouring targeted fields (RFC 9213 §2.2): when a targeted field applies, its
// s-maxage then max-age give the lifetime and Cache-Control and Expires are ignored.
std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime,
                                                      const TargetedFields& targeted);
// The same with the response's directives already computed (effectiveDirectives).
std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime,
                                                      const Directives& directives);

struct Freshness {
  std::int64_t lifetime = 0;  // Seconds, never negative.
  bool heuristic = false;     // True when `lifetime` comes from §4.2.2 heuristics.
};

// The freshness lifetime this shared cache uses (RFC 9111 §4.2.1, §4.2.2; RFC 9213 §2.2), in
// order: targeted field (s-maxage, max-age), Cache-Control s-maxage, max-age, Expires - Date;
// then, only when none of those is present, a heuristic of `heuristicFraction` of
// (Date - Last-Modified) capped at `heuristicCapSeconds`, for heuristically cacheable statuses
// (RFC 9110 §15.1) or responses marked `public` (RFC 9111 §4.2.2). No freshness information at
// all gives {0, false}. `responseTime` stands in for a missing/invalid Date. A fraction that is
// not in (0, 1] is clamped into [0, 1]; a negative cap counts as 0.
Freshness freshnessLifetime(const http::HeaderList& responseHeaders, int status,
                            std::int64_t responseTime,
                            const TargetedFields& targeted = TargetedFields{},
                            double heuristicFraction = 0.1,
                            std::int64_t heuristicCapSeconds = 86400);
// The same with the response's directives already computed (effectiveDirectives).
Freshness freshnessLifetime(const http::HeaderList& responseHeaders, int status,
                            std::int64_t responseTime, const Directives& directives,
                            double heuristicFraction = 0.1,
                            std::int64_t heuristicCapSeconds = 86400);

// Parses Age (RFC 9111 §5.1): the first valid non-negative integer; invalid values are ignored
// (nullopt); huge values are capped at 2147483648.
std::optional<std::int64_t> parseAge(const http::HeaderList& responseHeaders);

}  // namespace strata::edge::policy
