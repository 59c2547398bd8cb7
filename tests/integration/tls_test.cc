// TLS termination through the real binary: curl over TLS 1.3 with two SNI names (and a
// wildcard), a refused TLS 1.1 handshake, a certificate reload on SIGHUP that keeps established
// connections, and a config that names an unreadable certificate. Certificates are made at test
// time with the openssl CLI.

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "test_support.h"

namespace strata::testing {
namespace {

// Runs a shell command; returns its exit status and everything it printed (stdout and stderr).
int run(const std::string& command, std::string* output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buffer;
  output->clear();
  while (std::fgets(buffer.data(), buffer.size(), pipe)) output->append(buffer.data());
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + file("ca.key") + " -out " +
                      file("ca.pem") + " -days 2 -subj '/CN=Strata Test CA'",
                  &out),
              0)
        << out;
    makeCertificate("a", "DNS:a.test", "/CN=a.test");
    makeCertificate("b", "DNS:b.test,DNS:*.b.test", "/CN=b.test");
    origin_.on("/", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "over tls"));
    origin_.on("/page", ScriptedOrigin::fixed(200, {{"Cache-Control", "max-age=60"}}, "page"));
    std::ofstream(file("strata.yaml")) << "node:\n  name: tls-edge\n"
                                       << "listen: \"127.0.0.1:0\"\n"
                                       << "admin:\n  listen: \"127.0.0.1:0\"\n"
                                       << "tls:\n  listen: \"127.0.0.1:0\"\n  certificates:\n"
                                       << "    - cert: " << file("a.pem") << "\n"
                                       << "      key: " << file("a.key") << "\n"
                                       << "    - cert: " << file("b.pem") << "\n"
                                       << "      key: " << file("b.key") << "\n"
                                       << "cache:\n  disk:\n    path: " << file("cache") << "\n"
                                       << "pools:\n  - name: o\n    backends:\n"
                                       << "      - url: \"" << origin_.url() << "\"\n";
  }

  std::string file(const std::string& name) const { return dir_.path() + "/" + name; }

  void makeCertificate(const std::string& name, const std::string& san,
                       const std::string& subject) {
    std::string out;
    std::ofstream(file(name + ".ext")) << "subjectAltName=" << san << "\n";
    ASSERT_EQ(run("openssl req -newkey rsa:2048 -nodes -keyout " + file(name + ".key") + " -out " +
                      file(name + ".csr") + " -subj '" + subject + "'",
                  &out),
              0)
        << out;
    ASSERT_EQ(run("openssl x509 -req -in " + file(name + ".csr") + " -CA " + file("ca.pem") +
                      " -CAkey " + file("ca.key") + " -CAcreateserial -days 2 -out " +
                      file(name + ".pem") + " -extfile " + file(name + ".ext"),
                  &out),
              0)
        << out;
  }

  // curl against the HTTPS listener for `host`, trusting the test CA; verbose output.
  int curl(std::uint16_t port, const std::string& host, const std::string& extra,
           std::string* output) {
    return run("curl -sS -v --max-time 10 --cacert " + file("ca.pem") + " --resolve " + host + ":" +
                   std::to_string(port) + ":127.0.0.1 " + extra + " https://" + host + ":" +
                   std::to_string(port) + "/",
               output);
  }

  TempDir dir_;
  ScriptedOrigin origin_;
};

TEST_F(TlsTest, CurlOverTls13GetsTheCertificateForEachSniName) {
  StrataProcess node({"--config", file("strata.yaml")});
  ASSERT_TRUE(node.started()) << node.output();
  ASSERT_NE(node.tlsPort(), 0) << node.output();
  std::string out;
  ASSERT_EQ(curl(node.tlsPort(), "a.test", "--tlsv1.3", &out), 0) << out;
  EXPECT_NE(out.find("SSL connection using TLSv1.3"), std::string::npos) << out;
  EXPECT_NE(out.find("subject: CN=a.test"), std::string::npos) << out;
  EXPECT_NE(out.find("over tls"), std::string::npos) << out;
  EXPECT_NE(out.find("Cache-Status: tls-edge; fwd=uri-miss"), std::string::npos) << out;

  ASSERT_EQ(curl(node.tlsPort(), "b.test", "--tlsv1.3", &out), 0) << out;
  EXPECT_NE(out.find("subject: CN=b.test"), std::string::npos) << out;
  // The same object as over plain HTTP and the other name: one cache, keyed by Host.
  ASSERT_EQ(curl(node.tlsPort(), "x.b.test", "--tlsv1.2 --tls-max 1.2", &out), 0) << out;
  EXPECT_NE(out.find("SSL connection using TLSv1.2"), std::string::npos) << out;
  EXPECT_NE(out.find("subject: CN=b.test"), std::string::npos) << "wildcard SAN: " << out;
  // TLS 1.2 ciphers are forward-secret AEAD ones.
  EXPECT_NE(out.find("ECDHE-"), std::string::npos) << out;
}

