#pragma once
// Per-route access lists: who may use a route, by client address. Pure.

#include <string_view>
#include <vector>

#include "edge/http/cidr.h"

namespace strata::edge::security {

// `deny` wins over `allow`; a non-empty `allow` list admits only the addresses it covers.
// Both empty: everyone is admitted.
struct AccessList {
  std::vector<http::Cidr> allow;
  std::vector<http::Cidr> deny;
  bool empty() const { return allow.empty() && deny.empty(); }
};

// True when `address` (IPv4 or IPv6 text; IPv4-mapped IPv6 equals IPv4) may use the route. An
// address that does not parse is denied whenever either list is non-empty.
bool permits(const AccessList& list, std::string_view address);

}  // namespace strata::edge::security
