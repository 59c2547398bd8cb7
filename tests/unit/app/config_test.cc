// Tests for the configuration loader (edge/app/config.h) and units (edge/app/units.h).

#include "edge/app/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "edge/app/units.h"

namespace strata::edge::app {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t KiB = 1ull << 10;
constexpr std::uint64_t MiB = 1ull << 20;
constexpr std::uint64_t GiB = 1ull << 30;
constexpr std::uint64_t TiB = 1ull << 40;

std::string allErrors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += e.toString() + "\n";
  return out;
}

std::filesystem::path sourceDir() {
  if (const char* dir = std::getenv("STRATA_SOURCE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  // Set by strata_test(). Not __FILE__: with ccache's base_dir it is a path relative to the build
  // directory, which does not resolve from where ctest runs the test.
  return STRATA_DEFAULT_SOURCE_DIR;
}

// A minimal valid document, to which each case appends or prepends its own lines.
constexpr const char* kPools =
    "pools:\n"
    "  - name: a\n"
    "    backends:\n"
    "      - url: http://127.0.0.1:8000\n";

// ------------------------------------------------------------------------------------------
// Sizes and durations.

struct SizeCase {
  const char* text;
  std::optional<std::uint64_t> bytes;
};

class SizeTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(SizeTest, Parses) {
  const SizeCase& c = GetParam();
  EXPECT_EQ(parseSize(c.text), c.bytes) << "text: '" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Units, SizeTest,
    ::testing::Values(
        SizeCase{"0", 0}, SizeCase{"4096", 4096}, SizeCase{"4096B", 4096}, SizeCase{"4096 B", 4096},
        SizeCase{"64KB", 64000}, SizeCase{"64 KB", 64000}, SizeCase{"3MB", 3000000},
        SizeCase{"2GB", 2000000000ull}, SizeCase{"1TB", 1000000000000ull}, SizeCase{"1KiB", KiB},
        SizeCase{"512MiB", 512 * MiB}, SizeCase{"10GiB", 10 * GiB}, SizeCase{"2TiB", 2 * TiB},
        SizeCase{"007MiB", 7 * MiB}, SizeCase{"18446744073709551615", UINT64_MAX},
        SizeCase{"16777215TiB", 16777215 * TiB},
        // Invalid.
        SizeCase{"", std::nullopt}, SizeCase{"MiB", std::nullopt}, SizeCase{" 1MiB", std::nullopt},
        SizeCase{"1MiB ", std::nullopt}, SizeCase{"1  MiB", std::nullopt},
        SizeCase{"1 ", std::nullopt}, SizeCase{"1mib", std::nullopt}, SizeCase{"1kb", std::nullopt},
        SizeCase{"1Mi", std::nullopt}, SizeCase{"1M", std::nullopt},
        SizeCase{"1.5GiB", std::nullopt}, SizeCase{"-1", std::nullopt},
        SizeCase{"+1", std::nullopt}, SizeCase{"1MiB1", std::nullopt},
        SizeCase{"0x10", std::nullopt}, SizeCase{"1 GiB extra", std::nullopt},
        // Overflow.
        SizeCase{"18446744073709551616", std::nullopt},
        SizeCase{"99999999999999999999999", std::nullopt}, SizeCase{"16777216TiB", std::nullopt},
        SizeCase{"18446744073709552KB", std::nullopt}));

struct DurationCase {
  const char* text;
  std::optional<std::int64_t> ms;
};

class DurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(DurationTest, Parses) {
  const DurationCase& c = GetParam();
  EXPECT_EQ(parseDuration(c.text), c.ms) << "text: '" << c.text << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Units, DurationTest,
    ::testing::Values(DurationCase{"250ms", 250}, DurationCase{"0ms", 0}, DurationCase{"0s", 0},
                      DurationCase{"5s", 5000}, DurationCase{"5 s", 5000},
                      DurationCase{"10m", 600000}, DurationCase{"1h", 3600000},
                      DurationCase{"2d", 172800000},
                      DurationCase{"9223372036854775807ms", INT64_MAX},
                      // Invalid.
                      DurationCase{"", std::nullopt}, DurationCase{"5", std::nullopt},
                      DurationCase{"s", std::nullopt}, DurationCase{"5S", std::nullopt},
                      DurationCase{"5sec", std::nullopt}, DurationCase{"1.5s", std::nullopt},
                      DurationCase{"-1s", std::nullopt}, DurationCase{"1h30m", std::nullopt},
                      DurationCase{"5 ", std::nullopt}, DurationCase{" 5s", std::nullopt},
                      DurationCase{"5us", std::nullopt},
                      // Overflow.
                      DurationCase{"9223372036854775808ms", std::nullopt},
                      DurationCase{"9223372036854776s", std::nullopt},
                      DurationCase{"106751991167301d", std::nullopt},
                      DurationCase{"99999999999999999999s", std::nullopt}));

// ------------------------------------------------------------------------------------------
// Addresses and URLs.

struct HostPortCase {
  const char* text;
  bool valid;
  const char* host = "";
  int port = 0;
};

class HostPortTest : public ::testing::TestWithParam<HostPortCase> {};

TEST_P(HostPortTest, Parses) {
  const HostPortCase& c = GetParam();
  auto parsed = parseHostPort(c.text);
  ASSERT_EQ(parsed.has_value(), c.valid) << c.text;
  if (parsed) {
    EXPECT_EQ(parsed->host, c.host);
    EXPECT_EQ(parsed->port, c.port);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, HostPortTest,
    ::testing::Values(HostPortCase{"0.0.0.0:8080", true, "0.0.0.0", 8080},
                      HostPortCase{"127.0.0.1:0", true, "127.0.0.1", 0},
                      HostPortCase{"[::1]:9090", true, "::1", 9090},
                      HostPortCase{"[::]:65535", true, "::", 65535},
                      HostPortCase{"localhost:80", true, "localhost", 80},
                      HostPortCase{"edge-1.example.com:443", true, "edge-1.example.com", 443},
                      HostPortCase{"8080", false}, HostPortCase{":8080", false},
                      HostPortCase{"0.0.0.0", false}, HostPortCase{"0.0.0.0:", false},
                      HostPortCase{"0.0.0.0:65536", false}, HostPortCase{"0.0.0.0:-1", false},
                      HostPortCase{"0.0.0.0:80x", false}, HostPortCase{"::1:8080", false},
                      HostPortCase{"[::1]8080", false}, HostPortCase{"[nope]:8080", false},
                      HostPortCase{"256.0.0.1:80", false}, HostPortCase{"-bad-:80", false},
                      HostPortCase{"a b:80", false}, HostPortCase{"a_b:80", false}));

struct UrlCase {
  const char* url;
  bool valid;
  const char* hostPort = "";
  bool tls = false;
};

class BackendUrlTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(BackendUrlTest, Parses) {
  const UrlCase& c = GetParam();
  auto parsed = parseBackendUrl(c.url);
  ASSERT_EQ(parsed.has_value(), c.valid) << c.url;
  if (parsed) {
    EXPECT_EQ(parsed->hostPort(), c.hostPort);
    EXPECT_EQ(parsed->tls, c.tls);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, BackendUrlTest,
    ::testing::Values(UrlCase{"demo:", true, "demo"},
                      UrlCase{"http://127.0.0.1:8000", true, "127.0.0.1:8000"},
                      UrlCase{"http://127.0.0.1:8000/", true, "127.0.0.1:8000"},
                      UrlCase{"http://origin.example.com", true, "origin.example.com:80"},
                      UrlCase{"https://origin.example.com", true, "origin.example.com:443", true},
                      UrlCase{"https://origin:8443/", true, "origin:8443", true},
                      UrlCase{"http://[::1]:8000", true, "[::1]:8000"},
                      UrlCase{"http://[::1]", true, "[::1]:80"}, UrlCase{"demo", false},
                      UrlCase{"demo:x", false}, UrlCase{"ftp://host", false},
                      UrlCase{"127.0.0.1:8000", false}, UrlCase{"http://", false},
                      UrlCase{"http://host/path", false}, UrlCase{"http://host:0", false},
                      UrlCase{"http://host:99999", false}, UrlCase{"http://user@host", false},
                      UrlCase{"http://host?x=1", false}, UrlCase{"http://[::1", false},
                      UrlCase{"http://host:", false}, UrlCase{"HTTP://host", false}));

// ------------------------------------------------------------------------------------------
// Shipped files.

TEST(ShippedConfig, DefaultLoadsWithoutErrors) {
  const std::filesystem::path file = sourceDir() / "config" / "strata.yaml";
  LoadResult result = loadConfigFile(file.string());
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const Config& c = result.config;
  EXPECT_EQ(c.nodeName, "edge-1");
  EXPECT_EQ(c.listen, "0.0.0.0:8080");
  EXPECT_EQ(c.adminListen, "127.0.0.1:9090");
  EXPECT_TRUE(c.adminTokens.empty());
  EXPECT_EQ(c.cacheDir, "./var/cache");
  EXPECT_EQ(c.memoryBytes, 256 * MiB);
  EXPECT_EQ(c.diskBytes, 1 * GiB);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].name, "demo");
  ASSERT_EQ(c.pools[0].backends.size(), 1u);
  EXPECT_EQ(c.pools[0].backends[0].url, "demo:");
  EXPECT_EQ(c.pools[0].backends[0].name, "demo");
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].pathPrefix, "/");
  EXPECT_EQ(c.routes[0].pools, std::vector<std::string>{"demo"});
  EXPECT_EQ(c.logLevel, "information");
}

