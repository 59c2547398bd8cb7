#pragma once
// Builds the cache key text for a request: "SCHEME://HOST[:PORT]PATH[?QUERY]". Pure.

#include <string>
#include <string_view>

namespace strata::edge::policy {

// Scheme and host are lower-cased; a default port (80 for http, 443 for https) is dropped;
// an empty target becomes "/". The target (origin-form path and query) is kept byte for byte.
std::string buildCacheKey(std::string_view scheme, std::string_view host, std::string_view target);

}  // namespace strata::edge::policy
