#include "server/backplane/backplane.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio/post.hpp"
#include "server/backplane/redis_connection.h"
#include "server/backplane/redis_subscriber.h"
#include "server/backplane/room_keys.h"
#include "server/common/logging.h"
#include "server/core/log_throttle.h"

namespace cursord::backplane {
namespace {

namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;

absl::Status Unavailable() { return absl::UnavailableError("backplane unavailable"); }

// The run_id line of INFO server: a new one means a new Redis process.
std::string RunIdOf(const std::string& info) {
  constexpr std::string_view kKey = "run_id:";
  const size_t at = info.find(kKey);
  if (at == std::string::npos) return "";
  const size_t begin = at + kKey.size();
  const size_t end = info.find_first_of("\r\n", begin);
  return info.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// cursord:{R}:watchers: instances watching R (docs/BACKPLANE.md, "Watching
// a room from any instance"); written by PublishWatch's script only.
std::string WatchersKey(std::string_view room) {
  return absl::StrCat(absl::string_view(kRoomKeyPrefix.data(), kRoomKeyPrefix.size()),
                      absl::string_view(room.data(), room.size()), "}:watchers");
}

}  // namespace

// A local member, as this instance registered it (for Reassert).
struct LocalMember {
  uint64_t generation = 0;
  MemberRecord record;
};

struct Backplane::Server {
  int index = 0;
  RedisEndpoint endpoint;
  std::unique_ptr<RedisConnection> redis;
  std::unique_ptr<RedisSubscriber> subscriber;
  std::unique_ptr<RoomStore> store;
  // The Redis process whose state this instance's members are in ("" before
  // the first registration), and the one connected to now ("" until INFO
  // answered). They differ after a restart until every re-assert succeeded.
  std::string run_id;
  std::string seen_run_id;
  std::string registered_as;  // the instance id last registered there
  bool lease_held = false;    // registered or refreshed since the last connect
  bool lease_busy = false;    // a Register or Heartbeat of EnsureLease in flight
  int reasserts_in_flight = 0;
  bool reassert_failed = false;
  bool subscriber_up = false;
  // The first server: SUBSCRIBE cursord:control confirmed since the
  // subscriber's last gap (a survey sent before would miss its replies).
  bool bus_subscribed = false;
  bool ever_connected = false;  // the command connection, for the reconnect count
  // Leaves that could not be sent: sent again once the lease is held.
  struct PendingLeave {
    std::string room;
    uint8_t id;
    uint64_t generation;
    LeaveReason reason;
  };
  std::vector<PendingLeave> leaves_to_retry;
};

struct Backplane::FollowedRoom {
  std::string id;
  std::string channel;
  Server* server = nullptr;
  bool subscribed = false;  // confirmed since the subscriber's last gap
  bool ready = false;       // roster passed on since then
  bool had_roster = false;  // a roster was passed on since following began
  uint64_t roster_epoch = 0;
  bool roster_in_flight = false;
  std::vector<RoomMessage> buffered;  // arrived while subscribed and not ready
  struct PendingJoin {
    MemberRecord record;
    int max_members;
    JoinDone done;
    SteadyClock::time_point since;
  };
  std::vector<PendingJoin> joins;  // waiting for the first roster
  std::map<uint8_t, LocalMember> locals;
  // Join scripts sent and not answered; this instance's own join messages
  // seen meanwhile. A join whose answer was lost (a timeout) may still
  // have run: once none is in flight, an own member that is not in
  // `locals` is nobody's, and is freed.
  int joins_in_flight = 0;
  std::vector<std::pair<uint8_t, uint64_t>> own_joins_seen;
};

struct Backplane::PendingSurvey {
  std::vector<std::string> waiting;  // sorted: live instances yet to answer
  SurveyResult result;
  SurveyDone done;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

std::string DefaultInstanceName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  std::string name;
  for (const char* p = host; *p && name.size() < kMaxInstanceName; ++p) {
    const char c = *p;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    name.push_back(ok ? c : '-');
  }
  if (name.empty()) name = "cursord";
  return name;
}

absl::StatusOr<std::unique_ptr<Backplane>> Backplane::Create(BackplaneOptions options,
                                                             BackplaneListener* listener) {
  if (options.servers.empty()) return absl::InvalidArgumentError("no Redis server given");
  if (options.instance_id.empty()) options.instance_id = DefaultInstanceName();
  if (!IsValidInstanceId(options.instance_id) || options.instance_id.size() > kMaxInstanceName) {
    return absl::InvalidArgumentError(
        absl::StrCat("instance name \"", options.instance_id, "\" must be 1 to ",
                     kMaxInstanceName, " characters of A-Z a-z 0-9 . _ -"));
  }
  // Every process is a new instance, whatever its name: a restarted one
  // must not take over the lease (and the ghosts) of its predecessor,
  // which the reaper frees once that lease expires.
  absl::BitGen gen;
  options.instance_id = absl::StrFormat("%s-%08x", options.instance_id, absl::Uniform<uint32_t>(gen));
  if (options.heartbeat <= absl::ZeroDuration() || options.lease <= options.heartbeat) {
    return absl::InvalidArgumentError("the lease must be longer than the heartbeat");
  }
  return std::unique_ptr<Backplane>(new Backplane(std::move(options), listener));
}

Backplane::Backplane(BackplaneOptions options, BackplaneListener* listener)
    : options_(std::move(options)), listener_(listener) {
  base_instance_id_ = options_.instance_id;
  instance_id_ = base_instance_id_;
  stats_.instance_id = instance_id_;
}

Backplane::~Backplane() { Stop(); }

void Backplane::Start() {
  net::post(io_, [this] {
    for (size_t i = 0; i < options_.servers.size(); ++i) {
      auto server = std::make_unique<Server>();
      Server* s = server.get();
      s->index = static_cast<int>(i);
      s->endpoint = options_.servers[i];
      ConnectionCallbacks command_callbacks;
      command_callbacks.on_connected = [this, s] { OnCommandConnected(*s); };
      command_callbacks.on_disconnected = [this, s](const absl::Status& reason) {
        s->lease_held = false;
        CURSORD_LOG(kWarning) << "backplane: lost Redis " << s->endpoint.HostPort() << ": "
                              << reason.message();
        UpdateConnected();
      };
      s->redis = std::make_unique<RedisConnection>(io_, s->endpoint, options_.connection,
                                                   std::move(command_callbacks));
      SubscriberCallbacks sub_callbacks;
      sub_callbacks.on_message = [this, s](std::string_view channel, std::string_view payload) {
        OnMessage(*s, channel, payload);
      };
      sub_callbacks.on_subscribed = [this, s](std::string_view channel) {
        OnSubscribed(*s, channel);
      };
      sub_callbacks.on_connected = [this, s] {
        s->subscriber_up = true;
        UpdateConnected();
      };
      sub_callbacks.on_disconnected = [this, s](const absl::Status&) { OnSubscriberLost(*s); };
      s->subscriber = std::make_unique<RedisSubscriber>(io_, s->endpoint, options_.connection,
                                                        std::move(sub_callbacks));
      s->store = std::make_unique<RoomStore>(io_, s->redis.get());
      servers_.push_back(std::move(server));
    }
    // The cluster bus, and the connection records, live on the first server.
    servers_.front()->subscriber->Subscribe(std::string(kControlChannel));
    if (activity_listener_ != nullptr) {
      activity_ = std::make_unique<ActivityStream>(io_, servers_.front()->redis.get(),
                                                   options_.activity, activity_listener_);
      activity_->Start();
    }
    for (auto& s : servers_) {
      s->redis->Start();
      s->subscriber->Start();
    }
    tick_timer_ = std::make_unique<net::steady_timer>(io_);
    Tick();
  });
  thread_ = std::thread([this] {
    auto work = net::make_work_guard(io_);
    io_.run();
  });
  CURSORD_LOG(kInfo) << "backplane: instance " << instance_id_ << " on " << options_.servers.size()
                     << " Redis server(s)";
}

void Backplane::Stop(absl::Duration grace) {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (!thread_.joinable()) return;
  // A PING behind every command sent so far on each connection: its answer
  // means they all reached Redis.
  auto remaining = std::make_shared<int>(0);
  auto finish = [this] {
    tick_timer_.reset();
    activity_.reset();
    std::vector<std::string> ids;
    for (const auto& [id, survey] : surveys_) ids.push_back(id);
    for (const std::string& id : ids) {
      surveys_[id]->done(absl::UnavailableError("server shutting down"));
      surveys_.erase(id);
    }
    rooms_.clear();
    rooms_by_channel_.clear();
    for (auto& s : servers_) {
      s->store.reset();
      s->subscriber.reset();
      s->redis.reset();
    }
    servers_.clear();
    io_.stop();
  };
  auto deadline = std::make_shared<net::steady_timer>(io_);
  net::post(io_, [this, remaining, finish, deadline, grace] {
    for (auto& s : servers_) {
      if (!s->redis->connected()) continue;
      // Going away on purpose: drop the lease and reap at once, so that
      // members whose leave did not make it (or whose join was still in
      // flight) go now rather than when the lease would have expired.
      if (s->registered_as == instance_id_) {
        s->redis->Command({"DEL", KeysOfInstance(instance_id_).lease},
                          [](absl::StatusOr<Reply>) {});
        if (s->index == 0) {
          s->redis->Command({"SREM", std::string(kLiveKey), instance_id_},
                            [](absl::StatusOr<Reply>) {});
        }
        s->store->ReapDead([](absl::StatusOr<std::vector<ReapedMember>>) {});
      }
      ++*remaining;
      const bool first = s->index == 0;
      s->redis->Command({"PING"}, [this, first, remaining, deadline](absl::StatusOr<Reply>) {
        const auto one_done = [remaining, deadline] {
          if (--*remaining == 0) deadline->cancel();
        };
        // This instance's last records (the leaves of the sessions just
        // closed) come back to its log, for its observers (the webhook
        // sink announces only what its own instance wrote).
        if (first && activity_ != nullptr) return activity_->ReadRest(one_done);
        one_done();
      });
    }
    if (*remaining == 0) {
      finish();
      return;
    }
    deadline->expires_after(absl::ToChronoNanoseconds(grace));
    deadline->async_wait([finish](const boost::system::error_code&) { finish(); });
  });
  thread_.join();
}

Backplane::Server& Backplane::ServerOf(std::string_view room) {
  return *servers_[ServerFor(room, static_cast<int>(servers_.size()))];
}

Backplane::FollowedRoom* Backplane::FindRoom(const std::string& room) {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : it->second.get();
}

void Backplane::UpdateConnected() {
  bool all = !servers_.empty();
  for (auto& s : servers_) {
    all = all && Ready(*s) && s->subscriber_up;
  }
  if (connected_.exchange(all) != all) {
    if (all) {
      CURSORD_LOG(kInfo) << "backplane: connected";
    } else {
      CURSORD_LOG(kWarning) << "backplane: degraded (joins refused until Redis is back)";
    }
  }
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_.backplane_connected = all;
}

// --- Connections and the lease ---

void Backplane::OnCommandConnected(Server& server) {
  if (server.ever_connected) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.reconnects;
  }
  server.ever_connected = true;
  if (server.index == 0 && activity_ != nullptr) activity_->OnConnected();
  server.lease_held = false;
  server.lease_busy = false;
  server.seen_run_id.clear();
  server.redis->Command({"INFO", "server"}, [this, &server](absl::StatusOr<Reply> reply) {
    if (!reply.ok() || !reply->is_string()) return;  // the connection reconnects and asks again
    OnRunId(server, RunIdOf(reply->str()));
  });
}

void Backplane::OnRunId(Server& server, std::string run_id) {
  server.seen_run_id = std::move(run_id);
  EnsureLease(server);
}

// Brings `server` to ready: lease held under the current instance id, and,
// after a Redis restart, every local member there re-asserted. Each step
// that fails (or is not answered) is tried again by the tick; run_id is
// taken as known only once the re-asserts all succeeded, so that a
// connection lost halfway through does them again.
void Backplane::EnsureLease(Server& server) {
  if (!server.redis->connected() || server.seen_run_id.empty() || server.lease_busy ||
      server.reasserts_in_flight > 0) {
    return;
  }
  const bool new_process = server.run_id != server.seen_run_id;
  if (new_process && !server.run_id.empty() && !server.lease_held) {
    CURSORD_LOG(kWarning) << "backplane: Redis " << server.endpoint.HostPort()
                          << " restarted; re-asserting this instance's members";
  }
  if (server.lease_held && server.registered_as == instance_id_) {
    if (new_process) ReassertAll(server);
    return;
  }
  server.lease_busy = true;
  const std::string as = instance_id_;
  Server* s = &server;
  if (!new_process && server.registered_as == as) {
    // The same Redis: if our lease expired while we could not reach it,
    // the others have reaped our members.
    server.store->Heartbeat(as, options_.lease, [this, s, as](absl::StatusOr<bool> alive) {
      s->lease_busy = false;
      if (!alive.ok() || as != instance_id_) return;
      if (!*alive) {
        Fence();
        return;
      }
      s->lease_held = true;
      OnLeaseHeld(*s);
    });
    return;
  }
  // First contact, a new Redis process, or a new id after fencing.
  server.store->Register(as, options_.lease, [this, s, as](absl::StatusOr<bool> registered) {
    s->lease_busy = false;
    if (!registered.ok() || as != instance_id_) return;  // retried by the tick
    s->registered_as = as;
    s->lease_held = true;
    if (s->run_id != s->seen_run_id && !s->run_id.empty()) {
      ReassertAll(*s);
    } else {
      s->run_id = s->seen_run_id;
      OnLeaseHeld(*s);
    }
  });
}

bool Backplane::Ready(const Server& server) const {
  return server.redis->connected() && server.lease_held && server.registered_as == instance_id_ &&
         server.reasserts_in_flight == 0 && server.run_id == server.seen_run_id;
}

void Backplane::OnLeaseHeld(Server& server) {
  UpdateConnected();
  if (!Ready(server)) return;
  if (server.index == 0) {
    server.redis->Command({"SADD", std::string(kLiveKey), instance_id_},
                          [](absl::StatusOr<Reply>) {});
  }
  std::vector<Server::PendingLeave> leaves;
  leaves.swap(server.leaves_to_retry);
  for (auto& leave : leaves) {
    SendLeave(server, std::move(leave.room), leave.id, leave.generation, leave.reason);
  }
  // Rosters that could not be read meanwhile (they wait for the
  // re-asserts: read before them, another instance's roster would miss
  // this one's members).
  for (auto& [id, room] : rooms_) {
    if (room->server == &server && room->subscribed && !room->ready) ReadRoster(*room);
  }
}

void Backplane::ReassertAll(Server& server) {
  Server* s = &server;
  auto done_one = [this, s](bool ok) {
    if (!ok) s->reassert_failed = true;
    if (--s->reasserts_in_flight > 0) return;
    if (s->reassert_failed) {
      s->reassert_failed = false;
      return;  // the tick tries again
    }
    s->run_id = s->seen_run_id;
    OnLeaseHeld(*s);
  };
  ++server.reasserts_in_flight;  // held until every call below is sent
  for (auto& [room_id, room] : rooms_) {
    if (room->server != &server) continue;
    for (auto& [id, member] : room->locals) {
      const std::string room_name = room_id;
      const uint8_t member_id = id;
      const uint64_t generation = member.generation;
      ++server.reasserts_in_flight;
      server.store->Reassert(
          room_name, instance_id_, member_id, generation, member.record,
          [this, room_name, member_id, generation, done_one](absl::StatusOr<bool> kept) {
            if (!kept.ok()) {
              done_one(false);
              return;
            }
            if (*kept) {
              std::lock_guard<std::mutex> lock(stats_mu_);
              ++stats_.reasserted_members;
            } else {
              FollowedRoom* room = FindRoom(room_name);
              if (room != nullptr) {
                auto it = room->locals.find(member_id);
                if (it != room->locals.end() && it->second.generation == generation) {
                  room->locals.erase(it);
                }
              }
              listener_->OnMemberLost(room_name, member_id, generation);
            }
            done_one(true);
          });
    }
  }
  done_one(true);
}

void Backplane::Fence() {
  ++fences_;
  const std::string old_id = instance_id_;
  instance_id_ = absl::StrCat(base_instance_id_, ".", fences_);
  CURSORD_LOG(kWarning) << "backplane: the lease of instance " << old_id
                        << " expired (this process was paused or cut off from Redis); its "
                           "members were freed by the others: closing every session (1012) "
                           "and registering as "
                        << instance_id_;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.fences;
    stats_.instance_id = instance_id_;
  }
  for (auto& [id, room] : rooms_) room->locals.clear();
  for (auto& s : servers_) {
    s->lease_held = false;
    s->leaves_to_retry.clear();  // freed already, by the reaper
  }
  UpdateConnected();
  listener_->OnFenced();
  // Each server registers the new id (now, or at its next connect).
  for (auto& s : servers_) EnsureLease(*s);
}

