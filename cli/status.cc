// `cursorctl status`: the server's version, uptime, addresses, counters, and
// its health check.
#include <string>

#include "cli/command.h"
#include "cli/control_client.h"
#include "cli/format.h"
#include "cli/views.h"

namespace cursord::cli {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

int RunStatus(const GlobalOptions& globals) {
  ControlClient client(globals);
  if (int code = client.Connect(); code != kExitOk) return code;

  v1::ServerInfo info;
  {
    grpc::ClientContext call;
    client.Prepare(&call);
    if (grpc::Status status =
            client.control().GetServerInfo(&call, v1::GetServerInfoRequest(), &info);
        !status.ok()) {
      return client.Report(status);
    }
  }
  // The server as a whole (service ""), as a Kubernetes probe would ask.
  HealthCheckResponse health;
  grpc::Status health_status;
  {
    grpc::ClientContext call;
    client.Prepare(&call);
    health_status = client.health().Check(&call, HealthCheckRequest(), &health);
  }
  const std::string health_text =
      health_status.ok()
          ? HealthCheckResponse::ServingStatus_Name(health.status())
          : "unknown (" + StatusCodeName(health_status.error_code()) + ")";

  if (globals.json()) {
    PrintJsonLine(info);
    if (health_status.ok()) PrintJsonLine(health);
  } else {
    Print(ServerInfoView(info, health_text, ViewContext{}));
  }
  if (!health_status.ok()) return client.Report(health_status);
  if (health.status() != HealthCheckResponse::SERVING) {
    PrintError("the server is not serving (health: " + health_text + ")");
    return kExitCallFailed;
  }
  return kExitOk;
}

}  // namespace

void SetupStatusCommand(CLI::App& app, Context& context) {
  CLI::App* cmd = app.add_subcommand(
      "status", "Show version, uptime, counters and health");
  cmd->footer(
      "Examples:\n"
      "  cursorctl status\n"
      "  cursorctl --server 10.0.0.5:50051 -o json status");
  cmd->callback([&context] { context.exit_code = RunStatus(context.globals); });
}

}  // namespace cursord::cli