TEST(ShippedConfig, ExamplesLoadWithoutErrors) {
  const std::filesystem::path dir = sourceDir() / "config" / "examples";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++count;
    LoadResult result = loadConfigFile(entry.path().string());
    EXPECT_TRUE(result.ok()) << entry.path() << "\n" << allErrors(result);
  }
  EXPECT_GE(count, 1);
}

TEST(ShippedConfig, OriginExampleHasTwoPools) {
  LoadResult result =
      loadConfigFile((sourceDir() / "config" / "examples" / "origin.yaml").string());
  ASSERT_TRUE(result.ok()) << allErrors(result);
  ASSERT_EQ(result.config.pools.size(), 2u);
  EXPECT_EQ(result.config.pools[0].name, "primary");
  EXPECT_EQ(result.config.pools[0].backends[0].url, "http://127.0.0.1:8000");
  EXPECT_EQ(result.config.pools[1].name, "fallback");
  ASSERT_EQ(result.config.routes.size(), 1u);
  EXPECT_EQ(result.config.routes[0].pools, (std::vector<std::string>{"primary", "fallback"}));
}

// ------------------------------------------------------------------------------------------
// Valid documents.

TEST(LoadConfig, MinimalConfigGetsDefaults) {
  LoadResult result = loadConfigText(kPools, "t.yaml");
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const Config& c = result.config;
  const Config defaults;
  EXPECT_EQ(c.nodeName, defaults.nodeName);
  EXPECT_EQ(c.listen, defaults.listen);
  EXPECT_EQ(c.memoryBytes, defaults.memoryBytes);
  EXPECT_EQ(c.workerThreads, defaults.workerThreads);
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].connectTimeoutMs, 2000);
  EXPECT_EQ(c.pools[0].readTimeoutMs, 30000);
  EXPECT_EQ(c.pools[0].maxIdleConnections, 64);
  ASSERT_EQ(c.pools[0].backends.size(), 1u);
  EXPECT_EQ(c.pools[0].backends[0].name, "127.0.0.1:8000");
  EXPECT_EQ(c.pools[0].backends[0].weight, 1);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].host, "");
  EXPECT_EQ(c.routes[0].pathPrefix, "/");
  EXPECT_EQ(c.routes[0].pools, std::vector<std::string>{"a"});
}

TEST(LoadConfig, EveryKeyIsRead) {
  const char* yaml = R"(
node: {name: n1}
listen: "[::]:0"
admin:
  listen: localhost:9999
  tokens:
    - {name: ci, token: secret1}
    - {name: ops, token: secret2}
cache:
  memory: 64MiB
  max_memory_object: 1MiB
  max_object: 100MB
  disk: {path: /tmp/x, size: 20GiB}
server: {threads: 8, shutdown_grace: 0s, client_timeout: 250ms, defer_accept: 0s}
pools:
  - name: p1
    backends:
      - {name: b1, url: "http://10.0.0.1:81", weight: 0}
      - {url: "https://example.com/", weight: 1000}
    connect_timeout: 1s
    read_timeout: 1m
    max_idle_connections: 0
  - name: p2
    backends: [{url: "demo:"}]
routes:
  - {host: Example.COM, path_prefix: /img/, pools: [p2, p1]}
  - {pools: [p1]}
logging: {level: trace, access_log: /tmp/access.log}
)";
  LoadResult result = loadConfigText(yaml, "t.yaml");
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const Config& c = result.config;
  EXPECT_EQ(c.nodeName, "n1");
  EXPECT_EQ(c.listen, "[::]:0");
  EXPECT_EQ(c.adminListen, "localhost:9999");
  ASSERT_EQ(c.adminTokens.size(), 2u);
  EXPECT_EQ(c.adminTokens[1].name, "ops");
  EXPECT_EQ(c.adminTokens[1].token, "secret2");
  EXPECT_EQ(c.memoryBytes, 64 * MiB);
  EXPECT_EQ(c.maxMemoryObjectBytes, 1 * MiB);
  EXPECT_EQ(c.maxObjectBytes, 100000000u);
  EXPECT_EQ(c.cacheDir, "/tmp/x");
  EXPECT_EQ(c.diskBytes, 20 * GiB);
  EXPECT_EQ(c.workerThreads, 8);
  EXPECT_EQ(c.shutdownGraceMs, 0);
  EXPECT_EQ(c.clientTimeoutMs, 250);
  EXPECT_EQ(c.deferAcceptMs, 0);
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].backends[0].name, "b1");
  EXPECT_EQ(c.pools[0].backends[0].weight, 0);
  EXPECT_EQ(c.pools[0].backends[1].name, "example.com:443");
  EXPECT_EQ(c.pools[0].backends[1].weight, 1000);
  EXPECT_EQ(c.pools[0].connectTimeoutMs, 1000);
  EXPECT_EQ(c.pools[0].readTimeoutMs, 60000);
  EXPECT_EQ(c.pools[0].maxIdleConnections, 0);
  EXPECT_EQ(c.pools[1].backends[0].name, "demo");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].host, "example.com");
  EXPECT_EQ(c.routes[0].pathPrefix, "/img/");
  EXPECT_EQ(c.routes[0].pools, (std::vector<std::string>{"p2", "p1"}));
  EXPECT_EQ(c.routes[1].host, "");
  EXPECT_EQ(c.routes[1].pathPrefix, "/");
  EXPECT_EQ(c.logLevel, "trace");
  EXPECT_EQ(c.accessLog, "/tmp/access.log");
}

