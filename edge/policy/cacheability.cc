#include "edge/policy/cacheability.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "edge/http/http_date.h"
#include "edge/policy/cache_control.h"
#include "edge/policy/conditional.h"
#include "edge/policy/freshness.h"
#include "edge/policy/saturating.h"

namespace strata::edge::policy {
namespace {

constexpr std::int64_t kMaxHeuristicLifetime = 86400;  // One day (RFC 9111 §4.2.2 note).

CacheControl cacheControlOf(const http::HeaderList& headers) {
  return parseCacheControl(headers.combined("Cache-Control").value_or(""));
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §12.5.5: Vary = #( "*" / field-name ). True when any list member is "*".
bool varyHasStar(const http::HeaderList& headers) {
  for (const std::string_view line : headers.getAll("Vary")) {
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) comma = line.size();
      if (trimOws(line.substr(start, comma - start)) == "*") return true;
      start = comma + 1;
    }
  }
  return false;
}

}  // namespace

const char* toString(RequestDisposition d) {
  switch (d) {
    case RequestDisposition::kLookup:
      return "lookup";
    case RequestDisposition::kBypass:
      return "bypass";
  }
  return "unknown";
}

const char* toString(StoreDecision d) {
  switch (d) {
    case StoreDecision::kStore:
      return "store";
    case StoreDecision::kMethodNotCacheable:
      return "method-not-cacheable";
    case StoreDecision::kStatusNotCacheable:
      return "status-not-cacheable";
    case StoreDecision::kNoStore:
      return "no-store";
    case StoreDecision::kPrivate:
      return "private";
    case StoreDecision::kAuthorization:
      return "authorization";
    case StoreDecision::kNoExplicitFreshness:
      return "no-explicit-freshness";
    case StoreDecision::kVaryStar:
      return "vary-star";
  }
  return "unknown";
}

RequestDisposition classifyRequest(std::string_view method,
                                   const http::HeaderList& requestHeaders) {
  // RFC 9110 §9.1: method names are case-sensitive, so "get" is not GET.
  // RFC 9111 §2: only responses to GET (and HEAD, answered from a stored GET) are looked up.
  if (method != "GET" && method != "HEAD") return RequestDisposition::kBypass;
  // RFC 9111 §5.2.1.5: request no-store; Strata bypasses the cache entirely for it.
  if (cacheControlOf(requestHeaders).noStore) return RequestDisposition::kBypass;
  return RequestDisposition::kLookup;
}

bool isUnderstoodStatus(int status) {
  // RFC 9110 §15: the final status codes it defines. 1xx are not final (RFC 9111 §3); 206 and
  // 304 need range/validation handling this version lacks (RFC 9111 §3, §3.3, §4.3.4).
  switch (status) {
    case 200:
    case 201:
    case 202:
    case 203:
    case 204:
    case 205:
    case 300:
    case 301:
    case 302:
    case 303:
    case 305:
    case 307:
    case 308:
    case 400:
    case 401:
    case 402:
    case 403:
    case 404:
    case 405:
    case 406:
    case 407:
    case 408:
    case 409:
    case 410:
    case 411:
    case 412:
    case 413:
    case 414:
    case 415:
    case 416:
    case 417:
    case 421:
    case 422:
    case 426:
    case 500:
    case 501:
    case 502:
    case 503:
    case 504:
    case 505:
      return true;
    default:
      return false;
  }
}

