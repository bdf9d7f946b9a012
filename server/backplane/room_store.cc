#include "server/backplane/room_store.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "server/backplane/room_keys.h"
#include "server/backplane/room_scripts.h"
#include "server/core/join_request.h"

namespace cursord::backplane {
namespace {

using internal::LuaScript;

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// The status an error reply stands for.
absl::Status ErrorReplyStatus(const char* what, const Reply& reply) {
  const std::string& message = reply.str();
  if (absl::StartsWith(message, internal::kNoLeaseError)) {
    return absl::FailedPreconditionError(absl::StrCat("redis ", what, ": ", message));
  }
  // Redis cannot serve now, but will: as an unreachable server.
  for (const char* transient : {"LOADING", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN"}) {
    if (absl::StartsWith(message, transient)) {
      return absl::UnavailableError(absl::StrCat("redis ", what, ": ", message));
    }
  }
  return absl::InternalError(absl::StrCat("redis ", what, ": ", message));
}

absl::Status Unexpected(const char* what, const Reply& reply) {
  return absl::InternalError(
      absl::StrCat("redis ", what, ": unexpected reply ", reply.DebugString()));
}

// A connection's `done` that turns the reply into a T with `parse`
// (absl::StatusOr<T>(const Reply&)), after the failures every call shares.
template <typename T, typename Parse>
RedisConnection::Done Answer(const char* what, RoomStore::Done<T> done, Parse parse) {
  return [what, done = std::move(done), parse](absl::StatusOr<Reply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (reply->is_error()) return done(ErrorReplyStatus(what, *reply));
    done(parse(*reply));
  };
}

// An integer reply, as a bool (1 or 0).
auto ParseFlag(const char* what) {
  return [what](const Reply& reply) -> absl::StatusOr<bool> {
    if (!reply.is_integer() || reply.integer() < 0 || reply.integer() > 1) {
      return Unexpected(what, reply);
    }
    return reply.integer() == 1;
  };
}

absl::StatusOr<RoomStore::Joined> ParseJoined(const Reply& reply) {
  if (reply.is_integer() && reply.integer() == -1) {
    return absl::ResourceExhaustedError("room full");
  }
  const std::vector<Reply>& e = reply.elements();
  if (!reply.is_array() || e.size() != 2 || !e[0].is_integer() || !e[1].is_integer() ||
      e[0].integer() < 0 || e[0].integer() > 255 || e[1].integer() < 1) {
    return Unexpected("join", reply);
  }
  return RoomStore::Joined{static_cast<uint8_t>(e[0].integer()),
                           static_cast<uint64_t>(e[1].integer())};
}

absl::StatusOr<RoomStore::Members> ParseMembers(const Reply& reply) {
  const std::vector<Reply>& e = reply.elements();
  if (!reply.is_array() || e.size() % 2 != 0) return Unexpected("HGETALL", reply);
  RoomStore::Members members;
  for (size_t i = 0; i < e.size(); i += 2) {
    int id = -1;
    if (!e[i].is_string() || !e[i + 1].is_string() || !absl::SimpleAtoi(e[i].str(), &id) ||
        id < 0 || id > 255) {
      return Unexpected("HGETALL", reply);
    }
    absl::StatusOr<MemberRecord> record = DecodeMemberRecord(e[i + 1].str());
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat("the record of member ", id, ": ", record.status().message()));
    }
    members.emplace(static_cast<uint8_t>(id), *std::move(record));
  }
  return members;
}

// Runs `script` with EVALSHA; a NOSCRIPT answer (the script did not run)
// is retried once with EVAL, which also caches it again.
void Eval(RedisConnection* redis, const LuaScript& script, std::vector<std::string> keys,
          std::vector<std::string> args, RedisConnection::Done done) {
  std::vector<std::string> command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha1);
  command.push_back(std::to_string(keys.size()));
  for (std::string& key : keys) command.push_back(std::move(key));
  for (std::string& arg : args) command.push_back(std::move(arg));
  std::vector<std::string> first = command;
  // `redis` is alive whenever a reply (not CANCELLED) arrives.
  redis->Command(std::move(first), [redis, &script, command = std::move(command),
                                    done = std::move(done)](absl::StatusOr<Reply> reply) mutable {
    if (reply.ok() && reply->is_error() && absl::StartsWith(reply->str(), "NOSCRIPT")) {
      command[0] = "EVAL";
      command[1] = script.body;
      redis->Command(std::move(command), std::move(done));
      return;
    }
    done(std::move(reply));
  });
}

absl::StatusOr<std::vector<std::string>> ParseStrings(const Reply& reply) {
  if (!reply.is_array()) return Unexpected("SMEMBERS", reply);
  std::vector<std::string> strings;
  for (const Reply& element : reply.elements()) {
    if (!element.is_string()) return Unexpected("SMEMBERS", reply);
    strings.push_back(element.str());
  }
  return strings;
}

