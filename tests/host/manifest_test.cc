// Manifests: both formats, YAML typing, ${VAR} substitution and secrets, every error
// kind with its location, directories, and config validation against plugin schemas.
// Bad files under testdata/manifests/bad/ carry their own expected errors ("# expect:").
#include "manifest.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <unistd.h>

#include "support/test_util.h"

namespace oaio::host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

constexpr const char* kSecret = "s3cr3t-value";

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

EnvLookup test_env() {
  return env_of({{"MCP_URL", "https://mcp.example/mcp"},
                 {"MCP_TOKEN", kSecret},
                 {"MATRIX_TOKEN", kSecret},
                 {"OPENCLAW_GATEWAY_TOKEN", kSecret},
                 {"TOKEN", kSecret}});
}

std::string data(const std::string& relative) { return test::test_data_path("testdata/manifests/" + relative); }

Result<std::vector<BridgeManifest>> yaml(const std::string& text, const EnvLookup& env = test_env()) {
  return parse_manifest_text(text, "m.yaml", ManifestFormat::kYaml, env);
}
Result<std::vector<BridgeManifest>> json_text(const std::string& text, const EnvLookup& env = test_env()) {
  return parse_manifest_text(text, "m.json", ManifestFormat::kJson, env);
}

// The config of the one bridge `bridges: [{name: b, plugin: p, config: {v: <value>}}]`.
Json config_value(const std::string& value_yaml) {
  auto r = yaml("bridges:\n  - name: b\n    plugin: p\n    config:\n      v: " + value_yaml + "\n");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value()[0].config["v"] : Json("<error>");
}

std::string error_of(const Result<std::vector<BridgeManifest>>& r) {
  EXPECT_FALSE(r.ok());
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
  }
  return r.ok() ? "" : r.status().message();
}

// Renders what a parse produced, to compare two parses at once.
std::string render(const std::vector<BridgeManifest>& bridges) {
  std::ostringstream out;
  for (const auto& b : bridges) {
    out << b.pointer << " name=" << b.name << " plugin=" << b.plugin << " type=" << b.seed_type
        << " config=" << b.config.dump() << " isolation=" << static_cast<int>(b.isolation)
        << " restart=" << b.restart.enabled << "," << b.restart.max_restarts << "," << b.restart.window_seconds << ","
        << b.restart.initial_backoff_ms << "," << b.restart.max_backoff_ms
        << " startup=" << static_cast<int>(b.on_startup_failure) << " tenant=" << b.tenant
        << " prefix=" << b.target_prefix << " sha=" << b.sha256.value_or("-") << " secrets=";
    for (const auto& p : b.secret_paths) out << p << ";";
    out << " warnings=" << b.warnings.size() << "\n";
  }
  return out.str();
}

// ---- our format ------------------------------------------------------------------

