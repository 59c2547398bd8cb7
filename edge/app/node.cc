#include "edge/app/node.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <prometheus/metric_family.h>
#include <pthread.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "admin/admin_server.h"
#include "edge/app/access_log.h"
#include "edge/app/config_json.h"
#include "edge/app/metrics.h"
#include "edge/app/traffic_observer.h"
#include "edge/origin/demo_origin.h"
#include "edge/origin/http_backend.h"
#include "edge/origin/origin_router.h"
#include "edge/pipeline/proxy_pipeline.h"
#include "edge/policy/cache_decision.h"
#include "edge/security/guard.h"
#include "edge/server/http1_server.h"
#include "purge/purge_request.h"
#include "purge/purge_state.h"
#include "storage/memory_tier.h"
#include "storage/rocksdb_tier.h"
#include "storage/tiered_cache.h"

namespace strata::edge::app {
namespace {

Poco::Logger& logger() { return Poco::Logger::get("strata.node"); }

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "HOST:PORT", "[V6]:PORT" -> host and port. The config loader has validated the syntax.
bool splitHostPort(const std::string& address, std::string* host, std::uint16_t* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  int value = std::atoi(address.c_str() + colon + 1);
  if (value < 0 || value > 65535) return false;
  *port = static_cast<std::uint16_t>(value);
  return true;
}

// The edge guard for the `security` section and the routes' protection; nullptr (with `error`
// empty) when nothing is configured. Rate limits count in milliseconds: real time, or the
// injected clock's seconds when tests inject one (so they refill only when the test says).
std::unique_ptr<security::Guard> buildGuard(const Config& config, Node::Clock clock,
                                            bool injectedClock, std::string* error) {
  security::GuardOptions options;
  bool any = false;
  auto rateOf = [](const RateLimitConfig& r) {
    return security::RateLimit{r.perSecond, static_cast<double>(r.burst)};
  };
  if (config.security.rateLimit) {
    options.rateLimit = rateOf(*config.security.rateLimit);
    any = true;
  }
  options.rateCapacity = static_cast<std::size_t>(config.security.rateLimitCapacity);
  options.signingKeys = config.security.signingKeys;
  bool jwt = false;
  for (const auto& route : config.routes) {
    const RouteSecurity& r = route.security;
    security::RoutePolicy policy;
    for (const auto& text : r.allow) {
      if (auto cidr = http::parseCidr(text)) policy.access.allow.push_back(*cidr);
    }
    for (const auto& text : r.deny) {
      if (auto cidr = http::parseCidr(text)) policy.access.deny.push_back(*cidr);
    }
    if (r.rateLimitOff) {
      policy.rate = security::RoutePolicy::Rate::kOff;
    } else if (r.rateLimit) {
      policy.rate = security::RoutePolicy::Rate::kOwn;
      policy.ownRate = rateOf(*r.rateLimit);
    }
    policy.signedUrls = r.signedUrls;
    policy.jwt = r.jwt;
    policy.jwtExpect.issuer = r.jwtIssuer.value_or(config.security.jwtIssuer);
    policy.jwtExpect.audience = r.jwtAudience.value_or(config.security.jwtAudience);
    policy.jwtExpect.leewaySeconds = config.security.jwtLeewayMs / 1000;
    policy.forwardAuthorization =
        r.jwtForwardAuthorization.value_or(config.security.jwtForwardAuthorization);
    policy.httpsRedirect = r.httpsRedirect;
    policy.httpsPort = r.httpsRedirectPort;
    if (r.hsts) {
      policy.hsts =
          security::hstsValue(r.hsts->maxAgeSeconds, r.hsts->includeSubdomains, r.hsts->preload);
    }
    any = any || !policy.access.empty() || policy.rate != security::RoutePolicy::Rate::kNodeWide ||
          policy.signedUrls || policy.jwt || policy.httpsRedirect || !policy.hsts.empty();
    jwt = jwt || policy.jwt;
    options.routes.push_back(std::move(policy));
  }
  if (!any) return nullptr;
  std::unique_ptr<security::JwtVerifier> verifier;
  if (jwt) {
    std::vector<std::string> secrets;
    std::vector<std::string> files;
    for (const auto& key : config.security.jwtKeys) {
      if (!key.secret.empty()) secrets.push_back(key.secret);
      if (!key.publicKeyFile.empty()) files.push_back(key.publicKeyFile);
    }
    verifier = security::JwtVerifier::create(std::move(secrets), files, error);
    if (!verifier) return nullptr;
  }
  security::Guard::MillisClock millis;
  if (injectedClock) {
    millis = [clock] { return clock() * 1000; };
  } else {
    millis = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  return std::make_unique<security::Guard>(std::move(options), std::move(verifier), clock,
                                           std::move(millis));
}

std::string randomToken() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 32; ++i) token += kHex[device() % 16];
  return token;
}

}  // namespace

