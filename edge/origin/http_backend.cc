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

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>

#include "edge/origin/http1_client.h"

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

// What both kinds of origin response hold: the head, the interims, the total deadline and the
// state of the body; each kind reads its body its own way.
class ReceivedResponse : public OriginResponse {
 public:
  int status() const override { return status_; }
  const std::string& reason() const override { return reason_; }
  const http::HeaderList& headers() const override { return headers_; }
  http::HeaderList takeHeaders() override { return std::move(headers_); }
  std::int64_t contentLength() const override { return contentLength_; }
  const std::string& error() const override { return error_; }
  const std::vector<Interim>& interims() const override { return interims_; }

 protected:
  ReceivedResponse(std::vector<Interim> interims, std::chrono::steady_clock::time_point deadline)
      : interims_(std::move(interims)), deadline_(deadline) {}

  bool pastDeadline() const {
    return deadline_ != std::chrono::steady_clock::time_point::max() &&
           std::chrono::steady_clock::now() >= deadline_;
  }

  std::vector<Interim> interims_;
  std::chrono::steady_clock::time_point deadline_;
  int status_ = 0;
  std::string reason_;
  http::HeaderList headers_;
  std::int64_t contentLength_ = -1;
  bool keepAlive_ = false;
  bool finished_ = false;
  bool failed_ = false;
  std::string error_;
};