TEST(ManifestTest, ParsesOurFormatWithEveryField) {
  auto r = load_manifest_file(data("good/ours.yaml"), test_env());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  const BridgeManifest& b = r.value()[0];
  EXPECT_EQ(b.file, data("good/ours.yaml"));
  EXPECT_EQ(b.pointer, "/bridges/0");
  EXPECT_EQ(b.name, "search");
  EXPECT_EQ(b.plugin, "mcp");
  EXPECT_EQ(b.seed_type, "");
  EXPECT_EQ(b.config, Json::parse(R"({"url":"https://mcp.example/mcp","token":"Bearer s3cr3t-value","timeout":30,
      "ratio":0.5,"verbose":true,"nothing":null,"port_text":"8080","tags":["a","b"]})"));
  EXPECT_TRUE(b.config["timeout"].is_number_integer());
  EXPECT_EQ(b.isolation, Isolation::kSubprocess);
  EXPECT_TRUE(b.restart.enabled);
  EXPECT_EQ(b.restart.max_restarts, 3);
  EXPECT_EQ(b.restart.window_seconds, 60u);
  EXPECT_EQ(b.restart.initial_backoff_ms, 100u);
  EXPECT_EQ(b.restart.max_backoff_ms, 5000u);
  EXPECT_EQ(b.on_startup_failure, StartupFailure::kFail);
  EXPECT_EQ(b.tenant, "acme");
  EXPECT_EQ(b.target_prefix, "tools.search");
  EXPECT_EQ(b.sha256, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");  // lowercased
  EXPECT_THAT(b.secret_paths, ElementsAre("/token", "/url"));
  EXPECT_TRUE(b.warnings.empty());

  const BridgeManifest& d = r.value()[1];  // every default
  EXPECT_EQ(d.name, "echo_2");
  EXPECT_EQ(d.config, Json::object());
  EXPECT_EQ(d.isolation, Isolation::kInProcess);
  EXPECT_EQ(d.on_startup_failure, StartupFailure::kRetry);
  EXPECT_TRUE(d.restart.enabled);
  EXPECT_EQ(d.restart.max_restarts, 5);
  EXPECT_EQ(d.restart.window_seconds, 300u);
  EXPECT_EQ(d.restart.initial_backoff_ms, 200u);
  EXPECT_EQ(d.restart.max_backoff_ms, 30000u);
  EXPECT_EQ(d.tenant, "");
  EXPECT_EQ(d.target_prefix, "");
  EXPECT_FALSE(d.sha256.has_value());
  EXPECT_TRUE(d.secret_paths.empty());
}

TEST(ManifestTest, JsonAndYamlGiveTheSameBridges) {
  auto y = load_manifest_file(data("good/ours.yaml"), test_env());
  auto j = load_manifest_file(data("good/ours.json"), test_env());
  ASSERT_TRUE(y.ok()) << y.status().message();
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(render(*y), render(*j));
}

TEST(ManifestTest, ParsesASingleBridgeFileWithAnchorsAndMergeKeys) {
  auto r = load_manifest_file(data("good/single.yml"), test_env());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r.value()[0].pointer, "");
  EXPECT_EQ(r.value()[0].name, "solo");
  EXPECT_EQ(r.value()[0].plugin, "echo_cpp");
  EXPECT_EQ(r.value()[0].config, Json::parse(R"({"delay_ms":0,"target":"solo.echo"})"));
  EXPECT_FALSE(r.value()[0].restart.enabled);
}

TEST(ManifestTest, AcceptsEveryEnumValue) {
  const std::pair<const char*, Isolation> isolations[] = {{"inprocess", Isolation::kInProcess},
                                                          {"subprocess", Isolation::kSubprocess}};
  for (const auto& [text, want] : isolations) {
    auto r = yaml(std::string("{name: b, plugin: p, isolation: ") + text + "}");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value()[0].isolation, want) << text;
  }
  const std::pair<const char*, StartupFailure> startups[] = {
      {"fail", StartupFailure::kFail}, {"retry", StartupFailure::kRetry}, {"ignore", StartupFailure::kIgnore}};
  for (const auto& [text, want] : startups) {
    auto r = yaml(std::string("{name: b, plugin: p, on_startup_failure: ") + text + "}");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value()[0].on_startup_failure, want) << text;
  }
  struct Restart {
    const char* text;
    bool enabled;
    int max_restarts;
  };
  for (const Restart& c : {Restart{"never", false, 5}, Restart{"on-failure", true, 5}, Restart{"always", true, -1}}) {
    auto r = yaml(std::string("{name: b, plugin: p, restart: ") + c.text + "}");
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value()[0].restart.enabled, c.enabled) << c.text;
    EXPECT_EQ(r.value()[0].restart.max_restarts, c.max_restarts) << c.text;
  }
  auto r = yaml("{name: b, plugin: p, restart: {enabled: false, max_restarts: -1}}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r.value()[0].restart.enabled);
  EXPECT_EQ(r.value()[0].restart.max_restarts, -1);
}