// Runs the reap script for each of `instances`, all pipelined; `done` gets
// the members freed once every answer is in (or the first failure: the
// other scripts ran all the same).
void ReapEach(RedisConnection* redis, const std::vector<std::string>& instances,
              RoomStore::Done<std::vector<ReapedMember>> done) {
  if (instances.empty()) return done(std::vector<ReapedMember>{});
  struct Tally {
    size_t remaining = 0;
    std::vector<ReapedMember> freed;
    absl::Status status;
    RoomStore::Done<std::vector<ReapedMember>> done;
  };
  auto tally = std::make_shared<Tally>();
  tally->remaining = instances.size();
  tally->done = std::move(done);
  for (const std::string& instance : instances) {
    RoomStore::Done<std::vector<std::string>> counted =
        [tally, instance](absl::StatusOr<std::vector<std::string>> freed) {
      if (!freed.ok() && tally->status.ok()) tally->status = freed.status();
      if (freed.ok()) {
        for (const std::string& entry : *freed) {
          ReapedMember member;
          member.instance = instance;
          if (ParseIndexEntry(entry, &member.room, &member.id, &member.generation)) {
            tally->freed.push_back(std::move(member));
          }
        }
      }
      if (--tally->remaining > 0) return;
      // Members freed are news even when another script failed.
      if (tally->status.ok() || !tally->freed.empty()) return tally->done(tally->freed);
      tally->done(tally->status);
    };
    const InstanceKeys keys = KeysOfInstance(instance);
    Eval(redis, internal::ReapScript(), {keys.lease, keys.members, std::string(kInstancesKey)},
         {instance},
         Answer<std::vector<std::string>>("reap", std::move(counted), ParseStrings));
  }
}

absl::Status CheckInstance(std::string_view instance) {
  if (IsValidInstanceId(instance)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid instance id \"", Absl(instance), "\""));
}

absl::Status CheckRoom(std::string_view room) {
  if (core::IsValidRoomId(room)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("invalid room id \"", Absl(room), "\""));
}

absl::Status CheckRoomAndInstance(std::string_view room, std::string_view instance) {
  if (absl::Status valid = CheckRoom(room); !valid.ok()) return valid;
  return CheckInstance(instance);
}

// The bytes of `record` as a member of `room` owned by `instance` under
// `generation`, after the checks of the arguments.
absl::StatusOr<std::string> ClaimedRecord(std::string_view room, std::string_view instance,
                                          uint64_t generation, MemberRecord record) {
  if (absl::Status valid = CheckRoomAndInstance(room, instance); !valid.ok()) return valid;
  record.instance = std::string(instance);
  record.generation = generation;
  return EncodeMemberRecord(record);
}

// The keys of the scripts that claim an id (join, reassert).
std::vector<std::string> ClaimKeys(std::string_view room, std::string_view instance) {
  RoomKeys room_keys = KeysOfRoom(room);
  InstanceKeys instance_keys = KeysOfInstance(instance);
  return {std::move(room_keys.ids),         std::move(room_keys.members),
          std::move(room_keys.generation),  std::move(instance_keys.lease),
          std::move(instance_keys.members), std::string(kInstancesKey)};
}

// The lease of a valid `instance` in whole milliseconds (at least 1).
absl::StatusOr<int64_t> LeaseMilliseconds(std::string_view instance, absl::Duration lease) {
  if (absl::Status valid = CheckInstance(instance); !valid.ok()) return valid;
  const int64_t ms = absl::ToInt64Milliseconds(lease);
  if (ms < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a lease of ", absl::FormatDuration(lease), ": at least 1ms"));
  }
  return ms;
}

}  // namespace

RoomStore::RoomStore(boost::asio::io_context& io, RedisConnection* redis)
    : io_(io), redis_(redis) {}

template <typename T>
void RoomStore::FailLater(Done<T> done, absl::Status status) {
  boost::asio::post(io_, [done = std::move(done), status = std::move(status)] { done(status); });
}

void RoomStore::LoadScriptsOnce() {
  const uint64_t connects = redis_->stats().connects;
  if (!redis_->connected() || connects == scripts_loaded_at_connect_) return;
  scripts_loaded_at_connect_ = connects;
  for (const LuaScript* script : internal::AllScripts()) {
    // Sent ahead of the EVALSHA that follows on the same connection, so
    // that finds it; the answer (the SHA-1 we already know) is not needed.
    redis_->Command({"SCRIPT", "LOAD", script->body}, [](absl::StatusOr<Reply>) {});
  }
}

