// What every fuzz target shares: a check that fails loudly (libFuzzer saves
// the input that made it fail), and the splitting of one input into fields.
#ifndef CURSORD_TESTS_FUZZ_FUZZ_CHECK_H_
#define CURSORD_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

// Aborts with the broken invariant when `condition` is false. abort() is a
// crash to libFuzzer, so the input is written out as crash-<sha1>.
#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace cursord::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// The input cut at its first `count - 1` newlines into `count` fields (the
// last one keeps any further newlines; missing fields are empty). Seeds stay
// readable text files this way, one field per line.
inline std::vector<std::string_view> SplitFields(std::string_view input, size_t count) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < count) {
    const size_t newline = input.find('\n');
    if (newline == std::string_view::npos) break;
    fields.push_back(input.substr(0, newline));
    input.remove_prefix(newline + 1);
  }
  fields.push_back(input);
  fields.resize(count);
  return fields;
}

}  // namespace cursord::fuzz

#endif  // CURSORD_TESTS_FUZZ_FUZZ_CHECK_H_