TEST(ManifestTest, NullConfigAndEmptyBridgeListAreFine) {
  auto r = yaml("bridges:\n  - {name: b, plugin: p, config: ~}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value()[0].config, Json::object());
  auto empty = yaml("bridges: []\n");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(empty->empty());
}

TEST(ManifestTest, PluginAndTypeTogetherKeepBoth) {
  auto r = yaml("{name: b, plugin: my_mcp, type: mcp_tool}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value()[0].plugin, "my_mcp");
  EXPECT_EQ(r.value()[0].seed_type, "mcp_tool");
}

// ---- the seed format ---------------------------------------------------------------

TEST(ManifestTest, ParsesTheSeedFormatAndMergesMappingsIntoConfig) {
  auto r = load_manifest_file(data("good/seed.yaml"), test_env());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  const auto& mcp = r.value()[0];
  EXPECT_EQ(mcp.name, "mcp-fs");
  EXPECT_EQ(mcp.seed_type, "mcp_tool");
  EXPECT_EQ(mcp.plugin, "");
  EXPECT_EQ(mcp.config["command"], "npx");
  EXPECT_EQ(mcp.config["timeout"], 10);
  // The seed's defaults for its four known mapping keys; other keys kept.
  EXPECT_EQ(mcp.config["mappings"], Json::parse(R"({"target_prefix":"tools.fs","tool":"","text_field":"text",
      "session_field":"session_id","metadata_prefix":""})"));

  const auto& matrix = r.value()[1];
  EXPECT_EQ(matrix.seed_type, "matrix_event");
  EXPECT_EQ(matrix.config["access_token"], kSecret);
  EXPECT_THAT(matrix.secret_paths, ElementsAre("/access_token"));
  EXPECT_EQ(matrix.config["mappings"]["session_strategy"], "room_sender");

  const auto& chat = r.value()[2];
  EXPECT_EQ(chat.name, "openclaw.wechat");  // seed names may be dotted subjects
  EXPECT_EQ(chat.seed_type, "openclaw_chat_sse");
  EXPECT_EQ(chat.config["mappings"]["session_field"], "x-openclaw-session-key");
  EXPECT_EQ(chat.config["mappings"]["metadata_prefix"], "openclaw.");
  EXPECT_EQ(chat.redacted_config()["token"], "***");
  // An unknown key is ignored, as the seed does, with a warning naming it.
  EXPECT_THAT(chat.warnings,
              ElementsAre(data("good/seed.yaml") + ": /bridges/2/labels: unknown key \"labels\" ignored (as the seed does)"));

  auto j = load_manifest_file(data("good/seed.json"), test_env());
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(render(*r), render(*j));
}

TEST(ManifestTest, SeedBridgesAlwaysGetNormalizedMappings) {
  auto r = yaml(R"(version: "openagentio.bridge/v1"
bridges:
  - {name: a, type: mcp_tool}
  - {name: b, type: mcp_tool, mappings: {text_field: "", session_field: ~, extra: [1]}}
  - {name: c, type: mcp_tool, config: {mappings: {tool: t}}}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Json defaults = Json::parse(R"({"tool":"","text_field":"text","session_field":"session_id","metadata_prefix":""})");
  EXPECT_EQ(r.value()[0].config["mappings"], defaults);
  Json b = defaults;
  b["extra"] = Json::array({1});
  EXPECT_EQ(r.value()[1].config["mappings"], b);
  Json c = defaults;
  c["tool"] = "t";
  EXPECT_EQ(r.value()[2].config["mappings"], c);
}

TEST(ManifestTest, SeedFileWarnsAboutUnknownTopLevelKeys) {
  auto r = yaml("version: openagentio.bridge/v1\nextra: 1\nbridges:\n  - {name: a, type: mcp_tool}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(r.value()[0].warnings, ElementsAre("m.yaml: /extra: unknown key \"extra\" ignored (as the seed does)"));
}

TEST(ManifestTest, OurFormatIgnoresExtensionKeys) {
  auto r = yaml("x-common: &c {target: t}\nbridges:\n  - {name: a, plugin: p, config: *c}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r.value()[0].config, Json::parse(R"({"target":"t"})"));
}

// ---- YAML typing ---------------------------------------------------------------------

TEST(ManifestTest, YamlScalarsKeepTheirTypes) {
  EXPECT_EQ(config_value("42"), Json(42));
  EXPECT_TRUE(config_value("42").is_number_integer());
  EXPECT_EQ(config_value("-7"), Json(-7));
  EXPECT_EQ(config_value("0x1F"), Json(31));
  EXPECT_EQ(config_value("0o17"), Json(15));
  EXPECT_EQ(config_value("18446744073709551615"), Json(18446744073709551615ull));
  EXPECT_EQ(config_value("-9223372036854775808"), Json(INT64_MIN));
  EXPECT_EQ(config_value("1.5"), Json(1.5));
  EXPECT_EQ(config_value("-2e3"), Json(-2000.0));
  EXPECT_TRUE(config_value("-2e3").is_number_float());
  EXPECT_EQ(config_value(".5"), Json(0.5));
  EXPECT_EQ(config_value("true"), Json(true));
  EXPECT_EQ(config_value("False"), Json(false));
  EXPECT_EQ(config_value("~"), Json(nullptr));
  EXPECT_EQ(config_value("null"), Json(nullptr));
  EXPECT_EQ(config_value(""), Json(nullptr));
  // Quoted, tagged or non-core values stay strings.
  EXPECT_EQ(config_value("\"42\""), Json("42"));
  EXPECT_EQ(config_value("'true'"), Json("true"));
  EXPECT_EQ(config_value("\"null\""), Json("null"));
  EXPECT_EQ(config_value("!!str 42"), Json("42"));
  EXPECT_EQ(config_value("yes"), Json("yes"));  // YAML 1.2: not a boolean
  EXPECT_EQ(config_value("1.2.3"), Json("1.2.3"));
  EXPECT_EQ(config_value("0x"), Json("0x"));
  EXPECT_EQ(config_value("12:30"), Json("12:30"));
  EXPECT_EQ(config_value("|\n        two\n        lines"), Json("two\nlines\n"));
  EXPECT_EQ(config_value("!!float 3"), Json(3.0));
  EXPECT_TRUE(config_value("!!float 3").is_number_float());
  EXPECT_EQ(config_value("!!int \"7\""), Json(7));
  EXPECT_EQ(config_value("[1, \"1\", {a: b}]"), Json::parse(R"([1,"1",{"a":"b"}])"));
}

TEST(ManifestTest, YamlDocumentErrorsHaveTheirPosition) {
  EXPECT_EQ(error_of(yaml("bridges:\n  - {name: a, plugin: p, config: {v: !!int abc}}\n")),
            "m.yaml:2:38: /bridges/0/config/v: value does not match its tag \"tag:yaml.org,2002:int\"");
  EXPECT_EQ(error_of(yaml("bridges:\n  - {name: a, plugin: p, config: {v: !custom x}}\n")),
            "m.yaml:2:38: /bridges/0/config/v: unsupported tag \"!custom\"");
  EXPECT_EQ(error_of(yaml("bridges:\n  - {name: a, plugin: p, config: {[1]: x}}\n")),
            "m.yaml:2:35: /bridges/0/config: mapping keys must be strings");
  EXPECT_EQ(error_of(yaml("bridges:\n  - {name: a, plugin: p, config: {v: \"\xff\"}}\n")),
            "m.yaml:2:38: /bridges/0/config/v: value is not valid UTF-8");
  EXPECT_EQ(error_of(yaml("a: \"unterminated")), "m.yaml:1:17: yaml syntax error: illegal EOF in scalar");
  EXPECT_EQ(error_of(yaml("a: b: c\n")), "m.yaml:1:5: yaml syntax error: illegal map value");
  // yaml-cpp 0.7's LoadAll never returns on these (it allocates until killed).
  EXPECT_EQ(error_of(yaml("{},")), "m.yaml: expected one YAML document, found more (or text after its end)");
  EXPECT_EQ(error_of(yaml(",")), "m.yaml: expected one YAML document, found more (or text after its end)");
}

TEST(ManifestTest, AliasBombsAndCyclesAreRefused) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  EXPECT_THAT(error_of(yaml(bomb)), HasSubstr("document too large"));
  EXPECT_THAT(error_of(yaml("bridges: &a [*a]\n")), HasSubstr("nested deeper than 128 levels"));
}

// ---- JSON ------------------------------------------------------------------------------

TEST(ManifestTest, JsonErrorsHaveTheirPosition) {
  EXPECT_EQ(error_of(json_text("{\n  \"bridges\": [\n    {\"name\": \"a\",, }\n  ]\n}\n")),
            "m.json:3:18: json syntax error: syntax error while parsing object key - unexpected ','; expected string "
            "literal");
  EXPECT_EQ(error_of(json_text(R"({"bridges": [{"name": "a", "plugin": "p", "config": {"x": 1, "x": 2}}]})")),
            "m.json: /bridges/0/config/x: duplicate key \"x\"");
  EXPECT_EQ(error_of(json_text(R"({"bridges": [{"name": "a", "plugin": "p"}, {"name": "a", "name": "b"}]})")),
            "m.json: /bridges/1/name: duplicate key \"name\"");
  EXPECT_EQ(error_of(json_text(R"({"name": "a", "plugin": "p", "isolation": "threads"})")),
            "m.json: /isolation: expected one of inprocess, subprocess, got \"threads\"");
  EXPECT_EQ(error_of(json_text("")), "m.json:1:1: json syntax error: syntax error while parsing value - unexpected "
                                      "end of input; expected '[', '{', or a literal");
}

// ---- environment substitution and secrets ------------------------------------------------

TEST(ManifestTest, SubstitutesTheEnvironment) {
  auto env = env_of({{"A", "1"}, {"B", "two"}, {"EMPTY", ""}});
  auto r = yaml(R"(name: b
plugin: p
config:
  set: "${A}"
  default_unused: "${A:-x}"
  default_used: "${MISSING:-fallback}"
  default_empty_var: "${EMPTY:-filled}"
  empty_default: "${MISSING:-}"
  several: "${A}-${B}/${MISSING:-z}"
  escaped: "$${A} costs $$5 and $ stays"
  number_text: ${A}
  list: ["${B}", plain]
  plain: "no substitution"
)",
                env);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const BridgeManifest& b = r.value()[0];
  EXPECT_EQ(b.config, Json::parse(R"({"set":"1","default_unused":"1","default_used":"fallback",
      "default_empty_var":"filled","empty_default":"","several":"1-two/z","escaped":"${A} costs $5 and $ stays",
      "number_text":"1","list":["two","plain"],"plain":"no substitution"})"));
  EXPECT_THAT(b.secret_paths, ElementsAre("/default_empty_var", "/default_unused", "/default_used", "/empty_default",
                                          "/list/0", "/number_text", "/set", "/several"));
  Json redacted = b.redacted_config();
  EXPECT_EQ(redacted["set"], "***");
  EXPECT_EQ(redacted["list"], Json::parse(R"(["***","plain"])"));
  EXPECT_EQ(redacted["escaped"], "${A} costs $5 and $ stays");
  EXPECT_EQ(redacted["plain"], "no substitution");
}

TEST(ManifestTest, UnsetVariableNamesTheVariableAndThePath) {
  EXPECT_EQ(error_of(yaml("bridges:\n  - name: b\n    plugin: p\n    config: {nested: {list: [ok, \"${NOPE}\"]}}\n",
                          env_of({}))),
            "m.yaml: /bridges/0/config/nested/list/1: environment variable NOPE is not set and has no default");
}

TEST(ManifestTest, SecretsNeverAppearInErrorsOrRedactedConfig) {
  auto env = env_of({{"SECRET", "s3cr3t value!"}});
  // A secret where a mapping was expected (config), or where a mapping key must be a string.
  EXPECT_EQ(error_of(yaml("{name: b, plugin: p, config: \"${SECRET}\"}", env)),
            "m.yaml: /config: expected a mapping, got a value from the environment");
  auto seed = yaml("version: openagentio.bridge/v1\nbridges:\n  - {name: b, type: t, mappings: \"${SECRET}\"}\n", env);
  EXPECT_EQ(error_of(seed), "m.yaml: /bridges/0/mappings: expected a mapping, got a value from the environment");

  auto ok = yaml("{name: b, plugin: p, config: {token: \"${SECRET}\", auth: {header: \"Bearer ${SECRET}\"}}}",
                 env_of({{"SECRET", kSecret}}));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_THAT(ok.value()[0].redacted_config().dump(), Not(HasSubstr("s3cr3t")));
  EXPECT_EQ(ok.value()[0].config["auth"]["header"], std::string("Bearer ") + kSecret);
}

TEST(ManifestTest, HostSettingsAreLiteral) {
  // Host settings are logged as they are, so they never come from the environment.
  for (const char* key : {"name", "plugin", "type", "isolation", "restart", "on_startup_failure", "tenant",
                          "target_prefix", "sha256"}) {
    Json bridge = {{"name", "b"}, {"plugin", "p"}};
    bridge[key] = "x${SECRET}";
    const std::string text = bridge.dump();  // JSON is YAML too
    EXPECT_EQ(error_of(yaml(text, env_of({{"SECRET", kSecret}}))),
              std::string("m.yaml: /") + key + ": ${...} is substituted only inside config and mappings (host settings are literal)")
        << text;
  }
  EXPECT_EQ(error_of(yaml("{name: b, plugin: p, restart: {max_restarts: \"${N}\"}}")),
            "m.yaml: /restart: ${...} is substituted only inside config and mappings (host settings are literal)");
  // "$$" needs no substitution: it is simply not a valid tenant.
  EXPECT_EQ(error_of(yaml("{name: b, plugin: p, tenant: a$$b}")),
            "m.yaml: /tenant: expected one token of letters, digits, '-' and '_', got \"a$$b\"");
}

TEST(ManifestTest, SubstitutesOnlyInsideBridges) {
  // x- blocks at the top level are not bridges: an unset variable there is no error.
  auto r = yaml("x-unused: \"${NOPE}\"\nbridges:\n  - {name: b, plugin: p}\n", env_of({}));
  EXPECT_TRUE(r.ok()) << r.status().message();
}

// ---- bad files ----------------------------------------------------------------------------

// Every file in bad/ says what it breaks and the exact error lines it must produce.
TEST(ManifestTest, EveryBadFileFailsWithItsExpectedErrors) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data("bad"))) {
    const std::string path = entry.path().string();
    std::ifstream in(path);
    std::vector<std::string> expected;
    bool says_what_it_breaks = false;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("# breaks: ", 0) == 0) says_what_it_breaks = true;
      if (line.rfind("# expect: ", 0) == 0) {
        std::string want = line.substr(10);
        want.replace(want.find("<file>"), 6, path);
        expected.push_back(want);
      }
    }
    EXPECT_TRUE(says_what_it_breaks) << path << " has no '# breaks:' line";
    ASSERT_FALSE(expected.empty()) << path << " has no '# expect:' line";
    auto r = load_manifest_file(path, test_env());
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
    std::string want;
    for (const auto& e : expected) want += (want.empty() ? "" : "\n") + e;
    EXPECT_EQ(r.status().message(), want) << path;
    EXPECT_THAT(r.status().message(), Not(HasSubstr("s3cr3t"))) << path;
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(ManifestTest, UnreadableFileIsAnError) {
  EXPECT_THAT(error_of(load_manifest_file(data("no/such/file.yaml"))), HasSubstr("no/such/file.yaml: cannot read"));
}

