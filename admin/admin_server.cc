#include "admin/admin_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <utility>

#include "admin/web_assets.h"

namespace strata::admin {
namespace {

using Poco::Net::HTTPResponse;

bool constantTimeEquals(const std::string& a, const std::string& b) {
  // Compares every byte of the longer input so the time does not reveal a common prefix.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

// The page's policy: scripts, styles and images only from this origin (no inline script or
// style, no eval), API calls only to this origin, no framing, no form posts, no <base>.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void setSecurityHeaders(Poco::Net::HTTPServerResponse& response) {
  response.set("Content-Security-Policy", kContentSecurityPolicy);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
  response.set("Cross-Origin-Opener-Policy", "same-origin");
  response.set("Cross-Origin-Resource-Policy", "same-origin");
}

void sendText(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
              const std::string& contentType, std::string_view body, bool head = false) {
  response.setStatusAndReason(status);
  response.setContentType(contentType);
  response.set("Cache-Control", "no-store");
  setSecurityHeaders(response);
  response.setContentLength64(static_cast<std::int64_t>(body.size()));
  std::ostream& out = response.send();
  if (!head) out.write(body.data(), static_cast<std::streamsize>(body.size()));
}

void sendJsonError(Poco::Net::HTTPServerResponse& response, HTTPResponse::HTTPStatus status,
                   const std::string& reason) {
  sendText(response, status, "application/json", "{\"error\": \"" + reason + "\"}\n");
}

constexpr int kAdminThreads = 16;

// "n" from a query string such as "n=20&x=y", clamped to [1, 100]; 20 when absent or bad.
std::size_t topCount(const std::string& uri) {
  const auto query = uri.find('?');
  if (query == std::string::npos) return 20;
  const std::string q = "&" + uri.substr(query + 1);
  const auto at = q.find("&n=");
  if (at == std::string::npos) return 20;
  const long n = std::strtol(q.c_str() + at + 3, nullptr, 10);
  return n < 1 ? 20 : static_cast<std::size_t>(std::min(n, 100L));
}

class AdminHandler : public Poco::Net::HTTPRequestHandler {
 public:
  AdminHandler(const std::vector<Token>& tokens, const AdminCallbacks& callbacks,
               const History& history)
      : tokens_(tokens), callbacks_(callbacks), history_(history) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const std::string path = request.getURI().substr(0, request.getURI().find('?'));
    const std::string& method = request.getMethod();
    if (path == "/healthz") {
      sendText(response, HTTPResponse::HTTP_OK, "text/plain", "ok\n");
      return;
    }
    const bool read = method == "GET" || method == "HEAD";
    if (const WebAsset* asset = findWebAsset(path == "/index.html" ? "/" : path); asset && read) {
      sendText(response, HTTPResponse::HTTP_OK, std::string(asset->contentType), asset->body,
               method == "HEAD");
      return;
    }
    if (path == "/metrics" && read) {
      // No token: the admin listener is on loopback by default (PRODUCT.md).
      if (!callbacks_.metricsText) {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "metrics are not enabled");
        return;
      }
      sendText(response, HTTPResponse::HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
               callbacks_.metricsText(), method == "HEAD");
      return;
    }
    if (path.rfind("/api/", 0) != 0) {
      sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "not found");
      return;
    }
    const std::string authorization = request.get("Authorization", "");
    if (authorization.empty()) {
      response.set("WWW-Authenticate", "Bearer");
      sendJsonError(response, HTTPResponse::HTTP_UNAUTHORIZED, "missing bearer token");
      return;
    }
    const std::string actor = matchToken(tokens_, authorization);
    if (actor.empty()) {
      sendJsonError(response, HTTPResponse::HTTP_FORBIDDEN, "invalid token");
      return;
    }
    if (path == "/api/purge") {
      if (method != "POST") {
        response.set("Allow", "POST");
        sendJsonError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        return;
      }
      if (!callbacks_.purge) {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "purging is not enabled");
        return;
      }
      if (request.hasContentLength() &&
          request.getContentLength64() > static_cast<std::int64_t>(kMaxPurgeBody)) {
        // Read (and drop) a body of up to 16 MiB first, so that the client, still sending, gets
        // the 413 rather than a reset connection; beyond that, answer at once and close.
        constexpr std::int64_t kMaxDrain = 16 << 20;
        if (request.getContentLength64() <= kMaxDrain) {
          char sink[16384];
          std::istream& in = request.stream();
          while (in.read(sink, sizeof sink) || in.gcount() > 0) {
          }
        }
        response.setKeepAlive(false);
        sendJsonError(response, HTTPResponse::HTTP_REQUESTENTITYTOOLARGE, "request body too large");
        return;
      }
      std::string body;
      char buffer[8192];
      std::istream& in = request.stream();
      while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        body.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (body.size() > kMaxPurgeBody) {
          response.setKeepAlive(false);
          sendJsonError(response, HTTPResponse::HTTP_REQUESTENTITYTOOLARGE,
                        "request body too large");
          return;
        }
      }
      auto [status, json] =
          callbacks_.purge(body, actor, request.clientAddress().host().toString());
      sendText(response, static_cast<HTTPResponse::HTTPStatus>(status), "application/json", json);
      return;
    }
    const bool isGetEndpoint = path == "/api/top" || path == "/api/config" ||
                               path == "/api/history" || path == "/api/purges";
    if (isGetEndpoint && method != "GET") {
      response.set("Allow", "GET");
      sendJsonError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed");
      return;
    }
    if (path == "/api/top" && callbacks_.topJson) {
      sendText(response, HTTPResponse::HTTP_OK, "application/json",
               callbacks_.topJson(topCount(request.getURI())));
      return;
    }
    if (path == "/api/config" && callbacks_.configJson) {
      sendText(response, HTTPResponse::HTTP_OK, "application/json", callbacks_.configJson());
      return;
    }
    if (path == "/api/history") {
      sendText(response, HTTPResponse::HTTP_OK, "application/json", history_.json());
      return;
    }
    if (path == "/api/purges" && callbacks_.purgesJson) {
      sendText(response, HTTPResponse::HTTP_OK, "application/json", callbacks_.purgesJson());
      return;
    }
    if (path == "/api/backends") {
      if (method != "GET") {
        response.set("Allow", "GET");
        sendJsonError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        return;
      }
      if (!callbacks_.backendsJson) {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "no backends");
        return;
      }
      sendText(response, HTTPResponse::HTTP_OK, "application/json", callbacks_.backendsJson());
      return;
    }
    if (path.rfind("/api/backends/", 0) == 0) {
      // /api/backends/POOL/BACKEND/ACTION; names never contain '/' (the config refuses them).
      const std::string rest = path.substr(std::string("/api/backends/").size());
      const auto first = rest.find('/');
      const auto second = first == std::string::npos ? first : rest.find('/', first + 1);
      if (second == std::string::npos || rest.find('/', second + 1) != std::string::npos ||
          first == 0 || second == first + 1 || second + 1 == rest.size()) {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND,
                      "expected /api/backends/POOL/BACKEND/drain or /enable");
        return;
      }
      const std::string action = rest.substr(second + 1);
      if (action != "drain" && action != "enable") {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "unknown action");
        return;
      }
      if (method != "POST") {
        response.set("Allow", "POST");
        sendJsonError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        return;
      }
      if (!callbacks_.backendAction) {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "no backends");
        return;
      }
      std::string pool;
      std::string backend;
      try {
        Poco::URI::decode(rest.substr(0, first), pool);
        Poco::URI::decode(rest.substr(first + 1, second - first - 1), backend);
      } catch (const Poco::Exception&) {
        sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "bad pool or backend name");
        return;
      }
      auto [status, json] = callbacks_.backendAction(pool, backend, action, actor);
      sendText(response, static_cast<HTTPResponse::HTTPStatus>(status), "application/json", json);
      return;
    }
    if (path == "/api/stats") {
      if (method != "GET") {
        response.set("Allow", "GET");
        sendJsonError(response, HTTPResponse::HTTP_METHOD_NOT_ALLOWED, "method not allowed");
        return;
      }
      sendText(response, HTTPResponse::HTTP_OK, "application/json", callbacks_.statsJson());
      return;
    }
    sendJsonError(response, HTTPResponse::HTTP_NOT_FOUND, "no such endpoint");
  }

 private:
  const std::vector<Token>& tokens_;
  const AdminCallbacks& callbacks_;
  const History& history_;
};

class AdminHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  AdminHandlerFactory(std::vector<Token> tokens, AdminCallbacks callbacks,
                      std::shared_ptr<const History> history)
      : tokens_(std::move(tokens)),
        callbacks_(std::move(callbacks)),
        history_(std::move(history)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new AdminHandler(tokens_, callbacks_, *history_);
  }

 private:
  std::vector<Token> tokens_;
  AdminCallbacks callbacks_;
  std::shared_ptr<const History> history_;
};

}  // namespace

std::string matchToken(const std::vector<Token>& tokens, const std::string& authorization) {
  static const std::string kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return "";
  }
  const std::string presented = authorization.substr(kScheme.size());
  std::string matched;
  for (const auto& token : tokens) {
    // Every token is compared, so the time does not tell which one matched.
    if (constantTimeEquals(token.secret, presented) && matched.empty()) matched = token.name;
  }
  return matched;
}

std::unique_ptr<AdminServer> AdminServer::create(const std::string& host, std::uint16_t port,
                                                 std::vector<Token> tokens,
                                                 AdminCallbacks callbacks, std::string* error) {
  std::unique_ptr<AdminServer> server(new AdminServer());
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(host, port), true);
    socket.listen(64);
    server->port_ = socket.address().port();
    auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
    // POCO serves a connection per thread, for as long as it is kept alive. A browser keeps up
    // to six connections per tab to the page's origin, so 16 threads serve a few open tabs plus
    // scrapers and stratactl; idle connections give their thread back after 5 s.
    params->setMaxThreads(kAdminThreads);
    params->setMaxQueued(64);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(5, 0));
    params->setTimeout(Poco::Timespan(10, 0));
    server->threads_ = std::make_unique<Poco::ThreadPool>("admin", 1, kAdminThreads);
    server->sample_ = callbacks.sample;
    server->server_ = std::make_unique<Poco::Net::HTTPServer>(
        new AdminHandlerFactory(std::move(tokens), std::move(callbacks), server->history_),
        *server->threads_, socket, params);
  } catch (const Poco::Exception& e) {
    *error = "cannot listen on admin address " + host + ":" + std::to_string(port) + ": " +
             e.displayText();
    return nullptr;
  }
  return server;
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
  server_->start();
  if (sample_) {
    sampler_ = std::thread([this] { runSampler(); });
    pthread_setname_np(sampler_.native_handle(), "strata-sampler");
  }
}

void AdminServer::runSampler() {
  // One sample now and one a second after: the page's charts have points at once.
  std::unique_lock lock(samplerMutex_);
  do {
    lock.unlock();
    history_->record(sample_());
    lock.lock();
  } while (!samplerWake_.wait_for(lock, std::chrono::seconds(1), [this] { return samplerStop_; }));
}

void AdminServer::stop() {
  if (sampler_.joinable()) {
    {
      std::lock_guard lock(samplerMutex_);
      samplerStop_ = true;
    }
    samplerWake_.notify_all();
    sampler_.join();
  }
  if (server_) {
    server_->stopAll(true);
    server_.reset();
  }
  if (threads_) threads_->joinAll();
}

}  // namespace strata::admin
