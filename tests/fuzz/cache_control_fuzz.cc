// Cache-Control (edge/policy/cache_control.h) and the RFC 9213 targeted fields
// (edge/policy/targeted.h: the Structured Fields dictionary check and the choice between
// CDN-Cache-Control and Cache-Control), fed origin and client header values. Invariants:
//   - delta-seconds are within [0, 2^31] (RFC 9111 §1.2.2 caps them);
//   - the field names of no-cache="..." and private="..." are lower-case, trimmed, one per item;
//   - a valid sf-dictionary given as the targeted field is used instead of Cache-Control, an
//     invalid one is ignored, and the choice never depends on anything but validity;
//   - parsing is deterministic.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "edge/http/header_list.h"
#include "edge/policy/cache_control.h"
#include "edge/policy/cacheability.h"
#include "edge/policy/targeted.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using strata::edge::http::HeaderList;
using strata::edge::policy::CacheControl;

void checkDelta(const std::optional<std::int64_t>& v) {
  if (v) FUZZ_CHECK(*v >= 0 && *v <= 2147483648LL);
}

// Names are not checked to be tokens: a name no field can have is harmless (nothing matches it).
void checkFields(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(name.find(',') == std::string::npos);
    FUZZ_CHECK(name.front() != ' ' && name.back() != ' ');
    for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }
}

bool same(const CacheControl& a, const CacheControl& b) {
  return a.noStore == b.noStore && a.noCache == b.noCache && a.noCacheFields == b.noCacheFields &&
         a.isPrivate == b.isPrivate && a.privateFields == b.privateFields &&
         a.isPublic == b.isPublic && a.mustRevalidate == b.mustRevalidate &&
         a.proxyRevalidate == b.proxyRevalidate && a.mustUnderstand == b.mustUnderstand &&
         a.noTransform == b.noTransform && a.immutable == b.immutable &&
         a.onlyIfCached == b.onlyIfCached && a.maxAge == b.maxAge && a.sMaxAge == b.sMaxAge &&
         a.staleWhileRevalidate == b.staleWhileRevalidate && a.staleIfError == b.staleIfError &&
         a.maxStale == b.maxStale && a.maxStaleSeconds == b.maxStaleSeconds &&
         a.minFresh == b.minFresh && a.conflictingFreshness == b.conflictingFreshness;
}

void check(const CacheControl& cc) {
  checkDelta(cc.maxAge);
  checkDelta(cc.sMaxAge);
  checkDelta(cc.staleWhileRevalidate);
  checkDelta(cc.staleIfError);
  checkDelta(cc.maxStaleSeconds);
  checkDelta(cc.minFresh);
  if (cc.maxStaleSeconds) FUZZ_CHECK(cc.maxStale);
  checkFields(cc.noCacheFields);
  checkFields(cc.privateFields);
  for (const auto& name : strata::edge::policy::fieldsToStrip(cc)) FUZZ_CHECK(!name.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string value(reinterpret_cast<const char*>(data), size);

  const CacheControl cc = strata::edge::policy::parseCacheControl(value);
  check(cc);
  FUZZ_CHECK(same(cc, strata::edge::policy::parseCacheControl(value)));

  // The same value as a targeted field, in front of a Cache-Control that says otherwise.
  const bool valid = strata::edge::policy::isValidSfDictionary(value);
  FUZZ_CHECK(valid == strata::edge::policy::isValidSfDictionary(value));
  if (valid) FUZZ_CHECK(!value.empty());
  const strata::edge::policy::TargetedFields fields{{"Strata-Cache-Control", "CDN-Cache-Control"}};
  HeaderList headers;
  headers.add("Cache-Control", "no-store, max-age=7");
  headers.add("CDN-Cache-Control", value);
  bool targeted = false;
  const CacheControl effective =
      strata::edge::policy::effectiveCacheControl(headers, fields, &targeted);
  check(effective);
  FUZZ_CHECK(targeted == valid);
  if (!targeted) FUZZ_CHECK(effective.noStore && effective.maxAge == 7);

  // The node's own field wins over CDN-Cache-Control when valid.
  HeaderList own;
  own.add("CDN-Cache-Control", "max-age=5");
  own.add("strata-cache-control", value);
  const CacheControl mine = strata::edge::policy::effectiveCacheControl(own, fields, &targeted);
  check(mine);
  FUZZ_CHECK(targeted);
  if (!valid) FUZZ_CHECK(mine.maxAge == 5);
  return 0;
}
