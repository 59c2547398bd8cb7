#pragma once
// The lean HTTP/1.1 client under HttpBackend for plain http:// origins: a blocking TCP
// connection with its own receive buffer, and a strict response-head parser. No iostreams: a
// request head leaves in one send, a response is read in large pieces and parsed in place.
//
// The parser refuses what could desynchronise a kept-alive connection or split a response:
// line endings with a bare CR, obs-fold, field names that are not tokens (or have whitespace
// before the colon), control bytes in values, malformed or conflicting Content-Lengths,
// Transfer-Encoding whose final coding is not chunked or that comes with a Content-Length, heads
// over kMaxResponseHead bytes or with more than kMaxResponseFields fields.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edge/http/header_list.h"

namespace strata::edge::origin {

constexpr std::size_t kMaxResponseHead = 64 * 1024;
constexpr std::size_t kMaxResponseFields = 200;

struct ResponseHead {
  int status = 0;
  std::string reason;
  bool http11 = true;  // HTTP/1.1 or later; false for HTTP/1.0.
  http::HeaderList headers;
  std::int64_t contentLength = -1;  // Content-Length, or -1 without one.
  bool chunked = false;             // Transfer-Encoding with chunked as the final coding.
  bool hasTransferEncoding = false;
  bool keepAlive = true;  // The connection may carry another request after this response.
};

enum class HeadParse { kIncomplete, kDone, kError };

// Parses the response head at the start of `data`. kDone: `*consumed` is its length through the
// empty line. kError: `*error` says why. Framing checks that depend on whether a body follows
// (Transfer-Encoding codings, Transfer-Encoding with Content-Length) are left to the caller;
// an invalid Content-Length value is always an error.
HeadParse parseResponseHead(std::string_view data, ResponseHead* head, std::size_t* consumed,
                            std::string* error);

// One TCP connection to an origin. Not thread-safe: used by one request at a time.
class Http1Connection {
 public:
  enum class Io { kOk, kClosed, kTimeout, kError };

  ~Http1Connection();
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  // Connects with a deadline of `timeoutMs`. nullptr on failure: `*timedOut` says whether the
  // deadline passed, `*error` what went wrong otherwise.
  static std::unique_ptr<Http1Connection> open(const std::string& host, std::uint16_t port,
                                               std::int64_t timeoutMs, bool* timedOut,
                                               std::string* error);

  // Per-read and per-send limits (SO_RCVTIMEO, SO_SNDTIMEO); set only when they change.
  void setReceiveTimeout(std::int64_t ms);
  void setSendTimeout(std::int64_t ms);

  // Sends every byte of the parts (MSG_NOSIGNAL). `*error` is set on kError.
  Io send(const iovec* parts, int count, std::string* error);

  // The received bytes not consumed yet.
  std::string_view buffered() const { return {buffer_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n);
  // Receives more bytes into the buffer (kOk: at least one), growing it up to `limit` bytes.
  // kError with an empty `*error` means the buffer is full at `limit`.
  Io fill(std::size_t limit, std::string* error);
  // Receives straight into `out`; only with nothing buffered. kOk: `*got` >= 1.
  Io receive(char* out, std::size_t size, std::size_t* got, std::string* error);

 private:
  explicit Http1Connection(int fd);

  int fd_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::int64_t receiveTimeoutMs_ = -1;
  std::int64_t sendTimeoutMs_ = -1;
};

}  // namespace strata::edge::origin
