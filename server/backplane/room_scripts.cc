#include "server/backplane/room_scripts.h"

#include <openssl/evp.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/backplane/member_record.h"
#include "server/backplane/room_keys.h"
#include "server/backplane/room_message.h"

namespace cursord::backplane::internal {
namespace {

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// What every script starts with: the shared constants and helpers. The
// $NAMES are replaced with the C++ constants (Preamble()).
constexpr char kPreamble[] = R"lua(
local RECORD_VERSION = $RECORD_VERSION
local GEN_AT = $GEN_OFFSET + 1            -- 1-based offsets into a record
local INSTANCE_AT = $INSTANCE_OFFSET + 1
local MESSAGE_VERSION = $MESSAGE_VERSION
local JOIN = $JOIN
local LEAVE = $LEAVE
local CLOSED = $CLOSED
local REAPED = $REAPED

-- string.format('%d'): tostring() would write 1e+15 from 10^15 on.
local function dec(n) return string.format('%d', n) end
local function be64(n) return struct.pack('>I8', n) end

local function room_keys(room)
  return {ids = '$PREFIX' .. room .. '$IDS', members = '$PREFIX' .. room .. '$MEMBERS',
          gen = '$PREFIX' .. room .. '$GENKEY', channel = '$PREFIX' .. room .. '$CHANNEL'}
end

local function index_entry(room, id, gen) return room .. '\0' .. dec(id) .. '\0' .. dec(gen) end

-- The owner of a stored record: its instance and generation; nil for bytes
-- this version does not know (no script frees or overwrites those).
local function owner(record)
  if #record < INSTANCE_AT or string.byte(record, 1) ~= RECORD_VERSION then return nil, nil end
  local n = string.byte(record, INSTANCE_AT)
  local gen = struct.unpack('>I8', record, GEN_AT)
  return string.sub(record, INSTANCE_AT + 1, INSTANCE_AT + n), gen
end

-- A join carries the record's own generation bytes in its header.
local function join_message(id, record)
  return string.char(MESSAGE_VERSION, JOIN, id) .. string.sub(record, GEN_AT, GEN_AT + 7) .. record
end

local function leave_message(id, gen, reason)
  return string.char(MESSAGE_VERSION, LEAVE, id) .. be64(gen) .. string.char(reason)
end

-- Frees member `id` of the room with keys `k` if its record still names
-- `instance` and `gen`. The index entry goes either way: if the record
-- names someone else, the entry is stale.
local function free(k, room, index, instance, id, gen, reason)
  redis.call('SREM', index, index_entry(room, id, gen))
  local record = redis.call('HGET', k.members, dec(id))
  if not record then return 0 end
  local who, g = owner(record)
  if who ~= instance or g ~= gen then return 0 end
  redis.call('SETBIT', k.ids, id, 0)
  redis.call('HDEL', k.members, dec(id))
  redis.call('PUBLISH', k.channel, leave_message(id, gen, reason))
  return 1
end

local function has_lease(key)
  return redis.call('EXISTS', key) == 1
end
local NO_LEASE = '$NOLEASE the instance has no lease (expired, or never registered)'
)lua";

// BITPOS answers 0 for a missing key, and for a bitmap without a clear bit
// the first bit past its end (256 for 32 bytes; -1 only with an explicit
// end): both are "no id below max". Then the bit, the generation, the
// record (generation filled in), the index, the instance set and the
// event, in one step.
constexpr char kJoin[] = R"lua(
if not has_lease(KEYS[4]) then return redis.error_reply(NO_LEASE) end
local id = redis.call('BITPOS', KEYS[1], 0)
if id < 0 or id >= tonumber(ARGV[4]) then return -1 end
redis.call('SETBIT', KEYS[1], id, 1)
local gen = redis.call('INCR', KEYS[3])
local record = string.sub(ARGV[5], 1, GEN_AT - 1) .. be64(gen) .. string.sub(ARGV[5], GEN_AT + 8)
redis.call('HSET', KEYS[2], dec(id), record)
redis.call('SADD', KEYS[5], index_entry(ARGV[2], id, gen))
redis.call('SADD', KEYS[6], ARGV[3])
redis.call('PUBLISH', ARGV[1], join_message(id, record))
return {id, gen}
)lua";

constexpr char kLeave[] = R"lua(
local k = {ids = KEYS[1], members = KEYS[2], channel = ARGV[1]}
return free(k, ARGV[2], KEYS[3], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
)lua";

// Checks the lease itself, so a reaper that read the instance set a moment
// ago never frees the members of an instance that registered since. The
// room keys come from the index entries (the only script that does not get
// every key it touches in KEYS: Redis Cluster would need one script per
// room). Entries in sorted order: the leaves go out in a fixed order.
constexpr char kReap[] = R"lua(
if has_lease(KEYS[1]) then return {} end
local entries = redis.call('SMEMBERS', KEYS[2])
table.sort(entries)
local freed = {}
for _, entry in ipairs(entries) do
  local room, id, gen = string.match(entry, '^(.*)%z(%d+)%z(%d+)$')
  if room and free(room_keys(room), room, KEYS[2], ARGV[1], tonumber(id), tonumber(gen), REAPED) == 1 then
    table.insert(freed, entry)
  end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return freed
)lua";

