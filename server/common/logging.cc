#include "server/common/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/common/escape.h"

namespace cursord {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
    case LogLevel::kOff: break;
  }
  return "?";
}

// `text` (valid UTF-8 without control characters: EscapeControl's output)
// as the inside of a JSON string: only the quote and the backslash need
// escaping.
void AppendJsonString(std::string& out, const std::string& text) {
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "text") *format = LogFormat::kText;
  else if (text == "json") *format = LogFormat::kJson;
  else return false;
  return true;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed)); }

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warning" || text == "warn") *level = LogLevel::kWarning;
  else if (text == "error") *level = LogLevel::kError;
  else if (text == "off") *level = LogLevel::kOff;
  else return false;
  return true;
}

namespace logging_internal {

LogLine::LogLine(LogLevel level, const char* file, int line)
    : level_(level),
      file_(std::strrchr(file, '/') ? std::strrchr(file, '/') + 1 : file),
      line_(line) {}

LogLine::~LogLine() {
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const std::string source = std::string(file_) + ":" + std::to_string(line_);
  // Lines carry reasons, ids, targets and addresses that clients and
  // operators chose. Escaping every message here, rather than at each call
  // site, means no line can hold a newline or a terminal escape, whoever
  // writes the next CURSORD_LOG; the JSON line carries the same escaped
  // text.
  const std::string message = EscapeControl(stream_.str());
  std::string text;
  if (static_cast<LogFormat>(g_format.load(std::memory_order_relaxed)) == LogFormat::kJson) {
    text.reserve(message.size() + source.size() + 80);
    text.append("{\"time\":\"").append(time).append("\",\"level\":\"");
    text.append(LevelName(level_)).append("\",\"source\":");
    AppendJsonString(text, source);
    text.append(",\"message\":");
    AppendJsonString(text, message);
    text.push_back('}');
  } else {
    text = time + " " + LevelName(level_) + " " + EscapeControl(source) + "] " + message;
  }
  text.push_back('\n');
  // One write per line; a short write to stderr is not worth retrying.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, text.data(), text.size());
}

}  // namespace logging_internal
}  // namespace cursord
