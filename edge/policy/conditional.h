#pragma once
// Validators and conditional requests (RFC 9110 §8.8, §13) as a cache evaluates them against a
// stored response. Pure; never throws; malformed input is ignored as described per function.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/header_list.h"

namespace strata::edge::policy {

// entity-tag = [ W/ ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3). `opaque` excludes the quotes.
struct EntityTag {
  bool weak = false;
  std::string opaque;
};

// One entity-tag, OWS around it allowed; nullopt when malformed (missing quotes, a lower-case
// "w/", characters outside etagc, trailing junk).
std::optional<EntityTag> parseEntityTag(std::string_view text);

// If-Match / If-None-Match value: "*" or #entity-tag (RFC 9110 §13.1.1, §13.1.2). Malformed
// list members are skipped; commas inside a quoted opaque-tag do not split members.
struct EntityTagList {
  bool any = false;  // The field value was "*".
  std::vector<EntityTag> tags;
};
EntityTagList parseEntityTagList(std::string_view text);

// RFC 9110 §8.8.3.2: strong comparison (both strong, same opaque) and weak comparison
// (same opaque, either may be weak).
bool strongMatch(const EntityTag& a, const EntityTag& b);
bool weakMatch(const EntityTag& a, const EntityTag& b);

// The stored response's ETag (first field line that parses), if any.
std::optional<EntityTag> storedEntityTag(const http::HeaderList& headers);

enum class Precondition {
  kNone,         // No applicable precondition: answer normally.
  kNotModified,  // Answer 304 (Not Modified).
  kFailed,       // Answer 412 (Precondition Failed).
};
const char* toString(Precondition p);  // "none", "not-modified", "failed"

// Evaluates the request's preconditions against a stored response (RFC 9110 §13.2.2 order):
// If-Match → If-Unmodified-Since (only without If-Match) → If-None-Match (weak comparison;
// false → 304 for GET/HEAD, 412 otherwise) → If-Modified-Since (GET/HEAD only, only without
// If-None-Match, compared with Last-Modified or else Date). Returns kNone unless `storedStatus`
// is 2xx (§13.2.1). Invalid dates are ignored; a field whose value holds no valid entity-tag
// (and is not "*") is ignored. Method names are case-sensitive (RFC 9110 §9.1).
Precondition evaluatePreconditions(std::string_view method, const http::HeaderList& requestHeaders,
                                   int storedStatus, const http::HeaderList& storedHeaders);

// RFC 9110 §13.1.5: whether the request's Range may be honoured given If-Range. True when there
// is no If-Range. An entity-tag matches only by strong comparison (weak tags never match); an
// HTTP-date matches only when exactly equal to a strong Last-Modified (at least one second
// before the stored Date, §8.8.2.2). Anything else (invalid If-Range) → false: serve the full
// representation.
bool ifRangeAllows(const http::HeaderList& requestHeaders, const http::HeaderList& storedHeaders);

// RFC 9111 §4.3.1: the fields of a conditional request that revalidates `storedHeaders`:
// If-None-Match with the stored ETag and If-Modified-Since with the stored Last-Modified (each
// only when present and valid; values copied as received).
http::HeaderList validatorsForRevalidation(const http::HeaderList& storedHeaders);

}  // namespace strata::edge::policy
