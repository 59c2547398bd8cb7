#include "edge/policy/cache_control.h"

#include <cstddef>

#include "edge/http/header_list.h"

namespace strata::edge::policy {
namespace {

using http::iequals;

// RFC 9111 §1.2.2: a delta-seconds too large to be represented is sent/treated as 2^31.
constexpr std::int64_t kDeltaSecondsCap = 2147483648;

bool isOws(char c) { return c == ' ' || c == '\t'; }

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA.

using http::asciiLower;

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// One list element: `name [= value]`. `malformed` is set when the element had anything other
// than OWS after its value (e.g. `max-age=5 6`) or the name was followed by junk.
struct Directive {
  std::string_view name;
  std::string value;
  bool hasValue = false;
  bool quoted = false;
  bool malformed = false;
};

// A bounds-checked tokenizer for `#cache-directive` (RFC 9111 §5.2, list syntax RFC 9110
// §5.6.1): empty elements and OWS around elements are skipped; commas inside a quoted-string
// do not split elements; quoted-pair escapes are undone (RFC 9110 §5.6.4).
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view s) : s_(s) {}

  // Returns false at the end of input.
  bool next(Directive& d) {
    d = Directive{};
    // RFC 9110 §5.6.1: recipients accept and ignore empty list elements and OWS.
    while (pos_ < s_.size() && (isOws(s_[pos_]) || s_[pos_] == ',')) ++pos_;
    if (pos_ >= s_.size()) return false;
    const std::size_t nameStart = pos_;
    while (pos_ < s_.size() && http::isTokenChar(s_[pos_])) ++pos_;
    d.name = s_.substr(nameStart, pos_ - nameStart);
    skipOws();  // Lenient: BWS before "=".
    if (pos_ < s_.size() && s_[pos_] == '=') {
      ++pos_;
      d.hasValue = true;
      skipOws();  // Lenient: BWS after "=".
      if (pos_ < s_.size() && s_[pos_] == '"') {
        d.quoted = true;
        if (!readQuoted(d.value)) d.malformed = true;  // Unterminated quoted-string.
      } else {
        const std::size_t valueStart = pos_;
        while (pos_ < s_.size() && http::isTokenChar(s_[pos_])) ++pos_;
        d.value.assign(s_.substr(valueStart, pos_ - valueStart));
      }
    }
    skipOws();
    if (d.name.empty() || (pos_ < s_.size() && s_[pos_] != ',')) d.malformed = true;
    skipToNextElement();
    return true;
  }

 private:
  void skipOws() {
    while (pos_ < s_.size() && isOws(s_[pos_])) ++pos_;
  }

