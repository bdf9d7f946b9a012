// The control plane's cluster-wide answers, put together from what each
// instance answered for its own members (edge::ClusterControl asks them
// over the cluster bus, docs/BACKPLANE.md "The cluster bus"). Pure code.
#ifndef CURSORD_CORE_CLUSTER_VIEW_H_
#define CURSORD_CORE_CLUSTER_VIEW_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/core/presence.h"

namespace cursord::core {

// One page of ListRooms from the instances' pages of the same query: each
// instance lists its first `limit` rooms after the query's start (counting
// its own members), so every room of the cluster's first `limit` is in the
// page of each instance that holds members of it, and its count is the sum.
// The rooms in byte order, at most `limit`; `more` when any room remains.
ListRoomsResult MergeRoomPages(std::vector<ListRoomsResult> pages, size_t limit);

// A room from each instance's snapshot of its own members there (the
// instance's id, its snapshot). Members are tagged with their instance and
// marked remote unless it is `self`; ordered by id (then instance); the
// room's creation is the earliest. NOT_FOUND when no instance had a
// member.
absl::StatusOr<RoomSnapshot> MergeRoomSnapshots(
    const std::string& room_id, const std::string& self,
    std::vector<std::pair<std::string, RoomSnapshot>> parts);

// One user of a room: its members grouped (a user with two tabs is one
// user).
struct RoomUser {
  std::string user_id;              // "" for a member without one
  std::vector<uint8_t> member_ids;  // ascending
  std::vector<std::string> names;   // distinct, in member id order
  std::vector<std::string> instances;  // distinct, in member id order
  absl::Time first_connected;
  absl::Time last_activity;
};

// The room's members by user: users with an id in byte order of it, then
// each member without one as a user of its own, by member id.
std::vector<RoomUser> GroupByUser(const RoomSnapshot& room);

}  // namespace cursord::core

#endif  // CURSORD_CORE_CLUSTER_VIEW_H_
