// stratactl against fake admin nodes (ScriptedOrigin playing the admin API): usage errors, exit
// codes, one-line errors, output formats, the purge body, and several nodes called in order with
// a stop at the first failure.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace strata::testing {
namespace {

constexpr char kToken[] = "s3cret-token";

struct CtlRun {
  int exitCode = -1;
  std::string out;
  std::string err;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs build/bin/stratactl with `args`; STRATA_ADMIN_URL/STRATA_ADMIN_TOKEN are set to the given
// values or unset when nullopt. stdout and stderr are captured separately.
CtlRun runCtl(const std::vector<std::string>& args, std::optional<std::string> url,
              std::optional<std::string> token = std::string(kToken)) {
  TempDir dir;
  const std::string outPath = dir.path() + "/out";
  const std::string errPath = dir.path() + "/err";
  const std::string binary = STRATA_DEFAULT_BIN_DIR "/stratactl";
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(outPath.c_str(), "w", stdout) || !freopen(errPath.c_str(), "w", stderr)) {
      _exit(126);
    }
    if (url) {
      setenv("STRATA_ADMIN_URL", url->c_str(), 1);
    } else {
      unsetenv("STRATA_ADMIN_URL");
    }
    if (token) {
      setenv("STRATA_ADMIN_TOKEN", token->c_str(), 1);
    } else {
      unsetenv("STRATA_ADMIN_TOKEN");
    }
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    std::string name = binary;
    argv.push_back(name.data());
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  CtlRun run;
  if (pid < 0) return run;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = readFile(outPath);
  run.err = readFile(errPath);
  return run;
}

// Exactly one line on stderr starting with "stratactl:".
void expectOneLineError(const CtlRun& run) {
  EXPECT_EQ(run.err.rfind("stratactl: ", 0), 0u) << run.err;
  ASSERT_FALSE(run.err.empty());
  EXPECT_EQ(run.err.back(), '\n') << run.err;
  EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << run.err;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

std::vector<std::string> strings(Poco::JSON::Array::Ptr array) {
  std::vector<std::string> out;
  if (!array) return out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    out.push_back(array->getElement<std::string>(static_cast<unsigned>(i)));
  }
  return out;
}

// What every fake node saw, in arrival order across nodes.
struct Journal {
  std::mutex mutex;
  std::vector<std::string> events;
  void add(const std::string& event) {
    std::lock_guard lock(mutex);
    events.push_back(event);
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return events;
  }
};

void answer(Poco::Net::HTTPServerResponse& response, int status, const std::string& body) {
  response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  response.setContentType("application/json");
  response.setContentLength64(static_cast<std::int64_t>(body.size()));
  response.send() << body;
}

// A fake admin node: checks the bearer token like the real one (401 none, 403 wrong), records
// the purge body, then answers `status` with `body` (after `delay`).
class FakeNode {
 public:
  FakeNode(std::string name, Journal* journal, int status = 200, std::string body = "",
           std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : name_(std::move(name)) {
    if (body.empty()) body = R"({"id": "p-)" + name_ + R"(", "purged": 3})";
    origin_.on("/api/purge",
               [this, journal, status, body, delay](Poco::Net::HTTPServerRequest& request,
                                                    Poco::Net::HTTPServerResponse& response) {
                 journal->add(name_ + " start");
                 std::ostringstream received;
                 Poco::StreamCopier::copyStream(request.stream(), received);
                 {
                   std::lock_guard lock(mutex_);
                   bodies_.push_back(received.str());
                   contentTypes_.push_back(request.getContentType());
                 }
                 const std::string auth = request.get("Authorization", "");
                 if (auth.empty()) return answer(response, 401, R"({"error": "missing token"})");
                 if (auth != std::string("Bearer ") + kToken) {
                   return answer(response, 403, R"({"error": "invalid token"})");
                 }
                 std::this_thread::sleep_for(delay);
                 journal->add(name_ + " done");
                 answer(response, status, body);
               });
  }
  std::string url() const { return origin_.url(); }
  ScriptedOrigin& origin() { return origin_; }
  int purges() const { return origin_.count("/api/purge"); }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  std::vector<std::string> contentTypes() {
    std::lock_guard lock(mutex_);
    return contentTypes_;
  }

 private:
  std::string name_;
  ScriptedOrigin origin_;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> contentTypes_;
};

// A loopback URL on which nothing listens.
std::string deadUrl() {
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
  const auto port = socket.address().port();
  socket.close();
  return "http://127.0.0.1:" + std::to_string(port);
}

TEST(StratactlTest, HelpDescribesPurge) {
  CtlRun run = runCtl({"--help"}, std::nullopt);
  EXPECT_EQ(run.exitCode, 0);
  for (const char* word : {"purge URL", "--prefix", "--tag", "--all", "--soft", "purges", "--node",
                           "--json", "STRATA_ADMIN_URL", "STRATA_ADMIN_TOKEN", "exit codes"}) {
    EXPECT_NE(run.out.find(word), std::string::npos) << word;
  }
  EXPECT_EQ(run.err, "");
}

struct UsageCase {
  const char* name;
  std::vector<std::string> args;
  const char* mentions;
};

class StratactlUsageTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(StratactlUsageTest, ExitsTwoWithOneLineAndCallsNoNode) {
  Journal journal;
  FakeNode node("a", &journal);
  CtlRun run = runCtl(GetParam().args, node.url());
  EXPECT_EQ(run.exitCode, 2) << run.err;
  expectOneLineError(run);
  EXPECT_NE(run.err.find(GetParam().mentions), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(node.origin().requests().size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Usage, StratactlUsageTest,
    ::testing::Values(
        UsageCase{"NoCommand", {}, "no command"},
        UsageCase{"UnknownCommand", {"frobnicate"}, "unknown command"},
        UsageCase{"NoTargets", {"purge"}, "purge needs"},
        UsageCase{"SoftAlone", {"purge", "--soft"}, "purge needs"},
        UsageCase{"UnknownFlag", {"purge", "--bogus", "http://a/x"}, "--bogus"},
        UsageCase{"AllWithUrl", {"purge", "--all", "http://a/x"}, "--all"},
        UsageCase{"AllWithTag", {"purge", "--tag", "t", "--all"}, "--all"},
        UsageCase{"AllWithPrefix", {"purge", "--all", "--prefix", "http://a/"}, "--all"},
        UsageCase{"TagWithoutValue", {"purge", "--tag"}, "--tag"},
        UsageCase{"PrefixWithoutValue", {"purge", "--prefix"}, "--prefix"},
        UsageCase{"NodeWithoutValue", {"purge", "http://a/x", "--node"}, "--node"},
        UsageCase{"RelativeUrl", {"purge", "/images/logo.png"}, "/images/logo.png"},
        UsageCase{"RelativePrefix", {"purge", "--prefix", "/images/"}, "/images/"},
        UsageCase{"PurgeFlagOnPurges", {"purges", "--tag", "t"}, "--tag"},
        UsageCase{"ExtraArgumentToPurges", {"purges", "http://a/x"}, "unexpected"},
        UsageCase{"NodeNotHttp", {"--node", "ftp://a:9090", "purge", "http://a/x"}, "ftp://"}),
    [](const ::testing::TestParamInfo<UsageCase>& info) { return std::string(info.param.name); });

TEST(StratactlTest, EmptyEntryInNodeListIsAUsageError) {
  Journal journal;
  FakeNode node("a", &journal);
  CtlRun run = runCtl({"purge", "http://a/x"}, node.url() + ",," + node.url());
  EXPECT_EQ(run.exitCode, 2);
  expectOneLineError(run);
  EXPECT_EQ(node.purges(), 0);
}

TEST(StratactlTest, UnreachableNodeExitsThree) {
  const std::string dead = deadUrl();
  CtlRun run = runCtl({"purge", "http://site.test/a"}, dead);
  EXPECT_EQ(run.exitCode, 3);
  expectOneLineError(run);
  EXPECT_NE(run.err.find(dead), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(StratactlTest, MissingTokenIs401WithReasonAndHint) {
  Journal journal;
  FakeNode node("a", &journal);
  CtlRun run = runCtl({"purge", "http://site.test/a"}, node.url(), std::nullopt);
  EXPECT_EQ(run.exitCode, 1);
  expectOneLineError(run);
  EXPECT_NE(run.err.find(node.url()), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("401"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("missing token"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("STRATA_ADMIN_TOKEN"), std::string::npos) << run.err;
}

TEST(StratactlTest, WrongTokenIs403WithReason) {
  Journal journal;
  FakeNode node("a", &journal);
  CtlRun run = runCtl({"purge", "http://site.test/a"}, node.url(), std::string("wrong"));
  EXPECT_EQ(run.exitCode, 1);
  expectOneLineError(run);
  EXPECT_NE(run.err.find(node.url()), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("403"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("invalid token"), std::string::npos) << run.err;
}

TEST(StratactlTest, ApiErrorsCarryTheReason) {
  for (int status : {400, 413, 500}) {
    Journal journal;
    FakeNode node("a", &journal, status, R"({"error": "prefix must be absolute"})");
    CtlRun run = runCtl({"purge", "--prefix", "http://site.test/"}, node.url());
    EXPECT_EQ(run.exitCode, 1) << status;
    expectOneLineError(run);
    EXPECT_NE(run.err.find(node.url()), std::string::npos) << run.err;
    EXPECT_NE(run.err.find(std::to_string(status)), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("prefix must be absolute"), std::string::npos) << run.err;
  }
}

TEST(StratactlTest, NonJsonMultiLineErrorStaysOneLine) {
  Journal journal;
  FakeNode node("a", &journal, 502, "<html>\n<body>bad gateway</body>\n</html>\n");
  CtlRun run = runCtl({"purge", "http://site.test/a"}, node.url());
  EXPECT_EQ(run.exitCode, 1);
  expectOneLineError(run);
  EXPECT_NE(run.err.find("bad gateway"), std::string::npos) << run.err;
}

TEST(StratactlTest, InvalidJsonOn200IsAnApiError) {
  Journal journal;
  FakeNode node("a", &journal, 200, "purged everything\n");
  CtlRun run = runCtl({"purge", "http://site.test/a"}, node.url());
  EXPECT_EQ(run.exitCode, 1);
  expectOneLineError(run);
}

TEST(StratactlTest, PurgeOneNodePrintsOneLine) {
  Journal journal;
  FakeNode node("a", &journal, 200, R"({"id": "p-42", "purged": 7})");
  CtlRun run = runCtl({"purge", "http://site.test/a"}, node.url());
  EXPECT_EQ(run.exitCode, 0) << run.err;
  EXPECT_EQ(run.out, node.url() + ": purged 7 (id p-42)\n");
  EXPECT_EQ(run.err, "");
  ASSERT_EQ(node.purges(), 1);
  auto requests = node.origin().requests();
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].uri, "/api/purge");
}

TEST(StratactlTest, BodyForCombinedTargets) {
  Journal journal;
  FakeNode node("a", &journal);
  CtlRun run = runCtl(
      {"purge", "http://site.test/a?x=1", "--prefix", "http://site.test/img/", "--tag",
       "release-42", "https://site.test/b", "--tag", "home", "--prefix", "https://cdn.test/"},
      node.url());
  ASSERT_EQ(run.exitCode, 0) << run.err;
  ASSERT_EQ(node.bodies().size(), 1u);
  auto body = parse(node.bodies()[0]);
  std::vector<std::string> names;
  body->getNames(names);
  EXPECT_EQ(names, (std::vector<std::string>{"prefixes", "tags", "urls"}));
  EXPECT_EQ(strings(body->getArray("urls")),
            (std::vector<std::string>{"http://site.test/a?x=1", "https://site.test/b"}));
  EXPECT_EQ(strings(body->getArray("prefixes")),
            (std::vector<std::string>{"http://site.test/img/", "https://cdn.test/"}));
  EXPECT_EQ(strings(body->getArray("tags")), (std::vector<std::string>{"release-42", "home"}));
  EXPECT_EQ(node.contentTypes()[0], "application/json");
}

TEST(StratactlTest, BodyForEachKindAlone) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> keys;
  };
  const std::vector<Case> cases = {
      {{"purge", "http://site.test/a"}, {"urls"}},
      {{"purge", "--prefix", "http://site.test/"}, {"prefixes"}},
      {{"purge", "--tag=t1"}, {"tags"}},
      {{"purge", "--soft", "--tag", "t1"}, {"soft", "tags"}},
      {{"purge", "--all"}, {"all"}},
      {{"purge", "--all", "--soft"}, {"all", "soft"}},
  };
  for (const auto& c : cases) {
    Journal journal;
    FakeNode node("a", &journal);
    CtlRun run = runCtl(c.args, node.url());
    ASSERT_EQ(run.exitCode, 0) << run.err;
    ASSERT_EQ(node.bodies().size(), 1u);
    auto body = parse(node.bodies()[0]);
    std::vector<std::string> names;
    body->getNames(names);
    EXPECT_EQ(names, c.keys) << node.bodies()[0];
    if (body->has("all")) {
      EXPECT_TRUE(body->getValue<bool>("all"));
    }
    if (body->has("soft")) {
      EXPECT_TRUE(body->getValue<bool>("soft"));
    }
  }
}

TEST(StratactlTest, BodyEscapesStrings) {
  Journal journal;
  FakeNode node("a", &journal);
  const std::string tag = "q\"uote\\back\tslash/\xc3\xa9\x01";
  const std::string url = "http://site.test/a\"b";
  CtlRun run = runCtl({"purge", "--tag", tag, url}, node.url());
  ASSERT_EQ(run.exitCode, 0) << run.err;
  ASSERT_EQ(node.bodies().size(), 1u);
  auto body = parse(node.bodies()[0]);
  EXPECT_EQ(strings(body->getArray("tags")), std::vector<std::string>{tag});
  EXPECT_EQ(strings(body->getArray("urls")), std::vector<std::string>{url});
}

TEST(StratactlTest, JsonOutputParsesAndNamesTheNode) {
  Journal journal;
  FakeNode a("a", &journal, 200, R"({"id": "p-1", "purged": 2})");
  FakeNode b("b", &journal, 200, R"({"id": "p-2", "purged": 5})");
  CtlRun run = runCtl({"--json", "purge", "--tag", "t"}, a.url() + "," + b.url());
  ASSERT_EQ(run.exitCode, 0) << run.err;
  auto out = lines(run.out);
  ASSERT_EQ(out.size(), 2u) << run.out;
  auto first = parse(out[0]);
  auto second = parse(out[1]);
  EXPECT_EQ(first->getValue<std::string>("node"), a.url());
  EXPECT_EQ(first->getValue<std::string>("id"), "p-1");
  EXPECT_EQ(first->getValue<int>("purged"), 2);
  EXPECT_EQ(second->getValue<std::string>("node"), b.url());
  EXPECT_EQ(second->getValue<std::string>("id"), "p-2");
  EXPECT_EQ(second->getValue<int>("purged"), 5);
}

TEST(StratactlTest, NodesAreCalledInOrderOneAfterTheOther) {
  Journal journal;
  // The first node is slow: the second must still only be called after it answered.
  FakeNode shield("shield", &journal, 200, "", std::chrono::milliseconds(300));
  FakeNode edge1("edge1", &journal);
  FakeNode edge2("edge2", &journal);
  CtlRun run = runCtl({"purge", "http://site.test/a"},
                      shield.url() + ", " + edge1.url() + "," + edge2.url());
  ASSERT_EQ(run.exitCode, 0) << run.err;
  EXPECT_EQ(journal.get(), (std::vector<std::string>{"shield start", "shield done", "edge1 start",
                                                     "edge1 done", "edge2 start", "edge2 done"}));
  EXPECT_EQ(run.out, shield.url() + ": purged 3 (id p-shield)\n" + edge1.url() +
                         ": purged 3 (id p-edge1)\n" + edge2.url() + ": purged 3 (id p-edge2)\n");
}

TEST(StratactlTest, NodeFlagsOverrideEnvironmentAndKeepTheirOrder) {
  Journal journal;
  FakeNode a("a", &journal);
  FakeNode b("b", &journal);
  FakeNode unused("unused", &journal);
  CtlRun run =
      runCtl({"--node", b.url(), "purge", "--node", a.url(), "http://site.test/a"}, unused.url());
  ASSERT_EQ(run.exitCode, 0) << run.err;
  EXPECT_EQ(journal.get(), (std::vector<std::string>{"b start", "b done", "a start", "a done"}));
  EXPECT_EQ(unused.purges(), 0);
}

TEST(StratactlTest, StopsAtTheFirstApiFailure) {
  Journal journal;
  FakeNode shield("shield", &journal);
  FakeNode edge1("edge1", &journal, 400, R"({"error": "bad request"})");
  FakeNode edge2("edge2", &journal);
  CtlRun run =
      runCtl({"purge", "http://site.test/a"}, shield.url() + "," + edge1.url() + "," + edge2.url());
  EXPECT_EQ(run.exitCode, 1);
  expectOneLineError(run);
  EXPECT_EQ(run.err.find("stratactl: " + edge1.url() + ": "), 0u) << run.err;
  EXPECT_NE(run.err.find("bad request"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("not called: " + edge2.url()), std::string::npos) << run.err;
  EXPECT_EQ(run.out, shield.url() + ": purged 3 (id p-shield)\n");
  EXPECT_EQ(shield.purges(), 1);
  EXPECT_EQ(edge1.purges(), 1);
  EXPECT_EQ(edge2.purges(), 0);
}

TEST(StratactlTest, FailingShieldMeansNoEdgeIsPurged) {
  Journal journal;
  FakeNode shield("shield", &journal);
  FakeNode edge("edge", &journal);
  CtlRun run = runCtl({"purge", "--tag", "t"}, shield.url() + "," + edge.url(), std::string("bad"));
  EXPECT_EQ(run.exitCode, 1);
  expectOneLineError(run);
  EXPECT_NE(run.err.find(shield.url()), std::string::npos) << run.err;
  EXPECT_EQ(edge.purges(), 0);
  EXPECT_EQ(run.out, "");
}

TEST(StratactlTest, StopsAtAnUnreachableNode) {
  Journal journal;
  FakeNode shield("shield", &journal);
  FakeNode edge2("edge2", &journal);
  const std::string dead = deadUrl();
  CtlRun run = runCtl({"purge", "--all"}, shield.url() + "," + dead + "," + edge2.url());
  EXPECT_EQ(run.exitCode, 3);
  expectOneLineError(run);
  EXPECT_EQ(run.err.find("stratactl: " + dead + ": "), 0u) << run.err;
  EXPECT_EQ(shield.purges(), 1);
  EXPECT_EQ(edge2.purges(), 0);
}

TEST(StratactlTest, PurgesListsRecentPurges) {
  Journal journal;
  FakeNode node("a", &journal);
  const std::string list =
      R"({"purges": [{"at": "2024-05-01T10:00:02Z", "actor": "ci", "client": "10.0.0.5",)"
      R"( "what": "tag release-42", "id": "p-2"}, {"at": "2024-05-01T10:00:01Z",)"
      R"( "actor": "ops", "client": "10.0.0.6", "what": "all", "id": "p-1"}]})";
  node.origin().on("/api/purges", [&](Poco::Net::HTTPServerRequest& request,
                                      Poco::Net::HTTPServerResponse& response) {
    if (request.get("Authorization", "") != std::string("Bearer ") + kToken) {
      return answer(response, 403, R"({"error": "invalid token"})");
    }
    answer(response, 200, list);
  });
  CtlRun run = runCtl({"purges"}, node.url());
  ASSERT_EQ(run.exitCode, 0) << run.err;
  auto out = lines(run.out);
  ASSERT_EQ(out.size(), 2u) << run.out;
  EXPECT_EQ(out[0], node.url() + ": 2024-05-01T10:00:02Z p-2 ci 10.0.0.5 tag release-42");
  EXPECT_EQ(out[1], node.url() + ": 2024-05-01T10:00:01Z p-1 ops 10.0.0.6 all");

  CtlRun json = runCtl({"purges", "--json"}, node.url());
  ASSERT_EQ(json.exitCode, 0) << json.err;
  auto jsonLines = lines(json.out);
  ASSERT_EQ(jsonLines.size(), 1u);
  auto object = parse(jsonLines[0]);
  EXPECT_EQ(object->getValue<std::string>("node"), node.url());
  EXPECT_EQ(object->getArray("purges")->size(), 2u);

  CtlRun denied = runCtl({"purges"}, node.url(), std::string("wrong"));
  EXPECT_EQ(denied.exitCode, 1);
  expectOneLineError(denied);
}

}  // namespace
}  // namespace strata::testing
