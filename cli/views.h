// The human (table) output of each cursorctl command, from the API's
// messages. Pure functions of their inputs (the clock and time zone are
// passed in), unit-tested in tests/control/views_test.cc.
#ifndef CURSORD_CLI_VIEWS_H_
#define CURSORD_CLI_VIEWS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/format.h"
#include "cursord/v1/control.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace cursord::cli {

struct ViewContext {
  absl::Time now = absl::Now();
  absl::TimeZone zone = absl::LocalTimeZone();
  size_t width = kTerminalWidth;
};

// An unset timestamp converts to absl::UnixEpoch(), which the formatters
// show as "-".
absl::Time FromProto(const google::protobuf::Timestamp& timestamp);

// `rooms list`: ROOM, MEMBERS, AGE, CREATED.
std::string RoomListView(const std::vector<v1::Room>& rooms,
                         const ViewContext& context);

// `rooms show`: the room's facts, then one row per member.
std::string RoomView(const v1::Room& room, const ViewContext& context);

// `rooms users`: one row per user.
std::string RoomUsersView(const v1::RoomUsers& users, const ViewContext& context);

// ListSessions' sessions, newest first: one row each (STARTED ago,
// DURATION, ROOM, ID, USER, NAME, END: the reason and close code, or
// "open"; INSTANCE with --redis; ADDRESS).
std::string SessionsView(const std::vector<v1::Session>& sessions, const ViewContext& context);

// `cursorctl instances`: one row per instance.
std::string InstancesView(const v1::ListInstancesResponse& response,
                          const ViewContext& context);

// `status`: the server's facts, then its counters.
std::string ServerInfoView(const v1::ServerInfo& info, absl::string_view health,
                           const ViewContext& context);

// `watch`: one line per event ("12:00:01.250  click    3  down"); the
// snapshot renders as RoomView under a "snapshot" line.
std::string WatchEventView(const v1::WatchRoomResponse& message,
                           const ViewContext& context);

}  // namespace cursord::cli

#endif  // CURSORD_CLI_VIEWS_H_
