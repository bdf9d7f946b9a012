#include "server/common/logging.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

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

}  // namespace
}  // namespace cursord