void Backplane::Tick() {
  tick_timer_->expires_after(absl::ToChronoNanoseconds(options_.heartbeat));
  tick_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto& s : servers_) {
      Server* server = s.get();
      if (!server->redis->connected()) continue;
      if (!Ready(*server)) EnsureLease(*server);
      // The cluster bus' live set, renewed with the lease: a set lost
      // while the lease lived (deleted, evicted) is repaired within a beat.
      if (server->index == 0 && Ready(*server)) {
        server->redis->Command({"SADD", std::string(kLiveKey), instance_id_},
                               [](absl::StatusOr<Reply>) {});
      }
      if (server->lease_held && server->registered_as == instance_id_) {
        const std::string sent_as = instance_id_;
        server->store->Heartbeat(instance_id_, options_.lease,
                                 [this, sent_as](absl::StatusOr<bool> alive) {
                                   // A heartbeat of an id already fenced says nothing new.
                                   if (alive.ok() && !*alive && sent_as == instance_id_) Fence();
                                 });
      }
      if (server->index == 0 && activity_ != nullptr) activity_->Trim();
      server->store->ReapDead([this](absl::StatusOr<std::vector<ReapedMember>> reaped) {
        if (!reaped.ok() || reaped->empty()) return;
        CURSORD_LOG(kInfo) << "backplane: freed " << reaped->size()
                           << " member(s) of dead instances";
        {
          std::lock_guard<std::mutex> lock(stats_mu_);
          stats_.reaped_members += reaped->size();
        }
        if (activity_listener_ != nullptr) activity_listener_->OnReaped(*std::move(reaped));
      });
    }
    const SteadyClock::time_point now = SteadyClock::now();
    const auto too_old = absl::ToChronoNanoseconds(options_.connection.command_timeout);
    for (auto& [id, room] : rooms_) {
      if (room->subscribed && !room->ready) ReadRoster(*room);
      // Joins waiting for a roster that does not come: refused (1013).
      std::vector<FollowedRoom::PendingJoin> keep;
      for (auto& join : room->joins) {
        if (now - join.since >= too_old) {
          join.done(Unavailable());
        } else {
          keep.push_back(std::move(join));
        }
      }
      room->joins.swap(keep);
    }
    Tick();
  });
}

