#include "server/edge/metrics.h"

#include "absl/strings/str_cat.h"
#include "server/edge/shard_counters.h"

namespace cursord::edge {

std::string RenderMetrics(const core::ServerInfo& info, absl::Time now) {
  std::string out;
#define CURSORD_METRIC(member, name, help)                                             \
  absl::StrAppend(&out, "# HELP cursord_" name "_total " help "\n# TYPE cursord_" name \
                        "_total counter\ncursord_" name "_total ",                     \
                  info.counters.at(name), "\n");
  CURSORD_SHARD_COUNTERS(CURSORD_METRIC)
#undef CURSORD_METRIC
  absl::StrAppend(&out, "# HELP cursord_connections WebSocket sessions open\n",
                  "# TYPE cursord_connections gauge\ncursord_connections ", info.connections,
                  "\n# HELP cursord_rooms rooms with members\n",
                  "# TYPE cursord_rooms gauge\ncursord_rooms ", info.rooms, "\n",
                  "# HELP cursord_uptime_seconds seconds since start\n",
                  "# TYPE cursord_uptime_seconds gauge\ncursord_uptime_seconds ",
                  absl::ToInt64Seconds(now - info.started_at), "\n");
  return out;
}

}  // namespace cursord::edge
