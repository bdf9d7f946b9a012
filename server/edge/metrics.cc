#include "server/edge/metrics.h"

#include "absl/strings/str_cat.h"
#include "server/edge/shard_counters.h"

namespace cursord::edge {

namespace {

void Metric(std::string& out, const char* name, const char* type, const char* help,
            double value) {
  absl::StrAppend(&out, "# HELP cursord_", name, " ", help, "\n# TYPE cursord_", name, " ", type,
                  "\ncursord_", name, " ", value, "\n");
}

// With --redis (docs/BACKPLANE.md).
void RenderBackplaneMetrics(const core::ClusterInfo& c, std::string& out) {
  Metric(out, "backplane_connected", "gauge",
         "1 when every Redis server is reachable and this instance's lease is held; 0: "
         "degraded (joins refused)",
         c.backplane_connected ? 1 : 0);
  Metric(out, "backplane_rooms_followed", "gauge", "rooms this instance follows in Redis",
         static_cast<double>(c.rooms_followed));
  Metric(out, "backplane_publishes_total", "counter",
         "clicks and position batches published to other instances",
         static_cast<double>(c.publishes));
  Metric(out, "backplane_publish_failures_total", "counter",
         "publishes not sent or not answered (Redis unavailable)",
         static_cast<double>(c.publish_failures));
  Metric(out, "backplane_messages_received_total", "counter",
         "messages received on the channels of followed rooms",
         static_cast<double>(c.messages_received));
  Metric(out, "backplane_bad_messages_total", "counter",
         "room channel messages that did not decode (dropped)",
         static_cast<double>(c.bad_messages));
  Metric(out, "backplane_reconnects_total", "counter", "Redis command connections re-established",
         static_cast<double>(c.reconnects));
  Metric(out, "backplane_reaped_members_total", "counter",
         "members of dead instances freed by this instance",
         static_cast<double>(c.reaped_members));
  Metric(out, "backplane_fences_total", "counter",
         "times this instance found its lease expired and closed its sessions (1012)",
         static_cast<double>(c.fences));
  Metric(out, "backplane_reasserted_members_total", "counter",
         "members claimed again after a Redis restart", static_cast<double>(c.reasserted_members));
  absl::StrAppend(&out,
                  "# HELP cursord_backplane_publish_latency_seconds PUBLISH sent to answered\n"
                  "# TYPE cursord_backplane_publish_latency_seconds summary\n"
                  "cursord_backplane_publish_latency_seconds_sum ",
                  static_cast<double>(c.publish_latency_us_sum) / 1e6,
                  "\ncursord_backplane_publish_latency_seconds_count ", c.publishes, "\n");
  Metric(out, "backplane_publish_latency_max_seconds", "gauge", "the slowest PUBLISH since start",
         static_cast<double>(c.publish_latency_us_max) / 1e6);
}

}  // namespace

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
  if (info.cluster) RenderBackplaneMetrics(*info.cluster, out);
  return out;
}

}  // namespace cursord::edge
