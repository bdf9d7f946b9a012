#include "server/common/logging.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace cursord {
namespace {

// What `log` writes to stderr (fd 2), captured through a pipe.
template <typename Log>
std::string CaptureStderr(Log log) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  close(fds[1]);
  log();
  dup2(saved, STDERR_FILENO);  // closes the pipe's last write end
  close(saved);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) out.append(buffer, n);
  close(fds[0]);
  return out;
}

TEST(LoggingTest, AnUntrustedStringCannotForgeALineOrReachTheTerminal) {
  const std::string reason = "bye\n2024-05-01T12:00:00.000Z INFO server.cc:1] forged \x1b[2J";
  const std::string out =
      CaptureStderr([&] { CURSORD_LOG(kInfo) << "kick reason=\"" << reason << "\""; });
  // One line, ending in the logger's own newline, with the text escaped.
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find(
                "kick reason=\"bye\\n2024-05-01T12:00:00.000Z INFO server.cc:1] forged \\x1b[2J\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(" INFO logging_test.cc:"), std::string::npos) << out;
}

TEST(LoggingTest, PlainLinesAreUnchanged) {
  const std::string out =
      CaptureStderr([] { CURSORD_LOG(kWarning) << "closing slow consumer 127.0.0.1:5000"; });
  EXPECT_NE(out.find("] closing slow consumer 127.0.0.1:5000\n"), std::string::npos) << out;
}

// JSON lines carry the text format's fields; the message is the same
// escaped text, so a shipper sees what a reader of the text log sees.
TEST(LoggingTest, JsonLinesCarryTheTextFormatsFieldsAndParse) {
  const std::string reason = "say \"hi\" \\ bye\n{\"level\":\"forged\"} \x1b[2J \xff";
  const std::string text = CaptureStderr([&] { CURSORD_LOG(kWarning) << "kick " << reason; });
  SetLogFormat(LogFormat::kJson);
  const std::string json = CaptureStderr([&] { CURSORD_LOG(kWarning) << "kick " << reason; });
  SetLogFormat(LogFormat::kText);
  ASSERT_EQ(json.find('\n'), json.size() - 1) << json;
  EXPECT_EQ(json.find('\x1b'), std::string::npos) << json;
  const nlohmann::json line = nlohmann::json::parse(json);
  ASSERT_TRUE(line.is_object()) << json;
  EXPECT_EQ(line.size(), 4u) << json;
  EXPECT_EQ(line.at("level"), "WARN");
  const std::string source = line.at("source");
  EXPECT_EQ(source.rfind("logging_test.cc:", 0), 0u) << source;
  const std::string time = line.at("time");
  EXPECT_EQ(time.size(), 24u) << time;  // 2024-05-01T12:00:00.000Z
  EXPECT_EQ(time.back(), 'Z') << time;
  // The text line is "<time> WARN <source>] <message>": the same message.
  const std::string message = line.at("message");
  EXPECT_EQ(message, "kick say \"hi\" \\\\ bye\\n{\"level\":\"forged\"} \\x1b[2J \\xff");
  const size_t bracket = text.find("] ");
  ASSERT_NE(bracket, std::string::npos) << text;
  EXPECT_EQ(text.substr(bracket + 2), message + "\n");
}

TEST(LoggingTest, ParseLogFormatKnowsTextAndJson) {
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &format));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("JSON ", &format));
}

}  // namespace
}  // namespace cursord
