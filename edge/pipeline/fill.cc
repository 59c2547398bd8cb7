#include "edge/pipeline/fill.h"

#include <algorithm>
#include <limits>

#include "edge/pipeline/blocking.h"

namespace strata::edge::pipeline {
namespace {

constexpr std::uint64_t kFreeSlot = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kChunk = storage::kChunkSize;
constexpr std::uint64_t kMinReserve = 16 * 1024;  // First allocation of a body of unknown length.

}  // namespace

const char* toString(FillKind kind) {
  switch (kind) {
    case FillKind::kStream:
      return "stream";
    case FillKind::kStored:
      return "stored";
    case FillKind::kUncacheable:
      return "uncacheable";
    case FillKind::kFailed:
      return "failed";
  }
  return "unknown";
}

Fill::Fill(Options options) : options_(options) {}

void Fill::setSpill(Spill spill) {
  std::lock_guard lock(mutex_);
  spill_ = std::move(spill);
}

void Fill::setStoring(bool storing) {
  std::lock_guard lock(mutex_);
  storing_ = storing;
}

void Fill::publishHead(FillHead head) {
  {
    std::lock_guard lock(mutex_);
    storing_ = head.storing;
    expected_ = head.contentLength;
    head_ = std::make_shared<const FillHead>(std::move(head));
  }
  changed_.notify_all();
}

bool Fill::append(const char* data, std::size_t size) {
  std::unique_lock lock(mutex_);
  while (size > 0) {
    if (!current_) current_ = std::make_shared<std::string>();
    std::size_t take = std::min<std::size_t>(size, kChunk - current_->size());
    if (current_->size() + take > current_->capacity()) {
      // As much as the rest of the body needs when its length is known (a 1 KiB body does not
      // take a 256 KiB allocation), else growing geometrically; never past one chunk.
      const std::uint64_t rest =
          expected_ > 0 && static_cast<std::uint64_t>(expected_) > produced_
              ? static_cast<std::uint64_t>(expected_) - produced_ + current_->size()
              : std::max<std::uint64_t>(2 * current_->capacity(), kMinReserve);
      current_->reserve(static_cast<std::size_t>(
          std::min<std::uint64_t>(kChunk, std::max<std::uint64_t>(rest, current_->size() + take))));
    }
    current_->append(data, take);
    produced_ += take;
    data += take;
    size -= take;
    if (current_->size() < kChunk) break;
    window_.push_back(std::move(current_));
    current_.reset();
    while (window_.size() > options_.windowChunks) {
      if (!spill_) {
        // Without a spill the oldest chunk is gone for good once dropped: wait for readers that
        // still need it, and cut those that stall the fetch too long.
        const std::uint64_t needed = (baseChunk_ + 1) * kChunk;
        auto behind = [&] {
          for (std::size_t i = 0; i < positions_.size(); ++i) {
            if (positions_[i] != kFreeSlot && !cut_[i] && positions_[i] < needed) return true;
          }
          return false;
        };
        const auto deadline = std::chrono::steady_clock::now() + options_.stallTimeout;
        changed_.notify_all();
        while (behind()) {
          mayBlock();
          if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
            for (std::size_t i = 0; i < positions_.size(); ++i) {
              if (positions_[i] != kFreeSlot && positions_[i] < needed) cut_[i] = true;
            }
            break;
          }
        }
      }
      window_.pop_front();
      ++baseChunk_;
    }
  }
  const bool wanted = activeReaders_ > 0 || storing_;
  lock.unlock();
  changed_.notify_all();
  return wanted;
}

void Fill::finish() {
  {
    std::lock_guard lock(mutex_);
    if (current_ && !current_->empty()) window_.push_back(std::move(current_));
    current_.reset();
    done_ = true;
  }
  changed_.notify_all();
}

void Fill::fail(std::string why) {
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    failed_ = true;
    failure_ = std::move(why);
  }
  changed_.notify_all();
}

bool Fill::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

bool Fill::wanted() const {
  std::lock_guard lock(mutex_);
  return activeReaders_ > 0 || storing_;
}

std::shared_ptr<const FillHead> Fill::waitHead(Deadline deadline) {
  std::unique_lock lock(mutex_);
  while (!head_) {
    if (failed_) {
      auto head = std::make_shared<FillHead>();
      head->kind = FillKind::kFailed;
      head->error = failure_;
      return head;
    }
    mayBlock();
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && !head_ && !failed_) {
      return nullptr;
    }
  }
  return head_;
}

Fill::Piece Fill::read(Reader& reader, std::uint64_t offset, Deadline deadline) {
  std::unique_lock lock(mutex_);
  const std::size_t slot = reader.slot();
  positions_[slot] = offset;
  changed_.notify_all();  // The producer may be waiting for this reader.
  while (true) {
    if (cut_[slot]) return {Piece::State::kFailed, nullptr, 0, 0};
    if (offset < produced_) {
      const std::size_t index = static_cast<std::size_t>(offset / kChunk);
      const std::size_t within = static_cast<std::size_t>(offset % kChunk);
      if (index < baseChunk_) {
        Spill spill = spill_;
        lock.unlock();
        storage::Chunk chunk = spill ? spill(index) : nullptr;
        if (!chunk || within >= chunk->size()) return {Piece::State::kFailed, nullptr, 0, 0};
        return {Piece::State::kData, chunk, within, chunk->size()};
      }
      if (index < baseChunk_ + window_.size()) {
        const storage::Chunk& chunk = window_[index - baseChunk_];
        return {Piece::State::kData, chunk, within, chunk->size()};
      }
      // The chunk being filled: copy what has arrived, since the producer keeps appending to it.
      auto copy = std::make_shared<std::string>(current_->substr(within));
      const std::size_t size = copy->size();
      return {Piece::State::kData, std::move(copy), 0, size};
    }
    if (failed_) return {Piece::State::kFailed, nullptr, 0, 0};
    if (done_) return {Piece::State::kEnd, nullptr, 0, 0};
    mayBlock();
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && offset >= produced_ &&
        !failed_ && !done_) {
      return {Piece::State::kTimeout, nullptr, 0, 0};
    }
  }
}

std::uint64_t Fill::bytesProduced() const {
  std::lock_guard lock(mutex_);
  return produced_;
}

std::size_t Fill::readers() const {
  std::lock_guard lock(mutex_);
  return activeReaders_;
}

std::size_t Fill::bytesHeld() const {
  std::lock_guard lock(mutex_);
  std::size_t held = current_ ? current_->capacity() : 0;
  for (const auto& chunk : window_) held += chunk->capacity();
  return held;
}

std::size_t Fill::addReader() {
  std::lock_guard lock(mutex_);
  ++activeReaders_;
  for (std::size_t i = 0; i < positions_.size(); ++i) {
    if (positions_[i] == kFreeSlot) {
      positions_[i] = 0;
      cut_[i] = false;
      return i;
    }
  }
  positions_.push_back(0);
  cut_.push_back(false);
  return positions_.size() - 1;
}

void Fill::removeReader(std::size_t slot) {
  {
    std::lock_guard lock(mutex_);
    positions_[slot] = kFreeSlot;
    --activeReaders_;
  }
  changed_.notify_all();
}

Fill::Reader::Reader(std::shared_ptr<Fill> fill) : fill_(std::move(fill)) {
  slot_ = fill_->addReader();
}

Fill::Reader::~Reader() { fill_->removeReader(slot_); }

}  // namespace strata::edge::pipeline
