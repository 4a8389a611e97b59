// The plugin's JSON Schema as the host applies it (validate_bridge_config): the seed's
// openclaw_chat_sse bridge from tests/testdata passes unchanged, our examples pass,
// and mistakes are reported with their path.
#include <gtest/gtest.h>

#include <filesystem>

#include "config.h"
#include "manifest.h"
#include "support/test_util.h"

namespace oaio::sse {
namespace {

std::optional<std::string> fake_env(const std::string& name) {
  if (name == "OPENCLAW_GATEWAY_TOKEN" || name == "MATRIX_TOKEN") return std::string("token-value");
  return std::nullopt;
}

TEST(SseSchema, SeedManifestFromTestdataIsAcceptedAndParses) {
  auto bridges = host::load_manifest_file(test::test_data_path("testdata/manifests/good/seed.yaml"), fake_env);
  ASSERT_TRUE(bridges.ok()) << bridges.status().to_string();
  const host::BridgeManifest* openclaw = nullptr;
  for (const auto& b : bridges.value())
    if (b.seed_type == "openclaw_chat_sse") openclaw = &b;
  ASSERT_NE(openclaw, nullptr);
  oaio::Status s = host::validate_bridge_config(*openclaw, config_schema());
  EXPECT_TRUE(s.ok()) << s.to_string();
  BridgeConfig c;
  oaio::plugin::Status parsed = parse_config(openclaw->config.dump(), openclaw->name, &c);
  ASSERT_TRUE(parsed.ok()) << parsed.message();
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0].target, "openclaw.wechat");
  EXPECT_EQ(c.endpoints[0].idle_timeout_ms, 30000u);
  EXPECT_EQ(c.endpoints[0].text_field, "text");
}

TEST(SseSchema, ExampleManifestsAreValid) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "OPENCLAW_GATEWAY_TOKEN") return std::string("t");
    return std::nullopt;
  };
  std::string dir = std::string(OAIO_SOURCE_DIR) + "/manifests/examples";
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("sse-", 0) != 0) continue;
    auto bridges = host::load_manifest_file(entry.path().string(), env);
    ASSERT_TRUE(bridges.ok()) << entry.path() << ": " << bridges.status().to_string();
    for (const auto& b : bridges.value()) {
      oaio::Status s = host::validate_bridge_config(b, config_schema());
      EXPECT_TRUE(s.ok()) << entry.path() << ": " << s.to_string();
      BridgeConfig c;
      oaio::plugin::Status parsed = parse_config(b.config.dump(), b.name, &c);
      EXPECT_TRUE(parsed.ok()) << entry.path() << ": " << parsed.message();
      ++seen;
    }
  }
  EXPECT_EQ(seen, 3);
}

TEST(SseSchema, MistakesNameTheirPath) {
  const char* text = R"(bridges:
  - name: llm
    plugin: sse
    config:
      endpoints:
        - {target: a, base_url: "http://x/v1", model: m, idle_timout: 5}
      sources:
        - {url: "http://x/events"}
)";
  auto bridges = host::parse_manifest_text(text, "bad.yaml", host::ManifestFormat::kYaml, fake_env);
  ASSERT_TRUE(bridges.ok()) << bridges.status().to_string();
  oaio::Status s = host::validate_bridge_config(bridges.value()[0], config_schema());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/bridges/0/config/endpoints/0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("/bridges/0/config/sources/0"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace oaio::sse
