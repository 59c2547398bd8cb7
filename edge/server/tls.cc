#include "edge/server/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace strata::edge::server {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string opensslError() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// DNS names of a certificate: subjectAltName entries, or the subject CN when there are none.
std::vector<std::string> certificateNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      if (name->type != GEN_DNS) continue;
      const auto* data = ASN1_STRING_get0_data(name->d.dNSName);
      names.push_back(
          lower(std::string(reinterpret_cast<const char*>(data),
                            static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      names.push_back(lower(cn));
    }
  }
  return names;
}

}  // namespace

struct TlsContexts::State {
  struct Entry {
    SSL_CTX* ctx = nullptr;
    std::vector<std::string> names;
  };
  std::vector<Entry> entries;  // entries[0] is the default.

  ~State() {
    for (auto& e : entries) SSL_CTX_free(e.ctx);
  }

  SSL_CTX* find(std::string name) const {
    name = lower(std::move(name));
    for (const auto& e : entries) {
      for (const auto& n : e.names) {
        if (n == name) return e.ctx;
      }
    }
    // One-label wildcards: *.example.com matches a.example.com, not a.b.example.com.
    const auto dot = name.find('.');
    if (dot != std::string::npos) {
      const std::string wildcard = "*" + name.substr(dot);
      for (const auto& e : entries) {
        for (const auto& n : e.names) {
          if (n == wildcard) return e.ctx;
        }
      }
    }
    return nullptr;
  }
};

namespace {

int onServerName(SSL* ssl, int* /*alert*/, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;  // No SNI: the default certificate.
  auto* state = static_cast<TlsContexts::State*>(arg);
  if (SSL_CTX* ctx = state->find(name)) {
    if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  }
  return SSL_TLSEXT_ERR_OK;  // Unknown names get the default certificate.
}

SSL_CTX* makeContext(const TlsCertificateFiles& files, bool tls13Only, std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    *error = opensslError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, tls13Only ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // TLS 1.2: ECDHE with AEAD only (TLS 1.3 suites are all AEAD and keep OpenSSL's defaults).
  SSL_CTX_set_cipher_list(ctx,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certFile.c_str()) != 1) {
    *error = "cannot load certificate " + files.certFile + ": " + opensslError();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    *error = "cannot load key " + files.keyFile + ": " + opensslError();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    *error = "key " + files.keyFile + " does not match certificate " + files.certFile;
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

std::shared_ptr<TlsContexts::State> build(const TlsOptions& options, std::string* error) {
  if (options.certificates.empty()) {
    *error = "no TLS certificates configured";
    return nullptr;
  }
  auto state = std::make_shared<TlsContexts::State>();
  for (const auto& files : options.certificates) {
    SSL_CTX* ctx = makeContext(files, options.tls13Only, error);
    if (!ctx) return nullptr;
    state->entries.push_back({ctx, certificateNames(SSL_CTX_get0_certificate(ctx))});
  }
  // Every context gets the callback: the handshake starts on the default one, but a context
  // switched to stays attached to the connection.
  for (auto& e : state->entries) {
    SSL_CTX_set_tlsext_servername_callback(e.ctx, onServerName);
    SSL_CTX_set_tlsext_servername_arg(e.ctx, state.get());
  }
  return state;
}

}  // namespace

std::shared_ptr<TlsContexts> TlsContexts::create(TlsOptions options, std::string* error) {
  auto state = build(options, error);
  if (!state) return nullptr;
  std::shared_ptr<TlsContexts> contexts(new TlsContexts());
  contexts->options_ = std::move(options);
  contexts->current_ = std::move(state);
  return contexts;
}

TlsContexts::~TlsContexts() = default;

bool TlsContexts::reload(std::string* error) {
  auto state = build(options_, error);
  if (!state) return false;
  std::lock_guard lock(mutex_);
  retired_.push_back(std::move(current_));
  // A handshake that started on a retired state still reads its SNI table; keep a few.
  if (retired_.size() > 4) retired_.erase(retired_.begin());
  current_ = std::move(state);
  return true;
}

SSL_CTX* TlsContexts::acceptContext() {
  std::lock_guard lock(mutex_);
  return current_->entries.front().ctx;
}

std::vector<std::vector<std::string>> TlsContexts::names() {
  std::lock_guard lock(mutex_);
  std::vector<std::vector<std::string>> out;
  for (const auto& e : current_->entries) out.push_back(e.names);
  return out;
}

}  // namespace strata::edge::server