// ---- directories ----------------------------------------------------------------------------

TEST(ManifestTest, DirectoryWithABadFileStillYieldsTheGoodBridges) {
  ManifestSet set = load_manifest_dir(data("dir_mixed"), test_env());
  std::vector<std::string> names;
  for (const auto& b : set.bridges) names.push_back(b.name);
  EXPECT_THAT(names, ElementsAre("alpha", "beta", "delta"));  // sorted by file; README and hidden files skipped
  EXPECT_THAT(set.errors, ElementsAre(data("dir_mixed") + "/b_bad.yaml: /bridges/0/isolation: expected one of "
                                                          "inprocess, subprocess, got \"threads\""));
}

TEST(ManifestTest, DuplicateNamesAcrossFilesNameBothFiles) {
  ManifestSet set = load_manifest_dir(data("dir_dup"), test_env());
  std::vector<std::string> names;
  for (const auto& b : set.bridges) names.push_back(b.name + "@" + std::filesystem::path(b.file).filename().string());
  EXPECT_THAT(names, ElementsAre("echo@one.yaml", "unique-1@one.yaml", "unique-2@two.yaml"));
  EXPECT_THAT(set.errors, ElementsAre(data("dir_dup") + "/two.yaml: /bridges/1/name: duplicate bridge name \"echo\" "
                                                        "(first declared in " +
                                      data("dir_dup") + "/one.yaml at /bridges/0)"));
}

