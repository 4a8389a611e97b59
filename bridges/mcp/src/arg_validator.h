// Checks tool arguments against the tool's inputSchema (JSON Schema, draft 7 rules via
// valijson) before a call is sent, so bad arguments never reach the server.
// A schema valijson cannot compile (a remote $ref, an unsupported keyword form) makes
// the validator permissive; compile_error() says why, and the bridge logs it.
// THREAD: immutable after construction; validate() may run on many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "jsonrpc.h"

namespace oaio::mcp {

class ArgValidator {
 public:
  explicit ArgValidator(const Json& schema);
  ~ArgValidator();
  ArgValidator(const ArgValidator&) = delete;
  ArgValidator& operator=(const ArgValidator&) = delete;

  // Nothing when `args` is valid, else a message naming the first offending field,
  // e.g. "argument 'a': Value type not permitted by 'type' constraint." or
  // "arguments: Missing required property 'message'.".
  std::optional<std::string> validate(const Json& args) const;
  const std::string& compile_error() const { return compile_error_; }

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;  // null when permissive
  std::string compile_error_;
};

}  // namespace oaio::mcp
