// Result<T>: either a value or a non-OK Status (like absl::StatusOr). Fallible
// factories and calls return it instead of throwing.
//
// Thread-safety: as for T; a Result is a plain value.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "oaio/status.h"

namespace oaio {

template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok(). An OK status without a value is a programming error.
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT
  // By reference, not by value: a large T (an Envelope is two dozen strings) is then
  // moved once, into place, not twice.
  Result(const T& value) : v_(value) {}                                                   // NOLINT
  Result(T&& value) : v_(std::move(value)) {}                                             // NOLINT
  // Constructs the value in place from `args` (no move at all).
  template <typename... Args>
  explicit Result(std::in_place_t, Args&&... args) : v_(std::in_place_index<0>, std::forward<Args>(args)...) {}
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const noexcept { return std::holds_alternative<T>(v_); }
  // The error, or an OK status when there is a value.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace oaio
