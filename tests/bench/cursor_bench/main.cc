// cursor-bench: a load generator for servers speaking the cursor protocol.
// main only parses the command line and hands over to one mode.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>

#include "CLI/CLI.hpp"
#include "churn.h"
#include "common.h"
#include "drain.h"
#include "idle.h"
#include "room_load.h"

int main(int argc, char** argv) {
  using namespace cursord::bench;
  // A peer vanishing mid-write must be an error code, not a dead process.
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "cursor-bench: load generator for the cursor protocol (rate, saturate, "
      "idle, churn, drain). The last line of output is one JSON object."};
  app.require_subcommand(1);
  RoomLoadOptions room_options;
  RoomLoadMode room_mode = RoomLoadMode::kRate;
  bool room_selected = false;
  ChurnOptions churn_options;
  bool churn_selected = false;
  IdleOptions idle_options;
  bool idle_selected = false;
  DrainOptions drain_options;
  bool drain_selected = false;
  SetupRateCommand(app, &room_options, &room_mode);
  SetupSaturateCommand(app, &room_options, &room_mode);
  SetupChurnCommand(app, &churn_options, &churn_selected);
  SetupIdleCommand(app, &idle_options, &idle_selected);
  SetupDrainCommand(app, &drain_options, &drain_selected);
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == "rate" || sub->get_name() == "saturate") {
      sub->preparse_callback([&room_selected](size_t) { room_selected = true; });
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  CommonOptions* common = room_selected    ? &room_options.common
                          : churn_selected ? &churn_options.common
                          : drain_selected ? &drain_options.common
                                           : &idle_options.common;
  if (common->room_prefix.empty()) {
    common->room_prefix = "cb" + std::to_string(getpid());
  }
  const char* mode_name = room_selected
                              ? (room_mode == RoomLoadMode::kRate ? "rate" : "saturate")
                          : churn_selected ? "churn"
                          : drain_selected ? "drain"
                                           : "idle";
  const double bound = common->max_runtime_s > 0
                           ? common->max_runtime_s
                           : common->duration_s + common->connect_timeout_s + 60;
  try {
    if (room_selected) {
      ArmRunTimeBound(bound, mode_name);
      return RunRoomLoad(room_options, room_mode);
    }
    if (churn_selected) {
      ArmRunTimeBound(bound, mode_name);
      return RunChurn(churn_options);
    }
    if (drain_selected) {
      ArmRunTimeBound(common->max_runtime_s > 0
                          ? common->max_runtime_s
                          : common->connect_timeout_s + drain_options.settle_s +
                                drain_options.move_timeout_s + 30,
                      mode_name);
      return RunDrain(drain_options);
    }
    // The idle parent only waits on its children, which carry their own
    // bound; its own is a little longer so their reports still arrive.
    ArmRunTimeBound(bound + 30, mode_name);
    return RunIdle(idle_options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cursor-bench: %s\n", e.what());
    std::printf("{\"mode\":\"%s\",\"error\":\"exception\"}\n", mode_name);
    return 2;
  }
}
