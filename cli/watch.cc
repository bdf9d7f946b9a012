// `cursorctl watch ROOM`: streams a room's snapshot and events until
// Ctrl-C (SIGINT) or SIGTERM, which end it with exit code 0.
#include <signal.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/format.h"
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

struct ActivityOptions {
  std::string room_prefix;
  std::string after;
};

// "12:00:03.120  1733180403120-0  joined  doc-42 #1 u-2 "Bob" on web-1 from 10.0.0.7:5123"
std::string ActivityLine(const v1::ActivityEvent& event) {
  const v1::Session& s = event.session();
  std::string line = absl::StrCat(
      absl::FormatTime("%H:%M:%E3S", FromProto(event.time()), absl::UTCTimeZone()), "  ",
      event.position(), "  ", event.kind() == v1::ActivityEvent::JOINED ? "joined" : "left  ",
      "  ", s.room_id(), " #", s.member_id());
  if (!s.user_id().empty()) absl::StrAppend(&line, " ", s.user_id());
  if (!s.display_name().empty()) absl::StrAppend(&line, " \"", s.display_name(), "\"");
  if (!s.instance_id().empty()) absl::StrAppend(&line, " on ", s.instance_id());
  absl::StrAppend(&line, " from ", s.remote_address());
  if (event.kind() == v1::ActivityEvent::LEFT) {
    absl::StrAppend(&line, ": ", s.end_reason(), " (", s.close_code(), ") after ",
                    CompactDuration(absl::Seconds(s.duration().seconds()) +
                                    absl::Nanoseconds(s.duration().nanos())));
  }
  if (event.missed()) line = "(records were dropped before this one)\n" + line;
  return line + "\n";
}

int RunActivity(const GlobalOptions& globals, const ActivityOptions& options) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  v1::WatchActivityRequest request;
  request.set_room_prefix(options.room_prefix);
  request.set_after(options.after);
  grpc::ClientContext call;
  client.Prepare(&call, /*streaming=*/true);
  InterruptCanceller canceller(&call);
  std::unique_ptr<grpc::ClientReader<v1::ActivityEvent>> reader =
      client.control().WatchActivity(&call, request);
  v1::ActivityEvent event;
  while (reader->Read(&event)) {
    if (globals.json()) {
      PrintJsonLine(event);
    } else {
      Print(ActivityLine(event));
    }
  }
  const grpc::Status status = reader->Finish();
  if (canceller.interrupted()) return kExitOk;
  return client.Report(status);
}

}  // namespace

void SetupActivityCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<ActivityOptions>();
  CLI::App* cmd = app.add_subcommand(
      "activity", "Follow the connection records (joins and leaves) until Ctrl-C");
  cmd->add_option("--room-prefix", options->room_prefix, "Only rooms whose id starts with this");
  cmd->add_option("--after", options->after,
                  "Resume after this position (a printed event's); 0: from the oldest record");
  cmd->footer(
      "Prints one line per join and leave, of every room of the server (with\n"
      "--redis, of the cluster), as they are recorded; each line shows its\n"
      "position. Started again with --after POSITION it misses nothing still\n"
      "in the records. Ctrl-C or SIGTERM ends it with exit code 0.\n"
      "\n"
      "Examples:\n"
      "  cursorctl activity\n"
      "  cursorctl activity --room-prefix doc- --after 0\n"
      "  cursorctl -o json activity --after 1733180403120-0\n");
  cmd->callback([&context, options] {
    context.exit_code = RunActivity(context.globals, *options);
  });
}

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
