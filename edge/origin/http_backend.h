#pragma once
// HttpBackend: an origin server reached over HTTP/1.1 with a pool of kept-alive connections.
// Thread-safety: fetch() may be called concurrently; the idle-connection pool is mutex-guarded.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "edge/origin/origin.h"

namespace Poco::Net {
class HTTPClientSession;
}

namespace strata::edge::origin {

struct HttpBackendOptions {
  std::string name;
  std::string host;
  std::uint16_t port = 80;
  std::int64_t connectTimeoutMs = 2000;
  std::int64_t readTimeoutMs = 30000;
  int maxIdleConnections = 64;  // Idle kept-alive connections kept for reuse.
  // Idle connections older than this are closed rather than reused: origins close idle
  // keep-alive connections after a few seconds (5 s for Node.js and Apache), and reusing one as
  // it closes fails the request.
  std::int64_t maxIdleMs = 4000;
};

struct BackendCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> reusedConnections{0};
  std::atomic<std::uint64_t> newConnections{0};
  std::atomic<std::uint64_t> failures{0};
};

class HttpBackend : public Origin {
 public:
  explicit HttpBackend(HttpBackendOptions options);
  ~HttpBackend() override;

  const std::string& name() const override { return options_.name; }
  std::unique_ptr<OriginResponse> fetch(const OriginRequest& request, FetchFailure* failure,
                                        std::string* error) override;
  const BackendCounters& counters() const { return counters_; }

  // Takes back a connection whose response was read to the end (called by the response).
  void release(std::unique_ptr<Poco::Net::HTTPClientSession> session);

 private:
  std::unique_ptr<Poco::Net::HTTPClientSession> acquire(bool allowReuse, bool* reused);

  HttpBackendOptions options_;
  BackendCounters counters_;
  std::mutex mutex_;
  struct Idle {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Idle> idle_;
};

}  // namespace strata::edge::origin
