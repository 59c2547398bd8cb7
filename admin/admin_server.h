#pragma once
// The admin listener: /healthz, the /api/* JSON API (bearer-token protected) and, in a later
// issue, the admin page. Knows no other module: it reads node data through callbacks wired by
// edge/app. Runs on its own POCO HTTPServer with its own small thread pool.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

  std::uint16_t port_ = 0;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace strata::admin