void Backplane::AppendActivity(core::ActivityRecord record) {
  net::post(io_, [this, record = std::move(record)]() mutable {
    if (activity_ != nullptr) activity_->Append(std::move(record));
  });
}

// --- Rooms ---

void Backplane::Follow(std::string room) {
  net::post(io_, [this, room = std::move(room)]() mutable {
    if (servers_.empty() || rooms_.contains(room)) return;
    auto followed = std::make_unique<FollowedRoom>();
    followed->id = room;
    followed->channel = RoomChannel(room);
    followed->server = &ServerOf(room);
    rooms_by_channel_[followed->channel] = followed.get();
    followed->server->subscriber->Subscribe(followed->channel);
    rooms_.emplace(std::move(room), std::move(followed));
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.rooms_followed = rooms_.size();
  });
}

void Backplane::Unfollow(std::string room) {
  net::post(io_, [this, room = std::move(room)] {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) return;
    followed->server->subscriber->Unsubscribe(followed->channel);
    for (auto& join : followed->joins) join.done(Unavailable());
    rooms_by_channel_.erase(followed->channel);
    rooms_.erase(room);
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.rooms_followed = rooms_.size();
  });
}

void Backplane::OnSubscribed(Server& server, std::string_view channel) {
  if (server.index == 0 && channel == kControlChannel) {
    server.bus_subscribed = true;  // replies to a survey sent now reach us
    return;
  }
  auto it = rooms_by_channel_.find(absl::string_view(channel.data(), channel.size()));
  if (it == rooms_by_channel_.end()) return;  // the liveness channel, or unfollowed
  FollowedRoom& room = *it->second;
  room.subscribed = true;
  room.ready = false;
  // A roster read before this subscription may miss what was published
  // before it: read again.
  room.roster_in_flight = false;
  room.roster_epoch = 0;
  ReadRoster(room);
}

