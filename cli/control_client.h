// cursorctl's connection to a cursord control API: one channel, the stubs,
// the per-call token and deadline, and how failures become exit codes.
#ifndef CURSORD_CLI_CONTROL_CLIENT_H_
#define CURSORD_CLI_CONTROL_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "cli/command.h"
#include "cursord/v1/control.grpc.pb.h"
#include "google/protobuf/message.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace cursord::cli {

// The exit code for a call's status: OK 0, UNAVAILABLE 3, others 1.
int ExitCodeFor(const grpc::Status& status);

class ControlClient {
 public:
  explicit ControlClient(const GlobalOptions& options);

  // Decides how to connect (ResolveChannelSecurity: kExitUsage, before any
  // channel exists, for a token that would go in clear or a bad TLS file),
  // creates the channel and the stubs, and connects within the timeout.
  // kExitOk, or kExitUnreachable after saying why on stderr; a refused
  // connection or a failed TLS handshake fails at once, not at the
  // timeout. The stubs exist only after it returned kExitOk.
  int Connect();

  // Sets up a call: the bearer token if any, and the deadline unless the
  // call is a stream that runs until cancelled.
  void Prepare(grpc::ClientContext* context, bool streaming = false) const;

  v1::ControlService::Stub& control() { return *control_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }

  // Says on stderr what failed ("cursorctl: NOT_FOUND: room "x" not
  // found"); returns ExitCodeFor(status).
  int Report(const grpc::Status& status) const;

 private:
  // Why the channel could not connect, as gRPC tells a call on it.
  std::string FailureDetail();

  const GlobalOptions options_;
  bool tls_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ControlService::Stub> control_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// Writes `message` to stdout as one line of proto JSON (lowerCamelCase
// names, default values included so scripts see every field), and flushes.
void PrintJsonLine(const google::protobuf::Message& message);

// Writes to stdout and flushes, so output reaches pipes as it happens.
void Print(const std::string& text);

// "cursorctl: <message>" on stderr.
void PrintError(const std::string& message);

// With --redis, an answer names the live instances that did not answer in
// time: each is reported on stderr and the command exits kExitCallFailed
// (what it did is incomplete); kExitOk when there is none.
int ReportUnanswered(const google::protobuf::RepeatedPtrField<std::string>& instances);

}  // namespace cursord::cli

#endif  // CURSORD_CLI_CONTROL_CLIENT_H_
