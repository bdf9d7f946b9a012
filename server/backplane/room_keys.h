// Where a room lives in Redis: the names of its keys and channel, the names
// of an instance's lease and index, and which of several Redis servers holds
// a room (docs/BACKPLANE.md, "Keys of room R"). Pure code.
//
// Room keys carry the room in a {hash tag} so that the layout also suits
// Redis Cluster later. Room keys start "cursord:{", instance keys
// "cursord:instance:{": no room's key can be an instance's, whatever the
// room is called (room ids hold no braces: core::IsValidRoomId).
#ifndef CURSORD_BACKPLANE_ROOM_KEYS_H_
#define CURSORD_BACKPLANE_ROOM_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace cursord::backplane {

// The pieces of a room key: kRoomKeyPrefix + R + one of the suffixes. The
// reap script builds room keys from the same pieces (room_scripts.cc).
inline constexpr std::string_view kRoomKeyPrefix = "cursord:{";
inline constexpr std::string_view kIdsSuffix = "}:ids";
inline constexpr std::string_view kMembersSuffix = "}:members";
inline constexpr std::string_view kGenerationSuffix = "}:gen";
inline constexpr std::string_view kChannelSuffix = "}";

// Every instance with members on a server (a set, on that server).
inline constexpr std::string_view kInstancesKey = "cursord:instances";

// The cluster bus (docs/BACKPLANE.md, "The cluster bus"), on the first
// server of the --redis list only: every live instance's id (a set; an id
// whose lease is gone is dropped by the next reader), and the channel the
// control plane's requests and replies travel on.
inline constexpr std::string_view kLiveKey = "cursord:live";
inline constexpr std::string_view kControlChannel = "cursord:control";

// The pieces of an instance key: kInstanceKeyPrefix + I + a suffix. The
// live-instances script builds lease keys from the same pieces.
inline constexpr std::string_view kInstanceKeyPrefix = "cursord:instance:{";
inline constexpr std::string_view kLeaseSuffix = "}:lease";

// The keys and channel of room R.
struct RoomKeys {
  std::string ids;         // cursord:{R}:ids      bitmap, bit n set while id n is in use
  std::string members;     // cursord:{R}:members  hash id -> member record
  std::string generation;  // cursord:{R}:gen      counter, the last generation handed out
  std::string channel;     // cursord:{R}          pub/sub, the room's events
};
RoomKeys KeysOfRoom(std::string_view room);

// The channel of room R alone (a subscriber needs only this).
std::string RoomChannel(std::string_view room);

// The keys of instance I.
struct InstanceKeys {
  std::string lease;    // cursord:instance:{I}:lease    exists while I is alive
  std::string members;  // cursord:instance:{I}:members  set of "R\0id\0generation"
};
InstanceKeys KeysOfInstance(std::string_view instance);

// An instance id: 1 to 64 characters of A-Z a-z 0-9 . _ - (so it can never
// close a hash tag or hide a NUL, and it fits a member record's one-byte
// length).
inline constexpr size_t kMaxInstanceIdLength = 64;
bool IsValidInstanceId(std::string_view instance);

// "R\0id\0generation" (decimal id and generation): an entry of an instance's
// index. The scripts build the same text (room_scripts.cc).
std::string IndexEntry(std::string_view room, uint8_t id, uint64_t generation);
// IndexEntry's inverse: false for text it did not make.
bool ParseIndexEntry(std::string_view entry, std::string* room, uint8_t* id, uint64_t* generation);

// FNV-1a, 64 bits (offset basis 14695981039346656037, prime 1099511628211)
// over the bytes of `bytes`. Chosen for the room -> server map because it is
// fixed by its definition: the same value on every machine, compiler and
// version of cursord (std::hash promises none of that). Changing it would
// move rooms between servers during a rolling upgrade, so it never changes.
uint64_t StableHash64(std::string_view bytes);

// Jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory,
// Consistent Hash Algorithm", 2014): the bucket in [0, buckets) of `key`.
// Growing from n to n+1 buckets moves only the keys that land in the new
// bucket, about 1/(n+1) of them. `buckets` below 1 gives 0.
int32_t JumpHash(uint64_t key, int32_t buckets);

// The index, in the --redis list of `servers` (>= 1), of the server that
// holds `room`: JumpHash(StableHash64(room), servers).
int ServerFor(std::string_view room, int servers);

}  // namespace cursord::backplane

#endif  // CURSORD_BACKPLANE_ROOM_KEYS_H_
