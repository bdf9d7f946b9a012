// The project's one small logging facility (Debian's abseil has no absl/log).
// A line is assembled in memory and written with a single write(2), so lines
// from different threads never interleave. Control characters in a line are
// escaped (EscapeControl, server/common/escape.h): what a client or operator
// sent can never start a new line or reach the terminal raw.
//
// Two formats of the same fields (time, level, source file:line, message):
//   text: 2024-05-01T12:00:00.000Z INFO server.cc:80] listening on ...
//   json: {"time":"2024-05-01T12:00:00.000Z","level":"INFO",
//          "source":"server.cc:80","message":"listening on ..."}
// one JSON object per line, for log shippers; its message is the text
// format's message (escaped the same way), as a JSON string.
#ifndef CURSORD_COMMON_LOGGING_H_
#define CURSORD_COMMON_LOGGING_H_

#include <sstream>
#include <string_view>

namespace cursord {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Lines below `level` are dropped. Thread-safe; default kInfo.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error", "off".
bool ParseLogLevel(std::string_view text, LogLevel* level);

enum class LogFormat { kText = 0, kJson = 1 };

// The format of the lines written from now on. Thread-safe; default kText.
void SetLogFormat(LogFormat format);
// Parses "text", "json".
bool ParseLogFormat(std::string_view text, LogFormat* format);

namespace logging_internal {

// Collects one line and writes it to stderr when destroyed.
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  const LogLevel level_;
  const char* const file_;  // its base name
  const int line_;
  std::ostringstream stream_;  // the message
};

}  // namespace logging_internal
}  // namespace cursord

// CURSORD_LOG(kInfo) << "listening on " << address;
#define CURSORD_LOG(level)                                                    \
  if (::cursord::LogLevel::level < ::cursord::GetLogLevel()) {                \
  } else                                                                      \
    ::cursord::logging_internal::LogLine(::cursord::LogLevel::level, __FILE__, \
                                         __LINE__)                            \
        .stream()

#endif  // CURSORD_COMMON_LOGGING_H_
