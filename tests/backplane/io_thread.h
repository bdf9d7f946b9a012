// What the backplane's I/O tests share: an io_context on its own thread (as
// the backplane will run it), a way to run code there and wait for it, and a
// thread-safe log of the events callbacks saw, with bounded waits on it.
#ifndef CURSORD_TESTS_BACKPLANE_IO_THREAD_H_
#define CURSORD_TESTS_BACKPLANE_IO_THREAD_H_

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/post.hpp"

namespace cursord::testing {

class IoThread {
 public:
  IoThread() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  boost::asio::io_context& io() { return io_; }

  // Runs `fn` on the io thread and returns its result.
  template <typename F>
  auto Run(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  void Post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// Events as text ("connected", "disconnected DEADLINE_EXCEEDED", ...), in the
// order the io thread recorded them.
class EventLog {
 public:
  void Add(std::string event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }

  // Waits until `count` events start with `prefix`; false after `timeout`.
  bool WaitFor(std::string_view prefix, int count = 1,
               absl::Duration timeout = absl::Seconds(5)) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return CountLocked(prefix) >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

  int Count(std::string_view prefix) {
    absl::MutexLock lock(&mu_);
    return CountLocked(prefix);
  }

  std::vector<std::string> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

  // Index of the `nth` (0-based) event starting with `prefix`, or -1.
  int IndexOf(std::string_view prefix, int nth = 0) {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < events_.size(); ++i) {
      if (events_[i].compare(0, prefix.size(), prefix) == 0 && nth-- == 0) return static_cast<int>(i);
    }
    return -1;
  }

 private:
  int CountLocked(std::string_view prefix) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int n = 0;
    for (const std::string& event : events_) n += event.compare(0, prefix.size(), prefix) == 0;
    return n;
  }

  absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_BACKPLANE_IO_THREAD_H_
