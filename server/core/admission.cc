#include "server/core/admission.h"

#include <utility>

namespace cursord::core {

Admission::Slot& Admission::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    ip_ = std::move(other.ip_);
  }
  return *this;
}

void Admission::Slot::Release() {
  if (owner_ == nullptr) return;
  std::exchange(owner_, nullptr)->ReleaseConnection(ip_);
}

absl::StatusOr<Admission::Slot> Admission::AcquireConnection(std::string_view ip, Limit* hit) {
  // Without connection limits nothing is counted (no lock per join).
  if (options_.max_connections <= 0 && options_.max_connections_per_ip <= 0) {
    return Slot(this, std::string());
  }
  absl::MutexLock lock(&mu_);
  if (options_.max_connections > 0 && connections_ >= options_.max_connections) {
    if (hit) *hit = Limit::kServer;
    return absl::ResourceExhaustedError("server at its connection limit");
  }
  if (options_.max_connections_per_ip > 0) {
    int& count = per_ip_[std::string(ip)];
    if (count >= options_.max_connections_per_ip) {
      if (hit) *hit = Limit::kAddress;
      return absl::ResourceExhaustedError("too many connections from this address");
    }
    ++count;
  }
  ++connections_;
  return Slot(this, std::string(ip));
}

void Admission::ReleaseConnection(const std::string& ip) {
  if (options_.max_connections <= 0 && options_.max_connections_per_ip <= 0) return;
  absl::MutexLock lock(&mu_);
  --connections_;
  if (options_.max_connections_per_ip > 0) {
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
  }
}

bool Admission::AcquireRoom() {
  if (options_.max_rooms <= 0) return true;
  absl::MutexLock lock(&mu_);
  if (options_.max_rooms > 0 && rooms_ >= options_.max_rooms) return false;
  ++rooms_;
  return true;
}

void Admission::ReleaseRoom() {
  if (options_.max_rooms <= 0) return;
  absl::MutexLock lock(&mu_);
  --rooms_;
}

int Admission::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

int Admission::connections_from(std::string_view ip) const {
  absl::MutexLock lock(&mu_);
  auto it = per_ip_.find(std::string(ip));
  return it == per_ip_.end() ? 0 : it->second;
}

int Admission::rooms() const {
  absl::MutexLock lock(&mu_);
  return rooms_;
}

}  // namespace cursord::core
