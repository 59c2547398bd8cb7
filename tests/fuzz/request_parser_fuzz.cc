// parseRequestHead (edge/server/request_parser.h): the proxy's strict HTTP/1.1 head parser, fed
// raw client bytes. Besides not crashing, a parsed head must hold what the pipeline relies on:
//   - kDone: `consumed` within the input, a valid Host (or none on HTTP/1.0), a target in
//     origin-form or "*", no CR, LF or NUL in any field name or value, the framing settled
//     (chunked excludes a Content-Length, which is never negative);
//   - streaming: any shorter prefix of a head that parses is kIncomplete (the server calls the
//     parser again as bytes arrive, so a prefix must never be refused or accepted differently),
//     and the head alone parses to the same result as the head followed by more bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "edge/server/request_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using strata::edge::server::ParseError;
using strata::edge::server::ParseLimits;
using strata::edge::server::ParseResult;
using strata::edge::server::RequestHead;

bool hasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void checkHead(const RequestHead& head, std::size_t consumed, std::size_t size) {
  FUZZ_CHECK(consumed > 0 && consumed <= size);
  FUZZ_CHECK(!head.method.empty());
  FUZZ_CHECK(!head.target.empty());
  FUZZ_CHECK(head.target.front() == '/' || head.target == "*");
  FUZZ_CHECK(!hasLineBreakOrNul(head.target) && head.target.find(' ') == std::string_view::npos);
  if (!head.http10 || !head.host.empty()) FUZZ_CHECK(strata::edge::server::validHost(head.host));
  FUZZ_CHECK(!hasLineBreakOrNul(head.host));
  FUZZ_CHECK(head.contentLength >= 0);
  if (head.chunked) FUZZ_CHECK(head.contentLength == 0 && !head.http10);
  for (const auto& [name, value] : head.headers.fields()) {
    FUZZ_CHECK(!name.empty());
    FUZZ_CHECK(!hasLineBreakOrNul(name));
    FUZZ_CHECK(!hasLineBreakOrNul(value));
  }
  // Exactly one Host field reaches the pipeline on HTTP/1.1.
  if (!head.http10) FUZZ_CHECK(head.headers.count("Host") == 1);
}

bool sameHead(const RequestHead& a, const RequestHead& b) {
  return a.method == b.method && a.target == b.target && a.host == b.host && a.http10 == b.http10 &&
         a.headers.fields() == b.headers.fields() && a.keepAlive == b.keepAlive &&
         a.chunked == b.chunked && a.contentLength == b.contentLength &&
         a.expectContinue == b.expectContinue;
}

ParseResult parse(std::string_view data, const ParseLimits& limits, RequestHead* head,
                  std::size_t* consumed, ParseError* error) {
  *consumed = 0;
  const auto result = strata::edge::server::parseRequestHead(data, limits, head, consumed, error);
  if (result == ParseResult::kError) {
    FUZZ_CHECK(error->status >= 400 && error->status <= 599);
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Small limits too, so the 414/431 paths are reached by short inputs.
  const ParseLimits limits[] = {ParseLimits{}, ParseLimits{64, 256, 4}};
  for (const auto& limit : limits) {
    RequestHead head;
    std::size_t consumed = 0;
    ParseError error;
    if (parse(input, limit, &head, &consumed, &error) != ParseResult::kDone) continue;
    checkHead(head, consumed, size);

    // The head alone parses the same (what follows it is body or the next request).
    RequestHead alone;
    std::size_t aloneConsumed = 0;
    FUZZ_CHECK(parse(input.substr(0, consumed), limit, &alone, &aloneConsumed, &error) ==
               ParseResult::kDone);
    FUZZ_CHECK(aloneConsumed == consumed && sameHead(head, alone));

    // Shorter prefixes are incomplete, never refused nor accepted.
    const std::size_t cuts[] = {consumed - 1, consumed / 2, consumed / 3, 1};
    for (const auto cut : cuts) {
      if (cut == 0 || cut >= consumed) continue;
      RequestHead partial;
      std::size_t partialConsumed = 0;
      ParseError partialError;
      const auto result =
          parse(input.substr(0, cut), limit, &partial, &partialConsumed, &partialError);
      FUZZ_CHECK(result == ParseResult::kIncomplete);
    }
  }
  return 0;
}
