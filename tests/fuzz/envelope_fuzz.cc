// Differential fuzz target for the envelope codec and the JSON scanner under it.
//
// For every input:
//  1. The scanner's verdict on "is this one valid JSON text" equals
//     nlohmann::json::accept's, except for the known, intended differences below.
//  2. decode_envelope never crashes; when it succeeds the input is valid JSON.
//  3. A decoded envelope re-encodes (unless event_type is empty, which the strict
//     encoder must refuse), the output is valid JSON, decodes to an equal envelope,
//     and encoding that again gives the same bytes.
//  4. The error-payload codec and metadata accessors never crash, and
//     encode_error_payload always produces valid JSON.
//  5. settle_envelope (how the in-process transport hands envelopes over) leaves an
//     envelope exactly as decode(encode()) would, or fails with the encoder's status:
//     for the decoded envelope, and for envelopes carrying the raw input as payload,
//     metadata value, string field and timestamp.
// A violated property calls abort(), which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "envelope_settle.h"
#include "json_scan.h"
#include "oaio/envelope.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "envelope_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check(bool cond, const char* what, std::string_view detail = {}) {
  if (!cond) fail(what, detail);
}

// Records why nlohmann rejected a text, to tell real disagreements from known ones.
struct RejectReason : nlohmann::json_sax<nlohmann::json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    message = e.what();
    return false;
  }
};

// Known, intended differences between our scanner (strict RFC 8259, like Go's
// encoding/json) and nlohmann::json::accept:
//  - nlohmann skips a leading UTF-8 byte order mark; RFC 8259 §8.1 lets a parser
//    ignore it, but Go rejects it and so do we.
//  - nlohmann has no nesting limit; we stop at kMaxJsonDepth to protect the stack.
//  - nlohmann rejects numbers that overflow a double ("number overflow"); the grammar
//    allows them, Go's json.Valid accepts them, and the codec never converts them.
//  - nlohmann's lexer treats a NUL byte outside a string as the end of the input (a
//    C-string convenience), so "2\0junk" passes as "2". A NUL is never valid JSON.
void check_validity_verdict(std::string_view in, bool theirs) {
  oaio::detail::JsonScanner scanner(in);
  const bool ours = scanner.skip_value() && scanner.at_end();
  check(ours == oaio::is_valid_json(in), "is_valid_json disagrees with the scanner");
  if (ours == theirs) return;
  if (!ours) {
    if (in.substr(0, 3) == "\xEF\xBB\xBF") return;
    if (scanner.error() && std::strcmp(scanner.error(), "nesting too deep") == 0) return;
    const std::size_t nul = in.find('\0');
    if (nul != std::string_view::npos && oaio::is_valid_json(in.substr(0, nul))) return;
    fail("scanner rejects what nlohmann accepts", in);
  }
  RejectReason reason;
  nlohmann::json::sax_parse(in.begin(), in.end(), &reason);
  if (reason.message.find("number overflow") != std::string::npos) return;
  fail(("scanner accepts what nlohmann rejects: " + reason.message).c_str(), in);
}

void check_equal(const oaio::Envelope& a, const oaio::Envelope& b, std::string_view context) {
  check(a.spec_version == b.spec_version, "spec_version differs", context);
  check(a.schema_version == b.schema_version, "schema_version differs", context);
  check(a.event_id == b.event_id, "event_id differs", context);
  check(a.event_type == b.event_type, "event_type differs", context);
  check(a.frame_type == b.frame_type, "frame_type differs", context);
  check(a.occurred_at == b.occurred_at, "occurred_at differs", context);
  check(a.trace_id == b.trace_id && a.span_id == b.span_id && a.traceparent == b.traceparent,
        "trace fields differ", context);
  check(a.session_id == b.session_id && a.conversation_id == b.conversation_id, "session fields differ", context);
  check(a.correlation_id == b.correlation_id && a.reply_to == b.reply_to, "reply fields differ", context);
  check(a.from == b.from && a.to == b.to && a.channel == b.channel, "routing fields differ", context);
  check(a.tenant_id == b.tenant_id && a.user_id == b.user_id, "tenant/user differ", context);
  check(a.seq == b.seq && a.is_final == b.is_final, "seq/is_final differ", context);
  check(a.payload == b.payload, "payload differs", context);
  check(a.metadata == b.metadata, "metadata differs", context);
}

