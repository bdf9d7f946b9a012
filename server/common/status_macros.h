// RETURN_IF_ERROR and ASSIGN_OR_RETURN of the project's own (Debian's
// abseil has no status macros).
#ifndef CURSORD_COMMON_STATUS_MACROS_H_
#define CURSORD_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define CURSORD_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status cursord_status_ = (expr);           \
    if (!cursord_status_.ok()) return cursord_status_; \
  } while (false)

#define CURSORD_STATUS_CONCAT_INNER_(a, b) a##b
#define CURSORD_STATUS_CONCAT_(a, b) CURSORD_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::StatusOr<T>): returns its status from the
// enclosing function when it is not OK, else moves its value into `lhs`
// (a declaration such as `auto x` or an existing variable).
#define CURSORD_ASSIGN_OR_RETURN(lhs, expr)                                             \
  CURSORD_ASSIGN_OR_RETURN_IMPL_(CURSORD_STATUS_CONCAT_(cursord_statusor_, __LINE__), \
                                 lhs, expr)
#define CURSORD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // CURSORD_COMMON_STATUS_MACROS_H_
