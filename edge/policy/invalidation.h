#pragma once
// Invalidation after unsafe requests (RFC 9111 §4.4). Pure; never throws.

#include <string>
#include <string_view>
#include <vector>

#include "edge/http/header_list.h"

namespace strata::edge::policy {

// RFC 9110 §9.2.1: GET, HEAD, OPTIONS and TRACE are safe (method names are case-sensitive).
bool isSafeMethod(std::string_view method);

// The cache keys (buildCacheKey) to invalidate after a response with `status` to a `method`
// request for `scheme`://`host``target` (RFC 9111 §4.4): none for safe methods or for error
// (non-2xx/3xx) statuses; otherwise the target URI's key, then the keys of Location and
// Content-Location when same-origin (scheme, host and port equal after normalization). Those
// may be absolute URIs ("https://h/p") or absolute paths ("/p", resolved against the target's
// origin); other forms (relative paths, "//host" network paths, junk) are ignored, as are
// fragments. No duplicates; order: target, Location, Content-Location.
std::vector<std::string> invalidationKeys(std::string_view method, int status,
                                          std::string_view scheme, std::string_view host,
                                          std::string_view target,
                                          const http::HeaderList& responseHeaders);

}  // namespace strata::edge::policy
