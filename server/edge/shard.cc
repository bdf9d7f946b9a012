#include "server/edge/shard.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "server/common/logging.h"
#include "server/edge/ws_session.h"

namespace cursord::edge {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr std::chrono::seconds kTickInterval{1};

}  // namespace

Shard::Shard(int index, const ServerOptions& options)
    : index_(index), options_(options), read_buffer_(kReadBufferSize), tick_timer_(ioc_) {}

Shard::~Shard() { Stop(); }

void Shard::Start() {
  DoTick();
  thread_ = std::thread([this] {
    // The loop runs until Stop(); the tick timer keeps it from running dry.
    ioc_.run();
  });
}

void Shard::BeginShutdown() {
  net::post(ioc_, [this] {
    stopping_ = true;
    // Copy: closing a session may unregister it.
    std::vector<WsSession*> sessions(sessions_.begin(), sessions_.end());
    for (WsSession* session : sessions) {
      session->Close(core::kCloseGoingAway, "server shutting down", counters_.closes_shutdown);
    }
    for (auto& [id, watchers] : parked_watchers_) {
      for (auto& watcher : watchers) {
        watcher.sink->OnDetached(absl::UnavailableError("server shutting down"));
      }
    }
    parked_watchers_.clear();
    for (auto& [id, room] : rooms_) {
      for (auto& watcher : room->TakeWatchers()) {
        watcher.sink->OnDetached(absl::UnavailableError("server shutting down"));
      }
    }
  });
}

void Shard::Stop() {
  if (!thread_.joinable()) return;
  ioc_.stop();
  thread_.join();
}

void Shard::AcceptWebSocket(tcp::socket socket, http::request<http::string_body> request,
                            core::JoinRequest join, std::string remote_address) {
  // Beast completes the upgrade (validation, Sec-WebSocket-Accept, the 101
  // response); then the socket leaves Beast for cursord's own framing.
  auto ws = std::make_shared<websocket::stream<tcp::socket>>(std::move(socket));
  ws->set_option(websocket::stream_base::timeout{
      absl::ToChronoNanoseconds(options_.handshake_timeout), websocket::stream_base::none(),
      false});
  ws->set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
    response.set(http::field::server, "cursord");
  }));
  // Cork the socket: the 101 response is held back and leaves in one
  // segment with the join frames (WsSession uncorks after its first write).
  // One segment fewer per join, on both ends of the connection.
  const int cork = 1;
  ::setsockopt(ws->next_layer().native_handle(), IPPROTO_TCP, TCP_CORK, &cork, sizeof(cork));
  auto request_ptr = std::make_shared<http::request<http::string_body>>(std::move(request));
  ws->async_accept(*request_ptr, [this, ws, request_ptr, join = std::move(join),
                                  remote = std::move(remote_address)](
                                     beast::error_code ec) mutable {
    if (ec) {
      counters_.handshake_failures.Add();
      CURSORD_LOG(kInfo) << "upgrade failed for " << remote << ": " << ec.message();
      return;
    }
    tcp::socket raw(std::move(ws->next_layer()));
    auto session =
        std::make_shared<WsSession>(*this, std::move(raw), std::move(join), std::move(remote));
    session->Start();
  });
}

core::Room& Shard::FindOrCreateRoom(const std::string& id) {
  auto it = rooms_.find(id);
  if (it != rooms_.end()) return *it->second;
  auto room = std::make_unique<core::Room>(id, options_.max_room_members, absl::Now(),
                                           &counters_.cursor_coalesced);
  auto parked = parked_watchers_.find(id);
  if (parked != parked_watchers_.end()) {
    room->SetWatchers(std::move(parked->second));
    parked_watchers_.erase(parked);
  }
  counters_.rooms.Add();
  return *rooms_.emplace(id, std::move(room)).first->second;
}

core::Room* Shard::FindRoom(const std::string& id) {
  auto it = rooms_.find(id);
  return it == rooms_.end() ? nullptr : it->second.get();
}

void Shard::ReleaseRoomIfEmpty(core::Room& room) {
  if (!room.empty()) return;
  // A copy: erasing destroys the room, and with it room.id().
  const std::string id = room.id();
  std::vector<core::Room::Watcher> watchers = room.TakeWatchers();
  if (!watchers.empty()) parked_watchers_[id] = std::move(watchers);
  rooms_.erase(id);
  counters_.rooms.Sub();
}

void Shard::ScheduleFlush(std::shared_ptr<WsSession> session) {
  flush_queue_.push_back(std::move(session));
  if (!flush_posted_) {
    flush_posted_ = true;
    // Posted behind the completions already queued: everything they add
    // goes out in the same round, one write per session.
    net::post(ioc_, [this] { RunFlushRound(); });
  }
}

void Shard::RunFlushRound() {
  flush_posted_ = false;
  flushing_.swap(flush_queue_);
  for (auto& session : flushing_) {
    session->outbox.flush_scheduled = false;
    session->Flush();
  }
  flushing_.clear();
}

void Shard::AddSession(WsSession* session) { sessions_.insert(session); }

void Shard::RemoveSession(WsSession* session) { sessions_.erase(session); }

void Shard::DoTick() {
  tick_timer_.expires_after(kTickInterval);
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const auto now = WsSession::Clock::now();
    std::vector<std::shared_ptr<WsSession>> sessions;
    sessions.reserve(sessions_.size());
    for (WsSession* session : sessions_) sessions.push_back(session->shared_from_this());
    for (auto& session : sessions) session->Tick(now);
    DoTick();
  });
}

absl::Status Shard::AddWatcher(const std::string& room_id, std::shared_ptr<core::WatchSink> sink,
                               bool cursor_moves) {
  core::Room* room = FindRoom(room_id);
  if (room == nullptr) return absl::NotFoundError("room \"" + room_id + "\" not found");
  room->AddWatcher(std::move(sink), cursor_moves);
  return absl::OkStatus();
}

void Shard::RemoveWatcher(const std::string& room_id, core::WatchSink* sink) {
  if (core::Room* room = FindRoom(room_id)) {
    room->RemoveWatcher(sink);
    return;
  }
  auto parked = parked_watchers_.find(room_id);
  if (parked == parked_watchers_.end()) return;
  auto& watchers = parked->second;
  watchers.erase(std::remove_if(watchers.begin(), watchers.end(),
                                [sink](const core::Room::Watcher& w) {
                                  return w.sink.get() == sink;
                                }),
                 watchers.end());
  if (watchers.empty()) parked_watchers_.erase(parked);
}

}  // namespace cursord::edge
