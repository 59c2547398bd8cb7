#include "edge/app/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "edge/app/units.h"
#include "edge/http/cidr.h"

namespace strata::edge::app {
namespace {

constexpr std::uint64_t kMinMemoryBytes = 1ull << 20;        // cache.memory >= 1MiB
constexpr std::uint64_t kMinDiskBytes = 16ull << 20;         // cache.disk.size >= 16MiB
constexpr std::int64_t kMaxDurationMs = 24ll * 3600 * 1000;  // Every duration <= 1d.
constexpr int kMaxWeight = 1000;
constexpr int kMinThreads = 1;
constexpr int kMaxThreads = 4096;
constexpr int kMaxIdleConnections = 100000;
constexpr std::size_t kMaxNodeNameLength = 64;

// Keys later versions will own: accepted by name, rejected as "not supported yet".
const std::set<std::string, std::less<>> kReservedTopLevel = {};
const std::set<std::string, std::less<>> kNoReservedKeys;

// ----------------------------------------------------------------------------------------------
// Text validators shared by the file loader and the command-line overrides. Each returns an
// empty string when the text is valid, otherwise what is wrong with it.

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool isValidIpv4(std::string_view s) {
  std::string text(s);
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool isValidIpv6(std::string_view s) {
  std::string text(s);
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

// A DNS name (RFC 1123 labels) or a dotted IPv4 address.
bool isValidHostName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return isDigit(c) || c == '.'; })) {
    return isValidIpv4(s);  // Looks numeric: must be a real IPv4 address ("1.2.3.256" is not).
  }
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!isAlnum(c) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

std::optional<int> parsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  int port = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
  if (ec != std::errc() || ptr != s.data() + s.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

std::string checkListenAddress(std::string_view text) {
  if (parseHostPort(text)) return {};
  return "invalid address '" + std::string(text) +
         "' (expected HOST:PORT, e.g. 0.0.0.0:8080, [::1]:8080 or localhost:8080; port 0-65535)";
}

std::string checkBackendUrl(std::string_view text) {
  if (parseBackendUrl(text)) return {};
  return "invalid backend URL '" + std::string(text) +
         "' (expected http://HOST[:PORT] or https://HOST[:PORT] without a path, or demo:)";
}

// Node names appear in Cache-Status and Via headers: an HTTP token without surprises.
std::string checkNodeName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxNodeNameLength) {
    return "is longer than " + std::to_string(kMaxNodeNameLength) + " characters";
  }
  for (char c : name) {
    if (!isAlnum(c) && c != '.' && c != '_' && c != '-') {
      return "'" + std::string(name) + "' may only contain letters, digits, '.', '_' and '-'";
    }
  }
  return {};
}

// Pool and backend names appear in admin URLs (/api/backends/POOL/BACKEND/drain).
std::string checkObjectName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%' || c == '\\') {
      return "'" + std::string(name) +
             "' must not contain spaces, control characters or any of / ? # % \\";
    }
  }
  return {};
}

std::string formatSize(std::uint64_t bytes) {
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  for (const auto& [factor, unit] : kUnits) {
    if (bytes >= factor && bytes % factor == 0) return std::to_string(bytes / factor) + unit;
  }
  return std::to_string(bytes) + "B";
}

std::string checkMemory(std::uint64_t bytes) {
  if (bytes < kMinMemoryBytes) return formatSize(bytes) + " is below the minimum of 1MiB";
  return {};
}

std::string checkDisk(std::uint64_t bytes) {
  if (bytes < kMinDiskBytes) return formatSize(bytes) + " is below the minimum of 16MiB";
  return {};
}

const char* kSizeHint = "(use e.g. 512MiB, 10GiB, 64KB or a number of bytes)";
const char* kDurationHint = "(use e.g. 250ms, 5s, 10m, 1h; a bare number is ambiguous)";

Route defaultRoute(const std::vector<Pool>& pools) {
  Route route;
  route.host = "";
  route.pathPrefix = "/";
  for (const Pool& pool : pools) route.pools.push_back(pool.name);
  return route;
}

// Levenshtein distance, for "did you mean" hints on misspelt keys.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const char* typeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// ----------------------------------------------------------------------------------------------
// The YAML walker. Each section reader fills `config` and reports problems; nothing stops early.

using Keys = std::initializer_list<std::string_view>;

class Loader {
 public:
  Loader(const std::string& source, LoadResult& result)
      : source_(source), config_(result.config), errors_(result.errors) {}

  void load(const YAML::Node& root) {
    const YAML::Mark top = root.Mark().is_null() ? YAML::Mark() : root.Mark();
    rootMark_ = top;
    if (!root.IsNull() && !root.IsMap()) {
      error(top, "the document must be a map of sections (node, listen, pools, ...), got " +
                     std::string(typeName(root)));
      return;
    }
    bool sawPools = false;
    visitMap(root, top, "",
             {"node", "listen", "admin", "tls", "cache", "server", "pools", "routes", "purge",
              "logging", "security"},
             kReservedTopLevel, [&](const std::string& key, const YAML::Mark& at, const Node& v) {
               if (key == "node") {
                 readNode(v, at);
               } else if (key == "listen") {
                 readAddress(v, at, "listen", config_.listen);
               } else if (key == "admin") {
                 readAdmin(v, at);
               } else if (key == "tls") {
                 readTls(v, at);
               } else if (key == "cache") {
                 readCache(v, at);
               } else if (key == "server") {
                 readServer(v, at);
               } else if (key == "pools") {
                 sawPools = true;
                 poolsMark_ = at;
                 readPools(v, at);
               } else if (key == "routes") {
                 readRoutes(v, at);
               } else if (key == "logging") {
                 readLogging(v, at);
               } else if (key == "purge") {
                 readPurge(v, at);
               } else if (key == "security") {
                 readSecurity(v, at);
               }
             });
    crossCheck(sawPools);
  }

 private:
  using Node = YAML::Node;
  using FieldFn = std::function<void(const std::string&, const YAML::Mark&, const Node&)>;

  struct RouteRef {
    std::string name;
    YAML::Mark mark;
    std::size_t route;
  };

  std::string where(const YAML::Mark& mark) const {
    if (mark.is_null()) return source_;
    return source_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

  void error(const YAML::Mark& mark, std::string message) {
    errors_.push_back(ConfigError{where(mark), std::move(message)});
  }

  // Where to point at a value: its own mark, or its key's when the value is empty (yaml-cpp
  // puts an empty value's mark on the following line).
  static YAML::Mark markOf(const Node& value, const YAML::Mark& keyMark) {
    if (value.IsNull() || value.Mark().is_null()) return keyMark;
    return value.Mark();
  }

  static std::string join(std::string_view path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return std::string(path) + "." + std::string(key);
  }

  // Walks a map: reports wrong types, duplicate, unknown and reserved keys; calls `field` for
  // each known key. A null node (a section whose entries are all commented out) is an empty map.
  bool visitMap(const Node& node, const YAML::Mark& at, const std::string& path, Keys known,
                const std::set<std::string, std::less<>>& reserved, const FieldFn& field) {
    if (node.IsNull()) return true;
    if (!node.IsMap()) {
      error(markOf(node, at), (path.empty() ? std::string("the document") : path) +
                                  ": expected a map, got " + typeName(node));
      return false;
    }
    const std::string context = path.empty() ? "at the top level" : "in " + path;
    std::set<std::string, std::less<>> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const Node keyNode = it->first;  // Copies: yaml-cpp's iterator yields a temporary pair.
      const Node value = it->second;
      const YAML::Mark keyMark = keyNode.Mark().is_null() ? at : keyNode.Mark();
      if (!keyNode.IsScalar()) {
        error(keyMark, "keys must be plain names " + context + ", got " + typeName(keyNode));
        continue;
      }
      const std::string key = keyNode.Scalar();
      if (!seen.insert(key).second) {
        error(keyMark, "duplicate key '" + key + "' " + context);
        continue;
      }
      if (std::find(known.begin(), known.end(), key) != known.end()) {
        field(key, keyMark, value);
        continue;
      }
      if (reserved.count(key) != 0) {
        error(keyMark, "key '" + key + "' " + context + " is not supported yet");
        continue;
      }
      std::string message = "unknown key '" + key + "' " + context;
      std::string_view best;
      std::size_t bestDistance = 3;
      for (std::string_view candidate : known) {
        const std::size_t d = editDistance(key, candidate);
        if (d < bestDistance) {
          bestDistance = d;
          best = candidate;
        }
      }
      if (!best.empty()) message += " (did you mean '" + std::string(best) + "'?)";
      error(keyMark, message);
    }
    return true;
  }

