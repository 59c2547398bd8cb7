#pragma once
// Cache keys: the full key text plus its XXH3-128 digest. The digest is only an index (disk keys,
// shard selection); the full text is stored with every entry and compared on read, because XXH3
// is not collision-resistant against an adversary.
//
// Thread-safety: immutable after construction; safe to share.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace strata::storage {

using Digest = std::array<std::uint8_t, 16>;

// XXH3-128 of `text`, big-endian (high 64 bits first).
Digest digestOf(std::string_view text);

// For unordered containers keyed by digest: its first eight bytes, already well mixed.
struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::uint64_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return static_cast<std::size_t>(h);
  }
};

class CacheKey {
 public:
  explicit CacheKey(std::string text);

  const std::string& text() const { return text_; }
  const Digest& digest() const { return digest_; }
  // A well-mixed 64-bit value derived from the digest (for hash maps and shard selection).
  std::uint64_t hash() const;

  bool operator==(const CacheKey& other) const { return text_ == other.text_; }

 private:
  std::string text_;
  Digest digest_;
};

}  // namespace strata::storage
