#pragma once
// Strata's configuration: the YAML file (config/strata.yaml), validated strictly, plus
// command-line overrides. Loading never throws: problems come back as located messages.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::edge::app {

struct Backend {
  std::string name;  // Default: "HOST:PORT" of the URL.
  std::string url;   // "http://host:port" or "https://host:port", or "demo:" for the built-in
                     // demo origin.
  int weight = 1;    // Default: 1 (0 takes no traffic).
};

// pools[].health_check: active probes. Present: enabled.
struct HealthCheck {
  bool enabled = false;
  std::string path = "/";          // Default: "/"
  int expectStatus = 200;          // Default: 200
  std::int64_t intervalMs = 5000;  // Default: 5s
  std::int64_t timeoutMs = 2000;   // Default: 2s
  int rise = 2;                    // Default: 2 good probes to come back
  int fall = 3;                    // Default: 3 failed probes to go down
};

struct Pool {
  std::string name;
  std::vector<Backend> backends;
  std::string loadBalancing = "round_robin";  // Default: round_robin (| least_conn | hash)
  HealthCheck healthCheck;                    // health_check
  int passiveFailures = 3;                    // passive.failures. Default: 3 (0: off)
  std::int64_t passiveCooldownMs = 10000;     // passive.cooldown. Default: 10s
  int retryTries = 3;                         // retries.tries. Default: 3 per pool
  std::int64_t retryDeadlineMs = 30000;       // retries.deadline. Default: 30s
  std::int64_t connectTimeoutMs = 2000;       // timeouts.connect (or connect_timeout). 2s
  // read_timeout: the first-byte and between-bytes timeouts when those are not given.
  std::int64_t readTimeoutMs = 30000;      // Default: 30s
  std::int64_t firstByteTimeoutMs = 0;     // timeouts.first_byte. Default: 0 (read_timeout)
  std::int64_t betweenBytesTimeoutMs = 0;  // timeouts.between_bytes. Default: 0 (read_timeout)
  std::int64_t totalTimeoutMs = 0;         // timeouts.total. Default: 0 (no limit)
  int maxIdleConnections = 64;             // Default: 64 kept-alive connections per backend
  std::string tlsCaFile;                   // tls.ca_file. Default: "" (system CAs)
  bool tlsVerify = true;                   // tls.verify. Default: true (false: tests only)
  std::string tlsSni;                      // tls.sni. Default: "" (the backend's host)
  std::int64_t firstByteMs() const {
    return firstByteTimeoutMs ? firstByteTimeoutMs : readTimeoutMs;
  }
  std::int64_t betweenBytesMs() const {
    return betweenBytesTimeoutMs ? betweenBytesTimeoutMs : readTimeoutMs;
  }
};

// A token-bucket rate limit per client address: `rate` ("100/s", "600/m", "1000/h") and `burst`.
struct RateLimitConfig {
  double perSecond = 0;
  int burst = 1;  // Default: the rate's per-second figure, at least 1.
};

// routes[].hsts: Strict-Transport-Security on the route's https responses (RFC 6797).
struct HstsConfig {
  std::int64_t maxAgeSeconds = 0;  // max_age (required): a duration such as 1y, 180d
  bool includeSubdomains = false;  // include_subdomains. Default: false
  bool preload = false;            // preload. Default: false
};

// A route's protection (see README "Protection"). Default: none.
struct RouteSecurity {
  std::vector<std::string> allow;  // allow: CIDR ranges; non-empty: everyone else gets 403.
  std::vector<std::string> deny;   // deny: CIDR ranges; wins over allow.
  // rate_limit: {rate, burst} (own buckets) or "off"; absent: security.rate_limit applies.
  std::optional<RateLimitConfig> rateLimit = std::nullopt;
  bool rateLimitOff = false;
  bool signedUrls = false;  // signed_urls. Default: false
  bool jwt = false;         // jwt: true or a map {audience, issuer, forward_authorization}
  std::optional<std::string> jwtAudience = std::nullopt;       // Default: security.jwt's
  std::optional<std::string> jwtIssuer = std::nullopt;         // Default: security.jwt's
  std::optional<bool> jwtForwardAuthorization = std::nullopt;  // Default: security.jwt's
  bool httpsRedirect = false;                                  // https_redirect. Default: false
  int httpsRedirectPort = 443;                                 // https_redirect_port. Default: 443
  std::optional<HstsConfig> hsts = std::nullopt;               // hsts. Default: none
};

