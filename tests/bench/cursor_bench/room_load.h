// The rate and saturate modes: rooms of members where some members send
// cursor updates and everyone else in the room receives them.
#ifndef CURSORD_BENCH_ROOM_LOAD_H_
#define CURSORD_BENCH_ROOM_LOAD_H_

#include <string>

#include "common.h"

namespace CLI {
class App;
}

namespace cursord::bench {

struct RoomLoadOptions {
  CommonOptions common;
  int rooms = 1;
  int members = 10;
  int senders = -1;  // per room; -1 means every member
  double hz = 30;      // rate mode only
  int window = 4;      // saturate mode only: unconfirmed updates per sender
  double drain_s = 3;  // how long to wait for late deliveries at the end
  // How long members stay connected after that, so that whoever samples
  // the servers' counters at "window end" does not count their leaves.
  double linger_s = 0;
};

enum class RoomLoadMode { kRate, kSaturate };

// Registers `rate` and `saturate` on `app`; the parsed options go to
// `*options` and `*mode` says which one ran.
void SetupRateCommand(CLI::App& app, RoomLoadOptions* options,
                      RoomLoadMode* mode);
void SetupSaturateCommand(CLI::App& app, RoomLoadOptions* options,
                          RoomLoadMode* mode);

// Runs the mode and returns the process exit code; prints the summary to
// stderr and the JSON line last on stdout.
int RunRoomLoad(const RoomLoadOptions& options, RoomLoadMode mode);

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_ROOM_LOAD_H_
