#ifndef CURSORD_SERVER_WEB_ASSETS_H_
#define CURSORD_SERVER_WEB_ASSETS_H_

#include <string_view>

namespace cursord::web {

// A file compiled into the binary. Both views point at static storage and stay
// valid for the life of the process.
struct Asset {
  std::string_view content_type;
  std::string_view body;
};

// Returns the embedded asset named `name` (a file name relative to server/web,
// e.g. "index.html"), or nullptr if there is none. Thread-safe: the table is
// immutable after static initialisation.
const Asset* FindAsset(std::string_view name);

}  // namespace cursord::web

#endif  // CURSORD_SERVER_WEB_ASSETS_H_
