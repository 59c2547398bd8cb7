#pragma once
// Node: the composition root, the one place that wires modules together. It opens the cache,
// builds the origin pools and routes, and starts the proxy and admin listeners.
// Construction order: store, origins, pipeline, listeners; stop() runs in reverse.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "edge/app/config.h"

namespace strata::edge::pipeline {
struct Stats;
}

namespace strata::edge::app {

class Node {
 public:
  // Opens the cache directory and binds the listeners (ports may be 0). Returns nullptr with a
  // one-line `error` when anything is unusable. Does not start serving yet.
  // `clock` (unix seconds) drives every caching decision; tests pass a controllable one.
  using Clock = std::function<std::int64_t()>;
  static std::unique_ptr<Node> create(const Config& config, std::string* error,
                                      Clock clock = nullptr);
  ~Node();

  void start();
  // Graceful stop: stop accepting, give in-flight requests up to the configured grace, then
  // close connections and the cache. Idempotent.
  void stop();

  // One pass of the background reclaimer now: deletes up to 5,000 disk entries that can never
  // be served again (stale, no validators, past every stale window). Returns how many.
  std::size_t reclaimExpired();

  std::uint16_t proxyPort() const;
  std::uint16_t tlsPort() const;  // 0 without `tls.listen`.
  // Re-reads the HTTPS certificates (SIGHUP). On failure the old ones stay in use.
  bool reloadTls(std::string* error);
  std::uint16_t adminPort() const;
  // The admin tokens in force (a generated one when none was configured).
  const std::string& firstAdminToken() const;
  const pipeline::Stats& stats() const;
  std::string statsJson() const;

  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  static std::string statsJsonOf(const Impl& impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata::edge::app
