// Reading a small file that an operator named on the command line (a
// certificate, a key), with an error that names it.
#ifndef CURSORD_COMMON_READ_FILE_H_
#define CURSORD_COMMON_READ_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace cursord {

// The whole of `path`. INVALID_ARGUMENT naming the path and the reason
// ("cannot read \"/etc/x.pem\": No such file or directory") when it cannot
// be opened or read, is a directory, or is longer than `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes = size_t{4} << 20);

}  // namespace cursord

#endif  // CURSORD_COMMON_READ_FILE_H_
