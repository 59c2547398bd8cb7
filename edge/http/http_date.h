#pragma once
// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate, plus the obsolete RFC 850 and asctime forms on input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata::edge::http {

// Unix seconds, or nullopt if `text` is not a valid HTTP date.
std::optional<std::int64_t> parseHttpDate(std::string_view text);
// The same, with the clock as an argument: `nowUnixSeconds` decides the century of an RFC 850
// two-digit year (RFC 9110 §5.6.7). The overload above uses the system clock.
std::optional<std::int64_t> parseHttpDate(std::string_view text, std::int64_t nowUnixSeconds);
// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string formatHttpDate(std::int64_t unixSeconds);

// Proleptic Gregorian calendar helpers (thread-safe, locale-free; no timegm/gmtime).
// Days since 1970-01-01 for a civil date (month 1..12, day 1..31).
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day);

}  // namespace strata::edge::http