struct Node::Impl {
  Config config;
  Node::Clock clock;
  std::int64_t startedAt = unixNow();
  std::vector<admin::Token> tokens;
  pipeline::Stats stats;
  std::unique_ptr<storage::MemoryTier> memory;
  std::unique_ptr<storage::RocksDbTier> disk;
  std::unique_ptr<storage::TieredCache> cache;
  std::unique_ptr<purge::PurgeState> purges;
  std::unique_ptr<origin::OriginRouter> router;
  std::unique_ptr<pipeline::Coalescer> coalescer;
  std::unique_ptr<pipeline::Executor> executor;
  std::unique_ptr<security::Guard> guard;  // nullptr when no protection is configured.
  std::unique_ptr<pipeline::ProxyPipeline> pipeline;
  std::unique_ptr<server::Http1Server> proxyServer;
  std::uint16_t proxyPort = 0;
  std::shared_ptr<server::TlsContexts> tls;  // Certificates of the HTTPS listener.
  std::unique_ptr<server::Http1Server> tlsServer;
  std::uint16_t tlsPort = 0;
  std::unique_ptr<admin::AdminServer> adminServer;
  Poco::Logger* accessLog = nullptr;
  std::unique_ptr<TrafficObserver> observer;  // Access log, latency, status codes, top URLs.
  std::atomic<std::uint64_t> purgesHard{0};
  std::atomic<std::uint64_t> purgesSoft{0};
  // GET /api/backends' body for the backend metrics; empty until the backend API is wired.
  std::function<std::string()> backendsJsonForMetrics;
  bool stopped = false;
  // Background reclaimer: deletes disk entries that can never be served again.
  std::thread reclaimer;
  std::mutex reclaimMutex;
  std::condition_variable reclaimWake;
  bool reclaimStop = false;

  void runReclaimer(edge::app::Node::Clock clock);
  std::pair<int, std::string> purgeApi(const std::string& body, const std::string& actor,
                                       const std::string& client);
  std::string purgesJson() const;
  std::size_t reclaimOnce(std::int64_t now);
  std::string metricsText() const;
  admin::HistorySample historySample() const;

  bool buildOrigins(std::string* error);
  std::string backendsJson() const;
  std::pair<int, std::string> backendAction(const std::string& pool, const std::string& backend,
                                            const std::string& action, const std::string& actor);
  bool bindProxy(std::string* error);
};

std::size_t Node::Impl::reclaimOnce(std::int64_t now) {
  policy::LookupOptions lookup;
  lookup.targeted.names = {config.targetedField, "CDN-Cache-Control"};
  lookup.graceSeconds = config.staleIfErrorMs / 1000;
  const std::int64_t unreachable = config.staleIfUnreachableMs / 1000;
  return disk->reclaim(
      [&](const storage::EntryMeta& meta) {
        if (meta.status == 0) return false;  // A Vary index: its variants decide.
        // Hard-purged entries are dead: their space is reclaimed here, not in the request path.
        const std::string baseKey = meta.key.substr(0, meta.key.find('\x1f'));
        if (purges->check(baseKey, purge::tagsFromHeaders(meta.headers),
                          meta.requestTime * 1'000'000) == purge::PurgeState::Verdict::kHard) {
          return true;
        }
        return policy::neverReusable(meta.status, http::HeaderList(meta.headers), meta.requestTime,
                                     meta.responseTime, now, lookup, unreachable);
      },
      5000);
}

