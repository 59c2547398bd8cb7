// Fill (read-while-writer) and Coalescer, with real threads and deadlines, no sleeps.

#include "edge/pipeline/fill.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "edge/pipeline/coalescer.h"

namespace strata::edge::pipeline {
namespace {

using namespace std::chrono_literals;

Deadline in(std::chrono::milliseconds ms) { return std::chrono::steady_clock::now() + ms; }

std::string pattern(std::size_t size, std::size_t seed = 0) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 13 + seed + i / 997) & 0xff);
  return s;
}

// Reads the whole body from offset `from`.
std::string readAll(Fill::Reader& reader, std::uint64_t from = 0, bool* failed = nullptr) {
  std::string out;
  std::uint64_t offset = from;
  while (true) {
    auto piece = reader.fill().read(reader, offset, in(10s));
    if (piece.state == Fill::Piece::State::kData) {
      out.append(piece.data->data() + piece.begin, piece.end - piece.begin);
      offset += piece.end - piece.begin;
      continue;
    }
    if (failed) *failed = piece.state != Fill::Piece::State::kEnd;
    return out;
  }
}

FillHead streamHead(bool storing) {
  FillHead head;
  head.kind = FillKind::kStream;
  head.status = 200;
  head.storing = storing;
  return head;
}

TEST(FillTest, BuffersAreSizedToTheBody) {
  // A small body with a known length takes what it needs, not a whole chunk.
  auto small = std::make_shared<Fill>(Fill::Options{});
  FillHead head = streamHead(true);
  head.contentLength = 1000;
  small->publishHead(head);
  const std::string body = pattern(1000);
  ASSERT_TRUE(small->append(body.data(), 600));
  ASSERT_TRUE(small->append(body.data() + 600, 400));
  small->finish();
  EXPECT_GE(small->bytesHeld(), 1000u);
  EXPECT_LT(small->bytesHeld(), 2000u);
  Fill::Reader reader(small);
  EXPECT_EQ(readAll(reader), body);
  // Unknown length: a first allocation of 16 KiB, grown as the body comes, never past a chunk.
  auto unknown = std::make_shared<Fill>(Fill::Options{});
  unknown->publishHead(streamHead(true));
  ASSERT_TRUE(unknown->append(body.data(), body.size()));
  EXPECT_LE(unknown->bytesHeld(), 32u * 1024);
  const std::string big = pattern(storage::kChunkSize + 5000, 3);
  for (std::size_t at = 0; at < big.size(); at += 1000) {
    ASSERT_TRUE(unknown->append(big.data() + at, std::min<std::size_t>(1000, big.size() - at)));
  }
  unknown->finish();
  EXPECT_LE(unknown->bytesHeld(), 2 * storage::kChunkSize);
  Fill::Reader second(unknown);
  EXPECT_TRUE(readAll(second) == body + big);
}

TEST(FillTest, ReadersThatJoinLateGetTheWholeBodyThroughTheSpill) {
  auto fill = std::make_shared<Fill>(Fill::Options{});
  const std::string body = pattern(5 * storage::kChunkSize + 12345);
  std::map<std::size_t, storage::Chunk> stored;  // What a store writer would hold.
  for (std::size_t i = 0; i * storage::kChunkSize < body.size(); ++i) {
    stored[i] =
        std::make_shared<std::string>(body.substr(i * storage::kChunkSize, storage::kChunkSize));
  }
  fill->setSpill([&stored](std::size_t index) { return stored.at(index); });
  fill->publishHead(streamHead(true));
  ASSERT_TRUE(fill->append(body.data(), body.size()));
  fill->finish();
  EXPECT_LE(fill->bytesHeld(), 3 * storage::kChunkSize);
  Fill::Reader late(fill);
  bool failed = true;
  EXPECT_TRUE(readAll(late, 0, &failed) == body);
  EXPECT_FALSE(failed);
  Fill::Reader middle(fill);
  EXPECT_TRUE(readAll(middle, 700000) == body.substr(700000));
}

TEST(FillTest, ConcurrentReadersStreamWhileTheProducerAppends) {
  auto fill = std::make_shared<Fill>(Fill::Options{});
  const std::string body = pattern(3 * storage::kChunkSize + 777);
  std::vector<std::unique_ptr<Fill::Reader>> readers;
  for (int i = 0; i < 8; ++i) readers.push_back(std::make_unique<Fill::Reader>(fill));
  std::vector<std::string> got(readers.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < readers.size(); ++i) {
    threads.emplace_back([&, i] {
      ASSERT_NE(fill->waitHead(in(10s)), nullptr);
      got[i] = readAll(*readers[i]);
    });
  }
  fill->publishHead(streamHead(false));
  // Without a spill the producer waits for the slowest reader: memory stays within the window.
  for (std::size_t offset = 0; offset < body.size(); offset += 1000) {
    fill->append(body.data() + offset, std::min<std::size_t>(1000, body.size() - offset));
    EXPECT_LE(fill->bytesHeld(), 3 * storage::kChunkSize);
  }
  fill->finish();
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_TRUE(g == body);
}

TEST(FillTest, AReaderSeesBytesBeforeAChunkCompletes) {
  auto fill = std::make_shared<Fill>(Fill::Options{});
  Fill::Reader reader(fill);
  fill->publishHead(streamHead(false));
  fill->append("hello", 5);
  auto piece = fill->read(reader, 0, in(5s));
  ASSERT_EQ(piece.state, Fill::Piece::State::kData);
  EXPECT_EQ(std::string(piece.data->data() + piece.begin, piece.end - piece.begin), "hello");
  auto none = fill->read(reader, 5, in(1ms));
  EXPECT_EQ(none.state, Fill::Piece::State::kTimeout);
  fill->finish();
  EXPECT_EQ(fill->read(reader, 5, in(5s)).state, Fill::Piece::State::kEnd);
}

