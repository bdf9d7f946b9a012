// The drain mode: clients of one instance move to another when it drains.
// N clients join rooms on instance A; cursor-bench SIGTERMs A (--pid) and
// every client that A closes reconnects to instance B (--to) after a
// random delay, as the browser SDK's first retry does; the figures are
// B's join rate over time and the join latency during the move.
#ifndef CURSORD_BENCH_DRAIN_H_
#define CURSORD_BENCH_DRAIN_H_

#include <string>

#include "common.h"

namespace CLI {
class App;
}

namespace cursord::bench {

struct DrainOptions {
  CommonOptions common;  // --url is instance A, --pid its process
  std::string to_url;    // instance B
  int connections = 5000;
  int members = 10;  // per room
  // A closed client reconnects after a delay uniform in [0, this): the
  // browser SDK's first retry (minDelayMs 500, full jitter).
  double jitter_ms = 500;
  double settle_s = 1;         // all joined on A, then this long until SIGTERM
  double move_timeout_s = 60;  // from SIGTERM until every client must be back
};

void SetupDrainCommand(CLI::App& app, DrainOptions* options, bool* selected);

int RunDrain(const DrainOptions& options);

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_DRAIN_H_
