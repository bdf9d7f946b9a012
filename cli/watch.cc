// `cursorctl watch ROOM`: streams a room's snapshot and events until
// Ctrl-C (SIGINT) or SIGTERM, which end it with exit code 0.
#include <signal.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

struct WatchOptions {
  std::string room_id;
  bool cursor_moves = false;
  uint32_t rate = 0;  // 0: the server's default
};

// Set by the signal handler; lock-free, so the handler stays
// async-signal-safe.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSignal(int) { g_interrupted.store(true); }

// Turns SIGINT/SIGTERM into a cancellation of `call`. A signal handler may
// not call into gRPC, so a helper thread polls the flag the handler sets.
class InterruptCanceller {
 public:
  explicit InterruptCanceller(grpc::ClientContext* call) {
    struct sigaction action = {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
    thread_ = std::thread([this, call] {
      // Bounded by the stream: the destructor sets done_.
      while (!done_.load()) {
        if (g_interrupted.load()) {
          call->TryCancel();
          return;
        }
        absl::SleepFor(absl::Milliseconds(50));
      }
    });
  }

  ~InterruptCanceller() {
    done_.store(true);
    thread_.join();
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

  bool interrupted() const { return g_interrupted.load(); }

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int RunWatch(const GlobalOptions& globals, const WatchOptions& options) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  v1::WatchRoomRequest request;
  request.set_room_id(options.room_id);
  request.set_include_cursor_moves(options.cursor_moves);
  request.set_cursor_updates_per_second(options.rate);

  grpc::ClientContext call;
  client.Prepare(&call, /*streaming=*/true);
  InterruptCanceller canceller(&call);
  std::unique_ptr<grpc::ClientReader<v1::WatchRoomResponse>> reader =
      client.control().WatchRoom(&call, request);
  v1::WatchRoomResponse message;
  while (reader->Read(&message)) {
    if (globals.json()) {
      PrintJsonLine(message);
    } else {
      Print(WatchEventView(message, ViewContext{}));
    }
  }
  const grpc::Status status = reader->Finish();
  if (canceller.interrupted()) return kExitOk;
  return client.Report(status);
}

}  // namespace

void SetupWatchCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "watch",
      "Stream a room's events until Ctrl-C");
  cmd->add_option("ROOM", options->room_id, "The room id")->required();
  cmd->add_flag("--cursor-moves", options->cursor_moves,
                "Also show cursor moves (coalesced per member)");
  cmd->add_option("--rate", options->rate,
                  "Cursor updates/s per member (default 10)")
      ->check(CLI::Range(1, 60));
  cmd->footer(
      "Prints the room's members, then one line per join, leave, click and\n"
      "kick as it happens. Ctrl-C or SIGTERM ends it with exit code 0; a\n"
      "watcher too slow to keep up is dropped by the server (exit code 1).\n"
      "\n"
      "Examples:\n"
      "  cursorctl watch lobby\n"
      "  cursorctl watch lobby --cursor-moves --rate 5\n"
      "  cursorctl -o json watch lobby | jq -c 'select(.memberJoined)'");
  cmd->callback([options, &context] {
    context.exit_code = RunWatch(context.globals, *options);
  });
}

}  // namespace cursord::cli