void Backplane::OnSubscriberLost(Server& server) {
  server.subscriber_up = false;
  server.bus_subscribed = false;
  UpdateConnected();
  for (auto& [id, room] : rooms_) {
    if (room->server != &server) continue;
    room->subscribed = false;
    room->ready = false;
    room->roster_in_flight = false;
    room->roster_epoch = 0;
    room->buffered.clear();
  }
}

void Backplane::ReadRoster(FollowedRoom& room) {
  if (room.roster_in_flight || !Ready(*room.server)) return;
  room.roster_in_flight = true;
  // Unique over every room ever followed: a reply to a read made before a
  // gap, or for an earlier following of the room, is told apart.
  const uint64_t epoch = ++last_roster_epoch_;
  room.roster_epoch = epoch;
  const std::string room_id = room.id;
  // The watchers hash first, on the same connection: an announcement is
  // either in it or published after it, on the channel subscribed to.
  auto watchers = std::make_shared<std::vector<WatchMessage>>();
  // The fields not expired (PublishWatch's "<expiry ms>:<flag>"); expired
  // ones are deleted.
  static constexpr std::string_view kLiveWatchers =
      "local t = redis.call('TIME') "
      "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
      "local all = redis.call('HGETALL', KEYS[1]) local out = {} "
      "for i = 1, #all, 2 do "
      "local sep = string.find(all[i + 1], ':', 1, true) "
      "local expiry = sep and tonumber(string.sub(all[i + 1], 1, sep - 1)) "
      "if expiry and expiry > now then "
      "out[#out + 1] = all[i] out[#out + 1] = string.sub(all[i + 1], sep + 1) "
      "else redis.call('HDEL', KEYS[1], all[i]) end end "
      "return out";
  room.server->redis->Command(
      {"EVAL", std::string(kLiveWatchers), "1", WatchersKey(room_id)},
      [this, watchers](absl::StatusOr<Reply> reply) {
        if (!reply.ok() || !reply->is_array()) return;
        const std::vector<Reply>& fields = reply->elements();
        for (size_t i = 0; i + 1 < fields.size(); i += 2) {
          if (!fields[i].is_string() || fields[i].str() == instance_id_) continue;
          watchers->push_back(WatchMessage{fields[i].str(), fields[i + 1].str() == "c"});
        }
      });
  room.server->store->Roster(room_id, [this, room_id, epoch, watchers](
                                          absl::StatusOr<RoomStore::Members> members) {
    FollowedRoom* room = FindRoom(room_id);
    // Unfollowed, or a gap opened, meanwhile.
    if (room == nullptr || room->roster_epoch != epoch) return;
    room->roster_in_flight = false;
    if (!room->subscribed) return;  // a gap opened meanwhile: read again after it
    if (!members.ok()) {
      // Retried by the tick; the joins waiting for it give up now.
      std::vector<FollowedRoom::PendingJoin> joins;
      joins.swap(room->joins);
      for (auto& join : joins) join.done(Unavailable());
      return;
    }
    std::vector<std::pair<uint8_t, MemberRecord>> remote;
    for (auto& [id, record] : *members) {
      if (record.instance != instance_id_) remote.emplace_back(id, std::move(record));
    }
    listener_->OnRoster(room_id, std::move(remote));
    for (WatchMessage& watch : *watchers) listener_->OnRoomMessage(room_id, std::move(watch));
    const bool again = room->had_roster;
    room->had_roster = true;
    std::vector<RoomMessage> buffered;
    buffered.swap(room->buffered);
    for (auto& message : buffered) listener_->OnRoomMessage(room_id, std::move(message));
    room->ready = true;
    std::vector<FollowedRoom::PendingJoin> joins;
    joins.swap(room->joins);
    for (auto& join : joins) {
      RunJoin(*room, std::move(join.record), join.max_members, std::move(join.done));
    }
    if (again) listener_->OnResync(room_id);
  });
}

