#include "tests/cluster/cursord_instance.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tests/testing/ws_test_client.h"

extern char** environ;

namespace cursord::testing {

absl::StatusOr<std::unique_ptr<CursordInstance>> CursordInstance::Start(const Options& options) {
  std::unique_ptr<CursordInstance> instance(new CursordInstance(options));
  std::vector<std::string> args = {
      CURSORD_PATH,
      "--listen", "127.0.0.1:0",
      "--control-listen", "127.0.0.1:0",
      "--redis", options.redis,
      "--instance-id", options.instance_id,
      "--redis-flush-interval", "10ms",
      "--threads", "2",
  };
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  // The environment minus CURSORD_* (as Subprocess does): flags only.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "CURSORD_")) env_strings.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const int rc = posix_spawn(&instance->pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", std::strerror(rc)));
  }

  const std::string marker = "listening on 127.0.0.1:";
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (true) {
    const std::string log = instance->Log();
    const size_t at = log.find(marker);
    if (at != std::string::npos) {
      const size_t start = at + marker.size();
      const size_t end = log.find_first_not_of("0123456789", start);
      if (end != std::string::npos &&
          absl::SimpleAtoi(log.substr(start, end - start), &instance->port_) &&
          instance->port_ > 0) {
        // Logged before the listener: the backplane's instance id.
        constexpr std::string_view kIdMarker = "backplane: instance ";
        if (const size_t id_at = log.find(kIdMarker); id_at != std::string::npos) {
          const size_t id_start = id_at + kIdMarker.size();
          instance->instance_id_ = log.substr(id_start, log.find(' ', id_start) - id_start);
        }
        return instance;
      }
    }
    if (instance->Reap()) {
      return absl::InternalError(
          absl::StrCat("cursord ", options.instance_id, " exited at start: ", log));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("cursord ", options.instance_id, " did not listen within 20 s: ", log));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

CursordInstance::~CursordInstance() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &wait_status_, 0);
  }
}

bool CursordInstance::Reap() {
  if (reaped_) return true;
  if (waitpid(pid_, &wait_status_, WNOHANG) == pid_) reaped_ = true;
  return reaped_;
}

absl::StatusOr<CursordInstance::Health> CursordInstance::GetHealth() const {
  absl::StatusOr<HttpResult> result = HttpGet(port_, "/healthz");
  if (!result.ok()) return result.status();
  return Health{result->status, std::string(absl::StripSuffix(result->body, "\n"))};
}

bool CursordInstance::HealthStartsWith(const std::string& prefix) const {
  absl::StatusOr<Health> health = GetHealth();
  return health.ok() && health->status == 200 && absl::StartsWith(health->body, prefix);
}

std::optional<double> CursordInstance::Metric(const std::string& name) const {
  absl::StatusOr<HttpResult> result = HttpGet(port_, "/metrics");
  if (!result.ok() || result->status != 200) return std::nullopt;
  for (absl::string_view line : absl::StrSplit(result->body, '\n')) {
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, " ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return std::nullopt;
}

void CursordInstance::Kill() {
  if (reaped_) return;
  killed_by_test_ = true;
  kill(pid_, SIGKILL);
  waitpid(pid_, &wait_status_, 0);
  reaped_ = true;
}

void CursordInstance::Terminate() {
  if (reaped_) return;
  terminated_by_test_ = true;
  kill(pid_, SIGTERM);
}

std::optional<int> CursordInstance::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap()) {
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (WIFSIGNALED(wait_status_)) return 128 + WTERMSIG(wait_status_);
  return WEXITSTATUS(wait_status_);
}

absl::StatusOr<std::string> CursordInstance::ControlAddress() const {
  const std::string marker = "control plane (gRPC) on ";
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (true) {
    const std::string log = Log();
    const size_t at = log.find(marker);
    if (at != std::string::npos) {
      const size_t start = at + marker.size();
      const size_t end = log.find_first_of(" \n", start);
      if (end != std::string::npos) return log.substr(start, end - start);
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "cursord ", instance_id(), " logged no control plane address within 10 s: ", log));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

void CursordInstance::Pause() {
  if (!reaped_) kill(pid_, SIGSTOP);
}

void CursordInstance::Resume() {
  if (!reaped_) kill(pid_, SIGCONT);
}

std::string CursordInstance::UnexpectedExit() {
  if (killed_by_test_ || !Reap()) return "";
  if (terminated_by_test_ && WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0) return "";
  if (WIFSIGNALED(wait_status_)) {
    return absl::StrCat("cursord ", instance_id(), " died of signal ", WTERMSIG(wait_status_));
  }
  return absl::StrCat("cursord ", instance_id(), " exited with ", WEXITSTATUS(wait_status_));
}

std::string CursordInstance::Log() const {
  std::ifstream file(options_.log_path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string CursordInstance::LogTail(int lines) const {
  const std::string log = Log();
  size_t at = log.size();
  for (int i = 0; i <= lines && at != std::string::npos && at > 0; ++i) {
    at = log.rfind('\n', at - 1);
  }
  return at == std::string::npos ? log : log.substr(at + 1);
}

}  // namespace cursord::testing
