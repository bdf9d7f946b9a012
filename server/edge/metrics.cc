#include "server/edge/metrics.h"

#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "absl/time/clock.h"
#include "server/core/histogram.h"
#include "server/core/presence.h"
#include "server/edge/server.h"
#include "server/edge/shard.h"
#include "server/edge/shard_counters.h"

namespace cursord::edge {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type, double value) {
  MetricFamily family{std::move(name), std::move(help), type, {}};
  ClientMetric metric;
  switch (type) {
    case MetricType::Counter: metric.counter.value = value; break;
    default: metric.gauge.value = value; break;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

void Counter(std::vector<MetricFamily>& out, const std::string& name, const char* help,
             uint64_t value) {
  out.push_back(Family("cursord_" + name, help, MetricType::Counter, static_cast<double>(value)));
}

void Gauge(std::vector<MetricFamily>& out, const std::string& name, const char* help,
           double value) {
  out.push_back(Family("cursord_" + name, help, MetricType::Gauge, value));
}

// `counts` (in the bounds' unit) as a Prometheus histogram in the exported
// unit: every value divided by `divisor` (a division, so that 100 us is
// exactly the double nearest 0.0001 and its label reads le="0.0001").
MetricFamily Histogram(const std::string& name, const char* help,
                       const core::HistogramBounds& bounds, const core::HistogramCounts& counts,
                       double divisor) {
  MetricFamily family{"cursord_" + name, help, MetricType::Histogram, {}};
  ClientMetric metric;
  const std::vector<uint64_t> cumulative = counts.Cumulative();
  for (size_t i = 0; i < cumulative.size(); ++i) {
    ClientMetric::Bucket bucket;
    bucket.upper_bound = i < bounds.bounds().size()
                             ? static_cast<double>(bounds.bounds()[i]) / divisor
                             : std::numeric_limits<double>::infinity();
    bucket.cumulative_count = cumulative[i];
    metric.histogram.bucket.push_back(bucket);
  }
  metric.histogram.sample_count = counts.count();
  metric.histogram.sample_sum = static_cast<double>(counts.sum) / divisor;
  family.metric.push_back(std::move(metric));
  return family;
}

// With --redis (docs/BACKPLANE.md).
void CollectBackplane(const core::ClusterInfo& c, const backplane::Backplane& backplane,
                      std::vector<MetricFamily>& out) {
  Gauge(out, "backplane_connected",
        "1 when every Redis server is reachable and this instance's lease is held; 0: "
        "degraded (joins refused)",
        c.backplane_connected ? 1 : 0);
  Gauge(out, "backplane_rooms_followed", "rooms this instance follows in Redis",
        static_cast<double>(c.rooms_followed));
  Counter(out, "backplane_publishes_total",
          "clicks and position batches published to other instances", c.publishes);
  Counter(out, "backplane_publish_failures_total",
          "publishes not sent or not answered (Redis unavailable)", c.publish_failures);
  Counter(out, "backplane_messages_received_total",
          "messages received on the channels of followed rooms", c.messages_received);
  Counter(out, "backplane_bad_messages_total", "room channel messages that did not decode (dropped)",
          c.bad_messages);
  Counter(out, "backplane_reconnects_total", "Redis command connections re-established",
          c.reconnects);
  Counter(out, "backplane_reaped_members_total", "members of dead instances freed by this instance",
          c.reaped_members);
  Counter(out, "backplane_fences_total",
          "times this instance found its lease expired and closed its sessions (1012)", c.fences);
  Counter(out, "backplane_reasserted_members_total",
          "members claimed again after a Redis restart", c.reasserted_members);
  core::HistogramCounts latency;
  backplane.AddPublishLatencyTo(&latency);
  out.push_back(Histogram("backplane_publish_latency_seconds", "PUBLISH sent to answered",
                          core::kLatencyBoundsUs, latency, 1e6));
  Gauge(out, "backplane_publish_latency_max_seconds", "the slowest PUBLISH since start",
        static_cast<double>(c.publish_latency_us_max) / 1e6);
}

// A counter with one `label`, a value per label value.
void LabeledCounter(std::vector<MetricFamily>& out, const std::string& name, const char* help,
                    const std::string& label,
                    std::initializer_list<std::pair<const char*, uint64_t>> values) {
  MetricFamily family{"cursord_" + name, help, MetricType::Counter, {}};
  for (const auto& [label_value, value] : values) {
    ClientMetric metric;
    metric.label.push_back({label, label_value});
    metric.counter.value = static_cast<double>(value);
    family.metric.push_back(std::move(metric));
  }
  out.push_back(std::move(family));
}

// With --webhook-url (docs/CONTROL_API.md, "Webhooks").
void CollectWebhook(const WebhookStats& w, std::vector<MetricFamily>& out) {
  LabeledCounter(out, "webhook_events_total",
                 "presence events: sent (answered 2xx), dropped_queue_full, dropped_undelivered "
                 "(retries ran out, or shutdown)",
                 "result",
                 {{"sent", w.events_sent},
                  {"dropped_queue_full", w.events_queue_full},
                  {"dropped_undelivered", w.events_undelivered}});
  LabeledCounter(out, "webhook_requests_total",
                 "webhook POST attempts: ok (2xx), failed (connect, timeout, non-2xx)", "result",
                 {{"ok", w.requests_ok}, {"failed", w.requests_failed}});
  Gauge(out, "webhook_queue_events", "presence events waiting to be sent",
        static_cast<double>(w.queued));
}

// Sums the shards' counters and histograms, and reads the gauges, at
// scrape time (the scraping thread; the shards go on undisturbed).
class ServerCollector final : public prometheus::Collectable {
 public:
  explicit ServerCollector(Server& server) : server_(server) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<MetricFamily> out;
    const core::ServerInfo info = server_.GetServerInfo();
#define CURSORD_METRIC(member, name, help) Counter(out, name "_total", help, info.counters.at(name));
    CURSORD_SHARD_COUNTERS(CURSORD_METRIC)
#undef CURSORD_METRIC
    Gauge(out, "connections", "WebSocket sessions open", static_cast<double>(info.connections));
    Gauge(out, "rooms", "rooms with members", static_cast<double>(info.rooms));
    Gauge(out, "uptime_seconds", "seconds since start",
          static_cast<double>(absl::ToInt64Seconds(absl::Now() - info.started_at)));
    const absl::Status ready = server_.Readiness();
    Gauge(out, "ready", "1 while the server accepts joins (/readyz answers 200)", ready.ok());
    Gauge(out, "draining",
          "1 from SIGTERM/SIGINT on: /readyz fails and the sessions are closed on schedule",
          !ready.ok() && ready.message() == "draining");
#define CURSORD_HISTOGRAM(member, name, help, bounds, divisor)                   \
  {                                                                              \
    core::HistogramCounts counts;                                                \
    for (auto& shard : server_.shards()) shard->counters().member.AddTo(&counts); \
    out.push_back(Histogram(name, help, bounds, counts, divisor));                 \
  }
    CURSORD_SHARD_HISTOGRAMS(CURSORD_HISTOGRAM)
#undef CURSORD_HISTOGRAM
    if (info.cluster && server_.backplane() != nullptr) {
      CollectBackplane(*info.cluster, *server_.backplane(), out);
    }
    if (server_.webhook() != nullptr) CollectWebhook(server_.webhook()->stats(), out);
    return out;
  }

 private:
  Server& server_;
};

}  // namespace

Metrics::Metrics(Server& server)
    : registry_(std::make_shared<prometheus::Registry>()),
      server_collector_(std::make_shared<ServerCollector>(server)) {
  prometheus::BuildGauge()
      .Name("cursord_build_info")
      .Help("always 1; the version label is cursord's release")
      .Register(*registry_)
      .Add({{"version", std::string(Version())}})
      .Set(1);
}

Metrics::~Metrics() = default;

std::string Metrics::Scrape() const {
  std::vector<MetricFamily> families = server_collector_->Collect();
  for (MetricFamily& family : registry_->Collect()) families.push_back(std::move(family));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace cursord::edge