  // At an opening quote. Reads up to the closing quote; false if the input ends first.
  bool readQuoted(std::string& out) {
    ++pos_;  // Opening DQUOTE.
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= s_.size()) return false;
        out.push_back(s_[pos_++]);  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      } else {
        out.push_back(c);
      }
    }
    return false;
  }

  // Skips junk up to the next top-level comma, honouring quoted-strings in the junk.
  void skipToNextElement() {
    while (pos_ < s_.size() && s_[pos_] != ',') {
      if (s_[pos_] == '"') {
        std::string ignored;
        readQuoted(ignored);
      } else {
        ++pos_;
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// RFC 9111 §1.2.2: delta-seconds = 1*DIGIT; values above 2^31 are capped at 2^31.
std::optional<std::int64_t> parseDeltaSeconds(const Directive& d) {
  if (!d.hasValue || d.malformed || d.value.empty()) return std::nullopt;
  std::int64_t v = 0;
  for (const char c : d.value) {
    if (c < '0' || c > '9') return std::nullopt;  // Rejects "-1", "1.5", " 5", "0x10".
    if (v < kDeltaSecondsCap) v = v * 10 + (c - '0');
  }
  return v < kDeltaSecondsCap ? v : kDeltaSecondsCap;
}

// no-cache="a, b" and private="a, b": a quoted list of field names (RFC 9111 §5.2.2.4,
// §5.2.2.7); the token form is accepted too (RFC 9111 §5.2). Names are lower-cased.
std::vector<std::string> parseFieldNames(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    const std::string_view name = trimOws(value.substr(start, comma - start));
    if (!name.empty()) {
      std::string lower;
      lower.reserve(name.size());
      for (const char c : name) lower.push_back(asciiLower(c));
      out.push_back(std::move(lower));
    }
    start = comma + 1;
  }
  return out;
}

// RFC 9111 §4.2.1: when a freshness directive appears more than once, the cache may use the
// first occurrence or treat the response as stale. Repeats with the same value are harmless;
// different or invalid values set `conflicting` (Strata then treats the response as stale).
void setFreshnessDirective(const Directive& d, std::optional<std::int64_t>& slot,
                           bool& conflicting) {
  const std::optional<std::int64_t> v = parseDeltaSeconds(d);
  if (!v) {
    conflicting = true;
    return;
  }
  if (slot && *slot != *v) {
    conflicting = true;
    return;
  }
  if (!slot) slot = v;
}

// Other delta-seconds directives: the first valid occurrence wins; invalid ones are ignored.
void setFirst(const Directive& d, std::optional<std::int64_t>& slot) {
  if (slot) return;
  slot = parseDeltaSeconds(d);
}

// Qualified no-cache / private. An empty list (`private=""`) or a malformed value is treated
// as the unqualified directive, which is the conservative reading.
void setQualified(const Directive& d, bool& unqualified, std::vector<std::string>& fields) {
  if (!d.hasValue || d.malformed) {  // Malformed (e.g. unterminated quote): be conservative.
    unqualified = true;
    return;
  }
  std::vector<std::string> names = parseFieldNames(d.value);
  if (names.empty()) {
    unqualified = true;
    return;
  }
  for (auto& n : names) fields.push_back(std::move(n));
}

}  // namespace

CacheControl parseCacheControl(std::string_view value) {
  CacheControl cc;
  Tokenizer tokens(value);
  Directive d;
  while (tokens.next(d)) {
    // RFC 9111 §5.2: cache directives are case-insensitive tokens.
    const std::string_view n = d.name;
    if (n.empty()) continue;
    if (iequals(n, "max-age")) {
      setFreshnessDirective(d, cc.maxAge, cc.conflictingFreshness);  // §5.2.1.1, §5.2.2.1
    } else if (iequals(n, "s-maxage")) {
      setFreshnessDirective(d, cc.sMaxAge, cc.conflictingFreshness);  // §5.2.2.10
    } else if (iequals(n, "no-store")) {
      cc.noStore = true;  // §5.2.1.5, §5.2.2.5
    } else if (iequals(n, "no-cache")) {
      setQualified(d, cc.noCache, cc.noCacheFields);  // §5.2.1.4, §5.2.2.4
    } else if (iequals(n, "private")) {
      setQualified(d, cc.isPrivate, cc.privateFields);  // §5.2.2.7
    } else if (iequals(n, "public")) {
      cc.isPublic = true;  // §5.2.2.9
    } else if (iequals(n, "must-revalidate")) {
      cc.mustRevalidate = true;  // §5.2.2.2
    } else if (iequals(n, "proxy-revalidate")) {
      cc.proxyRevalidate = true;  // §5.2.2.8
    } else if (iequals(n, "must-understand")) {
      cc.mustUnderstand = true;  // §5.2.2.3
    } else if (iequals(n, "no-transform")) {
      cc.noTransform = true;  // §5.2.1.6, §5.2.2.6
    } else if (iequals(n, "immutable")) {
      cc.immutable = true;  // RFC 8246 §2
    } else if (iequals(n, "only-if-cached")) {
      cc.onlyIfCached = true;  // §5.2.1.7
    } else if (iequals(n, "stale-while-revalidate")) {
      setFirst(d, cc.staleWhileRevalidate);  // RFC 5861 §3
    } else if (iequals(n, "stale-if-error")) {
      setFirst(d, cc.staleIfError);  // RFC 5861 §4
    } else if (iequals(n, "min-fresh")) {
      setFirst(d, cc.minFresh);  // §5.2.1.3
    } else if (iequals(n, "max-stale")) {
      // §5.2.1.2: without a value, any staleness is accepted. An invalid value makes the
      // directive ignored (the conservative choice: do not serve stale).
      if (!d.hasValue) {
        if (!cc.maxStaleSeconds) cc.maxStale = true;
      } else if (const auto v = parseDeltaSeconds(d); v && !cc.maxStale) {
        cc.maxStale = true;
        cc.maxStaleSeconds = v;
      }
    }
    // Unknown directives are ignored (§5.2.3).
  }
  return cc;
}

}  // namespace strata::edge::policy
