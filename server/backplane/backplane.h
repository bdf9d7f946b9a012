// The backplane of one cursord instance (docs/BACKPLANE.md): its Redis
// servers, its lease on each, the rooms it follows, and the traffic of those
// rooms between this instance and the others. One owner for the cluster side
// of a room: the edge asks it to join, leave, follow and publish, and hears
// from it (BackplaneListener) what the other instances did.
//
// Per Redis server it keeps one command connection (RedisConnection, with
// the RoomStore's scripts on it) and one subscriber (RedisSubscriber); a
// room lives on the server ServerFor(room) picks, keys and channel alike.
//
// Following a room: subscribe first, then read the roster, then apply what
// arrived meanwhile (buffered here until the roster is out). The same after
// every gap the subscriber reports. Joins of a room wait for its first
// roster, so that a member's `02` holds every member that joined before it.
//
// Leases: registered on every server at its first connect, refreshed every
// `heartbeat`, reaped by the others when missing (every instance runs the
// reaper every `heartbeat`). On reconnect, the Redis process' run_id tells
// a restart (the lease and members may be gone: register again and
// reassert every local member) from a cut (the lease may have expired while
// this instance could not reach Redis: Heartbeat, and if it is gone the
// others reaped our members, so fence: OnFenced, new instance id).
//
// Threading: its own io_context and thread. The public methods may be
// called from any thread (they post); the listener is called on the
// backplane's thread and must not block (the edge posts to its shards).
#ifndef CURSORD_BACKPLANE_BACKPLANE_H_
#define CURSORD_BACKPLANE_BACKPLANE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/backplane/activity_stream.h"
#include "server/backplane/connection_options.h"
#include "server/backplane/control_message.h"
#include "server/backplane/member_record.h"
#include "server/backplane/redis_url.h"
#include "server/backplane/room_message.h"
#include "server/backplane/room_store.h"
#include "server/core/histogram.h"
#include "server/core/log_throttle.h"
#include "server/core/presence.h"

namespace cursord::backplane {

struct BackplaneOptions {
  // The --redis list (room_keys.h: ServerFor spreads rooms over it).
  std::vector<RedisEndpoint> servers;
  // This instance's name (at most kMaxInstanceName characters of A-Z a-z
  // 0-9 . _ -), or "" for the host name. Its id in Redis is the name and 8
  // random hex digits, new for every process; after fencing it registers
  // as "<id>.<n>".
  std::string instance_id;
  // The lease expires this long after the last heartbeat; the heartbeat
  // (and the reaper) run every `heartbeat`. Dead instances' members are
  // freed within lease + heartbeat.
  absl::Duration lease = absl::Seconds(3);
  absl::Duration heartbeat = absl::Seconds(1);
  // Reconnects back off from 100 ms to at most 2 s (+-20 %): after Redis
  // comes back, every instance is reconnected within 2.4 s, which leaves
  // room in the 5 s promised for full rosters again.
  ConnectionOptions connection = [] {
    ConnectionOptions o;
    o.backoff.max = absl::Seconds(2);
    return o;
  }();
  // The cluster's connection records (activity_stream.h), when
  // SetActivityListener was called.
  ActivityStream::Options activity;
};

// What the backplane tells the edge; called on the backplane's thread.
class BackplaneListener {
 public:
  virtual ~BackplaneListener() = default;
  // The members of `room` on other instances, read after (re)subscribing:
  // they replace what the room knew of other instances' members. The
  // messages that arrived meanwhile follow (OnRoomMessage), after the
  // room's watchers hash (read just before the roster) as watch messages of
  // the instances it names.
  virtual void OnRoster(const std::string& room,
                        std::vector<std::pair<uint8_t, MemberRecord>> remote) = 0;
  // A message on the room's channel that another instance caused (this
  // instance's own joins and positions are not passed on; clicks, leaves
  // and kicks carry no instance: they are the edge's to tell apart by
  // generation).
  virtual void OnRoomMessage(const std::string& room, RoomMessage message) = 0;
  // After Redis came back empty, local member (id, generation) of `room`
  // could not keep its id (another instance holds it now): close it so
  // that it rejoins.
  virtual void OnMemberLost(const std::string& room, uint8_t id, uint64_t generation) = 0;
  // The roster of `room` was read again after a gap (a lost subscription,
  // a Redis restart): what the others knew of this instance's members'
  // positions and presses may be stale; publish it (PublishState, to "").
  virtual void OnResync(const std::string& room) = 0;
  // This instance's lease expired while it could not renew it (it was
  // paused, or cut off from Redis): the others have freed its members. Close
  // every session so that clients reconnect; the instance registers anew.
  virtual void OnFenced() = 0;
  // A request of another instance's control plane (or this one's own, sent
  // to every live instance) on the cluster bus. `reply` may be called from
  // any thread, once; its result or error goes back to the requester.
  using ControlReply = std::function<void(absl::StatusOr<nlohmann::json>)>;
  virtual void OnControlRequest(const std::string& op, nlohmann::json args,
                                ControlReply reply) = 0;
};

// What every live instance answered to a Backplane::Survey.
struct SurveyResult {
  // By instance id: its result, or the error its operation ended with.
  std::map<std::string, absl::StatusOr<nlohmann::json>> answers;
  // Live instances (this one included) that did not answer in time.
  std::vector<std::string> unanswered;
};

class Backplane {
 public:
  // Figures for /metrics and GetServerInfo (core::ClusterInfo, the
  // control plane's view of them). Any thread.
  using Stats = core::ClusterInfo;

