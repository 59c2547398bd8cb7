#include "storage/cache_key.h"

#include <xxhash.h>

#include <utility>

namespace strata::storage {

Digest digestOf(std::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  Digest d{};
  for (int i = 0; i < 8; ++i) {
    d[i] = static_cast<std::uint8_t>(h.high64 >> (56 - 8 * i));
    d[8 + i] = static_cast<std::uint8_t>(h.low64 >> (56 - 8 * i));
  }
  return d;
}

CacheKey::CacheKey(std::string text) : text_(std::move(text)), digest_(digestOf(text_)) {}

std::uint64_t CacheKey::hash() const {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  for (int i = 0; i < 8; ++i) {
    hi = (hi << 8) | digest_[i];
    lo = (lo << 8) | digest_[8 + i];
  }
  // Both halves are already well mixed; fold them so every digest bit contributes.
  return hi ^ (lo * 0x9E3779B97F4A7C15ULL);
}

}  // namespace strata::storage
