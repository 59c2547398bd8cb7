#include "edge/policy/targeted.h"

#include <cstddef>
#include <optional>
#include <utility>

#include "edge/http/header_list.h"

namespace strata::edge::policy {
namespace {

bool isLcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 9110 §5.6.2 tchar.

bool isBase64(char c) { return isAlpha(c) || isDigit(c) || c == '+' || c == '/' || c == '='; }

// One dictionary member: its key, and the raw text of its bare-item value (empty when the
// member is a bare key, i.e. boolean true).
struct Member {
  std::string key;
  std::string value;
  bool isFalse = false;  // `key=?0`
};

// A bounds-checked RFC 8941 §4.2 parser for the dictionary subset described in targeted.h.
class SfParser {
 public:
  explicit SfParser(std::string_view s) : s_(s) {}

  // RFC 8941 §4.2.2: Parsing a Dictionary. False on any syntax error.
  bool parseDictionary(std::vector<Member>& out) {
    skip(" ");  // §4.2: leading SP discarded.
    while (pos_ < s_.size()) {
      Member m;
      if (!parseKey(m.key)) return false;
      if (peek() == '=') {
        ++pos_;
        if (peek() == '(') {
          const std::size_t start = pos_;
          if (!parseInnerList()) return false;
          m.value.assign(s_.substr(start, pos_ - start));
        } else {
          const std::size_t start = pos_;
          if (!parseBareItem()) return false;
          m.value.assign(s_.substr(start, pos_ - start));
          if (m.value == "?0") m.isFalse = true;
          if (m.value == "?1") m.value.clear();
        }
      }
      if (!parseParameters()) return false;
      // §4.2.2: a later member with the same key overwrites the earlier one.
      bool replaced = false;
      for (auto& existing : out) {
        if (existing.key == m.key) {
          existing = m;
          replaced = true;
        }
      }
      if (!replaced) out.push_back(std::move(m));
      skip(" \t");  // OWS
      if (pos_ >= s_.size()) return true;
      if (s_[pos_] != ',') return false;
      ++pos_;
      skip(" \t");
      if (pos_ >= s_.size()) return false;  // Trailing comma.
    }
    return true;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip(std::string_view chars) {
    while (pos_ < s_.size() && chars.find(s_[pos_]) != std::string_view::npos) ++pos_;
  }

  // RFC 8941 §4.2.3.3: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
  bool parseKey(std::string& key) {
    if (pos_ >= s_.size() || !(isLcalpha(s_[pos_]) || s_[pos_] == '*')) return false;
    const std::size_t start = pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (!(isLcalpha(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '*')) break;
      ++pos_;
    }
    key.assign(s_.substr(start, pos_ - start));
    return true;
  }

  // RFC 8941 §4.2.3.2: parameters = *( ";" *SP key [ "=" bare-item ] ).
  bool parseParameters() {
    while (peek() == ';') {
      ++pos_;
      skip(" ");
      std::string ignored;
      if (!parseKey(ignored)) return false;
      if (peek() == '=') {
        ++pos_;
        if (!parseBareItem()) return false;
      }
    }
    return true;
  }

  // RFC 8941 §4.2.1.2: inner-list = "(" *SP [ sf-item *( 1*SP sf-item ) *SP ] ")" parameters.
  bool parseInnerList() {
    ++pos_;  // "("
    while (pos_ < s_.size()) {
      skip(" ");
      if (peek() == ')') {
        ++pos_;
        return parseParameters();
      }
      if (!parseBareItem() || !parseParameters()) return false;
      const char c = peek();
      if (c != ' ' && c != ')') return false;
    }
    return false;
  }

  // RFC 8941 §4.2.3.1: bare-item = sf-integer / sf-decimal / sf-string / sf-token /
  // sf-binary / sf-boolean.
  bool parseBareItem() {
    const char c = peek();
    if (c == '-' || isDigit(c)) return parseNumber();
    if (c == '"') return parseString();
    if (c == '*' || isAlpha(c)) {
      ++pos_;
      while (pos_ < s_.size() &&
             (http::isTokenChar(s_[pos_]) || s_[pos_] == ':' || s_[pos_] == '/'))
        ++pos_;
      return true;
    }
    if (c == '?') {  // §4.2.8
      ++pos_;
      if (peek() != '0' && peek() != '1') return false;
      ++pos_;
      return true;
    }
    if (c == ':') {  // §4.2.7
      ++pos_;
      while (pos_ < s_.size() && isBase64(s_[pos_])) ++pos_;
      if (peek() != ':') return false;
      ++pos_;
      return true;
    }
    return false;
  }

  // RFC 8941 §4.2.4: at most 15 integer digits; a decimal has at most 12 integer digits and
  // 1 to 3 fractional digits.
  bool parseNumber() {
    if (peek() == '-') ++pos_;
    std::size_t intDigits = 0;
    while (pos_ < s_.size() && isDigit(s_[pos_])) {
      ++pos_;
      ++intDigits;
    }
    if (intDigits == 0 || intDigits > 15) return false;
    if (peek() != '.') return true;
    if (intDigits > 12) return false;
    ++pos_;
    std::size_t fracDigits = 0;
    while (pos_ < s_.size() && isDigit(s_[pos_])) {
      ++pos_;
      ++fracDigits;
    }
    return fracDigits >= 1 && fracDigits <= 3;
  }

  // RFC 8941 §4.2.5: printable ASCII; "\" escapes only DQUOTE and "\".
  bool parseString() {
    ++pos_;  // DQUOTE
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (pos_ >= s_.size()) return false;
        const char e = s_[pos_++];
        if (e != '"' && e != '\\') return false;
      } else if (c < 0x20 || c > 0x7E) {
        return false;
      }
    }
    return false;  // Unterminated.
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string_view trimSp(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Parses a targeted field value; nullopt when invalid or empty (RFC 9213 §2.1).
std::optional<std::vector<Member>> parseTargeted(std::string_view value) {
  std::vector<Member> members;
  SfParser parser(trimSp(value));  // RFC 8941 §4.2: leading and trailing SP discarded.
  if (!parser.parseDictionary(members) || members.empty()) return std::nullopt;
  return members;
}

}  // namespace

bool isValidSfDictionary(std::string_view value) { return parseTargeted(value).has_value(); }

namespace {

bool takesInteger(std::string_view key) {
  return key == "max-age" || key == "s-maxage" || key == "stale-while-revalidate" ||
         key == "stale-if-error" || key == "min-fresh";
}

}  // namespace

CacheControl effectiveCacheControl(const http::HeaderList& responseHeaders,
                                   const TargetedFields& fields, bool* targeted) {
  if (targeted) *targeted = false;
  // RFC 9213 §2.2: use the first field of the target list with a valid, non-empty value.
  for (const std::string& name : fields.names) {
    const std::optional<std::string> value = responseHeaders.combined(name);
    if (!value) continue;
    // RFC 9213 §2.1: a targeted field that fails to parse (or is empty) is ignored.
    const auto members = parseTargeted(*value);
    if (!members) continue;
    // Re-express the dictionary as Cache-Control syntax so one directive parser serves both
    // (RFC 9213 §2.1: the directives keep their Cache-Control meaning). Boolean false members
    // are dropped; boolean true is the bare directive.
    std::string text;
    for (const Member& m : *members) {
      if (m.isFalse) continue;
      // RFC 9213 §2.1: a directive whose value has the wrong type is ignored; the delta-seconds
      // directives take an sf-integer (so max-age="10" does not count).
      if (takesInteger(m.key) &&
          (m.value.empty() || m.value.find_first_not_of("0123456789") != std::string::npos)) {
        continue;
      }
      if (!text.empty()) text.append(", ");
      text.append(m.key);
      if (!m.value.empty()) {
        text.push_back('=');
        text.append(m.value);
      }
    }
    if (targeted) *targeted = true;
    return parseCacheControl(text);
  }
  return parseCacheControl(responseHeaders.combined("Cache-Control").value_or(""));
}

Directives effectiveDirectives(const http::HeaderList& responseHeaders,
                               const TargetedFields& fields) {
  Directives d;
  d.cc = effectiveCacheControl(responseHeaders, fields, &d.targeted);
  return d;
}

}  // namespace strata::edge::policy
