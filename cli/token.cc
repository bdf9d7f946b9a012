// `cursorctl token --room ROOM --user USER (--secret S | --secret-env VAR |
// --key private.pem)` mints a join token and prints it, alone on one line,
// so a backend developer can try join tokens without writing a signer
// first. No server connection: signing is core::SignJoinToken, the code
// the tests verify against cursord's verifier.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/command.h"
#include "cli/control_client.h"
#include "server/core/join_token.h"

namespace cursord::cli {
namespace {

struct TokenOptions {
  std::string room;
  std::string user;
  std::string name;
  std::string color;
  std::string ttl = "1h";
  std::vector<std::string> audience;
  std::string secret;
  std::string secret_env;
  std::string key_file;
};

// The key from whichever of --secret, --secret-env and --key was given
// (CLI11 makes sure it is exactly one).
absl::StatusOr<core::JoinSigningKey> LoadKey(const TokenOptions& options) {
  if (!options.key_file.empty()) {
    std::ifstream file(options.key_file, std::ios::binary);
    if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", options.key_file));
    std::ostringstream pem;
    pem << file.rdbuf();
    return core::JoinSigningKey::FromPrivateKeyPem(pem.str());
  }
  if (!options.secret_env.empty()) {
    const char* secret = std::getenv(options.secret_env.c_str());
    if (secret == nullptr || *secret == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", options.secret_env, " is not set"));
    }
    return core::JoinSigningKey::FromSecret(secret);
  }
  return core::JoinSigningKey::FromSecret(options.secret);
}

// A claim's error names the flag that set it: "sub: ..." reads "--user: ...".
std::string InFlagTerms(absl::string_view message) {
  static constexpr std::pair<const char*, const char*> kFlags[] = {
      {"sub:", "--user:"}, {"room:", "--room:"}, {"name:", "--name:"},
      {"color:", "--color:"}, {"aud:", "--aud:"}};
  for (const auto& [claim, flag] : kFlags) {
    if (absl::StartsWith(message, claim)) {
      return absl::StrCat(flag, message.substr(std::string_view(claim).size()));
    }
  }
  return std::string(message);
}

// Bad input of any kind (duration, key, claims) is a usage error: nothing
// was sent anywhere.
int RunToken(const TokenOptions& options) {
  absl::Duration ttl;
  if (!absl::ParseDuration(options.ttl, &ttl) || ttl <= absl::ZeroDuration()) {
    PrintError(absl::StrCat("--ttl: a positive duration such as 90s, 30m or 1h expected, not \"",
                            options.ttl, "\""));
    return kExitUsage;
  }
  absl::StatusOr<core::JoinSigningKey> key = LoadKey(options);
  if (!key.ok()) {
    PrintError(std::string(key.status().message()));
    return kExitUsage;
  }
  const absl::Time now = absl::Now();
  core::JoinTokenClaims claims;
  claims.sub = options.user;
  claims.room = options.room;
  claims.name = options.name;
  claims.color = options.color;
  claims.audience = options.audience;
  claims.issued_at = now;
  claims.expiry = now + ttl;
  absl::StatusOr<std::string> token = core::SignJoinToken(claims, *key);
  if (!token.ok()) {
    const bool bad_input = token.status().code() == absl::StatusCode::kInvalidArgument;
    PrintError(InFlagTerms(token.status().message()));
    return bad_input ? kExitUsage : kExitCallFailed;
  }
  Print(*token + "\n");
  return kExitOk;
}

}  // namespace

void SetupTokenCommand(CLI::App& app, Context& context) {
  auto options = std::make_shared<TokenOptions>();
  CLI::App* cmd = app.add_subcommand(
      "token", "Mint a join token (no server needed; the key stays here)");
  cmd->add_option("--room", options->room,
                  "Room id, or a prefix ending in '*'")
      ->required();
  cmd->add_option("--user", options->user, "The user id (the token's sub)")->required();
  cmd->add_option("--name", options->name, "Display name");
  cmd->add_option("--color", options->color, "Cursor color, #rrggbb");
  cmd->add_option("--ttl", options->ttl, "Lifetime: 90s, 30m, 1h, ...")
      ->capture_default_str();
  cmd->add_option("--aud", options->audience,
                  "Audience, if cursord checks one (repeatable)");
  CLI::Option_group* keys =
      cmd->add_option_group("key", "The signing key");
  keys->add_option("--secret", options->secret,
                   "HS256 secret, 32+ bytes (shows in ps)");
  keys->add_option("--secret-env", options->secret_env,
                   "Environment variable with the HS256 secret");
  keys->add_option("--key", options->key_file,
                   "PEM private key: P-256 (ES256) or RSA (RS256)");
  keys->require_option(1);
  cmd->footer(
      "Prints the token alone on one line. Clients pass it as ?token=TOKEN or as the\n"
      "WebSocket subprotocol cursord.token.TOKEN (next to cursord.v2).\n"
      "Examples:\n"
      "  cursorctl token --room lobby --user u-1 --secret-env JOIN_SECRET\n"
      "  cursorctl token --room 'team-7.*' --user u-1 --ttl 15m --key es256.pem");
  cmd->callback([options, &context] { context.exit_code = RunToken(*options); });
}

}  // namespace cursord::cli
