#include "server/edge/server.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <thread>

#include <boost/asio/post.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/common/version.h"
#include "server/core/host_port.h"
#include "server/core/join_request.h"
#include "server/edge/http_session.h"
#include "server/edge/shard.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
using DrainClock = core::DrainSchedule::Clock;

}  // namespace

std::string_view Version() { return kVersion; }

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      activity_(std::make_unique<ActivityLog>(options_.activity_records,
                                              options_.activity_max_age)),
      control_ops_(std::make_unique<ControlOps>(*this)) {
  options_.max_room_members = std::clamp(options_.max_room_members, 1, 256);
  int threads = options_.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options_.threads = threads;
  for (int i = 0; i < threads; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, options_, *activity_));
  }
}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  CURSORD_ASSIGN_OR_RETURN(const core::HostPort listen,
                           core::SplitHostPort(options_.listen, "listen address"));
  CURSORD_ASSIGN_OR_RETURN(gate_, JoinGate::Create(options_));
  if (!options_.redis.empty()) {
    backplane::BackplaneOptions backplane_options;
    CURSORD_ASSIGN_OR_RETURN(backplane_options.servers,
                             backplane::ParseRedisUrlList(options_.redis));
    backplane_options.instance_id = options_.instance_id;
    backplane_options.activity.max_records = options_.activity_records;
    backplane_options.activity.max_age = options_.activity_max_age;
    backplane_events_ = std::make_unique<BackplaneEvents>(*this);
    CURSORD_ASSIGN_OR_RETURN(backplane_, backplane::Backplane::Create(std::move(backplane_options),
                                                                      backplane_events_.get()));
    for (auto& shard : shards_) shard->AttachBackplane(*backplane_, options_.redis_flush_interval);
    // The connection records are the cluster's stream, read back.
    activity_->set_instance(backplane_->stats().instance_id);
    activity_->SetClusterWriter([backplane = backplane_.get()](core::ActivityRecord record) {
      backplane->AppendActivity(std::move(record));
    });
    backplane_->SetActivityListener(activity_.get());
    cluster_control_ =
        std::make_unique<ClusterControl>(*control_ops_, *backplane_, options_.cluster_timeout);
  }
  if (!options_.webhook.url.empty()) {
    // Before anything records: it sees every record, history included.
    CURSORD_ASSIGN_OR_RETURN(webhook_, WebhookSink::Create(options_.webhook, activity_->instance()));
    activity_->AddObserver([sink = webhook_.get()](const core::ActivityRecord& record, bool live) {
      sink->Observe(record, live);
    });
    webhook_->Start();
  }
  listener_ = std::make_shared<Listener>(*this, *shards_[0]);
  const boost::system::error_code ec = listener_->Open(listen.host, listen.port);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen, ": ", ec.message()));
  }
  metrics_ = std::make_unique<Metrics>(*this);
  if (!options_.metrics_listen.empty()) {
    CURSORD_ASSIGN_OR_RETURN(const core::HostPort metrics_at,
                             core::SplitHostPort(options_.metrics_listen, "metrics address"));
    metrics_listener_ = std::make_shared<Listener>(*this, *shards_[0], HttpSurface::kMetrics);
    if (const boost::system::error_code metrics_ec =
            metrics_listener_->Open(metrics_at.host, metrics_at.port)) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.metrics_listen,
                                                 " (metrics): ", metrics_ec.message()));
    }
  }
  started_at_ = absl::Now();
  if (backplane_) backplane_->Start();
  for (auto& shard : shards_) shard->Start(&gate_->admission());
  listener_->Run();
  if (metrics_listener_) metrics_listener_->Run();
  started_ = true;
  if (!gate_->tokens_required()) {
    CURSORD_LOG(kWarning) << "joins are open: anyone can join any room under any name "
                             "(set --join-secret or --join-public-key to require join tokens)";
  }
  CURSORD_LOG(kInfo) << "cursord " << Version() << " listening on " << listen_address()
                     << " (ws://" << listen_address() << "/rooms/{room}) with "
                     << shards_.size() << " threads";
  if (metrics_listener_) {
    CURSORD_LOG(kInfo) << "metrics on http://" << metrics_address()
                       << "/metrics (and /healthz, /readyz)";
  }
  return absl::OkStatus();
}

uint64_t Server::OpenSessions() {
  uint64_t open = 0;
  for (auto& shard : shards_) open += shard->counters().sessions.Get();
  return open;
}

