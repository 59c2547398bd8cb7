#include "edge/policy/freshness.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/http_date.h"
#include "edge/policy/cache_control.h"
#include "edge/policy/cacheability.h"
#include "edge/policy/saturating.h"

namespace strata::edge::policy {
namespace {

constexpr std::int64_t kDeltaSecondsCap = 2147483648;  // RFC 9111 §1.2.2

// Saturating arithmetic: the inputs are stored times and may be arbitrary (fuzzed, corrupt).
std::int64_t satAdd(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return r;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 §6.6.1: Date; a missing or invalid Date is replaced by the time the response was
// received (RFC 9111 §4.2.1: "if the Date header field is not present, ... use the time at
// which the message was received").
std::int64_t dateValue(const http::HeaderList& headers, std::int64_t responseTime) {
  if (const auto date = headers.get("Date")) {
    if (const auto parsed = http::parseHttpDate(*date)) return *parsed;
  }
  return responseTime;
}

std::optional<std::int64_t> explicitLifetime(const http::HeaderList& responseHeaders,
                                             std::int64_t responseTime, const CacheControl& cc,
                                             bool targeted) {
  // RFC 9111 §4.2.1: with duplicate or invalid freshness directives a cache may consider the
  // response stale; Strata does.
  if (cc.conflictingFreshness) return 0;
  // RFC 9111 §4.2.1: a shared cache uses s-maxage first (§5.2.2.10), then max-age (§5.2.2.1).
  if (cc.sMaxAge) return *cc.sMaxAge;
  if (cc.maxAge) return *cc.maxAge;
  // RFC 9213 §2.2: with a targeted field in use, Expires is ignored along with Cache-Control.
  if (targeted) return std::nullopt;
  // RFC 9111 §4.2.1: otherwise Expires minus Date.
  const std::vector<std::string_view> expires = responseHeaders.getAll("Expires");
  if (expires.empty()) return std::nullopt;
  // RFC 9111 §4.2.1: several Expires field lines (that disagree) make the response stale.
  for (const std::string_view e : expires) {
    if (trimOws(e) != trimOws(expires.front())) return 0;
  }
  // RFC 9111 §5.3: an invalid Expires (e.g. "0") represents a time in the past: expired.
  const auto expiresAt = http::parseHttpDate(expires.front());
  if (!expiresAt) return 0;
  const std::int64_t lifetime = satSub(*expiresAt, dateValue(responseHeaders, responseTime));
  return std::max<std::int64_t>(lifetime, 0);  // Expires in the past: already stale.
}

}  // namespace

std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime) {
  const CacheControl cc = parseCacheControl(responseHeaders.combined("Cache-Control").value_or(""));
  return explicitLifetime(responseHeaders, responseTime, cc, false);
}

std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime,
                                                      const TargetedFields& targetedFields) {
  return explicitFreshnessLifetime(responseHeaders, responseTime,
                                   effectiveDirectives(responseHeaders, targetedFields));
}

std::optional<std::int64_t> explicitFreshnessLifetime(const http::HeaderList& responseHeaders,
                                                      std::int64_t responseTime,
                                                      const Directives& directives) {
  return explicitLifetime(responseHeaders, responseTime, directives.cc, directives.targeted);
}

Freshness freshnessLifetime(const http::HeaderList& responseHeaders, int status,
                            std::int64_t responseTime, const TargetedFields& targetedFields,
                            double heuristicFraction, std::int64_t heuristicCapSeconds) {
  return freshnessLifetime(responseHeaders, status, responseTime,
                           effectiveDirectives(responseHeaders, targetedFields), heuristicFraction,
                           heuristicCapSeconds);
}

