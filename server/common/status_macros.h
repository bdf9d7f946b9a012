// A RETURN_IF_ERROR of the project's own (Debian's abseil has no status macros).
#ifndef CURSORD_COMMON_STATUS_MACROS_H_
#define CURSORD_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define CURSORD_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::absl::Status cursord_status_ = (expr);       \
    if (!cursord_status_.ok()) return cursord_status_; \
  } while (false)

#endif  // CURSORD_COMMON_STATUS_MACROS_H_
