// What every cursorctl command shares: the global options, the exit codes,
// and the Setup functions, one per command and file (micromamba's layout).
// A command's Setup adds its subcommand, options and help example, and a
// callback that runs it and leaves its exit code in the Context.
#ifndef CURSORD_CLI_COMMAND_H_
#define CURSORD_CLI_COMMAND_H_

#include <string>

#include "absl/time/time.h"
#include "CLI/App.hpp"

namespace cursord::cli {

// The process's exit status; scripts depend on these.
enum ExitCode : int {
  kExitOk = 0,
  kExitCallFailed = 1,   // the server answered with an error
  kExitUsage = 2,        // bad command line
  kExitUnreachable = 3,  // no connection (or UNAVAILABLE)
};

struct GlobalOptions {
  std::string server = "127.0.0.1:50051";
  std::string token;
  // TLS: --tls, implied by any of the files or the name (see
  // ResolveChannelSecurity, which also keeps a token out of plaintext).
  bool tls = false;
  std::string ca_file;          // roots to trust instead of the system's
  std::string cert_file;        // client certificate (mutual TLS), with key_file
  std::string key_file;
  std::string tls_server_name;  // the name the server's certificate must carry
  std::string output = "table";  // "table" or "json"
  double timeout_seconds = 10;

  bool json() const { return output == "json"; }
  absl::Duration timeout() const { return absl::Seconds(timeout_seconds); }
};

struct Context {
  GlobalOptions globals;
  int exit_code = kExitOk;
};

// --server, --token, --tls, --ca, --cert, --key, --tls-server-name,
// -o/--output, --timeout on the top-level app.
void SetupGlobalOptions(CLI::App& app, GlobalOptions& options);

// `rooms` groups list, show, users and close.
void SetupRoomsCommand(CLI::App& app, Context& context);
void SetupRoomsListCommand(CLI::App& rooms, Context& context);
void SetupRoomsShowCommand(CLI::App& rooms, Context& context);
void SetupRoomsCloseCommand(CLI::App& rooms, Context& context);
void SetupRoomsUsersCommand(CLI::App& rooms, Context& context);
void SetupKickCommand(CLI::App& app, Context& context);
void SetupWatchCommand(CLI::App& app, Context& context);
void SetupActivityCommand(CLI::App& app, Context& context);
void SetupStatusCommand(CLI::App& app, Context& context);
void SetupInstancesCommand(CLI::App& app, Context& context);
void SetupSessionsCommand(CLI::App& app, Context& context);
// `token` mints a join token locally; it uses no global option.
void SetupTokenCommand(CLI::App& app, Context& context);

}  // namespace cursord::cli

#endif  // CURSORD_CLI_COMMAND_H_
