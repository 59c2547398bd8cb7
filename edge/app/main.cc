// strata: the caching edge node. A POCO ServerApplication: options, config, graceful shutdown.

#include <Poco/File.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionException.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <iostream>

#include "edge/app/config.h"
#include "edge/app/logging.h"
#include "edge/app/node.h"

namespace strata::edge::app {
namespace {

using Poco::Util::Option;
using Poco::Util::OptionCallback;

class StrataApplication : public Poco::Util::ServerApplication {
 protected:
  void defineOptions(Poco::Util::OptionSet& options) override {
    ServerApplication::defineOptions(options);
    auto add = [&](const char* name, const char* help, const char* arg,
                   void (StrataApplication::*handler)(const std::string&, const std::string&)) {
      Option option(name, "", help);
      option.repeatable(false);
      if (arg) option.argument(arg);
      option.callback(OptionCallback<StrataApplication>(this, handler));
      options.addOption(option);
    };
    add("help", "Show this help and exit.", nullptr, &StrataApplication::onHelp);
    add("config", "Config file (default: config/strata.yaml).", "FILE",
        &StrataApplication::onValue);
    add("check-config", "Validate FILE, print each problem with its location, exit 0 or 1.", "FILE",
        &StrataApplication::onValue);
    add("listen", "Proxy listen address HOST:PORT (overrides `listen`).", "HOST:PORT",
        &StrataApplication::onValue);
    add("admin-listen", "Admin listen address HOST:PORT (overrides `admin.listen`).", "HOST:PORT",
        &StrataApplication::onValue);
    add("origin", "Front one origin URL (replaces `pools` and `routes`).", "URL",
        &StrataApplication::onValue);
    add("cache-dir", "Cache directory (overrides `cache.disk.path`).", "DIR",
        &StrataApplication::onValue);
    add("memory", "Memory tier size, e.g. 256MiB (overrides `cache.memory`).", "SIZE",
        &StrataApplication::onValue);
    add("disk", "Disk tier size, e.g. 10GiB (overrides `cache.disk.size`).", "SIZE",
        &StrataApplication::onValue);
    add("name", "Node name for Via and Cache-Status (overrides `node.name`).", "NAME",
        &StrataApplication::onValue);
  }

  void onHelp(const std::string&, const std::string&) {
    Poco::Util::HelpFormatter help(options());
    help.setCommand(commandName());
    help.setUsage("[OPTIONS]");
    help.setHeader("Strata: a caching edge node (reverse proxy with a two-tier cache).");
    help.format(std::cout);
    exitEarly_ = EXIT_OK;
    stopOptionsProcessing();
  }

  void onValue(const std::string& name, const std::string& value) {
    if (name == "config") {
      configFile_ = value;
      configGiven_ = true;
    }
    if (name == "check-config") checkConfig_ = value;
    if (name == "listen") overrides_.listen = value;
    if (name == "admin-listen") overrides_.adminListen = value;
    if (name == "origin") overrides_.origin = value;
    if (name == "cache-dir") overrides_.cacheDir = value;
    if (name == "memory") overrides_.memory = value;
    if (name == "disk") overrides_.disk = value;
    if (name == "name") overrides_.name = value;
  }

  int main(const std::vector<std::string>& args) override {
    if (exitEarly_) return *exitEarly_;
    if (!args.empty()) {
      std::cerr << "strata: unexpected argument '" << args.front() << "' (see --help)\n";
      return EXIT_USAGE;
    }
    if (!checkConfig_.empty()) {
      LoadResult result = loadConfigFile(checkConfig_);
      for (const auto& e : result.errors) std::cerr << e.toString() << "\n";
      if (!result.ok()) return 1;
      std::cout << checkConfig_ << ": ok\n";
      return EXIT_OK;
    }
    // Without --config, a missing default file means built-in defaults (useful with --origin).
    LoadResult result = !configGiven_ && !Poco::File(configFile_).exists()
                            ? loadConfigText("{}", "(built-in defaults)")
                            : loadConfigFile(configFile_);
    applyOverrides(result, overrides_);
    if (!result.ok()) {
      for (const auto& e : result.errors) std::cerr << "strata: " << e.toString() << "\n";
      return EXIT_CONFIG;
    }
    std::string error;
    if (!setUpProcessLogging(result.config, &error)) {
      std::cerr << "strata: " << error << "\n";
      return EXIT_CANTCREAT;
    }
    auto node = Node::create(result.config, &error);
    if (!node) {
      std::cerr << "strata: " << error << "\n";
      return EXIT_CANTCREAT;
    }
    node->start();
    std::cout << "strata: proxy listening on port " << node->proxyPort() << "\n";
    if (node->tlsPort()) std::cout << "strata: https listening on port " << node->tlsPort() << "\n";
    std::cout << "strata: admin listening on port " << node->adminPort() << "\n" << std::flush;
    // SIGHUP reloads the TLS certificates; SIGINT, SIGTERM and SIGQUIT stop the node.
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) sigaddset(&signals, s);
    for (;;) {
      int received = 0;
      if (sigwait(&signals, &received) != 0) continue;
      if (received != SIGHUP) break;
      std::string why;
      if (node->reloadTls(&why)) {
        std::cout << "strata: TLS certificates reloaded\n" << std::flush;
      } else {
        std::cerr << "strata: TLS reload failed, keeping the old certificates: " << why << "\n";
      }
    }
    std::cout << "strata: stopping\n" << std::flush;
    node->stop();
    return EXIT_OK;
  }

 private:
  std::optional<int> exitEarly_;
  std::string configFile_ = "config/strata.yaml";
  bool configGiven_ = false;
  std::string checkConfig_;
  Overrides overrides_;
};

}  // namespace
}  // namespace strata::edge::app

int main(int argc, char** argv) {
  // Block the termination signals before any thread starts, so every thread inherits the mask
  // and waitForTerminationRequest() (sigwait) receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGQUIT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Hundreds of threads would otherwise get up to 8 malloc arenas per core, each holding freed
  // memory of its own: a few arenas keep the process near its configured budgets.
  mallopt(M_ARENA_MAX, 2);
  // Every client connection is a descriptor: take the hard limit, not the 1024 default.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  strata::edge::app::StrataApplication app;
  try {
    return app.run(argc, argv);
  } catch (const Poco::Exception& e) {
    std::cerr << "strata: " << e.displayText() << "\n";
    return Poco::Util::Application::EXIT_USAGE;
  }
}
