#pragma once
// The proxy listener: a lean HTTP/1.1 server on epoll.
//
// Every connection is registered once in an epoll set with EPOLLONESHOT. A pool of worker threads
// waits on that set; the worker that gets a ready connection owns it until it parks it again:
// it reads, parses the head strictly (request_parser.h), runs the handler (the pipeline, which may
// block on the origin or a fill), writes the response with one writev where it can, and re-arms
// the connection. There is no hand-off between threads on the hit path, and an idle or slow
// client costs a buffer and a registry entry, not a thread. A reaper closes connections whose
// head or keep-alive deadline passed.
//
// Thread-safety: start/stopAccepting/stop from one controlling thread; everything else runs on
// the server's own threads.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "edge/pipeline/proxy_pipeline.h"
#include "edge/server/request_parser.h"
#include "edge/server/tls.h"

namespace strata::edge::server {

struct Http1Options {
  int threads = 64;  // Workers (each may block in the pipeline).
  // Workers that take events at once (0: one per core); the others stand by for requests that
  // block (origin fetches, slow clients).
  int eventThreads = 0;
  std::int64_t clientTimeoutMs = 60000;     // A stalled body read or response write.
  std::int64_t headerTimeoutMs = 10000;     // From a head's first byte to its end.
  std::int64_t keepAliveTimeoutMs = 15000;  // Idle time between requests.
  std::size_t maxConnections = 20000;       // Beyond this, new connections are closed at once.
  std::size_t maxConnectionsPerClient = 0;  // Per client address; 0: no cap.
  // TCP_DEFER_ACCEPT: a connection is accepted once its first bytes arrive, or after this many
  // seconds without any. 0: accepted on connect.
  int deferAcceptSeconds = 0;
  ParseLimits limits;
  std::shared_ptr<TlsContexts> tls;  // Set: this listener speaks HTTPS.
};

// What the access log and metrics see of a finished exchange.
struct ExchangeSummary {
  int status = 0;
  std::uint64_t bytes = 0;  // Body bytes sent.
  std::string_view cacheStatus;
  std::int64_t durationMicros = 0;
};

class Http1Server {
 public:
  using Handler = std::function<void(const pipeline::ClientRequest&, pipeline::ResponseSink&)>;
  using Completion = std::function<void(const pipeline::ClientRequest&, const ExchangeSummary&)>;

  // Binds at once (port 0 picks a free port); nullptr with `error` set on failure.
  static std::unique_ptr<Http1Server> create(const std::string& host, std::uint16_t port,
                                             Http1Options options, Handler handler,
                                             Completion completion, std::string* error);
  ~Http1Server();

  std::uint16_t port() const;
  void start();
  // Stops accepting; connections that are idle are closed, in-flight requests go on.
  void stopAccepting();
  // Closes every connection and joins the threads.
  void stop();

  struct Counters {
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> refused{0};  // Over maxConnections or the per-client cap.
    std::atomic<std::uint64_t> tlsHandshakeFailures{0};
    std::atomic<std::uint64_t> badRequests{0};
    std::atomic<std::uint64_t> timedOut{0};
    std::atomic<std::int64_t> open{0};
  };
  const Counters& counters() const;

  class Impl;

 private:
  explicit Http1Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::edge::server
