#pragma once
// The admin page's static files (admin/web/), compiled into the binary at build time by
// admin/embed_assets.cmake, so the page works offline from any install.

#include <string_view>

namespace strata::admin {

struct WebAsset {
  std::string_view path;         // URL path, e.g. "/assets/app.js".
  std::string_view contentType;  // e.g. "text/javascript; charset=utf-8".
  std::string_view body;
};

// The asset served at `path`, or nullptr.
const WebAsset* findWebAsset(std::string_view path);

}  // namespace strata::admin