void Node::Impl::runReclaimer(Node::Clock clock) {
  // Every 30 s, look at up to 5,000 disk entries (resuming where the last pass stopped) and
  // delete those no request could be answered with any more; the disk tier then compacts the
  // freed space away. Cheap enough for a low-priority thread: a scan of head records.
  std::unique_lock lock(reclaimMutex);
  while (!reclaimWake.wait_for(lock, std::chrono::seconds(30), [this] { return reclaimStop; })) {
    lock.unlock();
    const std::size_t removed = reclaimOnce(clock());
    if (removed > 0) logger().information("event=reclaimed entries=%z", removed);
    lock.lock();
  }
}

namespace {

std::string jsonError(const std::string& reason) {
  Poco::JSON::Object o;
  o.set("error", reason);
  std::ostringstream out;
  o.stringify(out);
  return out.str() + "\n";
}

}  // namespace

std::pair<int, std::string> Node::Impl::purgeApi(const std::string& body, const std::string& actor,
                                                 const std::string& client) {
  purge::PurgeLimits limits;
  // URLs must name a host this node serves, when its routes name hosts at all.
  for (const auto& route : config.routes) {
    if (route.host.empty()) {
      limits.allowedHosts.clear();
      break;
    }
    limits.allowedHosts.push_back(route.host);
  }
  auto parsed = purge::parsePurgeRequest(body, limits);
  if (!parsed.request) return {parsed.httpStatus, jsonError(parsed.error)};
  std::string error;
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto applied = purges->record(*parsed.request, now, actor, client, &error);
  if (!error.empty()) {
    logger().error("event=purge_failed actor=%s client=%s error=\"%s\"", actor, client, error);
    return {500, jsonError("the purge could not be recorded")};
  }
  logger().notice("event=purge id=%s actor=%s client=%s rules=%s", applied.id, actor, client,
                  std::to_string(applied.rules));
  (parsed.request->soft ? purgesSoft : purgesHard).fetch_add(1, std::memory_order_relaxed);
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("id", applied.id);
  o.set("purged", static_cast<Poco::UInt64>(applied.rules));
  std::ostringstream out;
  o.stringify(out);
  return {200, out.str() + "\n"};
}

std::string Node::Impl::purgesJson() const {
  Poco::JSON::Array list;
  for (const auto& r : purges->recent(100)) {
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("at_micros", static_cast<Poco::Int64>(r.atMicros));
    o.set("id", r.id);
    o.set("actor", r.actor);
    o.set("client", r.client);
    o.set("what", r.what);
    list.add(o);
  }
  Poco::JSON::Object root;
  root.set("purges", list);
  std::ostringstream out;
  root.stringify(out);
  return out.str();
}

std::string Node::Impl::metricsText() const {
  NodeMetricsInput input;
  input.nodeName = config.nodeName;
  input.version = STRATA_VERSION;
  input.startedAtUnix = startedAt;
  input.stats = &stats;
  input.coalescer = coalescer.get();
  if (memory) input.memory = memory->stats();
  if (disk) input.disk = disk->stats();
  input.purgesHard = purgesHard.load(std::memory_order_relaxed);
  input.purgesSoft = purgesSoft.load(std::memory_order_relaxed);
  auto families = nodeMetricFamilies(input);
  for (auto& f : observer->metricFamilies()) families.push_back(std::move(f));
  if (backendsJsonForMetrics) {
    for (auto& f : backendMetricFamilies(backendsJsonForMetrics()))
      families.push_back(std::move(f));
  }
  return serializeMetrics(families);
}

admin::HistorySample Node::Impl::historySample() const {
  admin::HistorySample h;
  h.unixMillis = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  h.requests = stats.requests.load();
  h.hits = stats.hits.load();
  h.lookups = h.hits + stats.misses.load() + stats.stale.load();
  h.bytesSent = stats.bytesToClients.load();
  h.originFetches = stats.originFetches.load();
  h.originErrors = stats.originErrors.load();
  if (coalescer) h.coalesced = coalescer->counters().coalescedWaiters.load();
  if (memory) h.memoryBytes = memory->stats().bytes;
  if (disk) h.diskBytes = disk->stats().bytes;
  return h;
}

