#include "server/core/room.h"

#include <algorithm>

#include "absl/status/status.h"
#include "server/core/member_color.h"
#include "server/core/wire.h"

namespace cursord::core {

Room::Room(std::string id, int max_members, absl::Time now, Counter* coalesced,
           Counter* state_coalesced)
    : id_(std::move(id)),
      created_at_(now),
      coalesced_(coalesced),
      state_coalesced_(state_coalesced),
      ids_(max_members) {}

Room::~Room() = default;

std::optional<uint8_t> Room::Join(RoomMember* member, MemberIdentity identity, absl::Time now) {
  std::optional<uint8_t> id = ids_.Allocate();
  if (!id) return std::nullopt;
  Admit(*id, member, std::move(identity), now);
  return id;
}

bool Room::JoinAs(uint8_t id, RoomMember* member, MemberIdentity identity, absl::Time now) {
  if (!ids_.Claim(id)) return false;
  Admit(id, member, std::move(identity), now);
  return true;
}

bool Room::JoinRemote(uint8_t id, MemberIdentity identity, absl::Time now) {
  return JoinAs(id, nullptr, std::move(identity), now);
}

void Room::Admit(uint8_t id, RoomMember* member, MemberIdentity identity, absl::Time now) {
  if (records_.size() <= id) {
    records_.resize(id + 1);
    positions_.resize(id + 1);
    states_.resize(id + 1);
  }
  auto record = std::make_unique<Record>();
  record->member = member;
  record->identity = std::move(identity);
  record->connected_at = now;
  record->last_activity = now;
  AppendMemberInfoFrame(record->info_frame, id,
                        MemberColor(record->identity.color, record->identity.user_id,
                                    record->identity.name, id),
                        record->identity.user_id, record->identity.name);
  std::string joined;
  AppendIdFrame(joined, MessageType::kUserJoined, id);
  const Record& admitted = *record;
  records_[id] = std::move(record);
  positions_[id] = Position{};
  states_[id].clear();

  if (member != nullptr) SendJoinSequence(member, id);
  for (const auto& [other_id, other] : active_) {
    other->outbox.PushEvent(joined);
    // v2 members are told who it is, right behind its `03`.
    if (other->v2()) other->outbox.PushEvent(admitted.info_frame);
    other->WakeSoon();
  }
  if (member != nullptr) active_.emplace_back(id, member);

  if (watched()) {
    RoomEvent event;
    event.kind = RoomEventKind::kJoined;
    event.time = now;
    event.member = SnapshotMember(id);
    watchers_->Publish(event, false);
  }
}

void Room::SendJoinSequence(RoomMember* member, uint8_t id) {
  // Its outbox is fresh, so order is simple: 01, 02, then every other
  // member's position and press.
  std::string frames;
  AppendIdFrame(frames, MessageType::kInitialConnection, id);
  uint8_t ids[256];
  size_t count = 0;
  for (size_t i = 0; i < records_.size(); ++i) {
    if (records_[i]) ids[count++] = static_cast<uint8_t>(i);
  }
  AppendUserListFrame(frames, ids, count);
  const bool v2 = member->v2();
  if (v2) {
    // Who everyone is, the newcomer included.
    for (size_t i = 0; i < count; ++i) frames.append(records_[ids[i]]->info_frame);
  }
  // Every other member, local or remote, in id order.
  for (size_t i = 0; i < records_.size(); ++i) {
    if (i == id || !records_[i]) continue;
    const Record& r = *records_[i];
    const uint8_t other_id = static_cast<uint8_t>(i);
    if (r.has_position) {
      AppendCursorFrame(frames, other_id, positions_[other_id].x, positions_[other_id].y);
    }
    if (r.clicking) AppendIdFrame(frames, MessageType::kStartedClicking, other_id);
    if (v2 && !states_[i].empty()) AppendMemberStateFrame(frames, other_id, states_[i]);
  }
  member->outbox.PushEvent(frames);
  member->Wake();
}

void Room::Leave(uint8_t id, absl::Time now) {
  if (id >= records_.size() || !records_[id]) return;
  if (RoomMember* leaving = records_[id]->member) {
    leaving->outbox.DropAllCursors();
    active_.erase(std::find_if(active_.begin(), active_.end(),
                               [id](const auto& entry) { return entry.first == id; }));
  }
  records_[id].reset();
  std::string().swap(states_[id]);
  ids_.Release(id);
  // Keep the tables no longer than the highest id in use.
  while (!records_.empty() && !records_.back()) {
    records_.pop_back();
    positions_.pop_back();
    states_.pop_back();
  }

  std::string left;
  AppendIdFrame(left, MessageType::kUserLeft, id);
  for (const auto& [other_id, other] : active_) {
    // Nothing of `id` may follow `04 id`: its pending position and state go.
    other->outbox.DropCursor(id);
    other->outbox.PushEvent(left);
    other->WakeSoon();
  }
  if (watched()) {
    RoomEvent event;
    event.kind = RoomEventKind::kLeft;
    event.time = now;
    event.member.id = id;
    watchers_->Publish(event, false);
  }
}

void Room::Cursor(uint8_t from, uint16_t x, uint16_t y, absl::Time now) {
  Record& record = *records_[from];
  record.has_position = true;
  record.last_activity = now;
  positions_[from] = Position{x, y};
  uint64_t coalesced = 0;
  for (const auto& [other_id, other] : active_) {
    if (other_id == from) continue;
    if (other->outbox.MarkCursor(from)) {
      other->Wake();
    } else {
      ++coalesced;
    }
  }
  if (coalesced) coalesced_->Add(coalesced);
  if (watchers_ != nullptr && watchers_->any_cursor_watcher()) {
    RoomEvent event;
    event.kind = RoomEventKind::kCursorMoved;
    event.time = now;
    event.member.id = from;
    event.member.has_position = true;
    event.member.x = x;
    event.member.y = y;
    watchers_->Publish(event, true);
  }
}

void Room::Click(uint8_t from, bool down, absl::Time now) {
  Record& record = *records_[from];
  record.clicking = down;
  record.last_activity = now;
  std::string frame;
  AppendIdFrame(frame, down ? MessageType::kStartedClicking : MessageType::kStoppedClicking,
                from);
  for (const auto& [other_id, other] : active_) {
    if (other_id == from) continue;
    other->outbox.PushEvent(frame, from, tables());
    other->Wake();
  }
  if (watched()) {
    RoomEvent event;
    event.kind = down ? RoomEventKind::kClickStarted : RoomEventKind::kClickStopped;
    event.time = now;
    event.member.id = from;
    watchers_->Publish(event, false);
  }
}

void Room::SetState(uint8_t from, std::string_view state, absl::Time now) {
  Record& record = *records_[from];
  record.last_activity = now;
  states_[from].assign(state.data(), state.size());
  uint64_t coalesced = 0;
  for (const auto& [other_id, other] : active_) {
    if (other_id == from || !other->v2()) continue;
    if (other->outbox.MarkState(from)) {
      other->Wake();
    } else {
      ++coalesced;
    }
  }
  if (coalesced && state_coalesced_ != nullptr) state_coalesced_->Add(coalesced);
  if (watchers_ != nullptr && watchers_->any_cursor_watcher()) {
    RoomEvent event;
    event.kind = RoomEventKind::kStateChanged;
    event.time = now;
    event.member.id = from;
    event.member.state = states_[from];
    watchers_->Publish(event, true);
  }
}

void Room::NotifyKicked(uint8_t id, const std::string& reason, absl::Time now) {
  if (!watched()) return;
  RoomEvent event;
  event.kind = RoomEventKind::kKicked;
  event.time = now;
  event.member.id = id;
  event.reason = reason;
  watchers_->Publish(event, false);
}

RoomMember* Room::member(uint8_t id) const {
  return id < records_.size() && records_[id] ? records_[id]->member : nullptr;
}

MemberSnapshot Room::SnapshotMember(uint8_t id) const {
  const Record& r = *records_[id];
  MemberSnapshot m;
  m.id = id;
  m.user_id = r.identity.user_id;
  m.name = r.identity.name;
  m.color = r.identity.color;
  m.remote_address = r.identity.remote_address;
  m.connected_at = r.connected_at;
  m.last_activity = r.last_activity;
  m.has_position = r.has_position;
  m.x = positions_[id].x;
  m.y = positions_[id].y;
  m.clicking = r.clicking;
  m.state = states_[id];
  m.remote = r.member == nullptr;
  return m;
}

RoomSnapshot Room::Snapshot() const {
  RoomSnapshot snapshot;
  snapshot.id = id_;
  snapshot.created_at = created_at_;
  snapshot.members.reserve(active_.size());
  for (size_t i = 0; i < records_.size(); ++i) {
    if (records_[i]) snapshot.members.push_back(SnapshotMember(static_cast<uint8_t>(i)));
  }
  return snapshot;
}

RoomSummary Room::Summary() const {
  return RoomSummary{id_, static_cast<uint32_t>(member_count()), created_at_};
}

}  // namespace cursord::core
