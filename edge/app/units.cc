#include "edge/app/units.h"

#include <array>
#include <charconv>
#include <limits>
#include <system_error>
#include <utility>

namespace strata::edge::app {
namespace {

// Splits "123 unit" / "123unit" / "123" into the number and the unit (empty for a bare number).
// Exactly one optional space may separate them. Returns nullopt on junk or overflow.
struct NumberAndUnit {
  std::uint64_t number = 0;
  std::string_view unit;
};

std::optional<NumberAndUnit> splitNumberAndUnit(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  NumberAndUnit out;
  const char* first = text.data();
  const char* last = text.data() + digits;
  auto [ptr, ec] = std::from_chars(first, last, out.number);
  if (ec != std::errc() || ptr != last) return std::nullopt;  // Overflow.
  std::string_view rest = text.substr(digits);
  if (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
    if (rest.empty()) return std::nullopt;  // "12 " has a space but no unit.
  }
  out.unit = rest;
  return out;
}

}  // namespace

std::optional<std::uint64_t> parseSize(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 10> kUnits = {{
      {"", 1},
      {"B", 1},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
  }};
  auto parts = splitNumberAndUnit(text);
  if (!parts) return std::nullopt;
  for (const auto& [unit, factor] : kUnits) {
    if (parts->unit != unit) continue;
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(parts->number, factor, &bytes)) return std::nullopt;
    return bytes;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parseDuration(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits = {{
      {"ms", 1},
      {"s", 1000},
      {"m", 60 * 1000},
      {"h", 60 * 60 * 1000},
      {"d", 24 * 60 * 60 * 1000},
  }};
  auto parts = splitNumberAndUnit(text);
  if (!parts || parts->unit.empty()) return std::nullopt;  // A bare number is ambiguous.
  if (parts->number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  const auto number = static_cast<std::int64_t>(parts->number);
  for (const auto& [unit, factor] : kUnits) {
    if (parts->unit != unit) continue;
    std::int64_t ms = 0;
    if (__builtin_mul_overflow(number, factor, &ms)) return std::nullopt;
    return ms;
  }
  return std::nullopt;
}

}  // namespace strata::edge::app