void Backplane::OnMessage(Server& server, std::string_view channel, std::string_view payload) {
  if (server.index == 0 && channel == kControlChannel) {
    OnControlMessage(payload);
    return;
  }
  auto it = rooms_by_channel_.find(absl::string_view(channel.data(), channel.size()));
  if (it == rooms_by_channel_.end()) return;
  FollowedRoom& room = *it->second;
  absl::StatusOr<RoomMessage> message = DecodeRoomMessage(payload);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.messages_received;
    if (!message.ok()) ++stats_.bad_messages;
  }
  if (!message.ok()) return;  // a newer instance's message, or garbage: nothing to apply
  // Our own joins are applied when their reply comes, our positions when
  // they happened.
  if (const auto* join = std::get_if<JoinMessage>(&*message);
      join != nullptr && join->record.instance == instance_id_) {
    room.own_joins_seen.emplace_back(join->id, join->record.generation);
    FreeUnclaimedJoins(room);
    return;
  }
  if (const auto* positions = std::get_if<PositionsMessage>(&*message);
      positions != nullptr && positions->instance == instance_id_) {
    return;
  }
  if (const auto* state = std::get_if<StateMessage>(&*message);
      state != nullptr && (state->instance == instance_id_ ||
                           (!state->to.empty() && state->to != instance_id_))) {
    return;  // ours, or the answer to another newcomer
  }
  if (const auto* states = std::get_if<MemberStatesMessage>(&*message);
      states != nullptr && (states->instance == instance_id_ ||
                            (!states->to.empty() && states->to != instance_id_))) {
    return;  // likewise
  }
  if (const auto* watch = std::get_if<WatchMessage>(&*message);
      watch != nullptr && watch->instance == instance_id_) {
    return;
  }
  if (!room.ready) {
    if (room.subscribed) room.buffered.push_back(std::move(*message));
    return;
  }
  listener_->OnRoomMessage(room.id, std::move(*message));
}

