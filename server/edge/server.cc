#include "server/edge/server.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio/post.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/version.h"
#include "server/core/join_request.h"
#include "server/edge/http_session.h"
#include "server/edge/shard.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;

// Splits "host:port" / "[v6]:port".
absl::Status SplitHostPort(const std::string& text, std::string* host, unsigned short* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", text,
                                                   "\": host:port expected"));
  }
  *host = text.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &value) || value > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", text,
                                                   "\": bad port"));
  }
  *port = static_cast<unsigned short>(value);
  return absl::OkStatus();
}

}  // namespace

std::string_view Version() { return kVersion; }

Server::Server(ServerOptions options)
    : options_(std::move(options)), control_ops_(std::make_unique<ControlOps>(*this)) {
  options_.max_room_members = std::clamp(options_.max_room_members, 1, 256);
  int threads = options_.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options_.threads = threads;
  for (int i = 0; i < threads; ++i) shards_.push_back(std::make_unique<Shard>(i, options_));
}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  std::string host;
  unsigned short port = 0;
  absl::Status status = SplitHostPort(options_.listen, &host, &port);
  if (!status.ok()) return status;
  absl::StatusOr<std::unique_ptr<JoinGate>> gate = JoinGate::Create(options_);
  if (!gate.ok()) return gate.status();
  gate_ = std::move(*gate);
  listener_ = std::make_shared<Listener>(*this, *shards_[0]);
  const boost::system::error_code ec = listener_->Open(host, port);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
  }
  started_at_ = absl::Now();
  for (auto& shard : shards_) shard->Start(&gate_->admission());
  listener_->Run();
  started_ = true;
  if (!gate_->tokens_required()) {
    CURSORD_LOG(kWarning) << "joins are open: anyone can join any room under any name "
                             "(set --join-secret or --join-public-key to require join tokens)";
  }
  CURSORD_LOG(kInfo) << "cursord " << Version() << " listening on " << listen_address()
                     << " (ws://" << listen_address() << "/rooms/{room}) with "
                     << shards_.size() << " threads";
  return absl::OkStatus();
}

void Server::Shutdown() {
  if (!started_ || shut_down_.exchange(true)) return;
  CURSORD_LOG(kInfo) << "shutting down: closing sessions with 1001";
  listener_->Close();
  for (auto& shard : shards_) shard->BeginShutdown();
  // Wait for the close handshakes, bounded by the grace period.
  const absl::Time deadline = absl::Now() + options_.shutdown_grace;
  while (absl::Now() < deadline) {
    uint64_t open = 0;
    for (auto& shard : shards_) open += shard->counters().sessions.Get();
    if (open == 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& shard : shards_) shard->Stop();
  CURSORD_LOG(kInfo) << "stopped";
}

int Server::port() const { return listener_ ? listener_->local_endpoint().port() : 0; }

std::string Server::listen_address() const {
  if (!listener_) return options_.listen;
  const auto endpoint = listener_->local_endpoint();
  const auto address = endpoint.address();
  return address.is_v6() ? absl::StrCat("[", address.to_string(), "]:", endpoint.port())
                         : absl::StrCat(address.to_string(), ":", endpoint.port());
}

Shard& Server::ShardFor(std::string_view room_id) {
  return *shards_[std::hash<std::string_view>{}(room_id) % shards_.size()];
}

Shard& Server::NextShard() {
  return *shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size()];
}

core::ServerInfo Server::GetServerInfo() {
  core::ServerInfo info;
  info.version = std::string(Version());
  info.started_at = started_at_;
  info.listen_addresses.push_back(listen_address());
  for (auto& shard : shards_) {
    ShardCounters& c = shard->counters();
    info.connections += c.sessions.Get();
    info.rooms += c.rooms.Get();
#define CURSORD_SUM_COUNTER(member, name, help) info.counters[name] += c.member.Get();
    CURSORD_SHARD_COUNTERS(CURSORD_SUM_COUNTER)
#undef CURSORD_SUM_COUNTER
  }
  return info;
}

}  // namespace cursord::edge