  using JoinDone = std::function<void(absl::StatusOr<RoomStore::Joined>)>;

  // INVALID_ARGUMENT for an empty server list or a bad instance id.
  static absl::StatusOr<std::unique_ptr<Backplane>> Create(BackplaneOptions options,
                                                           BackplaneListener* listener);
  ~Backplane();  // Stop()
  Backplane(const Backplane&) = delete;
  Backplane& operator=(const Backplane&) = delete;

  // Where the cluster's connection records go (activity_stream.h): set
  // before Start, or the stream is neither written nor read.
  void SetActivityListener(ActivityListener* listener) { activity_listener_ = listener; }
  // Appends a record of this instance's to the cluster's stream. Any thread.
  void AppendActivity(core::ActivityRecord record);

  // Starts the thread and the connections.
  void Start();
  // Lets what was sent before it (leaves of closed sessions) reach Redis,
  // bounded by `grace`, then closes the connections and joins the thread.
  // The listener is not called afterwards. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(1));

  // Starts following `room` (subscribe, roster). Before its first Join.
  void Follow(std::string room);
  // Stops following `room` (no member of this instance is left in it).
  void Unfollow(std::string room);
  // Gives a member of this instance an id in `room` (RoomStore::Join);
  // `done` runs on the backplane's thread. UNAVAILABLE "backplane
  // unavailable" when the room's server is not reachable or the lease is
  // not held; RESOURCE_EXHAUSTED "room full".
  void Join(std::string room, MemberRecord record, int max_members, JoinDone done);
  // Frees local member (id, generation) of `room`; retried after a
  // reconnect if Redis cannot be reached now.
  void Leave(std::string room, uint8_t id, uint64_t generation, LeaveReason reason);
  // Publishes on the room's channel, in the order of the calls (one
  // connection per server), nothing when the server is not reachable.
  void PublishClick(std::string room, ClickMessage click);
  // That the control plane is closing this instance's member (the leave
  // follows): the others tell their watchers (member_kicked).
  void PublishKick(std::string room, KickMessage kick);
  void PublishPositions(std::string room, std::vector<PositionEntry> entries);
  // The state of this instance's members in `room` for instance `to` (new
  // in the room), or for every instance (`to` empty).
  void PublishState(std::string room, std::string to, std::vector<StateEntry> entries);
  // Protocol v2's member states of this instance's members in `room`: the
  // changed ones for every instance (`to` empty), or all of them for
  // instance `to`, just before its PublishState.
  void PublishMemberStates(std::string room, std::string to,
                           std::vector<MemberStateEntry> entries);
  // That this instance watches `room` (or, `off`, no longer does): the
  // room's watchers hash (expiring after `ttl`) and a watch message, in one
  // script. Not counted in the publishes.
  void PublishWatch(std::string room, bool cursor_moves, bool hello, bool off,
                    absl::Duration ttl);

