#include "edge/policy/invalidation.h"

#include <algorithm>
#include <optional>

#include "edge/policy/cache_key_builder.h"

namespace strata::edge::policy {
namespace {

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool isScheme(std::string_view s) {
  if (s.empty() || !isAlpha(s.front())) return false;
  for (const char c : s) {
    if (!(isAlpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) return false;
  }
  return true;
}

// A URI reference must not contain controls or spaces (RFC 3986 §2).
bool hasBadChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
  });
}

// The cache key of a Location/Content-Location value if it is same-origin with
// scheme://host (RFC 9111 §4.4, origin per RFC 9110 §4.3.1); nullopt otherwise.
std::optional<std::string> sameOriginKey(std::string_view reference, std::string_view scheme,
                                         std::string_view host) {
  std::string_view ref = trimOws(reference);
  if (ref.empty() || hasBadChars(ref)) return std::nullopt;
  // RFC 3986 §3.5: the fragment is not part of the resource.
  if (const std::size_t hash = ref.find('#'); hash != std::string_view::npos) {
    ref = ref.substr(0, hash);
  }
  // Absolute-path reference (RFC 3986 §4.2): resolved against the target's origin.
  if (!ref.empty() && ref.front() == '/') {
    if (ref.size() >= 2 && ref[1] == '/') return std::nullopt;  // Network-path: ignored.
    return buildCacheKey(scheme, host, ref);
  }
  // Absolute URI (RFC 3986 §4.3): scheme "://" authority path-abempty [ "?" query ].
  const std::size_t sep = ref.find("://");
  if (sep == std::string_view::npos || !isScheme(ref.substr(0, sep))) return std::nullopt;
  const std::string_view refScheme = ref.substr(0, sep);
  std::string_view rest = ref.substr(sep + 3);
  const std::size_t pathStart = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, pathStart);
  std::string_view path =
      pathStart == std::string_view::npos ? std::string_view() : rest.substr(pathStart);
  // RFC 3986 §3.2.1: drop userinfo.
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return std::nullopt;
  std::string ownedPath;
  if (!path.empty() && path.front() == '?') {  // "http://h?q" has an empty path: "/?q".
    ownedPath = "/" + std::string(path);
    path = ownedPath;
  }
  // Same origin: equal scheme, host and port after the key's normalization.
  if (buildCacheKey(refScheme, authority, "/") != buildCacheKey(scheme, host, "/")) {
    return std::nullopt;
  }
  return buildCacheKey(refScheme, authority, path);
}

}  // namespace

bool isSafeMethod(std::string_view method) {
  // RFC 9110 §9.2.1.
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

std::vector<std::string> invalidationKeys(std::string_view method, int status,
                                          std::string_view scheme, std::string_view host,
                                          std::string_view target,
                                          const http::HeaderList& responseHeaders) {
  std::vector<std::string> keys;
  // RFC 9111 §4.4: only unsafe methods (including unknown ones) with a non-error status.
  if (isSafeMethod(method) || status < 200 || status > 399) return keys;
  auto addKey = [&keys](std::string key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  // RFC 9111 §4.4: "A cache MUST invalidate the target URI".
  addKey(buildCacheKey(scheme, host, target));
  // RFC 9111 §4.4: Location and Content-Location are candidates, but only same-origin ones.
  for (const std::string_view name :
       {std::string_view("Location"), std::string_view("Content-Location")}) {
    if (const auto value = responseHeaders.get(name)) {
      if (auto key = sameOriginKey(*value, scheme, host)) addKey(std::move(*key));
    }
  }
  return keys;
}

}  // namespace strata::edge::policy
