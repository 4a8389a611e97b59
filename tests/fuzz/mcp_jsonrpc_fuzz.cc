// Fuzz target for the MCP bridge's message layer (bridges/mcp/src/jsonrpc.h,
// tool_names.h): JSON-RPC frame parsing, newline framing (stdio) and SSE framing
// (Streamable HTTP), as a server could send them.
//
// For every input (the first byte picks a chunking seed, the rest is the stream):
//  1. LineSplitter and SseParser yield the same lines/events whether the stream is fed
//     at once or in pseudo-random chunks (cut anywhere, also inside CRLF pairs).
//  2. Every line/event goes through parse_frame: it either yields messages or an error
//     reason, never both, never a crash; results and errors have integer or string ids.
//  3. With a small limit, lines/events beyond it are reported as oversized, never kept.
//  4. The tool-name mapping round-trips the input and only yields safe tokens;
//     decode(token) of arbitrary text either fails or re-encodes to the same text.
// A violated property calls abort(), which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "jsonrpc.h"
#include "tool_names.h"

namespace {

using namespace oaio::mcp;

void check(bool ok) {
  if (!ok) std::abort();
}

std::vector<std::string_view> chunks(std::string_view data, uint8_t seed) {
  std::vector<std::string_view> out;
  uint32_t state = seed * 2654435761u + 1;
  while (!data.empty()) {
    state = state * 1103515245u + 12345u;
    std::size_t n = 1 + (state >> 16) % 64;
    if (n > data.size()) n = data.size();
    out.push_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

void parse_checked(std::string_view frame) {
  std::string error;
  auto messages = parse_frame(frame, &error);
  check(messages.empty() == !error.empty());
  for (const Message& m : messages) {
    if (m.kind == MessageKind::kRequest) check(m.id.is_number_integer() || m.id.is_string());
    if (m.kind == MessageKind::kResult || m.kind == MessageKind::kError)
      check(m.id.is_number_integer() || m.id.is_string() || m.id.is_null());
  }
}

struct Lines {
  std::vector<std::string> lines;
  std::vector<std::size_t> oversized;
};

Lines split(std::string_view data, std::size_t limit, uint8_t seed, bool chunked) {
  Lines out;
  LineSplitter s(
      limit, [&](std::string_view l) { out.lines.emplace_back(l); },
      [&](std::string_view head, std::string_view tail, std::size_t n) {
        check(head.size() <= 256 && tail.size() <= 256);
        out.oversized.push_back(n);
        (void)sniff_id(head, tail);
      });
  if (chunked) {
    for (auto c : chunks(data, seed)) s.feed(c);
  } else {
    s.feed(data);
  }
  return out;
}

struct Events {
  std::vector<std::string> data;
  int errors = 0;
};

Events sse(std::string_view data, std::size_t limit, uint8_t seed, bool chunked) {
  Events out;
  SseParser p(
      limit, [&](std::string_view, std::string_view d, std::string_view) { out.data.emplace_back(d); },
      [&](std::string_view) { ++out.errors; });
  if (chunked) {
    for (auto c : chunks(data, seed)) p.feed(c);
  } else {
    p.feed(data);
  }
  p.finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t seed = data[0];
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  parse_checked(input);

  Lines whole = split(input, kDefaultMaxMessageBytes, seed, false);
  Lines parts = split(input, kDefaultMaxMessageBytes, seed, true);
  check(whole.lines == parts.lines);
  for (const auto& l : whole.lines) parse_checked(l);
  Lines small = split(input, 32, seed, true);
  for (const auto& l : small.lines) check(l.size() <= 33);  // a '\r' may still be counted

  Events e1 = sse(input, kDefaultMaxMessageBytes, seed, false);
  Events e2 = sse(input, kDefaultMaxMessageBytes, seed, true);
  check(e1.data == e2.data && e1.errors == e2.errors);
  for (const auto& d : e1.data) parse_checked(d);
  Events e3 = sse(input, 48, seed, true);
  for (const auto& d : e3.data) check(d.size() <= 48);

  std::string token = encode_tool_name(input);
  check(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-~") ==
        std::string::npos);
  auto back = decode_tool_name(token);
  check(input.empty() ? !back.has_value() : (back.has_value() && *back == input));
  auto decoded = decode_tool_name(input);
  if (decoded) check(encode_tool_name(*decoded) == input);
  return 0;
}
