// stratactl: the command-line client of a node's admin API, for CI pipelines and operators.
//   stratactl [--json] [--node URL]... stats
//   stratactl [--json] [--node URL]... purge [--soft] [--prefix P]... [--tag T]... [URL...]
//   stratactl [--json] [--node URL]... purge [--soft] --all
//   stratactl [--json] [--node URL]... purges
//   stratactl [--json] [--node URL]... backends
//   stratactl [--json] [--node URL]... backend drain|enable POOL/BACKEND
// Environment: STRATA_ADMIN_URL (default http://127.0.0.1:9090; may be a comma-separated list
// of nodes), STRATA_ADMIN_TOKEN (one token, sent to every node).
// Nodes are called one after the other in the given order; the first failure stops the run.
// Exit codes: 0 success; 1 a node answered with an error; 2 usage; 3 a node unreachable.

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
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

constexpr char kDefaultNode[] = "http://127.0.0.1:9090";

constexpr char kUsage[] =
    "usage: stratactl [--json] [--node URL]... COMMAND\n"
    "commands:\n"
    "  stats                         the node's counters and gauges\n"
    "  purge URL...                  purge these exact URLs\n"
    "  purge --prefix URL_PREFIX     purge every URL under a prefix (repeatable)\n"
    "  purge --tag TAG               purge every object carrying a tag (repeatable)\n"
    "  purge --all                   purge everything (not combinable with targets)\n"
    "        --soft                  mark stale instead of deleting\n"
    "  purges                        list recent purges, newest first\n"
    "  backends                      pools and backends: state, health, weight, load, errors\n"
    "  backend drain POOL/BACKEND    send no new requests to a backend (in-flight ones finish)\n"
    "  backend enable POOL/BACKEND   put a drained backend back into rotation\n"
    "URLs, --prefix and --tag may be combined in one purge; URLs and prefixes are absolute\n"
    "http(s) URLs.\n"
    "options:\n"
    "  --json       print the API's JSON answer (one object per line and node, with \"node\")\n"
    "  --node URL   a node's admin URL (repeatable; overrides STRATA_ADMIN_URL)\n"
    "  --help       this text\n"
    "nodes are called one after the other in the given order (purge the shield first, then\n"
    "its edges); the first failure stops the run and names the node.\n"
    "environment:\n"
    "  STRATA_ADMIN_URL    admin URL, or a comma-separated list (default http://127.0.0.1:9090)\n"
    "  STRATA_ADMIN_TOKEN  bearer token, the same for every node\n"
    "exit codes: 0 success, 1 a node answered an error, 2 usage, 3 a node unreachable\n";

struct Answer {
  int status = 0;
  std::string body;
};

// One line, bounded: error text from the network or a node must not break the one-line rule.
std::string oneLine(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  constexpr std::size_t kMax = 300;
  if (out.size() > kMax) out = out.substr(0, kMax) + "...";
  return out;
}

int usageError(const std::string& message) {
  std::cerr << "stratactl: " << oneLine(message) << " (see stratactl --help)\n";
  return kExitUsage;
}

// A node's admin URL: http://host[:port][/base]. Returns false with a reason if unusable.
bool checkNode(const std::string& node, std::string* reason) {
  try {
    Poco::URI uri(node);
    if (uri.getScheme() == "https") {
      *reason = "node " + node + ": https is not supported by this build, use http://";
      return false;
    }
    if (uri.getScheme() != "http" || uri.getHost().empty()) {
      *reason = "node " + node + ": not an http:// URL";
      return false;
    }
  } catch (const Poco::Exception& e) {
    *reason = "node " + node + ": " + e.displayText();
    return false;
  }
  return true;
}

