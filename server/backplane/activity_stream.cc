#include "server/backplane/activity_stream.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"

namespace cursord::backplane {
namespace {

namespace net = boost::asio;

std::string Millis(absl::Time t) { return absl::StrCat(absl::ToUnixMillis(t)); }

absl::Status BadField(std::string_view field) {
  return absl::InvalidArgumentError(absl::StrCat("activity entry: bad or missing \"", std::string(field), "\""));
}

}  // namespace

std::vector<std::string> ActivityEntryFields(const core::ActivityRecord& r) {
  std::vector<std::string> f = {
      "kind", r.kind == core::ActivityKind::kJoined ? "join" : "leave",
      "time", Millis(r.time),
      "session", r.session_id,
      "room", r.room,
      "member", absl::StrCat(r.member_id),
      "user", r.user_id,
      "name", r.name,
      "color", r.color,
      "instance", r.instance,
      "address", r.remote_address,
      "since", Millis(r.connected_at),
      "by", r.recorded_by,
  };
  if (r.kind == core::ActivityKind::kLeft) {
    f.insert(f.end(), {"reason", std::string(core::EndReasonName(r.reason)), "code",
                       absl::StrCat(r.close_code)});
  }
  return f;
}

absl::StatusOr<core::ActivityRecord> ActivityFromEntry(
    std::string id, const std::vector<std::pair<std::string, std::string>>& fields) {
  core::ActivityRecord r;
  if (!core::ParseActivityPosition(id)) return BadField("id");
  r.position = std::move(id);
  bool have_kind = false;
  bool have_session = false;
  for (const auto& [name, value] : fields) {
    int64_t ms = 0;
    uint32_t number = 0;
    if (name == "kind") {
      if (value != "join" && value != "leave") return BadField(name);
      r.kind = value == "join" ? core::ActivityKind::kJoined : core::ActivityKind::kLeft;
      have_kind = true;
    } else if (name == "time" || name == "since") {
      if (!absl::SimpleAtoi(value, &ms)) return BadField(name);
      (name == "time" ? r.time : r.connected_at) = absl::FromUnixMillis(ms);
    } else if (name == "session") {
      r.session_id = value;
      have_session = !value.empty();
    } else if (name == "room") {
      r.room = value;
    } else if (name == "member") {
      if (!absl::SimpleAtoi(value, &number) || number > 255) return BadField(name);
      r.member_id = static_cast<uint8_t>(number);
    } else if (name == "user") {
      r.user_id = value;
    } else if (name == "name") {
      r.name = value;
    } else if (name == "color") {
      r.color = value;
    } else if (name == "instance") {
      r.instance = value;
    } else if (name == "address") {
      r.remote_address = value;
    } else if (name == "by") {
      r.recorded_by = value;
    } else if (name == "reason") {
      auto reason = core::EndReasonFromName(value);
      if (!reason) return BadField(name);
      r.reason = *reason;
    } else if (name == "code") {
      if (!absl::SimpleAtoi(value, &number) || number > 65535) return BadField(name);
      r.close_code = static_cast<uint16_t>(number);
    }
    // Fields of a later version are skipped.
  }
  if (!have_kind) return BadField("kind");
  if (!have_session) return BadField("session");
  return r;
}

ActivityStream::ActivityStream(net::io_context& io, RedisConnection* redis, Options options,
                               ActivityListener* listener)
    : io_(io), redis_(redis), options_(options), listener_(listener) {}

void ActivityStream::Start() {
  timer_ = std::make_unique<net::steady_timer>(io_);
  Poll();
}

void ActivityStream::Append(core::ActivityRecord record) {
  // Until the boundary is known, this instance's records wait: one sent
  // before it would be taken for history.
  if (!redis_->connected() || !pending_.empty() || boundary_.empty()) {
    pending_.push_back(std::move(record));
    while (pending_.size() > options_.max_pending) {
      pending_.pop_front();
      ++stats_.dropped;
    }
    SendPending();
    return;
  }
  Send(std::move(record));
}

void ActivityStream::OnConnected() {
  if (boundary_.empty()) return;  // ReadBoundary does all this
  // Before the next read on this connection: whether what was trimmed
  // while it was away had been read.
  ReadTrimmed();
  SendPending();
}

void ActivityStream::SendPending() {
  if (boundary_.empty()) return;  // ReadBoundary sends them
  while (!pending_.empty() && redis_->connected()) {
    core::ActivityRecord record = std::move(pending_.front());
    pending_.pop_front();
    Send(std::move(record));
  }
}

void ActivityStream::Send(core::ActivityRecord record) {
  std::vector<std::string> args = {"XADD", std::string(kActivityStreamKey), "MAXLEN", "~",
                                   absl::StrCat(options_.max_records), "*"};
  std::vector<std::string> fields = ActivityEntryFields(record);
  args.insert(args.end(), std::make_move_iterator(fields.begin()),
              std::make_move_iterator(fields.end()));
  redis_->Command(std::move(args), [this, alive = alive_, record = std::move(record)](
                                       absl::StatusOr<Reply> reply) mutable {
    if (!*alive) return;
    if (reply.ok() && reply->is_string()) {
      ++stats_.appended;
      return;
    }
    if (reply.ok()) {
      // An error reply (a key of another type, a Redis out of memory):
      // sending it again would fail again.
      CURSORD_LOG(kWarning) << "backplane: activity record not stored: " << reply->DebugString();
      ++stats_.dropped;
      return;
    }
    if (reply.status().code() == absl::StatusCode::kCancelled) return;
    // Lost with the connection (it may have been stored: the readers drop
    // a second copy): once connected again.
    pending_.push_back(std::move(record));
  });
}

void ActivityStream::Trim() {
  if (!redis_->connected()) return;
  const int64_t oldest = absl::ToUnixMillis(absl::Now() - options_.max_age);
  redis_->Command({"XTRIM", std::string(kActivityStreamKey), "MINID", "~",
                   absl::StrCat(std::max<int64_t>(oldest, 0), "-0")},
                  [](absl::StatusOr<Reply>) {});
  // What was trimmed: a reader resuming before it may have missed records.
  ReadTrimmed();
}

void ActivityStream::Poll() {
  if (reading_) return;
  if (!redis_->connected()) return ScheduleRead();
  if (boundary_.empty()) return ReadBoundary();
  Read();
}

void ActivityStream::ScheduleRead() {
  if (timer_ == nullptr) return;
  timer_->expires_after(absl::ToChronoNanoseconds(options_.poll));
  timer_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    Poll();
  });
}

