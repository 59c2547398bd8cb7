#include "edge/server/proxy_handler.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <array>
#include <chrono>

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
    } else if (contentLength == -2) {
      // No body follows and its length is unknown (a 304 or 204): no framing at all.
    } else if (http10_) {
      response_.setKeepAlive(false);  // Close-delimited body for HTTP/1.0 clients.
    } else {
      response_.setChunkedTransferEncoding(true);
    }
    status_ = status;
    cacheStatus_ = headers.get("Cache-Status").value_or("");
    // A fixed-length body may bypass POCO's 4 KiB stream buffer: large pieces go straight to the
    // socket (one send per piece instead of one per 4 KiB).
    direct_ = contentLength >= 0 && request_.getMethod() != "HEAD";
    out_ = &response_.send();
  }

  void sendInterim(int status, const std::string& reason,
                   const http::HeaderList& headers) override {
    if (http10_ || status < 100 || status >= 200 || status == 101) return;  // RFC 9110 §15.2
    std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                       (reason.empty() ? std::string("Informational") : reason) + "\r\n";
    for (const auto& [name, value] : headers.fields()) head += name + ": " + value + "\r\n";
    head += "\r\n";
    try {
      auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(request_).socket();
      socket.sendBytes(head.data(), static_cast<int>(head.size()));
    } catch (...) {
    }
  }

  bool write(const char* data, std::size_t size) override {
    try {
      if (direct_ && size >= kDirectThreshold) {
        out_->flush();  // The head and any small pieces go first, in order.
        if (!out_->good()) return false;
        auto& socket = static_cast<Poco::Net::HTTPServerRequestImpl&>(request_).socket();
        std::size_t sent = 0;
        while (sent < size) {
          const int n = socket.sendBytes(
              data + sent, static_cast<int>(std::min<std::size_t>(size - sent, 1 << 30)));
          if (n <= 0) return false;
          sent += static_cast<std::size_t>(n);
        }
      } else {
        out_->write(data, static_cast<std::streamsize>(size));
        if (!out_->good()) return false;
      }
      bytes_ += size;
      return true;
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
  bool direct_ = false;
  std::ostream* out_ = nullptr;
  static constexpr std::size_t kDirectThreshold = 16 * 1024;

 public:
  int status_ = 0;
  std::uint64_t bytes_ = 0;
  std::string cacheStatus_;
};

class ProxyHandler : public Poco::Net::HTTPRequestHandler {
 public:
  ProxyHandler(pipeline::ProxyPipeline& pipeline, pipeline::RequestObserver* observer)
      : pipeline_(pipeline), observer_(observer) {}

  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    const auto started = std::chrono::steady_clock::now();
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
    // Head and body may leave in separate sends (see PocoResponseSink::write): without Nagle's
    // algorithm the second is not held back waiting for an ACK.
    try {
      static_cast<Poco::Net::HTTPServerRequestImpl&>(request).socket().setNoDelay(true);
    } catch (...) {
    }
    PocoResponseSink sink(request, response, in.http10);
    pipeline_.handle(in, sink);
    if (in.body) drainBody(request, *in.body);
    if (observer_) observe(in, request.getVersion(), sink, started);
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

  // Access log, metrics and top URLs: one record per request, after the response.
  void observe(const pipeline::ClientRequest& in, const std::string& version,
               const PocoResponseSink& sink, std::chrono::steady_clock::time_point started) {
    pipeline::RequestRecord record;
    record.method = in.method;
    record.target = in.target;
    record.host = in.host;
    record.version = version;
    record.clientAddress = in.clientAddress;
    record.referer = in.headers.get("Referer").value_or("");
    record.userAgent = in.headers.get("User-Agent").value_or("");
    record.cacheStatus = sink.cacheStatus_;
    record.status = sink.status_;
    record.bytes = sink.bytes_;
    record.durationMicros = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
    observer_->observe(record);
  }

  pipeline::ProxyPipeline& pipeline_;
  pipeline::RequestObserver* observer_;
};

}  // namespace

Poco::Net::HTTPRequestHandler* ProxyHandlerFactory::createRequestHandler(
    const Poco::Net::HTTPServerRequest& /*request*/) {
  return new ProxyHandler(pipeline_, observer_);
}

}  // namespace strata::edge::server
