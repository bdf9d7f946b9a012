// One hiredis async connection driven by Boost.Asio: the adapter hiredis
// 0.14.1 does not ship. Internal to the backplane (RedisLink uses it); no
// reconnection, no timeouts, no name resolution here.
//
// Ownership and threading, the rules this file exists for:
// - hiredis owns the socket: it opens it in redisAsyncConnect and closes it
//   in redisFree. Asio only watches it, through a stream_descriptor whose fd
//   is release()d (never closed) in hiredis' cleanup hook, which runs just
//   before hiredis closes the fd. So the fd is closed exactly once, and never
//   while epoll still has it registered.
// - hiredis owns the redisAsyncContext until it frees it itself (a read or
//   write error, EOF, a failed connect) or until Close() frees it. Both paths
//   run the cleanup hook, after which this object never touches the context.
// - Nothing of the listener runs inside a hiredis callback: replies and state
//   changes are queued while hiredis runs and delivered after
//   redisAsyncHandleRead/Write has returned. So the listener may send,
//   Close() or drop this object from any event, and redisAsyncFree is never
//   called with hiredis frames on the stack.
// - Every completion handler holds a shared_ptr to this object, so a wait
//   that completes after Close() (with operation_aborted) finds it alive.
// - Single-threaded: every call on the executor's thread.
#ifndef CURSORD_BACKPLANE_HIREDIS_ASIO_H_
#define CURSORD_BACKPLANE_HIREDIS_ASIO_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/asio/any_io_executor.hpp"
#include "boost/asio/posix/stream_descriptor.hpp"
#include "server/backplane/redis_reply.h"

struct redisAsyncContext;
struct redisReply;

namespace cursord::backplane::internal {

class HiredisAsio : public std::enable_shared_from_this<HiredisAsio> {
 public:
  // Receives the connection's events, in order, never from inside hiredis.
  class Listener {
   public:
    // The TCP connection is established (hiredis' connect callback).
    virtual void OnHiredisConnected() = 0;
    // One reply (or, once subscribed, one pushed message), in wire order.
    virtual void OnHiredisReply(Reply reply) = 0;
    // hiredis gave up the connection (connect failure, EOF, I/O or protocol
    // error) and has freed it; the last event. Not sent after Close().
    virtual void OnHiredisDown(const absl::Status& reason) = 0;

   protected:
    ~Listener() = default;
  };

  // Starts a non-blocking connect to the numeric `address` (hiredis resolves
  // names synchronously, so callers resolve first). Events go to `listener`
  // for as long as it is alive and Close() has not been called.
  static absl::StatusOr<std::shared_ptr<HiredisAsio>> Connect(
      const boost::asio::any_io_executor& executor, const std::string& address, uint16_t port,
      std::weak_ptr<Listener> listener);

  ~HiredisAsio();
  HiredisAsio(const HiredisAsio&) = delete;
  HiredisAsio& operator=(const HiredisAsio&) = delete;

  // Appends a command (binary-safe argv) to hiredis' output buffer; its
  // reply comes as OnHiredisReply. UNAVAILABLE once the connection is down
  // or closing. Commands sent before OnHiredisConnected are buffered.
  absl::Status Send(const std::vector<std::string>& args);

  // Frees the connection now (redisAsyncFree; hiredis closes the fd) and
  // stops all events. Idempotent. Must not be (and by construction is not)
  // called from inside a hiredis callback; if it ever were, the free is
  // deferred with asio::post.
  void Close();

  // False once hiredis has freed the connection or Close() was called.
  bool open() const { return context_ != nullptr && !closing_; }

 private:
  struct Event {
    enum class Kind { kConnected, kReply, kDown } kind;
    Reply reply;
    absl::Status status;
  };

  HiredisAsio(const boost::asio::any_io_executor& executor, redisAsyncContext* context,
              std::weak_ptr<Listener> listener);

  // hiredis' adapter hooks (ev.addRead ...), `privdata` is this.
  static void AddRead(void* privdata);
  static void DelRead(void* privdata);
  static void AddWrite(void* privdata);
  static void DelWrite(void* privdata);
  static void Cleanup(void* privdata);
  // hiredis' callbacks.
  static void OnConnect(const redisAsyncContext* context, int status);
  static void OnReply(redisAsyncContext* context, void* reply, void* privdata);

  void ArmRead();
  void ArmWrite();
  void OnReadable(const boost::system::error_code& ec);
  void OnWritable(const boost::system::error_code& ec);
  // Hands queued events to the listener, stopping if it closes us.
  void Deliver();

  // Null once hiredis has run the cleanup hook (it frees the context right
  // after). Every use checks it.
  redisAsyncContext* context_;
  boost::asio::posix::stream_descriptor descriptor_;
  std::weak_ptr<Listener> listener_;
  // hiredis asked for readiness (one-shot, as with libevent without
  // EV_PERSIST: hiredis re-asks after each read and after each partial write).
  bool want_read_ = false;
  bool want_write_ = false;
  // An async_wait is pending on the descriptor.
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  // Inside redisAsyncHandleRead/Write: hiredis frames are on the stack.
  bool in_hiredis_ = false;
  // Close() was called: no more events, hiredis' NULL-reply callbacks during
  // the free are ignored.
  bool closing_ = false;
  std::vector<Event> events_;
};

// The value-type copy of a hiredis reply (nested arrays included).
Reply ConvertReply(const redisReply& reply);

}  // namespace cursord::backplane::internal

#endif  // CURSORD_BACKPLANE_HIREDIS_ASIO_H_
