#pragma once
// Whether a request may be answered from cache and whether a response may be stored
// (RFC 9111 §3, §5.2). Pure. Every outcome is a named enum that prints.

#include <cstdint>
#include <optional>
#include <string_view>

#include "edge/http/header_list.h"

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
  kNoExplicitFreshness,  // No max-age/s-maxage/Expires (heuristics come later).
  kVaryStar,             // Vary: * can never be matched (§4.1).
};
const char* toString(StoreDecision d);

// Decides whether a shared cache may store this response to this request.
StoreDecision decideStore(std::string_view requestMethod, const http::HeaderList& requestHeaders,
                          int status, const http::HeaderList& responseHeaders);

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
