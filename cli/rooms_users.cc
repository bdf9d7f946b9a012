// `cursorctl rooms users ROOM`: the room's active users (GetRoomUsers): a
// user with two tabs is one row.
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

int RunRoomsUsers(const GlobalOptions& globals, const std::string& room_id) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  v1::GetRoomUsersRequest request;
  request.set_room_id(room_id);
  v1::RoomUsers users;
  grpc::ClientContext call;
  client.Prepare(&call);
  if (grpc::Status status = client.control().GetRoomUsers(&call, request, &users);
      !status.ok()) {
    return client.Report(status);
  }
  if (globals.json()) {
    for (const v1::RoomUser& user : users.users()) PrintJsonLine(user);
  } else {
    Print(RoomUsersView(users, ViewContext{}));
  }
  return ReportUnanswered(users.unanswered_instances());
}

}  // namespace

void SetupRoomsUsersCommand(CLI::App& rooms, Context& context) {
  auto room_id = std::make_shared<std::string>();
  CLI::App* cmd = rooms.add_subcommand(
      "users", "The room's active users: connections grouped by user id");
  cmd->add_option("ROOM", *room_id, "The room id")->required();
  cmd->footer(
      "Examples:\n"
      "  cursorctl rooms users doc-42\n"
      "  cursorctl -o json rooms users doc-42 | jq -r .userId");
  cmd->callback([room_id, &context] {
    context.exit_code = RunRoomsUsers(context.globals, *room_id);
  });
}

}  // namespace cursord::cli
