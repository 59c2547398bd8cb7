#pragma once
// The admin listener: /healthz, /metrics (Prometheus), the /api/* JSON API (bearer-token
// protected) and the admin page (static assets compiled into the binary, see admin/web/).
// Knows no other module: it reads node data through callbacks wired by edge/app. Runs on its
// own POCO HTTPServer with its own small thread pool, plus one thread sampling the counters
// every second for the page's charts (GET /api/history).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "admin/history.h"

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
class ServerSocket;
}  // namespace Net
}  // namespace Poco

namespace strata::admin {

struct Token {
  std::string name;
  std::string secret;
};

struct AdminCallbacks {
  std::function<std::string()> statsJson;  // The body of GET /api/stats.
  // POST /api/purge: the request body, the caller's token name and address; returns the HTTP
  // status and the JSON body to answer with.
  std::function<std::pair<int, std::string>(const std::string& body, const std::string& actor,
                                            const std::string& client)>
      purge;
  std::function<std::string()> purgesJson;    // The body of GET /api/purges.
  std::function<std::string()> backendsJson;  // The body of GET /api/backends.
  // POST /api/backends/POOL/BACKEND/ACTION (ACTION: "drain" or "enable"), with the caller's
  // token name; returns the HTTP status and JSON body (404 for an unknown pool or backend).
  std::function<std::pair<int, std::string>(const std::string& pool, const std::string& backend,
                                            const std::string& action, const std::string& actor)>
      backendAction;
  // Each may be empty: its endpoint then answers 404 {"error": ...}.
  std::function<std::string()> metricsText;           // GET /metrics (Prometheus text format).
  std::function<std::string(std::size_t n)> topJson;  // GET /api/top?n=N (1..100, default 20).
  std::function<std::string()> configJson;            // GET /api/config (secrets already hidden).
  std::function<HistorySample()> sample;              // Read once a second for GET /api/history.
};

// Largest POST /api/purge body read; a larger one is answered 413 unread.
inline constexpr std::size_t kMaxPurgeBody = 1 << 20;

// Checks "Authorization: Bearer SECRET" against the tokens in constant time per token.
// Returns the matching token's name, or "" if none matches.
std::string matchToken(const std::vector<Token>& tokens, const std::string& authorization);

class AdminServer {
 public:
  // Binds at once; `error` says why on failure (nullptr returned).
  static std::unique_ptr<AdminServer> create(const std::string& host, std::uint16_t port,
                                             std::vector<Token> tokens, AdminCallbacks callbacks,
                                             std::string* error);
  ~AdminServer();

  void start();
  void stop();
  std::uint16_t port() const { return port_; }

 private:
  AdminServer() = default;
  void runSampler();

  std::uint16_t port_ = 0;
  std::function<HistorySample()> sample_;
  std::shared_ptr<History> history_ = std::make_shared<History>();
  std::thread sampler_;
  std::mutex samplerMutex_;
  std::condition_variable samplerWake_;
  bool samplerStop_ = false;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace strata::admin
