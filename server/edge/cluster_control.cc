#include "server/edge/cluster_control.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/logging.h"
#include "server/core/cluster_view.h"
#include "server/core/join_request.h"
#include "server/core/ws_frame.h"

namespace cursord::edge {
namespace {

using nlohmann::json;

// A whole number in [0, max] from `j`, or a json type error (caught with
// the other malformed answers and requests): never a silently narrowed one.
template <typename T>
T Bounded(const json& j, uint64_t max) {
  if (!j.is_number_unsigned() || j.get<uint64_t>() > max) {
    throw json::type_error::create(302, "a number out of range", &j);
  }
  return static_cast<T>(j.get<uint64_t>());
}

// What travels on the bus (docs/BACKPLANE.md, "The cluster bus"): times in
// Unix milliseconds.
int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }
absl::Time FromMs(const json& j) { return absl::FromUnixMillis(j.get<int64_t>()); }

json ToJson(const core::MemberSnapshot& m) {
  json j = {{"id", m.id},
            {"user", m.user_id},
            {"name", m.name},
            {"color", m.color},
            {"addr", m.remote_address},
            {"connected", Ms(m.connected_at)},
            {"activity", Ms(m.last_activity)},
            {"clicking", m.clicking}};
  if (m.has_position) j["pos"] = {m.x, m.y};
  // Opaque bytes: base64, as JSON strings must be UTF-8.
  if (!m.state.empty()) j["state"] = absl::Base64Escape(m.state);
  return j;
}

core::MemberSnapshot MemberFromJson(const json& j) {
  core::MemberSnapshot m;
  m.id = Bounded<uint8_t>(j.at("id"), 255);
  m.user_id = j.at("user").get<std::string>();
  m.name = j.at("name").get<std::string>();
  m.color = j.at("color").get<std::string>();
  m.remote_address = j.at("addr").get<std::string>();
  m.connected_at = FromMs(j.at("connected"));
  m.last_activity = FromMs(j.at("activity"));
  m.clicking = j.at("clicking").get<bool>();
  if (const auto pos = j.find("pos"); pos != j.end()) {
    m.has_position = true;
    m.x = Bounded<uint16_t>(pos->at(0), 65535);
    m.y = Bounded<uint16_t>(pos->at(1), 65535);
  }
  if (const auto state = j.find("state"); state != j.end()) {
    if (!absl::Base64Unescape(state->get<std::string>(), &m.state)) {
      throw json::type_error::create(302, "state is not base64", &j);
    }
  }
  return m;
}

json ToJson(const core::RoomSnapshot& room) {
  json members = json::array();
  for (const core::MemberSnapshot& m : room.members) members.push_back(ToJson(m));
  return {{"created", Ms(room.created_at)}, {"members", std::move(members)}};
}

core::RoomSnapshot RoomFromJson(const json& j) {
  core::RoomSnapshot room;
  room.created_at = FromMs(j.at("created"));
  for (const json& m : j.at("members")) room.members.push_back(MemberFromJson(m));
  return room;
}

json ToJson(const core::ListRoomsResult& page) {
  json rooms = json::array();
  for (const core::RoomSummary& r : page.rooms) {
    rooms.push_back({{"id", r.id}, {"count", r.member_count}, {"created", Ms(r.created_at)}});
  }
  return {{"rooms", std::move(rooms)}, {"more", page.more}};
}

core::ListRoomsResult PageFromJson(const json& j) {
  core::ListRoomsResult page;
  for (const json& r : j.at("rooms")) {
    page.rooms.push_back(core::RoomSummary{r.at("id").get<std::string>(),
                                           Bounded<uint32_t>(r.at("count"), 256),
                                           FromMs(r.at("created"))});
  }
  page.more = j.at("more").get<bool>();
  return page;
}

json ToJson(const core::InstanceInfo& i) {
  return {{"version", i.version},     {"started", Ms(i.started_at)},
          {"listen", i.listen_addresses}, {"connections", i.connections},
          {"rooms", i.rooms},         {"ready", i.ready},
          {"backplane", i.backplane_connected}};
}

core::InstanceInfo InstanceFromJson(const std::string& id, const json& j) {
  core::InstanceInfo i;
  i.instance_id = id;
  i.answered = true;
  i.version = j.at("version").get<std::string>();
  i.started_at = FromMs(j.at("started"));
  i.listen_addresses = j.at("listen").get<std::vector<std::string>>();
  i.connections = j.at("connections").get<uint64_t>();
  i.rooms = j.at("rooms").get<uint64_t>();
  i.ready = j.at("ready").get<bool>();
  i.backplane_connected = j.at("backplane").get<bool>();
  return i;
}

// Runs `parse` over each answer: an instance whose answer was an error, or
// did not parse, joins the unanswered (it answered nothing usable), with
// a log line.
template <typename T, typename Parse>
std::vector<std::pair<std::string, T>> Parts(backplane::SurveyResult& survey, const char* op,
                                             Parse parse) {
  std::vector<std::pair<std::string, T>> parts;
  for (auto& [instance, answer] : survey.answers) {
    absl::Status status = answer.status();
    if (status.ok()) {
      try {
        parts.emplace_back(instance, parse(instance, *answer));
        continue;
      } catch (const json::exception& e) {
        status = absl::DataLossError(e.what());
      }
    }
    CURSORD_LOG(kWarning) << "cluster " << op << ": instance " << instance
                          << " answered with an error: " << status;
    survey.unanswered.push_back(instance);
  }
  std::sort(survey.unanswered.begin(), survey.unanswered.end());
  return parts;
}

// `what` was found on no instance: NOT_FOUND when every instance answered,
// else UNAVAILABLE naming those that did not (it may be on one of them).
absl::Status Missing(const std::string& what, const std::vector<std::string>& unanswered) {
  if (unanswered.empty()) return absl::NotFoundError(what);
  return absl::UnavailableError(absl::StrCat(what, " on the instances that answered; no answer in time from ",
                                             absl::StrJoin(unanswered, ", ")));
}

}  // namespace

