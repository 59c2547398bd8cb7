#pragma once
// Targeted cache-control fields (RFC 9213), e.g. CDN-Cache-Control. Pure.
//
// Contract: a targeted field is a Structured Fields Dictionary (RFC 9213 §2.1, RFC 8941 §3.2).
// The first field in `TargetedFields::names` that is present, syntactically valid and non-empty
// replaces Cache-Control (and Expires, see freshness.h) for this cache (RFC 9213 §2.2). Invalid
// or empty targeted fields are ignored as if absent. Never throws; any input is accepted.

#include <string>
#include <string_view>
#include <vector>

#include "edge/http/header_list.h"
#include "edge/policy/cache_control.h"

namespace strata::edge::policy {

// The targeted fields this cache obeys, most specific first (RFC 9213 §2.2 "target list").
// A node may put its own field first, e.g. {"Strata-Cache-Control", "CDN-Cache-Control"}.
struct TargetedFields {
  std::vector<std::string> names = {"CDN-Cache-Control"};
};

// True when `value` (all field lines combined with ", ") is a valid, non-empty sf-dictionary
// in the practical subset RFC 9213 needs (RFC 8941 §3.2): members `key[=bare-item]` separated
// by commas with optional SP/HTAB around them; key = lcalpha / "*" then lcalpha / DIGIT / "_" /
// "-" / "." / "*"; bare-item = sf-integer / sf-decimal / sf-string / sf-token / sf-boolean;
// member parameters (";key[=bare-item]") are accepted and ignored.
bool isValidSfDictionary(std::string_view value);

// The cache directives this cache obeys for a response (RFC 9213 §2.2): the first listed
// targeted field that is present and a valid non-empty dictionary, else Cache-Control.
// `*targeted` (when non-null) says whether a targeted field was used. A member with the boolean
// value false (e.g. `no-store=?0`) counts as absent; members with parameters keep their value.
// In a targeted field max-age is this cache's lifetime; s-maxage is not expected there but is
// honoured the same way as in Cache-Control (RFC 9213 §2.1).
CacheControl effectiveCacheControl(const http::HeaderList& responseHeaders,
                                   const TargetedFields& fields = TargetedFields{},
                                   bool* targeted = nullptr);

// effectiveCacheControl with its `targeted` flag, computed once and handed to the decisions
// that need it (decideStore, freshnessLifetime): a 1 KiB miss parsed the same directives five
// times, ~1,850 instructions each.
struct Directives {
  CacheControl cc;
  bool targeted = false;  // From a targeted field (RFC 9213), not Cache-Control.
};
Directives effectiveDirectives(const http::HeaderList& responseHeaders,
                               const TargetedFields& fields = TargetedFields{});

}  // namespace strata::edge::policy
