// stratactl: the command-line client of a node's admin API, for CI pipelines and operators.
//   stratactl [--json] stats
// Environment: STRATA_ADMIN_URL (default http://127.0.0.1:9090), STRATA_ADMIN_TOKEN.
// Exit codes: 0 success; 1 the node answered with an error; 2 usage; 3 node unreachable.

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitApiError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;

constexpr char kUsage[] =
    "usage: stratactl [--json] stats\n"
    "environment: STRATA_ADMIN_URL (default http://127.0.0.1:9090), STRATA_ADMIN_TOKEN\n";

struct Answer {
  int status = 0;
  std::string body;
};

int call(const std::string& method, const std::string& path, Answer* answer) {
  const char* base = std::getenv("STRATA_ADMIN_URL");
  const char* token = std::getenv("STRATA_ADMIN_TOKEN");
  try {
    Poco::URI uri(base && *base ? base : "http://127.0.0.1:9090");
    if (uri.getScheme() != "http") {
      std::cerr << "stratactl: STRATA_ADMIN_URL must be an http:// URL\n";
      return kExitUsage;
    }
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (token && *token) request.set("Authorization", std::string("Bearer ") + token);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(in, body);
    answer->status = response.getStatus();
    answer->body = body.str();
  } catch (const Poco::Exception& e) {
    std::cerr << "stratactl: cannot reach " << (base && *base ? base : "http://127.0.0.1:9090")
              << ": " << e.displayText() << "\n";
    return kExitUnreachable;
  }
  return kExitOk;
}

// The node's {"error": "..."} reason, or the raw body.
std::string errorReason(const std::string& body) {
  try {
    Poco::JSON::Parser parser;
    auto object = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
    if (object && object->has("error")) return object->getValue<std::string>("error");
  } catch (const Poco::Exception&) {
  }
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kExitOk;
    } else {
      args.push_back(arg);
    }
  }
  if (args.size() != 1 || args[0] != "stats") {
    std::cerr << kUsage;
    return kExitUsage;
  }
  Answer answer;
  if (int rc = call("GET", "/api/stats", &answer); rc != kExitOk) return rc;
  if (answer.status != 200) {
    std::cerr << "stratactl: " << answer.status << ": " << errorReason(answer.body) << "\n";
    return kExitApiError;
  }
  if (json) {
    std::cout << answer.body << "\n";
    return kExitOk;
  }
  try {
    Poco::JSON::Parser parser;
    auto object = parser.parse(answer.body).extract<Poco::JSON::Object::Ptr>();
    object->stringify(std::cout, 2);
    std::cout << "\n";
  } catch (const Poco::Exception& e) {
    std::cerr << "stratactl: the node answered with invalid JSON: " << e.displayText() << "\n";
    return kExitApiError;
  }
  return kExitOk;
}
