// The other parsers of header values the node takes from clients and origins, and the policy
// functions that read whole header lists (edge/http, edge/policy):
//   HTTP dates, entity-tags and If-Match/If-None-Match lists, Range, CIDR ranges, Vary, the
//   cache key of a Host and target, freshness, Age, storability, lookup decisions,
//   preconditions, If-Range, 304 merging and invalidation; and the forwarding rules
//   (edge/pipeline/forwarding.h: hop-by-hop fields named in Connection, Via loop detection).
//
// Input: lines separated by LF; "name:value" lines before the first empty line are request
// fields, those after it response fields (a line without a colon is a field with an empty
// value). Every value is also parsed on its own by each value parser. Invariants:
//   - a parsed date formats back to an IMF-fixdate that parses to the same instant;
//   - parsed entity-tags hold only etagc characters and re-parse the same once quoted;
//   - a partial Range has 1..kMaxRanges ranges with first <= last < size;
//   - a parsed CIDR has a prefix within 0..128 and contains its own address;
//   - ages, lifetimes and ttls are consistent (saturating, never negative where stated);
//   - Vary: the signature is deterministic and absent exactly when Vary lists "*";
//   - after stripHopByHop no hop-by-hop field and no field named in Connection is left, and
//     after appendVia the node sees itself in Via.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/cidr.h"
#include "edge/http/header_list.h"
#include "edge/http/http_date.h"
#include "edge/pipeline/forwarding.h"
#include "edge/policy/cache_decision.h"
#include "edge/policy/cache_key_builder.h"
#include "edge/policy/cacheability.h"
#include "edge/policy/conditional.h"
#include "edge/policy/freshness.h"
#include "edge/policy/invalidation.h"
#include "edge/policy/range.h"
#include "edge/policy/validation.h"
#include "edge/policy/vary.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace http = strata::edge::http;
namespace policy = strata::edge::policy;
using http::HeaderList;

constexpr std::int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

void checkDate(std::string_view value) {
  const auto t = http::parseHttpDate(value, kNow);
  if (!t) return;
  // IMF-fixdate has a four-digit year: years 0001..9999.
  if (*t < -62135596800LL || *t > 253402300799LL) return;
  const std::string formatted = http::formatHttpDate(*t);
  FUZZ_CHECK(formatted.size() == 29);
  const auto again = http::parseHttpDate(formatted, kNow);
  FUZZ_CHECK(again && *again == *t);
}

bool isEtagc(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

void checkEntityTags(std::string_view value) {
  if (const auto tag = policy::parseEntityTag(value)) {
    for (unsigned char c : tag->opaque) FUZZ_CHECK(isEtagc(c));
    const std::string quoted = (tag->weak ? "W/\"" : "\"") + tag->opaque + "\"";
    const auto again = policy::parseEntityTag(quoted);
    FUZZ_CHECK(again && again->weak == tag->weak && again->opaque == tag->opaque);
    FUZZ_CHECK(policy::weakMatch(*tag, *again));
    FUZZ_CHECK(policy::strongMatch(*tag, *again) == !tag->weak);
  }
  const auto list = policy::parseEntityTagList(value);
  for (const auto& tag : list.tags) {
    for (unsigned char c : tag.opaque) FUZZ_CHECK(isEtagc(c));
  }
}

void checkRange(std::string_view value) {
  const std::uint64_t sizes[] = {0, 1, 100, 1u << 20, std::numeric_limits<std::uint64_t>::max()};
  for (const auto size : sizes) {
    const auto result = policy::evaluateRange(value, size);
    if (result.outcome != policy::RangeOutcome::kPartial) {
      FUZZ_CHECK(result.ranges.empty());
      continue;
    }
    FUZZ_CHECK(!result.ranges.empty() && result.ranges.size() <= policy::kMaxRanges);
    for (const auto& r : result.ranges) {
      FUZZ_CHECK(r.first <= r.last && r.last < size);
      FUZZ_CHECK(!policy::contentRangeValue(r, size).empty());
    }
  }
}

void checkCidr(std::string_view value) {
  const auto cidr = http::parseCidr(value);
  if (!cidr) return;
  FUZZ_CHECK(cidr->prefixBits >= 0 && cidr->prefixBits <= 128);
  const auto slash = value.find('/');
  const auto address = value.substr(0, slash);
  FUZZ_CHECK(http::inAnyCidr(address, {*cidr}));
  http::Cidr everything;
  everything.prefixBits = 0;
  FUZZ_CHECK(http::inAnyCidr(address, {everything}));
}

void checkCacheKey(std::string_view value) {
  // The value as a Host, and as a target.
  const std::string asHost = policy::buildCacheKey("http", value, "/");
  const std::string asTarget = policy::buildCacheKey("https", "example.com", value);
  FUZZ_CHECK(asHost == policy::buildCacheKey("http", value, "/"));
  FUZZ_CHECK(asTarget == policy::buildCacheKey("https", "example.com", value));
}

void checkForwarding(const HeaderList& headers) {
  HeaderList stripped = headers;
  strata::edge::pipeline::stripHopByHop(stripped);
  for (const char* name : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                           "Transfer-Encoding", "Upgrade"}) {
    FUZZ_CHECK(!stripped.has(name));
  }
  for (const auto& connection : headers.getAll("Connection")) {
    std::string_view list = connection;
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string_view token = list.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
        token.remove_prefix(1);
      }
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
        token.remove_suffix(1);
      }
      if (!token.empty()) FUZZ_CHECK(!stripped.has(token));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  HeaderList via = stripped;
  strata::edge::pipeline::appendVia(via, "edge-1");
  FUZZ_CHECK(strata::edge::pipeline::viaContains(via, "edge-1"));
  (void)strata::edge::pipeline::viaContains(headers, "edge-1");
  strata::edge::pipeline::addForwardedFor(via, "192.0.2.1", "https");
  FUZZ_CHECK(via.has("X-Forwarded-For"));
}

