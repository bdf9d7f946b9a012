// The Redis side of room membership (docs/BACKPLANE.md, "Keys of room R",
// "Scripts", "Failures"): ids, member records and generations of rooms,
// instance leases, and the reaper of dead instances' members, over the
// command connection to the one Redis server that holds them.
//
// Every membership change is one Lua script that changes the keys and
// publishes the event (room_message.h) on the room's channel in the same
// atomic step, so every subscriber sees the changes in the order Redis
// made them. The scripts are loaded with SCRIPT LOAD once per connection
// (the first call after each connect sends it ahead of its EVALSHA, on the
// same pipelined connection) and run with EVALSHA; a NOSCRIPT answer (SCRIPT
// FLUSH, or a Redis that lost its script cache without the connection
// noticing) is retried once with EVAL, which runs and caches the script. A
// NOSCRIPT means the script did not run, so the retry is safe; it does send
// the call behind whatever was sent on the connection meanwhile.
//
// Leases: an instance Register()s a lease key with a TTL and Heartbeat()s it
// with PEXPIRE (Redis' clock: instance clocks do not matter). A missing
// lease means the instance was presumed dead (and may have been reaped):
// Heartbeat answers false, and Join and Reassert refuse with
// FAILED_PRECONDITION, so an instance that was paused past its lease cannot
// add a member after the reaper freed its others. Such an instance fences
// itself and registers under a new id. Only after Redis itself lost the
// lease (a restart without persistence: the connection was lost and came
// back) does the same instance Register again and Reassert its members.
//
// Errors a `done` can get, besides the connection's (UNAVAILABLE,
// DEADLINE_EXCEEDED, CANCELLED: redis_connection.h; a call that failed so
// may or may not have run; a Join that ran then holds an id its caller
// never learnt of, listed in the instance's index, until the instance
// leaves it or is reaped):
//   INVALID_ARGUMENT    a bad room or instance id, max_members outside
//                       1..256, a record field too long, a zero generation;
//                       found at once, nothing sent;
//   RESOURCE_EXHAUSTED  "room full": Join found no free id below max_members;
//   FAILED_PRECONDITION the instance has no lease (Join, Reassert);
//   UNAVAILABLE         also Redis answering that it cannot serve now
//                       (LOADING, BUSY, READONLY, MASTERDOWN, TRYAGAIN);
//   INTERNAL            any other error reply, or a reply of the wrong shape;
//   DATA_LOSS           (Roster) a stored record that does not decode (say,
//                       of a newer version).
//
// Threading: as RedisConnection. Construct anywhere; call, and destroy, on
// the connection's io_context thread; every `done` runs on that thread,
// never inside a call to this class. The connection must outlive the
// calls' `done`s running (destroying it runs them with CANCELLED); the
// store may be destroyed at any time (pending calls hold nothing of it).
#ifndef CURSORD_BACKPLANE_ROOM_STORE_H_
#define CURSORD_BACKPLANE_ROOM_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "server/backplane/member_record.h"
#include "server/backplane/redis_connection.h"
#include "server/backplane/room_message.h"

namespace cursord::backplane {

// A member the reaper freed: it was `instance`'s, in `room`, with that id.
struct ReapedMember {
  std::string instance;
  std::string room;
  uint8_t id = 0;
  uint64_t generation = 0;
};

namespace internal {
struct LuaScript;
}  // namespace internal

class RoomStore {
 public:
  // A member as Join made it.
  struct Joined {
    uint8_t id = 0;
    uint64_t generation = 0;
  };
  // A room's members by id.
  using Members = std::map<uint8_t, MemberRecord>;

  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;

  // `redis` is the command connection to the server that holds the rooms
  // this store is asked about (room_keys.h: ServerFor); not owned.
  RoomStore(boost::asio::io_context& io, RedisConnection* redis);
  RoomStore(const RoomStore&) = delete;
  RoomStore& operator=(const RoomStore&) = delete;

  // Creates `instance`'s lease, expiring after `lease` (at least 1 ms)
  // unless refreshed: true. False when it exists already (left as it is).
  void Register(std::string_view instance, absl::Duration lease, Done<bool> done);

  // Refreshes `instance`'s lease to expire after `lease`: true. False when
  // the lease is gone (expired: the instance may have been reaped and must
  // fence itself; nothing is created).
  void Heartbeat(std::string_view instance, absl::Duration lease, Done<bool> done);

  // Gives a member of `instance` the lowest free id of `room` below
  // `max_members` (1..256) and the room's next generation, stores `record`
  // (its instance and generation are set here) and publishes the join
  // (id, generation, record) on the room's channel. RESOURCE_EXHAUSTED
  // "room full" when every id below max_members is taken.
  void Join(std::string_view room, std::string_view instance, int max_members, MemberRecord record,
            Done<Joined> done);

  // Frees member `id` of `room` if its record still names `instance` and
  // `generation` (only the owner frees an id; a late or repeated leave
  // frees nothing), and publishes the leave with `reason`. True if it freed
  // the member.
  void Leave(std::string_view room, std::string_view instance, uint8_t id, uint64_t generation,
             LeaveReason reason, Done<bool> done);

  // Every member of `room` (HGETALL).
  void Roster(std::string_view room, Done<Members> done);

  // For each instance in cursord:instances whose lease is missing: frees
  // each of its members whose record still names it, publishing a leave
  // (reason kReaped) for each, then forgets the instance. One script per
  // dead instance, which checks the lease itself: idempotent, and safe when
  // several instances reap at once. The members it freed (another reaper
  // running at once frees none of them).
  void ReapDead(Done<std::vector<ReapedMember>> done);

  // The cluster bus' live instances (kLiveKey: those whose lease exists),
  // sorted; dead ones are dropped from the set on the way.
  void LiveInstances(Done<std::vector<std::string>> done);

  // After Redis came back (possibly empty): claims `id` of `room` for
  // `instance`'s member of `generation` if the id is free or already
  // `instance`'s: the bit, the record (instance and generation set here),
  // the index, and the room's counter raised to at least `generation`; the
  // join is published if the record changed. False when another instance
  // holds the id: the caller closes its member so that it rejoins.
  void Reassert(std::string_view room, std::string_view instance, uint8_t id, uint64_t generation,
                MemberRecord record, Done<bool> done);

 private:
  // Sends SCRIPT LOAD for every script if this connection was not yet given
  // them since it last connected.
  void LoadScriptsOnce();
  // LoadScriptsOnce, then `script` with EVALSHA (EVAL after NOSCRIPT).
  void RunScript(const internal::LuaScript& script, std::vector<std::string> keys,
                 std::vector<std::string> args, RedisConnection::Done done);
  // Runs `done` with `status` from a posted handler.
  template <typename T>
  void FailLater(Done<T> done, absl::Status status);

  boost::asio::io_context& io_;
  RedisConnection* const redis_;
  // The connection's stats().connects when the scripts were last loaded
  // (0: never). Io thread.
  uint64_t scripts_loaded_at_connect_ = 0;
};

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_ROOM_STORE_H_
