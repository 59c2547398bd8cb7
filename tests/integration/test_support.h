#pragma once
// Integration-test support: a scripted origin server on 127.0.0.1:0, a small HTTP client, temp
// directories and a launcher for the real strata binary.

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "edge/http/header_list.h"

namespace Poco::Net {
class HTTPServer;
}

namespace strata::testing {

struct RecordedRequest {
  std::string method;
  std::string uri;
  edge::http::HeaderList headers;
  std::uint64_t bodyBytes = 0;
};

// An in-process origin whose answers are scripted per path. Records every request.
class ScriptedOrigin {
 public:
  using Handler =
      std::function<void(Poco::Net::HTTPServerRequest&, Poco::Net::HTTPServerResponse&)>;

  ScriptedOrigin();
  ~ScriptedOrigin();

  // Answers requests for `path` (the URI without query) with `handler`.
  void on(const std::string& path, Handler handler);
  // A handler answering with a fixed status, headers and body.
  static Handler fixed(int status, std::vector<std::pair<std::string, std::string>> headers,
                       std::string body);

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int count(const std::string& path) const;
  std::vector<RecordedRequest> requests() const;
  void record(RecordedRequest request);
  Handler handlerFor(const std::string& path) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Handler> handlers_;
  std::vector<RecordedRequest> requests_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
};

struct Response {
  int status = 0;
  edge::http::HeaderList headers;
  std::string body;
  bool complete = true;  // False if the connection broke before the body ended.
  std::string header(const std::string& name) const {
    auto v = headers.get(name);
    return v ? std::string(*v) : std::string();
  }
};

// One request on a new connection to 127.0.0.1:port. Never throws; status 0 on failure.
Response request(std::uint16_t port, const std::string& method, const std::string& uri,
                 std::vector<std::pair<std::string, std::string>> headers = {},
                 const std::string& body = "");

// Sends `raw` bytes as they are on a new connection and returns everything the server sends
// until it closes the connection or `timeoutMs` passes.
std::string rawExchange(std::uint16_t port, const std::string& raw, int timeoutMs = 5000);

// An origin that writes raw bytes: for each request on a kept-alive connection, `script` gets
// the request head and returns the exact bytes to send back. For what HTTP libraries will not
// produce (interim 1xx responses, odd framing).
class RawOrigin {
 public:
  using Script = std::function<std::string(const std::string& requestHead)>;
  explicit RawOrigin(Script script);
  ~RawOrigin();
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void serve(int fd);
  Script script_;
  int listenFd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
};

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The real strata binary as a child process.
class StrataProcess {
 public:
  // Starts build/bin/strata with `args`; waits (bounded) for its "listening" lines.
  explicit StrataProcess(std::vector<std::string> args);
  ~StrataProcess();
  bool started() const { return proxyPort_ != 0; }
  std::uint16_t proxyPort() const { return proxyPort_; }
  std::uint16_t adminPort() const { return adminPort_; }
  std::uint16_t tlsPort() const { return tlsPort_; }  // 0 without an HTTPS listener.
  int pid() const { return pid_; }
  // Reads what the process printed since, for up to `timeoutMs`, until `text` shows up.
  bool waitForOutput(const std::string& text, int timeoutMs);
  // Peak resident set size (VmHWM) in bytes, from /proc.
  std::uint64_t peakRssBytes() const;
  // Sends SIGTERM and waits (bounded) for the exit code; -1 if it had to be killed.
  int terminate();
  const std::string& output() const { return output_; }

 private:
  int pid_ = -1;
  int stdoutFd_ = -1;
  std::uint16_t proxyPort_ = 0;
  std::uint16_t adminPort_ = 0;
  std::uint16_t tlsPort_ = 0;
  std::string output_;
};

// Runs the strata binary to completion with `args`; returns the exit code and stderr+stdout.
int runStrata(const std::vector<std::string>& args, std::string* output);

std::string strataBinary();
std::string sourceDir();

}  // namespace strata::testing