TEST(LoadConfig, LoggingSection) {
  LoadResult defaults = loadConfigText(kPools, "t.yaml");
  ASSERT_TRUE(defaults.ok()) << allErrors(defaults);
  EXPECT_EQ(defaults.config.accessLogFormat, "combined");
  EXPECT_EQ(defaults.config.errorLog, "");
  EXPECT_EQ(defaults.config.errorLogLevel, "warning");
  EXPECT_EQ(defaults.config.logRotateBytes, 100 * MiB);
  EXPECT_EQ(defaults.config.logRotateKeep, 5);
  LoadResult result = loadConfigText(std::string(kPools) + R"(
logging:
  access_log: /var/log/strata/access.log
  access_log_format: json
  error_log: /var/log/strata/error.log
  error_log_level: error
  rotate_size: 10MiB
  rotate_keep: 20
)",
                                     "t.yaml");
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const Config& c = result.config;
  EXPECT_EQ(c.accessLog, "/var/log/strata/access.log");
  EXPECT_EQ(c.accessLogFormat, "json");
  EXPECT_EQ(c.errorLog, "/var/log/strata/error.log");
  EXPECT_EQ(c.errorLogLevel, "error");
  EXPECT_EQ(c.logRotateBytes, 10 * MiB);
  EXPECT_EQ(c.logRotateKeep, 20);
}

TEST(LoadConfig, EmptyRoutesListMeansDefaultRoute) {
  const std::string yaml = std::string(kPools) +
                           "  - name: b\n"
                           "    backends: [{url: 'demo:'}]\n"
                           "routes: []\n";
  LoadResult result = loadConfigText(yaml, "t.yaml");
  ASSERT_TRUE(result.ok()) << allErrors(result);
  ASSERT_EQ(result.config.routes.size(), 1u);
  EXPECT_EQ(result.config.routes[0].pools, (std::vector<std::string>{"a", "b"}));
}

TEST(LoadConfig, PoolOriginKeysAreRead) {
  const std::string yaml =
      "pools:\n"
      "  - name: shields\n"
      "    load_balancing: hash\n"
      "    backends:\n"
      "      - {name: s1, url: 'https://127.0.0.1:8443', weight: 9}\n"
      "    health_check: {path: /healthz, expect_status: 204, interval: 250ms, timeout: 100ms,\n"
      "                   rise: 4, fall: 5}\n"
      "    passive: {failures: 7, cooldown: 3s}\n"
      "    retries: {tries: 4, deadline: 9s}\n"
      "    timeouts: {connect: 1s, first_byte: 2s, between_bytes: 3s, total: 1m}\n"
      "    tls: {ca_file: /etc/hostname, verify: false, sni: origin.example}\n"
      "  - name: legacy\n"
      "    backends: [{url: 'demo:'}]\n"
      "    read_timeout: 7s\n";
  LoadResult result = loadConfigText(yaml, "t.yaml");
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const Pool& p = result.config.pools[0];
  EXPECT_EQ(p.loadBalancing, "hash");
  EXPECT_TRUE(p.healthCheck.enabled);
  EXPECT_EQ(p.healthCheck.path, "/healthz");
  EXPECT_EQ(p.healthCheck.expectStatus, 204);
  EXPECT_EQ(p.healthCheck.intervalMs, 250);
  EXPECT_EQ(p.healthCheck.timeoutMs, 100);
  EXPECT_EQ(p.healthCheck.rise, 4);
  EXPECT_EQ(p.healthCheck.fall, 5);
  EXPECT_EQ(p.passiveFailures, 7);
  EXPECT_EQ(p.passiveCooldownMs, 3000);
  EXPECT_EQ(p.retryTries, 4);
  EXPECT_EQ(p.retryDeadlineMs, 9000);
  EXPECT_EQ(p.connectTimeoutMs, 1000);
  EXPECT_EQ(p.firstByteMs(), 2000);
  EXPECT_EQ(p.betweenBytesMs(), 3000);
  EXPECT_EQ(p.totalTimeoutMs, 60000);
  EXPECT_EQ(p.tlsCaFile, "/etc/hostname");
  EXPECT_FALSE(p.tlsVerify);
  EXPECT_EQ(p.tlsSni, "origin.example");
  const Pool& legacy = result.config.pools[1];
  EXPECT_FALSE(legacy.healthCheck.enabled);
  EXPECT_EQ(legacy.loadBalancing, "round_robin");
  EXPECT_EQ(legacy.firstByteMs(), 7000);
  EXPECT_EQ(legacy.betweenBytesMs(), 7000);
}

TEST(LoadConfig, EmptySectionsAreAccepted) {
  LoadResult result = loadConfigText(std::string("node:\nadmin:\ncache:\n") + kPools, "t.yaml");
  EXPECT_TRUE(result.ok()) << allErrors(result);
}

// ------------------------------------------------------------------------------------------
// Each invalid document yields an error at the expected place, naming the key.