class HttpOriginResponse : public ReceivedResponse {
 public:
  // `expectBody` is false for answers to HEAD and for 1xx, 204 and 304, whose Content-Length
  // (if any) describes a body that is not sent (RFC 9110 §8.6, RFC 9112 §6.3).
  HttpOriginResponse(HttpBackend* backend, std::unique_ptr<Poco::Net::HTTPClientSession> session,
                     const Poco::Net::HTTPResponse& head, std::istream* body, bool expectBody,
                     std::vector<Interim> interims, std::chrono::steady_clock::time_point deadline)
      : ReceivedResponse(std::move(interims), deadline),
        backend_(backend),
        session_(std::move(session)),
        body_(body) {
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

  std::int64_t read(char* buffer, std::size_t size) override {
    if (failed_) return -1;
    if (finished_) return 0;
    if (pastDeadline()) {
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
  std::int64_t framingLength_ = -1;  // Bytes the body really has on the wire, -1 if delimited.
  std::int64_t received_ = 0;
};

// A response on the lean client's connection: the head is parsed, the body is read in place
// from the connection's buffer (what came with the head first) or straight into the caller's.
class PlainOriginResponse : public ReceivedResponse {
 public:
  PlainOriginResponse(HttpBackend* backend, std::unique_ptr<Http1Connection> connection,
                      ResponseHead head, bool expectBody, std::vector<Interim> interims,
                      std::chrono::steady_clock::time_point deadline)
      : ReceivedResponse(std::move(interims), deadline),
        backend_(backend),
        connection_(std::move(connection)) {
    status_ = head.status;
    reason_ = std::move(head.reason);
    headers_ = std::move(head.headers);
    contentLength_ = head.contentLength;
    keepAlive_ = head.keepAlive;
    if (!expectBody) {
      finished_ = true;  // Nothing follows on the connection: it can be reused at once.
    } else if (head.chunked) {
      framing_ = Framing::kChunked;
    } else if (contentLength_ >= 0) {
      framing_ = Framing::kLength;
      remaining_ = contentLength_;
      finished_ = remaining_ == 0;
    } else {
      framing_ = Framing::kClose;
      keepAlive_ = false;  // The end of the body is the end of the connection.
    }
  }

  ~PlainOriginResponse() override {
    // A connection goes back to the pool only when its response was read to the end and
    // nothing unasked-for came after it.
    if (finished_ && !failed_ && keepAlive_ && connection_ && connection_->buffered().empty()) {
      backend_->release(std::move(connection_));
    }
  }

  std::int64_t read(char* buffer, std::size_t size) override {
    if (failed_) return -1;
    if (finished_ || size == 0) return 0;
    if (pastDeadline()) {
      return fail("the origin exchange exceeded its total timeout");
    }
    switch (framing_) {
      case Framing::kLength: {
        const auto want = static_cast<std::size_t>(
            std::min<std::int64_t>(remaining_, static_cast<std::int64_t>(size)));
        std::size_t got = 0;
        if (!take(buffer, want, &got)) return -1;
        if (got == 0) {
          return fail("origin closed the connection after " +
                      std::to_string(contentLength_ - remaining_) + " of " +
                      std::to_string(contentLength_) + " body bytes");
        }
        remaining_ -= static_cast<std::int64_t>(got);
        if (remaining_ == 0) finished_ = true;
        return static_cast<std::int64_t>(got);
      }
      case Framing::kClose: {
        std::size_t got = 0;
        if (!take(buffer, size, &got)) return -1;
        if (got == 0) finished_ = true;
        return static_cast<std::int64_t>(got);
      }
      case Framing::kChunked:
        return readChunked(buffer, size);
      case Framing::kNone:
        break;
    }
    return 0;
  }

 private:
  enum class Framing { kNone, kLength, kChunked, kClose };
  enum class Chunk { kSize, kData, kDataEnd, kTrailers };

  // Up to `size` bytes: buffered ones first, else straight from the socket. `*got` 0: the origin
  // closed the connection. False on an error (already recorded).
  bool take(char* out, std::size_t size, std::size_t* got) {
    const auto buffered = connection_->buffered();
    if (!buffered.empty()) {
      *got = std::min(size, buffered.size());
      std::memcpy(out, buffered.data(), *got);
      connection_->consume(*got);
      return true;
    }
    std::string why;
    switch (connection_->receive(out, size, got, &why)) {
      case Http1Connection::Io::kOk:
        return true;
      case Http1Connection::Io::kClosed:
        *got = 0;
        return true;
      case Http1Connection::Io::kTimeout:
        fail("timed out reading the origin body");
        return false;
      case Http1Connection::Io::kError:
        break;
    }
    fail("origin body: " + why);
    return false;
  }

  // The next framing line of a chunked body, without its line end. False on an error.
  bool line(std::string_view* out) {
    while (true) {
      const auto buffered = connection_->buffered();
      const auto lf = buffered.find('\n');
      if (lf != std::string_view::npos) {
        std::size_t end = lf;
        if (end > 0 && buffered[end - 1] == '\r') --end;
        *out = buffered.substr(0, end);
        lineLength_ = lf + 1;
        if (out->find('\r') != std::string_view::npos) {
          fail("origin body: bare CR in the chunked framing");
          return false;
        }
        return true;
      }
      if (buffered.size() > kMaxLine) {
        fail("origin body: a chunked framing line is too long");
        return false;
      }
      std::string why;
      switch (connection_->fill(kMaxLine + 1024, &why)) {
        case Http1Connection::Io::kOk:
          continue;
        case Http1Connection::Io::kClosed:
          fail("origin closed the connection inside the chunked body");
          return false;
        case Http1Connection::Io::kTimeout:
          fail("timed out reading the origin body");
          return false;
        case Http1Connection::Io::kError:
          fail("origin body: " +
               (why.empty() ? std::string("a chunked framing line is too long") : why));
          return false;
      }
    }
  }

  std::int64_t readChunked(char* buffer, std::size_t size) {
    while (true) {
      std::string_view text;
      switch (chunk_) {
        case Chunk::kSize: {
          if (!line(&text)) return -1;
          // chunk-size [ chunk-ext ] (RFC 9112 §7.1): extensions are ignored.
          std::size_t i = 0;
          std::int64_t chunkSize = 0;
          for (; i < text.size() && i < 16; ++i) {
            const int v = http::hexDigitValue(text[i]);
            if (v < 0) break;
            chunkSize = chunkSize * 16 + v;
          }
          if (i == 0 || i > 15) return fail("origin body: malformed chunk size");
          auto rest = text.substr(i);
          while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) {
            rest.remove_prefix(1);
          }
          if (!rest.empty() && rest.front() != ';') {
            return fail("origin body: malformed chunk size");
          }
          for (char ch : rest) {
            const auto c = static_cast<unsigned char>(ch);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
              return fail("origin body: control byte in a chunk extension");
            }
          }
          connection_->consume(lineLength_);
          chunkLeft_ = chunkSize;
          chunk_ = chunkSize == 0 ? Chunk::kTrailers : Chunk::kData;
          continue;
        }
        case Chunk::kData: {
          if (chunkLeft_ == 0) {
            chunk_ = Chunk::kDataEnd;
            continue;
          }
          const auto want = static_cast<std::size_t>(
              std::min<std::int64_t>(chunkLeft_, static_cast<std::int64_t>(size)));
          std::size_t got = 0;
          if (!take(buffer, want, &got)) return -1;
          if (got == 0) return fail("origin closed the connection inside the chunked body");
          chunkLeft_ -= static_cast<std::int64_t>(got);
          return static_cast<std::int64_t>(got);
        }
        case Chunk::kDataEnd:
          if (!line(&text)) return -1;
          if (!text.empty()) return fail("origin body: chunk data longer than its size");
          connection_->consume(lineLength_);
          chunk_ = Chunk::kSize;
          continue;
        case Chunk::kTrailers:
          // Trailer fields are read and dropped, up to the empty line that ends the body.
          if (!line(&text)) return -1;
          connection_->consume(lineLength_);
          if (text.empty()) {
            finished_ = true;
            return 0;
          }
          trailerBytes_ += lineLength_;
          if (trailerBytes_ > kMaxResponseHead) return fail("origin body: trailers too large");
          continue;
      }
    }
  }

  std::int64_t fail(std::string why) {
    failed_ = true;
    error_ = std::move(why);
    connection_.reset();
    return -1;
  }

  static constexpr std::size_t kMaxLine = 8192;

  HttpBackend* backend_;
  std::unique_ptr<Http1Connection> connection_;
  Framing framing_ = Framing::kNone;
  std::int64_t remaining_ = 0;  // kLength: body bytes still to come.
  Chunk chunk_ = Chunk::kSize;
  std::int64_t chunkLeft_ = 0;
  std::size_t lineLength_ = 0;  // The last framing line's length, line end included.
  std::size_t trailerBytes_ = 0;
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

struct HttpBackend::Exchange {
  std::string replay;  // The request body, when it was small enough to keep for a second try.
  bool bodyKept = false;
  bool idempotent = false;
  std::chrono::steady_clock::time_point deadline;
  // The time left before the total deadline, capped at `ms`.
  std::int64_t capped(std::int64_t ms) const {
    if (deadline == std::chrono::steady_clock::time_point::max()) return ms;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    return std::max<std::int64_t>(1, std::min<std::int64_t>(ms, left));
  }
};

std::unique_ptr<OriginResponse> HttpBackend::fetch(const OriginRequest& request,
                                                   FetchFailure* failure, std::string* error) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  // A kept-alive connection may have been closed by the origin while idle; such a failure shows
  // before any response byte. It is retried once on a new connection when that is safe: the
  // request was not sent yet, or its method is idempotent (RFC 9110 §9.2.2) and its body, if
  // any, is small enough to have been kept to send again.
  constexpr std::int64_t kReplayableBody = 64 * 1024;
  Exchange exchange;
  exchange.bodyKept =
      request.body && request.contentLength >= 0 && request.contentLength <= kReplayableBody;
  if (exchange.bodyKept) {
    exchange.replay.resize(static_cast<std::size_t>(request.contentLength));
    request.body->read(exchange.replay.data(), request.contentLength);
    if (request.body->gcount() != request.contentLength) {
      *failure = FetchFailure::kSend;
      *error = "the client's request body ended early";
      return nullptr;
    }
  }
  exchange.idempotent = request.method == "GET" || request.method == "HEAD" ||
                        request.method == "PUT" || request.method == "DELETE" ||
                        request.method == "OPTIONS" || request.method == "TRACE";
  exchange.deadline =
      options_.totalTimeoutMs > 0
          ? std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.totalTimeoutMs)
          : std::chrono::steady_clock::time_point::max();
  auto response = context_ ? fetchTls(request, exchange, failure, error)
                           : fetchPlain(request, exchange, failure, error);
  if (!response) counters_.failures.fetch_add(1, std::memory_order_relaxed);
  return response;
}

