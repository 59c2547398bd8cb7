#include "edge/policy/cache_status.h"

#include <string_view>

#include "edge/http/header_list.h"

namespace strata::edge::policy {
namespace {

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 9110 §5.6.2 tchar.

// RFC 8941 §3.3.4: sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" ).
bool isSfToken(std::string_view s) {
  if (s.empty() || !(isAlpha(s.front()) || s.front() == '*')) return false;
  for (const char c : s.substr(1)) {
    if (!http::isTokenChar(c) && c != ':' && c != '/') return false;
  }
  return true;
}

// RFC 8941 §4.1.6: sf-string is DQUOTE-delimited printable ASCII with "\" escaping DQUOTE and
// "\". Characters outside %x20-7E cannot be represented and are dropped.
void appendSfString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    if (c < 0x20 || c > 0x7e) continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

// RFC 9211 §2: the cache identifier and string-ish parameter values are sf-token or sf-string.
void appendTokenOrString(std::string& out, std::string_view s) {
  if (isSfToken(s)) {
    out.append(s);
  } else {
    appendSfString(out, s);
  }
}

}  // namespace

const char* toString(ForwardReason r) {
  // RFC 9211 §2.2 fwd values.
  switch (r) {
    case ForwardReason::kNone:
      return "";
    case ForwardReason::kUriMiss:
      return "uri-miss";
    case ForwardReason::kVaryMiss:
      return "vary-miss";
    case ForwardReason::kMiss:
      return "miss";
    case ForwardReason::kRequest:
      return "request";
    case ForwardReason::kStale:
      return "stale";
    case ForwardReason::kBypass:
      return "bypass";
  }
  return "";
}

// RFC 9211 §2: Cache-Status = sf-list; each member is the cache identifier with parameters.
// Parameters are emitted in the order RFC 9211 §2.1-§2.8 defines them: hit, fwd, fwd-status,
// ttl, stored, collapsed, detail. Boolean true parameters are written bare (RFC 8941 §4.1.1.2).
std::string CacheStatus::format(const std::string& cacheName) const {
  std::string out;
  appendTokenOrString(out, cacheName);
  if (hit) out.append("; hit");  // §2.1
  if (fwd != ForwardReason::kNone) {
    out.append("; fwd=");  // §2.2 (value is an sf-token)
    out.append(toString(fwd));
  }
  if (fwdStatus) {
    out.append("; fwd-status=");  // §2.3 (sf-integer)
    out.append(std::to_string(*fwdStatus));
  }
  if (ttl) {
    out.append("; ttl=");  // §2.4 (sf-integer, may be negative)
    out.append(std::to_string(*ttl));
  }
  if (stored) out.append("; stored");        // §2.5
  if (collapsed) out.append("; collapsed");  // §2.6
  if (!detail.empty()) {
    out.append("; detail=");  // §2.8 (sf-token or sf-string)
    appendTokenOrString(out, detail);
  }
  return out;
}

}  // namespace strata::edge::policy
