// The YAML config loader (edge/app/config.h, loadConfigText) and the value parsers it uses
// (sizes, durations, HOST:PORT, backend URLs). Loading never throws and never crashes on any
// text; every problem comes back located in the source. A config that loads is usable: it has
// pools with backends whose URLs parse, routes that name existing pools, listeners that parse,
// and purge.allow entries that are addresses or CIDR ranges.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "edge/app/config.h"
#include "edge/app/units.h"
#include "edge/http/cidr.h"
#include "tests/fuzz/fuzz_check.h"

namespace app = strata::edge::app;

namespace {

void checkLoaded(const app::LoadResult& result) {
  for (const auto& error : result.errors) {
    FUZZ_CHECK(!error.location.empty() && !error.message.empty());
  }
  if (!result.ok()) return;
  const app::Config& c = result.config;
  FUZZ_CHECK(!c.pools.empty());
  for (const auto& pool : c.pools) {
    FUZZ_CHECK(!pool.name.empty() && !pool.backends.empty());
    for (const auto& backend : pool.backends) {
      FUZZ_CHECK(app::parseBackendUrl(backend.url).has_value());
      FUZZ_CHECK(backend.weight >= 0);
    }
  }
  FUZZ_CHECK(!c.routes.empty());
  for (const auto& route : c.routes) {
    FUZZ_CHECK(!route.pools.empty());
    for (const auto& name : route.pools) {
      FUZZ_CHECK(std::any_of(c.pools.begin(), c.pools.end(),
                             [&](const app::Pool& p) { return p.name == name; }));
    }
  }
  FUZZ_CHECK(app::parseHostPort(c.listen).has_value());
  FUZZ_CHECK(app::parseHostPort(c.adminListen).has_value());
  for (const auto& allow : c.purgeAllow) {
    FUZZ_CHECK(strata::edge::http::parseCidr(allow).has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  app::LoadResult result = app::loadConfigText(text, "fuzz.yaml");
  checkLoaded(result);
  for (const auto& error : result.errors) {
    FUZZ_CHECK(error.location.rfind("fuzz.yaml", 0) == 0);
  }

  // The value parsers on the raw text, and the text as command-line overrides.
  (void)app::parseSize(text);
  if (const auto ms = app::parseDuration(text)) FUZZ_CHECK(*ms >= 0);
  if (const auto hp = app::parseHostPort(text)) FUZZ_CHECK(hp->port >= 0 && hp->port <= 65535);
  if (const auto url = app::parseBackendUrl(text)) {
    if (!url->demo) FUZZ_CHECK(url->port >= 0 && url->port <= 65535 && !url->host.empty());
  }
  if (result.ok() && size < 256) {
    app::Overrides overrides;
    overrides.listen = text;
    overrides.origin = text;
    overrides.memory = text;
    overrides.name = text;
    app::applyOverrides(result, overrides);
    checkLoaded(result);
  }
  return 0;
}