  bool isList(const Node& node, const YAML::Mark& at, const std::string& path, const char* what) {
    if (node.IsNull()) return true;  // "pools:" with nothing under it: an empty list.
    if (node.IsSequence()) return true;
    error(markOf(node, at), path + ": expected a list of " + what + ", got " + typeName(node));
    return false;
  }

  std::optional<std::string> readString(const Node& node, const YAML::Mark& at,
                                        const std::string& path, const char* what = "a string") {
    if (!node.IsScalar()) {
      error(markOf(node, at), path + ": expected " + what + ", got " + typeName(node));
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::int64_t> readInt(const Node& node, const YAML::Mark& at,
                                      const std::string& path, std::int64_t min, std::int64_t max) {
    const std::string range = std::to_string(min) + ".." + std::to_string(max);
    auto text = readString(node, at, path, ("an integer in " + range).c_str());
    if (!text) return std::nullopt;
    std::int64_t value = 0;
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (text->empty() || ec != std::errc() || ptr != end) {
      error(markOf(node, at),
            path + ": '" + *text + "' is not an integer (expected " + range + ")");
      return std::nullopt;
    }
    if (value < min || value > max) {
      error(markOf(node, at), path + ": " + *text + " is out of range (expected " + range + ")");
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::uint64_t> readSize(const Node& node, const YAML::Mark& at,
                                        const std::string& path) {
    auto text = readString(node, at, path, "a size such as 256MiB");
    if (!text) return std::nullopt;
    auto bytes = parseSize(*text);
    if (!bytes) {
      error(markOf(node, at), path + ": invalid size '" + *text + "' " + kSizeHint);
      return std::nullopt;
    }
    return bytes;
  }

  // A duration in [minMs, kMaxDurationMs].
  std::optional<std::int64_t> readDuration(const Node& node, const YAML::Mark& at,
                                           const std::string& path, std::int64_t minMs) {
    auto text = readString(node, at, path, "a duration such as 5s");
    if (!text) return std::nullopt;
    auto ms = parseDuration(*text);
    if (!ms) {
      error(markOf(node, at), path + ": invalid duration '" + *text + "' " + kDurationHint);
      return std::nullopt;
    }
    if (*ms < minMs) {
      error(markOf(node, at),
            path + ": " + *text + " is too short (minimum " + std::to_string(minMs) + "ms)");
      return std::nullopt;
    }
    if (*ms > kMaxDurationMs) {
      error(markOf(node, at), path + ": " + *text + " is too long (maximum 1d)");
      return std::nullopt;
    }
    return ms;
  }

  void readAddress(const Node& node, const YAML::Mark& at, const std::string& path,
                   std::string& out) {
    auto text = readString(node, at, path, "an address HOST:PORT");
    if (!text) return;
    if (std::string problem = checkListenAddress(*text); !problem.empty()) {
      error(markOf(node, at), path + ": " + problem);
      return;
    }
    out = *text;
  }

  void missing(const YAML::Mark& at, const std::string& path, const char* key) {
    error(at, path + ": missing required key '" + key + "'");
  }

  // --- sections ---------------------------------------------------------------------------

  void readNode(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "node", {"name"}, kNoReservedKeys,
             [&](const std::string&, const YAML::Mark& keyMark, const Node& v) {
               auto name = readString(v, keyMark, "node.name");
               if (!name) return;
               if (std::string problem = checkNodeName(*name); !problem.empty()) {
                 error(markOf(v, keyMark), "node.name: " + problem);
                 return;
               }
               config_.nodeName = *name;
             });
  }

  void readAdmin(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "admin", {"listen", "tokens"}, kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               if (key == "listen") {
                 readAddress(v, keyMark, "admin.listen", config_.adminListen);
               } else {
                 readTokens(v, keyMark);
               }
             });
  }

  // A readable regular file, or a located error.
  bool readableFile(const std::string& file, const YAML::Mark& mark, const std::string& field,
                    const char* what) {
    struct stat st {};
    if (file.empty() || ::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::access(file.c_str(), R_OK) != 0) {
      error(mark, field + ": cannot read " + what + " '" + file + "'");
      return false;
    }
    return true;
  }

  void readTls(const Node& node, const YAML::Mark& at) {
    bool sawCertificates = false;
    visitMap(
        node, at, "tls", {"listen", "certificates", "min_version"}, kNoReservedKeys,
        [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
          if (key == "listen") {
            readAddress(v, keyMark, "tls.listen", config_.tlsListen);
          } else if (key == "min_version") {
            auto text = readString(v, keyMark, "tls.min_version", "1.2 or 1.3");
            if (!text) return;
            if (*text != "1.2" && *text != "1.3") {
              error(markOf(v, keyMark), "tls.min_version: expected 1.2 or 1.3, got '" + *text +
                                            "' (older versions are not offered)");
              return;
            }
            config_.tlsMinVersion = *text;
          } else {
            sawCertificates = true;
            if (!isList(v, keyMark, "tls.certificates", "{cert, key} maps")) return;
            for (std::size_t i = 0; i < v.size(); ++i) {
              const Node item = v[i];
              const std::string path = "tls.certificates[" + std::to_string(i) + "]";
              const YAML::Mark itemMark = markOf(item, keyMark);
              TlsCertificate certificate;
              bool good = true;
              const bool isMap = visitMap(
                  item, itemMark, path, {"cert", "key"}, kNoReservedKeys,
                  [&](const std::string& k, const YAML::Mark& kMark, const Node& value) {
                    auto file = readString(value, kMark, path + "." + k, "a PEM file path");
                    if (!file || !readableFile(*file, markOf(value, kMark), path + "." + k,
                                               k == "cert" ? "certificate file" : "key file")) {
                      good = false;
                      return;
                    }
                    (k == "cert" ? certificate.certFile : certificate.keyFile) = *file;
                  });
              if (!isMap) continue;
              if (good && certificate.certFile.empty()) missing(itemMark, path, "cert");
              if (good && certificate.keyFile.empty()) missing(itemMark, path, "key");
              if (good && !certificate.certFile.empty() && !certificate.keyFile.empty()) {
                config_.tlsCertificates.push_back(std::move(certificate));
              }
            }
          }
        });
    if (config_.tlsListen.empty()) {
      error(at, "tls: `listen` is required (e.g. \"0.0.0.0:8443\")");
    } else if (!sawCertificates) {
      error(at, "tls: `certificates` is required (a list of {cert, key})");
    }
  }

  void readTokens(const Node& node, const YAML::Mark& at) {
    if (!isList(node, at, "admin.tokens", "{name, token} maps")) return;
    std::set<std::string> names;
    std::set<std::string> tokens;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string path = "admin.tokens[" + std::to_string(i) + "]";
      const YAML::Mark itemMark = markOf(item, at);
      std::optional<std::string> name;
      std::optional<std::string> token;
      bool sawName = false;
      bool sawToken = false;
      YAML::Mark nameMark = itemMark;
      YAML::Mark tokenMark = itemMark;
      const bool isMap =
          visitMap(item, itemMark, path, {"name", "token"}, kNoReservedKeys,
                   [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
                     if (key == "name") {
                       sawName = true;
                       name = readString(v, keyMark, path + ".name");
                       nameMark = markOf(v, keyMark);
                     } else {
                       sawToken = true;
                       token = readString(v, keyMark, path + ".token");
                       tokenMark = markOf(v, keyMark);
                     }
                   });
      if (!isMap) continue;
      bool good = true;
      if (!name) {
        if (!sawName) missing(itemMark, path, "name");
        good = false;
      } else if (name->empty()) {
        error(nameMark, path + ".name: must not be empty");
        good = false;
      } else if (!names.insert(*name).second) {
        error(nameMark, path + ".name: duplicate token name '" + *name + "'");
        good = false;
      }
      if (!token) {
        if (!sawToken) missing(itemMark, path, "token");
        good = false;
      } else if (token->empty()) {
        error(tokenMark, path + ".token: must not be empty");
        good = false;
      } else if (!tokens.insert(*token).second) {
        error(tokenMark, path + ".token: the same token is listed twice");
        good = false;
      }
      if (good) config_.adminTokens.push_back(AdminToken{*name, *token});
    }
  }

