#pragma once
// The process's logs: key=value lines on stderr, and, with logging.error_log, a structured error
// log: JSON lines of every message at logging.error_log_level or above, rotated like the access
// log. The access log is opened by the node (access_log.h).

#include <Poco/Formatter.h>
#include <Poco/Message.h>

#include <string>

#include "edge/app/config.h"

namespace strata::edge::app {

// Formats a message as one JSON object: time, level, logger, message, thread, and every
// `key=value` / `key="quoted value"` pair of the message text as its own string field (unless
// it would replace one of the first five).
//   {"time":"2026-11-01T10:00:00.123456Z","level":"error","logger":"strata.node",
//    "message":"event=purge_failed actor=ci error=\"disk full\"","thread":"admin[#3]",
//    "event":"purge_failed","actor":"ci","error":"disk full"}
class JsonLinesFormatter : public Poco::Formatter {
 public:
  void format(const Poco::Message& message, std::string& text) override;
};

// Sets the root logger's channel and level for the whole process: stderr always, plus the error
// log file when configured. Returns false with `error` when the error log cannot be opened.
bool setUpProcessLogging(const Config& config, std::string* error);

}  // namespace strata::edge::app