std::unique_ptr<OriginResponse> HttpBackend::fetchTls(const OriginRequest& request,
                                                      const Exchange& exchange,
                                                      FetchFailure* failure, std::string* error) {
  const std::string& replay = exchange.replay;
  const bool bodyKept = exchange.bodyKept;
  const bool idempotent = exchange.idempotent;
  const auto deadline = exchange.deadline;
  auto capped = [&](std::int64_t ms) { return exchange.capped(ms); };
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
  return nullptr;
}

std::unique_ptr<Http1Connection> HttpBackend::acquireConnection() {
  std::vector<IdleConnection> stale;  // Closed outside the lock.
  std::unique_ptr<Http1Connection> found;
  {
    std::lock_guard lock(mutex_);
    const auto oldest =
        std::chrono::steady_clock::now() - std::chrono::milliseconds(options_.maxIdleMs);
    while (!idleConnections_.empty()) {
      IdleConnection idle = std::move(idleConnections_.back());
      idleConnections_.pop_back();
      if (idle.since >= oldest) {
        found = std::move(idle.connection);
        break;
      }
      stale.push_back(std::move(idle));
    }
  }
  return found;
}

void HttpBackend::release(std::unique_ptr<Http1Connection> connection) {
  std::lock_guard lock(mutex_);
  if (static_cast<int>(idleConnections_.size()) < options_.maxIdleConnections) {
    idleConnections_.push_back({std::move(connection), std::chrono::steady_clock::now()});
  }
}

