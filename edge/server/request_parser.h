#pragma once
// Strict HTTP/1.1 request-head parser (RFC 9112). Pure: bytes in, a parsed head or an error status
// out. What it refuses, it refuses with the status a client should see and the connection is
// closed afterwards, so no smuggling shape can reach the pipeline:
//   - line endings other than CRLF (bare LF, bare CR), obs-fold, control bytes in values;
//   - invalid method tokens, targets with spaces or control bytes, unknown HTTP versions (505);
//   - field names that are not tokens or have whitespace before the colon;
//   - Transfer-Encoding with Content-Length, Transfer-Encoding in HTTP/1.0, codings other than a
//     single `chunked` (501 for unknown codings), conflicting or malformed Content-Lengths;
//   - HTTP/1.1 requests without exactly one valid Host;
//   - request lines over `maxRequestLine` (414), heads over `maxHeadBytes` or with more than
//     `maxFields` fields (431).
// Absolute-form targets (RFC 9112 §3.2.2) are reduced to origin-form; their authority replaces
// Host so the cache key cannot disagree with what the origin sees.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "edge/http/header_list.h"

namespace strata::edge::server {

struct ParseLimits {
  std::size_t maxRequestLine = 8192;
  std::size_t maxHeadBytes = 32768;
  std::size_t maxFields = 100;
};

struct RequestHead {
  std::string method;
  std::string target;  // Origin-form (or "*").
  std::string host;    // Authority: Host field, or the absolute-form target's authority.
  bool http10 = false;
  http::HeaderList headers;
  bool keepAlive = true;
  bool chunked = false;
  std::int64_t contentLength = 0;  // Body length when not chunked (0: no body).
  bool expectContinue = false;
};

enum class ParseResult { kIncomplete, kDone, kError };

struct ParseError {
  int status = 400;
  std::string reason = "Bad Request";
  std::string message;
};

// Parses the head at the start of `data`. kDone: `*consumed` is the head's length (through the
// empty line). kIncomplete: more bytes are needed (limits already checked on what is there).
ParseResult parseRequestHead(std::string_view data, const ParseLimits& limits, RequestHead* head,
                             std::size_t* consumed, ParseError* error);

// A valid Host value: uri-host [ ":" port ] (RFC 9110 §7.2), with no userinfo.
bool validHost(std::string_view host);

}  // namespace strata::edge::server
