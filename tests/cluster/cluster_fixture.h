// The cluster tests' fixture: one redis-server (no persistence) and N
// cursord processes sharing it, each started with --redis and waited on
// until its /healthz says ok; members joined through the fixture are
// owned by it, and every one of them is checked at the end for breaches of
// the protocol (Member::violations). Processes are ended by pid in the
// destructors, members first, then cursord, then Redis.
#ifndef CURSORD_TESTS_CLUSTER_CLUSTER_FIXTURE_H_
#define CURSORD_TESTS_CLUSTER_CLUSTER_FIXTURE_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/backplane/redis_server.h"
#include "tests/cluster/cursord_instance.h"
#include "tests/cluster/member.h"
#include "tests/testing/subprocess.h"

namespace cursord::testing {

class ClusterTest : public ::testing::Test {
 protected:
  void TearDown() override;

  // Starts `redis_servers` Redis servers and `instances` cursord processes
  // ("i0", "i1", ...) with `flags` added, each given every Redis server in
  // --redis (in start order), and waits until each says /healthz ok.
  void StartCluster(int instances, const std::vector<std::string>& flags = {},
                    int redis_servers = 1);

  // Starts one more instance ("iN") on the cluster's Redis servers, without
  // waiting for its /healthz (Redis may be down).
  void AddInstance(const std::vector<std::string>& flags = {});

  // The first Redis server, and server `i` in --redis order.
  RedisServer& redis() { return *redis_.at(0); }
  RedisServer& redis(int i) { return *redis_.at(i); }
  int redis_count() const { return static_cast<int>(redis_.size()); }
  CursordInstance& instance(int i) { return *instances_.at(i); }
  int instance_count() const { return static_cast<int>(instances_.size()); }

  // Joins `room` on instance `i`; the member is owned by the fixture and
  // labelled `label@i`. Fails the test (fatally) if the join fails.
  void Join(int i, const std::string& room, const std::string& label, Member** out);
  // Takes ownership of a member joined elsewhere (e.g. on another thread).
  Member* Adopt(std::unique_ptr<Member> member);
  // Connects to `room` on instance `i` and expects the server to close
  // the connection without a join: the close code and reason.
  void ExpectRefused(int i, const std::string& room, uint16_t code,
                     const std::string& reason_prefix);

  // True when every instance's /healthz says `prefix` within `timeout`.
  bool AllHealth(const std::string& prefix, absl::Duration timeout = absl::Seconds(5));
  // The sum of the metric over all running instances.
  double MetricSum(const std::string& name);
  // The real cursorctl against instance `i`'s control plane.
  RunResult Ctl(int i, const std::vector<std::string>& args);

  // `member` sees exactly `ids` within `timeout`.
  static ::testing::AssertionResult SeesExactly(Member& member, const std::set<uint8_t>& ids,
                                                absl::Duration timeout = absl::Seconds(5));

  std::string log_dir_;

 private:
  std::vector<std::unique_ptr<RedisServer>> redis_;  // in --redis order
  std::vector<std::unique_ptr<CursordInstance>> instances_;
  std::vector<std::unique_ptr<Member>> members_;
};

// Declares `Member* var` and joins it to `room` on instance `i`, fatally
// failing the test if the join fails.
#define JOIN(var, i, room)  \
  Member* var = nullptr;    \
  ASSERT_NO_FATAL_FAILURE(Join(i, room, #var, &var))

// The line of `text` whose first field is `first` (a table row by its ID,
// a fact by "Key:"), or "" if none.
std::string LineStartingWith(const std::string& text, const std::string& first);

// A set of ids, for SeesExactly and roster comparisons.
std::set<uint8_t> Ids(std::initializer_list<int> ids);
std::set<uint8_t> Ids(const std::vector<uint8_t>& ids);

}  // namespace cursord::testing

#endif  // CURSORD_TESTS_CLUSTER_CLUSTER_FIXTURE_H_
