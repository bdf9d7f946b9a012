// The idle mode: hold many connections open and measure what they cost the
// server in resident memory.
#ifndef CURSORD_BENCH_IDLE_H_
#define CURSORD_BENCH_IDLE_H_

#include "common.h"

namespace CLI {
class App;
}

namespace cursord::bench {

struct IdleOptions {
  CommonOptions common;
  int connections = 1000;
  int members = 50;    // per room
  int processes = 1;   // connections are split over this many processes
  double settle_s = 1;  // wait after the last join before measuring
};

void SetupIdleCommand(CLI::App& app, IdleOptions* options, bool* selected);

int RunIdle(const IdleOptions& options);

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_IDLE_H_
