#include "test_support.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <sstream>
#include <thread>

namespace strata::testing {
namespace {

class OriginHandler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit OriginHandler(ScriptedOrigin& origin) : origin_(origin) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    RecordedRequest recorded;
    recorded.method = request.getMethod();
    recorded.uri = request.getURI();
    for (const auto& [name, value] : request) recorded.headers.add(name, value);
    const std::string path = recorded.uri.substr(0, recorded.uri.find('?'));
    auto handler = origin_.handlerFor(path);
    // Record before answering, so a test that sees the response also sees the request.
    origin_.record(recorded);
    if (!handler) {
      response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
      response.setContentLength(0);
      response.send();
      return;
    }
    handler(request, response);
  }

 private:
  ScriptedOrigin& origin_;
};

class OriginFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit OriginFactory(ScriptedOrigin& origin) : origin_(origin) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new OriginHandler(origin_);
  }

 private:
  ScriptedOrigin& origin_;
};

}  // namespace

ScriptedOrigin::ScriptedOrigin() {
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
  socket.listen(256);
  port_ = socket.address().port();
  auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
  params->setMaxThreads(64);
  params->setKeepAlive(true);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new OriginFactory(*this), socket, params);
  server_->start();
}

ScriptedOrigin::~ScriptedOrigin() { server_->stopAll(true); }

void ScriptedOrigin::on(const std::string& path, Handler handler) {
  std::lock_guard lock(mutex_);
  handlers_[path] = std::move(handler);
}

ScriptedOrigin::Handler ScriptedOrigin::fixed(
    int status, std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  return [status, headers, body](Poco::Net::HTTPServerRequest&,
                                 Poco::Net::HTTPServerResponse& response) {
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    for (const auto& [name, value] : headers) response.add(name, value);
    response.setContentLength64(static_cast<std::int64_t>(body.size()));
    response.send() << body;
  };
}

int ScriptedOrigin::count(const std::string& path) const {
  std::lock_guard lock(mutex_);
  int n = 0;
  for (const auto& r : requests_) {
    if (r.uri.substr(0, r.uri.find('?')) == path) ++n;
  }
  return n;
}

std::vector<RecordedRequest> ScriptedOrigin::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void ScriptedOrigin::record(RecordedRequest request) {
  std::lock_guard lock(mutex_);
  requests_.push_back(std::move(request));
}

ScriptedOrigin::Handler ScriptedOrigin::handlerFor(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = handlers_.find(path);
  return it == handlers_.end() ? Handler() : it->second;
}

Response request(std::uint16_t port, const std::string& method, const std::string& uri,
                 std::vector<std::pair<std::string, std::string>> headers,
                 const std::string& body) {
  Response result;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) req.add(name, value);
    if (!body.empty()) req.setContentLength64(static_cast<std::int64_t>(body.size()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    result.status = resp.getStatus();
    for (const auto& [name, value] : resp) result.headers.add(name, value);
    std::array<char, 65536> buffer;
    while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
      result.body.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (resp.hasContentLength() && method != "HEAD" &&
        static_cast<std::int64_t>(result.body.size()) != resp.getContentLength64()) {
      result.complete = false;
    }
  } catch (const Poco::Exception&) {
    if (result.status != 0) {
      result.complete = false;
    }
  }
  return result;
}

std::string rawExchange(std::uint16_t port, const std::string& raw, int timeoutMs) {
  std::string out;
  try {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", port));
    socket.setReceiveTimeout(Poco::Timespan(static_cast<long>(timeoutMs) * 1000));
    socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
    char buffer[65536];
    while (true) {
      int n = socket.receiveBytes(buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
  } catch (const Poco::Exception&) {
  }
  return out;
}

RawOrigin::RawOrigin(Script script) : script_(std::move(script)) {
  listenFd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listenFd_, 64);
  socklen_t len = sizeof addr;
  getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  threads_.emplace_back([this] {
    while (!stopping_) {
      pollfd p{listenFd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int fd = accept(listenFd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mutex_);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  });
}

RawOrigin::~RawOrigin() {
  stopping_ = true;
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  close(listenFd_);
}

void RawOrigin::serve(int fd) {
  std::string buffer;
  char chunk[4096];
  while (!stopping_) {
    auto end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = buffer.substr(0, end + 4);
      buffer.erase(0, end + 4);
      ++requests_;
      std::string out = script_(head);
      if (out.empty()) break;  // Close without answering.
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) break;
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  close(fd);
}

TempDir::TempDir() {
  std::string pattern = "/tmp/strata-test-XXXXXX";
  char* made = mkdtemp(pattern.data());
  path_ = made ? made : "";
}

TempDir::~TempDir() {
  try {
    if (!path_.empty()) Poco::File(path_).remove(true);
  } catch (...) {
  }
}

std::string strataBinary() {
  const char* dir = std::getenv("STRATA_BIN_DIR");
  return std::string(dir ? dir : STRATA_DEFAULT_BIN_DIR) + "/strata";
}

std::string sourceDir() {
  const char* dir = std::getenv("STRATA_SOURCE_DIR");
  return dir ? dir : STRATA_DEFAULT_SOURCE_DIR;
}

namespace {

// fork+exec of the strata binary with stdout and stderr on one pipe.
int spawn(const std::vector<std::string>& args, int* readFd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> argv;
    std::string binary = strataBinary();
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The child must not inherit the test's blocked signal mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  *readFd = fds[0];
  return pid;
}

// Reads what is available until `until` returns true, EOF, or the deadline passes.
void readUntil(int fd, std::string* out, std::chrono::milliseconds limit,
               const std::function<bool()>& until) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!until()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return;
    char buffer[4096];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return;
    out->append(buffer, static_cast<std::size_t>(n));
  }
}

std::uint16_t portAfter(const std::string& text, const std::string& marker) {
  auto at = text.find(marker);
  if (at == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::atoi(text.c_str() + at + marker.size()));
}

}  // namespace

StrataProcess::StrataProcess(std::vector<std::string> args) {
  pid_ = spawn(args, &stdoutFd_);
  if (pid_ < 0) return;
  readUntil(stdoutFd_, &output_, std::chrono::seconds(30), [this] {
    return output_.find("admin listening on port ") != std::string::npos &&
           output_.find('\n', output_.find("admin listening on port ")) != std::string::npos;
  });
  proxyPort_ = portAfter(output_, "proxy listening on port ");
  adminPort_ = portAfter(output_, "admin listening on port ");
  tlsPort_ = portAfter(output_, "https listening on port ");
}

bool StrataProcess::waitForOutput(const std::string& text, int timeoutMs) {
  const std::size_t from = output_.size();
  readUntil(stdoutFd_, &output_, std::chrono::milliseconds(timeoutMs),
            [&] { return output_.find(text, from) != std::string::npos; });
  return output_.find(text, from) != std::string::npos;
}

StrataProcess::~StrataProcess() {
  if (pid_ > 0) terminate();
  if (stdoutFd_ >= 0) close(stdoutFd_);
}

std::uint64_t StrataProcess::peakRssBytes() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

int StrataProcess::terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 600; ++i) {  // Up to 30 s.
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      readUntil(stdoutFd_, &output_, std::chrono::milliseconds(500), [] { return false; });
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

int runStrata(const std::vector<std::string>& args, std::string* output) {
  int fd = -1;
  pid_t pid = spawn(args, &fd);
  if (pid < 0) return -1;
  readUntil(fd, output, std::chrono::seconds(30), [] { return false; });
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace strata::testing
