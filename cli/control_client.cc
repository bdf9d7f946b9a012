#include "cli/control_client.h"

#include <chrono>
#include <iostream>

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/format.h"
#include "google/protobuf/util/json_util.h"

namespace cursord::cli {

int ExitCodeFor(const grpc::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return kExitUnreachable;
  }
  return kExitCallFailed;
}

namespace {

// Keepalive while a call runs, so that `cursorctl watch` notices a server
// that vanished without closing the connection. Every 30 s is within what
// cursord permits (a ping per 10 s at most, see ControlServerOptions), so
// the server never counts these pings as abuse.
grpc::ChannelArguments ChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  // A quiet watch sends no data; keep pinging regardless.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return args;
}

}  // namespace

ControlClient::ControlClient(const GlobalOptions& options)
    : options_(options),
      channel_(grpc::CreateCustomChannel(options.server,
                                         grpc::InsecureChannelCredentials(),
                                         ChannelArguments())),
      control_(v1::ControlService::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

int ControlClient::Connect() {
  const auto deadline = absl::ToChronoTime(absl::Now() + options_.timeout());
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  // Each turn waits for a state change or the deadline, so the loop ends.
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      PrintError(absl::StrCat("cannot reach the control API at ",
                              options_.server, " (connection failed)"));
      return kExitUnreachable;
    }
    if (!channel_->WaitForStateChange(state, deadline)) {
      PrintError(absl::StrCat("cannot reach the control API at ",
                              options_.server, " (no connection within ",
                              absl::FormatDuration(options_.timeout()), ")"));
      return kExitUnreachable;
    }
    state = channel_->GetState(/*try_to_connect=*/true);
  }
  return kExitOk;
}

void ControlClient::Prepare(grpc::ClientContext* context, bool streaming) const {
  if (!options_.token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
  if (!streaming) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout()));
  }
}

int ControlClient::Report(const grpc::Status& status) const {
  if (status.ok()) return kExitOk;
  PrintError(FormatStatus(status.error_code(), status.error_message()));
  return ExitCodeFor(status);
}

void PrintJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only messages with unresolvable Any fields fail; the API has none.
    PrintError(absl::StrCat("cannot print ", message.GetTypeName(),
                            " as JSON: ", status.ToString()));
    return;
  }
  std::cout << json << '\n' << std::flush;
}

void Print(const std::string& text) { std::cout << text << std::flush; }

void PrintError(const std::string& message) {
  std::cerr << "cursorctl: " << message << '\n' << std::flush;
}

}  // namespace cursord::cli