void RoomStore::RunScript(const internal::LuaScript& script, std::vector<std::string> keys,
                          std::vector<std::string> args, RedisConnection::Done done) {
  LoadScriptsOnce();
  Eval(redis_, script, std::move(keys), std::move(args), std::move(done));
}

void RoomStore::Register(std::string_view instance, absl::Duration lease, Done<bool> done) {
  absl::StatusOr<int64_t> ms = LeaseMilliseconds(instance, lease);
  if (!ms.ok()) return FailLater(std::move(done), ms.status());
  redis_->Command(
      {"SET", KeysOfInstance(instance).lease, "alive", "PX", std::to_string(*ms), "NX"},
      Answer<bool>("SET", std::move(done), [](const Reply& reply) -> absl::StatusOr<bool> {
        if (reply.is_nil()) return false;
        if (reply.is_status() && reply.str() == "OK") return true;
        return Unexpected("SET", reply);
      }));
}

void RoomStore::Heartbeat(std::string_view instance, absl::Duration lease, Done<bool> done) {
  absl::StatusOr<int64_t> ms = LeaseMilliseconds(instance, lease);
  if (!ms.ok()) return FailLater(std::move(done), ms.status());
  redis_->Command({"PEXPIRE", KeysOfInstance(instance).lease, std::to_string(*ms)},
                  Answer<bool>("PEXPIRE", std::move(done), ParseFlag("PEXPIRE")));
}

void RoomStore::Join(std::string_view room, std::string_view instance, int max_members,
                     MemberRecord record, Done<Joined> done) {
  // Generation 0: the script writes the one Redis hands out.
  absl::StatusOr<std::string> bytes = ClaimedRecord(room, instance, 0, std::move(record));
  if (bytes.ok() && (max_members < 1 || max_members > 256)) {
    bytes =
        absl::InvalidArgumentError(absl::StrCat("max_members ", max_members, " is outside 1..256"));
  }
  if (!bytes.ok()) return FailLater(std::move(done), bytes.status());
  RunScript(internal::JoinScript(), ClaimKeys(room, instance),
            {RoomChannel(room), std::string(room), std::string(instance),
             std::to_string(max_members), *std::move(bytes)},
            Answer<Joined>("join", std::move(done), ParseJoined));
}

void RoomStore::Leave(std::string_view room, std::string_view instance, uint8_t id,
                      uint64_t generation, LeaveReason reason, Done<bool> done) {
  if (absl::Status valid = CheckRoomAndInstance(room, instance); !valid.ok()) {
    return FailLater(std::move(done), valid);
  }
  const RoomKeys room_keys = KeysOfRoom(room);
  RunScript(internal::LeaveScript(),
            {room_keys.ids, room_keys.members, KeysOfInstance(instance).members},
            {room_keys.channel, std::string(room), std::string(instance), std::to_string(id),
             std::to_string(generation), std::to_string(static_cast<int>(reason))},
            Answer<bool>("leave", std::move(done), ParseFlag("leave")));
}

void RoomStore::Roster(std::string_view room, Done<Members> done) {
  if (absl::Status valid = CheckRoom(room); !valid.ok()) {
    return FailLater(std::move(done), valid);
  }
  redis_->Command({"HGETALL", KeysOfRoom(room).members},
                  Answer<Members>("HGETALL", std::move(done), ParseMembers));
}

void RoomStore::ReapDead(Done<std::vector<ReapedMember>> done) {
  LoadScriptsOnce();
  redis_->Command({"SMEMBERS", std::string(kInstancesKey)},
                  Answer<std::vector<std::string>>(
                      "SMEMBERS",
                      [redis = redis_, done](absl::StatusOr<std::vector<std::string>> instances) {
                        if (!instances.ok()) return done(instances.status());
                        ReapEach(redis, *instances, done);
                      },
                      ParseStrings));
}

void RoomStore::LiveInstances(Done<std::vector<std::string>> done) {
  RunScript(internal::LiveScript(), {std::string(kLiveKey)}, {},
            Answer<std::vector<std::string>>("live", std::move(done), ParseStrings));
}

void RoomStore::Reassert(std::string_view room, std::string_view instance, uint8_t id,
                         uint64_t generation, MemberRecord record, Done<bool> done) {
  absl::StatusOr<std::string> bytes = ClaimedRecord(room, instance, generation, std::move(record));
  if (bytes.ok() && generation == 0) {
    bytes = absl::InvalidArgumentError("generation 0: generations start at 1");
  }
  if (!bytes.ok()) return FailLater(std::move(done), bytes.status());
  RunScript(internal::ReassertScript(), ClaimKeys(room, instance),
            {RoomChannel(room), std::string(room), std::string(instance), std::to_string(id),
             *std::move(bytes)},
            Answer<bool>("reassert", std::move(done), ParseFlag("reassert")));
}

}  // namespace cursord::backplane
