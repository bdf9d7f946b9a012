// `cursorctl kick ROOM MEMBER_ID [--reason T]` closes one member;
// `cursorctl kick --user USER_ID [--reason T]` closes every connection of a
// user, in every room. Both use close code 4000.
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/control_client.h"

namespace cursord::cli {
namespace {

struct KickOptions {
  std::string room_id;
  std::optional<uint32_t> member_id;
  std::string user_id;
  std::string reason;
};

int KickMember(ControlClient& client, const GlobalOptions& globals,
               const KickOptions& options) {
  v1::KickMemberRequest request;
  request.set_room_id(options.room_id);
  request.set_member_id(*options.member_id);
  request.set_reason(options.reason);
  v1::KickMemberResponse response;
  grpc::ClientContext call;
  client.Prepare(&call);
  if (grpc::Status status = client.control().KickMember(&call, request, &response);
      !status.ok()) {
    return client.Report(status);
  }
  if (globals.json()) {
    PrintJsonLine(response);
  } else {
    Print(absl::StrCat("kicked member ", *options.member_id, " from room \"",
                       options.room_id, "\"\n"));
  }
  return kExitOk;
}

int KickUser(ControlClient& client, const GlobalOptions& globals,
             const KickOptions& options) {
  v1::KickUserRequest request;
  request.set_user_id(options.user_id);
  request.set_reason(options.reason);
  v1::KickUserResponse response;
  grpc::ClientContext call;
  client.Prepare(&call);
  if (grpc::Status status = client.control().KickUser(&call, request, &response);
      !status.ok()) {
    return client.Report(status);
  }
  if (globals.json()) {
    PrintJsonLine(response);
  } else {
    Print(absl::StrCat("kicked user \"", options.user_id, "\" (",
                       response.kicked_count(),
                       response.kicked_count() == 1 ? " connection)\n"
                                                    : " connections)\n"));
  }
  return ReportUnanswered(response.unanswered_instances());
}

int RunKick(const GlobalOptions& globals, const KickOptions& options) {
  // CLI11 keeps --user and the positionals apart; what it cannot say is
  // "one form or the other, complete".
  const bool by_user = !options.user_id.empty();
  if (!by_user && (options.room_id.empty() || !options.member_id.has_value())) {
    PrintError(
        "kick needs ROOM and MEMBER_ID, or --user USER_ID\n"
        "Run with --help for more information.");
    return kExitUsage;
  }
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  return by_user ? KickUser(client, globals, options)
                 : KickMember(client, globals, options);
}

}  // namespace

void SetupKickCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<KickOptions>();
  CLI::App* cmd = app.add_subcommand(
      "kick", "Disconnect a member, or every connection of a user");
  CLI::Option* room = cmd->add_option("ROOM", options->room_id, "The room id");
  CLI::Option* member = cmd->add_option(
      "MEMBER_ID", options->member_id,
      "The member's id in the room (see `rooms show`)");
  cmd->add_option("--user", options->user_id,
                  "Kick all connections with user=USER_ID")
      ->excludes(room)
      ->excludes(member);
  cmd->add_option("--reason", options->reason,
                  "Close frame reason (at most 123 bytes)");
  cmd->footer(
      "Examples:\n"
      "  cursorctl kick lobby 3 --reason \"please rejoin\"\n"
      "  cursorctl kick --user u-1234 --reason \"account suspended\"");
  cmd->callback([options, &context] {
    context.exit_code = RunKick(context.globals, *options);
  });
}

}  // namespace cursord::cli
