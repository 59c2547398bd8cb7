#include "storage/entry_codec.h"

#include <xxhash.h>

#include <utility>

namespace strata::storage {
namespace {

constexpr char kHeadType = 'H';
constexpr char kChunkType = 'C';
constexpr std::size_t kChecksumBytes = 8;
constexpr std::size_t kPrologueBytes = 2;  // Version + type.

class Writer {
 public:
  explicit Writer(std::size_t reserve) { out_.reserve(reserve); }

  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { fixed(v, 4); }
  void u64(std::uint64_t v) { fixed(v, 8); }
  void bytes(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string finish() && {
    u64(XXH3_64bits(out_.data(), out_.size()));
    return std::move(out_);
  }

 private:
  void fixed(std::uint64_t v, int width) {
    // One append per field, not one push_back (and capacity check) per byte: the encoding of a
    // 1 KiB object's head took ~5.4k instructions with ten headers.
    char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    out_.append(le, static_cast<std::size_t>(width));
  }
  std::string out_;
};

// Bounds-checked reader; after the first failure every read fails.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool atEnd() const { return ok_ && pos_ == in_.size(); }
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(fixed(4)); }
  std::uint64_t u64() { return fixed(8); }
  std::string bytes() {
    const std::uint32_t len = u32();
    if (!ok_ || len > remaining()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(pos_, len));
    pos_ += len;
    return s;
  }

 private:
  std::uint64_t fixed(std::size_t width) {
    if (!ok_ || width > in_.size() - pos_) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    }
    pos_ += width;
    return v;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Checks version, type and checksum; returns the field bytes between prologue and checksum.
std::optional<std::string_view> verifiedBody(std::string_view bytes, char type) {
  if (bytes.size() < kPrologueBytes + kChecksumBytes) return std::nullopt;
  if (static_cast<std::uint8_t>(bytes[0]) != kEntryFormatVersion || bytes[1] != type) {
    return std::nullopt;
  }
  const std::size_t payloadEnd = bytes.size() - kChecksumBytes;
  Reader checksumReader(bytes.substr(payloadEnd));
  const std::uint64_t stored = checksumReader.u64();
  if (stored != XXH3_64bits(bytes.data(), payloadEnd)) return std::nullopt;
  return bytes.substr(kPrologueBytes, payloadEnd - kPrologueBytes);
}

// ceil(bodySize / kChunkSize) without wrapping: a bodySize near 2^64 must not come out as a
// small chunk count that a record could match.
std::uint64_t chunksFor(std::uint64_t bodySize) {
  return bodySize / kChunkSize + (bodySize % kChunkSize != 0 ? 1 : 0);
}

}  // namespace

std::string encodeHead(const HeadRecord& head) {
  const EntryMeta& m = head.meta;
  std::size_t size = 64 + m.key.size() + m.extra.size() + 8 * m.headers.size();
  for (const auto& [name, value] : m.headers) size += name.size() + value.size();
  if (head.inlineBody) size += head.inlineBody->size() + 4;

  Writer w(size);
  w.u8(kEntryFormatVersion);
  w.u8(static_cast<std::uint8_t>(kHeadType));
  w.bytes(m.key);
  w.u32(static_cast<std::uint32_t>(m.status));
  w.u32(static_cast<std::uint32_t>(m.headers.size()));
  for (const auto& [name, value] : m.headers) {
    w.bytes(name);
    w.bytes(value);
  }
  w.u64(static_cast<std::uint64_t>(m.requestTime));
  w.u64(static_cast<std::uint64_t>(m.responseTime));
  w.u64(m.bodySize);
  w.bytes(m.extra);
  w.u64(head.writeId);
  w.u32(head.chunkCount);
  w.u8(head.inlineBody ? 1 : 0);
  if (head.inlineBody) w.bytes(*head.inlineBody);
  return std::move(w).finish();
}

std::optional<HeadRecord> decodeHead(std::string_view bytes) noexcept {
  try {
    const auto fields = verifiedBody(bytes, kHeadType);
    if (!fields) return std::nullopt;
    Reader r(*fields);
    HeadRecord head;
    EntryMeta& m = head.meta;
    m.key = r.bytes();
    m.status = static_cast<int>(static_cast<std::int32_t>(r.u32()));
    const std::uint32_t headerCount = r.u32();
    // Each header takes at least 8 bytes: refuse counts the input cannot hold before reserving.
    if (!r.ok() || headerCount > r.remaining() / 8) return std::nullopt;
    m.headers.reserve(headerCount);
    for (std::uint32_t i = 0; i < headerCount && r.ok(); ++i) {
      std::string name = r.bytes();
      std::string value = r.bytes();
      m.headers.emplace_back(std::move(name), std::move(value));
    }
    m.requestTime = static_cast<std::int64_t>(r.u64());
    m.responseTime = static_cast<std::int64_t>(r.u64());
    m.bodySize = r.u64();
    m.extra = r.bytes();
    head.writeId = r.u64();
    head.chunkCount = r.u32();
    const std::uint8_t hasInline = r.u8();
    if (hasInline == 1) {
      head.inlineBody = r.bytes();
    } else if (hasInline != 0) {
      return std::nullopt;
    }
    if (!r.atEnd()) return std::nullopt;
    if (head.inlineBody) {
      if (head.chunkCount != 0 || head.inlineBody->size() != m.bodySize) return std::nullopt;
    } else if (head.chunkCount != chunksFor(m.bodySize)) {
      return std::nullopt;
    }
    return head;
  } catch (...) {  // Allocation failure: treat as undecodable.
    return std::nullopt;
  }
}

std::string encodeChunk(std::uint64_t writeId, std::uint32_t index, std::string_view payload) {
  Writer w(payload.size() + 32);
  w.u8(kEntryFormatVersion);
  w.u8(static_cast<std::uint8_t>(kChunkType));
  w.u64(writeId);
  w.u32(index);
  w.bytes(payload);
  return std::move(w).finish();
}

std::optional<ChunkRecord> decodeChunk(std::string_view bytes) noexcept {
  try {
    const auto fields = verifiedBody(bytes, kChunkType);
    if (!fields) return std::nullopt;
    Reader r(*fields);
    ChunkRecord chunk;
    chunk.writeId = r.u64();
    chunk.index = r.u32();
    chunk.payload = r.bytes();
    if (!r.atEnd()) return std::nullopt;
    return chunk;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace strata::storage
