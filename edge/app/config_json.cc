#include "edge/app/config_json.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>
#include <utility>

namespace strata::edge::app {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr char kHidden[] = "***";

Object::Ptr object() { return new Object(Poco::JSON_PRESERVE_KEY_ORDER); }

// A duration in the largest unit that divides it, as the config file would write it: "5m".
std::string ms(std::int64_t v) {
  static constexpr std::pair<std::int64_t, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  for (const auto& [size, unit] : kUnits) {
    if (v != 0 && v % size == 0) return std::to_string(v / size) + unit;
  }
  return std::to_string(v) + "ms";
}

}  // namespace

std::string maskUrlPassword(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto authorityEnd = url.find_first_of("/?#", scheme + 3);
  const auto at = url.rfind('@', authorityEnd);
  if (at == std::string::npos || at < scheme + 3) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + kHidden + url.substr(at);
}

std::string configJson(const Config& c, const std::vector<std::string>& tokenNames) {
  auto root = object();
  auto node = object();
  node->set("name", c.nodeName);
  root->set("node", node);
  root->set("listen", c.listen);

  auto admin = object();
  admin->set("listen", c.adminListen);
  Array::Ptr tokens = new Array;
  for (const auto& name : tokenNames) {
    auto t = object();
    t->set("name", name);
    t->set("token", kHidden);
    tokens->add(t);
  }
  admin->set("tokens", tokens);
  root->set("admin", admin);

  auto cache = object();
  cache->set("memory", static_cast<Poco::UInt64>(c.memoryBytes));
  cache->set("max_memory_object", static_cast<Poco::UInt64>(c.maxMemoryObjectBytes));
  cache->set("max_object", static_cast<Poco::UInt64>(c.maxObjectBytes));
  auto disk = object();
  disk->set("path", c.cacheDir);
  disk->set("size", static_cast<Poco::UInt64>(c.diskBytes));
  cache->set("disk", disk);
  cache->set("stale_if_error", ms(c.staleIfErrorMs));
  cache->set("stale_if_unreachable", ms(c.staleIfUnreachableMs));
  cache->set("coalesce_timeout", ms(c.coalesceTimeoutMs));
  cache->set("hit_for_miss", ms(c.hitForMissMs));
  cache->set("targeted_field", c.targetedField);
  root->set("cache", cache);

  auto server = object();
  server->set("threads", c.workerThreads);
  server->set("fetch_threads", c.fetchThreads);
  server->set("shutdown_grace", ms(c.shutdownGraceMs));
  server->set("client_timeout", ms(c.clientTimeoutMs));
  server->set("header_timeout", ms(c.headerTimeoutMs));
  server->set("keepalive_timeout", ms(c.keepAliveTimeoutMs));
  server->set("defer_accept", ms(c.deferAcceptMs));
  root->set("server", server);

  Array::Ptr pools = new Array;
  for (const auto& p : c.pools) {
    auto pool = object();
    pool->set("name", p.name);
    Array::Ptr backends = new Array;
    for (const auto& b : p.backends) {
      auto backend = object();
      backend->set("name", b.name);
      backend->set("url", maskUrlPassword(b.url));
      backend->set("weight", b.weight);
      backends->add(backend);
    }
    pool->set("backends", backends);
    pool->set("connect_timeout", ms(p.connectTimeoutMs));
    pool->set("read_timeout", ms(p.readTimeoutMs));
    pool->set("max_idle_connections", p.maxIdleConnections);
    pools->add(pool);
  }
  root->set("pools", pools);

  Array::Ptr routes = new Array;
  for (const auto& r : c.routes) {
    auto route = object();
    route->set("host", r.host);
    route->set("path_prefix", r.pathPrefix);
    Array::Ptr names = new Array;
    for (const auto& name : r.pools) names->add(name);
    route->set("pools", names);
    routes->add(route);
  }
  root->set("routes", routes);

  auto purge = object();
  Array::Ptr allow = new Array;
  for (const auto& a : c.purgeAllow) allow->add(a);
  purge->set("allow", allow);
  root->set("purge", purge);

  auto logging = object();
  logging->set("level", c.logLevel);
  logging->set("access_log", c.accessLog);
  logging->set("access_log_format", c.accessLogFormat);
  logging->set("error_log", c.errorLog);
  logging->set("error_log_level", c.errorLogLevel);
  logging->set("rotate_size", static_cast<Poco::UInt64>(c.logRotateBytes));
  logging->set("rotate_keep", c.logRotateKeep);
  root->set("logging", logging);

  std::ostringstream out;
  root->stringify(out);
  return out.str();
}

}  // namespace strata::edge::app
