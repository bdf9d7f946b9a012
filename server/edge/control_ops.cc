#include "server/edge/control_ops.h"

#include <algorithm>
#include <vector>

#include <boost/asio/post.hpp>

#include "absl/container/btree_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/common/logging.h"
#include "server/core/ws_frame.h"
#include "server/edge/server.h"
#include "server/edge/shard.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;

absl::Status RoomNotFound(const std::string& room_id) {
  return absl::NotFoundError(absl::StrCat("room \"", room_id, "\" not found"));
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

// Closes members `ids` of `room` with `code` (kCloseKicked or
// kCloseRoomClosed) and `reason`, telling the room's watchers first (with
// --redis, the other instances' too, through `relay`).
// Returns how many were closed. The room is destroyed with its last
// member: it is not touched once the closing begins.
int KickMembers(Shard& shard, core::Room& room, const std::vector<uint8_t>& ids, uint16_t code,
                const std::string& reason) {
  std::vector<core::RoomMember*> members;
  const absl::Time now = absl::Now();
  for (uint8_t id : ids) {
    if (core::RoomMember* member = room.member(id)) {
      room.NotifyKicked(id, reason, now);
      if (ClusterRelay* relay = shard.relay()) relay->OnLocalKick(room.id(), id, code, reason);
      members.push_back(member);
    }
  }
  // Each member stays alive through its own close (its pending I/O holds it).
  for (core::RoomMember* member : members) member->Kick(code, reason);
  return static_cast<int>(members.size());
}

}  // namespace

void ControlOps::ListRooms(core::ListRoomsQuery query,
                           std::function<void(absl::StatusOr<core::ListRoomsResult>)> done) {
  ListRoomsIn(std::move(query), /*local_only=*/false,
              [done = std::move(done)](core::ListRoomsResult result) { done(std::move(result)); });
}

void ControlOps::ListLocalRooms(core::ListRoomsQuery query,
                                std::function<void(core::ListRoomsResult)> done) {
  ListRoomsIn(std::move(query), /*local_only=*/true, std::move(done));
}

void ControlOps::ListRoomsIn(core::ListRoomsQuery query, bool local_only,
                             std::function<void(core::ListRoomsResult)> done) {
  const size_t limit = std::max<size_t>(query.limit, 1);
  auto q = std::make_shared<core::ListRoomsQuery>(std::move(query));
  // Each shard returns its first limit+1 matching rooms after start_after
  // (a range scan of its ordered map); the merge keeps the first `limit`.
  OnEveryShard<std::vector<core::RoomSummary>>(
      server_.shards(),
      [q, limit, local_only](Shard& shard) {
        std::vector<core::RoomSummary> out;
        const auto& rooms = shard.rooms();
        const std::string& from = std::max(q->prefix, q->start_after);
        for (auto it = rooms.lower_bound(from); it != rooms.end() && out.size() <= limit;
             ++it) {
          if (!absl::StartsWith(it->first, q->prefix)) break;
          if (it->first == q->start_after) continue;
          core::RoomSummary summary = it->second->Summary();
          if (local_only) {
            // Members connected here; a room held only for joins in flight
            // has none yet.
            summary.member_count = static_cast<uint32_t>(it->second->size());
            if (summary.member_count == 0) continue;
          }
          out.push_back(std::move(summary));
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

void ControlOps::GetRoom(std::string room_id,
                     std::function<void(absl::StatusOr<core::RoomSnapshot>)> done) {
  Shard& shard = server_.ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr) {
      done(RoomNotFound(room_id));
      return;
    }
    done(room->Snapshot());
  });
}

void ControlOps::GetLocalRoom(std::string room_id,
                              std::function<void(absl::StatusOr<core::RoomSnapshot>)> done) {
  Shard& shard = server_.ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr || room->size() == 0) {
      done(RoomNotFound(room_id));
      return;
    }
    core::RoomSnapshot snapshot = room->Snapshot();
    snapshot.members.erase(std::remove_if(snapshot.members.begin(), snapshot.members.end(),
                                          [](const core::MemberSnapshot& m) { return m.remote; }),
                           snapshot.members.end());
    done(std::move(snapshot));
  });
}

void ControlOps::KickMember(std::string room_id, uint8_t member_id, std::string reason,
                            std::function<void(absl::Status)> done) {
  Shard& shard = server_.ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), member_id,
                                 reason = std::move(reason), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr) {
      done(RoomNotFound(room_id));
      return;
    }
    if (room->member(member_id) == nullptr && room->is_member(member_id)) {
      // With --redis: a member of another instance, which alone can close it.
      done(absl::FailedPreconditionError(absl::StrCat(
          "member ", int{member_id}, " of room \"", room_id,
          "\" is connected to another instance of the cluster: kick it there")));
      return;
    }
    if (room->member(member_id) == nullptr) {
      done(absl::NotFoundError(
          absl::StrCat("member ", int{member_id}, " not found in room \"", room_id, "\"")));
      return;
    }
    CURSORD_LOG(kInfo) << "kick room=" << room_id << " member=" << int{member_id}
                       << " reason=\"" << reason << "\"";
    KickMembers(shard, *room, {member_id}, core::kCloseKicked, reason);
    done(absl::OkStatus());
  });
}

