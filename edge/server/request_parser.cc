#include "edge/server/request_parser.h"

#include <cctype>
#include <cstring>

namespace strata::edge::server {
namespace {

ParseResult fail(ParseError* error, int status, const char* reason, std::string message) {
  error->status = status;
  error->reason = reason;
  error->message = std::move(message);
  return ParseResult::kError;
}

bool isVisible(unsigned char c) { return c > 0x20 && c < 0x7f; }

std::string_view trimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool hasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = trimOws(list.substr(0, comma));
    if (http::iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool parseDecimal(std::string_view v, std::int64_t* out) {
  if (v.empty() || v.size() > 18) return false;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *out = n;
  return true;
}

}  // namespace

bool validHost(std::string_view host) {
  if (host.empty()) return false;
  std::string_view name = host;
  std::string_view port;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    name = host.substr(0, close + 1);
    const auto rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      name = host.substr(0, colon);
      port = host.substr(colon + 1);
    }
    if (name.empty()) return false;
    for (char c : name) {
      const auto u = static_cast<unsigned char>(c);
      // reg-name: unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2).
      if (!(std::isalnum(u) || std::strchr("-._~%!$&'()*+,;=", c))) return false;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

ParseResult parseRequestHead(std::string_view data, const ParseLimits& limits, RequestHead* head,
                             std::size_t* consumed, ParseError* error) {
  // RFC 9112 §2.2: empty lines before the request line are ignored.
  std::size_t start = 0;
  while (data.size() - start >= 2 && data[start] == '\r' && data[start + 1] == '\n') start += 2;
  const auto end = data.find("\r\n\r\n", start);
  if (end == std::string_view::npos) {
    const auto lineEnd = data.find("\r\n", start);
    // A trailing CR may be the first half of the line's CRLF: it is not part of the line.
    const std::size_t lineSoFar =
        data.size() - start - (data.size() > start && data.back() == '\r' ? 1 : 0);
    if (lineEnd == std::string_view::npos && lineSoFar > limits.maxRequestLine) {
      return fail(error, 414, "URI Too Long", "request line too long");
    }
    if (data.size() - start > limits.maxHeadBytes) {
      return fail(error, 431, "Request Header Fields Too Large", "request head too large");
    }
    // Bytes that can never start a valid request are refused at once, not waited on.
    for (std::size_t i = start; i < data.size(); ++i) {
      const auto c = static_cast<unsigned char>(data[i]);
      if (c == '\n' && (i == 0 || data[i - 1] != '\r')) {
        return fail(error, 400, "Bad Request", "bare LF in request head");
      }
      if (c == 0) return fail(error, 400, "Bad Request", "NUL in request head");
    }
    return ParseResult::kIncomplete;
  }
  if (end + 4 - start > limits.maxHeadBytes) {
    return fail(error, 431, "Request Header Fields Too Large", "request head too large");
  }
  std::string_view text = data.substr(start, end + 2 - start);  // Every line ends with CRLF.

  // Request line.
  const auto lineEnd = text.find("\r\n");
  const std::string_view line = text.substr(0, lineEnd);
  if (line.size() > limits.maxRequestLine) {
    return fail(error, 414, "URI Too Long", "request line too long");
  }
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(error, 400, "Bad Request", "malformed request line");
  }
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (method.empty()) return fail(error, 400, "Bad Request", "empty method");
  for (char c : method) {
    if (!http::isTokenChar(c)) return fail(error, 400, "Bad Request", "invalid method");
  }
  if (target.empty()) return fail(error, 400, "Bad Request", "empty request target");
  for (char c : target) {
    if (!isVisible(static_cast<unsigned char>(c))) {
      return fail(error, 400, "Bad Request", "invalid character in request target");
    }
  }
  if (version == "HTTP/1.1") {
    head->http10 = false;
  } else if (version == "HTTP/1.0") {
    head->http10 = true;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
             std::isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
             std::isdigit(static_cast<unsigned char>(version[7]))) {
    return fail(error, 505, "HTTP Version Not Supported", "unsupported HTTP version");
  } else {
    return fail(error, 400, "Bad Request", "malformed HTTP version");
  }
  head->method.assign(method);

  std::string authority;
  if (target.front() == '/') {
    head->target.assign(target);
  } else if (target == "*" && method == "OPTIONS") {
    head->target = "*";
  } else {
    // absolute-form: http(s)://authority[/path][?query]
    const auto schemeEnd = target.find("://");
    if (schemeEnd == std::string_view::npos) {
      return fail(error, 400, "Bad Request", "invalid request target");
    }
    const auto scheme = target.substr(0, schemeEnd);
    if (!http::iequals(scheme, "http") && !http::iequals(scheme, "https")) {
      return fail(error, 400, "Bad Request", "unsupported URI scheme");
    }
    auto rest = target.substr(schemeEnd + 3);
    const auto pathStart = rest.find_first_of("/?");
    authority.assign(rest.substr(0, pathStart));
    if (!validHost(authority)) return fail(error, 400, "Bad Request", "invalid URI authority");
    if (pathStart == std::string_view::npos) {
      head->target = "/";
    } else if (rest[pathStart] == '?') {
      head->target = "/" + std::string(rest.substr(pathStart));
    } else {
      head->target.assign(rest.substr(pathStart));
    }
  }

  // Field lines.
  std::size_t pos = lineEnd + 2;
  std::size_t fields = 0;
  int hosts = 0;
  bool hasLength = false;
  bool hasTransferEncoding = false;
  std::string transferEncoding;
  std::string connection;
  head->contentLength = 0;
  while (pos < text.size()) {
    const auto eol = text.find("\r\n", pos);
    std::string_view field = text.substr(pos, eol - pos);
    pos = eol + 2;
    if (++fields > limits.maxFields) {
      return fail(error, 431, "Request Header Fields Too Large", "too many header fields");
    }
    if (field.front() == ' ' || field.front() == '\t') {
      return fail(error, 400, "Bad Request", "obsolete line folding");
    }
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail(error, 400, "Bad Request", "malformed header field");
    }
    const auto name = field.substr(0, colon);
    for (char c : name) {
      if (!http::isTokenChar(c)) return fail(error, 400, "Bad Request", "invalid header name");
    }
    const auto value = trimOws(field.substr(colon + 1));
    if (!http::isFieldValue(value)) {
      return fail(error, 400, "Bad Request", "invalid character in header value");
    }
    if (http::iequals(name, "Host")) {
      ++hosts;
      if (authority.empty()) head->host.assign(value);
    } else if (http::iequals(name, "Content-Length")) {
      std::int64_t n = 0;
      if (!parseDecimal(value, &n))
        return fail(error, 400, "Bad Request", "invalid Content-Length");
      if (hasLength && n != head->contentLength) {
        return fail(error, 400, "Bad Request", "conflicting Content-Length");
      }
      hasLength = true;
      head->contentLength = n;
    } else if (http::iequals(name, "Transfer-Encoding")) {
      hasTransferEncoding = true;
      if (!transferEncoding.empty()) transferEncoding += ',';
      transferEncoding.append(value);
    } else if (http::iequals(name, "Connection")) {
      if (!connection.empty()) connection += ',';
      connection.append(value);
    } else if (http::iequals(name, "Expect")) {
      if (!http::iequals(value, "100-continue")) {
        return fail(error, 417, "Expectation Failed", "unsupported expectation");
      }
      head->expectContinue = !head->http10;
    }
    head->headers.add(std::string(name), std::string(value));
  }

