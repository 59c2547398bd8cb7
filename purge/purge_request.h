#pragma once
// Purge requests: the pure parser of the admin API's `POST /api/purge` body, the normalization of
// purge URLs to cache keys, and the extraction of purge tags from origin response headers.
//
// Everything here is pure: no I/O, no global state, no exception escapes (every function is
// noexcept in effect; allocation failure is reported as a 400 by the parser). Safe to call
// concurrently and on hostile input (fuzzed): the body size is checked before parsing and the
// JSON nesting depth is bounded.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::purge {

// A validated purge. `urls` and `prefixes` hold cache keys (see purgeKeyForUrl), not the URLs as
// sent; all three lists are free of duplicates and keep the order of first appearance.
// Either `all` is true and the lists are empty, or at least one list is non-empty.
struct PurgeRequest {
  std::vector<std::string> urls;      // Exact base keys: every Vary variant of each URL.
  std::vector<std::string> prefixes;  // Key prefixes.
  std::vector<std::string> tags;      // Surrogate keys / cache tags (case-sensitive).
  bool all = false;                   // Everything in the cache.
  bool soft = false;                  // Mark stale (revalidate on next request) instead of remove.
};

struct PurgeLimits {
  std::size_t maxBodyBytes = 1 << 20;  // Default: 1 MiB. Larger bodies: 413.
  std::size_t maxItems = 1000;         // Default: 1000, summed over urls, prefixes and tags.
  std::size_t maxItemBytes = 8192;     // Default: 8 KiB per URL or prefix (tags: kMaxTagBytes).
  // Host names (without port, compared case-insensitively) that URLs and prefixes may name.
  // Default: empty, any host.
  std::vector<std::string> allowedHosts;
};

// Exactly one of: `request` set and httpStatus == 200 and error empty; or `request` empty,
// httpStatus 400 or 413 and error a short one-line reason (printable ASCII, no quotes from the
// body beyond a bounded excerpt), suitable for `{"error": "..."}`.
struct PurgeParseResult {
  std::optional<PurgeRequest> request;
  int httpStatus = 400;
  std::string error;
};

// The longest tag accepted (bytes).
inline constexpr std::size_t kMaxTagBytes = 256;

// Parses and validates a purge body: {"urls": [...], "prefixes": [...], "tags": [...],
// "all": false, "soft": false}; every field is optional. Status 413 when the body exceeds
// limits.maxBodyBytes; 400 for invalid JSON, a top level that is not an object, unknown or
// duplicate fields, wrong types (lists of strings, booleans; null is a wrong type), empty
// strings, too many items, invalid URLs or tags, a host not in limits.allowedHosts, nothing to
// purge, or all=true together with a non-empty list (ambiguous).
PurgeParseResult parsePurgeRequest(std::string_view body, const PurgeLimits& limits);

// The cache key the node uses for `url`: "SCHEME://HOST[:PORT]PATH[?QUERY]" with scheme and host
// lower-cased, the default port (80 for http, 443 for https) and an empty port dropped, an empty
// path turned into "/", the path and query kept byte for byte and the fragment removed. Identical
// to edge/policy/cache_key_builder.h's buildCacheKey for the request that fetches `url`.
// nullopt unless `url` is an absolute http:// or https:// URL with a non-empty host, no user
// info, a numeric port (if any) and only visible ASCII characters.
std::optional<std::string> purgeKeyForUrl(std::string_view url);

// The host name of a key returned by purgeKeyForUrl (lower-case, without port); empty if `key` is
// not such a key.
std::string_view hostOfPurgeKey(std::string_view key);

// True when `tag` is a valid purge tag: 1 to kMaxTagBytes bytes, no whitespace, commas or
// control characters.
bool isValidTag(std::string_view tag);

// The purge tags of a response: every `Surrogate-Key` header split on whitespace and every
// `Cache-Tag` header split on commas (names case-insensitive), each token trimmed, invalid tokens
// dropped, duplicates removed (case-sensitive), in order of first appearance.
std::vector<std::string> tagsFromHeaders(
    const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace strata::purge