void checkLists(const HeaderList& request, const HeaderList& response) {
  // Vary.
  const auto signature = policy::varySignature(response, request);
  FUZZ_CHECK(signature == policy::varySignature(response, request));

  // Freshness and age at ordinary and extreme clocks.
  const std::int64_t times[][3] = {
      {kNow - 10, kNow - 5, kNow},
      {0, 0, 0},
      {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), 0},
      {std::numeric_limits<std::int64_t>::max() - 1, std::numeric_limits<std::int64_t>::max(),
       std::numeric_limits<std::int64_t>::max()}};
  const int statuses[] = {200, 206, 304, 404, 599};
  for (const auto& t : times) {
    const std::int64_t requestTime = t[0], responseTime = t[1], now = t[2];
    FUZZ_CHECK(policy::currentAge(response, requestTime, responseTime, now) >= 0);
    for (const int status : statuses) {
      const auto fresh = policy::freshnessLifetime(response, status, responseTime);
      FUZZ_CHECK(fresh.lifetime >= 0);
      policy::LookupOptions options;
      options.graceSeconds = 30;
      const auto d =
          policy::decideLookup(request, status, response, requestTime, responseTime, now, options);
      FUZZ_CHECK(d.age >= 0 && d.lifetime >= 0);
      (void)policy::forwardReason(d);
      (void)policy::canServeStaleOnError(request, response, d.age, d.lifetime, options);
      (void)policy::neverReusable(status, response, requestTime, responseTime, now, options, 60);
      const auto store = policy::decideStore("GET", request, status, response);
      if (store == policy::StoreDecision::kStore) {
        FUZZ_CHECK(status != 206 && status != 304);
        FUZZ_CHECK(signature.has_value());
      }
      (void)policy::heuristicFreshness(response, status, responseTime);
      (void)policy::evaluatePreconditions("GET", request, status, response);
      (void)policy::evaluatePreconditions("PUT", request, status, response);
    }
  }
  (void)policy::explicitFreshnessLifetime(response, kNow);
  if (const auto age = policy::parseAge(response)) FUZZ_CHECK(*age >= 0);
  (void)policy::classifyRequest("GET", request);
  (void)policy::ifRangeAllows(request, response);

  // The validators sent to revalidate are valid, and a 304 merges into the stored head.
  const HeaderList validators = policy::validatorsForRevalidation(response);
  if (const auto etag = validators.get("If-None-Match")) {
    FUZZ_CHECK(policy::parseEntityTag(*etag).has_value());
  }
  if (const auto since = validators.get("If-Modified-Since")) {
    FUZZ_CHECK(http::parseHttpDate(*since, kNow).has_value());
  }
  (void)policy::notModifiedMatchesStored(request, response);
  (void)policy::headResponseFreshens(request, response);
  const HeaderList merged = policy::mergeNotModified(response, request);
  (void)merged;
  for (const auto& key :
       policy::invalidationKeys("POST", 201, "http", "example.com", "/a", response)) {
    FUZZ_CHECK(!key.empty());
  }
  checkForwarding(request);
  checkForwarding(response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  HeaderList request;
  HeaderList response;
  HeaderList* target = &request;
  while (!input.empty()) {
    const auto eol = input.find('\n');
    const auto line = input.substr(0, eol);
    input = eol == std::string_view::npos ? std::string_view() : input.substr(eol + 1);
    if (line.empty()) {
      target = &response;
      continue;
    }
    const auto colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    checkDate(value);
    checkEntityTags(value);
    checkRange(value);
    checkCidr(value);
    checkCacheKey(value);
    target->add(std::string(name), std::string(value));
  }
  checkLists(request, response);
  return 0;
}