TEST_F(TlsTest, HttpRedirectsToHttpsAndHttpsResponsesCarryHsts) {
  std::ofstream(file("strata.yaml"), std::ios::app)
      << "routes:\n  - path_prefix: \"/\"\n    pools: [o]\n    https_redirect: true\n"
      << "    hsts: {max_age: 1y, include_subdomains: true}\n";
  StrataProcess node({"--config", file("strata.yaml")});
  ASSERT_TRUE(node.started()) << node.output();
  Response plain = request(node.proxyPort(), "GET", "/page?x=1", {{"Host", "a.test"}});
  EXPECT_EQ(plain.status, 301);
  EXPECT_EQ(plain.header("Location"), "https://a.test/page?x=1");
  EXPECT_EQ(plain.header("Strict-Transport-Security"), "") << "HSTS only over https";
  std::string out;
  ASSERT_EQ(curl(node.tlsPort(), "a.test", "", &out), 0) << out;
  EXPECT_NE(out.find("Strict-Transport-Security: max-age=31536000; includeSubDomains"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("over tls"), std::string::npos) << out;
  EXPECT_EQ(origin_.count("/page"), 0) << "the redirected request never reached the origin";
}

TEST_F(TlsTest, Tls11AndOlderHandshakesAreRefused) {
  StrataProcess node({"--config", file("strata.yaml")});
  ASSERT_TRUE(node.started()) << node.output();
  std::string out;
  const int status = curl(node.tlsPort(), "a.test", "--tlsv1.1 --tls-max 1.1", &out);
  EXPECT_NE(status, 0) << out;
  EXPECT_EQ(out.find("over tls"), std::string::npos) << out;
  EXPECT_EQ(origin_.count("/"), 0);
  // The listener goes on serving modern clients.
  EXPECT_EQ(curl(node.tlsPort(), "a.test", "", &out), 0) << out;
}

TEST_F(TlsTest, SighupReloadsCertificatesAndKeepsEstablishedConnections) {
  StrataProcess node({"--config", file("strata.yaml")});
  ASSERT_TRUE(node.started()) << node.output();

  // A kept-alive HTTPS connection from before the reload.
  // Verification is curl's part of this test; this client only holds a connection open.
  auto context = Poco::Net::Context::Ptr(new Poco::Net::Context(
      Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_NONE));
  Poco::Net::HTTPSClientSession session("127.0.0.1", node.tlsPort(), context);
  session.setKeepAlive(true);
  auto get = [&session](const std::string& path) {
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("a.test");
    request.setKeepAlive(true);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    std::istream& in = session.receiveResponse(response);
    std::getline(in, body, '\0');
    return body;
  };
  const std::string body = get("/");
  EXPECT_EQ(body, "over tls");
  const auto localPort = session.socket().address().port();

  // New certificate files in place, then SIGHUP.
  makeCertificate("a", "DNS:a.test", "/CN=a.test/O=Reloaded");
  ASSERT_EQ(kill(node.pid(), SIGHUP), 0);
  ASSERT_TRUE(node.waitForOutput("TLS certificates reloaded", 10000)) << node.output();

  // The old connection still works, on the same socket.
  EXPECT_EQ(get("/page"), "page");
  EXPECT_EQ(session.socket().address().port(), localPort);
  // New handshakes get the new certificate.
  std::string out;
  ASSERT_EQ(curl(node.tlsPort(), "a.test", "", &out), 0) << out;
  EXPECT_NE(out.find("O=Reloaded"), std::string::npos) << out;
}

TEST_F(TlsTest, AReloadWithABrokenFileKeepsTheOldCertificates) {
  StrataProcess node({"--config", file("strata.yaml")});
  ASSERT_TRUE(node.started()) << node.output();
  std::ofstream(file("a.pem")) << "not a certificate\n";
  ASSERT_EQ(kill(node.pid(), SIGHUP), 0);
  ASSERT_TRUE(node.waitForOutput("TLS reload failed", 10000)) << node.output();
  std::string out;
  ASSERT_EQ(curl(node.tlsPort(), "a.test", "", &out), 0) << out;
  EXPECT_NE(out.find("subject: CN=a.test"), std::string::npos) << out;
}

TEST_F(TlsTest, AnUnreadableCertificateIsAOneLineConfigError) {
  std::ofstream(file("bad.yaml")) << "tls:\n  listen: \"127.0.0.1:0\"\n  certificates:\n"
                                  << "    - cert: " << file("missing.pem") << "\n"
                                  << "      key: " << file("a.key") << "\n"
                                  << "pools:\n  - name: o\n    backends:\n"
                                  << "      - url: \"" << origin_.url() << "\"\n";
  std::string output;
  EXPECT_NE(runStrata({"--check-config", file("bad.yaml")}, &output), 0);
  EXPECT_NE(output.find("bad.yaml:4:"), std::string::npos) << output;
  EXPECT_NE(output.find("cannot read certificate file"), std::string::npos) << output;
  // A key that does not match its certificate: refused at startup with the cause.
  std::ofstream(file("mismatch.yaml"))
      << "listen: \"127.0.0.1:0\"\nadmin:\n  listen: \"127.0.0.1:0\"\n"
      << "tls:\n  listen: \"127.0.0.1:0\"\n  certificates:\n"
      << "    - cert: " << file("a.pem") << "\n"
      << "      key: " << file("b.key") << "\n"
      << "cache:\n  disk:\n    path: " << file("cache2") << "\n"
      << "pools:\n  - name: o\n    backends:\n"
      << "      - url: \"" << origin_.url() << "\"\n";
  EXPECT_NE(runStrata({"--config", file("mismatch.yaml")}, &output), 0);
  EXPECT_NE(output.find("cannot load key"), std::string::npos) << output;
  EXPECT_NE(output.find("key values mismatch"), std::string::npos) << output;
}

}  // namespace
}  // namespace strata::testing
