#include "server/backplane/connection_base.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/backplane/redis_link.h"

namespace cursord::backplane {

ConnectionBase::ConnectionBase(std::shared_ptr<internal::RedisLink> link)
    : link_(std::move(link)) {}

ConnectionBase::~ConnectionBase() {
  link_->Stop(absl::CancelledError(
      absl::StrCat("redis ", link_->endpoint().HostPort(), ": connection destroyed")));
}

void ConnectionBase::Start() { link_->Start(); }
ConnectionState ConnectionBase::state() const { return link_->state(); }
const ConnectionStats& ConnectionBase::stats() const { return link_->stats(); }
absl::Status ConnectionBase::last_error() const { return link_->last_error(); }
const RedisEndpoint& ConnectionBase::endpoint() const { return link_->endpoint(); }

}  // namespace cursord::backplane
