#include "server/backplane/hiredis_asio.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"

namespace cursord::backplane::internal {

Reply ConvertReply(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(reply.str, reply.len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(reply.str, reply.len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(reply.str, reply.len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(reply.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(reply.elements);
      for (size_t i = 0; i < reply.elements; ++i) elements.push_back(ConvertReply(*reply.element[i]));
      return Reply::Array(std::move(elements));
    }
    case REDIS_REPLY_NIL:
    default:
      return Reply::Nil();
  }
}

absl::StatusOr<std::shared_ptr<HiredisAsio>> HiredisAsio::Connect(
    const boost::asio::any_io_executor& executor, const std::string& address, uint16_t port,
    std::weak_ptr<Listener> listener) {
  redisAsyncContext* context = redisAsyncConnect(address.c_str(), port);
  if (context == nullptr) return absl::ResourceExhaustedError("hiredis: out of memory");
  if (context->err != 0) {
    // Nothing is attached yet: the free runs no hook and closes the fd.
    absl::Status status = absl::UnavailableError(
        absl::StrCat("connect to ", address, " port ", port, ": ", context->errstr));
    redisAsyncFree(context);
    return status;
  }
  std::shared_ptr<HiredisAsio> link(new HiredisAsio(executor, context, std::move(listener)));
  boost::system::error_code ec;
  link->descriptor_.assign(context->c.fd, ec);
  if (ec) {
    link->context_ = nullptr;  // freed below, before any hook is attached
    redisAsyncFree(context);
    return absl::InternalError(absl::StrCat("watching the hiredis socket: ", ec.message()));
  }
  // The hooks are attached before the connect callback, whose registration
  // asks for the first write readiness (that is how hiredis notices the
  // connect completing).
  context->ev.data = link.get();
  context->ev.addRead = &HiredisAsio::AddRead;
  context->ev.delRead = &HiredisAsio::DelRead;
  context->ev.addWrite = &HiredisAsio::AddWrite;
  context->ev.delWrite = &HiredisAsio::DelWrite;
  context->ev.cleanup = &HiredisAsio::Cleanup;
  context->data = link.get();
  redisAsyncSetConnectCallback(context, &HiredisAsio::OnConnect);
  return link;
}

HiredisAsio::HiredisAsio(const boost::asio::any_io_executor& executor,
                         redisAsyncContext* context, std::weak_ptr<Listener> listener)
    : context_(context), descriptor_(executor), listener_(std::move(listener)) {}

HiredisAsio::~HiredisAsio() {
  // Reached only when no handler holds us, so no hiredis frame is running.
  // Cleanup (run by the free) releases the descriptor, so its destructor
  // finds no fd to close.
  closing_ = true;
  if (context_ != nullptr) redisAsyncFree(context_);
  if (descriptor_.is_open()) descriptor_.release();
}

absl::Status HiredisAsio::Send(const std::vector<std::string>& args) {
  if (!open()) return absl::UnavailableError("connection closed");
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const std::string& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAsyncCommandArgv(context_, &HiredisAsio::OnReply, this, static_cast<int>(argv.size()),
                            argv.data(), lengths.data()) != REDIS_OK) {
    return absl::UnavailableError("connection closing");
  }
  return absl::OkStatus();
}

void HiredisAsio::Close() {
  if (closing_) return;
  closing_ = true;
  events_.clear();
  if (context_ == nullptr) return;
  if (in_hiredis_) {
    // hiredis would only mark the context (REDIS_FREEING) and free it when
    // the callback returns; freeing it from a fresh stack is simpler to
    // reason about. The descriptor stays registered until then.
    boost::asio::post(descriptor_.get_executor(), [self = shared_from_this()] {
      if (self->context_ != nullptr) redisAsyncFree(self->context_);
    });
    return;
  }
  // Runs the NULL-reply callbacks (ignored: closing_), then Cleanup, then
  // closes the fd.
  redisAsyncFree(context_);
}

void HiredisAsio::AddRead(void* privdata) {
  auto* self = static_cast<HiredisAsio*>(privdata);
  self->want_read_ = true;
  self->ArmRead();
}

void HiredisAsio::DelRead(void* privdata) { static_cast<HiredisAsio*>(privdata)->want_read_ = false; }

void HiredisAsio::AddWrite(void* privdata) {
  auto* self = static_cast<HiredisAsio*>(privdata);
  self->want_write_ = true;
  self->ArmWrite();
}

void HiredisAsio::DelWrite(void* privdata) {
  static_cast<HiredisAsio*>(privdata)->want_write_ = false;
}

void HiredisAsio::Cleanup(void* privdata) {
  // hiredis is freeing the context: it is still valid here (for its error),
  // and it closes the fd right after this returns.
  auto* self = static_cast<HiredisAsio*>(privdata);
  redisAsyncContext* context = self->context_;
  self->context_ = nullptr;
  self->want_read_ = self->want_write_ = false;
  // Deregisters the fd from epoll and aborts the pending waits, without
  // closing it.
  if (self->descriptor_.is_open()) self->descriptor_.release();
  if (self->closing_ || context == nullptr) return;
  const char* reason = context->err != 0 ? context->errstr : "connection closed";
  self->events_.push_back(
      Event{Event::Kind::kDown, Reply(), absl::UnavailableError(reason)});
}

void HiredisAsio::OnConnect(const redisAsyncContext* context, int status) {
  auto* self = static_cast<HiredisAsio*>(context->data);
  // A failed connect is reported by Cleanup, which hiredis runs next.
  if (status != REDIS_OK || self->closing_) return;
  self->events_.push_back(Event{Event::Kind::kConnected, Reply(), absl::OkStatus()});
}

void HiredisAsio::OnReply(redisAsyncContext* context, void* reply, void* privdata) {
  auto* self = static_cast<HiredisAsio*>(privdata);
  // A NULL reply is hiredis failing a callback while it frees the context;
  // the owner learns of that from the kDown event (or it closed us itself).
  if (reply == nullptr || self->closing_) return;
  self->events_.push_back(Event{Event::Kind::kReply,
                                ConvertReply(*static_cast<redisReply*>(reply)),
                                absl::OkStatus()});
}

void HiredisAsio::ArmRead() {
  if (read_in_flight_ || context_ == nullptr) return;
  read_in_flight_ = true;
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->OnReadable(ec);
                         });
}

