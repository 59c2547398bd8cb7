#pragma once
// Freshness and age (RFC 9111 §4.2). Pure: `now` and the stored times are arguments.

#include <cstdint>
#include <optional>

#include "edge/http/header_list.h"

namespace strata::edge::policy {

// The freshness lifetime a shared cache gives a response (RFC 9111 §4.2.1): s-maxage, then
// max-age, then Expires minus Date; nullopt when the response carries no explicit freshness.
// Conflicting or invalid freshness directives and an invalid Expires give 0 (stale).
std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime);

// The current age of a stored response (RFC 9111 §4.2.3), in seconds, never negative.
std::int64_t currentAge(const http::HeaderList& responseHeaders, std::int64_t requestTime,
                        std::int64_t responseTime, std::int64_t now);

// Parses Age (RFC 9111 §5.1): the first valid non-negative integer; invalid values are ignored
// (nullopt); huge values are capped at 2147483648.
std::optional<std::int64_t> parseAge(const http::HeaderList& responseHeaders);

}  // namespace strata::edge::policy