struct Route {
  std::string host;                // Default: "" (any host). Exact match, case-insensitive.
  std::string pathPrefix = "/";    // Default: "/"
  std::vector<std::string> pools;  // Failover order; names from `pools`.
  RouteSecurity security{};  // allow, deny, rate_limit, signed_urls, jwt, https_redirect, hsts
};

// security.jwt.keys[]: exactly one of `secret` (HS256) or `public_key_file` (RS256, PEM).
struct JwtKeyConfig {
  std::string secret;
  std::string publicKeyFile;
};

// The `security` section: node-wide protection settings.
struct SecurityConfig {
  // hide_headers: response fields removed in addition to Server and X-Powered-By.
  std::vector<std::string> hideHeaders;
  std::optional<RateLimitConfig> rateLimit;  // rate_limit {rate, burst}. Default: none
  int rateLimitCapacity = 65536;             // rate_limit.capacity: clients tracked per limiter
  std::vector<std::string> signingKeys;      // signing_keys: signed-URL HMAC keys (rotation)
  std::vector<JwtKeyConfig> jwtKeys;         // jwt.keys
  std::string jwtIssuer;                     // jwt.issuer. Default: "" (not checked)
  std::string jwtAudience;                   // jwt.audience. Default: "" (not checked)
  std::int64_t jwtLeewayMs = 0;              // jwt.leeway (clock skew). Default: 0s
  bool jwtForwardAuthorization = false;      // jwt.forward_authorization. Default: false
};

struct TlsCertificate {
  std::string certFile;  // PEM: the certificate, then its chain.
  std::string keyFile;   // PEM private key.
};

struct AdminToken {
  std::string name;
  std::string token;
};

struct Config {
  std::string nodeName = "strata";                  // node.name. Default: "strata"
  std::string listen = "0.0.0.0:8080";              // listen
  std::string adminListen = "127.0.0.1:9090";       // admin.listen
  std::vector<AdminToken> adminTokens;              // admin.tokens
  std::uint64_t memoryBytes = 256ull << 20;         // cache.memory. Default: 256MiB
  std::uint64_t maxMemoryObjectBytes = 8ull << 20;  // cache.max_memory_object. Default: 8MiB
  std::string cacheDir = "/var/cache/strata";       // cache.disk.path
  std::uint64_t diskBytes = 10ull << 30;            // cache.disk.size. Default: 10GiB
  std::uint64_t maxObjectBytes = 1ull << 30;        // cache.max_object. Default: 1GiB
  std::int64_t staleIfErrorMs = 0;  // cache.stale_if_error. Default: 0 (only what responses say)
  std::int64_t staleIfUnreachableMs = 300000;          // cache.stale_if_unreachable. Default: 5m
  std::int64_t coalesceTimeoutMs = 10000;              // cache.coalesce_timeout. Default: 10s
  std::int64_t hitForMissMs = 60000;                   // cache.hit_for_miss. Default: 60s
  std::string targetedField = "Strata-Cache-Control";  // cache.targeted_field (RFC 9213)
  int fetchThreads = 64;                               // server.fetch_threads. Default: 64
  std::vector<Pool> pools;                             // pools
  std::vector<Route> routes;                           // routes
  std::string tlsListen;                        // tls.listen. Default: "" (no HTTPS listener)
  std::vector<TlsCertificate> tlsCertificates;  // tls.certificates, chosen by SNI
  std::string tlsMinVersion = "1.2";            // tls.min_version: 1.2 or 1.3
  int workerThreads = 256;                      // server.threads. Default: 256
  int eventThreads = 0;                         // server.event_threads. 0: one per core
  int maxConnections = 20000;                   // server.max_connections
  int maxConnectionsPerClient = 1000;           // server.max_connections_per_client (0: no cap)
  std::int64_t headerTimeoutMs = 10000;         // server.header_timeout. Default: 10s
  std::int64_t keepAliveTimeoutMs = 15000;      // server.keepalive_timeout. Default: 15s
  std::int64_t deferAcceptMs = 1000;            // server.defer_accept (0: off). Default: 1s
  std::int64_t shutdownGraceMs = 10000;         // server.shutdown_grace. Default: 10s
  std::int64_t clientTimeoutMs = 60000;         // server.client_timeout. Default: 60s
  // purge.allow: addresses allowed to send PURGE to the proxy listener. Default: loopback.
  std::vector<std::string> purgeAllow = {"127.0.0.0/8", "::1/128"};
  std::string logLevel = "information";         // logging.level
  std::string accessLog;                        // logging.access_log. Default: "" (off)
  std::string accessLogFormat = "combined";     // logging.access_log_format: combined or json
  std::string errorLog;                         // logging.error_log (JSON lines). Default: "" (off)
  std::string errorLogLevel = "warning";        // logging.error_log_level. Default: warning
  std::uint64_t logRotateBytes = 100ull << 20;  // logging.rotate_size. Default: 100MiB
  int logRotateKeep = 5;                        // logging.rotate_keep. Default: 5 archives
  SecurityConfig security;                      // security
};

