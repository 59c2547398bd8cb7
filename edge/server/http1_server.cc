#include "edge/server/http1_server.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <istream>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "edge/pipeline/blocking.h"

namespace strata::edge::server {
namespace {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const char* standardReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 508:
      return "Loop Detected";
    default:
      return "Unknown";
  }
}

// The current time as an IMF-fixdate, formatted once per second per thread.
std::string_view httpDate() {
  thread_local std::time_t cached = 0;
  thread_local char text[64];
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    const int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    length = n > 0 ? static_cast<std::size_t>(n) : 0;
    cached = now;
  }
  return {text, length};
}

void appendNumber(std::string& out, std::uint64_t n) {
  char digits[24];
  int i = 0;
  do {
    digits[i++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n);
  while (i) out += digits[--i];
}

enum ConnState : int { kParked = 0, kActive = 1, kClosing = 2 };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;  // Set on the HTTPS listener.
  std::string peer;
  std::vector<char> in;  // Received bytes: in[begin, end) are unread.
  std::size_t begin = 0;
  std::size_t end = 0;
  // Low two bits: ConnState. The rest counts parkings, so a reaper that read a parked state
  // cannot close the connection after it was taken and parked again (no ABA).
  std::atomic<std::uint64_t> state{kParked};
  std::atomic<std::int64_t> deadline{0};
  std::atomic<bool> timedOut{false};  // The reaper cut it (for counting).
  bool inEpoll = false;   // Added to the epoll set (a new connection is served before it is).
  bool answered = false;  // A request head has been read: idle time is keep-alive time since.
  Conn* prev = nullptr;
  Conn* next = nullptr;

  std::string_view unread() const { return {in.data() + begin, end - begin}; }
  void consume(std::size_t n) {
    begin += n;
    if (begin == end) begin = end = 0;
  }
};

}  // namespace

class Http1Server::Impl {
 public:
  Impl(Http1Options options, Handler handler, Completion completion)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        completion_(std::move(completion)) {}

  ~Impl() {
    if (started_) {
      stop();
    } else {
      if (epoll_ >= 0) ::close(epoll_);
      if (wake_ >= 0) ::close(wake_);
    }
  }