  void readCache(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "cache",
             {"memory", "max_memory_object", "max_object", "disk", "stale_if_error",
              "stale_if_unreachable", "coalesce_timeout", "hit_for_miss", "targeted_field"},
             kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const std::string path = "cache." + key;
               if (key == "disk") {
                 readDisk(v, keyMark);
                 return;
               }
               if (key == "stale_if_error") {
                 if (auto ms = readDuration(v, keyMark, path, 0)) config_.staleIfErrorMs = *ms;
                 return;
               }
               if (key == "stale_if_unreachable") {
                 if (auto ms = readDuration(v, keyMark, path, 0)) {
                   config_.staleIfUnreachableMs = *ms;
                 }
                 return;
               }
               if (key == "coalesce_timeout") {
                 if (auto ms = readDuration(v, keyMark, path, 1)) config_.coalesceTimeoutMs = *ms;
                 return;
               }
               if (key == "hit_for_miss") {
                 if (auto ms = readDuration(v, keyMark, path, 0)) config_.hitForMissMs = *ms;
                 return;
               }
               if (key == "targeted_field") {
                 auto name = readString(v, keyMark, path, "a header field name");
                 if (!name) return;
                 const bool token =
                     !name->empty() && std::all_of(name->begin(), name->end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
                     });
                 if (!token) {
                   error(markOf(v, keyMark), path +
                                                 ": must be a header field name (letters, "
                                                 "digits and '-'), e.g. Strata-Cache-Control");
                   return;
                 }
                 config_.targetedField = *name;
                 return;
               }
               auto bytes = readSize(v, keyMark, path);
               if (!bytes) return;
               const YAML::Mark valueMark = markOf(v, keyMark);
               if (key == "memory") {
                 if (std::string problem = checkMemory(*bytes); !problem.empty()) {
                   error(valueMark, path + ": " + problem);
                   return;
                 }
                 config_.memoryBytes = *bytes;
                 memoryMark_ = valueMark;
               } else if (key == "max_memory_object") {
                 config_.maxMemoryObjectBytes = *bytes;
                 maxMemoryObjectMark_ = valueMark;
               } else {
                 if (*bytes == 0) {
                   error(valueMark, path + ": must be greater than 0");
                   return;
                 }
                 config_.maxObjectBytes = *bytes;
               }
             });
  }

  void readDisk(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "cache.disk", {"path", "size"}, kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const YAML::Mark valueMark = markOf(v, keyMark);
               if (key == "path") {
                 auto path = readString(v, keyMark, "cache.disk.path", "a directory path");
                 if (!path) return;
                 if (path->empty()) {
                   error(valueMark, "cache.disk.path: must not be empty");
                   return;
                 }
                 config_.cacheDir = *path;
               } else {
                 auto bytes = readSize(v, keyMark, "cache.disk.size");
                 if (!bytes) return;
                 if (std::string problem = checkDisk(*bytes); !problem.empty()) {
                   error(valueMark, "cache.disk.size: " + problem);
                   return;
                 }
                 config_.diskBytes = *bytes;
               }
             });
  }

  void readServer(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "server",
             {"threads", "event_threads", "fetch_threads", "shutdown_grace", "client_timeout",
              "header_timeout", "keepalive_timeout", "defer_accept", "max_connections",
              "max_connections_per_client"},
             kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const std::string path = "server." + key;
               if (key == "threads") {
                 if (auto n = readInt(v, keyMark, path, kMinThreads, kMaxThreads)) {
                   config_.workerThreads = static_cast<int>(*n);
                 }
               } else if (key == "event_threads") {
                 if (auto n = readInt(v, keyMark, path, 0, kMaxThreads)) {
                   config_.eventThreads = static_cast<int>(*n);
                 }
               } else if (key == "max_connections") {
                 if (auto n = readInt(v, keyMark, path, 1, 1000000)) {
                   config_.maxConnections = static_cast<int>(*n);
                 }
               } else if (key == "max_connections_per_client") {
                 if (auto n = readInt(v, keyMark, path, 0, 1000000)) {
                   config_.maxConnectionsPerClient = static_cast<int>(*n);
                 }
               } else if (key == "header_timeout") {
                 if (auto ms = readDuration(v, keyMark, path, 1)) config_.headerTimeoutMs = *ms;
               } else if (key == "keepalive_timeout") {
                 if (auto ms = readDuration(v, keyMark, path, 1)) config_.keepAliveTimeoutMs = *ms;
               } else if (key == "defer_accept") {
                 if (auto ms = readDuration(v, keyMark, path, 0)) {
                   if (*ms > 60000) {
                     error(markOf(v, keyMark), path + ": at most 60s");
                   } else {
                     config_.deferAcceptMs = *ms;
                   }
                 }
               } else if (key == "fetch_threads") {
                 if (auto n = readInt(v, keyMark, path, kMinThreads, kMaxThreads)) {
                   config_.fetchThreads = static_cast<int>(*n);
                 }
               } else if (key == "shutdown_grace") {
                 if (auto ms = readDuration(v, keyMark, path, 0)) config_.shutdownGraceMs = *ms;
               } else {
                 if (auto ms = readDuration(v, keyMark, path, 1)) config_.clientTimeoutMs = *ms;
               }
             });
  }

  void readPurge(const Node& node, const YAML::Mark& at) {
    visitMap(
        node, at, "purge", {"allow"}, kNoReservedKeys,
        [&](const std::string&, const YAML::Mark& keyMark, const Node& v) {
          if (!isList(v, keyMark, "purge.allow", "addresses or CIDR ranges")) return;
          std::vector<std::string> allow;
          for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string path = "purge.allow[" + std::to_string(i) + "]";
            auto text = readString(v[i], keyMark, path, "an address or CIDR range");
            if (!text) continue;
            if (!http::parseCidr(*text)) {
              error(markOf(v[i], keyMark),
                    path + ": '" + *text + "' is not an address or CIDR range (e.g. 10.0.0.0/8)");
              continue;
            }
            allow.push_back(*text);
          }
          config_.purgeAllow = std::move(allow);
        });
  }

  void readLogging(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "logging",
             {"level", "access_log", "access_log_format", "error_log", "error_log_level",
              "rotate_size", "rotate_keep"},
             kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const std::string path = "logging." + key;
               if (key == "access_log" || key == "error_log") {
                 if (auto file = readString(v, keyMark, path, "a file path")) {
                   (key == "access_log" ? config_.accessLog : config_.errorLog) = *file;
                 }
                 return;
               }
               if (key == "access_log_format") {
                 auto format = readString(v, keyMark, path, "combined or json");
                 if (!format) return;
                 if (*format != "combined" && *format != "json") {
                   error(markOf(v, keyMark),
                         path + ": unknown format '" + *format + "' (expected combined or json)");
                   return;
                 }
                 config_.accessLogFormat = *format;
                 return;
               }
               if (key == "rotate_size") {
                 auto bytes = readSize(v, keyMark, path);
                 if (!bytes) return;
                 if (*bytes < 1024) {
                   error(markOf(v, keyMark), path + ": must be at least 1KiB");
                   return;
                 }
                 config_.logRotateBytes = *bytes;
                 return;
               }
               if (key == "rotate_keep") {
                 if (auto n = readInt(v, keyMark, path, 1, 1000)) {
                   config_.logRotateKeep = static_cast<int>(*n);
                 }
                 return;
               }
               auto level = readString(v, keyMark, path, "a level name");
               if (!level) return;
               for (const char* name : kLogLevels) {
                 if (*level == name) {
                   (key == "level" ? config_.logLevel : config_.errorLogLevel) = *level;
                   return;
                 }
               }
               std::string names;
               for (const char* name : kLogLevels)
                 names += std::string(names.empty() ? "" : ", ") + name;
               error(markOf(v, keyMark),
                     path + ": unknown level '" + *level + "' (expected one of " + names + ")");
             });
  }

  void readPools(const Node& node, const YAML::Mark& at) {
    if (!isList(node, at, "pools", "pools")) return;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string path = "pools[" + std::to_string(i) + "]";
      const YAML::Mark itemMark = markOf(item, at);
      Pool pool;
      bool good = true;
      bool sawName = false;
      bool sawBackends = false;
      YAML::Mark backendsMark = itemMark;
      std::optional<YAML::Mark> legacyConnect;
      std::optional<YAML::Mark> legacyRead;
      bool sawConnect = false;
      bool sawReadParts = false;
      const bool isMap = visitMap(
          item, itemMark, path,
          {"name", "backends", "load_balancing", "health_check", "passive", "retries", "timeouts",
           "connect_timeout", "read_timeout", "max_idle_connections", "tls"},
          kNoReservedKeys, [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
            const std::string field = path + "." + key;
            if (key == "name") {
              sawName = true;
              auto name = readString(v, keyMark, field);
              if (!name) {
                good = false;
              } else if (std::string problem = checkObjectName(*name); !problem.empty()) {
                error(markOf(v, keyMark), field + ": " + problem);
                good = false;
              } else if (auto [it, inserted] = poolNames_.emplace(*name, markOf(v, keyMark));
                         !inserted) {
                error(markOf(v, keyMark), field + ": duplicate pool name '" + *name +
                                              "' (first defined at " + where(it->second) + ")");
                good = false;
              } else {
                pool.name = *name;
              }
            } else if (key == "backends") {
              sawBackends = true;
              backendsMark = keyMark;
              if (!readBackends(v, keyMark, field, pool)) good = false;
            } else if (key == "load_balancing") {
              auto text = readString(v, keyMark, field, "round_robin, least_conn or hash");
              if (!text) return;
              if (*text != "round_robin" && *text != "least_conn" && *text != "hash") {
                error(markOf(v, keyMark), field + ": unknown policy '" + *text +
                                              "' (expected round_robin, least_conn or hash)");
                return;
              }
              pool.loadBalancing = *text;
            } else if (key == "health_check") {
              readHealthCheck(v, keyMark, field, pool.healthCheck);
            } else if (key == "passive") {
              visitMap(v, keyMark, field, {"failures", "cooldown"}, kNoReservedKeys,
                       [&](const std::string& k, const YAML::Mark& m, const Node& value) {
                         if (k == "failures") {
                           if (auto n = readInt(value, m, field + "." + k, 0, 1000)) {
                             pool.passiveFailures = static_cast<int>(*n);
                           }
                         } else if (auto ms = readDuration(value, m, field + "." + k, 1)) {
                           pool.passiveCooldownMs = *ms;
                         }
                       });
            } else if (key == "retries") {
              visitMap(v, keyMark, field, {"tries", "deadline"}, kNoReservedKeys,
                       [&](const std::string& k, const YAML::Mark& m, const Node& value) {
                         if (k == "tries") {
                           if (auto n = readInt(value, m, field + "." + k, 1, 20)) {
                             pool.retryTries = static_cast<int>(*n);
                           }
                         } else if (auto ms = readDuration(value, m, field + "." + k, 1)) {
                           pool.retryDeadlineMs = *ms;
                         }
                       });
            } else if (key == "timeouts") {
              visitMap(v, keyMark, field, {"connect", "first_byte", "between_bytes", "total"},
                       kNoReservedKeys,
                       [&](const std::string& k, const YAML::Mark& m, const Node& value) {
                         auto ms = readDuration(value, m, field + "." + k, k == "total" ? 0 : 1);
                         if (!ms) return;
                         if (k == "connect") {
                           sawConnect = true;
                           pool.connectTimeoutMs = *ms;
                         } else if (k == "first_byte") {
                           sawReadParts = true;
                           pool.firstByteTimeoutMs = *ms;
                         } else if (k == "between_bytes") {
                           sawReadParts = true;
                           pool.betweenBytesTimeoutMs = *ms;
                         } else {
                           pool.totalTimeoutMs = *ms;
                         }
                       });
            } else if (key == "connect_timeout") {
              legacyConnect = keyMark;
              if (auto ms = readDuration(v, keyMark, field, 1)) pool.connectTimeoutMs = *ms;
            } else if (key == "read_timeout") {
              legacyRead = keyMark;
              if (auto ms = readDuration(v, keyMark, field, 1)) pool.readTimeoutMs = *ms;
            } else if (key == "tls") {
              readPoolTls(v, keyMark, field, pool);
            } else {
              if (auto n = readInt(v, keyMark, field, 0, kMaxIdleConnections)) {
                pool.maxIdleConnections = static_cast<int>(*n);
              }
            }
          });
      if (legacyConnect && sawConnect) {
        error(*legacyConnect, path +
                                  ".connect_timeout: give either connect_timeout or "
                                  "timeouts.connect, not both (connect_timeout is the old name)");
      }
      if (legacyRead && sawReadParts) {
        error(*legacyRead, path +
                               ".read_timeout: give either read_timeout or "
                               "timeouts.first_byte/between_bytes, not both");
      }
      if (!isMap) continue;
      if (!sawName) {
        missing(itemMark, path, "name");
        good = false;
      }
      if (!sawBackends) {
        missing(itemMark, path, "backends");
        good = false;
      } else if (good && pool.backends.empty()) {
        error(backendsMark, path + ".backends: a pool needs at least one backend");
        good = false;
      }
      if (good) config_.pools.push_back(std::move(pool));
    }
  }

  void readHealthCheck(const Node& node, const YAML::Mark& at, const std::string& path,
                       HealthCheck& check) {
    check.enabled = true;
    visitMap(node, at, path, {"path", "expect_status", "interval", "timeout", "rise", "fall"},
             kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const std::string field = path + "." + key;
               if (key == "path") {
                 auto text = readString(v, keyMark, field, "a path such as /healthz");
                 if (!text) return;
                 if (text->empty() || text->front() != '/' ||
                     std::any_of(text->begin(), text->end(), [](char c) {
                       return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
                     })) {
                   error(markOf(v, keyMark),
                         field + ": '" + *text + "' must start with '/' and contain no spaces");
                   return;
                 }
                 check.path = *text;
               } else if (key == "expect_status") {
                 if (auto n = readInt(v, keyMark, field, 100, 599)) {
                   check.expectStatus = static_cast<int>(*n);
                 }
               } else if (key == "interval") {
                 if (auto ms = readDuration(v, keyMark, field, 10)) check.intervalMs = *ms;
               } else if (key == "timeout") {
                 if (auto ms = readDuration(v, keyMark, field, 1)) check.timeoutMs = *ms;
               } else if (key == "rise") {
                 if (auto n = readInt(v, keyMark, field, 1, 100)) check.rise = static_cast<int>(*n);
               } else {
                 if (auto n = readInt(v, keyMark, field, 1, 100)) check.fall = static_cast<int>(*n);
               }
             });
  }

  void readPoolTls(const Node& node, const YAML::Mark& at, const std::string& path, Pool& pool) {
    visitMap(node, at, path, {"ca_file", "verify", "sni"}, kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const std::string field = path + "." + key;
               const YAML::Mark valueMark = markOf(v, keyMark);
               if (key == "ca_file") {
                 auto file = readString(v, keyMark, field, "a PEM file path");
                 if (!file || !readableFile(*file, valueMark, field, "CA file")) return;
                 pool.tlsCaFile = *file;
               } else if (key == "verify") {
                 auto text = readString(v, keyMark, field, "true or false");
                 if (!text) return;
                 if (*text == "true") {
                   pool.tlsVerify = true;
                 } else if (*text == "false") {
                   pool.tlsVerify = false;
                 } else {
                   error(valueMark, field + ": expected true or false, got '" + *text + "'");
                 }
               } else {
                 auto name = readString(v, keyMark, field, "a host name");
                 if (!name) return;
                 if (!isValidHostName(*name)) {
                   error(valueMark, field + ": '" + *name + "' is not a host name");
                   return;
                 }
                 pool.tlsSni = *name;
               }
             });
  }

  // Returns false when the list itself is unusable; a bad backend is reported and skipped.
  bool readBackends(const Node& node, const YAML::Mark& at, const std::string& listPath,
                    Pool& pool) {
    if (!isList(node, at, listPath, "backends")) return false;
    std::map<std::string, YAML::Mark> names;
    bool allGood = true;
    for (std::size_t j = 0; j < node.size(); ++j) {
      const Node item = node[j];
      const std::string path = listPath + "[" + std::to_string(j) + "]";
      const YAML::Mark itemMark = markOf(item, at);
      Backend backend;
      bool good = true;
      bool sawUrl = false;
      std::optional<std::string> explicitName;
      YAML::Mark nameMark = itemMark;
      const bool isMap = visitMap(
          item, itemMark, path, {"name", "url", "weight"}, kNoReservedKeys,
          [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
            const std::string field = path + "." + key;
            if (key == "url") {
              sawUrl = true;
              auto url = readString(v, keyMark, field, "a URL");
              if (!url) {
                good = false;
              } else if (std::string problem = checkBackendUrl(*url); !problem.empty()) {
                error(markOf(v, keyMark), field + ": " + problem);
                good = false;
              } else {
                backend.url = *url;
              }
            } else if (key == "name") {
              nameMark = markOf(v, keyMark);
              explicitName = readString(v, keyMark, field);
              if (!explicitName) {
                good = false;
              } else if (std::string problem = checkObjectName(*explicitName); !problem.empty()) {
                error(nameMark, field + ": " + problem);
                good = false;
                explicitName.reset();
              }
            } else {
              if (auto w = readInt(v, keyMark, field, 0, kMaxWeight)) {
                backend.weight = static_cast<int>(*w);
              } else {
                good = false;
              }
            }
          });
      if (!isMap) {
        allGood = false;
        continue;
      }
      if (!sawUrl) {
        missing(itemMark, path, "url");
        good = false;
      }
      if (explicitName) {
        backend.name = *explicitName;
      } else if (!backend.url.empty()) {
        backend.name = parseBackendUrl(backend.url)->hostPort();
        nameMark = itemMark;
      }
      if (!backend.name.empty()) {
        if (auto [it, inserted] = names.emplace(backend.name, nameMark); !inserted) {
          error(nameMark, path + ": duplicate backend name '" + backend.name + "' in " + listPath +
                              " (first at " + where(it->second) +
                              "; give each backend a distinct 'name')");
          good = false;
        }
      }
      if (good) {
        pool.backends.push_back(std::move(backend));
      } else {
        allGood = false;
      }
    }
    return allGood;
  }

  void readRoutes(const Node& node, const YAML::Mark& at) {
    if (!isList(node, at, "routes", "routes")) return;
    routesGiven_ = node.size() > 0;
    std::map<std::pair<std::string, std::string>, YAML::Mark> seen;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const Node item = node[i];
      const std::string path = "routes[" + std::to_string(i) + "]";
      const YAML::Mark itemMark = markOf(item, at);
      Route route;
      bool good = true;
      bool sawPools = false;
      std::vector<RouteRef> refs;
      const bool isMap = visitMap(
          item, itemMark, path,
          {"host", "path_prefix", "pools", "allow", "deny", "rate_limit", "signed_urls", "jwt",
           "https_redirect", "https_redirect_port", "hsts"},
          kNoReservedKeys, [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
            const std::string field = path + "." + key;
            const YAML::Mark valueMark = markOf(v, keyMark);
            if (readRouteSecurity(key, v, keyMark, field, route.security)) return;
            if (key == "host") {
              auto host = readString(v, keyMark, field, "a host name");
              if (!host) {
                good = false;
              } else if (std::any_of(host->begin(), host->end(), [](char c) {
                           const auto u = static_cast<unsigned char>(c);
                           return u <= 0x20 || u >= 0x7f || c == '/';
                         })) {
                error(valueMark, field + ": '" + *host +
                                     "' is not a host name (no spaces, '/' or control characters)");
                good = false;
              } else {
                route.host = lowercase(*host);
              }
            } else if (key == "path_prefix") {
              auto prefix = readString(v, keyMark, field, "a path prefix");
              if (!prefix) {
                good = false;
              } else if (prefix->empty() || prefix->front() != '/') {
                error(valueMark, field + ": '" + *prefix + "' must start with '/'");
                good = false;
              } else {
                route.pathPrefix = *prefix;
              }
            } else {
              sawPools = true;
              if (!isList(v, keyMark, field, "pool names")) {
                good = false;
                return;
              }
              if (v.size() == 0) {
                error(valueMark, field + ": a route needs at least one pool");
                good = false;
                return;
              }
              std::set<std::string> inRoute;
              for (std::size_t k = 0; k < v.size(); ++k) {
                const Node name = v[k];
                const std::string namePath = field + "[" + std::to_string(k) + "]";
                auto text = readString(name, valueMark, namePath, "a pool name");
                if (!text) {
                  good = false;
                  continue;
                }
                const YAML::Mark nameMark = markOf(name, valueMark);
                if (!inRoute.insert(*text).second) {
                  error(nameMark, namePath + ": pool '" + *text + "' is listed twice");
                  good = false;
                  continue;
                }
                route.pools.push_back(*text);
                refs.push_back(RouteRef{*text, nameMark, i});
              }
            }
          });
      if (!isMap) continue;
      if (!sawPools) {
        missing(itemMark, path, "pools");
        good = false;
      }
      if (auto [it, inserted] = seen.emplace(std::pair(route.host, route.pathPrefix), itemMark);
          !inserted) {
        error(itemMark, path + ": duplicate route for host '" + route.host + "' and path_prefix '" +
                            route.pathPrefix + "' (first at " + where(it->second) + ")");
        good = false;
      }
      for (RouteRef& ref : refs) routeRefs_.push_back(std::move(ref));
      if (good) config_.routes.push_back(std::move(route));
    }
  }

  // Checks that need more than one key.
  void crossCheck(bool sawPools) {
    if (poolNames_.empty()) {
      error(sawPools ? poolsMark_ : rootMark_,
            "pools: no pools defined (at least one pool with one backend is required)");
    }
    for (const RouteRef& ref : routeRefs_) {
      if (poolNames_.count(ref.name) == 0) {
        error(ref.mark,
              "routes[" + std::to_string(ref.route) + "].pools: unknown pool '" + ref.name + "'");
      }
    }
    if (config_.maxMemoryObjectBytes > config_.memoryBytes) {
      error(maxMemoryObjectMark_.is_null() ? memoryMark_ : maxMemoryObjectMark_,
            "cache.memory (" + formatSize(config_.memoryBytes) +
                ") is smaller than cache.max_memory_object (" +
                formatSize(config_.maxMemoryObjectBytes) + ")");
    }
    if (!routesGiven_) {
      config_.routes.push_back(defaultRoute(config_.pools));
    }
    for (const auto& [mark, field] : signedRoutes_) {
      if (config_.security.signingKeys.empty()) {
        error(mark, field + ": needs at least one key in security.signing_keys");
      }
    }
    for (const auto& [mark, field] : jwtRoutes_) {
      if (config_.security.jwtKeys.empty()) {
        error(mark, field + ": needs at least one key in security.jwt.keys");
      }
    }
  }

  // --- security (README "Protection") ----------------------------------------------------

  std::optional<bool> readBool(const Node& node, const YAML::Mark& at, const std::string& path) {
    auto text = readString(node, at, path, "true or false");
    if (!text) return std::nullopt;
    if (*text == "true") return true;
    if (*text == "false") return false;
    error(markOf(node, at), path + ": expected true or false, got '" + *text + "'");
    return std::nullopt;
  }

  std::vector<std::string> readCidrs(const Node& node, const YAML::Mark& at,
                                     const std::string& path) {
    std::vector<std::string> out;
    if (!isList(node, at, path, "addresses or CIDR ranges")) return out;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item = path + "[" + std::to_string(i) + "]";
      auto text = readString(node[i], at, item, "an address or CIDR range");
      if (!text) continue;
      if (!http::parseCidr(*text)) {
        error(markOf(node[i], at),
              item + ": '" + *text + "' is not an address or CIDR range (e.g. 10.0.0.0/8)");
        continue;
      }
      out.push_back(*text);
    }
    return out;
  }

  // "N/s", "N/m" or "N/h" (N a positive integer) as tokens per second.
  std::optional<double> readRate(const Node& node, const YAML::Mark& at, const std::string& path) {
    auto text = readString(node, at, path, "a rate such as 100/s");
    if (!text) return std::nullopt;
    const std::size_t slash = text->find('/');
    std::int64_t count = 0;
    const char* end = text->data() + (slash == std::string::npos ? text->size() : slash);
    auto [ptr, ec] = std::from_chars(text->data(), end, count);
    const std::string unit = slash == std::string::npos ? "" : text->substr(slash + 1);
    const double per = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
    if (ec != std::errc() || ptr != end || ptr == text->data() || count <= 0 || count > 100000000 ||
        per == 0) {
      error(markOf(node, at), path + ": invalid rate '" + *text +
                                  "' (use requests per second, minute or hour: 100/s, 600/m)");
      return std::nullopt;
    }
    return static_cast<double>(count) / per;
  }

  // {rate, burst[, capacity]}; `capacity` only node-wide.
  std::optional<RateLimitConfig> readRateLimit(const Node& node, const YAML::Mark& at,
                                               const std::string& path, bool nodeWide) {
    RateLimitConfig limit;
    bool sawRate = false;
    bool sawBurst = false;
    bool good = true;
    Keys keys = {"rate", "burst", "capacity"};
    Keys routeKeys = {"rate", "burst"};
    const bool isMap =
        visitMap(node, at, path, nodeWide ? keys : routeKeys, kNoReservedKeys,
                 [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
                   const std::string field = path + "." + key;
                   if (key == "rate") {
                     sawRate = true;
                     if (auto rate = readRate(v, keyMark, field)) {
                       limit.perSecond = *rate;
                     } else {
                       good = false;
                     }
                   } else if (key == "burst") {
                     sawBurst = true;
                     if (auto n = readInt(v, keyMark, field, 1, 1000000)) {
                       limit.burst = static_cast<int>(*n);
                     } else {
                       good = false;
                     }
                   } else if (auto n = readInt(v, keyMark, field, 1, 10000000)) {
                     config_.security.rateLimitCapacity = static_cast<int>(*n);
                   }
                 });
    if (!isMap || node.IsNull()) {
      if (isMap) missing(at, path, "rate");
      return std::nullopt;
    }
    if (!sawRate) {
      missing(markOf(node, at), path, "rate");
      return std::nullopt;
    }
    if (!good) return std::nullopt;
    if (!sawBurst) limit.burst = std::max(1, static_cast<int>(std::ceil(limit.perSecond)));
    return limit;
  }

  // HSTS max-age: a duration of up to 2 years; units as for durations, plus y (365d).
  std::optional<std::int64_t> readMaxAge(const Node& node, const YAML::Mark& at,
                                         const std::string& path) {
    auto text = readString(node, at, path, "a duration such as 1y or 180d");
    if (!text) return std::nullopt;
    std::optional<std::int64_t> seconds;
    if (!text->empty() && text->back() == 'y') {
      std::int64_t years = 0;
      const char* end = text->data() + text->size() - 1;
      auto [ptr, ec] = std::from_chars(text->data(), end, years);
      if (ec == std::errc() && ptr == end && ptr != text->data() && years <= 2) {
        seconds = years * 365 * 86400;
      }
    } else if (auto ms = parseDuration(*text)) {
      seconds = *ms / 1000;
    }
    if (!seconds || *seconds < 0 || *seconds > 2 * 365 * 86400) {
      error(markOf(node, at),
            path + ": invalid max-age '" + *text + "' (a duration up to 2y, e.g. 1y, 180d, 0s)");
      return std::nullopt;
    }
    return seconds;
  }

  // A route's protection keys; false when `key` is not one of them.
  bool readRouteSecurity(const std::string& key, const Node& v, const YAML::Mark& keyMark,
                         const std::string& field, RouteSecurity& security) {
    if (key == "allow") {
      security.allow = readCidrs(v, keyMark, field);
    } else if (key == "deny") {
      security.deny = readCidrs(v, keyMark, field);
    } else if (key == "rate_limit") {
      if (v.IsScalar() && v.Scalar() == "off") {
        security.rateLimitOff = true;
      } else if (v.IsScalar()) {
        error(markOf(v, keyMark),
              field + ": expected {rate, burst} or off, got '" + v.Scalar() + "'");
      } else {
        security.rateLimit = readRateLimit(v, keyMark, field, false);
      }
    } else if (key == "signed_urls") {
      if (auto on = readBool(v, keyMark, field)) {
        security.signedUrls = *on;
        if (*on) signedRoutes_.emplace_back(keyMark, field);
      }
    } else if (key == "jwt") {
      if (v.IsScalar()) {
        if (auto on = readBool(v, keyMark, field)) security.jwt = *on;
      } else {
        security.jwt = visitMap(
            v, keyMark, field, {"audience", "issuer", "forward_authorization"}, kNoReservedKeys,
            [&](const std::string& k, const YAML::Mark& m, const Node& value) {
              if (k == "forward_authorization") {
                if (auto on = readBool(value, m, field + "." + k)) {
                  security.jwtForwardAuthorization = *on;
                }
              } else if (auto text = readString(value, m, field + "." + k)) {
                (k == "audience" ? security.jwtAudience : security.jwtIssuer) = *text;
              }
            });
      }
      if (security.jwt) jwtRoutes_.emplace_back(keyMark, field);
    } else if (key == "https_redirect") {
      if (auto on = readBool(v, keyMark, field)) security.httpsRedirect = *on;
    } else if (key == "https_redirect_port") {
      if (auto n = readInt(v, keyMark, field, 1, 65535)) {
        security.httpsRedirectPort = static_cast<int>(*n);
      }
    } else if (key == "hsts") {
      HstsConfig hsts;
      bool sawMaxAge = false;
      bool good = true;
      const bool isMap =
          visitMap(v, keyMark, field, {"max_age", "include_subdomains", "preload"}, kNoReservedKeys,
                   [&](const std::string& k, const YAML::Mark& m, const Node& value) {
                     const std::string sub = field + "." + k;
                     if (k == "max_age") {
                       sawMaxAge = true;
                       auto seconds = readMaxAge(value, m, sub);
                       good = good && seconds.has_value();
                       if (seconds) hsts.maxAgeSeconds = *seconds;
                     } else if (auto on = readBool(value, m, sub)) {
                       (k == "preload" ? hsts.preload : hsts.includeSubdomains) = *on;
                     } else {
                       good = false;
                     }
                   });
      if (isMap && !sawMaxAge) missing(markOf(v, keyMark), field, "max_age");
      if (isMap && sawMaxAge && good) security.hsts = hsts;
    } else {
      return false;
    }
    return true;
  }

  void readSecurity(const Node& node, const YAML::Mark& at) {
    visitMap(node, at, "security", {"hide_headers", "rate_limit", "signing_keys", "jwt"},
             kNoReservedKeys,
             [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
               const std::string path = "security." + key;
               if (key == "hide_headers") {
                 if (!isList(v, keyMark, path, "header field names")) return;
                 for (std::size_t i = 0; i < v.size(); ++i) {
                   const std::string item = path + "[" + std::to_string(i) + "]";
                   auto name = readString(v[i], keyMark, item, "a header field name");
                   if (!name) continue;
                   if (name->empty() || !std::all_of(name->begin(), name->end(), [](char c) {
                         return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                       })) {
                     error(markOf(v[i], keyMark),
                           item + ": '" + *name + "' is not a header field name (e.g. X-Backend)");
                     continue;
                   }
                   config_.security.hideHeaders.push_back(*name);
                 }
               } else if (key == "rate_limit") {
                 config_.security.rateLimit = readRateLimit(v, keyMark, path, true);
               } else if (key == "signing_keys") {
                 if (!isList(v, keyMark, path, "keys")) return;
                 for (std::size_t i = 0; i < v.size(); ++i) {
                   const std::string item = path + "[" + std::to_string(i) + "]";
                   auto secret = readString(v[i], keyMark, item, "a key (text)");
                   if (!secret) continue;
                   if (secret->size() < 16) {
                     error(markOf(v[i], keyMark), item + ": a key needs at least 16 characters");
                     continue;
                   }
                   config_.security.signingKeys.push_back(*secret);
                 }
               } else {
                 readJwt(v, keyMark);
               }
             });
  }

  void readJwt(const Node& node, const YAML::Mark& at) {
    visitMap(
        node, at, "security.jwt", {"keys", "issuer", "audience", "leeway", "forward_authorization"},
        kNoReservedKeys, [&](const std::string& key, const YAML::Mark& keyMark, const Node& v) {
          const std::string path = "security.jwt." + key;
          if (key == "issuer" || key == "audience") {
            if (auto text = readString(v, keyMark, path)) {
              (key == "issuer" ? config_.security.jwtIssuer : config_.security.jwtAudience) = *text;
            }
          } else if (key == "leeway") {
            if (auto ms = readDuration(v, keyMark, path, 0)) config_.security.jwtLeewayMs = *ms;
          } else if (key == "forward_authorization") {
            if (auto on = readBool(v, keyMark, path)) {
              config_.security.jwtForwardAuthorization = *on;
            }
          } else {
            if (!isList(v, keyMark, path, "{secret} or {public_key_file} maps")) return;
            for (std::size_t i = 0; i < v.size(); ++i) {
              const std::string item = path + "[" + std::to_string(i) + "]";
              const YAML::Mark itemMark = markOf(v[i], keyMark);
              JwtKeyConfig jwtKey;
              const bool isMap =
                  visitMap(v[i], itemMark, item, {"secret", "public_key_file"}, kNoReservedKeys,
                           [&](const std::string& k, const YAML::Mark& m, const Node& value) {
                             auto text = readString(value, m, item + "." + k);
                             if (!text) return;
                             if (k == "secret") {
                               if (text->size() < 16) {
                                 error(markOf(value, m),
                                       item + ".secret: a secret needs at least 16 characters");
                                 return;
                               }
                               jwtKey.secret = *text;
                               return;
                             }
                             struct stat st {};
                             if (text->empty() || ::stat(text->c_str(), &st) != 0 ||
                                 !S_ISREG(st.st_mode) || ::access(text->c_str(), R_OK) != 0) {
                               error(markOf(value, m),
                                     item + ".public_key_file: cannot read '" + *text + "'");
                               return;
                             }
                             jwtKey.publicKeyFile = *text;
                           });
              if (!isMap) continue;
              if (jwtKey.secret.empty() == jwtKey.publicKeyFile.empty()) {
                if (v[i].IsMap() && v[i].size() != 1) {
                  error(itemMark, item +
                                      ": give exactly one of secret (HS256) or "
                                      "public_key_file (RS256)");
                } else if (v[i].IsNull()) {
                  missing(itemMark, item, "secret");
                }
                continue;
              }
              config_.security.jwtKeys.push_back(std::move(jwtKey));
            }
          }
        });
  }

  const std::string& source_;
  Config& config_;
  std::vector<ConfigError>& errors_;
  YAML::Mark rootMark_;
  YAML::Mark poolsMark_;
  YAML::Mark memoryMark_ = YAML::Mark::null_mark();
  YAML::Mark maxMemoryObjectMark_ = YAML::Mark::null_mark();
  std::map<std::string, YAML::Mark> poolNames_;  // Every named pool, valid or not.
  std::vector<RouteRef> routeRefs_;
  bool routesGiven_ = false;  // A non-empty `routes` list; otherwise the default route.
  std::vector<std::pair<YAML::Mark, std::string>> signedRoutes_;  // routes[].signed_urls: true
  std::vector<std::pair<YAML::Mark, std::string>> jwtRoutes_;     // routes[].jwt
};

