#include "server/control/watcher_registry.h"

#include "absl/strings/str_format.h"

namespace cursord::control {

WatcherRegistry::WatcherRegistry(Limits limits) : limits_(limits) {}

absl::Status WatcherRegistry::Add(const std::shared_ptr<WatchSession>& watcher) {
  if (watchers_.contains(watcher)) return absl::OkStatus();
  if (watchers_.size() >= limits_.max_watchers) {
    ++refused_server_limit_;
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the server already has %d watchers, its limit "
        "(--control-max-watchers); end a watch and try again",
        watchers_.size()));
  }
  const std::string& room_id = watcher->room_id();
  if (const size_t in_room = RoomWatchers(room_id);
      in_room >= limits_.max_watchers_per_room) {
    ++refused_room_limit_;
    return absl::ResourceExhaustedError(absl::StrFormat(
        "room \"%s\" already has %d watchers, the limit per room "
        "(--control-max-watchers-per-room); end a watch and try again",
        room_id, in_room));
  }
  ++per_room_[room_id];
  watchers_.insert(watcher);
  return absl::OkStatus();
}

bool WatcherRegistry::Remove(const std::shared_ptr<WatchSession>& watcher) {
  if (watchers_.erase(watcher) == 0) return false;
  auto it = per_room_.find(watcher->room_id());
  if (it != per_room_.end() && --it->second == 0) per_room_.erase(it);
  return true;
}

std::vector<std::shared_ptr<WatchSession>> WatcherRegistry::All() const {
  return {watchers_.begin(), watchers_.end()};
}

size_t WatcherRegistry::RoomWatchers(absl::string_view room_id) const {
  auto it = per_room_.find(room_id);
  return it == per_room_.end() ? 0 : it->second;
}

}  // namespace cursord::control
