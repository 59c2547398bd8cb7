#pragma once
// Executor: a fixed set of threads running origin fetch jobs, with a bounded queue. submit()
// refuses work when the queue is full, so a flood of misses cannot grow memory without bound
// (the caller then fetches inline without coalescing).
// Thread-safety: submit() may be called from any thread; stop() once, by the owner.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace strata::edge::pipeline {

class Executor {
 public:
  Executor(std::size_t threads, std::size_t queueCapacity);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `job`; false when the queue is full or the executor is stopping.
  bool submit(std::function<void()> job);
  // Stops taking jobs, runs the queued ones, and joins the threads.
  void stop();

 private:
  void run();

  std::size_t queueCapacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace strata::edge::pipeline
