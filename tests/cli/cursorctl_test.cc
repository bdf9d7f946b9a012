// cursorctl run as a process against the real server: every command's
// table and JSON output, every exit code.
#include <signal.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/format.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.pb.h"
#include "server/core/join_token.h"
#include "tests/control/control_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/subprocess.h"

#ifndef CURSORCTL_PATH
#error "CURSORCTL_PATH must name the cursorctl binary under test"
#endif

namespace cursord::testing {
namespace {

Bytes B(std::initializer_list<uint8_t> bytes) { return Bytes(bytes); }

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

template <typename Message>
Message ParseJson(const std::string& line) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return message;
}

void ExpectFitsTerminal(const std::string& text) {
  for (const std::string& line : Lines(text)) {
    EXPECT_LE(cli::DisplayWidth(line), cli::kTerminalWidth) << line;
  }
}

// A loopback port nothing listens on: bound, then released.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

class CursorctlTest : public ControlTest {
 protected:
  // argv for cursorctl against the test's control server.
  std::vector<std::string> Args(std::vector<std::string> args) const {
    std::vector<std::string> argv = {CURSORCTL_PATH, "--server", control_->address(),
                                     "--timeout", "5"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  RunResult Ctl(std::vector<std::string> args,
                const std::map<std::string, std::string>& env = {}) const {
    return RunProcess(Args(std::move(args)), env);
  }
};

// -------------------------------------------------------------------- usage

TEST_F(CursorctlTest, HelpOnEveryCommandWithAnExample) {
  for (const std::vector<std::string>& command : std::vector<std::vector<std::string>>{
           {}, {"rooms"}, {"rooms", "list"}, {"rooms", "show"}, {"rooms", "close"},
           {"kick"}, {"watch"}, {"status"}, {"sessions"}}) {
    std::vector<std::string> argv = {CURSORCTL_PATH};
    argv.insert(argv.end(), command.begin(), command.end());
    argv.push_back("--help");
    const RunResult result = RunProcess(argv);
    EXPECT_EQ(result.exit_code, 0) << argv.back() << result.err;
    EXPECT_NE(result.out.find("Example"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("cursorctl "), std::string::npos) << result.out;
  }
}

TEST_F(CursorctlTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},                               // no command
           {"rooms"},                        // no subcommand
           {"rooms", "list", "--bogus"},     // unknown flag
           {"-o", "yaml", "status"},         // bad output format
           {"rooms", "list", "--limit", "0"},
           {"rooms", "show"},                // missing ROOM
           {"kick", "lobby"},                // missing MEMBER_ID
           {"kick", "lobby", "x"},           // not a number
           {"kick", "--user", "u", "lobby"}, // both forms
           {"watch", "lobby", "--rate", "100"},
       }) {
    const RunResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ") << ": " << result.err;
    EXPECT_FALSE(result.err.empty());
  }
  const RunResult bogus = Ctl({"rooms", "list", "--bogus"});
  EXPECT_NE(bogus.err.find("--bogus"), std::string::npos) << bogus.err;
}

TEST_F(CursorctlTest, UnreachableServerExitsThree) {
  const std::string address = absl::StrCat("127.0.0.1:", ClosedPort());
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status"}, {"rooms", "list"}, {"watch", "lobby"}}) {
    std::vector<std::string> argv = {CURSORCTL_PATH, "--server", address};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult result = RunProcess(argv);
    EXPECT_EQ(result.exit_code, 3) << result.err;
    EXPECT_NE(result.err.find("cannot reach the control API at " + address),
              std::string::npos)
        << result.err;
  }
}