void HiredisAsio::ArmWrite() {
  if (write_in_flight_ || context_ == nullptr) return;
  write_in_flight_ = true;
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->OnWritable(ec);
                         });
}

void HiredisAsio::OnReadable(const boost::system::error_code& ec) {
  read_in_flight_ = false;
  // operation_aborted: Cleanup released the descriptor. Any other error
  // leaves the link to the owner's liveness check.
  if (ec || context_ == nullptr || closing_ || !want_read_) return;
  want_read_ = false;  // hiredis re-asks (AddRead) while it wants more
  in_hiredis_ = true;
  redisAsyncHandleRead(context_);
  in_hiredis_ = false;
  Deliver();
}

void HiredisAsio::OnWritable(const boost::system::error_code& ec) {
  write_in_flight_ = false;
  if (ec || context_ == nullptr || closing_ || !want_write_) return;
  want_write_ = false;  // hiredis re-asks while its output buffer is not empty
  in_hiredis_ = true;
  redisAsyncHandleWrite(context_);
  in_hiredis_ = false;
  Deliver();
}

void HiredisAsio::Deliver() {
  if (events_.empty()) return;
  std::vector<Event> events;
  events.swap(events_);
  const std::shared_ptr<Listener> listener = listener_.lock();
  if (listener == nullptr) return;
  for (Event& event : events) {
    // The listener may Close() us (or stop caring) from any event.
    if (closing_) return;
    switch (event.kind) {
      case Event::Kind::kConnected:
        listener->OnHiredisConnected();
        break;
      case Event::Kind::kReply:
        listener->OnHiredisReply(std::move(event.reply));
        break;
      case Event::Kind::kDown:
        closing_ = true;  // nothing after the last event
        listener->OnHiredisDown(event.status);
        return;
    }
  }
}

}  // namespace cursord::backplane::internal
