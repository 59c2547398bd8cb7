#include "edge/policy/validation.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge/http/http_date.h"
#include "edge/policy/conditional.h"

namespace strata::edge::policy {
namespace {

using http::iequals;

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Field names listed in Connection (RFC 9110 §7.6.1).
bool listedInConnection(std::string_view name, const http::HeaderList& headers) {
  for (const std::string_view line : headers.getAll("Connection")) {
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) comma = line.size();
      if (iequals(trimOws(line.substr(start, comma - start)), name)) return true;
      start = comma + 1;
    }
  }
  return false;
}

std::optional<std::int64_t> dateField(const http::HeaderList& headers, std::string_view name) {
  const auto text = headers.get(name);
  if (!text) return std::nullopt;
  return http::parseHttpDate(trimOws(*text));
}

}  // namespace

bool isExcludedFromUpdate(std::string_view name, const http::HeaderList& connectionOf) {
  static constexpr std::string_view kExcluded[] = {
      // RFC 9111 §3.1 (not stored) via §3.2: hop-by-hop fields (RFC 9110 §7.6.1).
      "Connection", "Proxy-Connection", "Keep-Alive", "TE", "Transfer-Encoding", "Upgrade",
      // RFC 9111 §3.1: proxy-specific authentication fields.
      "Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization",
      // RFC 9111 §3.2: Content-Length is never updated from a 304.
      "Content-Length",
      // RFC 9111 §3.2: fields the stored content depends upon (the stored bytes are in the
      // stored Content-Encoding) and fields processed per message (Content-Range).
      "Content-Encoding", "Content-Range",
      // RFC 9110 §6.6.2: trailer declarations describe one message's framing.
      "Trailer"};
  for (const std::string_view e : kExcluded) {
    if (iequals(name, e)) return true;
  }
  return listedInConnection(name, connectionOf);
}

http::HeaderList mergeNotModified(const http::HeaderList& stored,
                                  const http::HeaderList& notModified) {
  // Names the 304 updates (first spelling kept).
  std::vector<std::string_view> updated;
  for (const auto& [name, value] : notModified.fields()) {
    if (isExcludedFromUpdate(name, notModified)) continue;
    bool seen = false;
    for (const std::string_view u : updated) seen = seen || iequals(u, name);
    if (!seen) updated.push_back(name);
  }
  auto isUpdated = [&](std::string_view name) {
    for (const std::string_view u : updated) {
      if (iequals(u, name)) return true;
    }
    return false;
  };
  auto appendFrom304 = [&](http::HeaderList& out, std::string_view name) {
    for (const auto& [n, v] : notModified.fields()) {
      if (iequals(n, name)) out.add(n, v);
    }
  };

  http::HeaderList out;
  std::vector<std::string_view> placed;
  // RFC 9111 §3.2: replace stored values that the 304 provides; keep the others.
  for (const auto& [name, value] : stored.fields()) {
    if (!isUpdated(name)) {
      out.add(name, value);
      continue;
    }
    bool done = false;
    for (const std::string_view p : placed) done = done || iequals(p, name);
    if (done) continue;
    placed.push_back(name);
    appendFrom304(out, name);
  }
  // RFC 9111 §3.2: "add each header field in the provided response".
  for (const std::string_view name : updated) {
    bool done = false;
    for (const std::string_view p : placed) done = done || iequals(p, name);
    if (!done) appendFrom304(out, name);
  }
  return out;
}

bool notModifiedMatchesStored(const http::HeaderList& notModified, const http::HeaderList& stored) {
  const auto storedTag = storedEntityTag(stored);
  // RFC 9111 §4.3.4: a strong validator in the 304 selects stored responses with the same
  // strong validator; a weak one selects those it matches by weak comparison.
  if (const auto tag = storedEntityTag(notModified)) {
    if (!storedTag) return false;
    return tag->weak ? weakMatch(*tag, *storedTag) : strongMatch(*tag, *storedTag);
  }
  if (const auto lastModified = dateField(notModified, "Last-Modified")) {
    const auto storedLastModified = dateField(stored, "Last-Modified");
    return storedLastModified && *storedLastModified == *lastModified;
  }
  // RFC 9111 §4.3.4: a 304 without validators updates the only stored response.
  return true;
}

bool headResponseFreshens(const http::HeaderList& headResponse, const http::HeaderList& stored) {
  bool anyValidator = false;
  // RFC 9111 §4.3.5: "matching values for any received validator fields (ETag and
  // Last-Modified)".
  if (headResponse.has("ETag")) {
    anyValidator = true;
    const auto tag = storedEntityTag(headResponse);
    const auto storedTag = storedEntityTag(stored);
    if (!tag || !storedTag || tag->weak != storedTag->weak || tag->opaque != storedTag->opaque) {
      return false;
    }
  }
  if (headResponse.has("Last-Modified")) {
    anyValidator = true;
    const auto lastModified = dateField(headResponse, "Last-Modified");
    const auto storedLastModified = dateField(stored, "Last-Modified");
    if (!lastModified || !storedLastModified || *lastModified != *storedLastModified) {
      return false;
    }
  }
  if (!anyValidator) return false;
  // RFC 9111 §4.3.5: "if the HEAD response has a Content-Length header field, the value of
  // Content-Length matches that of the stored response".
  if (const auto length = headResponse.get("Content-Length")) {
    const auto storedLength = stored.get("Content-Length");
    if (!storedLength || trimOws(*length) != trimOws(*storedLength)) return false;
  }
  return true;
}

}  // namespace strata::edge::policy
