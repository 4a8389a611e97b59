#include "chat_stream.h"

#include "text_util.h"

namespace oaio::sse {
namespace {

using Json = nlohmann::json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string string_at(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ChatStreamAssembler::Step ChatStreamAssembler::fail(Status s) {
  error_ = std::move(s);
  return Step::kError;
}

ChatStreamAssembler::Step ChatStreamAssembler::on_data(std::string_view data, std::vector<std::string>& deltas) {
  if (done_) return Step::kDone;
  if (!error_.ok()) return Step::kError;
  std::string_view trimmed = data;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\n')) trimmed.remove_suffix(1);
  if (trimmed == "[DONE]") {
    done_ = true;
    return Step::kDone;
  }
  if (trimmed.empty()) return Step::kContinue;  // an empty data line carries nothing
  Json chunk = Json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object())
    return fail(Status(OAIO_ERR_CODEC, redact(ctx_.prefix + "upstream sent an SSE event that is not a JSON object: " +
                                                  one_line(data, 120),
                                              ctx_.secrets)));
  if (auto err = chunk.find("error"); err != chunk.end() && !err->is_null())
    return fail(status_from_stream_error(*err, ctx_));
  saw_chunk_ = true;
  if (model_.empty()) model_ = string_at(chunk, "model");
  if (id_.empty()) id_ = string_at(chunk, "id");
  if (auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) usage_ = *u;

  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return Step::kContinue;
  for (const Json& choice : *choices) {
    if (!choice.is_object()) continue;
    if (auto idx = choice.find("index"); idx != choice.end() && idx->is_number_integer() && idx->get<long>() != 0)
      continue;
    if (auto fr = choice.find("finish_reason"); fr != choice.end() && !fr->is_null()) finish_reason_ = *fr;
    auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) continue;
    if (auto content = delta->find("content"); content != delta->end() && content->is_string()) {
      const std::string& piece = content->get_ref<const std::string&>();
      if (!piece.empty()) {
        text_ += piece;
        deltas.push_back(dump(Json{{"delta", piece}}));
      }
    }
    auto calls = delta->find("tool_calls");
    if (calls == delta->end() || !calls->is_array() || calls->empty()) continue;
    // Pieces of one chunk, grouped by index, in index order.
    std::map<long, Json> grouped;
    long next_index = static_cast<long>(tool_calls_.size());
    for (const Json& call : *calls) {
      if (!call.is_object()) continue;
      long index = next_index;
      if (auto i = call.find("index"); i != call.end() && i->is_number_integer()) index = i->get<long>();
      ToolCall& tc = tool_calls_[index];
      Json& piece = grouped[index];
      if (piece.is_null()) piece = Json{{"index", index}};
      std::string id = string_at(call, "id");
      if (!id.empty()) {
        tc.id = id;
        piece["id"] = id;
      }
      std::string type = string_at(call, "type");
      if (!type.empty()) {
        tc.type = type;
        piece["type"] = type;
      }
      if (auto fn = call.find("function"); fn != call.end() && fn->is_object()) {
        std::string name = string_at(*fn, "name");
        std::string args = string_at(*fn, "arguments");
        Json& f = piece["function"];
        if (f.is_null()) f = Json::object();
        if (!name.empty()) {
          tc.name += name;
          f["name"] = f.value("name", std::string()) + name;
        }
        tc.arguments += args;
        f["arguments"] = f.value("arguments", std::string()) + args;
      }
    }
    if (!grouped.empty()) {
      Json list = Json::array();
      for (auto& [index, piece] : grouped) list.push_back(std::move(piece));
      deltas.push_back(dump(Json{{"tool_calls", std::move(list)}}));
    }
  }
  return Step::kContinue;
}

ChatStreamAssembler::Step ChatStreamAssembler::on_whole_body(std::string_view body, std::vector<std::string>& deltas) {
  if (done_) return Step::kDone;
  if (!error_.ok()) return Step::kError;
  Json doc = Json::parse(body, nullptr, false);
  if (!doc.is_object()) return finish();
  if (auto err = doc.find("error"); err != doc.end() && !err->is_null()) return fail(status_from_stream_error(*err, ctx_));
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return finish();
  // Re-shape the completion as one chunk whose delta is the whole message.
  const Json& choice = (*choices)[0];
  Json chunk = Json::object();
  for (const char* key : {"id", "model", "usage"})
    if (doc.contains(key)) chunk[key] = doc[key];
  Json delta = choice.value("message", Json::object());
  if (delta.contains("tool_calls") && delta["tool_calls"].is_array())
    for (std::size_t i = 0; i < delta["tool_calls"].size(); ++i)
      if (delta["tool_calls"][i].is_object() && !delta["tool_calls"][i].contains("index")) delta["tool_calls"][i]["index"] = i;
  chunk["choices"] = Json::array({Json{{"index", 0}, {"delta", delta}, {"finish_reason", choice.value("finish_reason", Json())}}});
  if (on_data(dump(chunk), deltas) == Step::kError) return Step::kError;
  done_ = true;
  return Step::kDone;
}

ChatStreamAssembler::Step ChatStreamAssembler::finish() {
  if (done_) return Step::kDone;
  if (!error_.ok()) return Step::kError;
  return fail(Status(OAIO_ERR_TRANSPORT,
                     ctx_.prefix + (saw_chunk_ ? "the stream ended without [DONE] (cut off mid-answer)"
                                               : "the stream ended before any chunk and without [DONE]"),
                     1));
}

std::string ChatStreamAssembler::started_meta() const {
  Json meta = Json::object();
  meta["model"] = model_;
  meta["id"] = id_;
  return dump(meta);
}

std::string ChatStreamAssembler::final_payload() const {
  Json out = Json::object();
  out["text"] = text_;
  out["finish_reason"] = finish_reason_;
  out["usage"] = usage_;
  Json calls = Json::array();
  for (const auto& [index, tc] : tool_calls_) {
    Json c = Json::object();
    c["index"] = index;
    c["id"] = tc.id;
    c["type"] = tc.type.empty() ? "function" : tc.type;
    c["function"] = Json{{"name", tc.name}, {"arguments", tc.arguments}};
    calls.push_back(std::move(c));
  }
  out["tool_calls"] = std::move(calls);
  out["model"] = model_;
  out["id"] = id_;
  return dump(out);
}

}  // namespace oaio::sse
