#include "json_writer.h"

#include <limits>

#include "gtest/gtest.h"

namespace cursord::bench {
namespace {

TEST(JsonWriter, FlatAndNested) {
  JsonWriter w;
  w.Add("mode", "rate").Add("n", 3).Add("ok", true);
  w.BeginObject("latency").Add("p99_ms", 1.5).EndObject();
  w.AddNull("warning");
  EXPECT_EQ(w.Finish(),
            R"({"mode":"rate","n":3,"ok":true,"latency":{"p99_ms":1.5},"warning":null})");
}

TEST(JsonWriter, EscapesAndNonFinite) {
  JsonWriter w;
  w.Add("s", "a\"b\\c\nd\x01");
  w.Add("nan", std::numeric_limits<double>::quiet_NaN());
  w.Add("big", uint64_t{18446744073709551615ull});
  EXPECT_EQ(w.Finish(),
            R"({"s":"a\"b\\c\nd\u0001","nan":null,"big":18446744073709551615})");
}

}  // namespace
}  // namespace cursord::bench
