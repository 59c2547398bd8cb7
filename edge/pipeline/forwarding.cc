#include "edge/pipeline/forwarding.h"

#include <algorithm>
#include <array>
#include <vector>

namespace strata::edge::pipeline {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a comma-separated list, dropping empty elements.
std::vector<std::string_view> splitList(std::string_view value) {
  std::vector<std::string_view> out;
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade (RFC 9110
// §7.6.1), told apart by length first.
bool isHopByHopName(std::string_view n) {
  switch (n.size()) {
    case 2:
      return http::iequals(n, "TE");
    case 7:
      return http::iequals(n, "Trailer") || http::iequals(n, "Upgrade");
    case 10:
      return http::iequals(n, "Connection") || http::iequals(n, "Keep-Alive");
    case 16:
      return http::iequals(n, "Proxy-Connection");
    case 17:
      return http::iequals(n, "Transfer-Encoding");
    default:
      return false;
  }
}

}  // namespace

void stripHopByHop(http::HeaderList& headers) {
  // A first pass finds the fields to drop and the names Connection lists; most responses have
  // none but Connection, and nothing is allocated for a head without hop-by-hop fields.
  auto& fields = headers.fields();
  std::vector<std::string> named;
  bool any = false;
  for (const auto& [name, value] : fields) {
    if (!isHopByHopName(name)) continue;
    any = true;
    if (http::iequals(name, "Connection")) {
      for (auto token : splitList(value)) named.emplace_back(token);
    }
  }
  if (!any) return;
  // One pass over the fields (a remove() per name moved every kept field seven times or more).
  fields.erase(std::remove_if(fields.begin(), fields.end(),
                              [&](const http::HeaderList::Field& f) {
                                return isHopByHopName(f.first) ||
                                       std::any_of(named.begin(), named.end(),
                                                   [&](std::string_view n) {
                                                     return http::iequals(f.first, n);
                                                   });
                              }),
               fields.end());
}

void appendVia(http::HeaderList& headers, const std::string& nodeName) {
  headers.add("Via", "1.1 " + nodeName);
}

bool viaContains(const http::HeaderList& headers, std::string_view nodeName) {
  for (auto value : headers.getAll("Via")) {
    for (auto entry : splitList(value)) {
      // entry = received-protocol RWS received-by [ RWS comment ]
      auto space = entry.find_first_of(" \t");
      if (space == std::string_view::npos) continue;
      auto rest = trim(entry.substr(space));
      auto receivedBy = rest.substr(0, rest.find_first_of(" \t"));
      if (receivedBy == nodeName) return true;
    }
  }
  return false;
}

void addForwardedFor(http::HeaderList& headers, const std::string& clientAddress,
                     const std::string& scheme) {
  if (auto existing = headers.combined("X-Forwarded-For")) {
    headers.set("X-Forwarded-For", *existing + ", " + clientAddress);
  } else {
    headers.add("X-Forwarded-For", clientAddress);
  }
  headers.set("X-Forwarded-Proto", scheme);
}

}  // namespace strata::edge::pipeline
