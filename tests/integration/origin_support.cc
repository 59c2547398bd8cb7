#include "origin_support.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace strata::testing {
namespace {

class BackendHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit BackendHandler(TestBackend& backend) : backend_(backend) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::string cacheControl;
    std::string body;
    backend_.handle(request.getURI(), &cacheControl, &body);
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
    if (!cacheControl.empty()) response.set("Cache-Control", cacheControl);
    response.setContentType("text/plain");
    response.setContentLength64(static_cast<std::int64_t>(body.size()));
    // A stopping backend closes every connection after the request it is answering. POCO's own
    // stop notice misses a connection whose thread was starting as the server stopped: kept
    // busy by the proxy's pool, such a connection would serve on for as long as traffic came.
    if (backend_.stopping()) response.setKeepAlive(false);
    response.send() << body;
  }

 private:
  TestBackend& backend_;
};

class BackendFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit BackendFactory(TestBackend& backend) : backend_(backend) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new BackendHandler(backend_);
  }

 private:
  TestBackend& backend_;
};

std::once_flag sslOnce;

}  // namespace

TestPki makeTestPki(const std::string& dir) {
  TestPki pki;
  pki.caFile = dir + "/ca.pem";
  pki.certFile = dir + "/server.pem";
  pki.keyFile = dir + "/server.key";
  {
    std::ofstream ext(dir + "/ext.cnf");
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n";
  }
  const std::string q = " >/dev/null 2>&1";
  const std::string commands[] = {
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Strata Test CA' -keyout '" +
          dir + "/ca.key' -out '" + pki.caFile + "'" + q,
      "openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout '" + pki.keyFile +
          "' -out '" + dir + "/server.csr'" + q,
      "openssl x509 -req -days 2 -in '" + dir + "/server.csr' -CA '" + pki.caFile + "' -CAkey '" +
          dir + "/ca.key' -CAcreateserial -extfile '" + dir + "/ext.cnf' -out '" + pki.certFile +
          "'" + q,
  };
  for (const auto& command : commands) {
    if (std::system(command.c_str()) != 0) return pki;
  }
  pki.ok = true;
  return pki;
}

TestBackend::TestBackend(std::string name, const TestPki* tls) : name_(std::move(name)), tls_(tls) {
  start();
}

TestBackend::~TestBackend() {
  releaseSlow();
  stop();
}

std::string TestBackend::url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void TestBackend::handle(const std::string& uri, std::string* cacheControl, std::string* body) {
  *body = name_;
  if (uri == "/healthz") {
    *body = "ok";
    return;
  }
  requests_.fetch_add(1);
  if (uri.rfind("/slow", 0) == 0) {
    *cacheControl = "no-store";
    slowInFlight_.fetch_add(1);
    std::unique_lock lock(mutex_);
    released_.wait_for(lock, std::chrono::seconds(20), [this] { return slowReleased_; });
    slowInFlight_.fetch_sub(1);
    return;
  }
  *cacheControl = uri.rfind("/cached/", 0) == 0 ? "max-age=600" : "no-store";
}

void TestBackend::releaseSlow() {
  {
    std::lock_guard lock(mutex_);
    slowReleased_ = true;
  }
  released_.notify_all();
}

void TestBackend::start() {
  if (server_) return;
  stopping_ = false;
  auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
  params->setMaxThreads(64);
  params->setMaxQueued(256);
  params->setKeepAlive(true);
  params->setMaxKeepAliveRequests(0);
  params->setKeepAliveTimeout(Poco::Timespan(30, 0));
  threads_ = std::make_unique<Poco::ThreadPool>("backend", 4, 64);
  const Poco::Net::SocketAddress address("127.0.0.1", port_);
  if (tls_) {
    std::call_once(sslOnce, [] { Poco::Net::initializeSSL(); });
    Poco::Net::Context::Params p;
    p.certificateFile = tls_->certFile;
    p.privateKeyFile = tls_->keyFile;
    p.verificationMode = Poco::Net::Context::VERIFY_NONE;
    Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::SERVER_USE, p);
    Poco::Net::SecureServerSocket socket(context);
    socket.bind(address, true);
    socket.listen(256);
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new BackendFactory(*this), *threads_, socket,
                                                      params);
  } else {
    Poco::Net::ServerSocket socket;
    socket.bind(address, true);
    socket.listen(256);
    port_ = socket.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new BackendFactory(*this), *threads_, socket,
                                                      params);
  }
  server_->start();
}

void TestBackend::stop() {
  if (!server_) return;
  stopping_ = true;
  server_->stopAll(false);
  threads_->joinAll();
  server_.reset();
  threads_.reset();
}

KeepAliveClient::KeepAliveClient(std::uint16_t port) : port_(port) {}
KeepAliveClient::~KeepAliveClient() = default;

KeepAliveClient::Result KeepAliveClient::get(const std::string& uri, const std::string& host) {
  Result result;
  try {
    if (!session_) {
      session_ = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", port_);
      session_->setKeepAlive(true);
      session_->setTimeout(Poco::Timespan(30, 0));
    }
    Poco::Net::HTTPRequest request("GET", uri, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!host.empty()) request.setHost(host);
    session_->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session_->receiveResponse(response);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(in, body);
    result.status = static_cast<int>(response.getStatus());
    result.body = body.str();
    result.cacheStatus = response.get("Cache-Status", "");
    if (response.hasContentLength() &&
        response.getContentLength64() != static_cast<std::int64_t>(result.body.size())) {
      result.status = 0;
      result.error = "short body";
      session_.reset();
    }
  } catch (const Poco::Exception& e) {
    result.status = 0;
    result.error = e.displayText();
    session_.reset();
  }
  return result;
}

AdminAnswer adminCall(std::uint16_t adminPort, const std::string& method, const std::string& path,
                      const std::string& token) {
  AdminAnswer answer;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", adminPort);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + token);
    if (method == "POST") request.setContentLength(0);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(in, body);
    answer.status = static_cast<int>(response.getStatus());
    answer.body = body.str();
  } catch (const Poco::Exception& e) {
    answer.body = e.displayText();
  }
  return answer;
}

std::uint16_t freePort() {
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
  return socket.address().port();
}

}  // namespace strata::testing