  bool bind(const std::string& host, std::uint16_t port, std::string* error) {
    try {
      listener_.bind(Poco::Net::SocketAddress(host, port), true);
      listener_.listen(1024);
      // Accepted sockets inherit TCP_NODELAY from the listener: no setsockopt per connection.
      const int one = 1;
      ::setsockopt(listener_.impl()->sockfd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (options_.deferAcceptSeconds > 0) {
        // The kernel hands a connection over once its first bytes are in (or the period ends):
        // a connection that sends nothing costs no descriptor here, and the worker that accepts
        // finds the request ready to serve.
        ::setsockopt(listener_.impl()->sockfd(), IPPROTO_TCP, TCP_DEFER_ACCEPT,
                     &options_.deferAcceptSeconds, sizeof options_.deferAcceptSeconds);
      }
      port_ = listener_.address().port();
    } catch (const Poco::Exception& e) {
      *error = e.displayText();
      return false;
    }
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0) {
      *error = std::string("epoll: ") + std::strerror(errno);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;  // Level-triggered: once written, every waiting worker sees it.
    ev.data.ptr = nullptr;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    return true;
  }

  void start() {
    slots_ = options_.eventThreads > 0
                 ? options_.eventThreads
                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    wakeBelow_ = std::max(1, slots_ / 2);
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      workers_.emplace_back([this] { workerLoop(); });
      // Named by the creator, so the name is there before start() returns (top -H, perf).
      pthread_setname_np(workers_.back().native_handle(), "strata-worker");
    }
    // Workers accept: the listener sits in the epoll set (one worker woken per readiness), so
    // a new connection costs no hand-off from an acceptor thread.
    const int listenFd = listener_.impl()->sockfd();
    ::fcntl(listenFd, F_SETFL, ::fcntl(listenFd, F_GETFL) | O_NONBLOCK);
    epoll_event lev{};
    lev.events = EPOLLIN | EPOLLEXCLUSIVE;
    lev.data.ptr = &listenTag_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, listenFd, &lev);
    reaper_ = std::thread([this] { reapLoop(); });
    pthread_setname_np(reaper_.native_handle(), "strata-reaper");
    started_ = true;
  }

  void stopAccepting() {
    if (!started_ || accepting_.exchange(false) == false) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, listener_.impl()->sockfd(), nullptr);
    // A worker may be in acceptReady(): the descriptor stays open until it is out.
    while (accepters_.load() > 0) std::this_thread::yield();
    listener_.close();
    // Idle connections are closed now; in-flight ones close after their response.
    std::lock_guard lock(registryMutex_);
    for (Conn* c = head_; c; c = c->next) {
      if (claim(*c, kClosing)) ::shutdown(c->fd, SHUT_RDWR);
    }
  }

  void stop() {
    if (!started_) return;
    stopAccepting();
    stopping_.store(true);
    {
      std::lock_guard lock(registryMutex_);
      for (Conn* c = head_; c; c = c->next) ::shutdown(c->fd, SHUT_RDWR);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
    {
      std::lock_guard lock(reapMutex_);
      reapStop_ = true;
    }
    reapWake_.notify_all();
    { std::lock_guard lock(slotMutex_); }
    slotFree_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    if (reaper_.joinable()) reaper_.join();
    std::lock_guard lock(registryMutex_);
    while (head_) {
      Conn* c = head_;
      head_ = c->next;
      ::close(c->fd);
      delete c;
    }
    ::close(epoll_);
    ::close(wake_);
    epoll_ = wake_ = -1;
    started_ = false;
  }

  std::uint16_t port() const { return port_; }
  const Counters& counters() const { return counters_; }

  // Waits until `fd` is ready for `events` or the timeout passes. False on timeout or error.
  bool waitFor(int fd, short events, std::int64_t timeoutMs) {
    pollfd p{fd, events, 0};
    for (;;) {
      const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(timeoutMs, 1 << 30)));
      if (n > 0) return true;
      if (n == 0) return false;
      if (errno != EINTR) return false;
    }
  }

  // Sends every byte of `iov` (modified), waiting at most clientTimeout for each stall.
  bool sendAll(Conn& c, iovec* iov, int count) {
    if (c.ssl) return sendAllTls(c, iov, count);
    while (count > 0) {
      const ssize_t n = ::writev(c.fd, iov, count);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          pipeline::mayBlock();  // A slow reader: let another thread take the events.
          if (stopping_.load(std::memory_order_relaxed) ||
              !waitFor(c.fd, POLLOUT, options_.clientTimeoutMs)) {
            return false;
          }
          continue;
        }
        return false;
      }
      auto left = static_cast<std::size_t>(n);
      while (count > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        ++iov;
        --count;
      }
      if (count > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return true;
  }

  bool sendString(Conn& c, std::string_view s) {
    iovec iov{const_cast<char*>(s.data()), s.size()};
    return sendAll(c, &iov, 1);
  }

  // Reads what is available into the connection's buffer (one recv). 1: got bytes; 0: the peer
  // closed; -1: nothing yet (EAGAIN); -2: error or buffer full.
  int receive(Conn& c) {
    const std::size_t limit = options_.limits.maxHeadBytes + 65536;
    if (c.begin > 0 && (c.end == c.in.size() || c.begin > c.in.size() / 2)) {
      std::memmove(c.in.data(), c.in.data() + c.begin, c.end - c.begin);
      c.end -= c.begin;
      c.begin = 0;
    }
    if (c.end == c.in.size()) {
      if (c.in.size() >= limit) return -2;
      c.in.resize(std::min(limit, std::max<std::size_t>(4096, c.in.size() * 2)));
    }
    if (c.ssl) return receiveTls(c);
    for (;;) {
      const ssize_t n = ::recv(c.fd, c.in.data() + c.end, c.in.size() - c.end, 0);
      if (n > 0) {
        c.end += static_cast<std::size_t>(n);
        return 1;
      }
      if (n == 0) return 0;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
      return -2;
    }
  }

  // receive() over TLS: decrypted bytes, with the handshake driven by the first reads.
  int receiveTls(Conn& c) {
    int got = 0;
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(c.ssl, c.in.data() + c.end, static_cast<int>(c.in.size() - c.end));
      if (n > 0) {
        c.end += static_cast<std::size_t>(n);
        got = 1;
        // Decrypted bytes OpenSSL still holds are invisible to epoll: take them now.
        if (SSL_pending(c.ssl) > 0 && c.end < c.in.size()) continue;
        return 1;
      }
      if (got) return 1;
      switch (SSL_get_error(c.ssl, n)) {
        case SSL_ERROR_WANT_READ:
          return -1;
        case SSL_ERROR_WANT_WRITE:  // A handshake flight that did not fit the send buffer.
          if (!waitFor(c.fd, POLLOUT, options_.clientTimeoutMs)) return -2;
          continue;
        case SSL_ERROR_ZERO_RETURN:
          return 0;
        default:
          if (!SSL_is_init_finished(c.ssl)) {
            counters_.tlsHandshakeFailures.fetch_add(1, std::memory_order_relaxed);
          }
          return -2;
      }
    }
  }

  // sendAll() over TLS: small pieces are joined into one record.
  bool sendAllTls(Conn& c, iovec* iov, int count) {
    thread_local std::string joined;
    std::size_t total = 0;
    for (int i = 0; i < count; ++i) total += iov[i].iov_len;
    iovec one;
    if (count > 1 && total <= 16384) {
      joined.clear();
      for (int i = 0; i < count; ++i) {
        joined.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
      }
      one = {joined.data(), joined.size()};
      iov = &one;
      count = 1;
    }
    for (int i = 0; i < count; ++i) {
      const char* data = static_cast<const char*>(iov[i].iov_base);
      std::size_t left = iov[i].iov_len;
      while (left > 0) {
        ERR_clear_error();
        const int n =
            SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(left, 1 << 20)));
        if (n > 0) {
          data += n;
          left -= static_cast<std::size_t>(n);
          continue;
        }
        const int error = SSL_get_error(c.ssl, n);
        if (error != SSL_ERROR_WANT_WRITE && error != SSL_ERROR_WANT_READ) return false;
        pipeline::mayBlock();
        if (stopping_.load(std::memory_order_relaxed) ||
            !waitFor(c.fd, error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN,
                     options_.clientTimeoutMs)) {
          return false;
        }
      }
    }
    return true;
  }

  // Blocks (up to clientTimeout) until at least one more byte is buffered. False on EOF/error.
  bool receiveBlocking(Conn& c) {
    for (;;) {
      const int r = receive(c);
      if (r == 1) return true;
      if (r != -1) return false;
      pipeline::mayBlock();
      if (stopping_.load(std::memory_order_relaxed) ||
          !waitFor(c.fd, POLLIN, options_.clientTimeoutMs)) {
        return false;
      }
    }
  }

  class Body;
  class Sink;

 private:
  // Moves a parked connection to `to`; false when it is not parked (a worker has it, or it is
  // closing).
  static bool claim(Conn& c, int to) {
    auto s = c.state.load(std::memory_order_acquire);
    if ((s & 3) != kParked) return false;
    return c.state.compare_exchange_strong(s, (s & ~std::uint64_t{3}) | to,
                                           std::memory_order_acq_rel);
  }

  // Counts a connection against its client address's cap; false when the cap is reached.
  bool admitClient(const std::string& peer) {
    if (options_.maxConnectionsPerClient == 0) return true;
    std::lock_guard lock(clientsMutex_);
    auto& n = perClient_[peer];
    if (static_cast<std::size_t>(n) >= options_.maxConnectionsPerClient) {
      if (n == 0) perClient_.erase(peer);
      return false;
    }
    ++n;
    return true;
  }

  void releaseClient(const std::string& peer) {
    if (options_.maxConnectionsPerClient == 0) return;
    std::lock_guard lock(clientsMutex_);
    auto it = perClient_.find(peer);
    if (it != perClient_.end() && --it->second <= 0) perClient_.erase(it);
  }

  void registerConn(Conn* c) {
    std::lock_guard lock(registryMutex_);
    c->next = head_;
    if (head_) head_->prev = c;
    head_ = c;
  }

  void closeConn(Conn* c) {
    {
      std::lock_guard lock(registryMutex_);
      if (c->prev) c->prev->next = c->next;
      if (c->next) c->next->prev = c->prev;
      if (head_ == c) head_ = c->next;
    }
    if (c->timedOut) counters_.timedOut.fetch_add(1, std::memory_order_relaxed);
    if (c->ssl) SSL_free(c->ssl);
    releaseClient(c->peer);
    ::close(c->fd);  // Also removes it from the epoll set.
    counters_.open.fetch_sub(1, std::memory_order_relaxed);
    delete c;
  }

  // Hands the connection back to epoll until more bytes (or a hang-up) arrive.
  void park(Conn* c) {
    if (!accepting_.load()) {
      lingerClose(c);  // Draining for shutdown: no more requests on this connection.
      return;
    }
    // A new connection has header_timeout for its first request, like a head in progress.
    const std::int64_t wait =
        c->end > c->begin || !c->answered ? options_.headerTimeoutMs : options_.keepAliveTimeoutMs;
    // A head in progress keeps the deadline it got at its first byte.
    if (c->end == c->begin || c->deadline.load(std::memory_order_relaxed) == 0) {
      c->deadline.store(nowMs() + wait, std::memory_order_relaxed);
    }
    // Every field the next owner reads is written before the release store that parks it.
    const int op = c->inEpoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    c->inEpoll = true;
    const auto s = c->state.load(std::memory_order_relaxed);
    c->state.store((((s >> 2) + 1) << 2) | kParked, std::memory_order_release);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    if (epoll_ctl(epoll_, op, c->fd, &ev) != 0 && claim(*c, kActive)) closeConn(c);
  }

  // Accepts the connections waiting on the listener (called by a worker on its readiness). With
  // deferred accept it takes one, whose request has arrived with it, and returns it, active, for
  // this worker to serve at once: no epoll registration and no second wake-up (a "Connection:
  // close" exchange never touches the epoll set); the listener, level-triggered, stays ready for
  // the next worker while more are waiting. Without, it parks up to a batch in epoll.
  Conn* acceptReady() {
    accepters_.fetch_add(1);
    Conn* first = accepting_.load() ? acceptPending() : nullptr;
    accepters_.fetch_sub(1);
    return first;
  }

  Conn* acceptPending() {
    const int fd = listener_.impl()->sockfd();
    const bool serveHere = options_.deferAcceptSeconds > 0;
    for (int i = 0; i < (serveHere ? 1 : kAcceptBatch) && accepting_.load(); ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof addr;
      const int client =
          ::accept4(fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: back off rather than spin on a listener that stays readable.
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        break;  // EAGAIN: nothing more waiting.
      }
      if (static_cast<std::size_t>(counters_.open.load(std::memory_order_relaxed)) >=
          options_.maxConnections) {
        counters_.refused.fetch_add(1, std::memory_order_relaxed);
        ::close(client);
        continue;
      }
      auto* c = new Conn;
      c->fd = client;
      char text[INET6_ADDRSTRLEN] = "";
      if (addr.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
      } else if (addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof text);
      }
      c->peer = text;
      if (!admitClient(c->peer)) {
        counters_.refused.fetch_add(1, std::memory_order_relaxed);
        ::close(client);
        delete c;
        continue;
      }
      if (options_.tls) {
        c->ssl = SSL_new(options_.tls->acceptContext());
        if (!c->ssl) {
          releaseClient(c->peer);
          ::close(client);
          delete c;
          continue;
        }
        SSL_set_fd(c->ssl, client);
        SSL_set_accept_state(c->ssl);
      }
      // A head that arrives in pieces keeps this deadline across parkings.
      c->deadline.store(nowMs() + options_.headerTimeoutMs, std::memory_order_relaxed);
      counters_.accepted.fetch_add(1, std::memory_order_relaxed);
      counters_.open.fetch_add(1, std::memory_order_relaxed);
      c->state.store(kActive, std::memory_order_relaxed);
      registerConn(c);
      if (serveHere) return c;
      park(c);  // Its request may not be in yet: epoll tells when it is.
    }
    return nullptr;
  }

  void reapLoop() {
    std::unique_lock lock(reapMutex_);
    while (!reapStop_) {
      reapWake_.wait_for(lock, std::chrono::milliseconds(250));
      if (reapStop_) break;
      const auto now = nowMs();
      // After stopAccepting, connections parked since its sweep are closed here.
      const bool draining = !accepting_.load();
      std::lock_guard registry(registryMutex_);
      for (Conn* c = head_; c; c = c->next) {
        const auto s = c->state.load(std::memory_order_acquire);
        if ((s & 3) != kParked) continue;
        if (!draining && c->deadline.load(std::memory_order_relaxed) > now) continue;
        auto expected = s;
        if (c->state.compare_exchange_strong(expected, (s & ~std::uint64_t{3}) | kClosing)) {
          if (!draining) c->timedOut = true;
          ::shutdown(c->fd, SHUT_RDWR);  // The worker that gets the hang-up closes it.
        }
      }
    }
  }

  // Event duty: at most `slots_` workers wait on epoll or run requests that have not blocked;
  // the others stand by. A request about to wait (pipeline::mayBlock) gives its slot up. A
  // standby thread is woken only when fewer than `wakeBelow_` slots are held: a thread that
  // finishes a blocked request usually takes a free slot back itself, so a request that waits
  // on the origin costs no thread hand-off while others still take events.
  bool tryTakeSlot() {
    int held = active_.load();
    while (held < slots_) {
      if (active_.compare_exchange_weak(held, held + 1)) return true;
    }
    return false;
  }

  bool acquireSlot() {
    if (tryTakeSlot()) return true;
    std::unique_lock lock(slotMutex_);
    ++standby_;
    for (;;) {
      slotFree_.wait(lock, [this] { return stopping_.load() || active_.load() < wakeBelow_; });
      if (stopping_.load()) break;
      if (tryTakeSlot()) break;
    }
    --standby_;
    return !stopping_.load();
  }

  static void releaseSlot(void* context) {
    auto* self = static_cast<Impl*>(context);
    if (self->active_.fetch_sub(1) - 1 >= self->wakeBelow_) return;
    std::lock_guard lock(self->slotMutex_);
    if (self->standby_ > 0) self->slotFree_.notify_one();
  }

  void workerLoop() {
    if (!acquireSlot()) return;
    for (;;) {
      epoll_event ev{};
      const int n = epoll_wait(epoll_, &ev, 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (n == 0) continue;
      if (ev.data.ptr == nullptr) {
        if (stopping_.load()) break;
        continue;
      }
      Conn* c = claimEvent(ev);
      if (c == nullptr) continue;
      pipeline::tlsBlockingHook = {&Impl::releaseSlot, this};
      serve(c);
      if (pipeline::tlsBlockingHook.release == nullptr) {
        // The request gave its slot up. This thread is running anyway: it serves events that are
        // ready now before it waits for a slot, which saves a sleep and a wake-up per request
        // when every request waits (misses, pass-through).
        if (!serveReadyWithoutSlot()) return;
        if (!acquireSlot()) return;  // The slot went to another thread while this one waited.
      } else {
        pipeline::tlsBlockingHook = {};
      }
    }
    releaseSlot(this);
  }

  // Serves events already pending (epoll_wait without waiting) on a thread that holds no slot,
  // so mayBlock() has nothing to give up. False when the server is stopping.
  bool serveReadyWithoutSlot() {
    for (int served = 0; served < kMaxServedWithoutSlot; ++served) {
      epoll_event ev{};
      const int n = epoll_wait(epoll_, &ev, 1, 0);
      if (n <= 0) return true;
      if (ev.data.ptr == nullptr) return !stopping_.load();
      Conn* c = claimEvent(ev);
      if (c == nullptr) continue;
      pipeline::tlsBlockingHook = {};
      serve(c);
    }
    return true;
  }

  // The connection a (non-wake) event asks to serve, claimed for this thread: for the listener's
  // event, a connection just accepted (see acceptReady). nullptr when nothing was accepted, or
  // the connection was reaped or closed for shutdown meanwhile (its hang-up arrived: it is
  // closed here).
  Conn* claimEvent(const epoll_event& ev) {
    if (ev.data.ptr == &listenTag_) return acceptReady();
    auto* c = static_cast<Conn*>(ev.data.ptr);
    if (!claim(*c, kActive)) {
      closeConn(c);
      return nullptr;
    }
    return c;
  }

  // Answers a request the parser refused, and closes.
  void refuse(Conn* c, const ParseError& error) {
    counters_.badRequests.fetch_add(1, std::memory_order_relaxed);
    std::string body = error.message + "\n";
    std::string out = "HTTP/1.1 ";
    appendNumber(out, static_cast<std::uint64_t>(error.status));
    out += ' ';
    out += error.reason;
    out += "\r\nDate: ";
    out += httpDate();
    out +=
        "\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
        "Connection: close\r\nContent-Length: ";
    appendNumber(out, body.size());
    out += "\r\n\r\n";
    out += body;
    sendString(*c, out);
    lingerClose(c);
  }

  // Closes after the response: bytes the client already sent are read first, so the kernel
  // answers the close with FIN rather than a reset that could destroy the response in flight.
  void lingerClose(Conn* c) {
    if (c->ssl && SSL_is_init_finished(c->ssl)) {
      ERR_clear_error();
      SSL_shutdown(c->ssl);  // close_notify, best effort.
    }
    char scratch[16384];
    if (c->end == c->begin) {
      // The usual "Connection: close" exchange: nothing unread, so close() sends a plain FIN.
      const ssize_t n = ::recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
        closeConn(c);
        return;
      }
    }
    ::shutdown(c->fd, SHUT_WR);
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = ::recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
      if (n <= 0) break;
    }
    closeConn(c);
  }

  void serve(Conn* c);
  bool exchange(Conn* c, RequestHead& head);

  Http1Options options_;
  Handler handler_;
  Completion completion_;
  Poco::Net::ServerSocket listener_;
  std::uint16_t port_ = 0;
  int epoll_ = -1;
  int wake_ = -1;
  std::vector<std::thread> workers_;
  char listenTag_ = 0;             // epoll data for the listener.
  std::atomic<int> accepters_{0};  // Workers inside acceptReady().
  static constexpr int kAcceptBatch = 64;
  std::thread reaper_;
  bool started_ = false;
  std::atomic<bool> accepting_{true};
  std::atomic<bool> stopping_{false};
  std::mutex clientsMutex_;
  std::unordered_map<std::string, int> perClient_;  // Open connections per client address.
  std::mutex registryMutex_;
  Conn* head_ = nullptr;
  int slots_ = 1;
  static constexpr int kMaxServedWithoutSlot = 64;  // Then the thread queues for a slot.
  int wakeBelow_ = 1;
  std::atomic<int> active_{0};
  std::mutex slotMutex_;  // Guards standby_; slotFree_ waits on it.
  std::condition_variable slotFree_;
  int standby_ = 0;
  std::mutex reapMutex_;
  std::condition_variable reapWake_;
  bool reapStop_ = false;
  Counters counters_;
};

