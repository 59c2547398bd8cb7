#include "edge/origin/http1_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace strata::edge::origin {

namespace {

constexpr std::size_t kInitialBuffer = 16 * 1024;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

using http::iequals;

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `f` on each element of a comma-separated list, trimmed; empty elements are skipped.
template <typename F>
void forEachListItem(std::string_view value, F&& f) {
  while (true) {
    const auto comma = value.find(',');
    const auto item = trimOws(value.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

// One line ending in LF (an optional CR before it is dropped). False: incomplete.
bool nextLine(std::string_view data, std::size_t* pos, std::string_view* line) {
  const auto lf = data.find('\n', *pos);
  if (lf == std::string_view::npos) return false;
  std::size_t end = lf;
  if (end > *pos && data[end - 1] == '\r') --end;
  *line = data.substr(*pos, end - *pos);
  *pos = lf + 1;
  return true;
}

HeadParse fail(std::string* error, std::string why) {
  *error = std::move(why);
  return HeadParse::kError;
}

}  // namespace

HeadParse parseResponseHead(std::string_view data, ResponseHead* head, std::size_t* consumed,
                            std::string* error) {
  // Tolerate a few empty lines before the status line, as many clients do (RFC 9112 §2.2).
  std::size_t pos = 0;
  for (int i = 0; i < 4 && pos < data.size(); ++i) {
    if (data.compare(pos, 2, "\r\n") == 0) {
      pos += 2;
    } else if (data[pos] == '\n') {
      pos += 1;
    } else {
      break;
    }
  }
  const std::string_view window = data.substr(0, std::min(data.size(), kMaxResponseHead));
  std::string_view line;
  if (!nextLine(window, &pos, &line)) {
    if (data.size() > kMaxResponseHead) return fail(error, "the response head is too large");
    return HeadParse::kIncomplete;
  }
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0 || !isDigit(line[5]) || line[6] != '.' ||
      !isDigit(line[7]) || line[8] != ' ' || !isDigit(line[9]) || !isDigit(line[10]) ||
      !isDigit(line[11]) || line[9] == '0' || (line.size() > 12 && line[12] != ' ')) {
    return fail(error, "malformed status line");
  }
  if (line[5] != '1') return fail(error, "unsupported HTTP version");
  head->http11 = line[7] != '0';
  head->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  const std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  for (char ch : reason) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(error, "control byte in the reason");
  }
  head->reason.assign(reason);
  head->headers = http::HeaderList();
  head->headers.fields().reserve(16);
  head->contentLength = -1;
  head->chunked = false;
  head->hasTransferEncoding = false;
  bool closeToken = false;
  bool keepAliveToken = false;
  bool chunkedNotLast = false;
  while (true) {
    if (!nextLine(window, &pos, &line)) {
      if (data.size() > kMaxResponseHead) return fail(error, "the response head is too large");
      return HeadParse::kIncomplete;
    }
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return fail(error, "obs-fold in the head");
    if (head->headers.fields().size() >= kMaxResponseFields) {
      return fail(error, "too many header fields");
    }
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return fail(error, "malformed field line");
    const auto name = line.substr(0, colon);
    for (char ch : name) {
      if (!http::isTokenChar(ch)) return fail(error, "invalid field name");
    }
    const auto value = trimOws(line.substr(colon + 1));
    // A CR here is a bare CR: line ends were taken off above.
    if (!http::isFieldValue(value)) return fail(error, "control byte in a field");
    if (iequals(name, "Content-Length")) {
      bool bad = false;
      forEachListItem(value, [&](std::string_view item) {
        std::int64_t n = 0;
        if (item.size() > 18) bad = true;
        for (char ch : item) {
          if (ch < '0' || ch > '9') bad = true;
          n = n * 10 + (ch - '0');
        }
        if (bad) return;
        if (head->contentLength >= 0 && head->contentLength != n) bad = true;
        head->contentLength = n;
      });
      if (bad || value.empty()) return fail(error, "invalid or conflicting Content-Length");
    } else if (iequals(name, "Transfer-Encoding")) {
      head->hasTransferEncoding = true;
      forEachListItem(value, [&](std::string_view item) {
        if (head->chunked) chunkedNotLast = true;  // chunked must be the final coding.
        head->chunked = iequals(item, "chunked");
      });
    } else if (iequals(name, "Connection")) {
      forEachListItem(value, [&](std::string_view item) {
        if (iequals(item, "close")) closeToken = true;
        if (iequals(item, "keep-alive")) keepAliveToken = true;
      });
    }
    head->headers.add(std::string(name), std::string(value));
  }
  if (chunkedNotLast) head->chunked = false;
  head->keepAlive = !closeToken && (head->http11 || keepAliveToken);
  *consumed = pos;
  return HeadParse::kDone;
}

Http1Connection::Http1Connection(int fd)
    : fd_(fd), buffer_(new char[kInitialBuffer]), capacity_(kInitialBuffer) {}

Http1Connection::~Http1Connection() { ::close(fd_); }

std::unique_ptr<Http1Connection> Http1Connection::open(const std::string& host, std::uint16_t port,
                                                       std::int64_t timeoutMs, bool* timedOut,
                                                       std::string* error) {
  *timedOut = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || !found) {
      *error = "Host not found: " + host;
      return nullptr;
    }
    // IPv4 first, as the POCO client did.
    const addrinfo* pick = found;
    for (const addrinfo* a = found; a; a = a->ai_next) {
      if (a->ai_family == AF_INET) {
        pick = a;
        break;
      }
    }
    std::memcpy(&address, pick->ai_addr, pick->ai_addrlen);
    length = pick->ai_addrlen;
    freeaddrinfo(found);
    if (address.ss_family == AF_INET) {
      v4->sin_port = htons(port);
    } else {
      v6->sin6_port = htons(port);
    }
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<Http1Connection> connection(new Http1Connection(fd));
  const std::string where = host + ":" + std::to_string(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    if (errno != EINPROGRESS) {
      *error = std::string(std::strerror(errno)) + ": " + where;
      return nullptr;
    }
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) {
        *timedOut = true;
        return nullptr;
      }
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, 1 << 30)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) {
        *error = std::string("poll: ") + std::strerror(errno);
        return nullptr;
      }
      if (ready > 0) break;
    }
    int soError = 0;
    socklen_t soLength = sizeof soError;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &soLength);
    if (soError != 0) {
      *error = std::string(std::strerror(soError)) + ": " + where;
      return nullptr;
    }
  }
  // Blocking from here on: reads and sends wait in the kernel, bounded by SO_RCVTIMEO and
  // SO_SNDTIMEO. No Nagle delay between a head and a body sent separately.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return connection;
}

