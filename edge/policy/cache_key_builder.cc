#include "edge/policy/cache_key_builder.h"

#include "edge/http/header_list.h"

namespace strata::edge::policy {
namespace {

using http::asciiLower;

void appendLower(std::string& out, std::string_view s) {
  for (const char c : s) out.push_back(asciiLower(c));
}

}  // namespace

// RFC 9111 §2: the primary cache key is the request method and target URI; Strata stores GET
// only, so the key is the URI, normalized per RFC 3986 §6.2.2.1 (scheme and host are
// case-insensitive) and §6.2.3 / RFC 9110 §4.2.3 (a default or empty port equals no port).
std::string buildCacheKey(std::string_view scheme, std::string_view host, std::string_view target) {
  std::string lowerScheme;
  appendLower(lowerScheme, scheme);

  // Split "host[:port]"; for an IP-literal ("[::1]:8080") the port follows the "]".
  std::string_view name = host;
  std::string_view port;
  const std::size_t bracket = host.rfind(']');
  const std::size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
  }
  const bool defaultPort = port.empty() || (lowerScheme == "http" && port == "80") ||
                           (lowerScheme == "https" && port == "443");

  std::string key;
  key.reserve(lowerScheme.size() + host.size() + target.size() + 4);
  key.append(lowerScheme);
  key.append("://");
  appendLower(key, name);
  if (!defaultPort) {
    key.push_back(':');
    key.append(port);
  }
  // RFC 9110 §4.2.3: an empty path is equivalent to "/". The target is kept byte for byte.
  if (target.empty()) {
    key.push_back('/');
  } else {
    key.append(target);
  }
  return key;
}

}  // namespace strata::edge::policy
