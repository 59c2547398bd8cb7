#include "edge/origin/http_backend.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>

#include <utility>

namespace strata::edge::origin {

const char* toString(FetchFailure f) {
  switch (f) {
    case FetchFailure::kNone:
      return "none";
    case FetchFailure::kConnect:
      return "connect";
    case FetchFailure::kSend:
      return "send";
    case FetchFailure::kReceive:
      return "receive";
  }
  return "unknown";
}

namespace {

class HttpOriginResponse : public OriginResponse {
 public:
  // `expectBody` is false for answers to HEAD and for 1xx, 204 and 304, whose Content-Length
  // (if any) describes a body that is not sent (RFC 9110 §8.6, RFC 9112 §6.3).
  HttpOriginResponse(HttpBackend* backend, std::unique_ptr<Poco::Net::HTTPClientSession> session,
                     const Poco::Net::HTTPResponse& head, std::istream* body, bool expectBody,
                     std::vector<Interim> interims)
      : backend_(backend),
        session_(std::move(session)),
        body_(body),
        interims_(std::move(interims)) {
    status_ = static_cast<int>(head.getStatus());
    reason_ = head.getReason();
    for (const auto& [name, value] : head) headers_.add(name, value);
    contentLength_ = head.hasContentLength() ? head.getContentLength64() : -1;
    keepAlive_ = head.getKeepAlive();
    if (!expectBody) {
      framingLength_ = 0;
      finished_ = true;  // Nothing follows on the connection: it can be reused at once.
    } else {
      framingLength_ = contentLength_;
    }
  }

  ~HttpOriginResponse() override {
    // A connection goes back to the pool only when its response was read to the end.
    if (finished_ && keepAlive_ && session_) backend_->release(std::move(session_));
  }

  int status() const override { return status_; }
  const std::string& reason() const override { return reason_; }
  const http::HeaderList& headers() const override { return headers_; }
  std::int64_t contentLength() const override { return contentLength_; }
  const std::string& error() const override { return error_; }
  const std::vector<Interim>& interims() const override { return interims_; }

  std::int64_t read(char* buffer, std::size_t size) override {
    if (failed_) return -1;
    if (finished_) return 0;
    try {
      body_->read(buffer, static_cast<std::streamsize>(size));
      std::int64_t n = body_->gcount();
      received_ += n;
      if (n > 0) return n;
      if (framingLength_ >= 0 && received_ < framingLength_) {
        return fail("origin closed the connection after " + std::to_string(received_) + " of " +
                    std::to_string(framingLength_) + " body bytes");
      }
      if (body_->bad()) return fail("origin body stream failed");
      finished_ = true;
      return 0;
    } catch (const Poco::TimeoutException&) {
      return fail("timed out reading the origin body");
    } catch (const Poco::Exception& e) {
      return fail("origin body: " + e.displayText());
    } catch (const std::exception& e) {
      return fail(std::string("origin body: ") + e.what());
    }
  }

 private:
  std::int64_t fail(std::string why) {
    failed_ = true;
    error_ = std::move(why);
    session_.reset();
    return -1;
  }

