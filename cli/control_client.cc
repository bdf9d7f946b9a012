#include "cli/control_client.h"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include <grpc/grpc.h>
#include <grpc/support/log.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/channel_security.h"
#include "cli/format.h"
#include "google/protobuf/util/json_util.h"
#include "server/common/escape.h"

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

ControlClient::ControlClient(const GlobalOptions& options) : options_(options) {}

int ControlClient::Connect() {
  // First, so that a refusal never opens a connection.
  absl::StatusOr<ChannelSecurity> security =
      ResolveChannelSecurity(options_, absl::Now());
  if (!security.ok()) {
    PrintError(std::string(security.status().message()));
    return kExitUsage;
  }
  tls_ = security->tls;
  // gRPC logs a failed connection (a TLS handshake, say) on stderr in its
  // own format; cursorctl reports it once, in its own words, with gRPC's
  // reason. GRPC_VERBOSITY brings gRPC's lines back for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  grpc::ChannelArguments args = ChannelArguments();
  if (!security->server_name.empty()) {
    args.SetSslTargetNameOverride(security->server_name);
  }
  channel_ = grpc::CreateCustomChannel(options_.server, security->credentials, args);
  control_ = v1::ControlService::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);

  const auto deadline = absl::ToChronoTime(absl::Now() + options_.timeout());
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  // Each turn waits for a state change or the deadline, so the loop ends.
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      PrintError(absl::StrCat("cannot reach the control API at ",
                              options_.server, tls_ ? " over TLS" : "",
                              " (connection failed", FailureDetail(), ")"));
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

std::string ControlClient::FailureDetail() {
  // The channel's state carries no reason; a call on a failed channel
  // fails at once (it does not wait for readiness) with gRPC's last
  // connection error, e.g. a certificate that did not verify.
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      health_->Check(&call, grpc::health::v1::HealthCheckRequest(), &response);
  if (status.ok() || status.error_message().empty()) return "";
  return absl::StrCat(": ", EscapeControl(status.error_message()),
                      ConnectionHint(tls_, status.error_message()));
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

int ReportUnanswered(const google::protobuf::RepeatedPtrField<std::string>& instances) {
  for (const std::string& instance : instances) {
    PrintError("instance " + instance +
               " gave no answer (none in time, or an error: see its log): the answer is incomplete");
  }
  return instances.empty() ? kExitOk : kExitCallFailed;
}

}  // namespace cursord::cli
