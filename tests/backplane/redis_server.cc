#include "tests/backplane/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cursord::testing {
namespace {

absl::StatusOr<uint16_t> PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError("bind to an ephemeral port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start() {
  absl::Status last = absl::OkStatus();
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<uint16_t> port = PickFreePort();
    if (!port.ok()) return port.status();
    std::unique_ptr<RedisServer> server(new RedisServer(*port));
    last = server->Launch();
    if (last.ok()) return server;
    if (!absl::IsUnavailable(last)) return last;
  }
  return last;
}

RedisServer::~RedisServer() {
  if (process_ != nullptr && paused_) process_->Signal(SIGCONT);
  process_.reset();  // SIGKILL and reap
}

absl::Status RedisServer::Launch() {
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start({
      REDIS_SERVER_PATH, "--port", absl::StrCat(port_), "--bind", "127.0.0.1",
      "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "notice",
      "--dir", "/tmp",
  });
  if (!process.ok()) return process.status();
  // Redis logs "Ready to accept connections" once it listens; a bind
  // failure ends it with "Address already in use" (or similar) first.
  if (!(*process)->WaitForStdout("Ready to accept connections", absl::Seconds(10))) {
    const std::string out = (*process)->out() + (*process)->err();
    (*process)->Wait(absl::Seconds(2));
    if (absl::StrContains(out, "in use") || absl::StrContains(out, "bind")) {
      return absl::UnavailableError(absl::StrCat("port ", port_, " taken: ", out));
    }
    return absl::InternalError(absl::StrCat("redis-server did not start: ", out));
  }
  process_ = *std::move(process);
  paused_ = false;
  // Ready means listening; PING proves it answers.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (true) {
    absl::StatusOr<std::string> pong = Query({"PING"});
    if (pong.ok() && *pong == "PONG") return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::InternalError(absl::StrCat("redis-server on ", port_, " does not answer PING"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

void RedisServer::Stop(int signal) {
  if (process_ == nullptr) return;
  if (paused_ && signal != SIGKILL) process_->Signal(SIGCONT);
  process_->Signal(signal);
  process_->Wait(absl::Seconds(10));
  process_.reset();
  paused_ = false;
}

absl::Status RedisServer::Restart() {
  if (process_ != nullptr) return absl::FailedPreconditionError("still running");
  return Launch();
}

void RedisServer::Pause() {
  if (process_ == nullptr) return;
  process_->Signal(SIGSTOP);
  paused_ = true;
}

void RedisServer::Resume() {
  if (process_ == nullptr) return;
  process_->Signal(SIGCONT);
  paused_ = false;
}

absl::StatusOr<std::string> RedisServer::Query(const std::vector<std::string>& args) const {
  const timeval timeout{2, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (context == nullptr || context->err != 0) {
    std::string error = context != nullptr ? context->errstr : "out of memory";
    if (context != nullptr) redisFree(context);
    return absl::UnavailableError(error);
  }
  redisSetTimeout(context, timeout);
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  absl::StatusOr<std::string> result;
  if (reply == nullptr) {
    result = absl::UnavailableError(context->errstr);
  } else {
    switch (reply->type) {
      case REDIS_REPLY_INTEGER:
        result = absl::StrCat(reply->integer);
        break;
      case REDIS_REPLY_ERROR:
        result = absl::StrCat("-", std::string(reply->str, reply->len));
        break;
      case REDIS_REPLY_STRING:
      case REDIS_REPLY_STATUS:
        result = std::string(reply->str, reply->len);
        break;
      case REDIS_REPLY_ARRAY: {
        // PUBSUB NUMSUB and the like: elements joined by spaces.
        std::string joined;
        for (size_t i = 0; i < reply->elements; ++i) {
          const redisReply* e = reply->element[i];
          if (i > 0) joined += ' ';
          if (e->type == REDIS_REPLY_INTEGER) {
            absl::StrAppend(&joined, e->integer);
          } else if (e->str != nullptr) {
            joined.append(e->str, e->len);
          }
        }
        result = joined;
        break;
      }
      default:
        result = std::string("nil");
    }
    freeReplyObject(reply);
  }
  redisFree(context);
  return result;
}

}  // namespace cursord::testing
