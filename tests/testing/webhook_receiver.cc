#include "tests/testing/webhook_receiver.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "nlohmann/json.hpp"

namespace cursord::testing {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

std::string HexHmacSha256(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &length);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof(byte), "%02x", mac[i]);
    hex += byte;
  }
  return hex;
}

// Fills `request`'s events from its body; false if it is not the format.
bool ParseBody(HookRequest& request) {
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("time_ms") || !body["time_ms"].is_number_integer() ||
      !body.contains("events") || !body["events"].is_array()) {
    return false;
  }
  for (const nlohmann::json& e : body["events"]) {
    if (!e.is_object()) return false;
    HookEvent event;
    event.id = e.value("id", "");
    event.name = e.value("name", "");
    event.room = e.value("room", "");
    event.user_id = e.value("user_id", "");
    event.instance = e.value("instance", "");
    event.session_id = e.value("session_id", "");
    request.events.push_back(std::move(event));
  }
  return true;
}

}  // namespace

struct WebhookReceiver::Impl {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
};

WebhookReceiver::WebhookReceiver(std::string secret, int fail_first)
    : secret_(std::move(secret)), impl_(std::make_unique<Impl>()), fail_first_(fail_first) {
  const tcp::endpoint at(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(at.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(at);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  thread_ = std::thread([this] { Serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  // Wakes the blocking accept with a connection of our own.
  boost::system::error_code ec;
  tcp::socket wake(impl_->ioc);
  wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)),
               ec);
  thread_.join();
}

std::string WebhookReceiver::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/hooks/cursord";
}

void WebhookReceiver::Hold() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = true;
}

void WebhookReceiver::Release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
  }
  changed_.notify_all();
}

std::vector<HookRequest> WebhookReceiver::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<HookEvent> WebhookReceiver::delivered() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<HookEvent> events;
  for (const HookRequest& r : requests_) {
    if (r.status / 100 == 2) events.insert(events.end(), r.events.begin(), r.events.end());
  }
  return events;
}

bool WebhookReceiver::WaitRequests(size_t n, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                           [&] { return requests_.size() >= n; });
}

bool WebhookReceiver::WaitDelivered(size_t n, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    size_t delivered = 0;
    for (const HookRequest& r : requests_) {
      if (r.status / 100 == 2) delivered += r.events.size();
    }
    return delivered >= n;
  });
}

void WebhookReceiver::Serve() {
  for (;;) {
    tcp::socket socket(impl_->ioc);
    boost::system::error_code ec;
    impl_->acceptor.accept(socket, ec);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (ec) continue;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(socket, buffer, request, ec);
    if (ec) continue;
    HookRequest hook;
    hook.target = std::string(request.target());
    hook.body = request.body();
    hook.signature = std::string(request["X-Cursord-Signature"]);
    hook.attempt = std::string(request["X-Cursord-Attempt"]);
    hook.signature_ok = hook.signature == "sha256=" + HexHmacSha256(secret_, hook.body);
    hook.body_ok = ParseBody(hook);
    size_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      hook.status = fail_first_ > 0 ? 500 : 200;
      if (fail_first_ > 0) --fail_first_;
      requests_.push_back(hook);
      requests_.back().status = 0;  // not answered yet
      index = requests_.size() - 1;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !held_ || stopping_; });
      if (stopping_) return;
    }
    http::response<http::string_body> response(static_cast<http::status>(hook.status), 11);
    response.set(http::field::content_type, "text/plain");
    response.body() = hook.status == 200 ? "ok\n" : "try again\n";
    response.prepare_payload();
    http::write(socket, response, ec);
    {
      // Delivered once answered: what the sink counts as sent.
      std::lock_guard<std::mutex> lock(mu_);
      requests_[index].status = ec ? 0 : hook.status;
      changed_.notify_all();
    }
  }
}

std::vector<std::string> Lines(const std::vector<HookEvent>& events) {
  std::vector<std::string> lines;
  for (const HookEvent& e : events) {
    lines.push_back(e.name + " " + e.room + (e.user_id.empty() ? "" : " " + e.user_id));
  }
  return lines;
}

}  // namespace cursord::testing
