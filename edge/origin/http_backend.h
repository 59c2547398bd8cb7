#pragma once
// HttpBackend: an origin server reached over HTTP/1.1, in clear or over TLS (certificate and host
// name verified against the system CAs or a configured CA file; SNI sent), with a capped pool of
// kept-alive connections. Plain http:// goes through the lean client in http1_client.h; https://
// through POCO's HTTPSClientSession.
// Thread-safety: fetch() may be called concurrently; the idle-connection pool is mutex-guarded.

#include <Poco/AutoPtr.h>
#include <Poco/Net/Context.h>

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
}  // namespace Poco::Net

namespace strata::edge::origin {

class Http1Connection;

struct TlsClientOptions {
  bool enabled = false;  // https:// backend.
  std::string caFile;    // Default: "" (the system's CA store).
  bool verify = true;    // Default: true. false accepts any certificate: for tests only.
  std::string sni;       // Default: "" (the backend's host). Also the name verified.
};

struct HttpBackendOptions {
  std::string name;
  std::string host;
  std::uint16_t port = 80;
  std::int64_t connectTimeoutMs = 2000;
  std::int64_t firstByteTimeoutMs = 30000;     // From the request sent to the response head.
  std::int64_t betweenBytesTimeoutMs = 30000;  // Between two reads of the body.
  std::int64_t totalTimeoutMs = 0;             // Whole exchange, body included; 0: no limit.
  int maxIdleConnections = 64;                 // Idle kept-alive connections kept for reuse.
  // Idle connections older than this are closed rather than reused: origins close idle
  // keep-alive connections after a few seconds (5 s for Node.js and Apache), and reusing one as
  // it closes fails the request.
  std::int64_t maxIdleMs = 4000;
  TlsClientOptions tls;
};

struct BackendCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> reusedConnections{0};
  std::atomic<std::uint64_t> newConnections{0};
  std::atomic<std::uint64_t> failures{0};
};

class HttpBackend : public Origin {
 public:
  // Fails (nullptr and `error`) when the TLS context cannot be built, e.g. an unreadable CA file.
  static std::unique_ptr<HttpBackend> create(HttpBackendOptions options, std::string* error);
  explicit HttpBackend(HttpBackendOptions options);  // Plain http:// only.
  ~HttpBackend() override;

  const std::string& name() const override { return options_.name; }
  std::unique_ptr<OriginResponse> fetch(const OriginRequest& request, FetchFailure* failure,
                                        std::string* error) override;
  ConnectionCounts connections() const override;
  const BackendCounters& counters() const { return counters_; }
  const HttpBackendOptions& options() const { return options_; }

  // A new connection (not from the pool) with this backend's TLS settings and the given
  // timeouts, for health probes. Never throws.
  std::unique_ptr<Poco::Net::HTTPClientSession> probeSession(std::int64_t timeoutMs) const;

  // Takes back a connection whose response was read to the end (called by the response).
  void release(std::unique_ptr<Poco::Net::HTTPClientSession> session);
  void release(std::unique_ptr<Http1Connection> connection);

 private:
  struct Exchange;  // What both clients need of one request: its replayable body, its deadline.
  std::unique_ptr<OriginResponse> fetchTls(const OriginRequest& request, const Exchange& exchange,
                                           FetchFailure* failure, std::string* error);
  std::unique_ptr<OriginResponse> fetchPlain(const OriginRequest& request, const Exchange& exchange,
                                             FetchFailure* failure, std::string* error);
  std::unique_ptr<Poco::Net::HTTPClientSession> acquire(bool allowReuse, bool* reused);
  std::unique_ptr<Http1Connection> acquireConnection();
  std::unique_ptr<Poco::Net::HTTPClientSession> newSession() const;

  HttpBackendOptions options_;
  Poco::Net::Context::Ptr context_;  // TLS backends only.
  BackendCounters counters_;
  std::mutex mutex_;
  struct Idle {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Idle> idle_;
  struct IdleConnection {
    std::unique_ptr<Http1Connection> connection;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<IdleConnection> idleConnections_;
};

}  // namespace strata::edge::origin
