#include "edge/http/http_date.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>

#include "edge/http/header_list.h"

namespace strata::edge::http {
namespace {

constexpr std::array<std::string_view, 7> kShortDays = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::int64_t kSecondsPerDay = 86400;

bool isLeapYear(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned daysInMonth(std::int64_t year, unsigned month) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  if (month == 2 && isLeapYear(year)) return 29;
  return kDays[month - 1];
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Inverse of daysFromCivil (H. Hinnant's civil_from_days).
Civil civilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{m <= 2 ? y + 1 : y, m, d};
}

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// A tiny bounds-checked cursor over the input. Every accessor checks the remaining length.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ == s_.size(); }
  // ASCII case-insensitive: RFC 9110 §5.6.7 makes HTTP-date case-sensitive, but names in the
  // wrong case ("THU", "aug", "gmt") are unambiguous, and a recipient that rejects them would
  // turn a fresh Expires into an expired one.
  bool literal(std::string_view lit) {
    if (s_.size() - pos_ < lit.size()) return false;
    for (std::size_t i = 0; i < lit.size(); ++i) {
      if (asciiLower(s_[pos_ + i]) != asciiLower(lit[i])) {
        return false;
      }
    }
    pos_ += lit.size();
    return true;
  }
  // Exactly `n` ASCII digits.
  bool digits(std::size_t n, unsigned& out) {
    if (s_.size() - pos_ < n) return false;
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  template <std::size_t N>
  bool oneOf(const std::array<std::string_view, N>& names, unsigned& index) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<unsigned>(i);
        return true;
      }
    }
    return false;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

struct Fields {
  std::int64_t year = 0;
  unsigned month = 0;  // 1..12
  unsigned day = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
};

// RFC 9110 §5.6.7: time-of-day = hour ":" minute ":" second, each 2DIGIT. We reject hour > 23,
// minute > 59 and second > 59 (leap seconds are not representable in Unix time).
bool parseTimeOfDay(Cursor& c, Fields& f) {
  return c.digits(2, f.hour) && c.literal(":") && c.digits(2, f.minute) && c.literal(":") &&
         c.digits(2, f.second);
}

bool valid(const Fields& f) {
  if (f.month < 1 || f.month > 12) return false;
  if (f.day < 1 || f.day > daysInMonth(f.year, f.month)) return false;  // e.g. 30 Feb.
  return f.hour <= 23 && f.minute <= 59 && f.second <= 59;
}

std::int64_t toUnix(const Fields& f) {
  return daysFromCivil(f.year, f.month, f.day) * kSecondsPerDay +
         static_cast<std::int64_t>(f.hour) * 3600 + static_cast<std::int64_t>(f.minute) * 60 +
         static_cast<std::int64_t>(f.second);
}

// IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT; date1 = day SP month SP year
// (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<Fields> parseImfFixdate(std::string_view s) {
  Cursor c(s);
  Fields f;
  unsigned idx = 0;
  unsigned year = 0;
  if (!c.oneOf(kShortDays, idx) || !c.literal(", ") || !c.digits(2, f.day) || !c.literal(" ") ||
      !c.oneOf(kMonths, idx)) {
    return std::nullopt;
  }
  f.month = idx + 1;
  if (!c.literal(" ") || !c.digits(4, year) || !c.literal(" ") || !parseTimeOfDay(c, f) ||
      !c.literal(" GMT") || !c.done()) {
    return std::nullopt;
  }
  f.year = year;
  return f;
}

// rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT; date2 = day "-" month "-" 2DIGIT
// (RFC 9110 §5.6.7), e.g. "Sunday, 06-Nov-94 08:49:37 GMT".
std::optional<Fields> parseRfc850(std::string_view s, std::int64_t now) {
  Cursor c(s);
  Fields f;
  unsigned idx = 0;
  unsigned yy = 0;
  if (!c.oneOf(kLongDays, idx) || !c.literal(", ") || !c.digits(2, f.day) || !c.literal("-") ||
      !c.oneOf(kMonths, idx)) {
    return std::nullopt;
  }
  f.month = idx + 1;
  if (!c.literal("-") || !c.digits(2, yy) || !c.literal(" ") || !parseTimeOfDay(c, f) ||
      !c.literal(" GMT") || !c.done()) {
    return std::nullopt;
  }
  // RFC 9110 §5.6.7: a two-digit year that appears to be more than 50 years in the future is
  // the most recent year in the past with the same last two digits. So take the latest year
  // ending in `yy` whose timestamp is not more than 50 years after `now`.
  // Clamp the clock to years 0000..9999 so the arithmetic below cannot overflow.
  now = std::clamp<std::int64_t>(now, -62167219200, 253402300799);
  const Civil today = civilFromDays(floorDiv(now, kSecondsPerDay));
  const std::int64_t timeOfDay = now - floorDiv(now, kSecondsPerDay) * kSecondsPerDay;
  // 50 years after today (29 Feb maps to 28 Feb if year+50 is not a leap year).
  const std::int64_t limitYear = today.year + 50;
  const unsigned limitDay = std::min(today.day, daysInMonth(limitYear, today.month));
  const std::int64_t limit =
      daysFromCivil(limitYear, today.month, limitDay) * kSecondsPerDay + timeOfDay;
  f.year = floorDiv(today.year, 100) * 100 + yy + 100;
  for (int i = 0; i < 3; ++i) {
    if (!valid(f) || toUnix(f) > limit) {
      f.year -= 100;  // An invalid day (29 Feb) is re-checked in the earlier century.
    } else {
      break;
    }
  }
  return f;
}

// asctime-date = day-name SP date3 SP time-of-day SP year; date3 = month SP ( 2DIGIT / ( SP
// DIGIT )) (RFC 9110 §5.6.7), e.g. "Sun Nov  6 08:49:37 1994".
std::optional<Fields> parseAsctime(std::string_view s) {
  Cursor c(s);
  Fields f;
  unsigned idx = 0;
  unsigned year = 0;
  if (!c.oneOf(kShortDays, idx) || !c.literal(" ") || !c.oneOf(kMonths, idx) || !c.literal(" ")) {
    return std::nullopt;
  }
  f.month = idx + 1;
  if (c.literal(" ")) {
    if (!c.digits(1, f.day)) return std::nullopt;
  } else if (!c.digits(2, f.day)) {
    return std::nullopt;
  }
  if (!c.literal(" ") || !parseTimeOfDay(c, f) || !c.literal(" ") || !c.digits(4, year) ||
      !c.done()) {
    return std::nullopt;
  }
  f.year = year;
  return f;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// H. Hinnant's days_from_civil: proleptic Gregorian, valid for any int64 year in practice.
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day) {
  const std::int64_t y = month <= 2 ? year - 1 : year;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parseHttpDate(std::string_view text) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return parseHttpDate(text, static_cast<std::int64_t>(now));
}

// RFC 9110 §5.6.7: recipients accept all three formats; HTTP-date is case-sensitive, and the
// day-name is not checked against the date (it is redundant). Surrounding OWS is tolerated.
std::optional<std::int64_t> parseHttpDate(std::string_view text, std::int64_t nowUnixSeconds) {
  text = trimOws(text);
  std::optional<Fields> f = parseImfFixdate(text);
  if (!f) f = parseRfc850(text, nowUnixSeconds);
  if (!f) f = parseAsctime(text);
  if (!f || !valid(*f)) return std::nullopt;
  return toUnix(*f);
}

// RFC 9110 §5.6.7: senders generate IMF-fixdate only.
std::string formatHttpDate(std::int64_t unixSeconds) {
  const std::int64_t days = floorDiv(unixSeconds, kSecondsPerDay);
  std::int64_t secs = unixSeconds % kSecondsPerDay;  // No days * 86400: it overflows at INT64_MIN.
  if (secs < 0) secs += kSecondsPerDay;
  const Civil c = civilFromDays(days);
  // 1970-01-01 was a Thursday (index 4).
  const auto weekday = static_cast<std::size_t>(((days % 7) + 7 + 4) % 7);
  char buf[64];
  const int n =
      std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02lld:%02lld:%02lld GMT",
                    kShortDays[weekday].data(), c.day, kMonths[c.month - 1].data(),
                    static_cast<long long>(c.year), static_cast<long long>(secs / 3600),
                    static_cast<long long>((secs / 60) % 60), static_cast<long long>(secs % 60));
  if (n < 0) return {};
  return std::string(
      buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n) : sizeof buf - 1);
}

}  // namespace strata::edge::http