struct ErrorCase {
  const char* name;
  std::string yaml;
  const char* location;  // Expected "t.yaml:LINE:COL".
  const char* text;      // Expected substring of the message.
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, ReportsLocatedError) {
  const ErrorCase& c = GetParam();
  LoadResult result = loadConfigText(c.yaml, "t.yaml");
  ASSERT_FALSE(result.ok()) << c.yaml;
  bool found = false;
  for (const ConfigError& e : result.errors) {
    if (e.location == c.location && e.message.find(c.text) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << "expected " << c.location << ": ..." << c.text << "...\ngot:\n"
                     << allErrors(result);
}

std::string withPools(const std::string& before) { return before + kPools; }

// kPools and one route (lines 5-7), to which a case appends route keys at line 8.
const std::string kRoute = std::string(kPools) +
                           "routes:\n"
                           "  - path_prefix: /p/\n"
                           "    pools: [a]\n";

INSTANTIATE_TEST_SUITE_P(
    Validation, ConfigErrorTest,
    ::testing::Values(
        // Unknown, reserved and duplicate keys.
        ErrorCase{"UnknownTopLevel", withPools("foo: 1\n"), "t.yaml:1:1", "unknown key 'foo'"},
        ErrorCase{"UnknownInCache", withPools("cache:\n  foo: 1\n"), "t.yaml:2:3",
                  "unknown key 'foo' in cache"},
        ErrorCase{"Misspelt", withPools("cache:\n  memroy: 1GiB\n"), "t.yaml:2:3",
                  "did you mean 'memory'?"},
        ErrorCase{"UnknownInDisk", withPools("cache:\n  disk:\n    bar: 1\n"), "t.yaml:3:5",
                  "unknown key 'bar' in cache.disk"},
        ErrorCase{"UnknownInBackend",
                  "pools:\n  - name: a\n    backends:\n      - url: 'demo:'\n        port: 1\n",
                  "t.yaml:5:9", "unknown key 'port' in pools[0].backends[0]"},
        ErrorCase{"TlsWithoutListen", withPools("tls: {}\n"), "t.yaml:1:1",
                  "tls: `listen` is required"},
        ErrorCase{"TlsOldVersion",
                  withPools("tls:\n  listen: \"127.0.0.1:0\"\n  certificates: []\n"
                            "  min_version: \"1.1\"\n"),
                  "t.yaml:4:16", "tls.min_version: expected 1.2 or 1.3"},
        ErrorCase{"TlsUnreadableCertificate",
                  withPools("tls:\n  listen: \"127.0.0.1:0\"\n  certificates:\n"
                            "    - {cert: /nonexistent/c.pem, key: /nonexistent/k.pem}\n"),
                  "t.yaml:4:14", "cannot read certificate file '/nonexistent/c.pem'"},
        ErrorCase{"PurgeAllowNotACidr", withPools("purge:\n  allow: [\"10.0.0.0/40\"]\n"),
                  "t.yaml:2:11", "purge.allow[0]"},
        // security and the routes' protection keys.
        ErrorCase{"SecurityUnknown", withPools("security:\n  hide_header: [X]\n"), "t.yaml:2:3",
                  "unknown key 'hide_header' in security (did you mean 'hide_headers'?)"},
        ErrorCase{"SecurityRate", withPools("security:\n  rate_limit: {rate: fast}\n"),
                  "t.yaml:2:22", "security.rate_limit.rate: invalid rate 'fast'"},
        ErrorCase{"SecurityRateMissing", withPools("security:\n  rate_limit: {burst: 5}\n"),
                  "t.yaml:2:15", "security.rate_limit: missing required key 'rate'"},
        ErrorCase{"SigningKeyShort", withPools("security:\n  signing_keys: [short]\n"),
                  "t.yaml:2:18", "security.signing_keys[0]: a key needs at least 16 characters"},
        ErrorCase{
            "JwtKeyFile",
            withPools("security:\n  jwt:\n    keys:\n      - public_key_file: /nonexistent/k\n"),
            "t.yaml:4:26", "security.jwt.keys[0].public_key_file: cannot read"},
        ErrorCase{"JwtKeyBoth",
                  withPools("security:\n  jwt:\n    keys:\n      - {secret: 0123456789abcdefg, "
                            "public_key_file: /etc/hostname}\n"),
                  "t.yaml:4:9", "give exactly one of secret (HS256) or public_key_file"},
        ErrorCase{"RouteDenyNotCidr", std::string(kRoute) + "    deny: [nope]\n", "t.yaml:8:12",
                  "routes[0].deny[0]: 'nope' is not an address or CIDR range"},
        ErrorCase{"RouteMisspelt", std::string(kRoute) + "    alow: [10.0.0.0/8]\n", "t.yaml:8:5",
                  "unknown key 'alow' in routes[0] (did you mean 'allow'?)"},
        ErrorCase{"SignedUrlsWithoutKeys", std::string(kRoute) + "    signed_urls: true\n",
                  "t.yaml:8:5",
                  "routes[0].signed_urls: needs at least one key in security.signing_keys"},
        ErrorCase{"JwtWithoutKeys", std::string(kRoute) + "    jwt: {audience: cdn}\n",
                  "t.yaml:8:5", "routes[0].jwt: needs at least one key in security.jwt.keys"},
        ErrorCase{"RouteJwtUnknown", std::string(kRoute) + "    jwt: {aud: cdn}\n", "t.yaml:8:11",
                  "unknown key 'aud' in routes[0].jwt"},
        ErrorCase{"RouteRateWord", std::string(kRoute) + "    rate_limit: sometimes\n",
                  "t.yaml:8:17", "routes[0].rate_limit: expected {rate, burst} or off"},
        ErrorCase{"RouteRateCapacity",
                  std::string(kRoute) + "    rate_limit: {rate: 1/s, capacity: 5}\n", "t.yaml:8:29",
                  "unknown key 'capacity' in routes[0].rate_limit"},
        ErrorCase{"HstsMaxAge", std::string(kRoute) + "    hsts: {max_age: forever}\n",
                  "t.yaml:8:21", "routes[0].hsts.max_age: invalid max-age 'forever'"},
        ErrorCase{"HstsMissingMaxAge", std::string(kRoute) + "    hsts: {preload: true}\n",
                  "t.yaml:8:11", "routes[0].hsts: missing required key 'max_age'"},
        ErrorCase{"RedirectPort", std::string(kRoute) + "    https_redirect_port: 70000\n",
                  "t.yaml:8:26", "routes[0].https_redirect_port: 70000 is out of range"},
        ErrorCase{"RedirectNotBool", std::string(kRoute) + "    https_redirect: yes\n",
                  "t.yaml:8:21", "routes[0].https_redirect: expected true or false"},
        ErrorCase{"HealthCheckUnknownKey", std::string(kPools) + "    health_check: {pth: /}\n",
                  "t.yaml:5:20",
                  "unknown key 'pth' in pools[0].health_check (did you mean 'path'?)"},
        ErrorCase{"HealthCheckPath", std::string(kPools) + "    health_check: {path: x}\n",
                  "t.yaml:5:26", "pools[0].health_check.path: 'x' must start with '/'"},
        ErrorCase{"HealthCheckRise", std::string(kPools) + "    health_check:\n      rise: 0\n",
                  "t.yaml:6:13", "pools[0].health_check.rise: 0 is out of range"},
        ErrorCase{"LoadBalancing", std::string(kPools) + "    load_balancing: random\n",
                  "t.yaml:5:21",
                  "unknown policy 'random' (expected round_robin, least_conn or hash)"},
        ErrorCase{"RetriesTries", std::string(kPools) + "    retries: {tries: 0}\n", "t.yaml:5:22",
                  "pools[0].retries.tries: 0 is out of range"},
        ErrorCase{"TimeoutsUnknown", std::string(kPools) + "    timeouts: {read: 1s}\n",
                  "t.yaml:5:16", "unknown key 'read' in pools[0].timeouts"},
        ErrorCase{"ConnectTwice",
                  std::string(kPools) + "    connect_timeout: 1s\n    timeouts: {connect: 2s}\n",
                  "t.yaml:5:5", "give either connect_timeout or timeouts.connect"},
        ErrorCase{"TlsCaMissing", std::string(kPools) + "    tls: {ca_file: /nonexistent/ca.pem}\n",
                  "t.yaml:5:20", "pools[0].tls.ca_file: cannot read CA file '/nonexistent/ca.pem'"},
        ErrorCase{"TlsVerifyNotBool", std::string(kPools) + "    tls: {verify: maybe}\n",
                  "t.yaml:5:19", "pools[0].tls.verify: expected true or false"},
        ErrorCase{"PassiveCooldown", std::string(kPools) + "    passive: {cooldown: 10}\n",
                  "t.yaml:5:25", "pools[0].passive.cooldown: invalid duration '10'"},
        ErrorCase{"DuplicateKey", withPools("listen: 1.2.3.4:1\nlisten: 1.2.3.4:2\n"), "t.yaml:2:1",
                  "duplicate key 'listen'"},
        // Types.
        ErrorCase{"RootNotMap", "- a\n- b\n", "t.yaml:1:1", "must be a map of sections"},
        ErrorCase{"CacheNotMap", withPools("cache: 12\n"), "t.yaml:1:8",
                  "cache: expected a map, got a scalar"},
        ErrorCase{"PoolsNotList", "pools: {a: 1}\n", "t.yaml:1:8",
                  "pools: expected a list of pools, got a map"},
        ErrorCase{"NodeNameMap", withPools("node:\n  name: {a: 1}\n"), "t.yaml:2:9",
                  "node.name: expected a string, got a map"},
        ErrorCase{"ListenNull", withPools("listen:\n"), "t.yaml:1:1",
                  "listen: expected an address HOST:PORT, got nothing"},
        ErrorCase{"KeyNotScalar", withPools("? [a]\n: 1\n"), "t.yaml:1:3",
                  "keys must be plain names"},
        // Sizes.
        ErrorCase{"BadSize", withPools("cache:\n  memory: 12XB\n"), "t.yaml:2:11",
                  "cache.memory: invalid size '12XB'"},
        ErrorCase{"SizeOverflow", withPools("cache:\n  max_object: 99999999999TiB\n"),
                  "t.yaml:2:15", "cache.max_object: invalid size"},
        ErrorCase{"MemoryTooSmall", withPools("cache:\n  memory: 1000KiB\n"), "t.yaml:2:11",
                  "cache.memory: 1000KiB is below the minimum of 1MiB"},
        ErrorCase{"DiskTooSmall", withPools("cache:\n  disk: {size: 15MiB}\n"), "t.yaml:2:16",
                  "cache.disk.size: 15MiB is below the minimum of 16MiB"},
        ErrorCase{"MaxMemoryObject",
                  withPools("cache:\n  memory: 4MiB\n  max_memory_object: 5MiB\n"), "t.yaml:3:22",
                  "smaller than cache.max_memory_object"},
        ErrorCase{"MaxObjectZero", withPools("cache:\n  max_object: 0\n"), "t.yaml:2:15",
                  "cache.max_object: must be greater than 0"},
        ErrorCase{"EmptyCacheDir", withPools("cache:\n  disk:\n    path: ''\n"), "t.yaml:3:11",
                  "cache.disk.path: must not be empty"},
        // Durations and integers.
        ErrorCase{"BareDuration", withPools("server:\n  shutdown_grace: 10\n"), "t.yaml:2:19",
                  "server.shutdown_grace: invalid duration '10'"},
        ErrorCase{"DurationTooLong", withPools("server:\n  client_timeout: 2d\n"), "t.yaml:2:19",
                  "too long"},
        ErrorCase{"DeferAcceptTooLong", withPools("server:\n  defer_accept: 2m\n"), "t.yaml:2:17",
                  "server.defer_accept: at most 60s"},
        ErrorCase{"ZeroTimeout", std::string(kPools) + "    connect_timeout: 0s\n", "t.yaml:5:22",
                  "pools[0].connect_timeout: 0s is too short"},
        ErrorCase{"ThreadsZero", withPools("server: {threads: 0}\n"), "t.yaml:1:19",
                  "server.threads: 0 is out of range (expected 1..4096)"},
        ErrorCase{"ThreadsTooMany", withPools("server: {threads: 4097}\n"), "t.yaml:1:19",
                  "server.threads: 4097 is out of range"},
        ErrorCase{"ThreadsNotInt", withPools("server: {threads: many}\n"), "t.yaml:1:19",
                  "server.threads: 'many' is not an integer"},
        ErrorCase{"IdleNegative", std::string(kPools) + "    max_idle_connections: -1\n",
                  "t.yaml:5:27", "pools[0].max_idle_connections: -1 is out of range"},
        // Addresses.
        ErrorCase{"ListenNoPort", withPools("listen: 0.0.0.0\n"), "t.yaml:1:9",
                  "listen: invalid address '0.0.0.0'"},
        ErrorCase{"ListenBigPort", withPools("listen: 0.0.0.0:65536\n"), "t.yaml:1:9",
                  "listen: invalid address"},
        ErrorCase{"ListenBareIpv6", withPools("listen: '::1:80'\n"), "t.yaml:1:9",
                  "listen: invalid address"},
        ErrorCase{"AdminListen", withPools("admin:\n  listen: nope\n"), "t.yaml:2:11",
                  "admin.listen: invalid address 'nope'"},
        // Admin tokens.
        ErrorCase{"TokenMissing", withPools("admin:\n  tokens:\n    - name: ci\n"), "t.yaml:3:7",
                  "admin.tokens[0]: missing required key 'token'"},
        ErrorCase{"TokenEmpty", withPools("admin:\n  tokens:\n    - {name: ci, token: ''}\n"),
                  "t.yaml:3:25", "admin.tokens[0].token: must not be empty"},
        ErrorCase{"TokenDuplicateName",
                  withPools("admin:\n  tokens:\n    - {name: ci, token: a}\n"
                            "    - {name: ci, token: b}\n"),
                  "t.yaml:4:14", "admin.tokens[1].name: duplicate token name 'ci'"},
        ErrorCase{"TokensNotList", withPools("admin:\n  tokens: abc\n"), "t.yaml:2:11",
                  "admin.tokens: expected a list"},
        // Pools and backends.
        ErrorCase{"NoPools", "listen: 0.0.0.0:1\n", "t.yaml:1:1", "pools: no pools defined"},
        ErrorCase{"EmptyPools", "pools: []\n", "t.yaml:1:1", "no pools defined"},
        ErrorCase{"EmptyDocument", "", "t.yaml:1:1", "no pools defined"},
        ErrorCase{"PoolNoName", "pools:\n  - backends: [{url: 'demo:'}]\n", "t.yaml:2:5",
                  "pools[0]: missing required key 'name'"},
        ErrorCase{"PoolEmptyName", "pools:\n  - name: ''\n    backends: [{url: 'demo:'}]\n",
                  "t.yaml:2:11", "pools[0].name: must not be empty"},
        ErrorCase{"PoolSlashName", "pools:\n  - name: a/b\n    backends: [{url: 'demo:'}]\n",
                  "t.yaml:2:11", "pools[0].name: 'a/b' must not contain"},
        ErrorCase{
            "DuplicatePool", std::string(kPools) + "  - name: a\n    backends: [{url: 'demo:'}]\n",
            "t.yaml:5:11", "pools[1].name: duplicate pool name 'a' (first defined at t.yaml:2:11)"},
        ErrorCase{"NoBackends", "pools:\n  - name: a\n", "t.yaml:2:5",
                  "pools[0]: missing required key 'backends'"},
        ErrorCase{"EmptyBackends", "pools:\n  - name: a\n    backends: []\n", "t.yaml:3:5",
                  "pools[0].backends: a pool needs at least one backend"},
        ErrorCase{"BackendNoUrl", "pools:\n  - name: a\n    backends:\n      - weight: 1\n",
                  "t.yaml:4:9", "pools[0].backends[0]: missing required key 'url'"},
        ErrorCase{"BackendBadUrl", "pools:\n  - name: a\n    backends:\n      - url: ftp://x\n",
                  "t.yaml:4:14", "pools[0].backends[0].url: invalid backend URL 'ftp://x'"},
        ErrorCase{"BackendUrlPath",
                  "pools:\n  - name: a\n    backends:\n      - url: http://x/api\n", "t.yaml:4:14",
                  "invalid backend URL"},
        ErrorCase{"WeightTooBig",
                  "pools:\n  - name: a\n    backends:\n      - {url: 'demo:', weight: 1001}\n",
                  "t.yaml:4:32",
                  "pools[0].backends[0].weight: 1001 is out of range (expected 0..1000)"},
        ErrorCase{"WeightNegative",
                  "pools:\n  - name: a\n    backends:\n      - {url: 'demo:', weight: -1}\n",
                  "t.yaml:4:32", "weight: -1 is out of range"},
        ErrorCase{"DuplicateBackend",
                  "pools:\n  - name: a\n    backends:\n      - url: http://h:1\n"
                  "      - url: http://h:1/\n",
                  "t.yaml:5:9", "duplicate backend name 'h:1'"},
        ErrorCase{"PoolNotMap", "pools:\n  - just-a-name\n", "t.yaml:2:5",
                  "pools[0]: expected a map, got a scalar"},
        // Routes.
        ErrorCase{"RouteUnknownPool", withPools("routes:\n  - pools: [a, nope]\n"), "t.yaml:2:16",
                  "routes[0].pools: unknown pool 'nope'"},
        ErrorCase{"RouteNoPools", withPools("routes:\n  - path_prefix: /x\n"), "t.yaml:2:5",
                  "routes[0]: missing required key 'pools'"},
        ErrorCase{"RouteEmptyPools", withPools("routes:\n  - pools: []\n"), "t.yaml:2:12",
                  "routes[0].pools: a route needs at least one pool"},
        ErrorCase{"RoutePrefix", withPools("routes:\n  - {path_prefix: img, pools: [a]}\n"),
                  "t.yaml:2:19", "routes[0].path_prefix: 'img' must start with '/'"},
        ErrorCase{"RoutePoolTwice", withPools("routes:\n  - pools: [a, a]\n"), "t.yaml:2:16",
                  "routes[0].pools[1]: pool 'a' is listed twice"},
        ErrorCase{"RouteDuplicate",
                  withPools("routes:\n  - {host: x, pools: [a]}\n  - {host: X, pools: [a]}\n"),
                  "t.yaml:3:5", "routes[1]: duplicate route for host 'x'"},
        ErrorCase{"RouteBadHost", withPools("routes:\n  - {host: 'a b', pools: [a]}\n"),
                  "t.yaml:2:12", "routes[0].host: 'a b' is not a host name"},
        ErrorCase{"RoutePoolsNotList", withPools("routes:\n  - {pools: a}\n"), "t.yaml:2:13",
                  "routes[0].pools: expected a list of pool names"},
        // Logging and node.
        ErrorCase{"LogLevel", withPools("logging:\n  level: verbose\n"), "t.yaml:2:10",
                  "logging.level: unknown level 'verbose'"},
        ErrorCase{"LogLevelCase", withPools("logging:\n  level: DEBUG\n"), "t.yaml:2:10",
                  "logging.level"},
        ErrorCase{"AccessLogFormat", withPools("logging:\n  access_log_format: clf\n"),
                  "t.yaml:2:22", "logging.access_log_format: unknown format 'clf'"},
        ErrorCase{"ErrorLogLevel", withPools("logging:\n  error_log_level: bad\n"), "t.yaml:2:20",
                  "logging.error_log_level: unknown level 'bad'"},
        ErrorCase{"RotateSizeSmall", withPools("logging:\n  rotate_size: 10B\n"), "t.yaml:2:16",
                  "logging.rotate_size: must be at least 1KiB"},
        ErrorCase{"RotateKeepZero", withPools("logging:\n  rotate_keep: 0\n"), "t.yaml:2:16",
                  "logging.rotate_keep: 0 is out of range"},
        ErrorCase{"UnknownInLogging", withPools("logging:\n  access_format: json\n"), "t.yaml:2:3",
                  "unknown key 'access_format'"},
        ErrorCase{"NodeNameSpace", withPools("node: {name: 'edge 1'}\n"), "t.yaml:1:14",
                  "node.name: 'edge 1' may only contain"},
        ErrorCase{"NodeNameEmpty", withPools("node: {name: ''}\n"), "t.yaml:1:14",
                  "node.name: must not be empty"},
        ErrorCase{"TwoDocuments", withPools("") + "---\nlisten: 1.2.3.4:5\n", "t.yaml:6:1",
                  "only one YAML document"},
        // Found by config_fuzz: yaml-cpp 0.7's LoadAll looped forever on these, growing memory.
        ErrorCase{"YamlCppEndlessDocuments", ",:[", "t.yaml:1:1", "YAML syntax error"},
        ErrorCase{"YamlCppEndlessDocumentsAfterText", ",v\x7fpo/:[", "t.yaml:1:1",
                  "YAML syntax error"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

// ------------------------------------------------------------------------------------------
// Several problems, syntax errors, files.

TEST(LoadConfig, CollectsAllErrors) {
  const char* yaml = R"(listen: nowhere
cache:
  memory: lots
  foo: 1
pools:
  - name: a
    backends:
      - url: ftp://x
        weight: 5000
routes:
  - pools: [b]
logging: {level: loud}
)";
  LoadResult result = loadConfigText(yaml, "multi.yaml");
  ASSERT_FALSE(result.ok());
  std::vector<std::string> got;
  for (const ConfigError& e : result.errors) got.push_back(e.toString());
  EXPECT_THAT(got, ::testing::IsSupersetOf({
                       HasSubstr("multi.yaml:1:9: listen: invalid address"),
                       HasSubstr("multi.yaml:3:11: cache.memory: invalid size"),
                       HasSubstr("multi.yaml:4:3: unknown key 'foo' in cache"),
                       HasSubstr("multi.yaml:8:14: pools[0].backends[0].url"),
                       HasSubstr("multi.yaml:9:17: pools[0].backends[0].weight"),
                       HasSubstr("multi.yaml:11:13: routes[0].pools: unknown pool 'b'"),
                       HasSubstr("multi.yaml:12:18: logging.level"),
                   }))
      << allErrors(result);
  EXPECT_EQ(result.errors.size(), 7u) << allErrors(result);
}

struct SyntaxCase {
  const char* yaml;
  const char* location;
};

void PrintTo(const SyntaxCase& c, std::ostream* os) { *os << "'" << c.yaml << "'"; }

class SyntaxErrorTest : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(SyntaxErrorTest, OneLocatedError) {
  LoadResult result = loadConfigText(GetParam().yaml, "bad.yaml");
  ASSERT_EQ(result.errors.size(), 1u) << allErrors(result);
  EXPECT_EQ(result.errors[0].location, GetParam().location);
  EXPECT_THAT(result.errors[0].message, HasSubstr("YAML syntax error"));
}

INSTANTIATE_TEST_SUITE_P(LoadConfig, SyntaxErrorTest,
                         ::testing::Values(SyntaxCase{"pools: [a, b\nlisten: x\n", "bad.yaml:2:7"},
                                           SyntaxCase{"a: *nope\n", "bad.yaml:1:4"},
                                           SyntaxCase{"a: b: c\n", "bad.yaml:1:5"},
                                           SyntaxCase{"{a: 1\n", "bad.yaml:2:1"},
                                           SyntaxCase{"a: 1\n b: 2\n", "bad.yaml:2:3"},
                                           SyntaxCase{"a:\n\tb: 1\n", "bad.yaml:2:3"}));

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "strata-config-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(LoadConfigFile, MissingFileIsOneError) {
  TempDir dir;
  const std::string file = (dir.path() / "absent.yaml").string();
  LoadResult result = loadConfigFile(file);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].location, file);
  EXPECT_THAT(result.errors[0].message, HasSubstr("cannot read config file"));
  EXPECT_THAT(result.errors[0].message, HasSubstr("No such file"));
}

TEST(LoadConfigFile, DirectoryIsOneError) {
  TempDir dir;
  LoadResult result = loadConfigFile(dir.path().string());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_THAT(result.errors[0].message, HasSubstr("cannot read config file"));
}

TEST(LoadConfigFile, UnreadableFileIsOneError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  TempDir dir;
  const std::filesystem::path file = dir.path() / "secret.yaml";
  std::ofstream(file) << kPools;
  std::filesystem::permissions(file, std::filesystem::perms::none);
  LoadResult result = loadConfigFile(file.string());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_THAT(result.errors[0].message, HasSubstr("Permission denied"));
}

TEST(LoadConfigFile, LocationsUseThePath) {
  TempDir dir;
  const std::filesystem::path file = dir.path() / "c.yaml";
  std::ofstream(file) << "cache:\n  wat: 1\n" << kPools;
  LoadResult result = loadConfigFile(file.string());
  ASSERT_EQ(result.errors.size(), 1u) << allErrors(result);
  EXPECT_EQ(result.errors[0].location, file.string() + ":2:3");
}

// ------------------------------------------------------------------------------------------
// Command-line overrides.

LoadResult validBase() {
  LoadResult result = loadConfigText(std::string("cache:\n  memory: 64MiB\n") + kPools, "t.yaml");
  EXPECT_TRUE(result.ok()) << allErrors(result);
  return result;
}

TEST(Overrides, EmptyOrAbsentLeavesValues) {
  LoadResult result = validBase();
  const Config before = result.config;
  Overrides overrides;
  overrides.listen = "";
  overrides.name = "";
  applyOverrides(result, overrides);
  EXPECT_TRUE(result.ok()) << allErrors(result);
  EXPECT_EQ(result.config.listen, before.listen);
  EXPECT_EQ(result.config.nodeName, before.nodeName);
  EXPECT_EQ(result.config.pools.size(), before.pools.size());
}

TEST(Overrides, ValidValuesApply) {
  LoadResult result = validBase();
  Overrides o;
  o.listen = "127.0.0.1:0";
  o.adminListen = "[::1]:9191";
  o.origin = "https://origin.example.com";
  o.cacheDir = "/tmp/strata-cache";
  o.memory = "32MiB";
  o.disk = "2GiB";
  o.name = "edge-9";
  applyOverrides(result, o);
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const Config& c = result.config;
  EXPECT_EQ(c.listen, "127.0.0.1:0");
  EXPECT_EQ(c.adminListen, "[::1]:9191");
  EXPECT_EQ(c.cacheDir, "/tmp/strata-cache");
  EXPECT_EQ(c.memoryBytes, 32 * MiB);
  EXPECT_EQ(c.diskBytes, 2 * GiB);
  EXPECT_EQ(c.nodeName, "edge-9");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].name, "origin");
  ASSERT_EQ(c.pools[0].backends.size(), 1u);
  EXPECT_EQ(c.pools[0].backends[0].url, "https://origin.example.com");
  EXPECT_EQ(c.pools[0].backends[0].name, "origin.example.com:443");
  EXPECT_EQ(c.pools[0].backends[0].weight, 1);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].host, "");
  EXPECT_EQ(c.routes[0].pathPrefix, "/");
  EXPECT_EQ(c.routes[0].pools, std::vector<std::string>{"origin"});
}