namespace {

void setTimeout(int fd, int option, std::int64_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

Http1Connection::Io ioError(std::string* error) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) return Http1Connection::Io::kTimeout;
  *error = std::strerror(errno);
  return Http1Connection::Io::kError;
}

}  // namespace

void Http1Connection::setReceiveTimeout(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 1);
  if (ms == receiveTimeoutMs_) return;
  setTimeout(fd_, SO_RCVTIMEO, ms);
  receiveTimeoutMs_ = ms;
}

void Http1Connection::setSendTimeout(std::int64_t ms) {
  ms = std::max<std::int64_t>(ms, 1);
  if (ms == sendTimeoutMs_) return;
  setTimeout(fd_, SO_SNDTIMEO, ms);
  sendTimeoutMs_ = ms;
}

Http1Connection::Io Http1Connection::send(const iovec* parts, int count, std::string* error) {
  iovec local[8];
  if (count > 8) count = 8;
  std::copy(parts, parts + count, local);
  iovec* next = local;
  while (count > 0) {
    msghdr message{};
    message.msg_iov = next;
    message.msg_iovlen = static_cast<std::size_t>(count);
    const ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ioError(error);
    }
    auto sent = static_cast<std::size_t>(n);
    while (count > 0 && sent >= next->iov_len) {
      sent -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + sent;
      next->iov_len -= sent;
    }
  }
  return Io::kOk;
}

void Http1Connection::consume(std::size_t n) {
  begin_ += n;
  if (begin_ >= end_) begin_ = end_ = 0;
}

Http1Connection::Io Http1Connection::fill(std::size_t limit, std::string* error) {
  if (end_ == capacity_) {
    if (begin_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    } else if (capacity_ < limit) {
      const std::size_t grown = std::min(limit, capacity_ * 2);
      std::unique_ptr<char[]> bigger(new char[grown]);
      std::memcpy(bigger.get(), buffer_.get(), end_);
      buffer_ = std::move(bigger);
      capacity_ = grown;
    } else {
      error->clear();
      return Io::kError;
    }
  }
  while (true) {
    const ssize_t n = ::recv(fd_, buffer_.get() + end_, capacity_ - end_, 0);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return Io::kOk;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    return ioError(error);
  }
}

Http1Connection::Io Http1Connection::receive(char* out, std::size_t size, std::size_t* got,
                                             std::string* error) {
  while (true) {
    const ssize_t n = ::recv(fd_, out, size, 0);
    if (n > 0) {
      *got = static_cast<std::size_t>(n);
      return Io::kOk;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    return ioError(error);
  }
}

}  // namespace strata::edge::origin