  if (!head->http10 && hosts != 1) {
    return fail(error, 400, "Bad Request", hosts ? "more than one Host" : "missing Host");
  }
  if (hosts > 1) return fail(error, 400, "Bad Request", "more than one Host");
  if (authority.empty()) {
    if (hosts == 1 && !validHost(head->host))
      return fail(error, 400, "Bad Request", "invalid Host");
  } else {
    head->host = std::move(authority);
    head->headers.set("Host", head->host);
  }
  if (hasTransferEncoding) {
    if (head->http10) {
      return fail(error, 400, "Bad Request", "Transfer-Encoding in an HTTP/1.0 request");
    }
    if (hasLength) {
      return fail(error, 400, "Bad Request", "both Transfer-Encoding and Content-Length");
    }
    if (!http::iequals(trimOws(transferEncoding), "chunked")) {
      if (hasToken(transferEncoding, "chunked")) {
        return fail(error, 400, "Bad Request", "invalid Transfer-Encoding");
      }
      return fail(error, 501, "Not Implemented", "unsupported Transfer-Encoding");
    }
    head->chunked = true;
  }
  head->keepAlive =
      head->http10 ? hasToken(connection, "keep-alive") : !hasToken(connection, "close");
  *consumed = end + 4;
  return ParseResult::kDone;
}

}  // namespace strata::edge::server
