// The cluster's connection records (docs/CONTROL_API.md, "Connection
// records"): one Redis stream, cursord:activity, on the first --redis
// server (the one that carries the cluster bus). Every instance appends
// the joins and leaves of its own sessions (XADD, capped at about
// --activity-records entries, trimmed by --activity-max-age), and reads the
// whole stream back (XREAD, polled), so that every instance holds every
// instance's records in the one order the stream gave them: ListSessions,
// WatchActivity and the webhooks all answer from that copy.
//
// The members of a dead instance are freed by whichever instance's reaper
// ran the reap script (RoomStore::ReapDead): that instance writes their
// leaves, with reason instance_died (ActivityListener::OnReaped).
//
// Threading: the backplane's thread, like the RedisConnection it uses.
#ifndef CURSORD_BACKPLANE_ACTIVITY_STREAM_H_
#define CURSORD_BACKPLANE_ACTIVITY_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/backplane/redis_connection.h"
#include "server/backplane/room_store.h"
#include "server/core/activity.h"

namespace cursord::backplane {

inline constexpr std::string_view kActivityStreamKey = "cursord:activity";

// What the backplane tells the edge's connection records; called on the
// backplane's thread, must not block.
class ActivityListener {
 public:
  virtual ~ActivityListener() = default;
  // Records read from the stream, in its order, each with its entry id as
  // its position. `live` is false for those that were in the stream
  // already when this instance began reading it (history).
  virtual void OnActivity(std::vector<core::ActivityRecord> records, bool live) = 0;
  // Members of dead instances that this instance's reaper freed (another
  // instance's reaper never frees the same one).
  virtual void OnReaped(std::vector<ReapedMember> members) = 0;
  // Entries up to `position` were trimmed from the stream (XINFO STREAM's
  // max-deleted-entry-id, read when reading begins and at every trim): a
  // reader resuming from before it may have missed some. `skipped` when
  // this instance had not read them all (it was cut off from Redis while
  // the stream went on and was trimmed): what it reads next follows a gap.
  virtual void OnDroppedThrough(std::string position, bool skipped) = 0;
};

// A record as the fields of a stream entry: field, value, field, value...
std::vector<std::string> ActivityEntryFields(const core::ActivityRecord& record);
// The record of stream entry `id` with those fields (position = id).
// INVALID_ARGUMENT, naming the field, for an entry no cursord wrote.
absl::StatusOr<core::ActivityRecord> ActivityFromEntry(
    std::string id, const std::vector<std::pair<std::string, std::string>>& fields);

class ActivityStream {
 public:
  struct Options {
    size_t max_records = 10000;              // XADD MAXLEN ~
    absl::Duration max_age = absl::Hours(24);  // XTRIM MINID ~, every Trim
    absl::Duration poll = absl::Milliseconds(50);
    // Records waiting while the first server cannot be reached: the
    // oldest go first when more wait.
    size_t max_pending = 10000;
    size_t read_batch = 1000;
  };

  struct Stats {
    uint64_t appended = 0;   // XADDs answered
    uint64_t dropped = 0;    // records that never reached Redis (pending full)
    uint64_t read = 0;       // entries read back
    uint64_t bad_entries = 0;
  };

  ActivityStream(boost::asio::io_context& io, RedisConnection* redis, Options options,
                 ActivityListener* listener);
  ~ActivityStream() { *alive_ = false; }
  ActivityStream(const ActivityStream&) = delete;
  ActivityStream& operator=(const ActivityStream&) = delete;

  // Begins reading (now and every `poll`).
  void Start();
  // Appends `record`: now when connected, else once connected again. A
  // record whose XADD was lost with the connection is sent again (the
  // reader drops what it sees twice: sessions are unique).
  void Append(core::ActivityRecord record);
  // The connection to the first server (re)connected.
  void OnConnected();
  // Drops entries older than max_age (called every heartbeat).
  void Trim();
  // Going away: reads the stream on to its end (this instance's last
  // records included: they were sent before on this connection) and hands
  // what it read to the listener, then runs `done`. Not run if the stream
  // is destroyed first.
  void ReadRest(std::function<void()> done);

  const Stats& stats() const { return stats_; }

 private:
  void Send(core::ActivityRecord record);
  // Sends the records waiting, once the boundary is known and connected.
  void SendPending();
  void Poll();
  void ReadBoundary();
  void ReadTrimmed();
  void Read();
  void ScheduleRead();
  void OnEntries(const Reply& reply);
  // Hands XREAD's entries to the listener; returns how many there were.
  size_t Deliver(const Reply& reply);

  boost::asio::io_context& io_;
  RedisConnection* const redis_;
  const Options options_;
  ActivityListener* const listener_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::deque<core::ActivityRecord> pending_;
  // "" until the newest entry at start is known: entries up to it are
  // history.
  std::string boundary_;
  std::pair<uint64_t, uint64_t> boundary_position_{0, 0};
  std::string last_id_ = "0-0";
  bool reading_ = false;
  Stats stats_;
  // Callbacks of commands still in flight when this is destroyed check it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_ACTIVITY_STREAM_H_