void Server::BeginDrain() {
  if (!started_ || shut_down_) return;
  absl::MutexLock lock(&drain_mu_);
  if (drain_plan_) return;
  drain_plan_ = core::DrainPlan::Make(
      DrainClock::now(), absl::ToChronoNanoseconds(options_.drain_delay),
      absl::ToChronoNanoseconds(options_.drain_spread),
      absl::ToChronoNanoseconds(options_.shutdown_grace));
  // Readiness fails only once no shard takes a join any more: a client
  // that saw /readyz fail is refused, never joined.
  absl::BlockingCounter refusing(static_cast<int>(shards_.size()));
  for (auto& shard : shards_) {
    shard->BeginDrain(*drain_plan_, [&refusing] { refusing.DecrementCount(); });
  }
  refusing.Wait();
  draining_ = true;
  CURSORD_LOG(kInfo) << "draining: /readyz fails and new joins are refused; the "
                     << OpenSessions() << " open sessions are closed with 1001 over "
                     << absl::FormatDuration(options_.drain_spread) << " from "
                     << absl::FormatDuration(options_.drain_delay) << " on";
}

bool Server::drained() {
  absl::MutexLock lock(&drain_mu_);
  if (!drain_plan_) return false;
  const DrainClock::time_point now = DrainClock::now();
  if (now >= drain_plan_->deadline) return true;
  return now >= drain_plan_->first_close && OpenSessions() == 0;
}

void Server::Shutdown() {
  if (!started_ || shut_down_.exchange(true)) return;
  // Wait for the close handshakes, bounded by the grace period, and after
  // a drain by its deadline: those it closed had their grace already.
  absl::Time deadline = absl::Now() + options_.shutdown_grace;
  {
    absl::MutexLock lock(&drain_mu_);
    if (drain_plan_) {
      deadline = std::min(deadline,
                          absl::Now() + absl::FromChrono(drain_plan_->deadline - DrainClock::now()));
    }
  }
  const uint64_t left = OpenSessions();
  if (!draining_) {
    CURSORD_LOG(kInfo) << "shutting down: closing sessions with 1001";
  } else if (left > 0) {
    CURSORD_LOG(kInfo) << "shutting down: " << left << " sessions left, closing them with 1001";
  } else {
    CURSORD_LOG(kInfo) << "shutting down: no sessions left";
  }
  listener_->Close();
  if (metrics_listener_) metrics_listener_->Close();
  for (auto& shard : shards_) shard->BeginShutdown();
  while (absl::Now() < deadline && OpenSessions() > 0) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& shard : shards_) shard->Stop();
  // The leaves of the sessions just closed reach Redis before it stops.
  if (backplane_) backplane_->Stop();
  // Last: the leaves of the sessions just closed, sent within its grace.
  if (webhook_) webhook_->Stop();
  CURSORD_LOG(kInfo) << "stopped";
}

int Server::port() const { return listener_ ? listener_->local_endpoint().port() : 0; }

std::string Server::listen_address() const {
  if (!listener_) return options_.listen;
  const auto endpoint = listener_->local_endpoint();
  return core::JoinHostPort(endpoint.address().to_string(), endpoint.port());
}

std::string Server::metrics_address() const {
  if (!metrics_listener_) return "";
  const auto endpoint = metrics_listener_->local_endpoint();
  return core::JoinHostPort(endpoint.address().to_string(), endpoint.port());
}

Shard& Server::ShardFor(std::string_view room_id) {
  return *shards_[std::hash<std::string_view>{}(room_id) % shards_.size()];
}

Shard& Server::NextShard() {
  return *shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size()];
}

core::ServerInfo Server::GetServerInfo() {
  core::ServerInfo info;
  info.version = std::string(Version());
  info.started_at = started_at_;
  info.listen_addresses.push_back(listen_address());
  for (auto& shard : shards_) {
    ShardCounters& c = shard->counters();
    info.connections += c.sessions.Get();
    info.rooms += c.rooms.Get();
#define CURSORD_SUM_COUNTER(member, name, help) info.counters[name] += c.member.Get();
    CURSORD_SHARD_COUNTERS(CURSORD_SUM_COUNTER)
#undef CURSORD_SUM_COUNTER
  }
  if (backplane_) {
    info.cluster = backplane_->stats();
  }
  return info;
}

std::string Server::Health() const {
  if (backplane_ && !backplane_->connected()) return "degraded: backplane unavailable";
  return "ok";
}

absl::Status Server::Readiness() const {
  if (draining_) return absl::UnavailableError("draining");
  if (backplane_ && !backplane_->connected()) {
    return absl::UnavailableError("backplane unavailable");
  }
  return absl::OkStatus();
}

}  // namespace cursord::edge
