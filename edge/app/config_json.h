#pragma once
// The running configuration as JSON for GET /api/config, with every secret replaced by "***".

#include <string>
#include <vector>

#include "edge/app/config.h"

namespace strata::edge::app {

// Keys follow the YAML file's names. Admin tokens show their names only; `tokenNames` are the
// tokens in force (configured, STRATA_ADMIN_TOKEN as "env", or "generated"). Passwords in
// backend URLs (http://user:secret@host) are masked too.
std::string configJson(const Config& config, const std::vector<std::string>& tokenNames);

// "http://user:secret@host:1" -> "http://user:***@host:1"; other URLs unchanged.
std::string maskUrlPassword(const std::string& url);

}  // namespace strata::edge::app
