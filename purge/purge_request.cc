#include "purge/purge_request.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <exception>
#include <set>
#include <typeinfo>
#include <unordered_set>

namespace strata::purge {
namespace {

// Nesting deeper than this is refused by the JSON parser (the valid body has depth 2).
constexpr std::size_t kMaxJsonDepth = 16;
// Longest excerpt of client input quoted in an error message.
constexpr std::size_t kMaxExcerpt = 64;

char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

bool isVisibleAscii(char c) { return c > 0x20 && c < 0x7f; }

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// A bounded, printable one-line excerpt of client input for error messages.
std::string excerpt(std::string_view s) {
  std::string out;
  const std::size_t n = std::min(s.size(), kMaxExcerpt);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[i];
    out.push_back((c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?');
  }
  if (s.size() > n) out.append("...");
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// ParseHandler that also notices duplicate fields of the top-level object (Poco keeps the last).
class StrictHandler : public Poco::JSON::ParseHandler {
 public:
  void startObject() override {
    ++depth_;
    ParseHandler::startObject();
  }
  void endObject() override {
    --depth_;
    ParseHandler::endObject();
  }
  void startArray() override {
    ++depth_;
    ParseHandler::startArray();
  }
  void endArray() override {
    --depth_;
    ParseHandler::endArray();
  }
  void key(const std::string& k) override {
    if (depth_ == 1 && !seen_.insert(k).second && duplicate_.empty()) duplicate_ = k;
    ParseHandler::key(k);
  }
  const std::string& duplicate() const { return duplicate_; }

 private:
  int depth_ = 0;
  std::set<std::string> seen_;
  std::string duplicate_;
};

PurgeParseResult fail(int status, std::string error) {
  PurgeParseResult r;
  r.httpStatus = status;
  r.error = std::move(error);
  return r;
}

bool hostAllowed(std::string_view key, const PurgeLimits& limits) {
  if (limits.allowedHosts.empty()) return true;
  const std::string_view host = hostOfPurgeKey(key);
  for (const auto& allowed : limits.allowedHosts) {
    if (equalsIgnoreCase(host, allowed)) return true;
  }
  return false;
}

// Reads field `name` (if present) as an array of strings into `out`. Returns an error or "".
std::string readStringList(const Poco::JSON::Object& object, const std::string& name,
                           std::vector<std::string>& out) {
  if (!object.has(name)) return "";
  const Poco::Dynamic::Var value = object.get(name);
  if (value.type() != typeid(Poco::JSON::Array::Ptr)) {
    return "\"" + name + "\" must be an array of strings";
  }
  const auto array = value.extract<Poco::JSON::Array::Ptr>();
  if (array.isNull()) return "\"" + name + "\" must be an array of strings";
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const Poco::Dynamic::Var item = array->get(static_cast<unsigned>(i));
    if (item.type() != typeid(std::string)) {
      return "\"" + name + "\"[" + std::to_string(i) + "] must be a string";
    }
    out.push_back(item.extract<std::string>());
  }
  return "";
}

// Reads field `name` (if present) as a boolean. Returns an error or "".
std::string readBool(const Poco::JSON::Object& object, const std::string& name, bool& out) {
  if (!object.has(name)) return "";
  const Poco::Dynamic::Var value = object.get(name);
  if (value.type() != typeid(bool)) return "\"" + name + "\" must be a boolean";
  out = value.extract<bool>();
  return "";
}

// Validates and normalizes URLs or prefixes (both become cache keys). Returns an error or "".
std::string normalizeUrls(const char* name, std::vector<std::string>& items,
                          const PurgeLimits& limits) {
  std::vector<std::string> keys;
  std::unordered_set<std::string> seen;
  keys.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const std::string where = std::string("\"") + name + "\"[" + std::to_string(i) + "]";
    if (item.empty()) return where + " is empty";
    if (item.size() > limits.maxItemBytes) {
      return where + " is too long (" + std::to_string(item.size()) + " bytes, max " +
             std::to_string(limits.maxItemBytes) + ")";
    }
    std::optional<std::string> key = purgeKeyForUrl(item);
    if (!key) return where + " is not an absolute http or https URL: " + excerpt(item);
    if (!hostAllowed(*key, limits)) {
      return where + " names a host that is not allowed: " + excerpt(hostOfPurgeKey(*key));
    }
    if (seen.insert(*key).second) keys.push_back(std::move(*key));
  }
  items = std::move(keys);
  return "";
}

std::string validateTags(std::vector<std::string>& tags) {
  std::vector<std::string> unique;
  std::unordered_set<std::string> seen;
  unique.reserve(tags.size());
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const std::string& tag = tags[i];
    const std::string where = "\"tags\"[" + std::to_string(i) + "]";
    if (tag.empty()) return where + " is empty";
    if (tag.size() > kMaxTagBytes) {
      return where + " is too long (" + std::to_string(tag.size()) + " bytes, max " +
             std::to_string(kMaxTagBytes) + ")";
    }
    if (!isValidTag(tag)) {
      return where +
             " is not a valid tag (no spaces, commas or control characters): " + excerpt(tag);
    }
    if (seen.insert(tag).second) unique.push_back(tag);
  }
  tags = std::move(unique);
  return "";
}

PurgeParseResult parseUnchecked(std::string_view body, const PurgeLimits& limits) {
  if (body.size() > limits.maxBodyBytes) {
    return fail(413, "body too large: " + std::to_string(body.size()) + " bytes (max " +
                         std::to_string(limits.maxBodyBytes) + ")");
  }
  std::size_t first = 0;
  while (first < body.size() && isSpace(body[first])) ++first;
  if (first == body.size()) return fail(400, "empty body: expected a JSON object");
  // Poco accepts only objects and arrays at the top level and explains scalars poorly.
  if (body[first] != '{') {
    if (body[first] == '[' || body[first] == '"' || body[first] == '-' ||
        (body[first] >= '0' && body[first] <= '9') || body.substr(first, 4) == "true" ||
        body.substr(first, 5) == "false" || body.substr(first, 4) == "null") {
      return fail(400, "body must be a JSON object");
    }
    return fail(400, "invalid JSON: unexpected character at offset " + std::to_string(first));
  }

  Poco::JSON::Object::Ptr object;
  Poco::SharedPtr<StrictHandler> handler = new StrictHandler;
  try {
    Poco::JSON::Parser parser(handler);
    parser.setDepth(kMaxJsonDepth);
    const Poco::Dynamic::Var root = parser.parse(std::string(body));
    if (root.type() != typeid(Poco::JSON::Object::Ptr)) {
      return fail(400, "body must be a JSON object");
    }
    object = root.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return fail(400,
                "invalid JSON: " + excerpt(e.message().empty() ? e.displayText() : e.message()));
  } catch (const std::exception& e) {
    return fail(400, std::string("invalid JSON: ") + excerpt(e.what()));
  }
  if (object.isNull()) return fail(400, "body must be a JSON object");
  if (!handler->duplicate().empty()) {
    return fail(400, "duplicate field \"" + excerpt(handler->duplicate()) + "\"");
  }

  static const std::set<std::string> kKnown = {"urls", "prefixes", "tags", "all", "soft"};
  std::vector<std::string> names;
  object->getNames(names);
  for (const auto& name : names) {
    if (kKnown.count(name) == 0) {
      return fail(400, "unknown field \"" + excerpt(name) +
                           "\" (expected urls, prefixes, tags, all, soft)");
    }
  }

  PurgeRequest request;
  std::string error = readStringList(*object, "urls", request.urls);
  if (error.empty()) error = readStringList(*object, "prefixes", request.prefixes);
  if (error.empty()) error = readStringList(*object, "tags", request.tags);
  if (error.empty()) error = readBool(*object, "all", request.all);
  if (error.empty()) error = readBool(*object, "soft", request.soft);
  if (!error.empty()) return fail(400, error);

  const std::size_t items = request.urls.size() + request.prefixes.size() + request.tags.size();
  if (items > limits.maxItems) {
    return fail(400, "too many items: " + std::to_string(items) + " (max " +
                         std::to_string(limits.maxItems) + ")");
  }
  if (request.all && items > 0) {
    return fail(400, "ambiguous: \"all\": true cannot be combined with urls, prefixes or tags");
  }
  if (!request.all && items == 0) {
    return fail(400, "nothing to purge: give urls, prefixes, tags or \"all\": true");
  }

  error = normalizeUrls("urls", request.urls, limits);
  if (error.empty()) error = normalizeUrls("prefixes", request.prefixes, limits);
  if (error.empty()) error = validateTags(request.tags);
  if (!error.empty()) return fail(400, error);

  PurgeParseResult result;
  result.request = std::move(request);
  result.httpStatus = 200;
  return result;
}

}  // namespace