  // Sends request `op` with `args` on the cluster bus to every live
  // instance, this one included (OnControlRequest on each), and gathers
  // the replies until all are in or `timeout` passed; `done` runs once, on
  // the backplane's thread. UNAVAILABLE "backplane unavailable" when the
  // first Redis server is not ready ("server shutting down" after Stop);
  // RESOURCE_EXHAUSTED when
  // kMaxPendingSurveys are waiting already. Live: registered on the first
  // server with a lease there (RoomStore::LiveInstances).
  using SurveyDone = std::function<void(absl::StatusOr<SurveyResult>)>;
  void Survey(std::string op, nlohmann::json args, absl::Duration timeout, SurveyDone done);
  static constexpr size_t kMaxPendingSurveys = 256;

  Stats stats() const;
  // The PUBLISH round trips so far (core::kLatencyBoundsUs, microseconds),
  // added to `*into`. Any thread.
  void AddPublishLatencyTo(core::HistogramCounts* into) const { publish_latency_.AddTo(into); }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }

 private:
  struct Server;
  struct FollowedRoom;

  Backplane(BackplaneOptions options, BackplaneListener* listener);

  // Everything below runs on the backplane's thread.
  void OnCommandConnected(Server& server);
  void OnRunId(Server& server, std::string run_id);
  void EnsureLease(Server& server);
  bool Ready(const Server& server) const;
  void OnLeaseHeld(Server& server);
  void ReassertAll(Server& server);
  void OnMessage(Server& server, std::string_view channel, std::string_view payload);
  void OnSubscribed(Server& server, std::string_view channel);
  void OnSubscriberLost(Server& server);
  void ReadRoster(FollowedRoom& room);
  void RunJoin(FollowedRoom& room, MemberRecord record, int max_members, JoinDone done);
  void FreeUnclaimedJoins(FollowedRoom& room);
  void SendLeave(Server& server, std::string room, uint8_t id, uint64_t generation,
                 LeaveReason reason);
  void Publish(Server& server, const std::string& channel, std::string bytes);
  void Fence();
  void Tick();
  void OnControlMessage(std::string_view payload);
  void SendSurvey(std::string op, nlohmann::json args, absl::Duration timeout,
                  std::vector<std::string> to, SurveyDone done);
  void FinishSurvey(const std::string& id);
  void PublishControl(const ControlMessage& message);
  void UpdateConnected();
  FollowedRoom* FindRoom(const std::string& room);
  Server& ServerOf(std::string_view room);

  const BackplaneOptions options_;
  BackplaneListener* const listener_;
  std::string base_instance_id_;

  boost::asio::io_context io_{1};
  std::thread thread_;
  std::unique_ptr<boost::asio::steady_timer> tick_timer_;
  std::atomic<bool> connected_{false};
  // std::mutex rather than absl::Mutex: ThreadSanitizer sees its locking
  // (Debian's abseil is not instrumented).
  bool stopped_ = false;  // guarded by stop_mu_
  std::mutex stop_mu_;

  // Backplane thread only.
  std::vector<std::unique_ptr<Server>> servers_;
  ActivityListener* activity_listener_ = nullptr;
  std::unique_ptr<ActivityStream> activity_;  // on the first server
  absl::flat_hash_map<std::string, std::unique_ptr<FollowedRoom>> rooms_;
  absl::flat_hash_map<std::string, FollowedRoom*> rooms_by_channel_;
  std::string instance_id_;
  int fences_ = 0;
  struct PendingSurvey;
  absl::flat_hash_map<std::string, std::unique_ptr<PendingSurvey>> surveys_;
  uint64_t last_survey_ = 0;
  size_t surveys_starting_ = 0;  // reading the live instances
  // Bad messages on the bus: at most a line every 10 s (3 at once).
  core::LogThrottle bad_control_log_{0.1, 3, core::LogThrottle::Clock::now()};
  uint64_t last_roster_epoch_ = 0;

  // Written on the backplane's thread only (Publish's answers).
  core::ShardHistogram publish_latency_{core::kLatencyBoundsUs};
  mutable std::mutex stats_mu_;
  Stats stats_;  // guarded by stats_mu_
};

// The longest instance name: room for "-<8 hex digits>.<n>" within
// kMaxInstanceIdLength.
inline constexpr size_t kMaxInstanceName = 48;

// The host name, reduced to instance-id characters (at most
// kMaxInstanceName).
std::string DefaultInstanceName();

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_BACKPLANE_H_