// One problem found while loading, with its location ("FILE:LINE:COL" or "--option").
struct ConfigError {
  std::string location;
  std::string message;
  std::string toString() const { return location + ": " + message; }
};

struct LoadResult {
  Config config;
  std::vector<ConfigError> errors;  // Empty when the config is valid.
  bool ok() const { return errors.empty(); }
};

// Parses and validates YAML text. `sourceName` prefixes locations. Unknown keys, wrong types,
// bad sizes/durations/addresses/URLs, duplicate pool names, routes naming unknown pools and a
// config without any pool are errors. When no route is given, one route "/" -> every pool in
// file order is implied.
LoadResult loadConfigText(const std::string& yaml, const std::string& sourceName);
// Reads and parses a file; an unreadable file is one error.
LoadResult loadConfigFile(const std::string& path);

// Command-line overrides (PRODUCT.md). An empty/absent field leaves the file's value.
struct Overrides {
  std::optional<std::string> listen;
  std::optional<std::string> adminListen;
  std::optional<std::string> origin;  // Replaces pools and routes with one pool "origin".
  std::optional<std::string> cacheDir;
  std::optional<std::string> memory;  // Size text, e.g. "64MiB".
  std::optional<std::string> disk;
  std::optional<std::string> name;
};
// Applies overrides and re-validates what they touch; errors name the option.
void applyOverrides(LoadResult& result, const Overrides& overrides);

// Helpers shared with the server and origin code (added with the loader).

// "HOST:PORT" where HOST is an IPv4 address, a bracketed IPv6 address ("[::1]:8080") or a DNS
// name, and PORT is 0..65535 (0: an ephemeral port). `host` has no brackets.
struct HostPort {
  std::string host;
  int port = 0;
};
std::optional<HostPort> parseHostPort(std::string_view text);

// A backend URL: "http://HOST[:PORT][/]", "https://HOST[:PORT][/]" (HOST as in HostPort; the
// port defaults to 80/443) or "demo:" (the built-in demo origin: `demo` true, other fields empty).
struct BackendUrl {
  bool demo = false;
  bool tls = false;  // https
  std::string host;  // No brackets for IPv6.
  int port = 0;
  std::string hostPort() const;  // "host:port", "[v6]:port", or "demo".
};
std::optional<BackendUrl> parseBackendUrl(std::string_view url);

// POCO's logger level names, least to most verbose.
inline constexpr const char* kLogLevels[] = {
    "none", "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"};

}  // namespace strata::edge::app
