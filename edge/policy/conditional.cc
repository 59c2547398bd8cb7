#include "edge/policy/conditional.h"

#include <cstddef>
#include <cstdint>

#include "edge/http/http_date.h"

namespace strata::edge::policy {
namespace {

bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 9110 §8.8.3: etagc = %x21 / %x23-7E / obs-text.
bool isEtagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x7E) || u >= 0x80;
}

// Reads an entity-tag starting at `pos`; on success advances `pos` past the closing quote.
bool readEntityTag(std::string_view s, std::size_t& pos, EntityTag& out) {
  std::size_t p = pos;
  out = EntityTag{};
  // RFC 9110 §8.8.3: weak = %s"W/" (case-sensitive).
  if (p + 1 < s.size() && s[p] == 'W' && s[p + 1] == '/') {
    out.weak = true;
    p += 2;
  }
  if (p >= s.size() || s[p] != '"') return false;
  ++p;
  const std::size_t start = p;
  while (p < s.size() && isEtagc(s[p])) ++p;
  if (p >= s.size() || s[p] != '"') return false;
  out.opaque.assign(s.substr(start, p - start));
  pos = p + 1;
  return true;
}

std::optional<std::int64_t> dateField(const http::HeaderList& headers, std::string_view name) {
  const auto text = headers.get(name);
  if (!text) return std::nullopt;
  return http::parseHttpDate(trimOws(*text));
}

bool isGetOrHead(std::string_view method) { return method == "GET" || method == "HEAD"; }

}  // namespace

std::optional<EntityTag> parseEntityTag(std::string_view text) {
  const std::string_view s = trimOws(text);
  std::size_t pos = 0;
  EntityTag tag;
  if (!readEntityTag(s, pos, tag) || pos != s.size()) return std::nullopt;
  return tag;
}

EntityTagList parseEntityTagList(std::string_view text) {
  EntityTagList out;
  const std::string_view s = trimOws(text);
  // RFC 9110 §13.1.1, §13.1.2: "*" / #entity-tag.
  if (s == "*") {
    out.any = true;
    return out;
  }
  std::size_t pos = 0;
  while (pos < s.size()) {
    // RFC 9110 §5.6.1: empty list elements and OWS are skipped.
    while (pos < s.size() && (isOws(s[pos]) || s[pos] == ',')) ++pos;
    if (pos >= s.size()) break;
    EntityTag tag;
    std::size_t p = pos;
    bool ok = readEntityTag(s, p, tag);
    if (ok) {
      while (p < s.size() && isOws(s[p])) ++p;
      ok = p >= s.size() || s[p] == ',';
    }
    if (ok) {
      out.tags.push_back(std::move(tag));
      pos = p;
    } else {
      // Malformed member: skip it up to the next comma.
      while (pos < s.size() && s[pos] != ',') ++pos;
    }
  }
  return out;
}

