#pragma once
// Byte range requests (RFC 9110 §14). Pure; never throws; any input is accepted.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::edge::policy {

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // Inclusive.
};

enum class RangeOutcome {
  kFull,           // No Range, not "bytes", invalid syntax or too fragmented: serve 200.
  kPartial,        // Serve 206 with `ranges`.
  kUnsatisfiable,  // Serve 416 with Content-Range: bytes */size.
};
const char* toString(RangeOutcome o);  // "full", "partial", "unsatisfiable"

struct RangeResult {
  RangeOutcome outcome = RangeOutcome::kFull;
  std::vector<ByteRange> ranges;  // Only for kPartial; each within [0, size).
};

// The maximum number of ranges served in one 206 (after merging). Beyond it: kFull.
inline constexpr std::size_t kMaxRanges = 16;

// Evaluates a Range field value against a representation of `representationSize` bytes
// (RFC 9110 §14.1.1, §14.1.2, §14.2):
//  - empty value, a unit other than "bytes" (case-insensitive) or any invalid range-spec
//    (including last < first) → kFull (the field is ignored);
//  - "a-b", "a-", "-n"; last-pos clamped to size-1; int-ranges with first >= size and
//    zero-length suffixes are unsatisfiable and dropped; none left → kUnsatisfiable; a
//    zero-length representation is unsatisfiable for any valid range;
//  - abuse resistance (§14.2): when the ranges overlap, are out of order or number more than
//    kMaxRanges, they are sorted and overlapping/adjacent ones merged; still more than
//    kMaxRanges → kFull. Otherwise they are kept in the order given.
RangeResult evaluateRange(std::string_view rangeHeaderValue, std::uint64_t representationSize);

// "bytes FIRST-LAST/SIZE" (RFC 9110 §14.4).
std::string contentRangeValue(ByteRange range, std::uint64_t size);
// "bytes */SIZE" for a 416 (RFC 9110 §14.4, §15.5.17).
std::string unsatisfiedContentRange(std::uint64_t size);

}  // namespace strata::edge::policy
