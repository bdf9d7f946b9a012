// The open WatchRoom streams, and whether one more may open. Pure: no
// locks, no I/O; ControlService owns one under its mutex.
//
// Bounds: at most `max_watchers` streams on the server and at most
// `max_watchers_per_room` on one room. A stream past either is refused with
// RESOURCE_EXHAUSTED, and the refusal is counted, so that neither a script
// gone wrong nor a hostile client with control-plane access can hold an
// unbounded number of streams (each holds a buffer of up to 1024 events,
// a few hundred kilobytes when full, and a gRPC stream).
#ifndef CURSORD_CONTROL_WATCHER_REGISTRY_H_
#define CURSORD_CONTROL_WATCHER_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/control/watch_session.h"

namespace cursord::control {

class WatcherRegistry {
 public:
  struct Limits {
    size_t max_watchers = 1024;
    size_t max_watchers_per_room = 64;
  };

  explicit WatcherRegistry(Limits limits);

  // Registers `watcher` on its room. RESOURCE_EXHAUSTED, with a message
  // naming the limit, when the server or the room is at its limit (the
  // server's limit is checked first); OK and no change if it is already
  // registered.
  absl::Status Add(const std::shared_ptr<WatchSession>& watcher);

  // Forgets `watcher`. True if it was registered, false if it was not (or
  // was already removed), so that of several paths that end a stream
  // exactly one releases it.
  bool Remove(const std::shared_ptr<WatchSession>& watcher);

  // Every registered watcher, in no particular order.
  std::vector<std::shared_ptr<WatchSession>> All() const;

  size_t size() const { return watchers_.size(); }
  size_t RoomWatchers(absl::string_view room_id) const;

  // Refusals since construction, by the limit that refused.
  uint64_t refused_server_limit() const { return refused_server_limit_; }
  uint64_t refused_room_limit() const { return refused_room_limit_; }

 private:
  const Limits limits_;
  absl::flat_hash_set<std::shared_ptr<WatchSession>> watchers_;
  // Only rooms with at least one watcher have an entry.
  absl::flat_hash_map<std::string, size_t> per_room_;
  uint64_t refused_server_limit_ = 0;
  uint64_t refused_room_limit_ = 0;
};

}  // namespace cursord::control

#endif  // CURSORD_CONTROL_WATCHER_REGISTRY_H_