// A request body read from the connection: Content-Length or chunked (RFC 9112 §7.1), with a
// deadline on every stall. A malformed or cut body ends the stream early and marks it failed.
class Http1Server::Impl::Body : public std::streambuf {
 public:
  Body(Impl& server, Conn& conn, bool chunked, std::int64_t length, bool expectContinue)
      : server_(server),
        conn_(conn),
        chunked_(chunked),
        remaining_(chunked ? 0 : length),
        sendContinue_(expectContinue),
        state_(chunked ? kSize : kData) {}

  bool complete() const { return done_; }
  bool failed() const { return failed_; }
  // Whether the client was asked for the body at all (100-continue not yet sent).
  bool untouched() const { return sendContinue_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    if (done_ || failed_) return traits_type::eof();
    if (sendContinue_) {
      sendContinue_ = false;
      if (!server_.sendString(conn_, "HTTP/1.1 100 Continue\r\n\r\n")) return fail();
    }
    for (;;) {
      if (state_ == kData) {
        if (remaining_ == 0) {
          if (!chunked_) {
            done_ = true;
            return traits_type::eof();
          }
          state_ = kDataEnd;
          continue;
        }
        if (conn_.end == conn_.begin && !server_.receiveBlocking(conn_)) return fail();
        const auto take =
            std::min<std::size_t>(conn_.end - conn_.begin, static_cast<std::size_t>(remaining_));
        // The get area points into the connection buffer; it is consumed here and not touched
        // again until this area is used up.
        char* p = conn_.in.data() + conn_.begin;
        piece_.assign(p, take);
        conn_.consume(take);
        remaining_ -= static_cast<std::int64_t>(take);
        setg(piece_.data(), piece_.data(), piece_.data() + piece_.size());
        return traits_type::to_int_type(*gptr());
      }
      // Chunked framing lines.
      const auto view = conn_.unread();
      const auto eol = view.find("\r\n");
      if (eol == std::string_view::npos) {
        if (view.size() > 4096 || !server_.receiveBlocking(conn_)) return fail();
        continue;
      }
      const auto line = view.substr(0, eol);
      if (state_ == kDataEnd) {
        if (!line.empty()) return fail();
        conn_.consume(2);
        state_ = kSize;
        continue;
      }
      if (state_ == kSize) {
        auto digits = line.substr(0, line.find(';'));
        if (digits.empty() || digits.size() > 15) return fail();
        std::int64_t size = 0;
        for (char ch : digits) {
          const int v = http::hexDigitValue(ch);
          if (v < 0) return fail();
          size = size * 16 + v;
        }
        for (char ch : line) {
          if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') return fail();
        }
        conn_.consume(eol + 2);
        if (size == 0) {
          state_ = kTrailers;
        } else {
          remaining_ = size;
          state_ = kData;
        }
        continue;
      }
      // Trailers: skipped up to the empty line.
      conn_.consume(eol + 2);
      if (line.empty()) {
        done_ = true;
        return traits_type::eof();
      }
      if (++trailers_ > 100) return fail();
    }
  }

