#pragma once
// What a cache entry is: response metadata plus a body split into fixed-size chunks.
// Storage treats headers as opaque name/value pairs; it knows nothing of HTTP semantics.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace strata::storage {

// Bodies are split into chunks of this many bytes (the last one may be shorter), so chunk i covers
// body bytes [i * kChunkSize, (i + 1) * kChunkSize). Large bodies stream chunk by chunk.
inline constexpr std::size_t kChunkSize = 256 * 1024;

// An immutable, shareable body chunk.
using Chunk = std::shared_ptr<const std::string>;

struct EntryMeta {
  std::string key;  // Full cache key text; checked against the lookup key on every read.
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // In origin order.
  std::int64_t requestTime = 0;   // Unix seconds when the origin request was sent.
  std::int64_t responseTime = 0;  // Unix seconds when the origin response arrived.
  std::uint64_t bodySize = 0;     // Set by the store when the write commits.
  std::string extra;              // Opaque bytes owned by higher layers (e.g. tags, vary data).

  bool operator==(const EntryMeta&) const = default;
};

// Approximate heap bytes an entry's metadata takes (for byte accounting).
std::size_t metaCharge(const EntryMeta& meta);

}  // namespace strata::storage
