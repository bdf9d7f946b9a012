#include "tests/testing/nginx_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace cursord::testing {
namespace {

constexpr int kPortAttempts = 5;

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// A loopback port that was free a moment ago.
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// Whether `path` exists and is not empty.
bool HasContent(const std::string& path) {
  std::error_code ec;
  return std::filesystem::file_size(path, ec) > 0 && !ec;
}

// Writes the configs for `port` and starts nginx on it: the running process
// once it listens, nullptr if the port was taken, an error otherwise.
absl::StatusOr<std::unique_ptr<Subprocess>> StartOn(const NginxProcess::Options& options,
                                                    const std::string& production, int port) {
  std::string upstreams;
  for (const int upstream : options.upstream_ports) {
    absl::StrAppend(&upstreams, upstreams.empty() ? "" : "\n    ", "server 127.0.0.1:", upstream,
                    ";");
  }
  std::vector<std::pair<std::string, std::string>> substitutions = {
      {"listen 443 ssl http2;", absl::StrCat("listen 127.0.0.1:", port, " ssl http2;")},
      {"server 127.0.0.1:8080;", upstreams},
      {"/etc/letsencrypt/live/cursor.example.com/fullchain.pem", options.certificate.cert_file},
      {"/etc/letsencrypt/live/cursor.example.com/privkey.pem", options.certificate.key_file}};
  if (options.round_robin) substitutions.push_back({"    hash $cursord_room consistent;\n", ""});
  absl::StatusOr<std::string> rendered =
      RenderConfig(production, substitutions, options.config_path);
  if (!rendered.ok()) return rendered.status();
  const std::string& dir = options.dir;
  if (!WriteFile(dir + "/cursord.conf", *rendered)) {
    return absl::InternalError(absl::StrCat("cannot write ", dir, "/cursord.conf"));
  }
  // What Debian's /etc/nginx/nginx.conf is around conf.d/: the http
  // context, here with every path nginx writes inside the temp dir.
  const std::string pid_file = dir + "/nginx.pid";
  std::string http;
  for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    absl::StrAppend(&http, "  ", temp, "_temp_path ", dir, "/", temp, ";\n");
  }
  for (const std::string& line : options.http_directives) absl::StrAppend(&http, "  ", line, "\n");
  if (!WriteFile(dir + "/nginx.conf",
                 absl::StrCat("pid ", pid_file, ";\n", "events { worker_connections 256; }\n",
                              "http {\n", "  access_log ", dir, "/access.log;\n", http,
                              "  include ", dir, "/cursord.conf;\n", "}\n"))) {
    return absl::InternalError(absl::StrCat("cannot write ", dir, "/nginx.conf"));
  }
  std::filesystem::remove(pid_file);  // a killed attempt's
  // One process in the foreground, so the pid started is all of nginx (and
  // round-robin, with one worker, alternates request by request); if the
  // test process dies before it can stop nginx, the kernel kills nginx too
  // (setpriv, from util-linux, sets that up and execs it).
  std::vector<std::string> argv;
  const std::string setpriv = FindProgram("setpriv");
  if (!setpriv.empty()) argv = {setpriv, "--pdeathsig", "KILL", "--"};
  argv.insert(argv.end(), {options.nginx, "-p", dir, "-c", dir + "/nginx.conf", "-e", "stderr",
                           "-g", "daemon off; master_process off;"});
  absl::StatusOr<std::unique_ptr<Subprocess>> nginx = Subprocess::Start(argv);
  if (!nginx.ok()) return nginx.status();
  // nginx writes its pid file once its listening socket is bound (a connect
  // would not tell: whoever took the port meanwhile accepts too); if it
  // cannot start, it says why with [emerg] and exits.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool failed = false;
  while (absl::Now() < deadline && !failed) {
    if (HasContent(pid_file)) return nginx;
    failed = (*nginx)->WaitForStderr("[emerg]", absl::Milliseconds(20));
  }
  const std::string err = (*nginx)->err();
  nginx->reset();  // SIGKILL: it would retry the bind for 2.5 s before giving up
  if (failed && absl::StrContains(err, "Address already in use")) {
    return std::unique_ptr<Subprocess>();
  }
  return absl::UnavailableError(absl::StrCat("nginx did not start:\n", err));
}

}  // namespace

std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> folders = absl::StrSplit(path ? path : "", ':', absl::SkipEmpty());
  for (const char* sbin : {"/usr/local/sbin", "/usr/sbin", "/sbin"}) folders.push_back(sbin);
  for (const std::string& folder : folders) {
    const std::string candidate = absl::StrCat(folder, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::string();
}

absl::StatusOr<std::string> RenderConfig(
    std::string config, const std::vector<std::pair<std::string, std::string>>& substitutions,
    const std::string& config_name) {
  for (const auto& [production, test] : substitutions) {
    const size_t at = config.find(production);
    if (at == std::string::npos || config.find(production, at + 1) != std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat(config_name, " must contain \"", production, "\" exactly once"));
    }
    config.replace(at, production.size(), test);
  }
  return config;
}

absl::StatusOr<TestCertificate> MakeTestCertificate(const std::string& openssl,
                                                    const std::string& dir,
                                                    const std::string& host_name) {
  TestCertificate made{dir + "/fullchain.pem", dir + "/privkey.pem"};
  const RunResult result = RunProcess(
      {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", made.key_file, "-out", made.cert_file, "-days", "2", "-subj",
       absl::StrCat("/CN=", host_name), "-addext", absl::StrCat("subjectAltName=DNS:", host_name)});
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl req exited ", result.exit_code, ": ", result.err));
  }
  return made;
}

absl::StatusOr<std::unique_ptr<NginxProcess>> NginxProcess::Start(const Options& options) {
  std::ifstream in(options.config_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", options.config_path));
  const std::string production{std::istreambuf_iterator<char>(in), {}};
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    const int port = FreeLoopbackPort();
    absl::StatusOr<std::unique_ptr<Subprocess>> nginx = StartOn(options, production, port);
    if (!nginx.ok()) return nginx.status();
    if (*nginx) return std::unique_ptr<NginxProcess>(new NginxProcess(std::move(*nginx), port));
  }
  return absl::UnavailableError(
      absl::StrCat("no free port for nginx after ", kPortAttempts, " tries"));
}

NginxProcess::~NginxProcess() {
  process_->Signal(SIGTERM);
  process_->Wait(absl::Seconds(5));
}

}  // namespace cursord::testing
