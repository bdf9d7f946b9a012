// `cursorctl sessions [--room R] [--user U] [--limit N]`: recent sessions
// from the connection records (ListSessions), newest first.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

struct SessionsOptions {
  std::string room;
  std::string user;
  int limit = 50;  // 0: every session still in the records
};

constexpr int kPageSize = 1000;

int RunSessions(const GlobalOptions& globals, const SessionsOptions& options) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  std::vector<v1::Session> sessions;
  std::vector<std::string> unanswered;
  std::string page_token;
  while (true) {
    v1::ListSessionsRequest request;
    request.set_room_id(options.room);
    request.set_user_id(options.user);
    request.set_page_token(page_token);
    int page_size = kPageSize;
    if (options.limit > 0) {
      page_size = std::min<int>(kPageSize, options.limit - static_cast<int>(sessions.size()));
    }
    request.set_page_size(page_size);
    v1::ListSessionsResponse response;
    grpc::ClientContext call;
    client.Prepare(&call);
    if (grpc::Status status = client.control().ListSessions(&call, request, &response);
        !status.ok()) {
      return client.Report(status);
    }
    for (const std::string& instance : response.unanswered_instances()) {
      if (std::find(unanswered.begin(), unanswered.end(), instance) == unanswered.end()) {
        unanswered.push_back(instance);
      }
    }
    for (v1::Session& session : *response.mutable_sessions()) {
      if (options.limit > 0 && sessions.size() >= static_cast<size_t>(options.limit)) break;
      sessions.push_back(std::move(session));
    }
    if (response.next_page_token().empty() ||
        (options.limit > 0 && sessions.size() >= static_cast<size_t>(options.limit))) {
      break;
    }
    if (response.next_page_token() == page_token) {
      PrintError("the server returned the same page token twice; stopping");
      return kExitCallFailed;
    }
    page_token = response.next_page_token();
  }
  if (globals.json()) {
    for (const v1::Session& session : sessions) PrintJsonLine(session);
  } else {
    Print(SessionsView(sessions, ViewContext{}));
  }
  google::protobuf::RepeatedPtrField<std::string> missing(unanswered.begin(), unanswered.end());
  return ReportUnanswered(missing);
}

}  // namespace

void SetupSessionsCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<SessionsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sessions", "Recent sessions from the connection records, newest first");
  cmd->add_option("--room", options->room, "Only sessions in this room");
  cmd->add_option("--user", options->user, "Only sessions of this user id");
  cmd->add_option("--limit", options->limit, "At most this many (0: all still recorded)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->footer(
      "Examples:\n"
      "  cursorctl sessions --room doc-42\n"
      "  cursorctl -o json sessions --user u-17 --limit 0 | jq -r .endReason");
  cmd->callback([options, &context] {
    context.exit_code = RunSessions(context.globals, *options);
  });
}

}  // namespace cursord::cli