namespace {

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

const char* stageName(FetchFailure stage) {
  return stage == FetchFailure::kConnect   ? "connect"
         : stage == FetchFailure::kReceive ? "first byte"
                                           : "send";
}

// Sends a streamed request body: Content-Length bytes, or chunked when the length is unknown.
Http1Connection::Io sendBody(Http1Connection& connection, const OriginRequest& request,
                             std::string* error) {
  constexpr std::size_t kPiece = 64 * 1024;
  std::unique_ptr<char[]> piece(new char[kPiece]);
  std::istream& body = *request.body;
  if (request.contentLength >= 0) {
    std::int64_t remaining = request.contentLength;
    while (remaining > 0) {
      body.read(piece.get(),
                static_cast<std::streamsize>(std::min<std::int64_t>(remaining, kPiece)));
      const auto n = static_cast<std::size_t>(body.gcount());
      if (n == 0) {
        *error = "the client's request body ended early";
        return Http1Connection::Io::kError;
      }
      const iovec part{piece.get(), n};
      const auto io = connection.send(&part, 1, error);
      if (io != Http1Connection::Io::kOk) return io;
      remaining -= static_cast<std::int64_t>(n);
    }
    return Http1Connection::Io::kOk;
  }
  // Chunked (RFC 9112 §7.1): one chunk per piece read, then the last chunk.
  char size[32];
  static const char kCrlf[] = "\r\n";
  while (body) {
    body.read(piece.get(), static_cast<std::streamsize>(kPiece));
    const auto n = static_cast<std::size_t>(body.gcount());
    if (n == 0) break;
    const int sizeLength = std::snprintf(size, sizeof size, "%zx\r\n", n);
    const iovec parts[3] = {{size, static_cast<std::size_t>(sizeLength)},
                            {piece.get(), n},
                            {const_cast<char*>(kCrlf), 2}};
    const auto io = connection.send(parts, 3, error);
    if (io != Http1Connection::Io::kOk) return io;
  }
  static const char kLast[] = "0\r\n\r\n";
  const iovec last{const_cast<char*>(kLast), 5};
  return connection.send(&last, 1, error);
}

}  // namespace

