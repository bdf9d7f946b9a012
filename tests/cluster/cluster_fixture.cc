#include "tests/cluster/cluster_fixture.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/testing/eventually.h"

namespace cursord::testing {

std::set<uint8_t> Ids(std::initializer_list<int> ids) {
  std::set<uint8_t> set;
  for (int id : ids) set.insert(static_cast<uint8_t>(id));
  return set;
}

std::set<uint8_t> Ids(const std::vector<uint8_t>& ids) { return {ids.begin(), ids.end()}; }

void ClusterTest::StartCluster(int instances, const std::vector<std::string>& flags,
                               int redis_servers) {
  // hiredis in RedisServer::Query writes with write(2); a server that just
  // died must not kill the test.
  signal(SIGPIPE, SIG_IGN);
  char dir[] = "/tmp/cursord-cluster-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  log_dir_ = dir;
  for (int i = 0; i < redis_servers; ++i) {
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_.push_back(*std::move(redis));
  }
  for (int i = 0; i < instances; ++i) ASSERT_NO_FATAL_FAILURE(AddInstance(flags));
  // A join before the backplane is connected is refused (1013), so a test
  // starts only once every instance says ok.
  ASSERT_TRUE(AllHealth("ok", absl::Seconds(10))) << "an instance's /healthz never said ok";
}

void ClusterTest::AddInstance(const std::vector<std::string>& flags) {
  const size_t i = instances_.size();
  CursordInstance::Options options;
  options.instance_id = absl::StrCat("i", i);
  std::vector<std::string> urls;
  for (const std::unique_ptr<RedisServer>& redis : redis_) {
    urls.push_back(absl::StrCat("redis://127.0.0.1:", redis->port()));
  }
  options.redis = absl::StrJoin(urls, ",");
  options.log_path = absl::StrCat(log_dir_, "/i", i, ".log");
  options.flags = flags;
  absl::StatusOr<std::unique_ptr<CursordInstance>> started = CursordInstance::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  instances_.push_back(*std::move(started));
}

void ClusterTest::TearDown() {
  for (const std::unique_ptr<Member>& member : members_) {
    EXPECT_TRUE(member->violations().empty()) << member->Describe();
  }
  for (const std::unique_ptr<CursordInstance>& instance : instances_) {
    const std::string exit = instance->UnexpectedExit();
    EXPECT_EQ(exit, "") << instance->LogTail(30);
  }
  if (HasFailure()) {
    for (const std::unique_ptr<CursordInstance>& instance : instances_) {
      std::cerr << "---- " << instance->log_path() << " (last 40 lines)\n"
                << instance->LogTail(40);
    }
  }
  members_.clear();
  instances_.clear();
  redis_.clear();
  if (!log_dir_.empty() && !HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(log_dir_, ec);
  }
}

void ClusterTest::Join(int i, const std::string& room, const std::string& label, Member** out) {
  absl::StatusOr<std::unique_ptr<Member>> member =
      Member::Join(instance(i).port(), room, absl::StrCat(label, "@", i));
  ASSERT_TRUE(member.ok()) << member.status();
  *out = Adopt(*std::move(member));
}

Member* ClusterTest::Adopt(std::unique_ptr<Member> member) {
  members_.push_back(std::move(member));
  return members_.back().get();
}

void ClusterTest::ExpectRefused(int i, const std::string& room, uint16_t code,
                                const std::string& reason_prefix) {
  absl::StatusOr<std::unique_ptr<Member>> member =
      Member::Connect(instance(i).port(), room, absl::StrCat("refused@", i));
  ASSERT_TRUE(member.ok()) << member.status();
  Member& m = **member;
  EXPECT_TRUE(m.WaitClosed()) << m.Describe();
  EXPECT_EQ(m.close_code(), code) << m.Describe();
  EXPECT_TRUE(absl::StartsWith(m.close_reason(), reason_prefix))
      << "\"" << m.close_reason() << "\" does not start with \"" << reason_prefix << "\"";
  // Refused before the join: not one message of the room.
  EXPECT_TRUE(m.log().empty()) << m.Describe();
}

bool ClusterTest::AllHealth(const std::string& prefix, absl::Duration timeout) {
  return Eventually(
      [&] {
        for (const auto& instance : instances_) {
          if (!instance->HealthStartsWith(prefix)) return false;
        }
        return true;
      },
      timeout);
}

RunResult ClusterTest::Ctl(int i, const std::vector<std::string>& args) {
  absl::StatusOr<std::string> address = instance(i).ControlAddress();
  EXPECT_TRUE(address.ok()) << address.status();
  std::vector<std::string> argv = {CURSORCTL_PATH, "--server", address.value_or("?"),
                                   "--timeout", "10"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

std::string LineStartingWith(const std::string& text, const std::string& first) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::StripLeadingAsciiWhitespace(line), ' ', absl::SkipEmpty());
    if (!fields.empty() && fields[0] == first) return std::string(line);
  }
  return "";
}

double ClusterTest::MetricSum(const std::string& name) {
  double sum = 0;
  for (const auto& instance : instances_) {
    if (!instance->running()) continue;
    std::optional<double> value = instance->Metric(name);
    EXPECT_TRUE(value.has_value()) << instance->instance_id() << " has no " << name;
    sum += value.value_or(0);
  }
  return sum;
}

::testing::AssertionResult ClusterTest::SeesExactly(Member& member, const std::set<uint8_t>& ids,
                                                    absl::Duration timeout) {
  if (member.WaitFor([&] { return member.view() == ids; }, timeout)) {
    return ::testing::AssertionSuccess();
  }
  std::vector<int> expected(ids.begin(), ids.end());
  return ::testing::AssertionFailure()
         << "expected to see {" << absl::StrJoin(expected, " ") << "} within "
         << absl::FormatDuration(timeout) << ": " << member.Describe();
}

}  // namespace cursord::testing
