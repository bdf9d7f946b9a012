#include "server/core/presence_events.h"

#include <utility>


namespace cursord::core {

std::string_view PresenceEventName(PresenceEventKind kind) {
  switch (kind) {
    case PresenceEventKind::kRoomOccupied: return "room_occupied";
    case PresenceEventKind::kUserEntered: return "user_entered";
    case PresenceEventKind::kUserLeft: return "user_left";
    case PresenceEventKind::kRoomVacated: return "room_vacated";
  }
  return "";
}

std::string PresenceEventId(const PresenceEvent& event) {
  std::string id = event.session_id;
  id += '.';
  id += PresenceEventName(event.kind);
  return id;
}

bool ShouldAnnounce(const ActivityRecord& record, bool live, std::string_view self) {
  return live && record.recorded_by == self;
}

namespace {

PresenceEvent EventOf(PresenceEventKind kind, const ActivityRecord& record, bool user_event) {
  PresenceEvent event;
  event.kind = kind;
  event.room = record.room;
  if (user_event) {
    event.user_id = record.user_id;
    event.name = record.name;
    event.color = record.color;
  }
  event.instance = record.instance;
  event.session_id = record.session_id;
  event.time = record.time;
  return event;
}

// "instance\0room\0id": the member a session is, while it is open.
std::string MemberKey(const ActivityRecord& record) {
  std::string key = record.instance;
  key += '\0';
  key += record.room;
  key += '\0';
  key += std::to_string(record.member_id);
  return key;
}

}  // namespace

bool PresenceTracker::Close(absl::flat_hash_map<std::string, Session>::iterator session,
                            const ActivityRecord& cause, std::vector<PresenceEvent>* out) {
  // The join's room and user, which the counts were taken under.
  const Session opened = std::move(session->second);
  if (auto by_member = by_member_.find(opened.member_key);
      by_member != by_member_.end() && by_member->second == session->first) {
    by_member_.erase(by_member);
  }
  sessions_.erase(session);
  auto room = rooms_.find(opened.room);
  if (room == rooms_.end()) return false;  // cannot happen: the join counted it
  if (!opened.user_id.empty()) {
    auto user = room->second.users.find(opened.user_id);
    if (user != room->second.users.end() && --user->second == 0) {
      room->second.users.erase(user);
      // Its own leave, or (superseded) its join's identity at the time of
      // the join that superseded it.
      const bool own = cause.session_id == opened.join.session_id;
      PresenceEvent left = EventOf(PresenceEventKind::kUserLeft, own ? cause : opened.join, true);
      if (!own) left.time = cause.time;
      out->push_back(std::move(left));
    }
  }
  if (--room->second.sessions > 0) return false;
  rooms_.erase(room);
  return true;
}

void PresenceTracker::Apply(const ActivityRecord& record, std::vector<PresenceEvent>* out) {
  if (record.kind == ActivityKind::kJoined) {
    if (sessions_.contains(record.session_id)) return;  // already open
    std::string member_key = MemberKey(record);
    bool still_occupied = false;  // the room emptied by a superseded session only
    if (auto previous = by_member_.find(member_key); previous != by_member_.end()) {
      // Superseded: that session's leave was lost.
      auto session = sessions_.find(previous->second);
      if (session != sessions_.end() && session->second.user_id == record.user_id) {
        // The same user in the same room: this session takes its place,
        // with nothing to announce.
        sessions_.erase(session);
        previous->second = record.session_id;
        sessions_.emplace(record.session_id,
                          Session{record.room, record.user_id, std::move(member_key), record});
        return;
      }
      if (session != sessions_.end()) still_occupied = Close(session, record, out);
    }
    sessions_.emplace(record.session_id, Session{record.room, record.user_id, member_key, record});
    by_member_[member_key] = record.session_id;
    RoomState& room = rooms_[record.room];
    if (room.sessions++ == 0 && !still_occupied) {
      out->push_back(EventOf(PresenceEventKind::kRoomOccupied, record, false));
    }
    if (!record.user_id.empty() && room.users[record.user_id]++ == 0) {
      out->push_back(EventOf(PresenceEventKind::kUserEntered, record, true));
    }
    return;
  }
  auto session = sessions_.find(record.session_id);
  if (session == sessions_.end()) return;  // not open: a duplicate leave
  const std::string room = session->second.room;
  if (Close(session, record, out)) {
    PresenceEvent vacated = EventOf(PresenceEventKind::kRoomVacated, record, false);
    vacated.room = room;
    out->push_back(std::move(vacated));
  }
}

}  // namespace cursord::core
