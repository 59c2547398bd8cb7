#pragma once
// Binary records the disk tier stores: one head record per entry and one record per body chunk.
//
// Every record is: version byte (kEntryFormatVersion), record type byte ('H' or 'C'), fields,
// then an XXH3-64 checksum (8 bytes, little-endian) of everything before it. Integers are
// fixed-width little-endian; strings are a u32 length followed by the bytes.
//
//   head:  key, status(i32), header count(u32) + (name, value)..., requestTime(i64),
//          responseTime(i64), bodySize(u64), extra, writeId(u64), chunkCount(u32),
//          hasInline(u8) [, inline body]
//   chunk: writeId(u64), index(u32), payload
//
// Decoding accepts arbitrary bytes: any corruption (checksum, version, type, lengths,
// inconsistent sizes, trailing bytes) yields std::nullopt. Decoders never throw and never read
// outside the given bytes. Thread-safety: all functions are pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/cache_entry.h"

namespace strata::storage {

inline constexpr std::uint8_t kEntryFormatVersion = 1;

struct HeadRecord {
  EntryMeta meta;  // meta.bodySize is the full body size.
  // Identifies the write that produced the chunks; chunk keys embed it.
  std::uint64_t writeId = 0;
  // Number of chunk records stored separately: 0 when the body is inline, otherwise
  // ceil(meta.bodySize / kChunkSize).
  std::uint32_t chunkCount = 0;
  // The whole body when it is stored inside the head (bodySize <= kChunkSize).
  std::optional<std::string> inlineBody;

  bool operator==(const HeadRecord&) const = default;
};

struct ChunkRecord {
  std::uint64_t writeId = 0;
  std::uint32_t index = 0;
  std::string payload;

  bool operator==(const ChunkRecord&) const = default;
};

// Encodes a head. The caller must pass a consistent record (see HeadRecord); an inconsistent one
// encodes but will not decode.
std::string encodeHead(const HeadRecord& head);
// Decodes a head, or std::nullopt if `bytes` is not a valid, consistent head record.
std::optional<HeadRecord> decodeHead(std::string_view bytes) noexcept;

std::string encodeChunk(std::uint64_t writeId, std::uint32_t index, std::string_view payload);
// Decodes a chunk record, or std::nullopt if `bytes` is not a valid chunk record.
std::optional<ChunkRecord> decodeChunk(std::string_view bytes) noexcept;

}  // namespace strata::storage
