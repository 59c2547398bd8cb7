#pragma once
// Active health checks: one thread per probed backend sends `GET path` every `interval` (with
// `timeout`) on a fresh connection and reports whether the status was `expect_status` to its
// pool (OriginPool::recordProbe, which applies rise/fall). Only HttpBackends in pools with a
// health_check are probed. The destructor stops and joins every thread promptly.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strata::edge::origin {

class OriginPool;
class HttpBackend;

class HealthChecker {
 public:
  explicit HealthChecker(std::vector<OriginPool*> pools);
  ~HealthChecker();

  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // One probe now; true when the backend answered the expected status in time.
  static bool probe(const HttpBackend& backend, const std::string& path, int expectStatus,
                    std::int64_t timeoutMs);

 private:
  void run(OriginPool* pool, std::size_t backend);

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace strata::edge::origin