bool Node::Impl::buildOrigins(std::string* error) {
  std::vector<std::unique_ptr<origin::OriginPool>> pools;
  for (const auto& poolConfig : config.pools) {
    origin::PoolOptions options;
    options.policy = origin::parseBalancePolicy(poolConfig.loadBalancing)
                         .value_or(origin::BalancePolicy::kRoundRobin);
    const HealthCheck& hc = poolConfig.healthCheck;
    options.healthCheck = {hc.enabled,   hc.path, hc.expectStatus, hc.intervalMs,
                           hc.timeoutMs, hc.rise, hc.fall};
    options.passive = {poolConfig.passiveFailures, poolConfig.passiveCooldownMs};
    options.retries = {poolConfig.retryTries, poolConfig.retryDeadlineMs};
    std::vector<origin::OriginPool::Member> members;
    for (const auto& b : poolConfig.backends) {
      origin::OriginPool::Member member;
      member.name = b.name;
      member.url = b.url;
      member.weight = b.weight;
      if (b.url == "demo:") {
        member.origin = std::make_unique<origin::DemoOrigin>();
        members.push_back(std::move(member));
        continue;
      }
      auto url = parseBackendUrl(b.url);
      if (!url || url->demo) {
        *error = "backend " + b.url + ": not an http:// or https:// URL";
        return false;
      }
      origin::HttpBackendOptions http;
      http.name = b.name;
      http.host = url->host;
      http.port = static_cast<std::uint16_t>(url->port);
      http.connectTimeoutMs = poolConfig.connectTimeoutMs;
      http.firstByteTimeoutMs = poolConfig.firstByteMs();
      http.betweenBytesTimeoutMs = poolConfig.betweenBytesMs();
      http.totalTimeoutMs = poolConfig.totalTimeoutMs;
      http.maxIdleConnections = poolConfig.maxIdleConnections;
      http.tls.enabled = url->tls;
      http.tls.caFile = poolConfig.tlsCaFile;
      http.tls.verify = poolConfig.tlsVerify;
      http.tls.sni = poolConfig.tlsSni;
      if (url->tls && !poolConfig.tlsVerify) {
        logger().warning(
            "event=tls_verify_off pool=%s backend=%s hint=\"certificates are not checked; for "
            "tests only\"",
            poolConfig.name, b.name);
      }
      auto backend = origin::HttpBackend::create(std::move(http), error);
      if (!backend) return false;
      member.origin = std::move(backend);
      members.push_back(std::move(member));
    }
    pools.push_back(std::make_unique<origin::OriginPool>(poolConfig.name, std::move(options),
                                                         std::move(members)));
  }
  std::vector<origin::RouteSpec> routes;
  for (const auto& r : config.routes) {
    origin::RouteSpec spec{r.host, r.pathPrefix, {}};
    for (const auto& name : r.pools) {
      for (auto& pool : pools) {
        if (pool->name() == name) spec.pools.push_back(pool.get());
      }
    }
    routes.push_back(std::move(spec));
  }
  router = std::make_unique<origin::OriginRouter>(std::move(pools), std::move(routes));
  return true;
}

std::string Node::Impl::backendsJson() const {
  Poco::JSON::Array pools;
  for (const auto& p : router->snapshot()) {
    Poco::JSON::Object pool(Poco::JSON_PRESERVE_KEY_ORDER);
    pool.set("name", p.name);
    pool.set("policy", p.policy);
    pool.set("healthy", p.healthy);
    Poco::JSON::Array backends;
    for (const auto& b : p.backends) {
      Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
      o.set("name", b.name);
      o.set("url", b.url);
      o.set("weight", b.weight);
      o.set("state", b.state);
      o.set("healthy", b.healthy);
      o.set("in_flight", static_cast<Poco::Int64>(b.inFlight));
      o.set("requests", static_cast<Poco::UInt64>(b.requests));
      o.set("errors", static_cast<Poco::UInt64>(b.errors));
      o.set("failures_consecutive", b.failuresConsecutive);
      o.set("latency_ms", std::round(b.latencyMs * 100) / 100);
      o.set("connections_reused", static_cast<Poco::UInt64>(b.connectionsReused));
      o.set("connections_opened", static_cast<Poco::UInt64>(b.connectionsOpened));
      const std::uint64_t total = b.connectionsReused + b.connectionsOpened;
      o.set("reuse_ratio", total ? static_cast<double>(b.connectionsReused) / total : 0.0);
      backends.add(o);
    }
    pool.set("backends", backends);
    pools.add(pool);
  }
  Poco::JSON::Object root;
  root.set("pools", pools);
  std::ostringstream out;
  root.stringify(out);
  return out.str();
}

