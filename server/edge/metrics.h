// The Prometheus text exposition of the server's counters and gauges,
// served at GET /metrics: one counter per ShardCounters entry
// (cursord_<name>_total), and the connections, rooms and uptime gauges.
#ifndef CURSORD_EDGE_METRICS_H_
#define CURSORD_EDGE_METRICS_H_

#include <string>

#include "absl/time/time.h"
#include "server/core/presence.h"

namespace cursord::edge {

// `info` as Prometheus text (format 0.0.4), its uptime counted to `now`.
std::string RenderMetrics(const core::ServerInfo& info, absl::Time now);

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_METRICS_H_
