#pragma once
// Saturating arithmetic for ages and lifetimes: any input (huge Age, dates far apart) gives a
// clamped result instead of overflowing.

#include <cstdint>
#include <limits>

namespace strata::edge::policy {

inline std::int64_t satSub(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return r;
}

}  // namespace strata::edge::policy
