// Fuzz target for manifest parsing (host/src/manifest*.cc, env_subst.cc,
// schema_validate.cc) through the same entry point load_manifest_file uses.
//
// For every input, parsed both as a YAML and as a JSON manifest:
//  1. parse_manifest_text never crashes or throws; a failure is an INVALID_REQUEST
//     Status with a non-empty message whose every line starts with the file label.
//  2. A parsed bridge has a non-empty name, an object config, and a sha256 (if any) of
//     64 lowercase hex digits; its config and redacted config serialize (valid UTF-8).
//  3. Secrets stay secret: the environment holds a marker that the input cannot spell
//     unless it contains it; when it does not, the marker appears in no error message
//     and no redacted config.
//  4. validate_bridge_config against the echo plugins' schema never crashes, and its
//     errors do not contain the marker either.
// A violated property calls abort(), which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "manifest.h"

namespace {

constexpr std::string_view kMarker = "Zq7SECRETzQ7";
constexpr const char* kLabel = "fuzz.yaml";
constexpr const char* kEchoSchema =
    R"({"type":"object","properties":{"target":{"type":"string","default":"echo"},)"
    R"("delay_ms":{"type":"integer","minimum":0},"chunk_size":{"type":"integer","minimum":1}},)"
    R"("additionalProperties":false})";

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "manifest_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void check(bool cond, const char* what, std::string_view detail = {}) {
  if (!cond) fail(what, detail);
}

bool lines_start_with_label(const std::string& message) {
  std::size_t start = 0;
  while (start <= message.size()) {
    const std::size_t end = message.find('\n', start);
    if (message.compare(start, std::string_view(kLabel).size(), kLabel) != 0) return false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

void run(std::string_view text, oaio::host::ManifestFormat format) {
  const oaio::host::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SECRET") return std::string(kMarker);
    if (name == "A") return std::string("1");
    return std::nullopt;
  };
  const bool input_has_marker = text.find(kMarker) != std::string_view::npos;
  auto r = oaio::host::parse_manifest_text(text, kLabel, format, env);
  if (!r.ok()) {
    const oaio::Status status = r.status();  // status() returns a copy
    const std::string& m = status.message();
    check(status.code() == oaio::ErrorCode::kInvalidRequest, "error is not INVALID_REQUEST", m);
    check(!m.empty(), "empty error message");
    check(lines_start_with_label(m), "error line without the file label", m);
    check(input_has_marker || m.find(kMarker) == std::string::npos, "secret in an error message", m);
    return;
  }
  for (const oaio::host::BridgeManifest& b : r.value()) {
    check(!b.name.empty(), "bridge without a name");
    check(b.config.is_object(), "config is not an object", b.config.dump());
    if (b.sha256) {
      check(b.sha256->size() == 64, "sha256 length", *b.sha256);
      for (char c : *b.sha256) check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "sha256 digit", *b.sha256);
    }
    std::string config, redacted;
    try {
      config = b.config.dump();
      redacted = b.redacted_config().dump();
    } catch (const std::exception& e) {
      fail("config does not serialize", e.what());
    }
    check(input_has_marker || redacted.find(kMarker) == std::string::npos, "secret in the redacted config", redacted);
    const oaio::Status s = oaio::host::validate_bridge_config(b, kEchoSchema);
    check(input_has_marker || s.message().find(kMarker) == std::string::npos, "secret in a validation error",
          s.message());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  run(text, oaio::host::ManifestFormat::kYaml);
  run(text, oaio::host::ManifestFormat::kJson);
  return 0;
}
