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
#include "server/core/join_request.h"
#include "server/edge/http_session.h"
#include "server/edge/shard.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;

absl::Status RoomNotFound(const std::string& room_id) {
  return absl::NotFoundError(absl::StrCat("room \"", room_id, "\" not found"));
}

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

// Runs `fn(shard)` on every shard and `done(results)` once all have answered,
// on the thread of the last one.
template <typename T>
void OnEveryShard(std::vector<std::unique_ptr<Shard>>& shards, std::function<T(Shard&)> fn,
                  std::function<void(std::vector<T>)> done) {
  struct Gather {
    absl::Mutex mu;
    std::vector<T> results ABSL_GUARDED_BY(mu);
    size_t remaining ABSL_GUARDED_BY(mu);
    std::function<void(std::vector<T>)> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->remaining = shards.size();
  gather->done = std::move(done);
  for (auto& shard : shards) {
    net::post(shard->io_context(), [gather, fn, &shard = *shard] {
      T result = fn(shard);
      std::vector<T> all;
      {
        absl::MutexLock lock(&gather->mu);
        gather->results.push_back(std::move(result));
        if (--gather->remaining != 0) return;
        all = std::move(gather->results);
      }
      gather->done(std::move(all));
    });
  }
}

}  // namespace

std::string_view Version() { return "0.1.0"; }

Server::Server(ServerOptions options) : options_(std::move(options)) {
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

void Server::ListRooms(core::ListRoomsQuery query,
                       std::function<void(core::ListRoomsResult)> done) {
  const size_t limit = std::max<size_t>(query.limit, 1);
  auto q = std::make_shared<core::ListRoomsQuery>(std::move(query));
  // Each shard returns its first limit+1 matching rooms after start_after
  // (a range scan of its ordered map); the merge keeps the first `limit`.
  OnEveryShard<std::vector<core::RoomSummary>>(
      shards_,
      [q, limit](Shard& shard) {
        std::vector<core::RoomSummary> out;
        const auto& rooms = shard.rooms();
        const std::string& from = std::max(q->prefix, q->start_after);
        for (auto it = rooms.lower_bound(from); it != rooms.end() && out.size() <= limit;
             ++it) {
          if (!absl::StartsWith(it->first, q->prefix)) break;
          if (it->first == q->start_after) continue;
          out.push_back(it->second->Summary());
        }
        return out;
      },
      [limit, done = std::move(done)](std::vector<std::vector<core::RoomSummary>> parts) {
        core::ListRoomsResult result;
        for (auto& part : parts) {
          for (auto& room : part) result.rooms.push_back(std::move(room));
        }
        std::sort(result.rooms.begin(), result.rooms.end(),
                  [](const core::RoomSummary& a, const core::RoomSummary& b) {
                    return a.id < b.id;
                  });
        if (result.rooms.size() > limit) {
          result.rooms.resize(limit);
          result.more = true;
        }
        done(std::move(result));
      });
}

void Server::GetRoom(std::string room_id,
                     std::function<void(absl::StatusOr<core::RoomSnapshot>)> done) {
  Shard& shard = ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr) {
      done(RoomNotFound(room_id));
      return;
    }
    done(room->Snapshot());
  });
}

void Server::KickMember(std::string room_id, uint8_t member_id, std::string reason,
                        std::function<void(absl::Status)> done) {
  Shard& shard = ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), member_id,
                                 reason = std::move(reason), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr) {
      done(RoomNotFound(room_id));
      return;
    }
    auto* session = static_cast<WsSession*>(room->member(member_id));
    if (session == nullptr) {
      done(absl::NotFoundError(
          absl::StrCat("member ", int{member_id}, " not found in room \"", room_id, "\"")));
      return;
    }
    CURSORD_LOG(kInfo) << "kick room=" << room_id << " member=" << int{member_id}
                       << " reason=\"" << reason << "\"";
    room->NotifyKicked(member_id, reason, absl::Now());
    session->Close(core::kCloseKicked, reason, shard.counters().closes_kicked);
    done(absl::OkStatus());
  });
}

