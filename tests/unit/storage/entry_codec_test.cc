#include "storage/entry_codec.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstdint>
#include <random>
#include <string>

namespace strata::storage {
namespace {

HeadRecord sampleHead(bool withInline) {
  HeadRecord head;
  head.meta.key = "https://example.com/a?b=c";
  head.meta.status = 203;
  head.meta.headers = {{"Content-Type", "text/plain"}, {"X-Empty", ""}, {"Set-Cookie", "a=b"}};
  head.meta.requestTime = 1700000000;
  head.meta.responseTime = -5;
  head.meta.extra = std::string("tags\0bin", 8);
  head.writeId = 0x0102030405060708ULL;
  if (withInline) {
    head.inlineBody = "hello body";
    head.meta.bodySize = head.inlineBody->size();
    head.chunkCount = 0;
  } else {
    head.meta.bodySize = 3 * kChunkSize + 17;
    head.chunkCount = 4;
  }
  return head;
}

TEST(EntryCodecTest, HeadRoundTrips) {
  for (bool withInline : {false, true}) {
    const HeadRecord head = sampleHead(withInline);
    const std::string encoded = encodeHead(head);
    EXPECT_EQ(static_cast<std::uint8_t>(encoded[0]), kEntryFormatVersion);
    const auto decoded = decodeHead(encoded);
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, head);
  }
}

TEST(EntryCodecTest, EmptyHeadRoundTrips) {
  HeadRecord head;
  head.inlineBody = "";
  const auto decoded = decodeHead(encodeHead(head));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, head);
}

TEST(EntryCodecTest, ChunkRoundTrips) {
  std::string payload(kChunkSize, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  const auto decoded = decodeChunk(encodeChunk(42, 7, payload));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->writeId, 42u);
  EXPECT_EQ(decoded->index, 7u);
  EXPECT_EQ(decoded->payload, payload);
}

TEST(EntryCodecTest, InconsistentHeadIsRejected) {
  HeadRecord head = sampleHead(false);
  head.chunkCount = 3;  // Body needs 4 chunks.
  EXPECT_FALSE(decodeHead(encodeHead(head)).has_value());
  head = sampleHead(true);
  head.meta.bodySize += 1;  // Inline body size mismatch.
  EXPECT_FALSE(decodeHead(encodeHead(head)).has_value());
}

// Found by entry_codec_fuzz: ceil(bodySize / kChunkSize) wrapped around for a bodySize near 2^64,
// so a head claiming an 16 EiB body with 0 chunks decoded as consistent.
TEST(EntryCodecTest, HugeBodySizeDoesNotWrapTheChunkCount) {
  HeadRecord head = sampleHead(false);
  head.meta.bodySize = ~std::uint64_t{0};
  head.chunkCount = 0;  // (2^64 - 1 + kChunkSize - 1) / kChunkSize wraps to 0.
  EXPECT_FALSE(decodeHead(encodeHead(head)).has_value());
  head.chunkCount = 1;
  EXPECT_FALSE(decodeHead(encodeHead(head)).has_value());
}

TEST(EntryCodecTest, RecordTypesAreNotInterchangeable) {
  EXPECT_FALSE(decodeHead(encodeChunk(1, 0, "x")).has_value());
  EXPECT_FALSE(decodeChunk(encodeHead(sampleHead(true))).has_value());
}

TEST(EntryCodecTest, EverySingleByteCorruptionOfHeadIsDetected) {
  for (bool withInline : {false, true}) {
    const std::string encoded = encodeHead(sampleHead(withInline));
    for (std::size_t i = 0; i < encoded.size(); ++i) {
      for (int flip : {0x01, 0x80, 0xFF}) {
        std::string bad = encoded;
        bad[i] = static_cast<char>(bad[i] ^ flip);
        EXPECT_FALSE(decodeHead(bad).has_value()) << "byte " << i << " flip " << flip;
      }
    }
  }
}

TEST(EntryCodecTest, EverySingleByteCorruptionOfChunkIsDetected) {
  const std::string encoded = encodeChunk(9, 3, "some chunk payload bytes");
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    for (int flip : {0x01, 0x80, 0xFF}) {
      std::string bad = encoded;
      bad[i] = static_cast<char>(bad[i] ^ flip);
      EXPECT_FALSE(decodeChunk(bad).has_value()) << "byte " << i << " flip " << flip;
    }
  }
}

TEST(EntryCodecTest, EveryTruncationIsDetected) {
  const std::string head = encodeHead(sampleHead(true));
  for (std::size_t n = 0; n < head.size(); ++n) {
    EXPECT_FALSE(decodeHead(std::string_view(head).substr(0, n)).has_value()) << n;
    EXPECT_FALSE(decodeHead(std::string_view(head).substr(head.size() - n)).has_value()) << n;
  }
  const std::string chunk = encodeChunk(1, 2, "payload");
  for (std::size_t n = 0; n < chunk.size(); ++n) {
    EXPECT_FALSE(decodeChunk(std::string_view(chunk).substr(0, n)).has_value()) << n;
  }
  EXPECT_FALSE(decodeHead(head + "x").has_value());
  EXPECT_FALSE(decodeChunk(chunk + "x").has_value());
}

TEST(EntryCodecTest, GarbageIsRejected) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    std::string garbage(rng() % 96, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    if (round % 2 == 0 && garbage.size() >= 2) {  // Plausible prologue, random fields.
      garbage[0] = static_cast<char>(kEntryFormatVersion);
      garbage[1] = (round % 4 == 0) ? 'H' : 'C';
    }
    EXPECT_FALSE(decodeHead(garbage).has_value());
    EXPECT_FALSE(decodeChunk(garbage).has_value());
  }
  EXPECT_FALSE(decodeHead("").has_value());
  EXPECT_FALSE(decodeChunk(std::string(4096, '\xff')).has_value());
}

// Replaces the trailing checksum so the decoder has to parse the (mutated) fields.
std::string resealed(std::string record) {
  if (record.size() < 8) return record;
  const std::uint64_t sum = XXH3_64bits(record.data(), record.size() - 8);
  for (int i = 0; i < 8; ++i) record[record.size() - 8 + i] = static_cast<char>(sum >> (8 * i));
  return record;
}

TEST(EntryCodecTest, MutatedFieldsWithValidChecksumNeverCrash) {
  std::mt19937_64 rng(777);
  const std::string head = encodeHead(sampleHead(false));
  const std::string chunk = encodeChunk(5, 1, "0123456789");
  for (int round = 0; round < 20000; ++round) {
    std::string h = head;
    std::string c = chunk;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      h[2 + rng() % (h.size() - 10)] = static_cast<char>(rng());
      c[2 + rng() % (c.size() - 10)] = static_cast<char>(rng());
    }
    if (round % 3 == 0) h.resize(2 + rng() % (h.size() - 2));
    const auto decodedHead = decodeHead(resealed(h));
    if (decodedHead) {
      EXPECT_EQ(decodeHead(encodeHead(*decodedHead)), decodedHead);
    }
    const auto decodedChunk = decodeChunk(resealed(c));
    if (decodedChunk) {
      EXPECT_EQ(decodedChunk->payload.size(), 10u);
    }
  }
  // Huge declared lengths and counts must not be trusted.
  std::string hugeCount = encodeHead(sampleHead(true));
  const std::size_t countPos = 2 + 4 + sampleHead(true).meta.key.size() + 4;
  for (int i = 0; i < 4; ++i) hugeCount[countPos + i] = '\xff';
  EXPECT_FALSE(decodeHead(resealed(hugeCount)).has_value());
}

}  // namespace
}  // namespace strata::storage
