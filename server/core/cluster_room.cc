#include "server/core/cluster_room.h"

#include <algorithm>

namespace cursord::core {

void ClusterRoom::AddLocal(uint8_t id, uint64_t generation) {
  Remove(id);
  Member& m = members_[id];
  m.generation = generation;
  m.local = true;
  had_local_ = true;
}

void ClusterRoom::StartAwaiting() {
  awaiting_.clear();
  for (const auto& [instance, count] : members_per_instance_) {
    if (!states_received_.contains(instance)) awaiting_.insert(instance);
  }
}

void ClusterRoom::OnState(std::string_view instance) {
  states_received_.insert(std::string(instance));
  awaiting_.erase(std::string(instance));
}

bool ClusterRoom::AddRemote(uint8_t id, uint64_t generation, std::string_view instance) {
  Remove(id);
  Member& m = members_[id];
  m.generation = generation;
  m.local = false;
  m.instance = std::string(instance);
  ++remote_count_;
  return ++members_per_instance_[m.instance] == 1;
}

void ClusterRoom::Remove(uint8_t id) {
  auto found = members_.find(id);
  if (found == members_.end()) return;
  const Member& m = found->second;
  if (m.moved) --moved_count_;
  if (m.state_changed) --state_changed_count_;
  if (!m.local) {
    --remote_count_;
    auto it = members_per_instance_.find(m.instance);
    if (it != members_per_instance_.end() && --it->second == 0) members_per_instance_.erase(it);
  }
  members_.erase(found);
}

bool ClusterRoom::SetRemoteWatcher(std::string_view instance, bool cursor_moves,
                                   Clock::time_point expires) {
  auto [it, added] = remote_watchers_.try_emplace(std::string(instance));
  if (!added && it->second.cursor_moves) --cursor_watchers_;
  it->second.cursor_moves = cursor_moves;
  it->second.expires = expires;
  if (cursor_moves) ++cursor_watchers_;
  return added;
}

void ClusterRoom::RemoveRemoteWatcher(std::string_view instance) {
  auto it = remote_watchers_.find(std::string(instance));
  if (it == remote_watchers_.end()) return;
  if (it->second.cursor_moves) --cursor_watchers_;
  remote_watchers_.erase(it);
}

void ClusterRoom::ExpireRemoteWatchers(Clock::time_point now) {
  for (auto it = remote_watchers_.begin(); it != remote_watchers_.end();) {
    if (it->second.expires > now) {
      ++it;
      continue;
    }
    if (it->second.cursor_moves) --cursor_watchers_;
    remote_watchers_.erase(it++);
  }
}

std::vector<uint8_t> ClusterRoom::RemoteIds() const {
  std::vector<uint8_t> ids;
  for (const auto& [id, m] : members_) {
    if (!m.local) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool ClusterRoom::MarkMoved(uint8_t id) {
  auto it = members_.find(id);
  if (it == members_.end() || it->second.moved || !it->second.local) return false;
  it->second.moved = true;
  return ++moved_count_ == 1;
}

std::vector<uint8_t> ClusterRoom::TakeFlagged(bool Member::*flag, int& count) {
  std::vector<uint8_t> ids;
  if (count == 0) return ids;
  ids.reserve(count);
  for (auto& [id, m] : members_) {
    if (m.*flag) {
      m.*flag = false;
      ids.push_back(id);
    }
  }
  count = 0;
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<uint8_t> ClusterRoom::TakeMoved() { return TakeFlagged(&Member::moved, moved_count_); }

bool ClusterRoom::MarkStateChanged(uint8_t id) {
  auto it = members_.find(id);
  if (it == members_.end() || it->second.state_changed || !it->second.local) return false;
  it->second.state_changed = true;
  return ++state_changed_count_ == 1;
}

std::vector<uint8_t> ClusterRoom::TakeStateChanged() {
  return TakeFlagged(&Member::state_changed, state_changed_count_);
}

}  // namespace cursord::core
