// `cursorctl rooms show ROOM`: the room's presence snapshot.
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

int RunRoomsShow(const GlobalOptions& globals, const std::string& room_id) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  v1::GetRoomRequest request;
  request.set_room_id(room_id);
  v1::Room room;
  grpc::ClientContext call;
  client.Prepare(&call);
  if (grpc::Status status = client.control().GetRoom(&call, request, &room);
      !status.ok()) {
    return client.Report(status);
  }
  if (globals.json()) {
    PrintJsonLine(room);
  } else {
    Print(RoomView(room, ViewContext{}));
  }
  return ReportUnanswered(room.unanswered_instances());
}

}  // namespace

void SetupRoomsShowCommand(CLI::App& rooms, Context& context) {
  auto room_id = std::make_shared<std::string>();
  CLI::App* cmd = rooms.add_subcommand(
      "show", "Show a room's members and their cursors");
  cmd->add_option("ROOM", *room_id, "The room id")->required();
  cmd->footer(
      "Example:\n"
      "  cursorctl rooms show lobby");
  cmd->callback([room_id, &context] {
    context.exit_code = RunRoomsShow(context.globals, *room_id);
  });
}

}  // namespace cursord::cli
