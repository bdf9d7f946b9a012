// What each port serves (--metrics-listen, --no-demo), and the histograms
// of /metrics after real WebSocket traffic.
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "server/core/host_port.h"
#include "tests/edge/edge_fixture.h"

namespace cursord::testing {
namespace {

// The samples of a Prometheus text exposition: "name{labels}" -> value.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    double value = 0;
    if (line.substr(space + 1) == "+Inf") {
      value = std::numeric_limits<double>::infinity();
    } else if (!absl::SimpleAtod(line.substr(space + 1), &value)) {
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

class MetricsTest : public EdgeTest {
 protected:
  int MetricsPort() {
    auto split = core::SplitHostPort(server_->metrics_address(), "metrics address");
    EXPECT_TRUE(split.ok()) << server_->metrics_address();
    return split.ok() ? split->port : 0;
  }
  int Status(int port, const std::string& target) {
    auto result = HttpGet(port, target);
    EXPECT_TRUE(result.ok()) << target << ": " << result.status();
    return result.ok() ? result->status : 0;
  }
  std::map<std::string, double> Scrape(int port) {
    auto result = HttpGet(port, "/metrics");
    EXPECT_TRUE(result.ok() && result->status == 200);
    return result.ok() ? ParseSamples(result->body) : std::map<std::string, double>{};
  }
  // The status an upgrade request on `port` is answered with.
  int UpgradeStatus(int port) {
    auto result = HttpGet(port, "/rooms/probe",
                          {{"Upgrade", "websocket"},
                           {"Connection", "Upgrade"},
                           {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                           {"Sec-WebSocket-Version", "13"}});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->status : 0;
  }
};

TEST_F(MetricsTest, MetricsListenServesMetricsAndProbesAndTakesMetricsOffThePublicPort) {
  edge::ServerOptions options;
  options.metrics_listen = "127.0.0.1:0";
  StartServer(options);
  const int metrics_port = MetricsPort();
  ASSERT_GT(metrics_port, 0);
  ASSERT_NE(metrics_port, port_);
  // The metrics port: /metrics and the probes, nothing else.
  auto metrics = HttpGet(metrics_port, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("\ncursord_connections 0\n"), std::string::npos) << metrics->body;
  EXPECT_EQ(Status(metrics_port, "/healthz"), 200);
  EXPECT_EQ(Status(metrics_port, "/readyz"), 200);
  for (const char* target : {"/", "/rooms/demo", "/sdk/cursord.js", "/nothing-here"}) {
    EXPECT_EQ(Status(metrics_port, target), 404) << target;
  }
  EXPECT_EQ(UpgradeStatus(metrics_port), 404);
  // The public port: everything but /metrics.
  EXPECT_EQ(Status(port_, "/metrics"), 404);
  EXPECT_EQ(Status(port_, "/"), 200);
  EXPECT_EQ(Status(port_, "/sdk/cursord.js"), 200);
  EXPECT_EQ(Status(port_, "/healthz"), 200);
  EXPECT_EQ(Status(port_, "/readyz"), 200);
  EXPECT_EQ(UpgradeStatus(port_), 101);
  // The session that upgrade made is counted, and scraped on the metrics
  // port.
  EXPECT_TRUE(Eventually(
      [&] { return Scrape(metrics_port)["cursord_connections_accepted_total"] == 1; }));
}

TEST_F(MetricsTest, NoDemoServesUpgradesProbesAndMetricsOnly) {
  edge::ServerOptions options;
  options.serve_demo = false;
  StartServer(options);
  for (const char* target : {"/", "/rooms/demo", "/rooms/demo?name=x", "/sdk/cursord.js"}) {
    EXPECT_EQ(Status(port_, target), 404) << target;
  }
  EXPECT_EQ(Status(port_, "/healthz"), 200);
  EXPECT_EQ(Status(port_, "/readyz"), 200);
  // No --metrics-listen: /metrics stays here, or it would be nowhere.
  EXPECT_EQ(Status(port_, "/metrics"), 200);
  uint8_t a_id = 0;
  uint8_t b_id = 0;
  auto a = Join("/rooms/nodemo", &a_id);
  auto b = Join("/rooms/nodemo", &b_id);
  ASSERT_TRUE(a && b);
  a->SendBinary(CursorMessage(7, 8));
  EXPECT_EQ(b->Read(), B({0x05, a_id, 0, 7, 0, 8}));
}

TEST_F(MetricsTest, NoDemoWithMetricsListenLeavesThePublicPortUpgradesAndProbes) {
  edge::ServerOptions options;
  options.serve_demo = false;
  options.metrics_listen = "127.0.0.1:0";
  StartServer(options);
  for (const char* target : {"/", "/sdk/cursord.js", "/metrics"}) {
    EXPECT_EQ(Status(port_, target), 404) << target;
  }
  EXPECT_EQ(Status(port_, "/healthz"), 200);
  EXPECT_EQ(Status(port_, "/readyz"), 200);
  EXPECT_EQ(UpgradeStatus(port_), 101);
  EXPECT_EQ(Status(MetricsPort(), "/metrics"), 200);
}

TEST_F(MetricsTest, AMetricsAddressInUseStopsTheStart) {
  StartServer();
  edge::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 1;
  options.metrics_listen = "127.0.0.1:" + std::to_string(port_);  // taken
  edge::Server second(options);
  const absl::Status status = second.Start();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("(metrics)"), std::string::npos) << status;
}

// Every histogram: cumulative buckets that never decrease, +Inf equal to
// _count.
void ExpectWellFormed(const std::map<std::string, double>& samples, const std::string& name) {
  std::vector<double> cumulative;
  for (const auto& [key, value] : samples) {
    if (key.rfind(name + "_bucket{", 0) == 0) cumulative.push_back(value);
  }
  ASSERT_GE(cumulative.size(), 2u) << name;
  // std::map orders le="..." as text; +Inf is the largest count anyway.
  ASSERT_EQ(samples.at(name + "_bucket{le=\"+Inf\"}"), samples.at(name + "_count")) << name;
  for (double c : cumulative) EXPECT_LE(c, samples.at(name + "_count")) << name;
}

TEST_F(MetricsTest, HistogramsMoveWithRealTraffic) {
  StartServer();
  const std::vector<std::string> histograms = {
      "cursord_write_size_bytes", "cursord_delivery_lag_seconds", "cursord_join_latency_seconds",
      "cursord_session_duration_seconds"};
  std::map<std::string, double> before = Scrape(port_);
  for (const std::string& name : histograms) {
    ExpectWellFormed(before, name);
    EXPECT_EQ(before[name + "_count"], 0) << name;
  }
  uint8_t a_id = 0;
  uint8_t b_id = 0;
  auto a = Join("/rooms/histograms", &a_id);
  auto b = Join("/rooms/histograms", &b_id);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->Read(), B({0x03, b_id}));
  for (uint16_t i = 1; i <= 5; ++i) {
    a->SendBinary(CursorMessage(i, i));
    ASSERT_EQ(b->Read(), B({0x05, a_id, 0, static_cast<uint8_t>(i), 0, static_cast<uint8_t>(i)}));
  }
  std::map<std::string, double> during = Scrape(port_);
  for (const std::string& name : histograms) ExpectWellFormed(during, name);
  // Two joins, each written once with its join sequence.
  EXPECT_EQ(during["cursord_join_latency_seconds_count"], 2);
  EXPECT_GT(during["cursord_join_latency_seconds_sum"], 0);
  // At least a's join, b's join, a's sight of b, and b's five moves.
  EXPECT_GE(during["cursord_write_size_bytes_count"], 8);
  EXPECT_EQ(during["cursord_write_size_bytes_count"], during["cursord_writes_total"]);
  EXPECT_EQ(during["cursord_write_size_bytes_sum"], during["cursord_bytes_out_total"]);
  // Each of b's moves was a write of one 6-byte message and its 2-byte
  // frame header: in the first bucket (<= 16 bytes).
  EXPECT_GE(during["cursord_write_size_bytes_bucket{le=\"16\"}"], 5);
  EXPECT_GE(during["cursord_delivery_lag_seconds_count"], 8);
  // Nobody left yet.
  EXPECT_EQ(during["cursord_session_duration_seconds_count"], 0);
  a->Close();
  ASSERT_TRUE(a->WaitClosed());
  EXPECT_TRUE(Eventually(
      [&] { return Scrape(port_)["cursord_session_duration_seconds_count"] == 1; }));
  const std::map<std::string, double> after = Scrape(port_);
  ExpectWellFormed(after, "cursord_session_duration_seconds");
  // The session lasted well under a second.
  EXPECT_EQ(after.at("cursord_session_duration_seconds_bucket{le=\"1\"}"), 1);
}

TEST_F(MetricsTest, EveryCounterKeepsItsNameAndTheBuildInfoNamesTheVersion) {
  StartServer();
  const std::map<std::string, double> samples = Scrape(port_);
  for (const auto& [name, value] : server_->GetServerInfo().counters) {
    EXPECT_TRUE(samples.count("cursord_" + name + "_total")) << name;
  }
  for (const char* gauge : {"cursord_connections", "cursord_rooms", "cursord_uptime_seconds"}) {
    EXPECT_TRUE(samples.count(gauge)) << gauge;
  }
  EXPECT_EQ(samples.at("cursord_ready"), 1);
  EXPECT_EQ(samples.at("cursord_draining"), 0);
  EXPECT_EQ(samples.at("cursord_build_info{version=\"" + std::string(edge::Version()) + "\"}"), 1);
}

}  // namespace
}  // namespace cursord::testing
