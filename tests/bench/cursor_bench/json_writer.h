// A minimal JSON object writer for the result line. Keys are written in
// call order; the caller nests with BeginObject/EndObject.
#ifndef CURSORD_BENCH_JSON_WRITER_H_
#define CURSORD_BENCH_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

namespace cursord::bench {

class JsonWriter {
 public:
  JsonWriter() { out_ = "{"; }

  JsonWriter& Add(absl::string_view key, absl::string_view value);
  JsonWriter& Add(absl::string_view key, const char* value) {
    return Add(key, absl::string_view(value));
  }
  JsonWriter& Add(absl::string_view key, int64_t value);
  JsonWriter& Add(absl::string_view key, uint64_t value);
  JsonWriter& Add(absl::string_view key, int value) {
    return Add(key, static_cast<int64_t>(value));
  }
  JsonWriter& Add(absl::string_view key, double value);
  JsonWriter& Add(absl::string_view key, bool value);
  JsonWriter& AddNull(absl::string_view key);
  JsonWriter& BeginObject(absl::string_view key);
  JsonWriter& EndObject();

  // The finished object (closes it; call once).
  std::string Finish();

 private:
  void Key(absl::string_view key);
  static void AppendString(absl::string_view s, std::string* out);

  std::string out_;
  bool first_ = true;
};

}  // namespace cursord::bench

#endif  // CURSORD_BENCH_JSON_WRITER_H_
