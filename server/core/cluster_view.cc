#include "server/core/cluster_view.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cursord::core {

ListRoomsResult MergeRoomPages(std::vector<ListRoomsResult> pages, size_t limit) {
  std::map<std::string, RoomSummary> rooms;
  bool more = false;
  for (ListRoomsResult& page : pages) {
    more = more || page.more;
    for (RoomSummary& room : page.rooms) {
      auto [it, inserted] = rooms.try_emplace(room.id, room);
      if (inserted) continue;
      it->second.member_count += room.member_count;
      it->second.created_at = std::min(it->second.created_at, room.created_at);
    }
  }
  ListRoomsResult result;
  for (auto& [id, room] : rooms) {
    if (result.rooms.size() == limit) {
      more = true;
      break;
    }
    result.rooms.push_back(std::move(room));
  }
  result.more = more;
  return result;
}

absl::StatusOr<RoomSnapshot> MergeRoomSnapshots(
    const std::string& room_id, const std::string& self,
    std::vector<std::pair<std::string, RoomSnapshot>> parts) {
  RoomSnapshot room;
  room.id = room_id;
  bool found = false;
  for (auto& [instance, part] : parts) {
    if (part.members.empty()) continue;
    room.created_at = found ? std::min(room.created_at, part.created_at) : part.created_at;
    found = true;
    for (MemberSnapshot& member : part.members) {
      member.instance = instance;
      member.remote = instance != self;
      room.members.push_back(std::move(member));
    }
  }
  if (!found) return absl::NotFoundError(absl::StrCat("room \"", room_id, "\" not found"));
  std::sort(room.members.begin(), room.members.end(),
            [](const MemberSnapshot& a, const MemberSnapshot& b) {
              return a.id != b.id ? a.id < b.id : a.instance < b.instance;
            });
  return room;
}

std::vector<RoomUser> GroupByUser(const RoomSnapshot& room) {
  std::map<std::string, RoomUser> named;
  std::vector<RoomUser> anonymous;
  auto add_unique = [](std::vector<std::string>& list, const std::string& value) {
    if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) {
      list.push_back(value);
    }
  };
  std::vector<const MemberSnapshot*> members;
  for (const MemberSnapshot& m : room.members) members.push_back(&m);
  std::sort(members.begin(), members.end(),
            [](const MemberSnapshot* a, const MemberSnapshot* b) { return a->id < b->id; });
  for (const MemberSnapshot* m : members) {
    RoomUser* user;
    if (m->user_id.empty()) {
      anonymous.emplace_back();
      user = &anonymous.back();
    } else {
      auto [it, inserted] = named.try_emplace(m->user_id);
      user = &it->second;
      if (inserted) user->user_id = m->user_id;
    }
    const bool first = user->member_ids.empty();
    user->member_ids.push_back(m->id);
    add_unique(user->names, m->name);
    add_unique(user->instances, m->instance);
    user->first_connected = first ? m->connected_at : std::min(user->first_connected, m->connected_at);
    user->last_activity = first ? m->last_activity : std::max(user->last_activity, m->last_activity);
  }
  std::vector<RoomUser> users;
  for (auto& [id, user] : named) users.push_back(std::move(user));
  for (RoomUser& user : anonymous) users.push_back(std::move(user));
  return users;
}

}  // namespace cursord::core
