#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace cursord::testing {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env) {
  // Everything the child needs is built before posix_spawn, which is safe
  // in a multi-threaded parent.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "CURSORCTL_") && !absl::StartsWith(*e, "CURSORD_")) {
      env_strings.emplace_back(*e);
    }
  }
  for (const auto& [key, value] : env) env_strings.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argvp;
  for (std::string& s : args) argvp.push_back(s.data());
  argvp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argvp[0], &actions, nullptr, argvp.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", std::strerror(rc)));
  }
  auto process = std::unique_ptr<Subprocess>(new Subprocess());
  process->pid_ = pid;
  process->out_fd_ = out_pipe[0];
  process->err_fd_ = err_pipe[0];
  return process;
}

Subprocess::~Subprocess() {
  if (!exited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool Subprocess::Pump(absl::Duration timeout) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int open_fds = (out_fd_ >= 0) + (err_fd_ >= 0);
  if (open_fds == 0) return false;
  if (poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(timeout))) <= 0) {
    return true;
  }
  std::string* sinks[2] = {&out_, &err_};
  int* fd_slots[2] = {&out_fd_, &err_fd_};
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
    if (n > 0) {
      sinks[i]->append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*fd_slots[i]);
      *fd_slots[i] = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Subprocess::WaitFor(const std::string& text, absl::string_view needle,
                         absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!absl::StrContains(text, needle)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    if (!Pump(std::min(left, absl::Milliseconds(50)))) {
      return absl::StrContains(text, needle);
    }
  }
  return true;
}

bool Subprocess::WaitForStdout(absl::string_view needle, absl::Duration timeout) {
  return WaitFor(out_, needle, timeout);
}

bool Subprocess::WaitForStderr(absl::string_view needle, absl::Duration timeout) {
  return WaitFor(err_, needle, timeout);
}

void Subprocess::Signal(int signal_number) {
  if (!exited_) kill(pid_, signal_number);
}

int Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Drain the pipes first: a child blocked on a full pipe never exits.
  while (absl::Now() < deadline && Pump(absl::Milliseconds(50))) {
  }
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      exited_ = true;
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  exited_ = true;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

RunResult RunProcess(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env, absl::Duration timeout) {
  RunResult result;
  auto process = Subprocess::Start(argv, env);
  if (!process.ok()) {
    result.err = std::string(process.status().message());
    return result;
  }
  result.exit_code = (*process)->Wait(timeout);
  result.out = (*process)->out();
  result.err = (*process)->err();
  return result;
}

}  // namespace cursord::testing