Freshness freshnessLifetime(const http::HeaderList& responseHeaders, int status,
                            std::int64_t responseTime, const Directives& directives,
                            double heuristicFraction, std::int64_t heuristicCapSeconds) {
  const CacheControl& cc = directives.cc;
  const bool targeted = directives.targeted;
  // RFC 9111 §4.2.1 / RFC 9213 §2.2: explicit freshness first.
  if (const auto lifetime = explicitLifetime(responseHeaders, responseTime, cc, targeted)) {
    return Freshness{std::max<std::int64_t>(*lifetime, 0), false};
  }
  // RFC 9111 §4.2.2: heuristics only without explicit freshness, and only for heuristically
  // cacheable statuses or responses explicitly marked cacheable (`public`, §5.2.2.9).
  if (!isHeuristicallyCacheableStatus(status) && !cc.isPublic) return Freshness{};
  const auto lastModifiedText = responseHeaders.get("Last-Modified");
  if (!lastModifiedText) return Freshness{};
  const auto lastModified = http::parseHttpDate(*lastModifiedText);
  if (!lastModified) return Freshness{};
  // RFC 9111 §4.2.2: a fraction of the time since Last-Modified ("10% ... typical").
  const std::int64_t sinceModified =
      std::max<std::int64_t>(0, satSub(dateValue(responseHeaders, responseTime), *lastModified));
  double fraction = heuristicFraction;
  if (!(fraction > 0.0)) fraction = 0.0;  // Also catches NaN.
  if (fraction > 1.0) fraction = 1.0;
  const std::int64_t cap = std::max<std::int64_t>(0, heuristicCapSeconds);
  // The small epsilon keeps e.g. 1000 * 0.1 from flooring to 99 through binary rounding.
  const double scaled = static_cast<double>(sinceModified) * fraction + 1e-6;
  const std::int64_t lifetime =
      scaled >= static_cast<double>(cap) ? cap : static_cast<std::int64_t>(scaled);
  return Freshness{lifetime, true};
}

std::int64_t currentAge(const http::HeaderList& responseHeaders, std::int64_t requestTime,
                        std::int64_t responseTime, std::int64_t now) {
  // RFC 9111 §4.2.3, with date_value from Date (or response_time when absent/invalid) and
  // age_value from Age (0 when absent/invalid).
  const std::int64_t date = dateValue(responseHeaders, responseTime);
  const std::int64_t ageValue = parseAge(responseHeaders).value_or(0);
  // apparent_age = max(0, response_time - date_value)
  const std::int64_t apparentAge = std::max<std::int64_t>(0, satSub(responseTime, date));
  // response_delay = response_time - request_time (clamped at 0 against clock skew between the
  // two stored times, so a bad request_time cannot reduce the age).
  const std::int64_t responseDelay = std::max<std::int64_t>(0, satSub(responseTime, requestTime));
  // corrected_age_value = age_value + response_delay
  const std::int64_t correctedAgeValue = satAdd(ageValue, responseDelay);
  // corrected_initial_age = max(apparent_age, corrected_age_value)
  const std::int64_t correctedInitialAge = std::max(apparentAge, correctedAgeValue);
  // resident_time = now - response_time (clamped at 0 if the clock went backwards)
  const std::int64_t residentTime = std::max<std::int64_t>(0, satSub(now, responseTime));
  // current_age = corrected_initial_age + resident_time
  return std::max<std::int64_t>(0, satAdd(correctedInitialAge, residentTime));
}

std::optional<std::int64_t> parseAge(const http::HeaderList& responseHeaders) {
  // RFC 9111 §5.1: Age = delta-seconds. With several field lines, or a list in one line, use
  // the first value (RFC 9111 §4.2.1 "the first occurrence should be used"); if that one is
  // invalid the header is ignored.
  const auto first = responseHeaders.get("Age");
  if (!first) return std::nullopt;
  std::string_view v = *first;
  if (const std::size_t comma = v.find(','); comma != std::string_view::npos) {
    v = v.substr(0, comma);
  }
  v = trimOws(v);
  if (v.empty()) return std::nullopt;
  std::int64_t age = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return std::nullopt;  // Rejects "-1", "1.5", "+3", "abc".
    if (age < kDeltaSecondsCap) age = age * 10 + (c - '0');
  }
  // RFC 9111 §1.2.2: values that overflow are treated as 2^31.
  return std::min(age, kDeltaSecondsCap);
}

}  // namespace strata::edge::policy