PurgeParseResult parsePurgeRequest(std::string_view body, const PurgeLimits& limits) {
  try {
    return parseUnchecked(body, limits);
  } catch (const std::bad_alloc&) {
    return fail(400, "request too complex");
  } catch (...) {
    return fail(400, "invalid request");
  }
}

std::optional<std::string> purgeKeyForUrl(std::string_view url) {
  try {
    for (const char c : url) {
      if (!isVisibleAscii(c)) return std::nullopt;
    }
    const std::size_t sep = url.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    std::string scheme;
    for (const char c : url.substr(0, sep)) scheme.push_back(asciiLower(c));
    if (scheme != "http" && scheme != "https") return std::nullopt;

    const std::string_view rest = url.substr(sep + 3);
    const std::size_t authorityEnd = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, authorityEnd);
    std::string_view target =
        authorityEnd == std::string_view::npos ? std::string_view() : rest.substr(authorityEnd);
    if (authority.find('@') != std::string_view::npos) return std::nullopt;

    // Split "host[:port]" as buildCacheKey does; an IP literal is bracketed.
    std::string_view name = authority;
    std::string_view port;
    const std::size_t bracket = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
      name = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (name.empty()) return std::nullopt;
    if (name.front() == '[') {
      if (name.back() != ']' || name.size() < 3) return std::nullopt;
      if (name.substr(1).find_first_of("[]") != name.size() - 2) return std::nullopt;
    } else if (name.find_first_of("[]:") != std::string_view::npos) {
      return std::nullopt;
    }
    if (port.size() > 5) return std::nullopt;
    for (const char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    const bool defaultPort =
        port.empty() || (scheme == "http" && port == "80") || (scheme == "https" && port == "443");

    // The fragment is never sent to a server, so it is not part of the request target.
    const std::size_t hash = target.find('#');
    if (hash != std::string_view::npos) target = target.substr(0, hash);

    std::string key;
    key.reserve(url.size() + 1);
    key.append(scheme);
    key.append("://");
    for (const char c : name) key.push_back(asciiLower(c));
    if (!defaultPort) {
      key.push_back(':');
      key.append(port);
    }
    // An empty path is "/" (RFC 9110 §4.2.3); "http://h?q" is requested as "/?q".
    if (target.empty() || target.front() == '?') key.push_back('/');
    key.append(target);
    return key;
  } catch (...) {
    return std::nullopt;
  }
}

