#pragma once
// What the node observes of each finished proxy request, and the one interface the server
// adapter calls with it. The adapter fills a RequestRecord after the response is sent (or cut)
// and calls RequestObserver::observe() once, on the worker thread that handled the request.

#include <cstdint>
#include <string>

namespace strata::edge::pipeline {

struct RequestRecord {
  std::string method;
  std::string target;   // Request target as received (origin-form: path and query).
  std::string host;     // Host header ("" when absent).
  std::string version;  // "HTTP/1.1".
  std::string clientAddress;
  std::string referer;              // "" when absent.
  std::string userAgent;            // "" when absent.
  std::string cacheStatus;          // The Cache-Status field sent ("" when none was sent).
  int status = 0;                   // 0 when no response head was sent.
  std::uint64_t bytes = 0;          // Body bytes sent to the client.
  std::int64_t durationMicros = 0;  // From the request head read to the last byte sent.
};

// Implementations are called concurrently from every worker thread: observe() must be cheap,
// thread-safe and must not throw.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void observe(const RequestRecord& record) noexcept = 0;
};

}  // namespace strata::edge::pipeline
