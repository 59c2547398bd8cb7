#pragma once
// Helpers for building the responses the node sends. Pure.

#include <cstdint>
#include <optional>
#include <string>

#include "edge/http/header_list.h"
#include "edge/policy/cache_status.h"

namespace strata::edge::pipeline {

// Bodies up to this size may hold the response head back until their first bytes are written, so
// head and body leave in one send; larger or unframed ones flush the head at once.
inline constexpr std::int64_t kEagerHeadBytes = 64 * 1024;

// Bodies are forbidden for HEAD and for 1xx, 204 and 304 responses (RFC 9110 §6.4.1).
bool responseHasNoBody(const std::string& method, int status);

// The fields of a response this node sends: `base` without the fields the node computes
// (Content-Length; Age when `age` is given), then Age, Via and this node's Cache-Status entry
// after any upstream ones (RFC 9211 §2).
http::HeaderList servedHeaders(const http::HeaderList& base, const std::string& nodeName,
                               const policy::CacheStatus& status, std::optional<std::int64_t> age);

// The fields a 304 carries from the full response (RFC 9110 §15.4.5).
http::HeaderList notModifiedFields(const http::HeaderList& full);

}  // namespace strata::edge::pipeline
