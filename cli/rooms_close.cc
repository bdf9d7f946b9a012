// `cursorctl rooms close ROOM [--reason T]`: close every member of a room.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/control_client.h"

namespace cursord::cli {
namespace {

struct RoomsCloseOptions {
  std::string room_id;
  std::string reason;
};

int RunRoomsClose(const GlobalOptions& globals, const RoomsCloseOptions& options) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  v1::CloseRoomRequest request;
  request.set_room_id(options.room_id);
  request.set_reason(options.reason);
  v1::CloseRoomResponse response;
  grpc::ClientContext call;
  client.Prepare(&call);
  if (grpc::Status status = client.control().CloseRoom(&call, request, &response);
      !status.ok()) {
    return client.Report(status);
  }
  if (globals.json()) {
    PrintJsonLine(response);
  } else {
    Print(absl::StrCat("closed room \"", options.room_id, "\" (",
                       response.closed_count(),
                       response.closed_count() == 1 ? " member)\n" : " members)\n"));
  }
  return ReportUnanswered(response.unanswered_instances());
}

}  // namespace

void SetupRoomsCloseCommand(CLI::App& rooms, Context& context) {
  auto options = std::make_shared<RoomsCloseOptions>();
  CLI::App* cmd = rooms.add_subcommand(
      "close", "Disconnect every member of a room (code 4001)");
  cmd->add_option("ROOM", options->room_id, "The room id")->required();
  cmd->add_option("--reason", options->reason,
                  "Close frame reason (at most 123 bytes)");
  cmd->footer(
      "Example:\n"
      "  cursorctl rooms close lobby --reason \"maintenance, back at 14:00\"");
  cmd->callback([options, &context] {
    context.exit_code = RunRoomsClose(context.globals, *options);
  });
}

}  // namespace cursord::cli