void ClusterControl::ListRooms(core::ListRoomsQuery query,
                               std::function<void(absl::StatusOr<core::ListRoomsResult>)> done) {
  const size_t limit = std::max<size_t>(query.limit, 1);
  json args = {{"prefix", query.prefix}, {"start_after", query.start_after}, {"limit", limit}};
  backplane_.Survey("list_rooms", std::move(args), timeout_,
                    [limit, done = std::move(done)](absl::StatusOr<backplane::SurveyResult> survey) {
                      if (!survey.ok()) return done(survey.status());
                      auto parts = Parts<core::ListRoomsResult>(
                          *survey, "list_rooms",
                          [](const std::string&, const json& j) { return PageFromJson(j); });
                      std::vector<core::ListRoomsResult> pages;
                      for (auto& [instance, page] : parts) pages.push_back(std::move(page));
                      core::ListRoomsResult result = core::MergeRoomPages(std::move(pages), limit);
                      result.unanswered = std::move(survey->unanswered);
                      done(std::move(result));
                    });
}

void ClusterControl::GetRoom(std::string room_id,
                             std::function<void(absl::StatusOr<core::RoomSnapshot>)> done) {
  json args = {{"room", room_id}};
  backplane_.Survey(
      "get_room", std::move(args), timeout_,
      [this, room_id, done = std::move(done)](absl::StatusOr<backplane::SurveyResult> survey) {
        if (!survey.ok()) return done(survey.status());
        auto parts = Parts<core::RoomSnapshot>(
            *survey, "get_room", [](const std::string&, const json& j) { return RoomFromJson(j); });
        absl::StatusOr<core::RoomSnapshot> room =
            core::MergeRoomSnapshots(room_id, backplane_.stats().instance_id, std::move(parts));
        if (!room.ok()) return done(Missing(std::string(room.status().message()), survey->unanswered));
        room->unanswered = std::move(survey->unanswered);
        done(std::move(room));
      });
}