void Server::KickUser(std::string user_id, std::string reason,
                      std::function<void(absl::StatusOr<int>)> done) {
  auto args = std::make_shared<std::pair<std::string, std::string>>(std::move(user_id),
                                                                    std::move(reason));
  OnEveryShard<int>(
      shards_,
      [args](Shard& shard) {
        const auto& [user, why] = *args;
        std::vector<std::shared_ptr<WsSession>> matches;
        for (WsSession* session : shard.sessions()) {
          if (session->in_room() && session->user_id() == user) {
            matches.push_back(session->shared_from_this());
          }
        }
        for (auto& session : matches) {
          if (core::Room* room = shard.FindRoom(session->room_id())) {
            room->NotifyKicked(session->member_id(), why, absl::Now());
          }
          session->Close(core::kCloseKicked, why, shard.counters().closes_kicked);
        }
        return static_cast<int>(matches.size());
      },
      [args, done = std::move(done)](std::vector<int> counts) {
        int total = 0;
        for (int n : counts) total += n;
        if (total == 0) {
          done(absl::NotFoundError(absl::StrCat("no connection of user \"", args->first, "\"")));
          return;
        }
        CURSORD_LOG(kInfo) << "kicked user=" << args->first << " connections=" << total;
        done(total);
      });
}

void Server::CloseRoom(std::string room_id, std::string reason,
                       std::function<void(absl::StatusOr<int>)> done) {
  Shard& shard = ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id),
                                 reason = std::move(reason), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr) {
      done(RoomNotFound(room_id));
      return;
    }
    std::vector<std::shared_ptr<WsSession>> members;
    for (const auto& [id, member] : room->members()) {
      members.push_back(static_cast<WsSession*>(member)->shared_from_this());
    }
    const absl::Time now = absl::Now();
    for (auto& session : members) room->NotifyKicked(session->member_id(), reason, now);
    // The room is destroyed with its last member: don't touch it after.
    for (auto& session : members) {
      session->Close(core::kCloseRoomClosed, reason, shard.counters().closes_room_closed);
    }
    CURSORD_LOG(kInfo) << "closed room=" << room_id << " members=" << members.size()
                       << " reason=\"" << reason << "\"";
    done(static_cast<int>(members.size()));
  });
}

void Server::Watch(std::string room_id, bool cursor_moves, std::shared_ptr<core::WatchSink> sink,
                   std::function<void(absl::Status)> started) {
  Shard& shard = ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), cursor_moves,
                                 sink = std::move(sink), started = std::move(started)]() mutable {
    if (shard.stopping()) {
      started(absl::UnavailableError("server shutting down"));
      return;
    }
    started(shard.AddWatcher(room_id, std::move(sink), cursor_moves));
  });
}

void Server::Unwatch(std::string room_id, core::WatchSink* sink, std::function<void()> done) {
  Shard& shard = ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), sink,
                                 done = std::move(done)] {
    shard.RemoveWatcher(room_id, sink);
    done();
  });
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

std::string Server::MetricsText() {
  const core::ServerInfo info = GetServerInfo();
  std::string out;
#define CURSORD_METRIC(member, name, help)                                             \
  absl::StrAppend(&out, "# HELP cursord_" name "_total " help "\n# TYPE cursord_" name \
                        "_total counter\ncursord_" name "_total ",                     \
                  info.counters.at(name), "\n");
  CURSORD_SHARD_COUNTERS(CURSORD_METRIC)
#undef CURSORD_METRIC
  absl::StrAppend(&out, "# HELP cursord_connections WebSocket sessions open\n",
                  "# TYPE cursord_connections gauge\ncursord_connections ", info.connections,
                  "\n# HELP cursord_rooms rooms with members\n",
                  "# TYPE cursord_rooms gauge\ncursord_rooms ", info.rooms, "\n",
                  "# HELP cursord_uptime_seconds seconds since start\n",
                  "# TYPE cursord_uptime_seconds gauge\ncursord_uptime_seconds ",
                  absl::ToInt64Seconds(absl::Now() - started_at_), "\n");
  return out;
}

}  // namespace cursord::edge
