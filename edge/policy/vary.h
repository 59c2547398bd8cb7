#pragma once
// Vary matching (RFC 9111 §4.1). Pure.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/header_list.h"

namespace strata::edge::policy {

// The normalized values of the request fields that a response's Vary names: field names
// lower-cased, de-duplicated and sorted; values combined (RFC 9110 §5.3) with whitespace around
// list commas and at the ends removed. An absent field differs from an empty one. Returns "" when
// the response has no Vary, and nullopt when Vary contains "*" (it never matches, §4.1).
// A stored response matches a new request when both give the same signature.
std::optional<std::string> varySignature(const http::HeaderList& responseHeaders,
                                         const http::HeaderList& requestHeaders);
// The same for a stored response's fields, read where they are (no copy into a HeaderList).
std::optional<std::string> varySignature(const std::vector<http::HeaderList::Field>& responseFields,
                                         const http::HeaderList& requestHeaders);

}  // namespace strata::edge::policy