 private:
  int_type fail() {
    failed_ = true;
    return traits_type::eof();
  }

  enum State { kSize, kData, kDataEnd, kTrailers };
  Impl& server_;
  Conn& conn_;
  bool chunked_;
  std::int64_t remaining_;
  bool sendContinue_;
  State state_;
  bool done_ = false;
  bool failed_ = false;
  int trailers_ = 0;
  std::string piece_;
};

class Http1Server::Impl::Sink : public pipeline::ResponseSink {
 public:
  Sink(Impl& server, Conn& conn, const RequestHead& request, bool isHead, const Body* body)
      : server_(server),
        conn_(conn),
        body_(body),
        http10_(request.http10),
        head_(isHead),
        keepAlive_(request.keepAlive) {}

  void sendInterim(int status, const std::string& reason,
                   const http::HeaderList& headers) override {
    if (http10_ || headSent_ || status < 100 || status >= 200 || status == 101) return;
    std::string out = "HTTP/1.1 ";
    appendNumber(out, static_cast<std::uint64_t>(status));
    out += ' ';
    out += reason.empty() ? standardReason(status) : reason.c_str();
    out += "\r\n";
    for (const auto& [name, value] : headers.fields()) appendField(out, name, value);
    out += "\r\n";
    if (!server_.sendString(conn_, out)) failed_ = true;
  }

