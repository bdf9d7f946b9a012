#include "server/backplane/room_keys.h"

#include <string>

#include "absl/strings/numbers.h"

namespace cursord::backplane {
namespace {

std::string RoomKey(std::string_view room, std::string_view suffix) {
  std::string key;
  key.reserve(kRoomKeyPrefix.size() + room.size() + suffix.size());
  key.append(kRoomKeyPrefix).append(room).append(suffix);
  return key;
}

std::string InstanceKey(std::string_view instance, std::string_view suffix) {
  std::string key(kInstanceKeyPrefix);
  key.append(instance).append(suffix);
  return key;
}

bool IsInstanceIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

RoomKeys KeysOfRoom(std::string_view room) {
  return RoomKeys{RoomKey(room, kIdsSuffix), RoomKey(room, kMembersSuffix),
                  RoomKey(room, kGenerationSuffix), RoomKey(room, kChannelSuffix)};
}

std::string RoomChannel(std::string_view room) { return RoomKey(room, kChannelSuffix); }

InstanceKeys KeysOfInstance(std::string_view instance) {
  return InstanceKeys{InstanceKey(instance, kLeaseSuffix), InstanceKey(instance, "}:members")};
}

bool IsValidInstanceId(std::string_view instance) {
  if (instance.empty() || instance.size() > kMaxInstanceIdLength) return false;
  for (char c : instance) {
    if (!IsInstanceIdChar(c)) return false;
  }
  return true;
}

bool ParseIndexEntry(std::string_view entry, std::string* room, uint8_t* id,
                     uint64_t* generation) {
  const size_t second = entry.rfind('\0');
  if (second == std::string_view::npos || second == 0) return false;
  const size_t first = entry.rfind('\0', second - 1);
  if (first == std::string_view::npos) return false;
  const auto view = [](std::string_view s) { return absl::string_view(s.data(), s.size()); };
  uint32_t number = 0;
  if (!absl::SimpleAtoi(view(entry.substr(first + 1, second - first - 1)), &number) ||
      number > 255 || !absl::SimpleAtoi(view(entry.substr(second + 1)), generation)) {
    return false;
  }
  *room = std::string(entry.substr(0, first));
  *id = static_cast<uint8_t>(number);
  return true;
}

std::string IndexEntry(std::string_view room, uint8_t id, uint64_t generation) {
  std::string entry(room);
  entry.push_back('\0');
  entry.append(std::to_string(id));
  entry.push_back('\0');
  entry.append(std::to_string(generation));
  return entry;
}

uint64_t StableHash64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

int32_t JumpHash(uint64_t key, int32_t buckets) {
  // The paper's code: a linear congruential generator decides, jump by
  // jump, the next bucket count at which the key would move; the last jump
  // below `buckets` is its bucket.
  int64_t bucket = -1;
  int64_t next = 0;
  while (next < buckets) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    next = static_cast<int64_t>(
        static_cast<double>(bucket + 1) *
        (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return bucket < 0 ? 0 : static_cast<int32_t>(bucket);
}

int ServerFor(std::string_view room, int servers) { return JumpHash(StableHash64(room), servers); }

}  // namespace cursord::backplane