void ControlOps::KickUser(std::string user_id, std::string reason,
                          std::function<void(absl::StatusOr<core::CloseResult>)> done) {
  auto args = std::make_shared<std::pair<std::string, std::string>>(std::move(user_id),
                                                                    std::move(reason));
  OnEveryShard<int>(
      server_.shards(),
      [args](Shard& shard) {
        const auto& [user, why] = *args;
        // The user's members, room by room.
        absl::btree_map<std::string, std::vector<uint8_t>> by_room;
        for (WsSession* session : shard.sessions()) {
          if (session->in_room() && session->user_id() == user) {
            by_room[session->room_id()].push_back(session->member_id());
          }
        }
        int kicked = 0;
        for (const auto& [room_id, ids] : by_room) {
          // Looked up afresh: kicking the last member of a room destroys it.
          if (core::Room* room = shard.FindRoom(room_id)) {
            kicked += KickMembers(shard, *room, ids, core::kCloseKicked, why);
          }
        }
        return kicked;
      },
      [args, done = std::move(done)](std::vector<int> counts) {
        int total = 0;
        for (int n : counts) total += n;
        if (total == 0) {
          done(absl::NotFoundError(absl::StrCat("no connection of user \"", args->first, "\"")));
          return;
        }
        CURSORD_LOG(kInfo) << "kicked user=" << args->first << " connections=" << total;
        done(core::CloseResult{total, {}});
      });
}

void ControlOps::CloseRoom(std::string room_id, std::string reason,
                           std::function<void(absl::StatusOr<core::CloseResult>)> done) {
  Shard& shard = server_.ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id),
                                 reason = std::move(reason), done = std::move(done)] {
    core::Room* room = shard.FindRoom(room_id);
    if (room == nullptr) {
      done(RoomNotFound(room_id));
      return;
    }
    std::vector<uint8_t> ids;
    for (const auto& [id, member] : room->members()) ids.push_back(id);
    const int closed = KickMembers(shard, *room, ids, core::kCloseRoomClosed, reason);
    CURSORD_LOG(kInfo) << "closed room=" << room_id << " members=" << closed
                       << " reason=\"" << reason << "\"";
    done(core::CloseResult{closed, {}});
  });
}

core::ActivitySource& ControlOps::activity() { return server_.activity(); }

void ControlOps::Watch(std::string room_id, bool cursor_moves, std::shared_ptr<core::WatchSink> sink,
                   std::function<void(absl::Status)> started) {
  Shard& shard = server_.ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), cursor_moves,
                                 sink = std::move(sink), started = std::move(started)]() mutable {
    if (shard.stopping()) {
      started(absl::UnavailableError("server shutting down"));
      return;
    }
    shard.AddWatcher(room_id, std::move(sink), cursor_moves, std::move(started));
  });
}

void ControlOps::Unwatch(std::string room_id, core::WatchSink* sink, std::function<void()> done) {
  Shard& shard = server_.ShardFor(room_id);
  net::post(shard.io_context(), [&shard, room_id = std::move(room_id), sink,
                                 done = std::move(done)] {
    shard.RemoveWatcher(room_id, sink);
    done();
  });
}

core::ServerInfo ControlOps::GetServerInfo() { return server_.GetServerInfo(); }

core::InstanceInfo ControlOps::DescribeSelf() {
  const core::ServerInfo info = server_.GetServerInfo();
  core::InstanceInfo self;
  self.instance_id = info.cluster ? info.cluster->instance_id : "";
  self.answered = true;
  self.version = info.version;
  self.started_at = info.started_at;
  self.listen_addresses = info.listen_addresses;
  self.connections = info.connections;
  self.rooms = info.rooms;
  self.ready = server_.Readiness().ok();
  self.backplane_connected = info.cluster && info.cluster->backplane_connected;
  return self;
}

void ControlOps::ListInstances(std::function<void(absl::StatusOr<core::InstancesResult>)> done) {
  core::InstancesResult result;
  result.instances.push_back(DescribeSelf());
  result.self = result.instances.front().instance_id;
  done(std::move(result));
}

void ControlOps::ListSessions(core::SessionQuery query,
                              std::function<void(absl::StatusOr<core::SessionPage>)> done) {
  done(server_.activity().Sessions(query));
}

}  // namespace cursord::edge