// RFC 9110 §8.8.3.2: strong comparison: neither is weak and the opaque-tags are identical.
bool strongMatch(const EntityTag& a, const EntityTag& b) {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

// RFC 9110 §8.8.3.2: weak comparison: the opaque-tags are identical, weakness aside.
bool weakMatch(const EntityTag& a, const EntityTag& b) { return a.opaque == b.opaque; }

std::optional<EntityTag> storedEntityTag(const http::HeaderList& headers) {
  for (const std::string_view line : headers.getAll("ETag")) {
    if (auto tag = parseEntityTag(line)) return tag;
  }
  return std::nullopt;
}

const char* toString(Precondition p) {
  switch (p) {
    case Precondition::kNone:
      return "none";
    case Precondition::kNotModified:
      return "not-modified";
    case Precondition::kFailed:
      return "failed";
  }
  return "unknown";
}

Precondition evaluatePreconditions(std::string_view method, const http::HeaderList& requestHeaders,
                                   int storedStatus, const http::HeaderList& storedHeaders) {
  // RFC 9110 §13.2.1: preconditions are ignored when the response without them would not be
  // 2xx (nor 412).
  if (storedStatus < 200 || storedStatus > 299) return Precondition::kNone;
  // Most requests carry no precondition: then none of the steps below applies, and the stored
  // validators need not be parsed.
  bool any = false;
  for (const auto& field : requestHeaders.fields()) {
    const std::string_view name = field.first;
    if (http::iequals(name, "If-Match") || http::iequals(name, "If-None-Match") ||
        http::iequals(name, "If-Modified-Since") || http::iequals(name, "If-Unmodified-Since")) {
      any = true;
      break;
    }
  }
  if (!any) return Precondition::kNone;
  const std::optional<EntityTag> etag = storedEntityTag(storedHeaders);
  const std::optional<std::int64_t> lastModified = dateField(storedHeaders, "Last-Modified");

  // RFC 9110 §13.2.2 step 1: If-Match (§13.1.1, strong comparison). A value without any valid
  // member is ignored (treated as absent).
  bool ifMatchUsed = false;
  if (const auto value = requestHeaders.combined("If-Match")) {
    const EntityTagList list = parseEntityTagList(*value);
    if (list.any || !list.tags.empty()) {
      ifMatchUsed = true;
      bool matched = list.any;  // "*": a current representation exists (2xx stored).
      for (const EntityTag& t : list.tags) {
        if (etag && strongMatch(t, *etag)) matched = true;
      }
      if (!matched) return Precondition::kFailed;
    }
  }
  // Step 2: If-Unmodified-Since only without If-Match (§13.1.4). Ignored when invalid, when it
  // has more than one field line, or when the representation has no modification date.
  if (!ifMatchUsed && requestHeaders.count("If-Unmodified-Since") == 1 && lastModified) {
    if (const auto since = dateField(requestHeaders, "If-Unmodified-Since")) {
      if (*lastModified > *since) return Precondition::kFailed;
    }
  }
  // Step 3: If-None-Match (§13.1.2, weak comparison).
  if (const auto value = requestHeaders.combined("If-None-Match")) {
    const EntityTagList list = parseEntityTagList(*value);
    if (list.any || !list.tags.empty()) {
      bool matched = list.any;
      for (const EntityTag& t : list.tags) {
        if (etag && weakMatch(t, *etag)) matched = true;
      }
      if (matched) return isGetOrHead(method) ? Precondition::kNotModified : Precondition::kFailed;
      return Precondition::kNone;  // Step 4 applies only without If-None-Match.
    }
  }
  // Step 4: If-Modified-Since (§13.1.3): GET/HEAD only, one valid HTTP-date; compared with
  // Last-Modified, or else Date (RFC 9111 §4.3.2).
  if (isGetOrHead(method) && requestHeaders.count("If-Modified-Since") == 1) {
    if (const auto since = dateField(requestHeaders, "If-Modified-Since")) {
      const std::optional<std::int64_t> modified =
          lastModified ? lastModified : dateField(storedHeaders, "Date");
      if (modified && *modified <= *since) return Precondition::kNotModified;
    }
  }
  return Precondition::kNone;
}

bool ifRangeAllows(const http::HeaderList& requestHeaders, const http::HeaderList& storedHeaders) {
  const auto field = requestHeaders.get("If-Range");
  if (!field) return true;
  // RFC 9110 §13.1.5: If-Range = entity-tag / HTTP-date. More than one line is invalid.
  if (requestHeaders.count("If-Range") != 1) return false;
  const std::string_view value = trimOws(*field);
  if (!value.empty() && (value.front() == '"' || value.front() == 'W')) {
    const auto tag = parseEntityTag(value);
    // A weak entity-tag never matches (strong comparison, §8.8.3.2).
    if (!tag || tag->weak) return false;
    const auto stored = storedEntityTag(storedHeaders);
    return stored && strongMatch(*tag, *stored);
  }
  const auto date = http::parseHttpDate(value);
  if (!date) return false;
  // RFC 9110 §13.1.5: the date must exactly match a strong Last-Modified; §8.8.2.2: a
  // Last-Modified is strong when at least one second before the Date it was sent with.
  const auto lastModified = dateField(storedHeaders, "Last-Modified");
  const auto sent = dateField(storedHeaders, "Date");
  if (!lastModified || !sent || *lastModified >= *sent) return false;
  return *lastModified == *date;
}

http::HeaderList validatorsForRevalidation(const http::HeaderList& storedHeaders) {
  http::HeaderList out;
  // RFC 9111 §4.3.1: the cache MUST send the stored entity tag (If-None-Match) ...
  for (const std::string_view line : storedHeaders.getAll("ETag")) {
    if (parseEntityTag(line)) {
      out.add("If-None-Match", std::string(trimOws(line)));
      break;
    }
  }
  // ... and SHOULD send the stored Last-Modified value in If-Modified-Since.
  if (const auto lm = storedHeaders.get("Last-Modified")) {
    const std::string_view value = trimOws(*lm);
    if (http::parseHttpDate(value)) out.add("If-Modified-Since", std::string(value));
  }
  return out;
}

}  // namespace strata::edge::policy