// The newest entry when reading begins: it and everything before it are
// history (rebuilt into the copy, not news to announce).
void ActivityStream::ReadBoundary() {
  reading_ = true;
  redis_->Command({"XREVRANGE", std::string(kActivityStreamKey), "+", "-", "COUNT", "1"},
                  [this, alive = alive_](absl::StatusOr<Reply> reply) {
                    if (!*alive) return;
                    reading_ = false;
                    if (!reply.ok() || !reply->is_array()) return ScheduleRead();
                    boundary_ = "0-0";
                    if (!reply->elements().empty() && reply->elements()[0].is_array() &&
                        !reply->elements()[0].elements().empty()) {
                      boundary_ = reply->elements()[0].elements()[0].str();
                    }
                    boundary_position_ =
                        core::ParseActivityPosition(boundary_).value_or(std::make_pair(0, 0));
                    ReadTrimmed();
                    Read();
                    SendPending();  // the records that waited for the boundary
                  });
}

// XINFO STREAM's reply: a flat field/value array (Redis 7).
void ActivityStream::ReadTrimmed() {
  redis_->Command({"XINFO", "STREAM", std::string(kActivityStreamKey)},
                  [this, alive = alive_](absl::StatusOr<Reply> reply) {
                    if (!*alive || !reply.ok() || !reply->is_array()) return;
                    const auto& flat = reply->elements();
                    for (size_t i = 0; i + 1 < flat.size(); i += 2) {
                      if (flat[i].str() == "max-deleted-entry-id" && flat[i + 1].is_string() &&
                          flat[i + 1].str() != "0-0") {
                        // What was trimmed up to the boundary is history,
                        // not a gap; past it, past what was read is.
                        const auto deleted = core::ParseActivityPosition(flat[i + 1].str());
                        const auto read = core::ParseActivityPosition(last_id_);
                        const bool skipped =
                            deleted && read && *deleted > std::max(*read, boundary_position_);
                        listener_->OnDroppedThrough(flat[i + 1].str(), skipped);
                      }
                    }
                  });
}

void ActivityStream::Read() {
  reading_ = true;
  redis_->Command({"XREAD", "COUNT", absl::StrCat(options_.read_batch), "STREAMS",
                   std::string(kActivityStreamKey), last_id_},
                  [this, alive = alive_](absl::StatusOr<Reply> reply) {
                    if (!*alive) return;
                    reading_ = false;
                    if (!reply.ok()) return ScheduleRead();
                    OnEntries(*reply);
                  });
}

void ActivityStream::ReadRest(std::function<void()> done) {
  if (boundary_.empty() || !redis_->connected()) return done();
  // From where this reader is now: a read still in flight may hand over
  // some of the same entries again, which the listener drops (sessions are
  // unique).
  redis_->Command({"XREAD", "COUNT", absl::StrCat(options_.read_batch), "STREAMS",
                   std::string(kActivityStreamKey), last_id_},
                  [this, alive = alive_, done = std::move(done)](absl::StatusOr<Reply> reply) {
                    if (!*alive) return;
                    if (reply.ok() && Deliver(*reply) == options_.read_batch) {
                      return ReadRest(done);
                    }
                    done();
                  });
}

void ActivityStream::OnEntries(const Reply& reply) {
  // A full batch: more is waiting.
  if (Deliver(reply) == options_.read_batch) return Read();
  ScheduleRead();
}

// XREAD's reply: nil, or [[key, [[id, [field, value, ...]], ...]]].
size_t ActivityStream::Deliver(const Reply& reply) {
  size_t count = 0;
  std::vector<core::ActivityRecord> history;
  std::vector<core::ActivityRecord> live;
  if (reply.is_array() && !reply.elements().empty() && reply.elements()[0].is_array() &&
      reply.elements()[0].elements().size() == 2) {
    for (const Reply& entry : reply.elements()[0].elements()[1].elements()) {
      if (!entry.is_array() || entry.elements().size() != 2) continue;
      const std::string& id = entry.elements()[0].str();
      last_id_ = id;
      ++count;
      ++stats_.read;
      std::vector<std::pair<std::string, std::string>> fields;
      const auto& flat = entry.elements()[1].elements();
      for (size_t i = 0; i + 1 < flat.size(); i += 2) {
        fields.emplace_back(flat[i].str(), flat[i + 1].str());
      }
      absl::StatusOr<core::ActivityRecord> record = ActivityFromEntry(id, fields);
      if (!record.ok()) {
        ++stats_.bad_entries;
        continue;
      }
      const bool old = core::ParseActivityPosition(id).value_or(std::make_pair(0, 0)) <=
                       boundary_position_;
      (old ? history : live).push_back(*std::move(record));
    }
  }
  if (!history.empty()) listener_->OnActivity(std::move(history), /*live=*/false);
  if (!live.empty()) listener_->OnActivity(std::move(live), /*live=*/true);
  return count;
}

}  // namespace cursord::backplane