void ClusterControl::Close(
    std::string op, json args,
    std::function<void(absl::StatusOr<core::CloseResult>, bool found)> done) {
  const std::string name = op;
  backplane_.Survey(std::move(op), std::move(args), timeout_,
                    [name, done = std::move(done)](absl::StatusOr<backplane::SurveyResult> survey) {
                      if (!survey.ok()) return done(survey.status(), false);
                      auto parts = Parts<std::pair<int, bool>>(
                          *survey, name.c_str(), [](const std::string&, const json& j) {
                            return std::make_pair(Bounded<int>(j.at("closed"), 1 << 20),
                                                  j.at("found").get<bool>());
                          });
                      core::CloseResult result;
                      bool found = false;
                      for (const auto& [instance, part] : parts) {
                        result.closed += part.first;
                        found = found || part.second;
                      }
                      result.unanswered = std::move(survey->unanswered);
                      done(std::move(result), found);
                    });
}

void ClusterControl::KickMember(std::string room_id, uint8_t member_id, std::string reason,
                                std::function<void(absl::Status)> done) {
  json args = {{"room", room_id}, {"id", member_id}, {"reason", reason}};
  Close("kick_member", std::move(args),
        [room_id, member_id, done = std::move(done)](absl::StatusOr<core::CloseResult> result,
                                                     bool room_found) {
          if (!result.ok()) return done(result.status());
          if (result->closed > 0) return done(absl::OkStatus());
          const std::string what =
              room_found ? absl::StrCat("member ", int{member_id}, " not found in room \"", room_id, "\"")
                         : absl::StrCat("room \"", room_id, "\" not found");
          done(Missing(what, result->unanswered));
        });
}

void ClusterControl::KickUser(std::string user_id, std::string reason,
                              std::function<void(absl::StatusOr<core::CloseResult>)> done) {
  json args = {{"user", user_id}, {"reason", reason}};
  Close("kick_user", std::move(args),
        [user_id, done = std::move(done)](absl::StatusOr<core::CloseResult> result, bool) {
          if (result.ok() && result->closed == 0) {
            return done(Missing(absl::StrCat("no connection of user \"", user_id, "\""),
                                result->unanswered));
          }
          done(std::move(result));
        });
}

void ClusterControl::CloseRoom(std::string room_id, std::string reason,
                               std::function<void(absl::StatusOr<core::CloseResult>)> done) {
  json args = {{"room", room_id}, {"reason", reason}};
  Close("close_room", std::move(args),
        [room_id, done = std::move(done)](absl::StatusOr<core::CloseResult> result, bool found) {
          if (result.ok() && !found) {
            return done(Missing(absl::StrCat("room \"", room_id, "\" not found"), result->unanswered));
          }
          done(std::move(result));
        });
}

void ClusterControl::ListInstances(
    std::function<void(absl::StatusOr<core::InstancesResult>)> done) {
  backplane_.Survey(
      "info", json::object(), timeout_,
      [this, done = std::move(done)](absl::StatusOr<backplane::SurveyResult> survey) {
        if (!survey.ok()) return done(survey.status());
        auto parts = Parts<core::InstanceInfo>(*survey, "info", InstanceFromJson);
        core::InstancesResult result;
        result.self = backplane_.stats().instance_id;
        for (auto& [id, info] : parts) result.instances.push_back(std::move(info));
        for (const std::string& id : survey->unanswered) {
          core::InstanceInfo missing;
          missing.instance_id = id;
          result.instances.push_back(std::move(missing));
        }
        std::sort(result.instances.begin(), result.instances.end(),
                  [](const core::InstanceInfo& a, const core::InstanceInfo& b) {
                    return a.instance_id < b.instance_id;
                  });
        done(std::move(result));
      });
}

