#pragma once
// Support for the origin-layer integration tests: backends that can be killed and restarted on
// the same port (plain or TLS), a throwaway CA made with the openssl CLI, and a keep-alive client.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
class HTTPClientSession;
}  // namespace Net
}  // namespace Poco

namespace strata::testing {

// A CA and a server certificate for 127.0.0.1 (CN and IP SAN), made at test time in `dir`.
struct TestPki {
  std::string caFile;
  std::string certFile;
  std::string keyFile;
  bool ok = false;
};
TestPki makeTestPki(const std::string& dir);

// A backend on 127.0.0.1 that answers:
//   /healthz     200 "ok" (not counted)
//   /slow...     waits (bounded, 20 s) until releaseSlow(), then 200 "NAME"; counted
//   /cached/...  200 "NAME", Cache-Control: max-age=600; counted
//   anything     200 "NAME", Cache-Control: no-store; counted
// stop() is a kill: it closes the listener and every idle connection (in-flight requests finish,
// answered with Connection: close); start() listens again on the same port.
class TestBackend {
 public:
  explicit TestBackend(std::string name, const TestPki* tls = nullptr);
  ~TestBackend();
  void start();
  void stop();
  std::uint16_t port() const { return port_; }
  std::string url() const;
  const std::string& name() const { return name_; }
  int requests() const { return requests_.load(); }
  int slowInFlight() const { return slowInFlight_.load(); }
  bool stopping() const { return stopping_.load(); }
  void releaseSlow();

  void handle(const std::string& uri, std::string* cacheControl, std::string* body);

 private:
  std::string name_;
  const TestPki* tls_;
  std::uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> slowInFlight_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable released_;
  bool slowReleased_ = false;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

// One kept-alive client connection to 127.0.0.1:port. get() never throws: status 0 on a failure
// (the connection is then reset for the next call).
class KeepAliveClient {
 public:
  explicit KeepAliveClient(std::uint16_t port);
  ~KeepAliveClient();
  struct Result {
    int status = 0;
    std::string body;
    std::string cacheStatus;
    std::string error;
  };
  Result get(const std::string& uri, const std::string& host = "");

 private:
  std::uint16_t port_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

// A bearer-authenticated admin call; returns the status and body.
struct AdminAnswer {
  int status = 0;
  std::string body;
};
AdminAnswer adminCall(std::uint16_t adminPort, const std::string& method, const std::string& path,
                      const std::string& token = "secret-token");

// A port that was free a moment ago (for configs that must name a port before it is bound).
std::uint16_t freePort();

}  // namespace strata::testing