TEST_F(CursorctlTest, ServerFromEnvironment) {
  const RunResult result =
      RunProcess({CURSORCTL_PATH, "status"}, {{"CURSORCTL_SERVER", control_->address()}});
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

// ---------------------------------------------------------------- rooms list

TEST_F(CursorctlTest, RoomsListTableAndJson) {
  auto a = Join("/rooms/team-a");
  auto b1 = Join("/rooms/team-b");
  auto b2 = Join("/rooms/team-b");
  auto other = Join("/rooms/other");
  ASSERT_TRUE(a && b1 && b2 && other);

  RunResult table = Ctl({"rooms", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 4u) << table.out;
  EXPECT_EQ(lines[0].rfind("ROOM    MEMBERS  AGE", 0), 0u) << table.out;
  EXPECT_EQ(lines[1].rfind("other         1  ", 0), 0u) << table.out;
  EXPECT_EQ(lines[2].rfind("team-a        1  ", 0), 0u) << table.out;
  EXPECT_EQ(lines[3].rfind("team-b        2  ", 0), 0u) << table.out;
  ExpectFitsTerminal(table.out);

  RunResult json = Ctl({"-o", "json", "rooms", "list", "--prefix", "team-"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  lines = Lines(json.out);
  ASSERT_EQ(lines.size(), 2u) << json.out;
  const v1::Room first = ParseJson<v1::Room>(lines[0]);
  EXPECT_EQ(first.id(), "team-a");
  EXPECT_EQ(first.member_count(), 1);
  EXPECT_TRUE(first.has_create_time());
  EXPECT_EQ(ParseJson<v1::Room>(lines[1]).member_count(), 2);

  // Global options may also follow the command.
  RunResult limited = Ctl({"rooms", "list", "--limit", "2", "-o", "json"});
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  EXPECT_EQ(Lines(limited.out).size(), 2u);

  RunResult none = Ctl({"rooms", "list", "--prefix", "zzz"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.out, "");
  EXPECT_NE(none.err.find("no rooms"), std::string::npos);

  RunResult bad = Ctl({"rooms", "list", "--prefix", "a b"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("INVALID_ARGUMENT: room_id_prefix"), std::string::npos) << bad.err;
}

// ---------------------------------------------------------------- rooms show

TEST_F(CursorctlTest, RoomsShowTableAndJson) {
  uint8_t a_id = 0, b_id = 0;
  auto a = Join("/rooms/lobby?user=u-1&name=Alice&color=%23ff8800", &a_id);
  auto b = Join("/rooms/lobby?name=Bob", &b_id);
  ASSERT_TRUE(a && b);
  a->SendBinary(CursorMessage(1200, 340));
  a->SendBinary(B({0x06}));
  ASSERT_TRUE(a->Read().has_value());  // b's join
  for (int i = 0; i < 10; ++i) {
    std::optional<Bytes> got = b->Read();
    ASSERT_TRUE(got.has_value());
    if (*got == B({0x06, a_id})) break;
  }

  RunResult table = Ctl({"rooms", "show", "lobby"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  ExpectFitsTerminal(table.out);
  const std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 6u) << table.out;
  EXPECT_EQ(lines[0], "Room:     lobby");
  EXPECT_EQ(lines[1], "Members:  2");
  EXPECT_EQ(lines[2].rfind("Created:  ", 0), 0u);
  EXPECT_EQ(lines[3].rfind("ID  USER  NAME   COLOR    CURSOR    CLICK  ONLINE  IDLE  ADDRESS", 0),
            0u)
      << table.out;
  EXPECT_EQ(lines[4].rfind(absl::StrCat(" ", int{a_id},
                                        "  u-1   Alice  #ff8800  1200,340  down   "),
                           0),
            0u)
      << table.out;
  EXPECT_NE(lines[4].find("127.0.0.1:"), std::string::npos);
  EXPECT_EQ(lines[5].rfind(absl::StrCat(" ", int{b_id}, "  -     Bob    -        -         -"), 0),
            0u)
      << table.out;

  RunResult json = Ctl({"rooms", "show", "lobby", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  ASSERT_EQ(Lines(json.out).size(), 1u);
  const v1::Room room = ParseJson<v1::Room>(json.out);
  EXPECT_EQ(room.id(), "lobby");
  ASSERT_EQ(room.members_size(), 2);
  EXPECT_EQ(room.members(0).display_name(), "Alice");
  EXPECT_EQ(room.members(0).cursor().x(), 1200u);
  // Default values are printed too, for scripts.
  EXPECT_NE(json.out.find("\"clicking\":false"), std::string::npos) << json.out;
}

TEST_F(CursorctlTest, SessionsTableAndJsonFilteredAndPaged) {
  uint8_t id = 0;
  auto gone = Join("/rooms/sess?user=u-1&name=Alice", &id);
  auto here = Join("/rooms/sess?user=u-2&name=Bob", &id);
  auto elsewhere = Join("/rooms/other?user=u-1", &id);
  ASSERT_TRUE(gone && here && elsewhere);
  gone->Close(1000);
  // Wait for the leave's record: the table then says how it ended.
  ASSERT_TRUE(Eventually([&] {
    return Ctl({"sessions", "--room", "sess"}).out.find("left (1000)") != std::string::npos;
  }));

  RunResult table = Ctl({"sessions", "--room", "sess"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  ExpectFitsTerminal(table.out);
  const std::vector<std::string> lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 3u) << table.out;
  EXPECT_EQ(lines[0].rfind("STARTED", 0), 0u) << table.out;
  EXPECT_NE(lines[0].find("END"), std::string::npos) << table.out;
  EXPECT_NE(lines[1].find("Bob"), std::string::npos) << table.out;  // newest first
  EXPECT_NE(lines[1].find("open"), std::string::npos) << table.out;
  EXPECT_NE(lines[2].find("Alice"), std::string::npos) << table.out;
  EXPECT_NE(lines[2].find("left (1000)"), std::string::npos) << table.out;

  RunResult by_user = Ctl({"-o", "json", "sessions", "--user", "u-1"});
  ASSERT_EQ(by_user.exit_code, 0) << by_user.err;
  const std::vector<std::string> json_lines = Lines(by_user.out);
  ASSERT_EQ(json_lines.size(), 2u) << by_user.out;
  const v1::Session newest = ParseJson<v1::Session>(json_lines[0]);
  const v1::Session oldest = ParseJson<v1::Session>(json_lines[1]);
  EXPECT_EQ(newest.room_id(), "other");
  EXPECT_EQ(newest.end_reason(), "");
  EXPECT_FALSE(newest.has_end_time());
  EXPECT_EQ(oldest.room_id(), "sess");
  EXPECT_EQ(oldest.end_reason(), "left");
  EXPECT_EQ(oldest.close_code(), 1000u);
  EXPECT_TRUE(oldest.has_end_time());

  RunResult limited = Ctl({"-o", "json", "sessions", "--limit", "1"});
  ASSERT_EQ(limited.exit_code, 0) << limited.err;
  EXPECT_EQ(Lines(limited.out).size(), 1u);
  RunResult none = Ctl({"sessions", "--room", "nosuch"});
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "No sessions.\n");
  RunResult bad = Ctl({"sessions", "--room", "a b"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("INVALID_ARGUMENT"), std::string::npos) << bad.err;
}

TEST_F(CursorctlTest, ActivityFollowsTheRecordsAndResumesAfterAPosition) {
  auto a = Join("/rooms/act-1?user=ann&name=Alice");
  ASSERT_NE(a, nullptr);
  auto other = Join("/rooms/other?user=oz");
  ASSERT_NE(other, nullptr);
  a->Close();
  ASSERT_TRUE(Eventually([&] { return Lines(Ctl({"sessions", "--room", "act-1"}).out).size() == 2; }));

  // A table line per record from the oldest, then what happens live.
  auto follow = Subprocess::Start(Args({"activity", "--room-prefix", "act-", "--after", "0"}));
  ASSERT_TRUE(follow.ok()) << follow.status();
  Subprocess& process = **follow;
  ASSERT_TRUE(process.WaitForStdout("act-1 #0 ann \"Alice\" from 127.0.0.1", absl::Seconds(10)))
      << process.out() << process.err();
  ASSERT_TRUE(process.WaitForStdout(": left (1000) after", absl::Seconds(5))) << process.out();
  auto b = Join("/rooms/act-2?name=Bob");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(process.WaitForStdout("act-2 #0 \"Bob\"", absl::Seconds(5))) << process.out();
  process.Signal(SIGINT);
  EXPECT_EQ(process.Wait(absl::Seconds(5)), 0) << process.err();
  const std::vector<std::string> lines = Lines(process.out());
  ASSERT_EQ(lines.size(), 3u) << process.out();  // "other" is not under the prefix
  EXPECT_NE(lines[0].find("joined"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("left"), std::string::npos) << lines[1];

  // JSON, resumed after the first record's position: the second one first.
  auto json = Subprocess::Start(Args({"-o", "json", "activity", "--room-prefix", "act-", "--after",
                                      "0"}));
  ASSERT_TRUE(json.ok()) << json.status();
  ASSERT_TRUE((*json)->WaitForStdout("Bob", absl::Seconds(10))) << (*json)->out();
  (*json)->Signal(SIGTERM);
  EXPECT_EQ((*json)->Wait(absl::Seconds(5)), 0) << (*json)->err();
  const std::vector<std::string> events = Lines((*json)->out());
  ASSERT_EQ(events.size(), 3u) << (*json)->out();
  const v1::ActivityEvent first = ParseJson<v1::ActivityEvent>(events[0]);
  EXPECT_EQ(first.kind(), v1::ActivityEvent::JOINED);
  EXPECT_EQ(first.session().display_name(), "Alice");
  const v1::ActivityEvent left = ParseJson<v1::ActivityEvent>(events[1]);
  EXPECT_EQ(left.kind(), v1::ActivityEvent::LEFT);
  EXPECT_EQ(left.session().end_reason(), "left");
  EXPECT_EQ(left.session().session_id(), first.session().session_id());
  auto resumed = Subprocess::Start(Args({"-o", "json", "activity", "--room-prefix", "act-",
                                         "--after", first.position()}));
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  ASSERT_TRUE((*resumed)->WaitForStdout("Bob", absl::Seconds(10))) << (*resumed)->out();
  (*resumed)->Signal(SIGTERM);
  EXPECT_EQ((*resumed)->Wait(absl::Seconds(5)), 0);
  const std::vector<std::string> again = Lines((*resumed)->out());
  ASSERT_EQ(again.size(), 2u) << (*resumed)->out();
  EXPECT_EQ(ParseJson<v1::ActivityEvent>(again[0]).position(), left.position());

  RunResult bad = Ctl({"activity", "--after", "soon"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("INVALID_ARGUMENT: position \"soon\""), std::string::npos) << bad.err;
}

TEST_F(CursorctlTest, CallErrorsExitOneNamingStatusAndReason) {
  RunResult missing = Ctl({"rooms", "show", "nosuch"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "cursorctl: NOT_FOUND: room \"nosuch\" not found\n");

  RunResult bad = Ctl({"rooms", "show", "a/b"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("INVALID_ARGUMENT: room_id \"a/b\""), std::string::npos) << bad.err;

  RunResult member = Ctl({"kick", "nosuch", "300"});
  EXPECT_EQ(member.exit_code, 1);
  EXPECT_NE(member.err.find("INVALID_ARGUMENT: member_id 300 is out of range 0..255"),
            std::string::npos)
      << member.err;
}

// ---------------------------------------------------------------------- kick

TEST_F(CursorctlTest, KickMemberTableAndJson) {
  uint8_t a_id = 0, b_id = 0, c_id = 0;
  auto a = Join("/rooms/k", &a_id);
  auto b = Join("/rooms/k", &b_id);
  auto c = Join("/rooms/k", &c_id);
  ASSERT_TRUE(a && b && c);

  RunResult table = Ctl({"kick", "k", std::to_string(b_id), "--reason", "bye"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out, absl::StrCat("kicked member ", int{b_id}, " from room \"k\"\n"));
  ASSERT_TRUE(b->WaitClosed());
  EXPECT_EQ(b->close_code(), 4000);
  EXPECT_EQ(b->close_reason(), "bye");

  RunResult json = Ctl({"-o", "json", "kick", "k", std::to_string(c_id)});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "{}\n");
  ASSERT_TRUE(c->WaitClosed());
  EXPECT_EQ(c->close_code(), 4000);

  RunResult again = Ctl({"kick", "k", std::to_string(b_id)});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("NOT_FOUND: member"), std::string::npos) << again.err;
}

TEST_F(CursorctlTest, KickUserTableAndJson) {
  auto m1 = Join("/rooms/u1?user=mallory");
  auto m2 = Join("/rooms/u2?user=mallory");
  auto eve = Join("/rooms/u1?user=eve");
  ASSERT_TRUE(m1 && m2 && eve);

  RunResult table = Ctl({"kick", "--user", "mallory", "--reason", "banned"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out, "kicked user \"mallory\" (2 connections)\n");
  ASSERT_TRUE(m1->WaitClosed());
  EXPECT_EQ(m1->close_reason(), "banned");
  ASSERT_TRUE(m2->WaitClosed());

  RunResult json = Ctl({"-o", "json", "kick", "--user", "eve"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "{\"kickedCount\":1,\"unansweredInstances\":[]}\n");

  RunResult none = Ctl({"kick", "--user", "eve"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "cursorctl: NOT_FOUND: no connection of user \"eve\"\n");
}

// --------------------------------------------------------------- rooms close

TEST_F(CursorctlTest, RoomsCloseTableAndJson) {
  auto a = Join("/rooms/c1");
  auto b = Join("/rooms/c1");
  auto c = Join("/rooms/c2");
  ASSERT_TRUE(a && b && c);

  RunResult table = Ctl({"rooms", "close", "c1", "--reason", "maintenance"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out, "closed room \"c1\" (2 members)\n");
  ASSERT_TRUE(a->WaitClosed());
  EXPECT_EQ(a->close_code(), 4001);
  EXPECT_EQ(a->close_reason(), "maintenance");

  RunResult json = Ctl({"rooms", "close", "c2", "-o", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "{\"closedCount\":1,\"unansweredInstances\":[]}\n");
  ASSERT_TRUE(c->WaitClosed());
  EXPECT_EQ(c->close_code(), 4001);

  RunResult gone = Ctl({"rooms", "close", "c2"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.err, "cursorctl: NOT_FOUND: room \"c2\" not found\n");
}

// --------------------------------------------------------------------- watch

TEST_F(CursorctlTest, WatchStreamsUntilInterrupted) {
  uint8_t a_id = 0;
  auto a = Join("/rooms/w?name=Alice", &a_id);
  ASSERT_NE(a, nullptr);
  auto watch = Subprocess::Start(Args({"watch", "w"}));
  ASSERT_TRUE(watch.ok()) << watch.status();
  Subprocess& process = **watch;
  ASSERT_TRUE(process.WaitForStdout("snapshot", absl::Seconds(10))) << process.err();
  ASSERT_TRUE(process.WaitForStdout("Alice", absl::Seconds(5)));

  auto b = Join("/rooms/w?name=Bob");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(process.WaitForStdout("joined", absl::Seconds(5))) << process.out();
  a->SendBinary(B({0x06}));
  EXPECT_TRUE(process.WaitForStdout(absl::StrCat("click    ", absl::StrFormat("%3d", a_id),
                                                 "  down"),
                                    absl::Seconds(5)))
      << process.out();

  process.Signal(SIGINT);
  EXPECT_EQ(process.Wait(absl::Seconds(5)), 0) << process.err();
  ExpectFitsTerminal(process.out());
}

TEST_F(CursorctlTest, WatchJsonWithCursorMovesEndsOnSigterm) {
  uint8_t a_id = 0;
  auto a = Join("/rooms/wj", &a_id);
  ASSERT_NE(a, nullptr);
  auto watch = Subprocess::Start(Args({"-o", "json", "watch", "wj", "--cursor-moves"}));
  ASSERT_TRUE(watch.ok()) << watch.status();
  Subprocess& process = **watch;
  ASSERT_TRUE(process.WaitForStdout("\"snapshot\"", absl::Seconds(10))) << process.err();
  a->SendBinary(CursorMessage(321, 654));
  ASSERT_TRUE(process.WaitForStdout("cursorMoved", absl::Seconds(5))) << process.out();
  ASSERT_TRUE(process.WaitForStdout("654", absl::Seconds(5))) << process.out();

  process.Signal(SIGTERM);
  EXPECT_EQ(process.Wait(absl::Seconds(5)), 0) << process.err();
  const std::vector<std::string> lines = Lines(process.out());
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(ParseJson<v1::WatchRoomResponse>(lines[0]).has_snapshot());
  const v1::WatchRoomResponse move = ParseJson<v1::WatchRoomResponse>(lines[1]);
  ASSERT_TRUE(move.has_cursor_moved());
  EXPECT_EQ(move.cursor_moved().member_id(), a_id);
  EXPECT_EQ(move.cursor_moved().position().x(), 321u);
}

TEST_F(CursorctlTest, WatchUnknownRoomExitsOne) {
  RunResult result = Ctl({"watch", "nosuch"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "cursorctl: NOT_FOUND: room \"nosuch\" not found\n");
}

// Reasons and error messages are other people's text: a newline or an
// escape sequence in them must reach the operator's terminal as visible
// escapes, never as a line break or a terminal command.
TEST_F(CursorctlTest, ControlCharactersInReasonsAndErrorsAreShownEscaped) {
  uint8_t b_id = 0;
  auto a = Join("/rooms/esc");
  auto b = Join("/rooms/esc", &b_id);
  ASSERT_TRUE(a && b);
  auto watch = Subprocess::Start(Args({"watch", "esc"}));
  ASSERT_TRUE(watch.ok()) << watch.status();
  Subprocess& process = **watch;
  ASSERT_TRUE(process.WaitForStdout("snapshot", absl::Seconds(10))) << process.err();

  // Would clear the watching operator's screen and start a forged line.
  RunResult kick = Ctl({"kick", "esc", std::to_string(b_id), "--reason", "bye\n\x1b[2Jx"});
  ASSERT_EQ(kick.exit_code, 0) << kick.err;
  EXPECT_TRUE(process.WaitForStdout(R"(reason="bye\n\x1b[2Jx")", absl::Seconds(5)))
      << process.out();
  process.Signal(SIGINT);
  EXPECT_EQ(process.Wait(absl::Seconds(5)), 0) << process.err();
  EXPECT_EQ(process.out().find('\x1b'), std::string::npos) << process.out();
  for (const std::string& line : Lines(process.out())) {
    EXPECT_NE(line.rfind("x", 0), 0u) << "a line began inside the reason:\n" << process.out();
  }

  // A user id no client can join with is refused by the server's rule
  // (server/core's), and nothing of it reaches the terminal raw.
  RunResult refused = Ctl({"kick", "--user", "eve\x1b]0;pwned\x07\r"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("INVALID_ARGUMENT: user_id: printable ASCII without spaces"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(refused.err.find('\x1b'), std::string::npos) << refused.err;
  // A valid user id the server does not know is quoted back, escaped.
  RunResult missing = Ctl({"kick", "--user", "eve\\"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "cursorctl: NOT_FOUND: no connection of user \"eve\\\\\"\n");
}

// -------------------------------------------------------------------- status

TEST_F(CursorctlTest, StatusTableAndJson) {
  auto a = Join("/rooms/s");
  ASSERT_NE(a, nullptr);
  RunResult table = Ctl({"status"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  ExpectFitsTerminal(table.out);
  EXPECT_NE(table.out.find("Version:      0.1.0\n"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Health:       SERVING\n"), std::string::npos);
  EXPECT_NE(table.out.find(absl::StrCat("Control:      ", control_->address(), "\n")),
            std::string::npos);
  EXPECT_NE(table.out.find("Connections:  1\n"), std::string::npos);
  EXPECT_NE(table.out.find("Rooms:        1\n"), std::string::npos);
  EXPECT_NE(table.out.find("COUNTER"), std::string::npos);
  EXPECT_NE(table.out.find("messages_in"), std::string::npos);

  RunResult json = Ctl({"-o", "json", "status"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::vector<std::string> lines = Lines(json.out);
  ASSERT_EQ(lines.size(), 2u) << json.out;
  const v1::ServerInfo info = ParseJson<v1::ServerInfo>(lines[0]);
  EXPECT_EQ(info.connection_count(), 1);
  EXPECT_EQ(info.control_address(), control_->address());
  EXPECT_EQ(lines[1], "{\"status\":\"SERVING\"}");
}

// ---------------------------------------------------------------------- auth

TEST_F(CursorctlTest, TokenFromFlagOrEnvironment) {
  RestartControl({/*token=*/"s3cret"});
  RunResult refused = Ctl({"rooms", "list"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("UNAUTHENTICATED"), std::string::npos) << refused.err;

  RunResult wrong = Ctl({"--token", "guess", "rooms", "list"});
  EXPECT_EQ(wrong.exit_code, 1);

  EXPECT_EQ(Ctl({"--token", "s3cret", "rooms", "list"}).exit_code, 0);
  EXPECT_EQ(Ctl({"rooms", "list"}, {{"CURSORCTL_TOKEN", "s3cret"}}).exit_code, 0);
}

// -------------------------------------------------------------------- token

// `cursorctl token` needs no server: what it prints, cursord's verifier
// accepts, with the identity given on the command line.
TEST(CursorctlTokenTest, PrintsATokenTheVerifierAccepts) {
  const std::string secret(40, 's');
  const RunResult hs = RunProcess(
      {CURSORCTL_PATH, "token", "--room", "team-7.*", "--user", "u-1", "--name", "Ada",
       "--color", "#FF8800", "--ttl", "10m", "--secret-env", "JOIN_SECRET"},
      {{"JOIN_SECRET", secret}});
  ASSERT_EQ(hs.exit_code, 0) << hs.err;
  ASSERT_EQ(Lines(hs.out).size(), 1u) << hs.out;
  core::JoinTokenVerifierOptions hs_options;
  hs_options.secret = secret;
  const absl::Time now = absl::Now();
  absl::StatusOr<core::VerifiedJoinToken> verified =
      core::JoinTokenVerifier::Create(hs_options)->Verify(Lines(hs.out)[0], "team-7.doc", now);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->user_id, "u-1");
  EXPECT_EQ(verified->name, "Ada");
  EXPECT_EQ(verified->color, "#ff8800");
  EXPECT_GT(verified->expiry, now + absl::Minutes(10) - absl::Seconds(10));
  EXPECT_LE(verified->expiry, now + absl::Minutes(10));

  // ES256 from a PEM file.
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  BUF_MEM* pem = nullptr;
  BIO_get_mem_ptr(bio, &pem);
  const std::string key_path = ::testing::TempDir() + "/cursorctl_token_es256.pem";
  std::ofstream(key_path) << std::string(pem->data, pem->length);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  BIO_get_mem_ptr(bio, &pem);
  core::JoinTokenVerifierOptions es_options;
  es_options.public_key = *core::ParseJoinPublicKey(std::string(pem->data, pem->length));
  BIO_free(bio);
  EVP_PKEY_free(key);
  const RunResult es =
      RunProcess({CURSORCTL_PATH, "token", "--room", "lobby", "--user", "u-2", "--key", key_path});
  ASSERT_EQ(es.exit_code, 0) << es.err;
  verified = core::JoinTokenVerifier::Create(es_options)->Verify(Lines(es.out)[0], "lobby", now);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->algorithm, core::JoinTokenAlgorithm::kEs256);

  // Bad input is a usage error that names the flag, and prints no token.
  for (const auto& [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--user", "u", "--secret-env", "JOIN_SECRET"}, "--room"},
           {{"--room", "lobby", "--user", "u"}, "--secret"},
           {{"--room", "lobby", "--user", "u", "--secret", "short"}, "32 bytes"},
           {{"--room", "a/b", "--user", "u", "--secret-env", "JOIN_SECRET"}, "--room"},
           {{"--room", "lobby", "--user", "a b", "--secret-env", "JOIN_SECRET"}, "--user"},
           {{"--room", "lobby", "--user", "u", "--secret-env", "JOIN_SECRET", "--ttl", "0s"},
            "--ttl"},
           {{"--room", "lobby", "--user", "u", "--key", key_path + ".missing"}, "missing"},
       }) {
    std::vector<std::string> argv = {CURSORCTL_PATH, "token"};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult result = RunProcess(argv, {{"JOIN_SECRET", secret}});
    EXPECT_EQ(result.exit_code, 2) << absl::StrJoin(args, " ") << ": " << result.err;
    EXPECT_NE(result.err.find(flag), std::string::npos) << result.err;
    EXPECT_EQ(result.out, "");
  }
}

}  // namespace
}  // namespace cursord::testing