TEST(FillTest, FailureReachesHeadWaitersAndBodyReaders) {
  auto fill = std::make_shared<Fill>(Fill::Options{});
  Fill::Reader reader(fill);
  std::thread waiter([&] {
    auto head = fill->waitHead(in(10s));
    ASSERT_NE(head, nullptr);
    EXPECT_EQ(head->kind, FillKind::kFailed);
    EXPECT_EQ(head->error, "origin reset");
  });
  fill->fail("origin reset");
  waiter.join();

  auto midBody = std::make_shared<Fill>(Fill::Options{});
  Fill::Reader r2(midBody);
  midBody->publishHead(streamHead(false));
  midBody->append("abc", 3);
  midBody->fail("reset mid-body");
  bool failed = false;
  EXPECT_EQ(readAll(r2, 0, &failed), "abc");
  EXPECT_TRUE(failed);
}

TEST(FillTest, AStalledReaderIsCutAfterTheStallTimeout) {
  Fill::Options options;
  options.windowChunks = 1;
  options.stallTimeout = 50ms;
  auto fill = std::make_shared<Fill>(options);
  Fill::Reader stalled(fill);  // Never reads.
  fill->publishHead(streamHead(false));
  const std::string body = pattern(4 * storage::kChunkSize);
  EXPECT_TRUE(fill->append(body.data(), body.size()));  // Returns after cutting the reader.
  fill->finish();
  EXPECT_EQ(fill->read(stalled, 0, in(5s)).state, Fill::Piece::State::kFailed);
  EXPECT_LE(fill->bytesHeld(), 2 * storage::kChunkSize);
}

TEST(FillTest, AppendSaysWhenNobodyWantsTheRest) {
  auto fill = std::make_shared<Fill>(Fill::Options{});
  fill->publishHead(streamHead(false));
  {
    Fill::Reader reader(fill);
    EXPECT_TRUE(fill->append("x", 1));
  }
  EXPECT_FALSE(fill->append("y", 1));
  fill->setStoring(true);
  EXPECT_TRUE(fill->append("z", 1));
}

TEST(CoalescerTest, OneLeaderPerKeyUntilReleased) {
  Coalescer coalescer(Coalescer::Options{});
  auto first = coalescer.join("k");
  ASSERT_TRUE(first.leader);
  auto second = coalescer.join("k");
  EXPECT_FALSE(second.leader);
  EXPECT_EQ(first.fill, second.fill);
  auto other = coalescer.join("other");
  EXPECT_TRUE(other.leader);
  EXPECT_EQ(coalescer.inFlight(), 2u);
  first.leader.reset();  // The leader dies without a response: waiters are failed, not stuck.
  EXPECT_EQ(second.fill->waitHead(in(5s))->kind, FillKind::kFailed);
  auto third = coalescer.join("k");
  EXPECT_TRUE(third.leader);
  EXPECT_EQ(coalescer.counters().leaders.load(), 3u);
  EXPECT_EQ(coalescer.counters().coalescedWaiters.load(), 1u);
}

TEST(CoalescerTest, AFailedFillIsNotJoinedEvenBeforeItsLeaderLetsGo) {
  Coalescer coalescer(Coalescer::Options{});
  auto first = coalescer.join("k");
  ASSERT_TRUE(first.leader);
  first.fill->append("cut body", 8);
  first.fill->fail("origin reset");
  // The leader still holds its ticket (it is logging, cleaning up): a new request gets a fill
  // of its own rather than the failure and the cut body.
  auto second = coalescer.join("k");
  EXPECT_TRUE(second.leader);
  EXPECT_NE(first.fill, second.fill);
  first.leader.reset();  // The old leader letting go does not unregister the new fill.
  auto third = coalescer.join("k");
  EXPECT_FALSE(third.leader);
  EXPECT_EQ(third.fill, second.fill);
}

TEST(CoalescerTest, ConcurrentJoinsMakeExactlyOneLeader) {
  Coalescer coalescer(Coalescer::Options{});
  std::atomic<int> leaders{0};
  std::vector<Coalescer::Join> joins(64);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < joins.size(); ++i) {
    threads.emplace_back([&, i] {
      joins[i] = coalescer.join("hot");
      if (joins[i].leader) ++leaders;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(leaders.load(), 1);
}

TEST(CoalescerTest, HitForMissIsRememberedAndExpires) {
  Coalescer::Options options;
  options.hitForMissSeconds = 30;
  Coalescer coalescer(options);
  EXPECT_FALSE(coalescer.isHitForMiss("k", 1000));
  coalescer.rememberUncacheable("k", 1000);
  EXPECT_TRUE(coalescer.isHitForMiss("k", 1029));
  EXPECT_FALSE(coalescer.isHitForMiss("k", 1030));
  coalescer.rememberUncacheable("k", 2000);
  coalescer.forgetUncacheable("k");
  EXPECT_FALSE(coalescer.isHitForMiss("k", 2001));
}

TEST(CoalescerTest, HitForMissMemoryIsBounded) {
  Coalescer::Options options;
  options.hitForMissCapacity = 160;
  Coalescer coalescer(options);
  for (int i = 0; i < 10000; ++i) coalescer.rememberUncacheable("k" + std::to_string(i), 1000);
  int remembered = 0;
  for (int i = 0; i < 10000; ++i)
    remembered += coalescer.isHitForMiss("k" + std::to_string(i), 1001);
  EXPECT_LE(remembered, 160 + 16);
  EXPECT_TRUE(coalescer.isHitForMiss("k9999", 1001));
}

}  // namespace
}  // namespace strata::edge::pipeline