TEST(ManifestTest, MissingDirectoryIsOneError) {
  ManifestSet set = load_manifest_dir(data("no-such-dir"));
  EXPECT_TRUE(set.bridges.empty());
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_THAT(set.errors[0], HasSubstr("no-such-dir: cannot read the manifests directory"));
}

TEST(ManifestTest, BadFileErrorsAreSplitIntoLines) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("oaio-manifest-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "m.yaml") << "bridges:\n  - {name: a}\n  - {name: b, plugin: p, isolation: x}\n";
  ManifestSet set = load_manifest_dir(dir.string(), test_env());
  fs::remove_all(dir);
  EXPECT_EQ(set.errors.size(), 2u);
  EXPECT_TRUE(set.bridges.empty());  // a file with an error yields no bridges
}

// ---- config validation against the plugin's schema -------------------------------------------

const char* const kSchema = R"({
  "type": "object",
  "properties": {
    "url": {"type": "string"},
    "timeout": {"type": "integer", "minimum": 1},
    "mode": {"enum": ["fast", "safe"]},
    "servers": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer", "maximum": 65535}},
                "required": ["port"]}},
    "token": {"type": "string", "minLength": 20}
  },
  "required": ["url"],
  "additionalProperties": false
})";

BridgeManifest bridge_with(const std::string& config_yaml, const EnvLookup& env = test_env()) {
  auto r = yaml("bridges:\n  - name: b\n    plugin: mcp\n    config: " + config_yaml + "\n", env);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r.value()[0] : BridgeManifest{};
}

