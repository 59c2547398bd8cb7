#pragma once
// The Cache-Status response field (RFC 9211) for one cache hop, and the outcomes that feed it.

#include <cstdint>
#include <optional>
#include <string>

namespace strata::edge::policy {

// Why a request was forwarded (RFC 9211 §2.2).
enum class ForwardReason { kNone, kUriMiss, kVaryMiss, kMiss, kRequest, kStale, kBypass };
const char* toString(ForwardReason r);  // "uri-miss", "vary-miss", ...; "" for kNone.

struct CacheStatus {
  bool hit = false;
  ForwardReason fwd = ForwardReason::kNone;
  std::optional<int> fwdStatus;
  bool stored = false;
  bool collapsed = false;
  std::optional<std::int64_t> ttl;  // Remaining freshness in seconds (may be negative).
  std::string detail;
  // "NAME; hit; ttl=3412" or "NAME; fwd=uri-miss; stored" (parameters in RFC 9211 order).
  std::string format(const std::string& cacheName) const;
};

}  // namespace strata::edge::policy
