// The room store's Lua scripts (internal to server/backplane): their text
// and the SHA-1 that EVALSHA names them by. Each membership change is one
// script, so that Redis changes the keys and publishes the event in one
// atomic step (docs/BACKPLANE.md, "Scripts").
//
// The scripts are generated once from the C++ constants they share with
// the rest of the backplane (key names, the member record's offsets, the
// message bytes), so each of those has one definition.
//
// Numbers in Redis' Lua are doubles: ids, and generations below 2^53 (a
// million joins a second for 285 years), are exact.
#ifndef CURSORD_BACKPLANE_ROOM_SCRIPTS_H_
#define CURSORD_BACKPLANE_ROOM_SCRIPTS_H_

#include <string>
#include <vector>

namespace cursord::backplane::internal {

struct LuaScript {
  const char* name;  // for error messages: "join", "leave", ...
  std::string body;
  std::string sha1;  // lower-case hex of SHA-1(body), as Redis names it
};

// join      KEYS ids, members, gen, I's lease, I's index, instances
//           ARGV channel, room, instance, max members, record (generation 0)
//           -> {id, generation}; -1 when no id below max is free;
//              error NOLEASE when I's lease is missing
// leave     KEYS ids, members, I's index
//           ARGV channel, room, instance, id, generation, reason
//           -> 1 if it freed the member, 0 if its record names another
//              owner or generation (or there is none)
// reap      KEYS I's lease, I's index, instances
//           ARGV instance
//           -> the index entries (room \0 id \0 generation) of the members
//              it freed; none when I's lease exists (alive: untouched)
// reassert  KEYS ids, members, gen, I's lease, I's index, instances
//           ARGV channel, room, instance, id, record (with its generation)
//           -> 1 kept, 0 when another instance holds the id;
//              error NOLEASE when I's lease is missing
// live      KEYS live set
//           -> the ids in the set whose lease exists, sorted; the others
//              are removed from the set
const LuaScript& JoinScript();
const LuaScript& LeaveScript();
const LuaScript& ReapScript();
const LuaScript& ReassertScript();
const LuaScript& LiveScript();
const std::vector<const LuaScript*>& AllScripts();

// The error reply prefix of a script whose instance has no lease.
inline constexpr const char* kNoLeaseError = "NOLEASE";

}  // namespace cursord::backplane::internal

#endif  // CURSORD_BACKPLANE_ROOM_SCRIPTS_H_
