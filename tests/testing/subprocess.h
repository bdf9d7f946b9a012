// Runs a program (cursord, cursorctl) as a child process with its stdout and stderr
// captured, its environment controlled, and every wait bounded.
#ifndef CURSORD_TESTS_TESTING_SUBPROCESS_H_
#define CURSORD_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cursord::testing {

class Subprocess {
 public:
  // Starts `argv` with the parent's environment minus every CURSORCTL_* and CURSORD_*
  // variable, plus `env`.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv,
      const std::map<std::string, std::string>& env = {});
  ~Subprocess();  // kills the child if it still runs

  // Reads output until stdout contains `needle`; false on timeout or EOF.
  bool WaitForStdout(absl::string_view needle, absl::Duration timeout);
  // The same for stderr (where cursord logs).
  bool WaitForStderr(absl::string_view needle, absl::Duration timeout);

  void Signal(int signal_number);

  // Waits for the child to exit, reading the rest of its output; kills it
  // (and returns -1) if it takes longer than `timeout`. Otherwise the exit
  // code, or 128 + signal.
  int Wait(absl::Duration timeout);

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  Subprocess() = default;
  // Reads what is available within `timeout`; false once both pipes hit EOF.
  bool Pump(absl::Duration timeout);
  // Pumps until `text` (out_ or err_) contains `needle`.
  bool WaitFor(const std::string& text, absl::string_view needle, absl::Duration timeout);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  bool exited_ = false;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs to completion (bounded by `timeout`).
RunResult RunProcess(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {},
              absl::Duration timeout = absl::Seconds(20));

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_TESTING_SUBPROCESS_H_
