#pragma once
// Fill: one origin fetch whose response is shared, while it arrives, by every request waiting for
// the same object (read-while-writer). One producer (the fetch) publishes the response head, then
// appends body bytes; any number of readers wait for the head and read the body from any offset.
//
// Memory is bounded per fill: completed 256 KiB chunks (aligned with storage::kChunkSize) are kept
// in a small window. When the fetch is being stored, a reader that falls behind the window reads
// older chunks back from the store writer (the spill); without a spill, the producer waits for the
// slowest reader instead (backpressure), and cuts readers that stall it longer than the stall
// timeout.
//
// Thread-safety: all methods are safe to call concurrently; one thread produces.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edge/http/header_list.h"
#include "edge/origin/origin.h"
#include "storage/cache_store.h"

namespace strata::edge::pipeline {

using Deadline = std::chrono::steady_clock::time_point;

// What the fetch produced, known once the origin's response head arrived.
enum class FillKind {
  kStream,       // A response body streams through the fill (stored as it arrives if `storing`).
  kStored,       // The origin confirmed the stored response (304): serve `stored`.
  kUncacheable,  // Not storable: only the fill's owner reads it; waiters fetch on their own.
  kFailed,       // No usable response (origin unreachable, timeout): `error` says why.
};
const char* toString(FillKind kind);

struct FillHead {
  FillKind kind = FillKind::kFailed;
  int status = 0;
  std::string reason;
  http::HeaderList headers;         // Without hop-by-hop fields.
  std::int64_t contentLength = -1;  // -1 when unknown.
  bool storing = false;
  storage::ObjectHandle stored;           // kStored: the stored object with refreshed metadata.
  std::string varySignature;              // The variant this response is for (RFC 9111 §4.1).
  std::vector<origin::Interim> interims;  // 1xx responses before it: forwarded, never stored.
  std::int64_t requestTime = 0;
  std::int64_t responseTime = 0;
  std::string error;
};

class Fill {
 public:
  struct Options {
    std::size_t windowChunks = 2;                   // Completed chunks kept in memory.
    std::chrono::milliseconds stallTimeout{30000};  // Backpressure limit per slow reader.
  };
  // Reads chunk `index` back from wherever the producer stored it; nullptr if unavailable.
  using Spill = std::function<storage::Chunk(std::size_t index)>;

  explicit Fill(Options options);

  // --- Producer ---
  void setSpill(Spill spill);
  void publishHead(FillHead head);
  // Appends body bytes. Returns false when nobody needs the rest (no reader left and nothing is
  // being stored): the producer may stop.
  bool append(const char* data, std::size_t size);
  void finish();
  void fail(std::string why);
  // True while a reader is registered or the producer is storing.
  bool wanted() const;
  // True once the fill failed (it stays registered until its leader lets go).
  bool failed() const;
  void setStoring(bool storing);

  // --- Readers ---
  class Reader {
   public:
    explicit Reader(std::shared_ptr<Fill> fill);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    Fill& fill() { return *fill_; }
    std::size_t slot() const { return slot_; }

   private:
    std::shared_ptr<Fill> fill_;
    std::size_t slot_;
  };

  // The head, or nullptr if it did not arrive by `deadline`.
  std::shared_ptr<const FillHead> waitHead(Deadline deadline);

  struct Piece {
    enum class State { kData, kEnd, kFailed, kTimeout };
    State state = State::kTimeout;
    storage::Chunk data;  // Bytes [begin, end) of `data` are the body at the requested offset.
    std::size_t begin = 0;
    std::size_t end = 0;
  };
  // Body bytes at `offset`, waiting until some arrive, the body ends, or `deadline`.
  Piece read(Reader& reader, std::uint64_t offset, Deadline deadline);

  std::uint64_t bytesProduced() const;
  std::size_t readers() const;

 private:
  std::size_t addReader();
  void removeReader(std::size_t slot);
  // Bytes allocated right now (window + partial chunk), for tests of the bound.
 public:
  std::size_t bytesHeld() const;

 private:
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::shared_ptr<const FillHead> head_;
  Spill spill_;
  bool storing_ = false;
  bool done_ = false;
  bool failed_ = false;
  std::string failure_;
  std::uint64_t produced_ = 0;
  std::int64_t expected_ = -1;            // The body's length from the head; negative: not known.
  std::size_t baseChunk_ = 0;             // Index of window_.front().
  std::deque<storage::Chunk> window_;     // Completed chunks [baseChunk_, baseChunk_+size).
  std::shared_ptr<std::string> current_;  // The chunk being filled.
  // Reader positions by slot; SIZE_MAX marks a free slot. kCut marks a reader cut for stalling.
  std::vector<std::uint64_t> positions_;
  std::vector<bool> cut_;
  std::size_t activeReaders_ = 0;
};

}  // namespace strata::edge::pipeline