  void sendHead(int status, const std::string& reason, const http::HeaderList& headers,
                std::int64_t contentLength) override {
    if (headSent_) return;
    headSent_ = true;
    status_ = status;
    contentLength_ = contentLength;
    noBody_ = head_ || status < 200 || status == 204 || status == 304;
    out_.clear();
    out_.reserve(512);
    out_ += "HTTP/1.1 ";
    appendNumber(out_, static_cast<std::uint64_t>(status));
    out_ += ' ';
    out_ += reason.empty() ? standardReason(status) : reason.c_str();
    out_ += "\r\n";
    bool hasDate = false;
    for (const auto& [name, value] : headers.fields()) {
      // The sink owns the framing and connection fields.
      if (http::iequals(name, "Content-Length") || http::iequals(name, "Transfer-Encoding") ||
          http::iequals(name, "Connection") || http::iequals(name, "Keep-Alive")) {
        continue;
      }
      if (!hasDate && http::iequals(name, "Date")) hasDate = true;
      if (name.size() == 12 && http::iequals(name, "Cache-Status")) cacheStatus_ = value;
      appendField(out_, name, value);
    }
    if (!hasDate) {
      out_ += "Date: ";
      out_ += httpDate();
      out_ += "\r\n";
    }
    if (contentLength >= 0) {
      out_ += "Content-Length: ";
      appendNumber(out_, static_cast<std::uint64_t>(contentLength));
      out_ += "\r\n";
    } else if (contentLength == -2 || noBody_) {
      // No body follows: no framing.
    } else if (http10_) {
      keepAlive_ = false;  // Close-delimited.
    } else {
      chunked_ = true;
      out_ += "Transfer-Encoding: chunked\r\n";
    }
    if (server_.stopping_.load(std::memory_order_relaxed) || !server_.accepting_.load()) {
      keepAlive_ = false;
    }
    // Answered before a body the client holds back for 100 (Continue): close rather than wait
    // for it (RFC 9110 §10.1.1).
    if (body_ && body_->untouched()) keepAlive_ = false;
    if (!keepAlive_) {
      out_ += "Connection: close\r\n";
    } else if (http10_) {
      out_ += "Connection: keep-alive\r\n";
    }
    out_ += "\r\n";
    pending_ = true;
    if (contentLength > static_cast<std::int64_t>(kLongResponseBytes) && !noBody_) {
      pipeline::mayBlock();  // See write(): a long body is transfer work.
    }
  }

