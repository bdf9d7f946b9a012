// Who watches the rooms of a shard (the control plane's WatchRoom): the one
// owner of the watchers' sinks.
//
// A watch is on a room id, not on a Room object: a room that empties is
// destroyed, and when it fills again its watchers see the new joins. So the
// lists live here, keyed by room id, and a live Room only points at its
// list (WatcherList) to publish without a lookup.
//
// Thread ownership: one per shard, on the shard's thread.
#ifndef CURSORD_CORE_ROOM_WATCHERS_H_
#define CURSORD_CORE_ROOM_WATCHERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "server/core/presence.h"

namespace cursord::core {

// The watchers of one room.
class WatcherList {
 public:
  // Delivers `event` to the watchers that want it (cursor moves only to
  // those that asked); a sink that refuses is detached at once with
  // RESOURCE_EXHAUSTED, so a slow watcher costs the room one failed call.
  void Publish(const RoomEvent& event, bool is_cursor);

  bool empty() const { return watchers_.empty(); }
  size_t size() const { return watchers_.size(); }
  // Whether any watcher wants cursor moves (checked per move).
  bool any_cursor_watcher() const { return any_cursor_watcher_; }

 private:
  friend class RoomWatchers;
  struct Watcher {
    std::shared_ptr<WatchSink> sink;
    bool cursor_moves = false;
  };
  void Update();

  std::vector<Watcher> watchers_;
  bool any_cursor_watcher_ = false;
};

class RoomWatchers {
 public:
  // The list of `room_id`, or null when nobody watches it.
  WatcherList* Find(const std::string& room_id);

  // Adds a watcher of `room_id`; returns its list (whose address stays
  // valid until the list is erased by Remove).
  WatcherList& Add(const std::string& room_id, std::shared_ptr<WatchSink> sink,
                   bool cursor_moves);

  // Removes `sink` from `room_id`'s list. Returns true when the list was
  // erased (it became empty): a room that pointed at it must forget it.
  bool Remove(const std::string& room_id, WatchSink* sink);

  // Ends every watch with `status` (shutdown).
  void DetachAll(const absl::Status& status);

  size_t rooms() const { return lists_.size(); }

 private:
  // Node-based: a Room keeps a pointer to its list across rehashes.
  absl::node_hash_map<std::string, WatcherList> lists_;
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_ROOM_WATCHERS_H_
