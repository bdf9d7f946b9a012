// Who may hold a connection or create a room: --max-connections,
// --max-connections-per-ip and --max-rooms, counted across every shard.
//
// Thread-safe: shards acquire and release concurrently, once per join and
// leave (never per message), under one mutex.
#ifndef CURSORD_CORE_ADMISSION_H_
#define CURSORD_CORE_ADMISSION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace cursord::core {

class Admission {
 public:
  struct Options {
    int max_connections = 0;         // WebSocket sessions; 0: no limit
    int max_connections_per_ip = 0;  // per client address; 0: no limit
    int max_rooms = 0;               // rooms with members; 0: no limit
  };

  // A connection's place, held for its life; released when destroyed.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&& other) noexcept { *this = std::move(other); }
    Slot& operator=(Slot&& other) noexcept;
    ~Slot() { Release(); }
    void Release();
    bool held() const { return owner_ != nullptr; }

   private:
    friend class Admission;
    Slot(Admission* owner, std::string ip) : owner_(owner), ip_(std::move(ip)) {}
    Admission* owner_ = nullptr;
    std::string ip_;
  };

  explicit Admission(Options options) : options_(options) {}

  enum class Limit { kServer, kAddress };

  // A slot for a connection from `ip`, or kResourceExhausted saying which
  // limit it hit ("server at its connection limit" / "too many connections
  // from this address"); `*hit` (if given) says it as a Limit.
  absl::StatusOr<Slot> AcquireConnection(std::string_view ip, Limit* hit = nullptr);

  // Whether one more room may be created; if so it is counted until
  // ReleaseRoom.
  bool AcquireRoom();
  void ReleaseRoom();

  // What is counted: only the limits that are set count anything.
  int connections() const;
  int connections_from(std::string_view ip) const;
  int rooms() const;

 private:
  void ReleaseConnection(const std::string& ip);

  const Options options_;
  mutable absl::Mutex mu_;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  int rooms_ ABSL_GUARDED_BY(mu_) = 0;
  // Only addresses with at least one connection, and only when a per-IP
  // limit is set.
  absl::flat_hash_map<std::string, int> per_ip_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cursord::core

#endif  // CURSORD_CORE_ADMISSION_H_
