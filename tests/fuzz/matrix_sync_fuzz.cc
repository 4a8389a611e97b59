// libFuzzer target: the Matrix bridge's /sync response parser (untrusted homeserver
// input), plus what the bridge then does with each parsed message (mention detection,
// transaction ids) and the reply-text extraction of agent frames.
// Invariants: no crash, no sanitizer report; a parsed batch has a non-empty
// next_batch and messages with event id, sender and msgtype.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "reply_text.h"
#include "sync_parser.h"
#include "text_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  oaio::matrix::SyncBatch batch;
  if (oaio::matrix::parse_sync_response(text, &batch).empty()) {
    if (batch.next_batch.empty()) std::abort();
    for (const auto& m : batch.messages) {
      if (m.event_id.empty() || m.sender.empty() || m.msgtype.empty()) std::abort();
      (void)oaio::matrix::mentions_bot(m, "@bot:example.org");
      (void)oaio::matrix::txn_id("reply", m.event_id);
    }
  }
  (void)oaio::matrix::final_text(text);
  (void)oaio::matrix::delta_text(text);
  return 0;
}