// A purge target: an absolute http(s) URL with a host.
bool isAbsoluteHttpUrl(const std::string& text) {
  try {
    Poco::URI uri(text);
    return (uri.getScheme() == "http" || uri.getScheme() == "https") && !uri.getHost().empty();
  } catch (const Poco::Exception&) {
    return false;
  }
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

// Sends one request to `node`; on a transport failure returns 3 with the reason in `error`.
int call(const std::string& node, const std::string& method, const std::string& path,
         const std::string* jsonBody, Answer* answer, std::string* error) {
  const char* token = std::getenv("STRATA_ADMIN_TOKEN");
  try {
    Poco::URI uri(node);
    std::string base = uri.getPath();
    while (!base.empty() && base.back() == '/') base.pop_back();
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, base + path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (token && *token) request.set("Authorization", std::string("Bearer ") + token);
    request.set("Accept", "application/json");
    if (jsonBody) {
      request.setContentType("application/json");
      request.setContentLength64(static_cast<Poco::Int64>(jsonBody->size()));
      session.sendRequest(request) << *jsonBody;
    } else {
      session.sendRequest(request);
    }
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(in, body);
    answer->status = response.getStatus();
    answer->body = body.str();
  } catch (const Poco::Exception& e) {
    *error = e.displayText();
    return kExitUnreachable;
  } catch (const std::exception& e) {
    *error = e.what();
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
  return body.empty() ? "(empty answer)" : body;
}

Poco::JSON::Object::Ptr parseObject(const std::string& body) {
  Poco::JSON::Parser parser;
  auto object = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  if (!object) throw Poco::DataFormatException("not a JSON object");
  return object;
}

std::string compact(const Poco::JSON::Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

std::string text(const Poco::JSON::Object::Ptr& object, const std::string& key) {
  if (!object->has(key)) return "-";
  const Poco::Dynamic::Var value = object->get(key);
  if (value.isEmpty()) return "-";
  if (value.type() == typeid(Poco::JSON::Object::Ptr) ||
      value.type() == typeid(Poco::JSON::Array::Ptr)) {
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out);
    return out.str();
  }
  return value.toString();
}

// What to do on each node once its answer arrived with a 2xx status.
using Printer = int (*)(const std::string& node, Poco::JSON::Object::Ptr answer, bool json,
                        bool multi);

int printPurge(const std::string& node, Poco::JSON::Object::Ptr answer, bool json, bool) {
  if (json) {
    answer->set("node", node);
    std::cout << compact(answer) << "\n";
  } else {
    std::cout << node << ": purged " << text(answer, "purged") << " (id " << text(answer, "id")
              << ")\n";
  }
  return kExitOk;
}

int printPurges(const std::string& node, Poco::JSON::Object::Ptr answer, bool json, bool) {
  if (json) {
    answer->set("node", node);
    std::cout << compact(answer) << "\n";
    return kExitOk;
  }
  auto purges = answer->getArray("purges");
  if (!purges || purges->size() == 0) {
    std::cout << node << ": no purges\n";
    return kExitOk;
  }
  for (std::size_t i = 0; i < purges->size(); ++i) {
    auto entry = purges->getObject(static_cast<unsigned>(i));
    if (!entry) continue;
    std::cout << node << ": " << text(entry, "at") << " " << text(entry, "id") << " "
              << text(entry, "actor") << " " << text(entry, "client") << " "
              << oneLine(text(entry, "what")) << "\n";
  }
  return kExitOk;
}

int printBackends(const std::string& node, Poco::JSON::Object::Ptr answer, bool json, bool) {
  if (json) {
    answer->set("node", node);
    std::cout << compact(answer) << "\n";
    return kExitOk;
  }
  auto pools = answer->getArray("pools");
  if (!pools) return kExitOk;
  for (std::size_t i = 0; i < pools->size(); ++i) {
    auto pool = pools->getObject(static_cast<unsigned>(i));
    if (!pool) continue;
    std::cout << node << ": pool " << text(pool, "name") << " (" << text(pool, "policy") << ", "
              << text(pool, "healthy") << " healthy)\n";
    auto backends = pool->getArray("backends");
    if (!backends) continue;
    for (std::size_t j = 0; j < backends->size(); ++j) {
      auto b = backends->getObject(static_cast<unsigned>(j));
      if (!b) continue;
      std::cout << node << ":   " << text(b, "name") << " " << text(b, "url") << " "
                << text(b, "state") << " weight=" << text(b, "weight")
                << " in_flight=" << text(b, "in_flight") << " requests=" << text(b, "requests")
                << " errors=" << text(b, "errors") << " latency_ms=" << text(b, "latency_ms")
                << "\n";
    }
  }
  return kExitOk;
}

int printBackendAction(const std::string& node, Poco::JSON::Object::Ptr answer, bool json, bool) {
  if (json) {
    answer->set("node", node);
    std::cout << compact(answer) << "\n";
  } else {
    std::cout << node << ": " << text(answer, "pool") << "/" << text(answer, "backend") << " "
              << text(answer, "state") << "\n";
  }
  return kExitOk;
}

int printStats(const std::string& node, Poco::JSON::Object::Ptr answer, bool json, bool multi) {
  if (json) {
    if (multi) answer->set("node", node);
    std::cout << compact(answer) << "\n";
    return kExitOk;
  }
  if (multi) std::cout << node << ":\n";
  answer->stringify(std::cout, 2);
  std::cout << "\n";
  return kExitOk;
}

// Calls every node in order; stops at the first failure with a one-line error naming the node
// and the nodes that were not called.
int runOnNodes(const std::vector<std::string>& nodes, const std::string& method,
               const std::string& path, const std::string* body, bool json, Printer print) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const std::string& node = nodes[i];
    std::string notCalled;
    for (std::size_t j = i + 1; j < nodes.size(); ++j) {
      notCalled += (notCalled.empty() ? "" : ", ") + nodes[j];
    }
    const std::string stopped =
        notCalled.empty() ? "" : " (stopped; not called: " + notCalled + ")";
    Answer answer;
    if (std::string error; call(node, method, path, body, &answer, &error) != kExitOk) {
      std::cerr << "stratactl: " << node << ": unreachable: " << oneLine(error) << stopped << "\n";
      return kExitUnreachable;
    }
    if (answer.status < 200 || answer.status > 299) {
      std::string reason = errorReason(answer.body);
      if (answer.status == 401) {
        const char* token = std::getenv("STRATA_ADMIN_TOKEN");
        if (!token || !*token) reason += " (STRATA_ADMIN_TOKEN is not set)";
      }
      std::cerr << "stratactl: " << node << ": HTTP " << answer.status << ": " << oneLine(reason)
                << stopped << "\n";
      return kExitApiError;
    }
    Poco::JSON::Object::Ptr object;
    try {
      object = parseObject(answer.body);
    } catch (const Poco::Exception& e) {
      std::cerr << "stratactl: " << node << ": invalid JSON answer: " << oneLine(e.displayText())
                << stopped << "\n";
      return kExitApiError;
    }
    if (int rc = print(node, object, json, nodes.size() > 1); rc != kExitOk) return rc;
    std::cout.flush();
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  bool all = false;
  bool soft = false;
  std::vector<std::string> nodes;
  std::vector<std::string> urls;
  std::vector<std::string> prefixes;
  std::vector<std::string> tags;
  std::string command;
  std::vector<std::string> purgeFlags;   // purge-only flags seen, for commands that take none
  std::vector<std::string> backendArgs;  // backend ACTION POOL/BACKEND

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasInlineValue = false;
    if (arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        hasInlineValue = true;
      }
    }
    auto takeValue = [&](std::string* out) -> bool {
      if (hasInlineValue) {
        *out = value;
      } else if (i + 1 < argc) {
        *out = argv[++i];
      } else {
        return false;
      }
      return !out->empty();
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kExitOk;
    } else if (arg == "--json" && !hasInlineValue) {
      json = true;
    } else if (arg == "--node") {
      std::string node;
      if (!takeValue(&node)) return usageError("--node needs a URL");
      nodes.push_back(trim(node));
    } else if (arg == "--prefix" || arg == "--tag") {
      std::string v;
      if (!takeValue(&v)) return usageError(arg + " needs a value");
      (arg == "--prefix" ? prefixes : tags).push_back(v);
      purgeFlags.push_back(arg);
    } else if ((arg == "--all" || arg == "--soft") && !hasInlineValue) {
      (arg == "--all" ? all : soft) = true;
      purgeFlags.push_back(arg);
    } else if (arg.size() > 1 && arg[0] == '-') {
      return usageError("unknown option " + arg);
    } else if (command.empty()) {
      command = arg;
    } else if (command == "purge") {
      urls.push_back(arg);
    } else if (command == "backend" && backendArgs.size() < 2) {
      backendArgs.push_back(arg);
    } else {
      return usageError("unexpected argument " + arg + " for " + command);
    }
  }

  if (command.empty()) return usageError("no command");
  if (command != "stats" && command != "purge" && command != "purges" && command != "backends" &&
      command != "backend") {
    return usageError("unknown command " + command);
  }
  if (command != "purge" && !purgeFlags.empty()) {
    return usageError(purgeFlags.front() + " only applies to purge");
  }

  if (nodes.empty()) {
    const char* env = std::getenv("STRATA_ADMIN_URL");
    std::string list = env && *env ? env : kDefaultNode;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
      item = trim(item);
      if (item.empty()) return usageError("STRATA_ADMIN_URL has an empty entry: " + list);
      nodes.push_back(item);
    }
    if (nodes.empty()) nodes.push_back(kDefaultNode);
  }
  for (const auto& node : nodes) {
    if (std::string reason; !checkNode(node, &reason)) return usageError(reason);
  }

  if (command == "stats") {
    return runOnNodes(nodes, "GET", "/api/stats", nullptr, json, printStats);
  }
  if (command == "purges") {
    return runOnNodes(nodes, "GET", "/api/purges", nullptr, json, printPurges);
  }
  if (command == "backends") {
    return runOnNodes(nodes, "GET", "/api/backends", nullptr, json, printBackends);
  }
  if (command == "backend") {
    if (backendArgs.size() != 2) return usageError("usage: backend drain|enable POOL/BACKEND");
    const std::string& action = backendArgs[0];
    if (action != "drain" && action != "enable") {
      return usageError("unknown backend action " + action + " (expected drain or enable)");
    }
    const std::string& target = backendArgs[1];
    const auto slash = target.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == target.size() ||
        target.find('/', slash + 1) != std::string::npos) {
      return usageError("expected POOL/BACKEND, got " + target);
    }
    std::string encoded;
    Poco::URI::encode(target.substr(0, slash), "/?#%", encoded);
    encoded += "/";
    Poco::URI::encode(target.substr(slash + 1), "/?#%", encoded);
    const std::string empty;
    return runOnNodes(nodes, "POST", "/api/backends/" + encoded + "/" + action, &empty, json,
                      printBackendAction);
  }

  // purge
  const bool targets = !urls.empty() || !prefixes.empty() || !tags.empty();
  if (all && targets) return usageError("--all cannot be combined with URLs, --prefix or --tag");
  if (!all && !targets) return usageError("purge needs URLs, --prefix, --tag or --all");
  for (const auto& url : urls) {
    if (!isAbsoluteHttpUrl(url)) return usageError("not an absolute http(s) URL: " + url);
  }
  for (const auto& prefix : prefixes) {
    if (!isAbsoluteHttpUrl(prefix)) {
      return usageError("--prefix is not an absolute http(s) URL: " + prefix);
    }
  }

  Poco::JSON::Object body;
  auto addList = [&body](const char* key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    Poco::JSON::Array::Ptr array = new Poco::JSON::Array;
    for (const auto& v : values) array->add(v);
    body.set(key, array);
  };
  addList("urls", urls);
  addList("prefixes", prefixes);
  addList("tags", tags);
  if (all) body.set("all", true);
  if (soft) body.set("soft", true);
  std::ostringstream encoded;
  body.stringify(encoded);
  const std::string payload = encoded.str();
  return runOnNodes(nodes, "POST", "/api/purge", &payload, json, printPurge);
}
