// `cursorctl instances`: the live instances of a cluster (--redis), each as
// it describes itself; without --redis, the server alone.
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/format.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

int RunInstances(const GlobalOptions& globals) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;
  v1::ListInstancesResponse response;
  grpc::ClientContext call;
  client.Prepare(&call);
  if (grpc::Status status =
          client.control().ListInstances(&call, v1::ListInstancesRequest(), &response);
      !status.ok()) {
    return client.Report(status);
  }
  if (globals.json()) {
    PrintJsonLine(response);
  } else {
    Print(InstancesView(response, ViewContext{}));
  }
  for (const v1::Instance& instance : response.instances()) {
    if (!instance.answered()) {
      PrintError("instance " + instance.instance_id() +
                 " is live in Redis but did not answer in time");
      return kExitCallFailed;
    }
  }
  return kExitOk;
}

}  // namespace

void SetupInstancesCommand(CLI::App& app, Context& context) {
  CLI::App* cmd = app.add_subcommand(
      "instances", "List the instances of the cluster (--redis) and their figures");
  cmd->footer(
      "Exits 1 when an instance that is live in Redis did not answer in time.\n"
      "Examples:\n"
      "  cursorctl instances\n"
      "  cursorctl -o json instances");
  cmd->callback([&context] { context.exit_code = RunInstances(context.globals); });
}

}  // namespace cursord::cli