// --- Members ---

void Backplane::Join(std::string room, MemberRecord record, int max_members, JoinDone done) {
  net::post(io_, [this, room = std::move(room), record = std::move(record), max_members,
                  done = std::move(done)]() mutable {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) {
      done(absl::FailedPreconditionError("room not followed"));
      return;
    }
    Server& server = *followed->server;
    if (!Ready(server)) {
      done(Unavailable());
      return;
    }
    if (!followed->ready) {
      followed->joins.push_back(
          {std::move(record), max_members, std::move(done), SteadyClock::now()});
      if (followed->subscribed) ReadRoster(*followed);
      return;
    }
    RunJoin(*followed, std::move(record), max_members, std::move(done));
  });
}

void Backplane::RunJoin(FollowedRoom& room, MemberRecord record, int max_members, JoinDone done) {
  const std::string room_id = room.id;
  const std::string sent_as = instance_id_;
  Server* server = room.server;
  ++room.joins_in_flight;
  room.server->store->Join(
      room_id, instance_id_, max_members, record,
      [this, room_id, sent_as, server, record, done = std::move(done)](
          absl::StatusOr<RoomStore::Joined> joined) mutable {
        // After this answer is handled: its own message may have come first.
        struct Settle {
          Backplane* self;
          std::string room;
          ~Settle() {
            if (FollowedRoom* r = self->FindRoom(room)) {
              --r->joins_in_flight;
              self->FreeUnclaimedJoins(*r);
            }
          }
        } settle{this, room_id};
        if (!joined.ok()) {
          // A join refused for want of a lease, or not answered: the
          // connection or the lease is being recovered.
          if (absl::IsFailedPrecondition(joined.status()) || absl::IsUnavailable(joined.status()) ||
              absl::IsDeadlineExceeded(joined.status()) || absl::IsCancelled(joined.status())) {
            done(Unavailable());
          } else {
            done(joined.status());
          }
          return;
        }
        FollowedRoom* room = FindRoom(room_id);
        if (sent_as != instance_id_ || room == nullptr) {
          // Fenced (or no longer following) while it ran: the member is not ours to keep.
          SendLeave(*server, room_id, joined->id, joined->generation, LeaveReason::kClosed);
          done(Unavailable());
          return;
        }
        record.instance = sent_as;
        record.generation = joined->generation;
        room->locals[joined->id] = LocalMember{joined->generation, std::move(record)};
        done(*joined);
      });
}

void Backplane::FreeUnclaimedJoins(FollowedRoom& room) {
  if (room.joins_in_flight > 0 || room.own_joins_seen.empty()) return;
  std::vector<std::pair<uint8_t, uint64_t>> seen;
  seen.swap(room.own_joins_seen);
  for (const auto& [id, generation] : seen) {
    auto it = room.locals.find(id);
    if (it != room.locals.end() && it->second.generation == generation) continue;
    // A member whose join answer was lost, or who left before its join
    // message came back (then this leave is a no-op in Redis).
    SendLeave(*room.server, room.id, id, generation, LeaveReason::kClosed);
  }
}

void Backplane::Leave(std::string room, uint8_t id, uint64_t generation, LeaveReason reason) {
  net::post(io_, [this, room = std::move(room), id, generation, reason]() mutable {
    if (servers_.empty()) return;
    if (FollowedRoom* followed = FindRoom(room)) {
      auto it = followed->locals.find(id);
      if (it == followed->locals.end() || it->second.generation != generation) return;  // fenced
      followed->locals.erase(it);
    }
    SendLeave(ServerOf(room), std::move(room), id, generation, reason);
  });
}

