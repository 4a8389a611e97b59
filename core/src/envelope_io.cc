// OutgoingEnvelope and receive_envelope (see envelope_io.h).
#include "envelope_io.h"

#include <utility>

#include "envelope_settle.h"

namespace oaio::detail {

Status OutgoingEnvelope::prepare(Envelope& env) {
  if (carried_) return settle_envelope(&env);
  return prepare_encoded(env);
}

Status OutgoingEnvelope::send(std::string_view subject, std::string_view reply, Envelope& env) {
  if (carried_) return transport_.publish_envelope(subject, reply, std::move(env));
  return send_encoded(subject, reply);
}

Status OutgoingEnvelope::prepare_encoded(const Envelope& env) {
  bytes_.emplace();
  return encode_envelope(env, bytes_->get());
}

Status OutgoingEnvelope::send_encoded(std::string_view subject, std::string_view reply) {
  return transport_.publish(subject, reply, bytes_->text());
}

Result<Envelope> receive_envelope(const TransportMessage& msg) {
  if (msg.envelope == nullptr) return decode_envelope(msg.data);
  if (msg.envelope_owned) return Result<Envelope>(std::move(*msg.envelope));
  return Result<Envelope>(*msg.envelope);
}

}  // namespace oaio::detail
