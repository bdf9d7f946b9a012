#include "server/core/room_watchers.h"

#include <algorithm>

namespace cursord::core {

void WatcherList::Update() {
  any_cursor_watcher_ = std::any_of(watchers_.begin(), watchers_.end(),
                                    [](const Watcher& w) { return w.cursor_moves; });
}

void WatcherList::Publish(const RoomEvent& event, bool is_cursor) {
  std::vector<std::shared_ptr<WatchSink>> dropped;
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (is_cursor && !it->cursor_moves) {
      ++it;
      continue;
    }
    if (it->sink->OnEvent(event)) {
      ++it;
    } else {
      dropped.push_back(std::move(it->sink));
      it = watchers_.erase(it);
    }
  }
  if (dropped.empty()) return;
  Update();
  for (auto& sink : dropped) {
    sink->OnDetached(absl::ResourceExhaustedError("watcher too slow; events dropped"));
  }
}

WatcherList* RoomWatchers::Find(const std::string& room_id) {
  auto it = lists_.find(room_id);
  return it == lists_.end() ? nullptr : &it->second;
}

WatcherList& RoomWatchers::Add(const std::string& room_id, std::shared_ptr<WatchSink> sink,
                               bool cursor_moves) {
  WatcherList& list = lists_[room_id];
  list.watchers_.push_back(WatcherList::Watcher{std::move(sink), cursor_moves});
  list.any_cursor_watcher_ = list.any_cursor_watcher_ || cursor_moves;
  return list;
}

bool RoomWatchers::Remove(const std::string& room_id, WatchSink* sink) {
  auto it = lists_.find(room_id);
  if (it == lists_.end()) return false;
  auto& watchers = it->second.watchers_;
  watchers.erase(std::remove_if(watchers.begin(), watchers.end(),
                                [sink](const WatcherList::Watcher& w) {
                                  return w.sink.get() == sink;
                                }),
                 watchers.end());
  it->second.Update();
  if (!watchers.empty()) return false;
  lists_.erase(it);
  return true;
}

void RoomWatchers::DetachAll(const absl::Status& status) {
  // Moved out first: a sink may call back into Remove.
  absl::node_hash_map<std::string, WatcherList> lists;
  lists.swap(lists_);
  for (auto& [id, list] : lists) {
    for (auto& watcher : list.watchers_) watcher.sink->OnDetached(status);
  }
}

}  // namespace cursord::core
