// The disk tier's entry codec (storage/entry_codec.h): what decodeHead and decodeChunk read is
// whatever RocksDB hands back, so any bytes must decode to nullopt or to a consistent record,
// never crash, never read outside the input. The first input byte picks the mode:
//   - raw: the bytes as they are (every mutation of a seed breaks its checksum: this covers the
//     checksum, version and type checks);
//   - sealed: the bytes with a correct XXH3-64 appended, so the fuzzer reaches the field decoder
//     behind the checksum (as a write bug or a bit flip before checksumming would);
//   - structured: a record built from the bytes, encoded, and decoded back.
// Whatever decodes must re-encode to exactly the same bytes (the format is canonical) and a head
// must be consistent: inline body of bodySize bytes and no chunks, or ceil(bodySize / kChunkSize)
// chunks.
#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "storage/cache_entry.h"
#include "storage/entry_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using strata::storage::HeadRecord;
using strata::storage::kChunkSize;

void checkHead(const HeadRecord& head, std::string_view bytes) {
  if (head.inlineBody) {
    FUZZ_CHECK(head.chunkCount == 0 && head.inlineBody->size() == head.meta.bodySize);
  } else {
    // chunkCount == ceil(bodySize / kChunkSize), computed without overflow.
    const std::uint64_t chunks =
        head.meta.bodySize / kChunkSize + (head.meta.bodySize % kChunkSize != 0 ? 1 : 0);
    FUZZ_CHECK(chunks == head.chunkCount);
  }
  const std::string again = strata::storage::encodeHead(head);
  FUZZ_CHECK(again == bytes);
  const auto redecoded = strata::storage::decodeHead(again);
  FUZZ_CHECK(redecoded && *redecoded == head);
}

void decodeBoth(std::string_view bytes) {
  if (const auto head = strata::storage::decodeHead(bytes)) checkHead(*head, bytes);
  if (const auto chunk = strata::storage::decodeChunk(bytes)) {
    FUZZ_CHECK(strata::storage::encodeChunk(chunk->writeId, chunk->index, chunk->payload) == bytes);
  }
}

// Reads fields for the structured mode; runs out gracefully.
struct Source {
  std::string_view in;
  std::uint64_t u64() {
    std::uint64_t v = 0;
    const auto n = std::min<std::size_t>(8, in.size());
    std::memcpy(&v, in.data(), n);
    in.remove_prefix(n);
    return v;
  }
  std::string str() {
    const std::uint64_t wanted = u64() % 64;  // Consumed before in.size() is read.
    const auto n = std::min<std::size_t>(wanted, in.size());
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

void structured(std::string_view in) {
  Source src{in};
  HeadRecord head;
  head.meta.key = src.str();
  head.meta.status = static_cast<int>(static_cast<std::int32_t>(src.u64()));
  const auto headers = src.u64() % 8;
  for (std::uint64_t i = 0; i < headers; ++i) head.meta.headers.emplace_back(src.str(), src.str());
  head.meta.requestTime = static_cast<std::int64_t>(src.u64());
  head.meta.responseTime = static_cast<std::int64_t>(src.u64());
  head.meta.extra = src.str();
  head.writeId = src.u64();
  if (src.u64() % 2 == 0) {
    head.inlineBody = src.str();
    head.meta.bodySize = head.inlineBody->size();
  } else {
    head.meta.bodySize = src.u64() % (std::uint64_t{1} << 40);
    head.chunkCount =
        static_cast<std::uint32_t>((head.meta.bodySize + kChunkSize - 1) / kChunkSize);
  }
  const std::string bytes = strata::storage::encodeHead(head);
  const auto decoded = strata::storage::decodeHead(bytes);
  FUZZ_CHECK(decoded && *decoded == head);
  checkHead(*decoded, bytes);
  FUZZ_CHECK(!strata::storage::decodeChunk(bytes));

  const std::string payload = src.str();
  const auto writeId = src.u64();
  const auto index = static_cast<std::uint32_t>(src.u64());
  const std::string chunkBytes = strata::storage::encodeChunk(writeId, index, payload);
  const auto chunk = strata::storage::decodeChunk(chunkBytes);
  FUZZ_CHECK(chunk && chunk->writeId == writeId && chunk->index == index &&
             chunk->payload == payload);
  FUZZ_CHECK(!strata::storage::decodeHead(chunkBytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      decodeBoth(rest);
      break;
    case 1: {
      std::string sealed(rest);
      const std::uint64_t sum = XXH3_64bits(sealed.data(), sealed.size());
      for (int i = 0; i < 8; ++i) sealed.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
      decodeBoth(sealed);
      break;
    }
    default:
      structured(rest);
      break;
  }
  return 0;
}