  void flush() override {
    if (!pending_ || failed_) return;
    pending_ = false;
    if (!server_.sendString(conn_, out_)) failed_ = true;
  }

  bool write(const char* data, std::size_t size) override {
    const std::string_view piece(data, size);
    return write(&piece, 1);
  }

  // The pieces go out in one writev (as one chunk when chunked), after the head if it waits.
  bool write(const std::string_view* pieces, std::size_t count) override {
    if (failed_) return false;
    constexpr std::size_t kMaxPieces = 16;
    if (count > kMaxPieces) {
      return write(pieces, kMaxPieces) && write(pieces + kMaxPieces, count - kMaxPieces);
    }
    std::size_t size = 0;
    for (std::size_t i = 0; i < count; ++i) size += pieces[i].size();
    if (noBody_ || size == 0) return true;
    iovec iov[kMaxPieces + 3];
    int n = 0;
    if (pending_) iov[n++] = {out_.data(), out_.size()};
    char line[24];
    if (chunked_) {
      const int len = std::snprintf(line, sizeof line, "%zx\r\n", size);
      iov[n++] = {line, static_cast<std::size_t>(len)};
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (!pieces[i].empty()) iov[n++] = {const_cast<char*>(pieces[i].data()), pieces[i].size()};
    }
    if (chunked_) iov[n++] = {const_cast<char*>("\r\n"), 2};
    pending_ = false;
    if (!server_.sendAll(conn_, iov, n)) {
      failed_ = true;
      return false;
    }
    bytes_ += size;
    // A long body is transfer work, not event work: past this point the response goes on
    // without the event slot, so other connections are served meanwhile and several large
    // responses stream at once. Not once the last byte of a known length is out: nothing is
    // left to transfer, and giving the slot up would only cost a hand-over and a wait to get
    // it back (a 256 KiB hit did both after every response).
    if (bytes_ >= kLongResponseBytes &&
        (contentLength_ < 0 || bytes_ < static_cast<std::uint64_t>(contentLength_))) {
      pipeline::mayBlock();
    }
    return true;
  }