std::pair<int, std::string> Node::Impl::backendAction(const std::string& pool,
                                                      const std::string& backend,
                                                      const std::string& action,
                                                      const std::string& actor) {
  if (action != "drain" && action != "enable") return {404, jsonError("unknown action")};
  std::string why;
  if (!router->setDraining(pool, backend, action == "drain", &why)) {
    return {404, jsonError(why)};
  }
  logger().notice("event=backend_%s pool=%s backend=%s actor=%s", action, pool, backend, actor);
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("pool", pool);
  o.set("backend", backend);
  o.set("state", std::string(action == "drain" ? "draining" : "up"));
  std::ostringstream out;
  o.stringify(out);
  return {200, out.str() + "\n"};
}

bool Node::Impl::bindProxy(std::string* error) {
  std::string host;
  std::uint16_t port = 0;
  if (!splitHostPort(config.listen, &host, &port)) {
    *error = "invalid listen address " + config.listen;
    return false;
  }
  server::Http1Options options;
  options.threads = config.workerThreads;
  options.clientTimeoutMs = config.clientTimeoutMs;
  options.eventThreads = config.eventThreads;
  options.headerTimeoutMs = config.headerTimeoutMs;
  options.keepAliveTimeoutMs = config.keepAliveTimeoutMs;
  options.deferAcceptSeconds = static_cast<int>((config.deferAcceptMs + 999) / 1000);  // Whole s.
  options.maxConnections = static_cast<std::size_t>(config.maxConnections);
  options.maxConnectionsPerClient = static_cast<std::size_t>(config.maxConnectionsPerClient);
  auto* pipe = pipeline.get();
  // Every exchange is observed (metrics, top URLs, the access log when configured).
  server::Http1Server::Completion completion = [obs = observer.get()](
                                                   const pipeline::ClientRequest& request,
                                                   const server::ExchangeSummary& summary) {
    pipeline::RequestRecord record;
    record.method = request.method;
    record.target = request.target;
    record.host = request.host;
    record.version = request.http10 ? "HTTP/1.0" : "HTTP/1.1";
    record.clientAddress = request.clientAddress;
    record.referer = std::string(request.headers.get("Referer").value_or(""));
    record.userAgent = std::string(request.headers.get("User-Agent").value_or(""));
    record.cacheStatus = std::string(summary.cacheStatus);
    record.status = summary.status;
    record.bytes = summary.bytes;
    record.durationMicros = summary.durationMicros;
    obs->observe(record);
  };
  auto handler = [pipe](const pipeline::ClientRequest& request, pipeline::ResponseSink& sink) {
    pipe->handle(request, sink);
  };
  std::string why;
  proxyServer = server::Http1Server::create(host, port, options, handler, completion, &why);
  if (!proxyServer) {
    *error = "cannot listen on " + config.listen + ": " + why;
    return false;
  }
  proxyPort = proxyServer->port();
  if (config.tlsListen.empty()) return true;

  if (!splitHostPort(config.tlsListen, &host, &port)) {
    *error = "invalid tls.listen address " + config.tlsListen;
    return false;
  }
  server::TlsOptions tlsOptions;
  for (const auto& c : config.tlsCertificates) {
    tlsOptions.certificates.push_back({c.certFile, c.keyFile});
  }
  tlsOptions.tls13Only = config.tlsMinVersion == "1.3";
  tls = server::TlsContexts::create(std::move(tlsOptions), &why);
  if (!tls) {
    *error = "tls: " + why;
    return false;
  }
  options.tls = tls;
  tlsServer = server::Http1Server::create(host, port, options, handler, completion, &why);
  if (!tlsServer) {
    *error = "cannot listen on " + config.tlsListen + ": " + why;
    return false;
  }
  tlsPort = tlsServer->port();
  return true;
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { stop(); }

std::unique_ptr<Node> Node::create(const Config& config, std::string* error, Clock clock) {
  const bool injectedClock = static_cast<bool>(clock);
  if (!clock) clock = unixNow;
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->clock = clock;

  for (const auto& t : config.adminTokens) impl->tokens.push_back({t.name, t.token});
  if (const char* env = std::getenv("STRATA_ADMIN_TOKEN"); env && *env) {
    impl->tokens.push_back({"env", env});
  }
  if (impl->tokens.empty()) impl->tokens.push_back({"generated", randomToken()});

  try {
    Poco::File(config.cacheDir).createDirectories();
  } catch (const Poco::Exception& e) {
    *error = "cannot create cache dir " + config.cacheDir + ": " + e.displayText();
    return nullptr;
  }
  storage::RocksDbTier::Options diskOptions;
  diskOptions.path = config.cacheDir;
  diskOptions.capacityBytes = config.diskBytes;
  // The disk tier's memory is reserved out of cache.memory, three quarters of it from the start
  // (the memory tier keeps the rest): past that the disk tier evicts rather than grow its index.
  diskOptions.memoryBytes = config.memoryBytes / 4 * 3;
  std::string storeError;
  impl->disk = storage::RocksDbTier::open(diskOptions, &storeError);
  if (!impl->disk) {
    *error = storeError;
    return nullptr;
  }
  impl->purges = purge::PurgeState::open(config.cacheDir + "/purge", &storeError);
  if (!impl->purges) {
    *error = storeError;
    return nullptr;
  }
  impl->memory =
      std::make_unique<storage::MemoryTier>(config.memoryBytes, config.maxMemoryObjectBytes);
  impl->cache = std::make_unique<storage::TieredCache>(*impl->memory, *impl->disk);

  if (!config.accessLog.empty()) {
    // One line per request, written by a background thread, rotated by size.
    std::string logError;
    impl->accessLog =
        openLogFile("strata.access." + std::to_string(reinterpret_cast<std::uintptr_t>(impl.get())),
                    config.accessLog, RotationOptions{config.logRotateBytes, config.logRotateKeep},
                    true, &logError);
    if (!impl->accessLog) {
      *error = "cannot open access log " + config.accessLog + ": " + logError;
      return nullptr;
    }
  }
  TrafficObserver::Options observerOptions;
  observerOptions.accessLog = impl->accessLog;
  observerOptions.format =
      parseAccessLogFormat(config.accessLogFormat).value_or(AccessLogFormat::kCombined);
  impl->observer = std::make_unique<TrafficObserver>(observerOptions);
  if (!impl->buildOrigins(error)) return nullptr;
  pipeline::Coalescer::Options coalescerOptions;
  coalescerOptions.hitForMissSeconds = config.hitForMissMs / 1000;
  impl->coalescer = std::make_unique<pipeline::Coalescer>(coalescerOptions);
  impl->executor =
      std::make_unique<pipeline::Executor>(static_cast<std::size_t>(config.fetchThreads),
                                           static_cast<std::size_t>(config.fetchThreads) * 16);
  pipeline::PipelineOptions pipelineOptions;
  pipelineOptions.nodeName = config.nodeName;
  pipelineOptions.maxObjectBytes = config.maxObjectBytes;
  pipelineOptions.lookup.targeted.names = {config.targetedField, "CDN-Cache-Control"};
  pipelineOptions.lookup.graceSeconds = config.staleIfErrorMs / 1000;
  pipelineOptions.unreachableGraceSeconds = config.staleIfUnreachableMs / 1000;
  pipelineOptions.coalesceWait = std::chrono::milliseconds(config.coalesceTimeoutMs);
  pipelineOptions.purge = impl->purges.get();
  for (const auto& range : config.purgeAllow) {
    if (auto cidr = http::parseCidr(range)) pipelineOptions.purgeAllow.push_back(*cidr);
  }
  pipelineOptions.bodyWait = std::chrono::milliseconds(config.clientTimeoutMs);
  std::string guardError;
  impl->guard = buildGuard(config, clock, injectedClock, &guardError);
  if (!guardError.empty()) {
    *error = guardError;
    return nullptr;
  }
  pipelineOptions.guard = impl->guard.get();
  for (const auto& name : config.security.hideHeaders) {
    pipelineOptions.hiddenHeaders.push_back(name);
  }
  impl->pipeline = std::make_unique<pipeline::ProxyPipeline>(
      pipelineOptions, *impl->cache, *impl->router, impl->stats, *impl->coalescer, *impl->executor,
      std::move(clock));
  if (!impl->bindProxy(error)) return nullptr;

  std::string adminHost;
  std::uint16_t adminPort = 0;
  if (!splitHostPort(config.adminListen, &adminHost, &adminPort)) {
    *error = "invalid admin listen address " + config.adminListen;
    return nullptr;
  }
  Impl* raw = impl.get();
  admin::AdminCallbacks callbacks;
  callbacks.statsJson = [raw] { return Node::statsJsonOf(*raw); };
  callbacks.purge = [raw](const std::string& body, const std::string& actor,
                          const std::string& client) { return raw->purgeApi(body, actor, client); };
  callbacks.purgesJson = [raw] { return raw->purgesJson(); };
  callbacks.backendsJson = [raw] { return raw->backendsJson(); };
  impl->backendsJsonForMetrics = [raw] { return raw->backendsJson(); };
  callbacks.backendAction = [raw](const std::string& pool, const std::string& backend,
                                  const std::string& action, const std::string& actor) {
    return raw->backendAction(pool, backend, action, actor);
  };
  callbacks.metricsText = [raw] { return raw->metricsText(); };
  callbacks.topJson = [raw](std::size_t n) { return raw->observer->topJson(n); };
  callbacks.configJson = [raw] {
    std::vector<std::string> names;
    for (const auto& t : raw->tokens) names.push_back(t.name);
    return configJson(raw->config, names);
  };
  callbacks.sample = [raw] { return raw->historySample(); };
  impl->adminServer =
      admin::AdminServer::create(adminHost, adminPort, impl->tokens, std::move(callbacks), error);
  if (!impl->adminServer) return nullptr;
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

void Node::start() {
  if (impl_->tokens.front().name == "generated") {
    logger().notice(
        "event=admin_token_generated token=%s hint=\"set STRATA_ADMIN_TOKEN or "
        "admin.tokens to choose one\"",
        impl_->tokens.front().secret);
  }
  impl_->router->startHealthChecks();
  impl_->proxyServer->start();
  if (impl_->tlsServer) impl_->tlsServer->start();
  impl_->adminServer->start();
  Impl* impl = impl_.get();
  impl_->reclaimer = std::thread([impl, clock = impl_->clock] { impl->runReclaimer(clock); });
  pthread_setname_np(impl_->reclaimer.native_handle(), "strata-reclaim");
  logger().information("event=started name=%s proxy_port=%hu admin_port=%hu cache_dir=%s",
                       impl_->config.nodeName, impl_->proxyPort, impl_->adminServer->port(),
                       impl_->config.cacheDir);
}

void Node::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  // Stop accepting, then let in-flight requests finish within the grace period.
  impl_->proxyServer->stopAccepting();
  if (impl_->tlsServer) impl_->tlsServer->stopAccepting();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->config.shutdownGraceMs);
  while (impl_->stats.inFlight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  impl_->pipeline->shutdown();
  impl_->proxyServer->stop();
  if (impl_->tlsServer) impl_->tlsServer->stop();
  impl_->executor->stop();
  impl_->adminServer->stop();
  if (impl_->reclaimer.joinable()) {
    {
      std::lock_guard lock(impl_->reclaimMutex);
      impl_->reclaimStop = true;
    }
    impl_->reclaimWake.notify_all();
    impl_->reclaimer.join();
  }
  impl_->pipeline.reset();
  impl_->executor.reset();
  impl_->coalescer.reset();
  impl_->router->stopHealthChecks();
  impl_->router.reset();
  impl_->cache.reset();
  impl_->memory.reset();
  impl_->disk.reset();  // Closes RocksDB cleanly.
  impl_->purges.reset();
  closeLog(impl_->accessLog);  // Writes what is still queued.
  impl_->accessLog = nullptr;
  logger().information("event=stopped name=%s", impl_->config.nodeName);
}

std::uint16_t Node::proxyPort() const { return impl_->proxyPort; }
std::uint16_t Node::tlsPort() const { return impl_->tlsPort; }

bool Node::reloadTls(std::string* error) {
  if (!impl_->tls) {
    *error = "no HTTPS listener configured";
    return false;
  }
  if (!impl_->tls->reload(error)) {
    logger().error("event=tls_reload_failed error=\"%s\"", *error);
    return false;
  }
  logger().information("event=tls_reloaded certificates=%z", impl_->config.tlsCertificates.size());
  return true;
}
std::size_t Node::reclaimExpired() { return impl_->reclaimOnce(impl_->clock()); }
std::uint16_t Node::adminPort() const { return impl_->adminServer->port(); }
const std::string& Node::firstAdminToken() const { return impl_->tokens.front().secret; }
const pipeline::Stats& Node::stats() const { return impl_->stats; }
std::string Node::statsJson() const { return statsJsonOf(*impl_); }

std::string Node::statsJsonOf(const Impl& impl) {
  const auto& s = impl.stats;
  auto get = [](const auto& counter) { return static_cast<Poco::UInt64>(counter.load()); };
  Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
  root.set("node", impl.config.nodeName);
  root.set("uptime_seconds", static_cast<Poco::Int64>(unixNow() - impl.startedAt));
  root.set("requests", get(s.requests));
  root.set("hits", get(s.hits));
  root.set("misses", get(s.misses));
  root.set("stale", get(s.stale));
  root.set("bypass", get(s.bypass));
  root.set("stored", get(s.stored));
  root.set("store_failures", get(s.storeFailures));
  root.set("origin_fetches", get(s.originFetches));
  root.set("origin_errors", get(s.originErrors));
  root.set("client_aborts", get(s.clientAborts));
  root.set("loops", get(s.loops));
  root.set("corrupt_bodies", get(s.corruptBodies));
  root.set("bytes_to_clients", get(s.bytesToClients));
  root.set("bytes_from_origin", get(s.bytesFromOrigin));
  root.set("revalidated", get(s.revalidated));
  root.set("stale_served", get(s.staleServed));
  root.set("not_modified", get(s.notModified));
  root.set("ranges_served", get(s.rangesServed));
  root.set("invalidations", get(s.invalidations));
  root.set("background_refreshes", get(s.backgroundRefreshes));
  if (impl.coalescer) {
    const auto& c = impl.coalescer->counters();
    root.set("coalesced", get(c.coalescedWaiters));
    root.set("fills", get(c.leaders));
    root.set("leader_failures", get(c.leaderFailures));
    root.set("hit_for_miss", get(c.hitForMiss));
    root.set("fills_in_flight", static_cast<Poco::UInt64>(impl.coalescer->inFlight()));
  }
  root.set("purged_hits", get(s.purgedHits));
  root.set("refused", get(s.refused));
  root.set("in_flight", static_cast<Poco::Int64>(s.inFlight.load()));
  const std::uint64_t lookups = s.hits.load() + s.misses.load() + s.stale.load();
  root.set("hit_ratio", lookups ? static_cast<double>(s.hits.load()) / lookups : 0.0);
  auto tier = [](const storage::StoreStats& t) {
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("entries", static_cast<Poco::UInt64>(t.entries));
    o.set("bytes", static_cast<Poco::UInt64>(t.bytes));
    o.set("capacity_bytes", static_cast<Poco::UInt64>(t.capacityBytes));
    o.set("hits", static_cast<Poco::UInt64>(t.hits));
    o.set("misses", static_cast<Poco::UInt64>(t.misses));
    o.set("evictions", static_cast<Poco::UInt64>(t.evictions));
    o.set("dropped_writes", static_cast<Poco::UInt64>(t.droppedWrites));
    o.set("corrupt_entries", static_cast<Poco::UInt64>(t.corruptEntries));
    return o;
  };
  if (impl.router) {
    std::uint64_t reused = 0;
    std::uint64_t opened = 0;
    for (const auto& pool : impl.router->snapshot()) {
      for (const auto& b : pool.backends) {
        reused += b.connectionsReused;
        opened += b.connectionsOpened;
      }
    }
    root.set("origin_connections_reused", static_cast<Poco::UInt64>(reused));
    root.set("origin_connections_opened", static_cast<Poco::UInt64>(opened));
    root.set("origin_connection_reuse_ratio",
             reused + opened ? static_cast<double>(reused) / (reused + opened) : 0.0);
  }
  if (impl.memory) root.set("memory", tier(impl.memory->stats()));
  if (impl.disk) root.set("disk", tier(impl.disk->stats()));
  std::ostringstream out;
  root.stringify(out);
  return out.str();
}

}  // namespace strata::edge::app
