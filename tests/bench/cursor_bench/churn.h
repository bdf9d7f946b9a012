// The churn mode: members join and leave rooms as fast as the server lets
// them, while observers in each room check that every join and leave is
// announced.
#ifndef CURSORD_BENCH_CHURN_H_
#define CURSORD_BENCH_CHURN_H_

#include "common.h"

namespace CLI {
class App;
}

namespace cursord::bench {

struct ChurnOptions {
  CommonOptions common;
  int rooms = 10;
  int observers = 4;    // per room, connected for the whole run
  int concurrency = 8;  // churning connections per room at any moment
  double drain_s = 5;   // time allowed for the last leaves to be announced
  // Reuse each churner's socket for its next session (see
  // EventLoop::Options::recycle_sockets).
  bool recycle = true;
};

void SetupChurnCommand(CLI::App& app, ChurnOptions* options, bool* selected);

int RunChurn(const ChurnOptions& options);

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_CHURN_H_