// Claims the id when it is free or already this instance's. A record of
// this instance under another generation is a member it no longer has:
// its leave goes out first. The counter is raised to the generation, so
// later joins get higher ones. The join is published only when the record
// changed (after a restart of Redis it did; after a reconnect to a Redis
// that kept everything it did not).
constexpr char kReassert[] = R"lua(
if not has_lease(KEYS[4]) then return redis.error_reply(NO_LEASE) end
local id = tonumber(ARGV[4])
local record = ARGV[5]
local gen = struct.unpack('>I8', record, GEN_AT)
local old = redis.call('HGET', KEYS[2], ARGV[4])
if old then
  local who, g = owner(old)
  if who ~= ARGV[3] then return 0 end
  if g ~= gen then
    redis.call('SREM', KEYS[5], index_entry(ARGV[2], id, g))
    redis.call('PUBLISH', ARGV[1], leave_message(id, g, CLOSED))
  end
end
redis.call('SETBIT', KEYS[1], id, 1)
redis.call('HSET', KEYS[2], ARGV[4], record)
redis.call('SADD', KEYS[5], index_entry(ARGV[2], id, gen))
redis.call('SADD', KEYS[6], ARGV[3])
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if last < gen then redis.call('SET', KEYS[3], dec(gen)) end
if old ~= record then redis.call('PUBLISH', ARGV[1], join_message(id, record)) end
return 1
)lua";

// The live instances of the cluster bus: those of the set whose lease
// still exists. The dead ones leave the set here, so it stays small.
constexpr char kLive[] = R"lua(
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if has_lease('$INSTANCE_PREFIX' .. id .. '$LEASE') then
    table.insert(live, id)
  else
    redis.call('SREM', KEYS[1], id)
  end
end
table.sort(live)
return live
)lua";

std::string Preamble() {
  return absl::StrReplaceAll(kPreamble,
                             {{"$RECORD_VERSION", absl::StrCat(kMemberRecordVersion)},
                              {"$GEN_OFFSET", absl::StrCat(kGenerationOffset)},
                              {"$INSTANCE_OFFSET", absl::StrCat(kInstanceOffset)},
                              {"$MESSAGE_VERSION", absl::StrCat(kRoomMessageVersion)},
                              {"$JOIN", absl::StrCat(static_cast<int>(RoomMessageType::kJoin))},
                              {"$LEAVE", absl::StrCat(static_cast<int>(RoomMessageType::kLeave))},
                              {"$CLOSED", absl::StrCat(static_cast<int>(LeaveReason::kClosed))},
                              {"$REAPED", absl::StrCat(static_cast<int>(LeaveReason::kReaped))},
                              {"$PREFIX", Absl(kRoomKeyPrefix)},
                              {"$IDS", Absl(kIdsSuffix)},
                              {"$MEMBERS", Absl(kMembersSuffix)},
                              {"$GENKEY", Absl(kGenerationSuffix)},
                              {"$CHANNEL", Absl(kChannelSuffix)},
                              {"$NOLEASE", kNoLeaseError}});
}

std::string WithInstanceKeys(const char* body) {
  return absl::StrReplaceAll(body, {{"$INSTANCE_PREFIX", Absl(kInstanceKeyPrefix)},
                                    {"$LEASE", Absl(kLeaseSuffix)}});
}

std::string Sha1Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

LuaScript Make(const char* name, const char* body) {
  LuaScript script{name,
                   absl::StrCat("-- cursord room store: ", name, "\n", Preamble(),
                                WithInstanceKeys(body)),
                   ""};
  script.sha1 = Sha1Hex(script.body);
  return script;
}

}  // namespace

const LuaScript& JoinScript() {
  static const LuaScript* const script = new LuaScript(Make("join", kJoin));
  return *script;
}

const LuaScript& LeaveScript() {
  static const LuaScript* const script = new LuaScript(Make("leave", kLeave));
  return *script;
}

const LuaScript& ReapScript() {
  static const LuaScript* const script = new LuaScript(Make("reap", kReap));
  return *script;
}

const LuaScript& ReassertScript() {
  static const LuaScript* const script = new LuaScript(Make("reassert", kReassert));
  return *script;
}

const LuaScript& LiveScript() {
  static const LuaScript* const script = new LuaScript(Make("live", kLive));
  return *script;
}

const std::vector<const LuaScript*>& AllScripts() {
  static const std::vector<const LuaScript*>* const scripts = new std::vector<const LuaScript*>{
      &JoinScript(), &LeaveScript(), &ReapScript(), &ReassertScript(), &LiveScript()};
  return *scripts;
}

}  // namespace cursord::backplane::internal