// Every instance holds the whole cluster's records (the stream, read
// back: activity_log.h), so this one answers alone.
void ClusterControl::ListSessions(core::SessionQuery query,
                                  std::function<void(absl::StatusOr<core::SessionPage>)> done) {
  local_.ListSessions(std::move(query), std::move(done));
}

// --- This instance's part ---

void ClusterControl::Handle(const std::string& op, json args,
                            backplane::BackplaneListener::ControlReply reply) {
  // The count of a local kick or close: what NOT_FOUND means here is that
  // this instance has none of it (FAILED_PRECONDITION: the member is
  // another instance's).
  auto counted = [reply](const absl::Status& status, int closed, bool found) {
    if (!status.ok() && !absl::IsNotFound(status) && !absl::IsFailedPrecondition(status)) {
      return reply(status);
    }
    reply(json{{"closed", closed}, {"found", found}});
  };
  // What the gRPC service checks, checked again: a request on the bus may
  // come from anyone who can publish to Redis.
  auto reason_of = [&args]() {
    std::string reason = args.at("reason").get<std::string>();
    if (reason.size() > core::kMaxCloseReasonBytes) {
      throw json::type_error::create(302, "reason too long", &args);
    }
    return reason;
  };
  try {
    if (op == "info") {
      return reply(ToJson(local_.DescribeSelf()));
    }
    if (op == "list_rooms") {
      core::ListRoomsQuery query;
      query.prefix = args.at("prefix").get<std::string>();
      query.start_after = args.at("start_after").get<std::string>();
      // At most the control API's page size (1000): every instance gives
      // the whole page the requester asked for, or paging is not exact.
      query.limit = std::max<size_t>(Bounded<size_t>(args.at("limit"), 1000), 1);
      return local_.ListLocalRooms(std::move(query), [reply](core::ListRoomsResult page) {
        reply(ToJson(page));
      });
    }
    if (op == "kick_user") {
      std::string user = args.at("user").get<std::string>();
      if (!core::ValidateUserId("user", user).ok()) {
        return reply(absl::InvalidArgumentError("bad user id"));
      }
      return local_.KickUser(std::move(user), reason_of(),
                             [counted](absl::StatusOr<core::CloseResult> result) {
                               counted(result.status(), result.ok() ? result->closed : 0,
                                       result.ok());
                             });
    }
    // The other operations name a room.
    const std::string room = args.at("room").get<std::string>();
    if (!core::IsValidRoomId(room)) return reply(absl::InvalidArgumentError("bad room id"));
    if (op == "get_room") {
      return local_.GetLocalRoom(room, [reply](absl::StatusOr<core::RoomSnapshot> snapshot) {
        if (absl::IsNotFound(snapshot.status())) return reply(ToJson(core::RoomSnapshot{}));
        if (!snapshot.ok()) return reply(snapshot.status());
        reply(ToJson(*snapshot));
      });
    }
    if (op == "kick_member") {
      return local_.KickMember(room, Bounded<uint8_t>(args.at("id"), 255), reason_of(),
                               [counted](absl::Status status) {
                                 // The room is here when the member is not
                                 // (or is another instance's).
                                 const bool room_here =
                                     status.ok() || absl::IsFailedPrecondition(status) ||
                                     (absl::IsNotFound(status) &&
                                      absl::StartsWith(status.message(), "member "));
                                 counted(status, status.ok() ? 1 : 0, room_here);
                               });
    }
    if (op == "close_room") {
      return local_.CloseRoom(room, reason_of(),
                              [counted](absl::StatusOr<core::CloseResult> result) {
                                counted(result.status(), result.ok() ? result->closed : 0,
                                        result.ok());
                              });
    }
  } catch (const json::exception& e) {
    return reply(absl::InvalidArgumentError(absl::StrCat("bad arguments for ", op, ": ", e.what())));
  }
  reply(absl::UnimplementedError(absl::StrCat("unknown operation \"", op, "\"")));
}

}  // namespace cursord::edge