  void finish() override {
    if (failed_ || finished_) return;
    finished_ = true;
    iovec iov[2];
    int n = 0;
    if (pending_) iov[n++] = {out_.data(), out_.size()};
    if (chunked_) iov[n++] = {const_cast<char*>("0\r\n\r\n"), 5};
    pending_ = false;
    if (n && !server_.sendAll(conn_, iov, n)) failed_ = true;
  }

  void abort() override {
    failed_ = true;
    keepAlive_ = false;
    ::shutdown(conn_.fd, SHUT_RDWR);
  }

  bool headSent() const { return headSent_; }
  // The connection can carry another request.
  bool reusable() const { return keepAlive_ && !failed_ && finished_; }
  int status() const { return status_; }
  std::uint64_t bytes() const { return bytes_; }
  std::string_view cacheStatus() const { return cacheStatus_; }

 private:
  static void appendField(std::string& out, const std::string& name, const std::string& value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }

  Impl& server_;
  Conn& conn_;
  const Body* body_;
  bool http10_;
  bool head_;
  bool keepAlive_;
  bool headSent_ = false;
  bool noBody_ = false;
  bool chunked_ = false;
  bool pending_ = false;
  bool failed_ = false;
  bool finished_ = false;
  int status_ = 0;
  std::uint64_t bytes_ = 0;
  std::int64_t contentLength_ = -1;  // As given to sendHead (-1: not known).
  static constexpr std::uint64_t kLongResponseBytes = 256 * 1024;
  std::string out_;
  std::string cacheStatus_;
};

