#include "edge/policy/vary.h"

#include <algorithm>
#include <vector>

#include "edge/http/header_list.h"

namespace strata::edge::policy {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = http::asciiLower(c);
  return out;
}

// Trims optional whitespace at the ends and around commas (RFC 9110 §5.6.1).
std::string normalizeValue(std::string_view value) {
  std::string out;
  bool pendingSpace = false;
  for (char c : value) {
    if (isSpace(c)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (c == ',') {
      out.push_back(',');
      pendingSpace = false;
      continue;
    }
    if (pendingSpace && out.back() != ',') out.push_back(' ');
    pendingSpace = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

namespace {

std::optional<std::string> signatureOf(const std::vector<std::string_view>& varyLines,
                                       const http::HeaderList& requestHeaders) {
  std::vector<std::string> names;
  for (auto line : varyLines) {
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t comma = line.find(',', start);
      std::string_view item = line.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      while (!item.empty() && isSpace(item.front())) item.remove_prefix(1);
      while (!item.empty() && isSpace(item.back())) item.remove_suffix(1);
      if (item == "*") return std::nullopt;  // §4.1: "*" always fails to match.
      if (!item.empty()) names.push_back(lower(item));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string signature;
  for (const auto& name : names) {
    signature += name;
    if (auto value = requestHeaders.combined(name)) {
      signature += '=';
      signature += normalizeValue(*value);
    } else {
      signature += '!';  // Absent, which differs from present and empty.
    }
    signature += '\n';
  }
  return signature;
}

}  // namespace

std::optional<std::string> varySignature(const http::HeaderList& responseHeaders,
                                         const http::HeaderList& requestHeaders) {
  return signatureOf(responseHeaders.getAll("Vary"), requestHeaders);
}

std::optional<std::string> varySignature(const std::vector<http::HeaderList::Field>& responseFields,
                                         const http::HeaderList& requestHeaders) {
  std::vector<std::string_view> lines;
  for (const auto& [name, value] : responseFields) {
    if (http::iequals(name, "Vary")) lines.push_back(value);
  }
  return signatureOf(lines, requestHeaders);
}

}  // namespace strata::edge::policy