TEST(ManifestTest, ValidConfigPasses) {
  EXPECT_TRUE(validate_bridge_config(bridge_with("{url: u, timeout: 5, mode: safe, servers: [{port: 80}]}"), kSchema).ok());
}

TEST(ManifestTest, ReportsEverySchemaErrorWithItsPointer) {
  BridgeManifest b = bridge_with(
      "{timeout: \"30\", mode: slow, extra: 1, other: 2, servers: [{port: 80}, {port: 70000}, {}, {port: x}]}");
  Status s = validate_bridge_config(b, kSchema);
  ASSERT_EQ(s.code(), ErrorCode::kInvalidRequest);
  std::vector<std::string> lines;
  std::istringstream in(s.message());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  EXPECT_THAT(lines, ::testing::UnorderedElementsAre(
                         "m.yaml: /bridges/0/config/extra: unknown property (allowed: mode, servers, timeout, token, url)",
                         "m.yaml: /bridges/0/config/other: unknown property (allowed: mode, servers, timeout, token, url)",
                         "m.yaml: /bridges/0/config/url: missing required property",
                         "m.yaml: /bridges/0/config/timeout: expected integer, got string",
                         "m.yaml: /bridges/0/config/mode: expected one of fast, safe, got \"slow\"",
                         "m.yaml: /bridges/0/config/servers/1/port: expected a number <= 65535, got 70000",
                         "m.yaml: /bridges/0/config/servers/2/port: missing required property",
                         "m.yaml: /bridges/0/config/servers/3/port: expected integer, got string"));
}

