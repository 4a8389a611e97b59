// ChatStreamAssembler: turns the `data` of the SSE events of one OpenAI-compatible
// streaming chat completion (chat.completion.chunk objects, then `[DONE]`) into what
// the bus caller sees:
//   - started meta {"model":..., "id":...} (from the first chunk);
//   - delta payloads: {"delta":"<content piece>"} per content piece, and
//     {"tool_calls":[{"index":i,"id"?,"type"?,"function":{"name"?,"arguments":piece}}]}
//     per tool-call piece (pieces of one chunk grouped by index);
//   - the final payload {"text", "finish_reason", "usage", "tool_calls", "model", "id"}
//     with the whole text and the tool calls assembled by index (arguments joined).
// Only choice index 0 is followed (requests never ask for n > 1). A chunk with an
// empty `choices` (the usage chunk of stream_options.include_usage) only sets usage.
// An `error` object in a chunk, or data that is not JSON, ends the stream with an
// error; a stream whose transport ends before `[DONE]` is an error too (finish()).
//
// Thread-safety: none; one per transfer, driven by the event loop thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "error_map.h"

namespace oaio::sse {

class ChatStreamAssembler {
 public:
  enum class Step { kContinue, kDone, kError };

  explicit ChatStreamAssembler(ErrorContext ctx) : ctx_(std::move(ctx)) {}

  // One SSE event's data. Appends the delta payloads (JSON text) it yields to `deltas`.
  Step on_data(std::string_view data, std::vector<std::string>& deltas);

  // The transport ended. kDone if `[DONE]` was seen, else kError (error() says why).
  Step finish();

  // A server that ignored `stream: true` answered one JSON document instead of SSE:
  // a chat.completion (its message becomes the final; kDone) or an {"error": ...}
  // (kError). Anything else is kError too. Only before any SSE event was seen. The
  // message's content (and tool calls) are appended to `deltas` as one piece each.
  Step on_whole_body(std::string_view body, std::vector<std::string>& deltas);

  bool done() const { return done_; }
  bool saw_chunk() const { return saw_chunk_; }
  const Status& error() const { return error_; }
  std::string started_meta() const;
  std::string final_payload() const;
  const std::string& text() const { return text_; }

 private:
  struct ToolCall {
    std::string id, type, name, arguments;
  };
  Step fail(Status s);

  ErrorContext ctx_;
  bool done_ = false;
  bool saw_chunk_ = false;
  Status error_;
  std::string model_, id_;
  std::string text_;
  nlohmann::json finish_reason_;        // null until a chunk sets it
  nlohmann::json usage_;                // null until a chunk sets it
  std::map<long, ToolCall> tool_calls_;  // by index
};

}  // namespace oaio::sse
