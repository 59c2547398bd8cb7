#include "edge/policy/range.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "edge/http/header_list.h"

namespace strata::edge::policy {
namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

bool isOws(char c) { return c == ' ' || c == '\t'; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && isOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOws(s.back())) s.remove_suffix(1);
  return s;
}

// 1*DIGIT, saturating at 2^64-1 (a position that large is beyond any representation).
std::optional<std::uint64_t> parseDigits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    v = (v > (kU64Max - digit) / 10) ? kU64Max : v * 10 + digit;
  }
  return v;
}

// One parsed range-spec (RFC 9110 §14.1.1).
struct Spec {
  bool suffix = false;
  std::uint64_t first = 0;
  std::optional<std::uint64_t> last;  // int-range last-pos, or suffix-length.
};

std::optional<Spec> parseSpec(std::string_view s) {
  const std::size_t dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  Spec spec;
  if (dash == 0) {
    // suffix-range = "-" suffix-length
    spec.suffix = true;
    spec.last = parseDigits(s.substr(1));
    if (!spec.last) return std::nullopt;
    return spec;
  }
  // int-range = first-pos "-" [ last-pos ]
  const auto first = parseDigits(s.substr(0, dash));
  if (!first) return std::nullopt;
  spec.first = *first;
  const std::string_view lastText = s.substr(dash + 1);
  if (!lastText.empty()) {
    spec.last = parseDigits(lastText);
    if (!spec.last) return std::nullopt;
    // RFC 9110 §14.1.1: an int-range is invalid if last-pos < first-pos.
    if (*spec.last < spec.first) return std::nullopt;
  }
  return spec;
}

}  // namespace

const char* toString(RangeOutcome o) {
  switch (o) {
    case RangeOutcome::kFull:
      return "full";
    case RangeOutcome::kPartial:
      return "partial";
    case RangeOutcome::kUnsatisfiable:
      return "unsatisfiable";
  }
  return "unknown";
}

RangeResult evaluateRange(std::string_view rangeHeaderValue, std::uint64_t size) {
  RangeResult result;
  const std::string_view value = trimOws(rangeHeaderValue);
  // RFC 9110 §14.2: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive
  // (§14.1). Other units, or no "=", are ignored (serve the full representation).
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !http::iequals(value.substr(0, eq), "bytes")) return result;
  const std::string_view set = value.substr(eq + 1);

  std::vector<ByteRange> ranges;
  std::size_t specs = 0;
  std::size_t start = 0;
  while (start <= set.size()) {
    std::size_t comma = set.find(',', start);
    if (comma == std::string_view::npos) comma = set.size();
    const std::string_view element = trimOws(set.substr(start, comma - start));
    start = comma + 1;
    if (element.empty()) continue;  // RFC 9110 §5.6.1: empty list elements are ignored.
    const auto spec = parseSpec(element);
    if (!spec) return RangeResult{};  // RFC 9110 §14.2: an invalid range-set is ignored.
    ++specs;
    if (size == 0)
      continue;  // RFC 9110 §14.1.1: nothing of an empty representation is
                 // satisfiable.
    if (spec->suffix) {
      // RFC 9110 §14.1.1: suffix-range satisfiable when suffix-length > 0; a suffix longer
      // than the representation selects all of it.
      if (*spec->last == 0) continue;
      const std::uint64_t length = std::min(*spec->last, size);
      ranges.push_back(ByteRange{size - length, size - 1});
    } else {
      // RFC 9110 §14.1.1: int-range satisfiable when first-pos < size; last-pos clamped.
      if (spec->first >= size) continue;
      const std::uint64_t last = spec->last ? std::min(*spec->last, size - 1) : size - 1;
      ranges.push_back(ByteRange{spec->first, last});
    }
  }
  if (specs == 0) return RangeResult{};  // "bytes=" or "bytes=,": no range-spec (1#).
  // RFC 9110 §14.1.1, §15.5.17: no satisfiable range → 416.
  if (ranges.empty()) {
    result.outcome = RangeOutcome::kUnsatisfiable;
    return result;
  }
  // RFC 9110 §14.2 (security): overlapping, unordered or very many ranges are coalesced
  // (§15.3.7.2 allows a server to combine overlapping ranges regardless of order).
  bool irregular = ranges.size() > kMaxRanges;
  for (std::size_t i = 1; i < ranges.size() && !irregular; ++i) {
    if (ranges[i].first <= ranges[i - 1].last) irregular = true;  // Overlap or out of order.
  }
  if (irregular) {
    std::sort(ranges.begin(), ranges.end(),
              [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
    std::vector<ByteRange> merged;
    for (const ByteRange& r : ranges) {
      // Adjacent (r.first == last + 1) or overlapping ranges merge; last < size <= max so the
      // + 1 cannot overflow.
      if (!merged.empty() && r.first <= merged.back().last + 1) {
        merged.back().last = std::max(merged.back().last, r.last);
      } else {
        merged.push_back(r);
      }
    }
    ranges = std::move(merged);
    if (ranges.size() > kMaxRanges) return RangeResult{};
  }
  result.outcome = RangeOutcome::kPartial;
  result.ranges = std::move(ranges);
  return result;
}

std::string contentRangeValue(ByteRange range, std::uint64_t size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
         std::to_string(size);
}

std::string unsatisfiedContentRange(std::uint64_t size) {
  return "bytes */" + std::to_string(size);
}

}  // namespace strata::edge::policy
