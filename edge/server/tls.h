#pragma once
// TLS termination contexts for the HTTPS listener (OpenSSL): TLS 1.2 and 1.3 only, forward-
// secret AEAD ciphers, one certificate per name chosen by SNI (exact names and one-label
// wildcards from each certificate's subjectAltName, its CN when it has none), the first
// certificate for clients that send no or an unknown name. reload() re-reads every file and
// swaps the contexts atomically: connections already established keep theirs.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;

namespace strata::edge::server {

struct TlsCertificateFiles {
  std::string certFile;
  std::string keyFile;
};

struct TlsOptions {
  std::vector<TlsCertificateFiles> certificates;
  bool tls13Only = false;  // min_version 1.3.
};

class TlsContexts {
 public:
  // Loads every certificate; nullptr with `error` naming the file and the cause on failure.
  static std::shared_ptr<TlsContexts> create(TlsOptions options, std::string* error);
  ~TlsContexts();

  // Re-reads the files. On failure the current contexts stay in use and `error` says why.
  bool reload(std::string* error);

  // The context new connections start with (its SNI callback switches to the named one). The
  // returned context stays valid while a connection created from it lives (OpenSSL counts
  // references).
  SSL_CTX* acceptContext();

  // The names served, per certificate, in order (for logs and tests).
  std::vector<std::vector<std::string>> names();

  struct State;

 private:
  TlsContexts() = default;
  TlsOptions options_;
  std::mutex mutex_;
  std::shared_ptr<State> current_;
  std::vector<std::shared_ptr<State>> retired_;  // The last few, for handshakes in progress.
};

}  // namespace strata::edge::server