void Backplane::SendLeave(Server& server, std::string room, uint8_t id, uint64_t generation,
                          LeaveReason reason) {
  if (!Ready(server)) {
    server.leaves_to_retry.push_back({std::move(room), id, generation, reason});
    return;
  }
  Server* s = &server;
  const std::string room_id = room;
  server.store->Leave(room_id, instance_id_, id, generation, reason,
                      [s, room_id, id, generation, reason](absl::StatusOr<bool> freed) {
                        if (freed.ok()) return;
                        if (absl::IsInvalidArgument(freed.status())) return;
                        // Not answered: it may not have run; the retry is harmless
                        // (the script frees only the member of that generation).
                        s->leaves_to_retry.push_back({room_id, id, generation, reason});
                      });
}

// --- Traffic ---

void Backplane::PublishClick(std::string room, ClickMessage click) {
  net::post(io_, [this, room = std::move(room), click] {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) return;
    Publish(*followed->server, followed->channel, EncodeClick(click));
  });
}

void Backplane::PublishKick(std::string room, KickMessage kick) {
  net::post(io_, [this, room = std::move(room), kick = std::move(kick)] {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) return;
    absl::StatusOr<std::string> bytes = EncodeKick(kick);
    if (!bytes.ok()) return;  // a reason over 255 bytes: the control plane allows 123
    Publish(*followed->server, followed->channel, *std::move(bytes));
  });
}

void Backplane::PublishPositions(std::string room, std::vector<PositionEntry> entries) {
  net::post(io_, [this, room = std::move(room), entries = std::move(entries)]() mutable {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) return;
    PositionsMessage message{instance_id_, std::move(entries)};
    Publish(*followed->server, followed->channel, EncodePositions(message));
  });
}

void Backplane::PublishState(std::string room, std::string to, std::vector<StateEntry> entries) {
  net::post(io_, [this, room = std::move(room), to = std::move(to),
                  entries = std::move(entries)]() mutable {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) return;
    StateMessage message{instance_id_, std::move(to), std::move(entries)};
    Publish(*followed->server, followed->channel, EncodeState(message));
  });
}

void Backplane::PublishMemberStates(std::string room, std::string to,
                                    std::vector<MemberStateEntry> entries) {
  net::post(io_, [this, room = std::move(room), to = std::move(to),
                  entries = std::move(entries)]() mutable {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr) return;
    MemberStatesMessage message{instance_id_, std::move(to), std::move(entries)};
    Publish(*followed->server, followed->channel, EncodeMemberStates(message));
  });
}

void Backplane::PublishWatch(std::string room, bool cursor_moves, bool hello, bool off,
                             absl::Duration ttl) {
  net::post(io_, [this, room = std::move(room), cursor_moves, hello, off, ttl] {
    FollowedRoom* followed = FindRoom(room);
    if (followed == nullptr || !followed->server->redis->connected()) return;
    // The hash and the message in one step: a reader of the hash that
    // subscribed after it gets the message, one that read before it too.
    // Each field holds its own expiry (Redis' clock, ms) before the flag:
    // the key's expiry, pushed on by any live watcher, would keep a killed
    // one's field (WatchersKey's reader skips and deletes expired fields).
    static constexpr std::string_view kScript =
        "if ARGV[3] == '1' then redis.call('HDEL', KEYS[1], ARGV[1]) else "
        "local t = redis.call('TIME') "
        "local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + "
        "tonumber(ARGV[5]) "
        "redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', expiry) .. ':' .. ARGV[2]) "
        "redis.call('PEXPIRE', KEYS[1], ARGV[5]) end "
        "return redis.call('PUBLISH', KEYS[2], ARGV[4])";
    followed->server->redis->Command(
        {"EVAL", std::string(kScript), "2", WatchersKey(room), followed->channel, instance_id_,
         cursor_moves ? "c" : "", off ? "1" : "0",
         EncodeWatch(WatchMessage{instance_id_, cursor_moves, hello, off}),
         std::to_string(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)))},
        [](absl::StatusOr<Reply>) {});
  });
}

void Backplane::Publish(Server& server, const std::string& channel, std::string bytes) {
  if (!server.redis->connected()) {
    std::lock_guard<std::mutex> lock(stats_mu_);
    ++stats_.publish_failures;
    return;
  }
  const SteadyClock::time_point sent = SteadyClock::now();
  server.redis->Command({"PUBLISH", channel, std::move(bytes)},
                        [this, sent](absl::StatusOr<Reply> reply) {
                          const uint64_t us = static_cast<uint64_t>(
                              std::chrono::duration_cast<std::chrono::microseconds>(
                                  SteadyClock::now() - sent)
                                  .count());
                          if (reply.ok() && !reply->is_error()) publish_latency_.Observe(us);
                          std::lock_guard<std::mutex> lock(stats_mu_);
                          if (!reply.ok() || reply->is_error()) {
                            ++stats_.publish_failures;
                            return;
                          }
                          ++stats_.publishes;
                          stats_.publish_latency_us_sum += us;
                          stats_.publish_latency_us_max = std::max(stats_.publish_latency_us_max, us);
                        });
}

// --- The cluster bus ---