struct OverrideCase {
  const char* name;
  Overrides overrides;
  const char* location;
  const char* text;
};

void PrintTo(const OverrideCase& c, std::ostream* os) { *os << c.name; }

class OverrideErrorTest : public ::testing::TestWithParam<OverrideCase> {};

TEST_P(OverrideErrorTest, NamesTheOption) {
  LoadResult result = validBase();
  const Config before = result.config;
  applyOverrides(result, GetParam().overrides);
  ASSERT_EQ(result.errors.size(), 1u) << allErrors(result);
  EXPECT_EQ(result.errors[0].location, GetParam().location);
  EXPECT_THAT(result.errors[0].message, HasSubstr(GetParam().text));
  // A rejected override leaves the file's value.
  EXPECT_EQ(result.config.listen, before.listen);
  EXPECT_EQ(result.config.memoryBytes, before.memoryBytes);
  EXPECT_EQ(result.config.pools[0].name, before.pools[0].name);
}

Overrides with(std::optional<std::string> Overrides::*field, const char* value) {
  Overrides o;
  o.*field = value;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    Overrides, OverrideErrorTest,
    ::testing::Values(
        OverrideCase{"Listen", with(&Overrides::listen, "8080"), "--listen", "invalid address"},
        OverrideCase{"AdminListen", with(&Overrides::adminListen, "x:99999"), "--admin-listen",
                     "invalid address 'x:99999'"},
        OverrideCase{"Origin", with(&Overrides::origin, "127.0.0.1:8000"), "--origin",
                     "invalid backend URL"},
        OverrideCase{"OriginPath", with(&Overrides::origin, "http://h/x"), "--origin",
                     "invalid backend URL"},
        OverrideCase{"Memory", with(&Overrides::memory, "lots"), "--memory", "invalid size 'lots'"},
        OverrideCase{"MemoryTiny", with(&Overrides::memory, "512KiB"), "--memory",
                     "below the minimum of 1MiB"},
        OverrideCase{"MemoryBelowObject", with(&Overrides::memory, "4MiB"), "--memory",
                     "smaller than cache.max_memory_object (8MiB)"},
        OverrideCase{"Disk", with(&Overrides::disk, "1XB"), "--disk", "invalid size"},
        OverrideCase{"DiskTiny", with(&Overrides::disk, "1MiB"), "--disk",
                     "below the minimum of 16MiB"},
        OverrideCase{"Name", with(&Overrides::name, "a;b"), "--name", "may only contain"}),
    [](const ::testing::TestParamInfo<OverrideCase>& info) {
      return std::string(info.param.name);
    });