  HttpBackend* backend_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
  std::istream* body_;
  std::vector<Interim> interims_;
  int status_ = 0;
  std::string reason_;
  http::HeaderList headers_;
  std::int64_t contentLength_ = -1;
  std::int64_t framingLength_ = -1;  // Bytes the body really has on the wire, -1 if delimited.
  std::int64_t received_ = 0;
  bool keepAlive_ = false;
  bool finished_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

HttpBackend::HttpBackend(HttpBackendOptions options) : options_(std::move(options)) {}

HttpBackend::~HttpBackend() = default;

std::unique_ptr<Poco::Net::HTTPClientSession> HttpBackend::acquire(bool allowReuse, bool* reused) {
  if (allowReuse) {
    std::lock_guard lock(mutex_);
    const auto oldest =
        std::chrono::steady_clock::now() - std::chrono::milliseconds(options_.maxIdleMs);
    while (!idle_.empty()) {
      Idle idle = std::move(idle_.back());
      idle_.pop_back();
      if (idle.since >= oldest && idle.session->connected()) {
        *reused = true;
        return std::move(idle.session);
      }
    }
  }
  *reused = false;
  auto session = std::make_unique<Poco::Net::HTTPClientSession>(options_.host, options_.port);
  session->setKeepAlive(true);
  session->setTimeout(Poco::Timespan(options_.connectTimeoutMs * 1000),
                      Poco::Timespan(options_.readTimeoutMs * 1000),
                      Poco::Timespan(options_.readTimeoutMs * 1000));
  return session;
}

void HttpBackend::release(std::unique_ptr<Poco::Net::HTTPClientSession> session) {
  std::lock_guard lock(mutex_);
  if (static_cast<int>(idle_.size()) < options_.maxIdleConnections) {
    idle_.push_back({std::move(session), std::chrono::steady_clock::now()});
  }
}

std::unique_ptr<OriginResponse> HttpBackend::fetch(const OriginRequest& request,
                                                   FetchFailure* failure, std::string* error) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  // A kept-alive connection may have been closed by the origin while idle; such a failure shows
  // before any response byte. It is retried once on a new connection when that is safe: the
  // request was not sent yet, or its method is idempotent (RFC 9110 §9.2.2) and its body, if
  // any, is small enough to have been kept to send again.
  constexpr std::int64_t kReplayableBody = 64 * 1024;
  std::string replay;
  const bool bodyKept =
      request.body && request.contentLength >= 0 && request.contentLength <= kReplayableBody;
  if (bodyKept) {
    replay.resize(static_cast<std::size_t>(request.contentLength));
    request.body->read(replay.data(), request.contentLength);
    if (request.body->gcount() != request.contentLength) {
      *failure = FetchFailure::kSend;
      *error = "the client's request body ended early";
      return nullptr;
    }
  }
  const bool idempotent = request.method == "GET" || request.method == "HEAD" ||
                          request.method == "PUT" || request.method == "DELETE" ||
                          request.method == "OPTIONS" || request.method == "TRACE";
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    auto session = acquire(attempt == 0, &reused);
    Poco::Net::HTTPRequest head(request.method, request.target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : request.headers.fields()) head.add(name, value);
    if (request.body) {
      if (request.contentLength >= 0) {
        head.setContentLength64(request.contentLength);
      } else {
        head.setChunkedTransferEncoding(true);
      }
    }
    head.setKeepAlive(true);
    FetchFailure stage = FetchFailure::kSend;
    bool bodyTouched = false;
    try {
      if (!reused) stage = FetchFailure::kConnect;
      std::ostream& out = session->sendRequest(head);
      stage = FetchFailure::kSend;
      if (bodyKept) {
        out.write(replay.data(), static_cast<std::streamsize>(replay.size()));
      } else if (request.body) {
        bodyTouched = true;  // Streamed: it cannot be sent again.
        Poco::StreamCopier::copyStream64(*request.body, out);
      }
      out.flush();
      if (!out) throw Poco::Net::NetException("sending the request failed");
      stage = FetchFailure::kReceive;
      Poco::Net::HTTPResponse responseHead;
      std::istream* in = &session->receiveResponse(responseHead);
      // Interim responses (1xx other than 101) are not the answer (RFC 9110 §15.2): skip them,
      // at most a few, and read the final one. They are never stored or forwarded.
      std::vector<Interim> interims;
      for (int interim = 0; interim < 8 && responseHead.getStatus() >= 100 &&
                            responseHead.getStatus() < 200 && responseHead.getStatus() != 101;
           ++interim) {
        Interim seen{static_cast<int>(responseHead.getStatus()), responseHead.getReason(), {}};
        for (const auto& [name, value] : responseHead) seen.headers.add(name, value);
        interims.push_back(std::move(seen));
        in = &session->receiveResponse(responseHead);
      }
      const int status = static_cast<int>(responseHead.getStatus());
      if (status >= 100 && status < 200) {
        throw Poco::Net::MessageException("the origin sent no final response");
      }
      const bool expectBody = request.method != "HEAD" && status != 204 && status != 304;
      (reused ? counters_.reusedConnections : counters_.newConnections)
          .fetch_add(1, std::memory_order_relaxed);
      return std::make_unique<HttpOriginResponse>(this, std::move(session), responseHead, in,
                                                  expectBody, std::move(interims));
    } catch (const Poco::Exception& e) {
      if (reused && !bodyTouched && (idempotent || stage != FetchFailure::kReceive)) continue;
      *failure = stage;
      *error = options_.name + ": " + e.displayText();
    } catch (const std::exception& e) {
      if (reused && !bodyTouched && (idempotent || stage != FetchFailure::kReceive)) continue;
      *failure = stage;
      *error = options_.name + ": " + e.what();
    }
    break;
  }
  counters_.failures.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

}  // namespace strata::edge::origin