std::string_view hostOfPurgeKey(std::string_view key) {
  const std::size_t sep = key.find("://");
  if (sep == std::string_view::npos) return {};
  std::string_view rest = key.substr(sep + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    return close == std::string_view::npos ? std::string_view() : rest.substr(0, close + 1);
  }
  return rest.substr(0, rest.find(':'));
}

bool isValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes) return false;
  for (const char c : tag) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == ',') return false;
  }
  return true;
}

std::vector<std::string> tagsFromHeaders(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::string> tags;
  try {
    std::unordered_set<std::string_view> seen;
    // `tags` may reallocate: remember the tokens in a stable container first.
    std::vector<std::string_view> tokens;
    auto add = [&](std::string_view token) {
      token = trim(token);
      if (isValidTag(token) && seen.insert(token).second) tokens.push_back(token);
    };
    for (const auto& [name, value] : headers) {
      const std::string_view v = value;
      if (equalsIgnoreCase(name, "Surrogate-Key")) {
        std::size_t i = 0;
        while (i < v.size()) {
          while (i < v.size() && isSpace(v[i])) ++i;
          std::size_t j = i;
          while (j < v.size() && !isSpace(v[j])) ++j;
          if (j > i) add(v.substr(i, j - i));
          i = j;
        }
      } else if (equalsIgnoreCase(name, "Cache-Tag")) {
        std::size_t i = 0;
        while (i <= v.size()) {
          std::size_t j = v.find(',', i);
          if (j == std::string_view::npos) j = v.size();
          add(v.substr(i, j - i));
          i = j + 1;
        }
      }
    }
    tags.assign(tokens.begin(), tokens.end());
  } catch (...) {
    tags.clear();
  }
  return tags;
}

}  // namespace strata::purge
