#include "edge/origin/http_backend.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/StreamCopier.h>

#include <mutex>
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
                     std::vector<Interim> interims, std::chrono::steady_clock::time_point deadline)
      : backend_(backend),
        session_(std::move(session)),
        body_(body),
        interims_(std::move(interims)),
        deadline_(deadline) {
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
    if (deadline_ != std::chrono::steady_clock::time_point::max() &&
        std::chrono::steady_clock::now() >= deadline_) {
      return fail("the origin exchange exceeded its total timeout");
    }
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
  std::chrono::steady_clock::time_point deadline_;
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

namespace {

std::once_flag sslInitOnce;

Poco::Timespan millis(std::int64_t ms) { return Poco::Timespan(ms * 1000); }

}  // namespace

HttpBackend::HttpBackend(HttpBackendOptions options) : options_(std::move(options)) {}

std::unique_ptr<HttpBackend> HttpBackend::create(HttpBackendOptions options, std::string* error) {
  auto backend = std::make_unique<HttpBackend>(std::move(options));
  if (!backend->options_.tls.enabled) return backend;
  std::call_once(sslInitOnce, [] { Poco::Net::initializeSSL(); });
  const TlsClientOptions& tls = backend->options_.tls;
  try {
    Poco::Net::Context::Params params;
    params.caLocation = tls.caFile;
    params.loadDefaultCAs = tls.caFile.empty();
    params.verificationMode =
        tls.verify ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE;
    params.verificationDepth = 9;
    backend->context_ = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
  } catch (const Poco::Exception& e) {
    *error = "backend " + backend->options_.name + ": cannot set up TLS (ca_file '" + tls.caFile +
             "'): " + e.displayText();
    return nullptr;
  }
  return backend;
}

HttpBackend::~HttpBackend() = default;

ConnectionCounts HttpBackend::connections() const {
  return {counters_.reusedConnections.load(std::memory_order_relaxed),
          counters_.newConnections.load(std::memory_order_relaxed)};
}

std::unique_ptr<Poco::Net::HTTPClientSession> HttpBackend::newSession() const {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (context_) {
    auto secure =
        std::make_unique<Poco::Net::HTTPSClientSession>(options_.host, options_.port, context_);
    // SNI and the name verified: the configured one, else the backend's host.
    if (!options_.tls.sni.empty()) {
      Poco::Net::SecureStreamSocket socket(secure->socket());
      socket.setPeerHostName(options_.tls.sni);
    }
    session = std::move(secure);
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(options_.host, options_.port);
  }
  session->setKeepAlive(true);
  session->setTimeout(millis(options_.connectTimeoutMs), millis(options_.firstByteTimeoutMs),
                      millis(options_.firstByteTimeoutMs));
  return session;
}

std::unique_ptr<Poco::Net::HTTPClientSession> HttpBackend::probeSession(
    std::int64_t timeoutMs) const {
  try {
    auto session = newSession();
    session->setKeepAlive(false);
    session->setTimeout(millis(timeoutMs), millis(timeoutMs), millis(timeoutMs));
    return session;
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

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
  return newSession();
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
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = options_.totalTimeoutMs > 0
                            ? started + std::chrono::milliseconds(options_.totalTimeoutMs)
                            : std::chrono::steady_clock::time_point::max();
  // The time left before the total deadline, capped at `ms`.
  auto capped = [&](std::int64_t ms) {
    if (deadline == std::chrono::steady_clock::time_point::max()) return ms;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    return std::max<std::int64_t>(1, std::min<std::int64_t>(ms, left));
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    try {
      session = acquire(attempt == 0, &reused);
    } catch (const Poco::Exception& e) {
      *failure = FetchFailure::kConnect;
      *error = options_.name + ": " + e.displayText();
      break;
    }
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
      if (reused) {
        session->socket().setReceiveTimeout(millis(capped(options_.firstByteTimeoutMs)));
      } else {
        stage = FetchFailure::kConnect;
        const std::int64_t firstByte = capped(options_.firstByteTimeoutMs);
        session->setTimeout(millis(capped(options_.connectTimeoutMs)), millis(firstByte),
                            millis(firstByte));
      }
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
      session->socket().setReceiveTimeout(millis(capped(options_.betweenBytesTimeoutMs)));
      return std::make_unique<HttpOriginResponse>(this, std::move(session), responseHead, in,
                                                  expectBody, std::move(interims), deadline);
    } catch (const Poco::Net::SSLException& e) {
      if (reused && !bodyTouched && (idempotent || stage != FetchFailure::kReceive)) continue;
      // Certificate and handshake problems are not worth a second try on this backend; say
      // plainly what failed, as operators grep for it.
      *failure = stage == FetchFailure::kReceive ? stage : FetchFailure::kConnect;
      *error = options_.name + ": TLS handshake with " + options_.host + ":" +
               std::to_string(options_.port) + " failed: " + e.displayText() +
               (options_.tls.caFile.empty() ? " (verified against the system CAs; set tls.ca_file)"
                                            : " (verified against " + options_.tls.caFile + ")");
    } catch (const Poco::TimeoutException& e) {
      if (reused && !bodyTouched && (idempotent || stage != FetchFailure::kReceive)) continue;
      *failure = stage;
      *error = options_.name + ": timed out (" +
               std::string(stage == FetchFailure::kConnect   ? "connect"
                           : stage == FetchFailure::kReceive ? "first byte"
                                                             : "send") +
               "): " + e.displayText();
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