void Backplane::Survey(std::string op, nlohmann::json args, absl::Duration timeout,
                       SurveyDone done) {
  {
    // Stopped, the io_context runs nothing more: answer here.
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return done(absl::UnavailableError("server shutting down"));
  }
  net::post(io_, [this, op = std::move(op), args = std::move(args), timeout,
                  done = std::move(done)]() mutable {
    if (servers_.empty() || !Ready(*servers_.front()) || !servers_.front()->bus_subscribed) {
      done(Unavailable());
      return;
    }
    if (surveys_.size() + surveys_starting_ >= kMaxPendingSurveys) {
      done(absl::ResourceExhaustedError("too many cluster requests in flight"));
      return;
    }
    ++surveys_starting_;
    servers_.front()->store->LiveInstances(
        [this, op = std::move(op), args = std::move(args), timeout,
         done = std::move(done)](absl::StatusOr<std::vector<std::string>> live) mutable {
          --surveys_starting_;
          if (!live.ok()) {
            done(Unavailable());
            return;
          }
          // This instance answers itself through the bus too (one path),
          // even before its first announcement reached the set.
          if (std::find(live->begin(), live->end(), instance_id_) == live->end()) {
            live->push_back(instance_id_);
            std::sort(live->begin(), live->end());
          }
          SendSurvey(std::move(op), std::move(args), timeout, *std::move(live), std::move(done));
        });
  });
}

void Backplane::SendSurvey(std::string op, nlohmann::json args, absl::Duration timeout,
                           std::vector<std::string> to, SurveyDone done) {
  ControlMessage request;
  request.kind = ControlMessage::Kind::kRequest;
  request.id = absl::StrCat(instance_id_, "/", ++last_survey_);
  request.from = instance_id_;
  request.to = to;
  request.op = std::move(op);
  request.body = std::move(args);
  auto survey = std::make_unique<PendingSurvey>();
  survey->waiting = std::move(to);
  survey->done = std::move(done);
  survey->timer = std::make_unique<net::steady_timer>(io_);
  survey->timer->expires_after(absl::ToChronoNanoseconds(timeout));
  const std::string id = request.id;
  survey->timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) FinishSurvey(id);
  });
  surveys_.emplace(id, std::move(survey));
  PublishControl(request);
}

void Backplane::FinishSurvey(const std::string& id) {
  auto it = surveys_.find(id);
  if (it == surveys_.end()) return;
  std::unique_ptr<PendingSurvey> survey = std::move(it->second);
  surveys_.erase(it);
  survey->timer->cancel();
  survey->result.unanswered = std::move(survey->waiting);
  survey->done(std::move(survey->result));
}

void Backplane::OnControlMessage(std::string_view payload) {
  absl::StatusOr<ControlMessage> message = DecodeControlMessage(payload);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    if (!message.ok()) ++stats_.bad_messages;
  }
  if (!message.ok()) {
    uint64_t held_back = 0;
    if (bad_control_log_.Allow(core::LogThrottle::Clock::now(), &held_back)) {
      CURSORD_LOG(kWarning) << core::HeldBackNote(held_back) << "backplane: dropped a bad message on "
                            << kControlChannel << ": " << message.status().message();
    }
    return;
  }
  if (message->kind == ControlMessage::Kind::kReply) {
    auto it = surveys_.find(message->id);
    if (it == surveys_.end()) return;  // another instance's, or too late
    PendingSurvey& survey = *it->second;
    auto waiting = std::find(survey.waiting.begin(), survey.waiting.end(), message->from);
    if (waiting == survey.waiting.end()) return;  // not asked, or answered already
    survey.waiting.erase(waiting);
    if (message->status.ok()) {
      survey.result.answers.emplace(message->from, std::move(message->body));
    } else {
      survey.result.answers.emplace(message->from, message->status);
    }
    if (survey.waiting.empty()) FinishSurvey(message->id);
    return;
  }
  // Addressed to this process under any id it had: a request sent just
  // before a fence names the id from before it. The reply comes from the
  // id the request named, which is the one the requester waits for.
  auto ours = std::find_if(message->to.begin(), message->to.end(), [this](const std::string& id) {
    if (id == base_instance_id_) return true;
    if (!absl::StartsWith(id, base_instance_id_) || id.size() <= base_instance_id_.size() + 1 ||
        id[base_instance_id_.size()] != '.') {
      return false;
    }
    int n = 0;  // <id>.N for the N-th fence, one of ours
    return absl::SimpleAtoi(absl::string_view(id).substr(base_instance_id_.size() + 1), &n) &&
           n >= 1 && n <= fences_;
  });
  if (ours == message->to.end()) return;
  ControlMessage reply;
  reply.kind = ControlMessage::Kind::kReply;
  reply.id = message->id;
  reply.to = {message->from};
  reply.from = *ours;
  auto reply_shared = std::make_shared<ControlMessage>(std::move(reply));
  listener_->OnControlRequest(
      message->op, std::move(message->body),
      [this, reply_shared](absl::StatusOr<nlohmann::json> result) {
        net::post(io_, [this, reply_shared, result = std::move(result)]() mutable {
          if (result.ok()) {
            reply_shared->body = *std::move(result);
          } else {
            reply_shared->status = result.status();
          }
          PublishControl(*reply_shared);
        });
      });
}

void Backplane::PublishControl(const ControlMessage& message) {
  if (servers_.empty()) return;
  Publish(*servers_.front(), std::string(kControlChannel), EncodeControlMessage(message));
}

Backplane::Stats Backplane::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace cursord::backplane
