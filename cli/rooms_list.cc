// `cursorctl rooms list [--prefix P] [--limit N]`: every room with members,
// paging through ListRooms.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

struct RoomsListOptions {
  std::string prefix;
  int limit = 0;  // 0: every room
};

// The API's largest page; fewer round trips for big servers.
constexpr int kPageSize = 1000;

int RunRoomsList(const GlobalOptions& globals, const RoomsListOptions& options) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;

  std::vector<v1::Room> rooms;  // table output needs every row to align
  std::vector<std::string> unanswered;  // with --redis, over every page
  size_t listed = 0;
  std::string page_token;
  // Ends on the last page or at the limit; a server that kept handing out
  // the same token would be caught by the token check below.
  while (true) {
    v1::ListRoomsRequest request;
    request.set_room_id_prefix(options.prefix);
    request.set_page_token(page_token);
    int page_size = kPageSize;
    if (options.limit > 0) {
      page_size = std::min<int>(kPageSize, options.limit - static_cast<int>(listed));
    }
    request.set_page_size(page_size);
    v1::ListRoomsResponse response;
    grpc::ClientContext call;
    client.Prepare(&call);
    if (grpc::Status status = client.control().ListRooms(&call, request, &response);
        !status.ok()) {
      return client.Report(status);
    }
    for (const std::string& instance : response.unanswered_instances()) {
      if (std::find(unanswered.begin(), unanswered.end(), instance) == unanswered.end()) {
        unanswered.push_back(instance);
      }
    }
    for (v1::Room& room : *response.mutable_rooms()) {
      if (options.limit > 0 && listed >= static_cast<size_t>(options.limit)) break;
      ++listed;
      if (globals.json()) {
        PrintJsonLine(room);
      } else {
        rooms.push_back(std::move(room));
      }
    }
    if (response.next_page_token().empty() ||
        (options.limit > 0 && listed >= static_cast<size_t>(options.limit))) {
      break;
    }
    if (response.next_page_token() == page_token) {
      PrintError("the server returned the same page token twice; stopping");
      return kExitCallFailed;
    }
    page_token = response.next_page_token();
  }
  if (!globals.json()) {
    if (rooms.empty()) {
      PrintError(options.prefix.empty()
                     ? "no rooms"
                     : absl::StrCat("no rooms with prefix \"", options.prefix, "\""));
    } else {
      Print(RoomListView(rooms, ViewContext{}));
    }
  }
  google::protobuf::RepeatedPtrField<std::string> missing(unanswered.begin(), unanswered.end());
  return ReportUnanswered(missing);
}

}  // namespace

void SetupRoomsListCommand(CLI::App& rooms, Context& context) {
  auto options = std::make_shared<RoomsListOptions>();
  CLI::App* cmd = rooms.add_subcommand(
      "list", "List the rooms that have members, by id");
  cmd->add_option("--prefix", options->prefix, "Only rooms whose id starts with P");
  cmd->add_option("--limit", options->limit, "List at most N rooms (default: all)")
      ->check(CLI::PositiveNumber);
  cmd->footer(
      "Examples:\n"
      "  cursorctl rooms list\n"
      "  cursorctl rooms list --prefix team- --limit 20\n"
      "  cursorctl -o json rooms list | jq -r .id");
  cmd->callback([options, &context] {
    context.exit_code = RunRoomsList(context.globals, *options);
  });
}

}  // namespace cursord::cli