TEST(Overrides, KeepFileErrorsAndAddTheirOwn) {
  LoadResult result = loadConfigText(std::string("logging: {level: loud}\n") + kPools, "t.yaml");
  ASSERT_EQ(result.errors.size(), 1u);
  Overrides o;
  o.listen = "nope";
  applyOverrides(result, o);
  ASSERT_EQ(result.errors.size(), 2u) << allErrors(result);
  EXPECT_EQ(result.errors[0].location, "t.yaml:1:18");
  EXPECT_EQ(result.errors[1].location, "--listen");
}

TEST(Overrides, OriginReplacesBrokenPoolsAndRoutes) {
  // A file without usable pools is fine when --origin supplies one.
  LoadResult result =
      loadConfigText("pools:\n  - name: a\n    retries: 3\nroutes:\n  - pools: [zz]\n", "t.yaml");
  ASSERT_FALSE(result.ok());
  Overrides o;
  o.origin = "http://127.0.0.1:8000";
  applyOverrides(result, o);
  EXPECT_TRUE(result.ok()) << allErrors(result);
  ASSERT_EQ(result.config.pools.size(), 1u);
  EXPECT_EQ(result.config.pools[0].backends[0].name, "127.0.0.1:8000");
  EXPECT_EQ(result.config.routes[0].pools, std::vector<std::string>{"origin"});

  LoadResult empty = loadConfigText("", "t.yaml");
  applyOverrides(empty, o);
  EXPECT_TRUE(empty.ok()) << allErrors(empty);
}

