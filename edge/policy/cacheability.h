#pragma once
// Whether a request may be answered from cache and whether a response may be stored
// (RFC 9111 §3, §5.2). Pure. Every outcome is a named enum that prints.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/header_list.h"
#include "edge/policy/cache_control.h"
#include "edge/policy/targeted.h"

namespace strata::edge::policy {

enum class RequestDisposition {
  kLookup,  // GET or HEAD that may be answered from cache.
  kBypass,  // Method or directives (no-store) rule out the cache; forward it.
};
const char* toString(RequestDisposition d);

// RFC 9111 §2, §5.2.1.5: only GET/HEAD are looked up; request no-store bypasses.
RequestDisposition classifyRequest(std::string_view method, const http::HeaderList& requestHeaders);

enum class StoreDecision {
  kStore,
  kMethodNotCacheable,   // Only GET responses are stored (§3).
  kStatusNotCacheable,   // 1xx, 206, 304 and statuses that are not final/understood (§3).
  kNoStore,              // no-store in request or response (§5.2.1.5, §5.2.2.5).
  kPrivate,              // Unqualified private in a shared cache (§5.2.2.7).
  kAuthorization,        // Request had Authorization and the response does not allow it (§3.5).
  kNoExplicitFreshness,  // Nothing makes it reusable: no explicit or heuristic freshness and
                         // no validator on a storable status (§3, §4.2.2, §4.3).
  kVaryStar,             // Vary: * can never be matched (§4.1).
};
const char* toString(StoreDecision d);

// Decides whether a shared cache may store this response to this request. Response directives
// come from effectiveCacheControl (a valid targeted field replaces Cache-Control, RFC 9213
// §2.2). Stored when, besides the prohibitions above, something makes the response reusable:
// explicit freshness (including targeted, invalid or conflicting values, which mean stale), a
// heuristic lifetime (§4.2.2: Last-Modified on a heuristically cacheable status or with
// `public`), or a validator (ETag, Last-Modified) on a response RFC 9111 §3 lets us store
// without explicit freshness (heuristically cacheable status or `public`), since a stale entry
// with validators can be revalidated (§4.3). The stored response may then have lifetime 0.
StoreDecision decideStore(std::string_view requestMethod, const http::HeaderList& requestHeaders,
                          int status, const http::HeaderList& responseHeaders,
                          const TargetedFields& targeted = TargetedFields{});
// The same with the response's directives already computed (effectiveDirectives).
StoreDecision decideStore(std::string_view requestMethod, const http::HeaderList& requestHeaders,
                          int status, const http::HeaderList& responseHeaders,
                          const Directives& response);

// RFC 9111 §5.2.2.4, §5.2.2.7: the field names (lower-case, no duplicates) named by
// no-cache="…" and private="…", which a shared cache removes before storing the response.
std::vector<std::string> fieldsToStrip(const CacheControl& responseCacheControl);

// A final status code defined by RFC 9110 that this cache understands (RFC 9111 §3). 206 and
// 304 are excluded: this version neither stores partial content nor stores 304s.
bool isUnderstoodStatus(int status);
// Heuristically cacheable by default (RFC 9110 §15.1): 200, 203, 204, 300, 301, 308, 404, 405,
// 410, 414, 501 (206 is too, but partial content is not stored in this version).
bool isHeuristicallyCacheableStatus(int status);

// Heuristic freshness lifetime (RFC 9111 §4.2.2), for later use: 10% of (Date - Last-Modified),
// capped at one day. nullopt unless the status is heuristically cacheable, Last-Modified is
// valid and the response has no explicit freshness (heuristics MUST NOT be used then). A
// missing/invalid Date is replaced by `responseTime`.
std::optional<std::int64_t> heuristicFreshness(const http::HeaderList& responseHeaders, int status,
                                               std::int64_t responseTime);

}  // namespace strata::edge::policy
