#include "edge/security/access.h"

namespace strata::edge::security {

bool permits(const AccessList& list, std::string_view address) {
  if (list.empty()) return true;
  if (address.find('/') != std::string_view::npos || !http::parseCidr(address)) return false;
  if (http::inAnyCidr(address, list.deny)) return false;
  return list.allow.empty() || http::inAnyCidr(address, list.allow);
}

}  // namespace strata::edge::security