TEST(Overrides, ReplacedValueClearsItsFileError) {
  LoadResult result =
      loadConfigText(std::string("listen: bad\ncache: {memory: 2MiB}\n") + kPools, "t.yaml");
  ASSERT_EQ(result.errors.size(), 2u) << allErrors(result);  // listen; memory < max_memory_object
  Overrides o;
  o.listen = "0.0.0.0:1";
  o.memory = "16MiB";
  applyOverrides(result, o);
  EXPECT_TRUE(result.ok()) << allErrors(result);
  EXPECT_EQ(result.config.memoryBytes, 16 * MiB);
}

TEST(ConfigSecurityTest, ReadsTheSecuritySectionAndRouteProtection) {
  const std::string yaml = std::string(kPools) +
                           "security:\n"
                           "  hide_headers: [X-AspNet-Version, X-Backend]\n"
                           "  rate_limit: {rate: 600/m, burst: 20, capacity: 1000}\n"
                           "  signing_keys: [current-key-0123456789, previous-key-0123456789]\n"
                           "  jwt:\n"
                           "    keys:\n"
                           "      - secret: jwt-secret-0123456789\n"
                           "    issuer: https://auth.example\n"
                           "    audience: cdn\n"
                           "    leeway: 30s\n"
                           "routes:\n"
                           "  - path_prefix: /\n"
                           "    pools: [a]\n"
                           "  - path_prefix: /private/\n"
                           "    pools: [a]\n"
                           "    allow: [10.0.0.0/8, \"::1\"]\n"
                           "    deny: [10.1.0.0/16]\n"
                           "    rate_limit: {rate: 5/s}\n"
                           "    signed_urls: true\n"
                           "    jwt: {audience: api, forward_authorization: true}\n"
                           "    https_redirect: true\n"
                           "    https_redirect_port: 8443\n"
                           "    hsts: {max_age: 1y, include_subdomains: true}\n"
                           "  - path_prefix: /open/\n"
                           "    pools: [a]\n"
                           "    rate_limit: off\n"
                           "    jwt: true\n";
  LoadResult result = loadConfigText(yaml, "t.yaml");
  ASSERT_TRUE(result.ok()) << allErrors(result);
  const SecurityConfig& s = result.config.security;
  EXPECT_EQ(s.hideHeaders, (std::vector<std::string>{"X-AspNet-Version", "X-Backend"}));
  ASSERT_TRUE(s.rateLimit);
  EXPECT_DOUBLE_EQ(s.rateLimit->perSecond, 10);
  EXPECT_EQ(s.rateLimit->burst, 20);
  EXPECT_EQ(s.rateLimitCapacity, 1000);
  EXPECT_EQ(s.signingKeys.size(), 2u);
  ASSERT_EQ(s.jwtKeys.size(), 1u);
  EXPECT_EQ(s.jwtKeys[0].secret, "jwt-secret-0123456789");
  EXPECT_EQ(s.jwtIssuer, "https://auth.example");
  EXPECT_EQ(s.jwtAudience, "cdn");
  EXPECT_EQ(s.jwtLeewayMs, 30000);
  EXPECT_FALSE(s.jwtForwardAuthorization);
  ASSERT_EQ(result.config.routes.size(), 3u);
  const RouteSecurity& none = result.config.routes[0].security;
  EXPECT_TRUE(none.allow.empty() && none.deny.empty() && !none.signedUrls && !none.jwt);
  const RouteSecurity& p = result.config.routes[1].security;
  EXPECT_EQ(p.allow, (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  EXPECT_EQ(p.deny, (std::vector<std::string>{"10.1.0.0/16"}));
  ASSERT_TRUE(p.rateLimit);
  EXPECT_DOUBLE_EQ(p.rateLimit->perSecond, 5);
  EXPECT_EQ(p.rateLimit->burst, 5) << "burst defaults to one second's worth";
  EXPECT_TRUE(p.signedUrls);
  EXPECT_TRUE(p.jwt);
  EXPECT_EQ(p.jwtAudience, "api");
  EXPECT_EQ(p.jwtForwardAuthorization, true);
  EXPECT_TRUE(p.httpsRedirect);
  EXPECT_EQ(p.httpsRedirectPort, 8443);
  ASSERT_TRUE(p.hsts);
  EXPECT_EQ(p.hsts->maxAgeSeconds, 365 * 86400);
  EXPECT_TRUE(p.hsts->includeSubdomains);
  EXPECT_FALSE(p.hsts->preload);
  const RouteSecurity& open = result.config.routes[2].security;
  EXPECT_TRUE(open.rateLimitOff);
  EXPECT_TRUE(open.jwt);
  EXPECT_FALSE(open.jwtAudience);
}

}  // namespace
}  // namespace strata::edge::app