std::unique_ptr<OriginResponse> HttpBackend::fetchPlain(const OriginRequest& request,
                                                        const Exchange& exchange,
                                                        FetchFailure* failure, std::string* error) {
  // The request head, in one piece.
  std::string head;
  head.reserve(256 + request.target.size() + request.headers.fields().size() * 48);
  head.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  bool hasHost = false;
  for (const auto& [name, value] : request.headers.fields()) {
    if (sameName(name, "Connection")) continue;
    if (request.body && (sameName(name, "Content-Length") || sameName(name, "Transfer-Encoding"))) {
      continue;
    }
    if (sameName(name, "Host")) hasHost = true;
    head.append(name).append(": ").append(value).append("\r\n");
  }
  if (!hasHost) {
    const bool v6 = options_.host.find(':') != std::string::npos;
    head.append(v6 ? "Host: [" : "Host: ").append(options_.host).append(v6 ? "]" : "");
    if (options_.port != 80) head.append(":").append(std::to_string(options_.port));
    head.append("\r\n");
  }
  if (request.body) {
    if (request.contentLength >= 0) {
      head.append("Content-Length: ").append(std::to_string(request.contentLength)).append("\r\n");
    } else {
      head.append("Transfer-Encoding: chunked\r\n");
    }
  }
  head.append("Connection: Keep-Alive\r\n\r\n");
  const bool expectBody = request.method != "HEAD";

  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    std::unique_ptr<Http1Connection> connection;
    if (attempt == 0) connection = acquireConnection();
    if (connection) {
      reused = true;
    } else {
      bool timedOut = false;
      std::string why;
      connection =
          Http1Connection::open(options_.host, options_.port,
                                exchange.capped(options_.connectTimeoutMs), &timedOut, &why);
      if (!connection) {
        *failure = FetchFailure::kConnect;
        *error = options_.name + (timedOut ? ": timed out (connect): Timeout" : ": " + why);
        break;
      }
    }
    FetchFailure stage = FetchFailure::kSend;
    bool bodyTouched = false;
    // Records a failure; true when the attempt may be made again on a new connection.
    auto failed = [&](std::string why) {
      *failure = stage;
      *error = options_.name + ": " + why;
      return reused && !bodyTouched && (exchange.idempotent || stage != FetchFailure::kReceive);
    };
    auto ioFailed = [&](Http1Connection::Io io, const std::string& why) {
      if (io == Http1Connection::Io::kTimeout) {
        return failed(std::string("timed out (") + stageName(stage) + "): Timeout");
      }
      return failed(why.empty() ? std::string("the origin closed the connection") : why);
    };

    const std::int64_t firstByte = exchange.capped(options_.firstByteTimeoutMs);
    connection->setSendTimeout(firstByte);
    connection->setReceiveTimeout(firstByte);
    std::string why;
    Http1Connection::Io io;
    if (exchange.bodyKept) {
      const iovec parts[2] = {{head.data(), head.size()},
                              {const_cast<char*>(exchange.replay.data()), exchange.replay.size()}};
      io = connection->send(parts, 2, &why);
    } else {
      const iovec part{head.data(), head.size()};
      io = connection->send(&part, 1, &why);
      if (io == Http1Connection::Io::kOk && request.body) {
        bodyTouched = true;  // Streamed: it cannot be sent again.
        io = sendBody(*connection, request, &why);
      }
    }
    if (io != Http1Connection::Io::kOk) {
      if (ioFailed(io, why)) continue;
      break;
    }

    stage = FetchFailure::kReceive;
    std::vector<Interim> interims;
    ResponseHead response;
    bool received = false;  // Any byte of a response yet.
    bool ok = false;
    bool retry = false;
    int continues = 0;
    while (true) {
      std::size_t consumed = 0;
      const HeadParse parsed =
          parseResponseHead(connection->buffered(), &response, &consumed, &why);
      if (parsed == HeadParse::kError) {
        retry = failed("invalid response head: " + why);
        break;
      }
      if (parsed == HeadParse::kIncomplete) {
        io = connection->fill(kMaxResponseHead + 1024, &why);
        if (io == Http1Connection::Io::kOk) {
          received = true;
          continue;
        }
        if (io == Http1Connection::Io::kClosed) {
          retry = failed(received ? "the origin closed the connection inside the response head"
                                  : "No message received");
        } else if (io == Http1Connection::Io::kError && why.empty()) {
          retry = failed("invalid response head: the response head is too large");
        } else {
          retry = ioFailed(io, why);
        }
        break;
      }
      connection->consume(consumed);
      // Interim responses (1xx other than 101) are not the answer (RFC 9110 §15.2): 100 Continue
      // is skipped; the others, at most a few, are kept to forward. Never stored.
      if (response.status == 100 && ++continues <= 16) continue;
      if (response.status >= 100 && response.status < 200) {
        if (response.status == 101 || response.status == 100 || interims.size() >= 8) {
          retry = failed("the origin sent no final response");
          break;
        }
        interims.push_back(
            {response.status, std::move(response.reason), std::move(response.headers)});
        continue;
      }
      ok = true;
      break;
    }
    if (!ok) {
      if (retry) continue;
      break;
    }
    const bool hasBody = expectBody && response.status != 204 && response.status != 304;
    if (hasBody && response.hasTransferEncoding) {
      if (!response.chunked || response.contentLength >= 0) {
        if (failed(response.chunked ? "invalid response head: Transfer-Encoding with Content-Length"
                                    : "invalid response head: Transfer-Encoding without chunked "
                                      "as its final coding")) {
          continue;
        }
        break;
      }
    }
    (reused ? counters_.reusedConnections : counters_.newConnections)
        .fetch_add(1, std::memory_order_relaxed);
    connection->setReceiveTimeout(exchange.capped(options_.betweenBytesTimeoutMs));
    return std::make_unique<PlainOriginResponse>(this, std::move(connection), std::move(response),
                                                 hasBody, std::move(interims), exchange.deadline);
  }
  return nullptr;
}

}  // namespace strata::edge::origin