TEST(ManifestTest, MinimumErrorNamesTheBound) {
  Status s = validate_bridge_config(bridge_with("{url: u, timeout: 0}"), kSchema);
  EXPECT_EQ(s.message(), "m.yaml: /bridges/0/config/timeout: expected a number >= 1, got 0");
}

TEST(ManifestTest, SchemaErrorsDoNotQuoteSecrets) {
  BridgeManifest b = bridge_with("{url: u, mode: \"${TOKEN}\", token: \"${SHORT}\"}", env_of({{"TOKEN", kSecret}, {"SHORT", "abc"}}));
  Status s = validate_bridge_config(b, kSchema);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(s.message(), HasSubstr("/bridges/0/config/mode: expected one of fast, safe, got string"));
  EXPECT_THAT(s.message(), HasSubstr("/bridges/0/config/token: "));
}

TEST(ManifestTest, BrokenSchemaNamesThePlugin) {
  BridgeManifest b = bridge_with("{url: u}");
  Status not_json = validate_bridge_config(b, "{\"type\": ");
  EXPECT_EQ(not_json.code(), ErrorCode::kInvalidRequest);
  EXPECT_THAT(not_json.message(), HasSubstr("m.yaml: /bridges/0/config: cannot validate: plugin \"mcp\" declares a "
                                            "broken config schema: the schema is not valid JSON"));
  Status not_object = validate_bridge_config(b, "[1]");
  EXPECT_THAT(not_object.message(), HasSubstr("plugin \"mcp\" declares a broken config schema: the schema is not a JSON object"));
  Status refused = validate_bridge_config(b, R"({"type": "object", "properties": {"url": {"minLength": "five"}}})");
  EXPECT_THAT(refused.message(), HasSubstr("plugin \"mcp\" declares a broken config schema: the schema is invalid"));
  Status remote = validate_bridge_config(b, R"({"$ref": "https://example.com/schema.json"})");
  EXPECT_THAT(remote.message(), HasSubstr("declares a broken config schema"));

  BridgeManifest seed = b;
  seed.plugin = "";
  seed.seed_type = "mcp_tool";
  EXPECT_THAT(validate_bridge_config(seed, "nope").message(), HasSubstr("the plugin for type \"mcp_tool\" declares"));
}

TEST(ManifestTest, EmptySchemaAcceptsAnyConfig) {
  EXPECT_TRUE(validate_bridge_config(bridge_with("{anything: [1, 2]}"), "").ok());
  EXPECT_TRUE(validate_bridge_config(bridge_with("{anything: [1, 2]}"), "{}").ok());
  EXPECT_TRUE(validate_bridge_config(bridge_with("{anything: [1, 2]}"), "true").ok());
  EXPECT_EQ(validate_bridge_config(bridge_with("{}"), "false").message(),
            "m.yaml: /bridges/0/config: the plugin accepts no config (its schema is false)");
}

TEST(ManifestTest, BrokenRegexInSchemaIsAnError) {
  Status s = validate_bridge_config(bridge_with("{a: x}"), R"({"properties": {"a": {"pattern": "("}}})");
  EXPECT_THAT(s.message(), HasSubstr("plugin \"mcp\" declares a broken config schema"));
}

TEST(ManifestTest, SchemaErrorsInsideArraysAndRefs) {
  Status s = validate_bridge_config(
      bridge_with("{list: [1, x], deep: {a: {b: 1}}}"),
      R"({"properties": {"list": {"type": "array", "items": {"type": "integer"}},
                         "deep": {"$ref": "#/definitions/deep"}},
          "definitions": {"deep": {"properties": {"a": {"additionalProperties": false, "properties": {"c": {}}}}}}})");
  EXPECT_EQ(s.message(),
            "m.yaml: /bridges/0/config/deep/a/b: unknown property (allowed: c)\n"
            "m.yaml: /bridges/0/config/list/1: expected integer, got string");
}

// ---- the shipped example ---------------------------------------------------------------------

TEST(ManifestTest, ExampleEchoManifestIsValidForTheEchoSchema) {
  const std::string schema = R"({"type":"object","properties":{"target":{"type":"string","default":"echo"},
      "delay_ms":{"type":"integer","minimum":0},"chunk_size":{"type":"integer","minimum":1}},
      "additionalProperties":false})";
  auto r = load_manifest_file(std::string(OAIO_SOURCE_DIR) + "/manifests/echo.yaml", env_of({}));
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::map<std::string, std::string> plugin_of;
  for (const auto& b : *r) {
    plugin_of[b.name] = b.plugin;
    EXPECT_TRUE(validate_bridge_config(b, schema).ok()) << validate_bridge_config(b, schema).message();
  }
  EXPECT_EQ(plugin_of["echo"], "echo_c");
  EXPECT_EQ(plugin_of["echo-cpp"], "echo_cpp");
}

}  // namespace
}  // namespace oaio::host
