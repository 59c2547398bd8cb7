#include "edge/app/logging.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Exception.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/SplitterChannel.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <set>

#include "edge/app/access_log.h"

namespace strata::edge::app {
namespace {

const char* levelName(Poco::Message::Priority p) {
  switch (p) {
    case Poco::Message::PRIO_FATAL:
      return "fatal";
    case Poco::Message::PRIO_CRITICAL:
      return "critical";
    case Poco::Message::PRIO_ERROR:
      return "error";
    case Poco::Message::PRIO_WARNING:
      return "warning";
    case Poco::Message::PRIO_NOTICE:
      return "notice";
    case Poco::Message::PRIO_INFORMATION:
      return "information";
    case Poco::Message::PRIO_DEBUG:
      return "debug";
    default:
      return "trace";
  }
}

// Passes on messages at `level` or more severe (POCO's priorities: 1 fatal ... 8 trace).
class MinimumLevelChannel : public Poco::Channel {
 public:
  MinimumLevelChannel(Poco::Channel* next, int level) : next_(next, true), level_(level) {}
  void log(const Poco::Message& message) override {
    if (static_cast<int>(message.getPriority()) <= level_) next_->log(message);
  }
  void open() override { next_->open(); }
  void close() override { next_->close(); }

 private:
  Poco::AutoPtr<Poco::Channel> next_;
  int level_;
};

bool isKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

void JsonLinesFormatter::format(const Poco::Message& message, std::string& text) {
  const auto micros = message.getTime().epochMicroseconds();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[48];
  std::snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros % 1'000'000));
  const std::string& msg = message.getText();
  text += "{\"time\":\"";
  text += date;
  text += "\",\"level\":\"";
  text += levelName(message.getPriority());
  text += "\",\"logger\":";
  appendJsonString(text, message.getSource());
  text += ",\"message\":";
  appendJsonString(text, msg);
  text += ",\"thread\":";
  appendJsonString(text, message.getThread());
  std::set<std::string> seen = {"time", "level", "logger", "message", "thread"};
  // key=value pairs, values bare (up to a space) or quoted with \" and \\ escapes.
  std::size_t i = 0;
  while (i < msg.size()) {
    while (i < msg.size() && msg[i] == ' ') ++i;
    const std::size_t keyStart = i;
    while (i < msg.size() && isKeyChar(msg[i])) ++i;
    if (i == keyStart || i >= msg.size() || msg[i] != '=') {
      while (i < msg.size() && msg[i] != ' ') ++i;  // Not a pair: skip the word.
      continue;
    }
    const std::string key = msg.substr(keyStart, i - keyStart);
    ++i;
    std::string value;
    if (i < msg.size() && msg[i] == '"') {
      ++i;
      while (i < msg.size() && msg[i] != '"') {
        if (msg[i] == '\\' && i + 1 < msg.size()) ++i;
        value += msg[i++];
      }
      ++i;
    } else {
      while (i < msg.size() && msg[i] != ' ') value += msg[i++];
    }
    if (!seen.insert(key).second) continue;
    text += ',';
    appendJsonString(text, key);
    text += ':';
    appendJsonString(text, value);
  }
  text += '}';
}

bool setUpProcessLogging(const Config& config, std::string* error) {
  Poco::AutoPtr<Poco::PatternFormatter> pattern(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
  Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel);
  Poco::AutoPtr<Poco::Channel> channel(new Poco::FormattingChannel(pattern, console));
  if (!config.errorLog.empty()) {
    try {
      Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(config.errorLog));
      file->setProperty(
          "rotation",
          std::to_string(std::max<std::uint64_t>(config.logRotateBytes >> 10, 1)) + " K");
      file->setProperty("archive", "number");
      file->setProperty("purgeCount", std::to_string(config.logRotateKeep));
      file->open();
      Poco::AutoPtr<Poco::Formatter> json(new JsonLinesFormatter);
      Poco::AutoPtr<Poco::Channel> formatted(new Poco::FormattingChannel(json, file));
      Poco::AutoPtr<Poco::Channel> filtered(
          new MinimumLevelChannel(formatted, Poco::Logger::parseLevel(config.errorLogLevel)));
      Poco::AutoPtr<Poco::SplitterChannel> both(new Poco::SplitterChannel);
      both->addChannel(Poco::AutoPtr<Poco::Channel>(
          new MinimumLevelChannel(channel, Poco::Logger::parseLevel(config.logLevel))));
      both->addChannel(filtered);
      channel = both;
    } catch (const Poco::Exception& e) {
      *error = "cannot open error log " + config.errorLog + ": " + e.displayText();
      return false;
    }
  }
  // The root and every logger created so far (setChannel on "" reaches all descendants).
  Poco::Logger::setChannel("", channel);
  // The error log gets its level's messages even when logging.level is quieter.
  const int level =
      std::max(Poco::Logger::parseLevel(config.logLevel),
               config.errorLog.empty() ? 0 : Poco::Logger::parseLevel(config.errorLogLevel));
  Poco::Logger::setLevel("", level);
  return true;
}

}  // namespace strata::edge::app