void Http1Server::Impl::serve(Conn* c) {
  for (;;) {
    if (c->end == c->begin) {
      const int r = receive(*c);
      if (r == -1) {
        park(c);
        return;
      }
      if (r != 1) {
        closeConn(c);
        return;
      }
    }
    RequestHead head;
    std::size_t consumed = 0;
    ParseError error;
    const auto result = parseRequestHead(c->unread(), options_.limits, &head, &consumed, &error);
    if (result == ParseResult::kError) {
      refuse(c, error);
      return;
    }
    if (result == ParseResult::kIncomplete) {
      const int r = receive(*c);
      if (r == 1) continue;
      if (r == -1) {
        park(c);
        return;
      }
      if (r == -2) {
        error = ParseError{431, "Request Header Fields Too Large", "request head too large"};
        refuse(c, error);
      } else {
        closeConn(c);
      }
      return;
    }
    c->consume(consumed);
    c->answered = true;
    c->deadline.store(0, std::memory_order_relaxed);
    if (!exchange(c, head)) {
      lingerClose(c);
      return;
    }
    if (c->end == c->begin && !(c->ssl && SSL_pending(c->ssl) > 0)) {
      park(c);  // Nothing pipelined: epoll tells when the next request arrives.
      return;
    }
  }
}

bool Http1Server::Impl::exchange(Conn* c, RequestHead& head) {
  const auto started = std::chrono::steady_clock::now();
  pipeline::ClientRequest in;
  in.method = std::move(head.method);
  in.target = std::move(head.target);
  in.host = std::move(head.host);
  in.clientAddress = c->peer;
  in.scheme = c->ssl ? "https" : "http";
  in.http10 = head.http10;
  in.headers = std::move(head.headers);
  std::optional<Body> body;
  std::optional<std::istream> bodyStream;
  if (head.chunked || head.contentLength > 0) {
    body.emplace(*this, *c, head.chunked, head.contentLength, head.expectContinue);
    bodyStream.emplace(&*body);
    in.body = &*bodyStream;
    in.contentLength = head.chunked ? -1 : head.contentLength;
  }
  Sink sink(*this, *c, head, in.method == "HEAD", body ? &*body : nullptr);
  try {
    handler_(in, sink);
  } catch (...) {
    sink.abort();
  }
  if (!sink.headSent()) {
    sink.abort();  // The handler must answer; a silent one is a cut connection, not a hang.
  }
  bool reusable = sink.reusable();
  if (body && !body->complete() && reusable) {
    {
      // A body the handler did not read must not be parsed as the next request.
      constexpr std::int64_t kMaxDrain = 1 << 20;
      char buffer[16384];
      std::int64_t drained = 0;
      while (drained < kMaxDrain && !body->complete() && !body->failed()) {
        const auto n = body->sgetn(buffer, sizeof buffer);
        if (n <= 0) break;
        drained += n;
      }
      reusable = body->complete();
    }
  }
  if (body && body->failed()) reusable = false;
  if (completion_) {
    ExchangeSummary summary;
    summary.status = sink.status();
    summary.bytes = sink.bytes();
    summary.cacheStatus = sink.cacheStatus();
    summary.durationMicros = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count();
    completion_(in, summary);
  }
  return reusable && !stopping_.load(std::memory_order_relaxed);
}

Http1Server::Http1Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Http1Server::~Http1Server() = default;

std::unique_ptr<Http1Server> Http1Server::create(const std::string& host, std::uint16_t port,
                                                 Http1Options options, Handler handler,
                                                 Completion completion, std::string* error) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler), std::move(completion));
  if (!impl->bind(host, port, error)) return nullptr;
  return std::unique_ptr<Http1Server>(new Http1Server(std::move(impl)));
}

std::uint16_t Http1Server::port() const { return impl_->port(); }
void Http1Server::start() { impl_->start(); }
void Http1Server::stopAccepting() { impl_->stopAccepting(); }
void Http1Server::stop() { impl_->stop(); }
const Http1Server::Counters& Http1Server::counters() const { return impl_->counters(); }

}  // namespace strata::edge::server
