#include "edge/server/proxy_handler.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>

#include <array>

namespace strata::edge::server {
namespace {

class PocoResponseSink : public pipeline::ResponseSink {
 public:
  PocoResponseSink(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                   bool http10)
      : request_(request), response_(response), http10_(http10) {}

  void sendHead(int status, const std::string& reason, const http::HeaderList& headers,
                std::int64_t contentLength) override {
    if (reason.empty()) {
      response_.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    } else {
      response_.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status),
                                   reason);
    }
    for (const auto& [name, value] : headers.fields()) {
      // POCO sets Date itself; the origin's (or stored) Date replaces it rather than doubling it.
      if (http::iequals(name, "Date")) {
        response_.set(name, value);
      } else {
        response_.add(name, value);
      }
    }
    if (contentLength >= 0) {
      response_.setContentLength64(contentLength);
    } else if (http10_) {
      response_.setKeepAlive(false);  // Close-delimited body for HTTP/1.0 clients.
    } else {
      response_.setChunkedTransferEncoding(true);
    }
    out_ = &response_.send();
  }

  bool write(const char* data, std::size_t size) override {
    try {
      out_->write(data, static_cast<std::streamsize>(size));
      return out_->good();
    } catch (...) {
      return false;
    }
  }

  void finish() override {
    try {
      out_->flush();
    } catch (...) {
    }
  }

  void abort() override {
    // Closing the socket makes the cut visible to the client (a short Content-Length body or a
    // chunked body without its last chunk) and ends this keep-alive connection.
    try {
      static_cast<Poco::Net::HTTPServerRequestImpl&>(request_).socket().shutdown();
    } catch (...) {
    }
  }

 private:
  Poco::Net::HTTPServerRequest& request_;
  Poco::Net::HTTPServerResponse& response_;
  bool http10_;
  std::ostream* out_ = nullptr;
};

class ProxyHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit ProxyHandler(pipeline::ProxyPipeline& pipeline) : pipeline_(pipeline) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    pipeline::ClientRequest in;
    in.method = request.getMethod();
    in.target = request.getURI();
    in.host = request.get("Host", "");
    in.clientAddress = request.clientAddress().host().toString();
    in.http10 = request.getVersion() == Poco::Net::HTTPMessage::HTTP_1_0;
    for (const auto& [name, value] : request) in.headers.add(name, value);
    const bool chunked = request.getChunkedTransferEncoding();
    const std::int64_t length = request.hasContentLength() ? request.getContentLength64() : 0;
    if (chunked || length > 0) {
      in.body = &request.stream();
      in.contentLength = chunked ? -1 : length;
    }
    PocoResponseSink sink(request, response, in.http10);
    pipeline_.handle(in, sink);
    if (in.body) drainBody(request, *in.body);
  }

 private:
  // A request body the origin did not read must not be parsed as the next request: read what is
  // left (bounded), or close the connection.
  static void drainBody(Poco::Net::HTTPServerRequest& request, std::istream& body) {
    constexpr std::int64_t kMaxDrain = 1 << 20;
    std::array<char, 16384> buffer;
    std::int64_t drained = 0;
    try {
      while (body.good() && drained < kMaxDrain) {
        body.read(buffer.data(), buffer.size());
        drained += body.gcount();
      }
      if (!body.eof()) {
        static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket().shutdown();
      }
    } catch (...) {
    }
  }

  pipeline::ProxyPipeline& pipeline_;
};

}  // namespace

Poco::Net::HTTPRequestHandler* ProxyHandlerFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest& /*request*/) {
  return new ProxyHandler(pipeline_);
}

}  // namespace strata::edge::server