// True when `error` is about `path` or something under it ("cache.memory: ...",
// "unknown key 'x' in pools[0]"); overrides drop such errors as they replace the value.
bool concerns(const ConfigError& error, std::string_view path) {
  const std::string& m = error.message;
  auto boundary = [&](std::size_t at) {
    return at >= m.size() || m[at] == ':' || m[at] == ' ' || m[at] == '.' || m[at] == '[' ||
           m[at] == ')';
  };
  if (m.compare(0, path.size(), path) == 0 && boundary(path.size())) return true;
  const std::string inPath = " in " + std::string(path);
  for (std::size_t at = m.find(inPath); at != std::string::npos; at = m.find(inPath, at + 1)) {
    if (boundary(at + inPath.size())) return true;
  }
  return false;
}

// Where each document's root node starts (its first event), for loadDocuments.
class RootMarks final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> roots;

  void OnDocumentStart(const YAML::Mark&) override { pending_ = true; }
  void OnDocumentEnd() override { pending_ = false; }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { root(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { root(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    root(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    root(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    root(mark);
  }
  void OnMapEnd() override {}

 private:
  void root(const YAML::Mark& mark) {
    if (pending_) roots.push_back(mark);
    pending_ = false;
  }
  bool pending_ = false;
};

// The first document of `yaml`, and where a second one starts (if any). Not YAML::LoadAll:
// Debian 12's yaml-cpp 0.7 keeps reporting an empty document without consuming any input on
// some malformed text (",:[", found by config_fuzz; fixed upstream after 0.8.0, pull request 1319),
// and LoadAll collects those forever, growing without bound. A document whose root starts where
// the previous one's did is that state: a syntax error (thrown as YAML::ParserException).
struct Documents {
  YAML::Node first;
  std::optional<YAML::Mark> second;
};
Documents loadDocuments(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  RootMarks marks;
  while (marks.roots.size() < 3 && parser.HandleNextDocument(marks)) {
    const auto n = marks.roots.size();
    if (n >= 2 && marks.roots[n - 1].pos == marks.roots[n - 2].pos) {
      throw YAML::ParserException(marks.roots[n - 1], "unexpected token");
    }
  }
  Documents documents;
  documents.first = YAML::Load(yaml);
  if (marks.roots.size() > 1) documents.second = marks.roots[1];
  return documents;
}

}  // namespace

// --------------------------------------------------------------------------------------------

std::optional<HostPort> parseHostPort(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!isValidIpv6(host)) return std::nullopt;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (!isValidHostName(host)) return std::nullopt;  // Also rejects unbracketed IPv6.
  }
  auto number = parsePort(port);
  if (!number) return std::nullopt;
  return HostPort{std::string(host), *number};
}

std::string BackendUrl::hostPort() const {
  if (demo) return "demo";
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<BackendUrl> parseBackendUrl(std::string_view url) {
  BackendUrl out;
  if (url == "demo:") {
    out.demo = true;
    return out;
  }
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
    out.port = 80;
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    out.tls = true;
    out.port = 443;
  } else {
    return std::nullopt;
  }
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash != rest.size() - 1) return std::nullopt;  // Only a bare "/" path is allowed.
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = rest.substr(1, close - 1);
    if (!isValidIpv6(host)) return std::nullopt;
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      auto port = parsePort(after.substr(1));
      if (!port || *port == 0) return std::nullopt;
      out.port = *port;
    }
  } else {
    if (const std::size_t colon = rest.find(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      auto port = parsePort(rest.substr(colon + 1));
      if (!port || *port == 0) return std::nullopt;
      out.port = *port;
    }
    if (!isValidHostName(host)) return std::nullopt;  // Also rejects "user@host", "?q".
  }
  out.host = std::string(host);
  return out;
}

