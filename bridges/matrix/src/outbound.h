// Outbound: posts `matrix.message.send` events (payload {text, html?, room_id,
// reply_to_event_id?, msgtype?}) to their room. The subscription uses a queue group,
// so one replica of the bridge posts each event; the transaction id is derived from
// the event's id, so a retried or redelivered event is posted once. 429s wait for
// retry_after_ms, 5xx and network errors back off; what still fails (or is invalid)
// is dead-lettered, never dropped: to the bus's dead-letter subject P.dlq.matrix.message.send
// (host_api.dead_letter, ABI 1.1), or under a 1.0 host as an event
// `dlq.matrix.message.send` with the same acp.dlq.* metadata.
// THREAD: on_event on a host thread (hands off to the Poster); posting on the Poster.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "config.h"
#include "oaio/plugin.hpp"
#include "poster.h"

namespace oaio::matrix {

inline constexpr char kSendEventType[] = "matrix.message.send";
inline constexpr char kSendDeadLetterType[] = "dlq.matrix.message.send";

class Outbound {
 public:
  Outbound(oaio::plugin::Host& host, const Config& config, Poster& poster);
  void on_event(std::string_view payload, std::string_view envelope);
  std::uint64_t posted() const { return posted_.load(); }
  std::uint64_t dead_lettered() const { return dead_.load(); }

 private:
  void dead_letter(const std::string& envelope, const std::string& event_id, const std::string& payload,
                   const std::string& error);

  oaio::plugin::Host& host_;
  const Config& config_;
  Poster& poster_;
  std::atomic<std::uint64_t> posted_{0};
  std::atomic<std::uint64_t> dead_{0};
};

}  // namespace oaio::matrix
