// Differential fuzz target for the SSE parser (bridges/sse/src/sse_parser.h) and the
// chat chunk assembler fed by it.
//
// For every input (the first byte picks a chunking seed, the rest is the stream):
//  1. Parsing the stream in one feed() and in pseudo-random chunks (1..64 bytes, cut
//     anywhere, also inside CRLF pairs and UTF-8 sequences) yields the same events,
//     the same "cut off" verdict, the same failure and the same retry time.
//  2. Every dispatched field is valid UTF-8 (nlohmann::json accepts it as a string).
//  3. With a small event limit the parser either fails with its message or yields
//     events no larger than the limit; never crashes.
//  4. The chat assembler never crashes on the events, nor on the whole input taken as
//     one JSON body (a server that ignored stream:true); its payloads are valid JSON.
// A violated property calls abort(), which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat_stream.h"
#include "sse_parser.h"

namespace {

using oaio::sse::ChatStreamAssembler;
using oaio::sse::SseEvent;
using oaio::sse::SseParser;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "sse_parser_fuzz: %s\n", what);
  std::abort();
}

struct Outcome {
  std::vector<std::string> events;  // type '\0' data '\0' id
  bool cut = false;
  bool failed = false;
  std::optional<std::uint32_t> retry;
};

Outcome parse(std::string_view stream, std::uint32_t seed, bool chunked, std::size_t limit) {
  SseParser p(limit);
  Outcome out;
  auto on_event = [&](const SseEvent& e) {
    if (e.data.size() + e.type.size() > limit) fail("event larger than the limit");
    std::string rec(e.type);
    rec.push_back('\0');
    rec.append(e.data);
    rec.push_back('\0');
    rec.append(e.id);
    out.events.push_back(std::move(rec));
    return true;
  };
  std::size_t at = 0;
  while (at < stream.size()) {
    std::size_t n = stream.size() - at;
    if (chunked) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 64);
    }
    if (!p.feed(stream.substr(at, n), on_event)) break;
    at += n;
  }
  out.failed = p.failed();
  if (out.failed && p.error().find("limit") == std::string::npos) fail("failure without a limit message");
  out.retry = p.retry_ms();
  out.cut = p.finish();
  return out;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.events == b.events && a.cut == b.cut && a.failed == b.failed && a.retry == b.retry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint32_t seed = data[0];
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Outcome whole = parse(stream, seed, false, SseParser::kDefaultMaxEventBytes);
  Outcome pieces = parse(stream, seed, true, SseParser::kDefaultMaxEventBytes);
  if (!same(whole, pieces)) fail("chunked parse differs from whole parse");

  for (const std::string& rec : whole.events) {
    try {
      (void)nlohmann::json(rec).dump();  // strict: throws on invalid UTF-8
    } catch (...) {
      fail("event is not valid UTF-8");
    }
  }

  // A small limit: both ways must agree on events before the failure too.
  Outcome small_whole = parse(stream, seed, false, 64);
  Outcome small_pieces = parse(stream, seed, true, 64);
  if (small_whole.failed != small_pieces.failed) fail("limit verdict depends on chunking");
  if (!small_whole.failed && !same(small_whole, small_pieces)) fail("chunked parse differs under a small limit");

  ChatStreamAssembler chat(oaio::sse::ErrorContext{"fuzz: ", {"secret"}});
  std::vector<std::string> deltas;
  for (const std::string& rec : whole.events) {
    std::string_view d(rec);
    d = d.substr(rec.find('\0') + 1);
    d = d.substr(0, d.find('\0'));
    if (chat.on_data(d, deltas) != ChatStreamAssembler::Step::kContinue) break;
  }
  for (const std::string& delta : deltas)
    if (!nlohmann::json::accept(delta)) fail("delta is not JSON");
  if (!nlohmann::json::accept(chat.final_payload())) fail("final payload is not JSON");

  // The same bytes as a whole (non-SSE) body: a server that ignored stream:true.
  ChatStreamAssembler whole_body(oaio::sse::ErrorContext{"fuzz: ", {"secret"}});
  std::vector<std::string> body_deltas;
  whole_body.on_whole_body(stream, body_deltas);
  for (const std::string& delta : body_deltas)
    if (!nlohmann::json::accept(delta)) fail("whole-body delta is not JSON");
  if (!nlohmann::json::accept(whole_body.final_payload())) fail("whole-body final payload is not JSON");
  return 0;
}