LoadResult loadConfigText(const std::string& yaml, const std::string& sourceName) {
  LoadResult result;
  auto fail = [&](const YAML::Mark& mark, const std::string& message) {
    std::string location = sourceName;
    if (!mark.is_null()) {
      location += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    result.errors.push_back(ConfigError{location, message});
  };
  try {
    const Documents documents = loadDocuments(yaml);
    if (documents.second) fail(*documents.second, "only one YAML document is allowed");
    Loader loader(sourceName, result);
    loader.load(documents.first);
  } catch (const YAML::ParserException& e) {
    result.config = Config{};
    result.errors.clear();
    fail(e.mark, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    fail(e.mark, "cannot load config: " + e.msg);
  } catch (const std::exception& e) {
    fail(YAML::Mark::null_mark(), std::string("cannot load config: ") + e.what());
  } catch (...) {
    fail(YAML::Mark::null_mark(), "cannot load config: unexpected error");
  }
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  auto unreadable = [&](int err) {
    LoadResult result;
    result.errors.push_back(
        ConfigError{path, std::string("cannot read config file: ") + std::strerror(err)});
    return result;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unreadable(errno);
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return unreadable(err);
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return loadConfigText(text, path);
}

void applyOverrides(LoadResult& result, const Overrides& overrides) {
  Config& config = result.config;
  std::vector<ConfigError> problems;
  auto given = [](const std::optional<std::string>& value) { return value && !value->empty(); };
  // The override replaces the file's value: the file's complaints about it no longer apply.
  auto replaces = [&](std::initializer_list<std::string_view> paths) {
    std::erase_if(result.errors, [&](const ConfigError& error) {
      return std::any_of(paths.begin(), paths.end(),
                         [&](std::string_view path) { return concerns(error, path); });
    });
  };
  auto problem = [&](const char* option, std::string message) {
    problems.push_back(ConfigError{option, std::move(message)});
  };

  if (given(overrides.listen)) {
    replaces({"listen"});
    if (std::string p = checkListenAddress(*overrides.listen); !p.empty()) {
      problem("--listen", p);
    } else {
      config.listen = *overrides.listen;
    }
  }
  if (given(overrides.adminListen)) {
    replaces({"admin.listen"});
    if (std::string p = checkListenAddress(*overrides.adminListen); !p.empty()) {
      problem("--admin-listen", p);
    } else {
      config.adminListen = *overrides.adminListen;
    }
  }
  if (given(overrides.origin)) {
    replaces({"pools", "routes"});
    if (std::string p = checkBackendUrl(*overrides.origin); !p.empty()) {
      problem("--origin", p);
    } else {
      Pool pool;
      pool.name = "origin";
      Backend backend;
      backend.url = *overrides.origin;
      backend.name = parseBackendUrl(backend.url)->hostPort();
      pool.backends.push_back(std::move(backend));
      config.pools = {std::move(pool)};
      config.routes = {defaultRoute(config.pools)};
    }
  }
  if (given(overrides.cacheDir)) {
    replaces({"cache.disk.path"});
    config.cacheDir = *overrides.cacheDir;
  }
  if (given(overrides.memory)) {
    replaces({"cache.memory"});
    auto bytes = parseSize(*overrides.memory);
    if (!bytes) {
      problem("--memory", "invalid size '" + *overrides.memory + "' " + kSizeHint);
    } else if (std::string p = checkMemory(*bytes); !p.empty()) {
      problem("--memory", p);
    } else if (config.maxMemoryObjectBytes > *bytes) {
      problem("--memory", formatSize(*bytes) + " is smaller than cache.max_memory_object (" +
                              formatSize(config.maxMemoryObjectBytes) + ")");
    } else {
      config.memoryBytes = *bytes;
    }
  }
  if (given(overrides.disk)) {
    replaces({"cache.disk.size"});
    auto bytes = parseSize(*overrides.disk);
    if (!bytes) {
      problem("--disk", "invalid size '" + *overrides.disk + "' " + kSizeHint);
    } else if (std::string p = checkDisk(*bytes); !p.empty()) {
      problem("--disk", p);
    } else {
      config.diskBytes = *bytes;
    }
  }
  if (given(overrides.name)) {
    replaces({"node.name"});
    if (std::string p = checkNodeName(*overrides.name); !p.empty()) {
      problem("--name", "node name " + p);
    } else {
      config.nodeName = *overrides.name;
    }
  }
  for (ConfigError& p : problems) result.errors.push_back(std::move(p));
}

}  // namespace strata::edge::app