// `oracle_ok`: nlohmann accepted the input, so it must accept our output too (the
// output only holds values copied from the input, or strings we escaped).
void check_round_trip(const oaio::Envelope& env, bool oracle_ok) {
  auto encoded = oaio::encode_envelope(env);
  if (env.event_type.empty()) {
    check(!encoded.ok() && encoded.status().code() == oaio::ErrorCode::kCodecFailure,
          "encoder accepted an empty event_type");
    return;
  }
  check(encoded.ok(), "re-encoding a decoded envelope failed", encoded.status().message());
  const std::string& out = *encoded;
  check(oaio::is_valid_json(out), "encoder output is not JSON", out);
  if (oracle_ok) check(nlohmann::json::accept(out), "encoder output is not JSON (nlohmann)", out);

  auto again = oaio::decode_envelope(out);
  check(again.ok(), "encoder output does not decode", out);
  // What the encoder fills in for empty or out-of-range fields (WIRE.md §1.1).
  oaio::Envelope expected = env;
  if (expected.spec_version.empty()) expected.spec_version = std::string(oaio::kSpecVersion);
  if (expected.schema_version <= 0) expected.schema_version = oaio::kSchemaVersion;
  if (expected.event_id.empty()) {
    check(again->event_id.size() == 36, "generated event_id has the wrong size", again->event_id);
    expected.event_id = again->event_id;
  }
  if (expected.occurred_at.empty()) {
    check(oaio::parse_timestamp(again->occurred_at).has_value(), "generated occurred_at does not parse");
    expected.occurred_at = again->occurred_at;
  }
  check_equal(expected, *again, out);

  auto twice = oaio::encode_envelope(*again);
  check(twice.ok() && *twice == out, "encoding is not stable", out);
}

void check_settle(const oaio::Envelope& env) {
  oaio::Envelope settled = env;
  const oaio::Status status = oaio::detail::settle_envelope(&settled);
  auto encoded = oaio::encode_envelope(env);
  if (!encoded.ok()) {
    check(status == encoded.status(), "settle and encode fail differently", status.to_string());
    return;
  }
  check(status.ok(), "settle failed where encode did not", status.to_string());
  auto decoded = oaio::decode_envelope(*encoded);
  check(decoded.ok(), "encoder output does not decode", *encoded);
  if (env.event_id.empty()) decoded->event_id = settled.event_id;
  if (env.occurred_at.empty()) decoded->occurred_at = settled.occurred_at;
  check_equal(settled, *decoded, *encoded);
}

void check_settle_with_input(std::string_view in) {
  oaio::Envelope env;
  env.event_type = "fuzz.happened";
  env.payload = std::string(in);
  check_settle(env);
  env.payload.clear();
  env.metadata.emplace("k", std::string(in));
  check_settle(env);
  env.metadata.clear();
  env.session_id = std::string(in);
  env.occurred_at = std::string(in);
  check_settle(env);
}

void exercise_side_apis(std::string_view in, bool oracle_ok, const oaio::Envelope* env) {
  const oaio::Status from_raw = oaio::decode_error_payload(in);
  check(!from_raw.ok(), "decode_error_payload returned OK");
  const std::string text = oaio::encode_error_payload(from_raw, in);
  check(oaio::is_valid_json(text), "encode_error_payload output is not JSON", text);
  if (oracle_ok) check(nlohmann::json::accept(text), "encode_error_payload output is not JSON (nlohmann)", text);
  const std::string quoted = oaio::json_quote(in);
  check(oaio::is_valid_json(quoted), "json_quote output is not JSON", quoted);
  if (oaio::detail::is_valid_utf8(in)) {
    check(nlohmann::json::parse(quoted).get<std::string>() == in, "json_quote does not round trip");
  }
  if (env == nullptr) return;
  if (env->has_payload()) (void)oaio::decode_error_payload(env->payload);
  for (const auto& [key, value] : env->metadata) {
    (void)oaio::metadata_string(env->metadata, key);
    (void)oaio::metadata_int(env->metadata, key);
    (void)oaio::metadata_bool(env->metadata, key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool oracle_ok = nlohmann::json::accept(in.begin(), in.end());
  check_validity_verdict(in, oracle_ok);
  check_settle_with_input(in);

  auto decoded = oaio::decode_envelope(in);
  if (!decoded.ok()) {
    check(decoded.status().code() == oaio::ErrorCode::kCodecFailure, "decode failed without CODEC_FAILURE");
    exercise_side_apis(in, oracle_ok, nullptr);
    return 0;
  }
  check(oaio::is_valid_json(in), "decode accepted invalid JSON", in);
  check_round_trip(*decoded, oracle_ok);
  check_settle(*decoded);
  exercise_side_apis(in, oracle_ok, &*decoded);
  return 0;
}
