// GET /metrics: the server's figures as Prometheus text, through
// prometheus-cpp's data model and text serializer.
//
// The hot path keeps its own counting: every shard writes its counters and
// histograms with plain single-writer stores (ShardCounters), and nothing
// here touches them but to read. A scrape runs a prometheus::Collectable
// that sums the shards at that moment, next to a prometheus::Registry for
// figures that change rarely (cursord_build_info) and for future metrics
// that are not on the hot path. Names and meanings: docs/OPERATIONS.md,
// "Observability".
#ifndef CURSORD_EDGE_METRICS_H_
#define CURSORD_EDGE_METRICS_H_

#include <memory>
#include <string>

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace cursord::edge {

class Server;

class Metrics {
 public:
  // `server` must outlive this; scrapes only after server.Start().
  explicit Metrics(Server& server);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Every metric, read now, as Prometheus text (format 0.0.4). Any thread.
  std::string Scrape() const;

  // For metrics kept by prometheus-cpp itself (off the hot path: its
  // counters take a compare-and-swap per change).
  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  // Reads the shards, the gauges and the backplane at scrape time.
  std::shared_ptr<prometheus::Collectable> server_collector_;
};

}  // namespace cursord::edge

#endif  // CURSORD_EDGE_METRICS_H_
