// `cursorctl rooms`: the room commands, one file each.
#include "cli/command.h"

namespace cursord::cli {

void SetupRoomsCommand(CLI::App& app, Context& context) {
  CLI::App* rooms = app.add_subcommand("rooms", "List, show and close rooms, and list their users");
  rooms->require_subcommand(1);
  rooms->footer(
      "Examples:\n"
      "  cursorctl rooms list --prefix team-\n"
      "  cursorctl rooms show lobby\n"
      "  cursorctl rooms users lobby\n"
      "  cursorctl rooms close lobby --reason \"maintenance\"");
  SetupRoomsListCommand(*rooms, context);
  SetupRoomsShowCommand(*rooms, context);
  SetupRoomsUsersCommand(*rooms, context);
  SetupRoomsCloseCommand(*rooms, context);
}

}  // namespace cursord::cli
