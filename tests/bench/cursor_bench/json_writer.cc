#include "json_writer.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace cursord::bench {

void JsonWriter::AppendString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void JsonWriter::Key(absl::string_view key) {
  if (!first_) out_.push_back(',');
  first_ = false;
  AppendString(key, &out_);
  out_.push_back(':');
}

JsonWriter& JsonWriter::Add(absl::string_view key, absl::string_view value) {
  Key(key);
  AppendString(value, &out_);
  return *this;
}

JsonWriter& JsonWriter::Add(absl::string_view key, int64_t value) {
  Key(key);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Add(absl::string_view key, uint64_t value) {
  Key(key);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Add(absl::string_view key, double value) {
  Key(key);
  // JSON has no NaN or infinity.
  if (!std::isfinite(value)) {
    out_.append("null");
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", value);
  out_.append(buf);
  return *this;
}

JsonWriter& JsonWriter::Add(absl::string_view key, bool value) {
  Key(key);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::AddNull(absl::string_view key) {
  Key(key);
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::BeginObject(absl::string_view key) {
  Key(key);
  out_.push_back('{');
  first_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  first_ = false;
  return *this;
}

std::string JsonWriter::Finish() {
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace cursord::bench