bool isHeuristicallyCacheableStatus(int status) {
  // RFC 9110 §15.1 (minus 206, see the header).
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

StoreDecision decideStore(std::string_view requestMethod, const http::HeaderList& requestHeaders,
                          int status, const http::HeaderList& responseHeaders,
                          const TargetedFields& targeted) {
  return decideStore(requestMethod, requestHeaders, status, responseHeaders,
                     effectiveDirectives(responseHeaders, targeted));
}

StoreDecision decideStore(std::string_view requestMethod, const http::HeaderList& requestHeaders,
                          int status, const http::HeaderList& responseHeaders,
                          const Directives& response) {
  // RFC 9111 §3: "the request method is understood by the cache"; Strata stores GET only
  // (method names are case-sensitive, RFC 9110 §9.1).
  if (requestMethod != "GET") return StoreDecision::kMethodNotCacheable;
  // RFC 9111 §3: the status code is final; a cache must understand it only for 206 and 304
  // (which Strata does not store) or under must-understand (checked below). An unknown final
  // status (e.g. 299, 599) with explicit freshness may be stored.
  if (status < 200 || status > 599 || status == 206 || status == 304) {
    return StoreDecision::kStatusNotCacheable;
  }

  const CacheControl requestCc = cacheControlOf(requestHeaders);
  // RFC 9213 §2.2: a valid targeted field replaces Cache-Control for this cache.
  const CacheControl& responseCc = response.cc;

  // RFC 9111 §3, §5.2.1.5: no-store in the request forbids storing the response.
  if (requestCc.noStore) return StoreDecision::kNoStore;
  // RFC 9111 §5.2.2.5: response no-store forbids storing, except that RFC 9111 §5.2.2.3 says a
  // cache that understands the status code ignores no-store when must-understand is present
  // (the status is already known to be understood here).
  if (responseCc.noStore && !responseCc.mustUnderstand) return StoreDecision::kNoStore;
  // RFC 9111 §5.2.2.3: with must-understand, only responses whose status is understood.
  if (responseCc.mustUnderstand && !isUnderstoodStatus(status)) {
    return StoreDecision::kStatusNotCacheable;
  }
  // RFC 9111 §5.2.2.7: unqualified private forbids a shared cache from storing. The qualified
  // form (private="set-cookie") is allowed: storing then requires stripping the listed fields
  // from the stored response (the store step must do that; see CacheControl::privateFields).
  if (responseCc.isPrivate) return StoreDecision::kPrivate;
  // RFC 9111 §3.5: with Authorization in the request, a shared cache stores the response only
  // if it has public, s-maxage or must-revalidate.
  if (requestHeaders.has("Authorization") && !responseCc.isPublic && !responseCc.sMaxAge &&
      !responseCc.mustRevalidate) {
    return StoreDecision::kAuthorization;
  }
  // RFC 9111 §4.1: Vary "*" always fails to match; storing would be useless.
  if (varyHasStar(responseHeaders)) return StoreDecision::kVaryStar;
  // RFC 9111 §3: explicit freshness (max-age, s-maxage, Expires, or a targeted field) allows
  // storing. Invalid/conflicting values still count (they mean "stale", storable for
  // revalidation).
  if (explicitFreshnessLifetime(responseHeaders, 0, response)) return StoreDecision::kStore;
  // RFC 9111 §3: without explicit freshness, only heuristically cacheable statuses or `public`
  // responses may be stored.
  if (!isHeuristicallyCacheableStatus(status) && !responseCc.isPublic) {
    return StoreDecision::kNoExplicitFreshness;
  }
  // RFC 9111 §4.2.2: a heuristic lifetime makes the response reusable ...
  if (freshnessLifetime(responseHeaders, status, 0, response).heuristic) {
    return StoreDecision::kStore;
  }
  // ... and so does a validator (RFC 9111 §4.3.1): the stale entry can be revalidated. This
  // covers response no-cache with validators too (§5.2.2.4: reuse after validation).
  const auto lastModified = responseHeaders.get("Last-Modified");
  const bool hasLastModified = lastModified && http::parseHttpDate(*lastModified);
  if (!storedEntityTag(responseHeaders) && !hasLastModified) {
    return StoreDecision::kNoExplicitFreshness;
  }
  return StoreDecision::kStore;
}

std::vector<std::string> fieldsToStrip(const CacheControl& cc) {
  // RFC 9111 §5.2.2.4 (no-cache="…") and §5.2.2.7 (private="…"): a shared cache MUST NOT
  // send/store the listed fields without revalidation; Strata strips them before storing.
  std::vector<std::string> out;
  for (const auto* list : {&cc.privateFields, &cc.noCacheFields}) {
    for (const std::string& name : *list) {
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  return out;
}

std::optional<std::int64_t> heuristicFreshness(const http::HeaderList& responseHeaders, int status,
                                               std::int64_t responseTime) {
  // RFC 9111 §4.2.2: heuristics only for heuristically cacheable statuses (RFC 9110 §15.1) and
  // never when explicit freshness is present.
  if (!isHeuristicallyCacheableStatus(status)) return std::nullopt;
  if (explicitFreshnessLifetime(responseHeaders, responseTime)) return std::nullopt;
  const auto lastModifiedText = responseHeaders.get("Last-Modified");
  if (!lastModifiedText) return std::nullopt;
  const auto lastModified = http::parseHttpDate(*lastModifiedText);
  if (!lastModified) return std::nullopt;
  std::int64_t date = responseTime;  // RFC 9111 §4.2.1: missing Date -> time received.
  if (const auto dateText = responseHeaders.get("Date")) {
    if (const auto parsed = http::parseHttpDate(*dateText)) date = *parsed;
  }
  // RFC 9111 §4.2.2: "a typical setting of this fraction might be 10%" of the time since
  // Last-Modified; capped at one day (a common upper bound, e.g. RFC 7234's 24h warning).
  const std::int64_t sinceModified = std::max<std::int64_t>(0, satSub(date, *lastModified));
  return std::min(sinceModified / 10, kMaxHeuristicLifetime);
}

}  // namespace strata::edge::policy
