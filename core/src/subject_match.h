// NATS subject matching for the in-process transport: `*` matches one token and a
// final `>` one or more tokens.
#pragma once

#include <string_view>

namespace oaio::detail {

bool subject_has_wildcard(std::string_view pattern) noexcept;
bool subject_matches(std::string_view pattern, std::string_view subject) noexcept;

}  // namespace oaio::detail
