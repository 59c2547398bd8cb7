#pragma once
// Cache-Control parsing (RFC 9111 §5.2). Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::edge::policy {

struct CacheControl {
  // Response and request directives (RFC 9111 §5.2.1, §5.2.2). Delta-seconds values that are
  // invalid (not digits) make the directive count as present-but-invalid (see `invalid`).
  bool noStore = false;
  bool noCache = false;                    // Unqualified no-cache.
  std::vector<std::string> noCacheFields;  // no-cache="a, b" (lower-cased field names).
  bool isPrivate = false;                  // Unqualified private.
  std::vector<std::string> privateFields;  // private="a, b" (lower-cased field names).
  bool isPublic = false;
  bool mustRevalidate = false;
  bool proxyRevalidate = false;
  bool mustUnderstand = false;
  bool noTransform = false;
  bool immutable = false;
  bool onlyIfCached = false;
  std::optional<std::int64_t> maxAge;
  std::optional<std::int64_t> sMaxAge;
  std::optional<std::int64_t> staleWhileRevalidate;  // RFC 5861
  std::optional<std::int64_t> staleIfError;          // RFC 5861
  bool maxStale = false;                             // max-stale present.
  std::optional<std::int64_t> maxStaleSeconds;       // max-stale=N (absent value: any staleness).
  std::optional<std::int64_t> minFresh;
  // True when a freshness directive (max-age, s-maxage) appeared more than once with different
  // values or with an invalid value; RFC 9111 §4.2.1 then lets a cache treat the response as
  // stale, which is what Strata does.
  bool conflictingFreshness = false;
};

// Parses a combined Cache-Control value (all field lines joined with ", "). Directive names are
// case-insensitive; unknown directives are ignored; quoted-string values are unquoted.
// Delta-seconds larger than 2^31 are capped at 2147483648 (RFC 9111 §1.2.2).
CacheControl parseCacheControl(std::string_view value);

}  // namespace strata::edge::policy
