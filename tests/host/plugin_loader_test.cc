// PluginLoader against the tiny plugins of tests/plugins: every refusal is one line
// naming the file and the reason, and never stops the other plugins of a directory.
#include "plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host/fake_host.h"

namespace oaio::host {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using test::fake_host_api;
using test::fake_log;
using test::test_plugin_path;

// A fresh directory per test; plugins are copied in with an explicit mode, so the
// results never depend on the umask the build ran with.
class PluginLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "oaio-loader-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Copies test plugin `name` into the directory as `file` (default <name>.so).
  std::string copy(const std::string& name, std::string file = "", fs::perms mode = fs::perms(0755)) {
    if (file.empty()) file = name + ".so";
    fs::path to = fs::path(dir_) / file;
    fs::copy_file(test_plugin_path(name), to, fs::copy_options::overwrite_existing);
    fs::permissions(to, mode);
    return to.string();
  }

  std::string dir_;
  PluginLoader loader_{fake_host_api()};
};

// The status and message of a refused load.
std::string refusal(const Result<std::shared_ptr<LoadedPlugin>>& r) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
  return r.status().message();
}

TEST_F(PluginLoaderTest, LoadsAValidPlugin) {
  std::string path = copy("noop");
  auto r = loader_.load(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const LoadedPlugin& p = **r;
  EXPECT_EQ(p.name(), "noop");
  EXPECT_EQ(p.version(), "0.0.1");
  EXPECT_EQ(p.config_schema(), R"({"type":"object"})");
  EXPECT_EQ(p.path, path);
  EXPECT_EQ(p.sha256, file_sha256(path));
  EXPECT_EQ(p.sha256.size(), 64u);
  EXPECT_EQ(p.api.abi_major, 1u);
  EXPECT_EQ(p.api.struct_size, sizeof(oaio_plugin_api));
  EXPECT_NE(p.raw, nullptr);
  EXPECT_NE(p.library, nullptr);
  EXPECT_NE(p.api.cancel, nullptr);
  EXPECT_EQ(loader_.find("noop"), *r);
  EXPECT_EQ(loader_.plugins().size(), 1u);
}

TEST_F(PluginLoaderTest, FindsPluginsBySeedManifestType) {
  ASSERT_TRUE(loader_.load(copy("noop")).ok());
  ASSERT_NE(loader_.find_by_manifest_type("noop_seed"), nullptr);
  ASSERT_NE(loader_.find_by_manifest_type("noop_alt"), nullptr);  // after ", "
  EXPECT_EQ(loader_.find_by_manifest_type("noop_seed")->name(), "noop");
  EXPECT_EQ(loader_.find_by_manifest_type("noop_"), nullptr);
  EXPECT_EQ(loader_.find_by_manifest_type("mcp_tool"), nullptr);
  EXPECT_EQ(loader_.find("absent"), nullptr);
}

TEST_F(PluginLoaderTest, CallsTheEntryOncePerLibraryPerProcess) {
  std::string path = copy("noop");  // a new file: never loaded before
  std::size_t before = fake_log().count("noop: entry called");
  ASSERT_TRUE(loader_.load(path).ok());
  EXPECT_EQ(fake_log().count("noop: entry called"), before + 1);
  PluginLoader other(fake_host_api());
  ASSERT_TRUE(other.load(path).ok());  // same library, same table, no second entry call
  EXPECT_EQ(fake_log().count("noop: entry called"), before + 1);
  EXPECT_EQ(other.find("noop")->raw, loader_.find("noop")->raw);
}

TEST_F(PluginLoaderTest, RefusesAPluginWithoutTheEntrySymbol) {
  std::string path = copy("missing_entry");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("missing symbol oaio_plugin_entry_v1")));
}

TEST_F(PluginLoaderTest, RefusesAnotherAbiMajor) {
  std::string path = copy("abi_major_2");
  EXPECT_THAT(refusal(loader_.load(path)),
              AllOf(HasSubstr(path), HasSubstr("incompatible: built for ABI major 2, host has ABI 1.")));
}

TEST_F(PluginLoaderTest, RefusesAPluginNeedingANewerMinor) {
  std::string path = copy("needs_newer_minor");
  std::string want = "incompatible: needs ABI 1." + std::to_string(OAIO_PLUGIN_ABI_MINOR + 1) + ", host has 1." +
                     std::to_string(OAIO_PLUGIN_ABI_MINOR);
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr(want)));
}

TEST_F(PluginLoaderTest, RefusesAnEntryReturningNullAndKeepsThePluginsReason) {
  std::string path = copy("null_entry");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("entry returned NULL")));
  EXPECT_GE(fake_log().count("null_entry: this host lacks a feature I cannot do without"), 1u);
}

TEST_F(PluginLoaderTest, RefusesAnEntryThatThrows) {
  std::string path = copy("throws_in_entry");
  EXPECT_THAT(refusal(loader_.load(path)),
              AllOf(HasSubstr(path), HasSubstr("entry threw an exception"), HasSubstr("throws_in_entry: boom")));
  // A second attempt reports the same without calling the entry again.
  EXPECT_THAT(refusal(loader_.load(path)), HasSubstr("entry threw an exception"));
}

TEST_F(PluginLoaderTest, RefusesADuplicateName) {
  ASSERT_TRUE(loader_.load(copy("noop")).ok());
  std::string path = copy("duplicate_name");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("duplicate plugin name 'noop'"),
                                                 HasSubstr("already loaded from " + dir_ + "/noop.so")));
  EXPECT_EQ(loader_.plugins().size(), 1u);
  EXPECT_EQ(loader_.find("noop")->version(), "0.0.1");
}

TEST_F(PluginLoaderTest, RefusesATableTooSmallForAbi10) {
  std::string path = copy("short_table");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("incompatible: plugin table is 16 bytes"),
                                                 HasSubstr("needs at least")));
}

TEST_F(PluginLoaderTest, RefusesAnEmptyName) {
  std::string path = copy("empty_name");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("empty name")));
}

TEST_F(PluginLoaderTest, RefusesATableWithoutARequiredHook) {
  std::string path = copy("null_hook");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("required hook call is NULL")));
}

TEST_F(PluginLoaderTest, RefusesAFileThatIsNotASharedLibrary) {
  std::string path = copy("not_a_library");
  EXPECT_THAT(refusal(loader_.load(path)), AllOf(HasSubstr(path), HasSubstr("not a shared library: ")));
}

TEST_F(PluginLoaderTest, RefusesGroupOrWorldWritableFiles) {
  std::string world = copy("noop", "world.so", fs::perms(0757));  // chmod o+w
  EXPECT_THAT(refusal(loader_.load(world)),
              AllOf(HasSubstr(world), HasSubstr("group- or world-writable"), HasSubstr("mode 0757")));
  std::string group = copy("noop", "group.so", fs::perms(0775));
  EXPECT_THAT(refusal(loader_.load(group)), AllOf(HasSubstr(group), HasSubstr("mode 0775")));
  EXPECT_TRUE(loader_.plugins().empty());
  // The build's own file is 0755: loadable as built.
  struct stat st {};
  ASSERT_EQ(::stat(test_plugin_path("noop").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 022, 0u) << "build output is group/world-writable: check the umask";
}

TEST_F(PluginLoaderTest, RefusesWhatIsNotARegularFile) {
  fs::create_directory(fs::path(dir_) / "dir.so");
  EXPECT_THAT(refusal(loader_.load(dir_ + "/dir.so")), AllOf(HasSubstr(dir_ + "/dir.so"), HasSubstr("not a regular file")));
  EXPECT_THAT(refusal(loader_.load(dir_ + "/absent.so")), AllOf(HasSubstr("absent.so"), HasSubstr("cannot open")));
}

TEST_F(PluginLoaderTest, ChecksTheSha256Pin) {
  std::string path = copy("noop");
  std::string digest = file_sha256(path);
  ASSERT_EQ(digest.size(), 64u);
  std::string wrong(64, '0');
  EXPECT_THAT(refusal(loader_.load(path, wrong)),
              AllOf(HasSubstr(path), HasSubstr("sha256 mismatch: pinned " + wrong + ", file has " + digest)));
  std::string upper = digest;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_TRUE(loader_.load(path, upper).ok());
}

TEST_F(PluginLoaderTest, ZeroFillsAShorterTableAndItWorks) {
  auto r = loader_.load(copy("older_minor"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const LoadedPlugin& p = **r;
  EXPECT_EQ(p.raw->struct_size, offsetof(oaio_plugin_api, cancel));
  EXPECT_NE(p.raw->cancel, nullptr);  // poison past its struct_size...
  EXPECT_EQ(p.api.cancel, nullptr);   // ...never copied: reads as "not provided"
  EXPECT_EQ(p.name(), "older_minor");

  test::FakeHost host;
  void* instance = nullptr;
  oaio_error err{};
  err.struct_size = sizeof err;
  ASSERT_EQ(p.api.create(host.handle(), test::os("{}"), &instance, &err), OAIO_OK);
  ASSERT_EQ(p.api.start(instance, &err), OAIO_OK);
  test::FakeCall call("older_minor", "{}", false);
  ASSERT_EQ(p.api.call(instance, call.handle(), &err), OAIO_OK);
  ASSERT_TRUE(call.wait_ended());
  EXPECT_EQ(call.last(), R"(complete {"plugin":"older_minor"})");
  p.api.stop(instance);
  p.api.destroy(instance);
}

TEST_F(PluginLoaderTest, LoadDirectoryRefusesEachBadFileAndLoadsTheRest) {
  for (const char* name : {"abi_major_2", "missing_entry", "needs_newer_minor", "noop", "not_a_library", "null_entry",
                           "older_minor", "throws_in_entry", "short_table", "empty_name", "null_hook"})
    copy(name);
  copy("noop", "world_writable.so", fs::perms(0757));
  copy("duplicate_name", "zz_duplicate_name.so");  // sorted after noop.so, so noop.so wins
  fs::create_directory(fs::path(dir_) / "subdir.so");
  std::ofstream(dir_ + "/README.txt") << "not a plugin, not *.so: ignored\n";

  LoadReport report = loader_.load_directory(dir_);
  std::vector<std::string> loaded;
  for (const auto& p : report.loaded) loaded.push_back(p->name());
  EXPECT_THAT(loaded, ElementsAre("noop", "older_minor"));  // in file-name order
  EXPECT_EQ(loader_.plugins().size(), 2u);

  auto reason_for = [&](const std::string& file) {
    std::string path = dir_ + "/" + file;
    std::vector<std::string> lines;
    for (const auto& r : report.refused)
      if (r.rfind(path + ": ", 0) == 0) lines.push_back(r.substr(path.size() + 2));
    EXPECT_EQ(lines.size(), 1u) << file;
    return lines.empty() ? std::string() : lines.front();
  };
  EXPECT_EQ(report.refused.size(), 12u);
  EXPECT_THAT(reason_for("abi_major_2.so"), HasSubstr("ABI major 2"));
  EXPECT_THAT(reason_for("missing_entry.so"), HasSubstr("missing symbol oaio_plugin_entry_v1"));
  EXPECT_THAT(reason_for("needs_newer_minor.so"), HasSubstr("needs ABI 1."));
  EXPECT_THAT(reason_for("not_a_library.so"), HasSubstr("not a shared library"));
  EXPECT_THAT(reason_for("null_entry.so"), HasSubstr("entry returned NULL"));
  EXPECT_THAT(reason_for("throws_in_entry.so"), HasSubstr("entry threw an exception"));
  EXPECT_THAT(reason_for("short_table.so"), HasSubstr("plugin table is 16 bytes"));
  EXPECT_THAT(reason_for("empty_name.so"), HasSubstr("empty name"));
  EXPECT_THAT(reason_for("null_hook.so"), HasSubstr("required hook call is NULL"));
  EXPECT_THAT(reason_for("world_writable.so"), HasSubstr("group- or world-writable"));
  EXPECT_THAT(reason_for("zz_duplicate_name.so"), HasSubstr("duplicate plugin name 'noop'"));
  EXPECT_THAT(reason_for("subdir.so"), HasSubstr("not a regular file"));
}

TEST_F(PluginLoaderTest, LoadDirectoryAppliesPinsByFileOrPluginName) {
  std::string noop = copy("noop");
  std::string older = copy("older_minor");
  std::string wrong(64, 'a');
  // By file name: checked before anything in the file runs.
  LoadReport by_file = loader_.load_directory(dir_, {{"noop.so", wrong}, {"older_minor", file_sha256(older)}});
  ASSERT_EQ(by_file.refused.size(), 1u);
  EXPECT_THAT(by_file.refused[0], AllOf(HasSubstr(noop), HasSubstr("sha256 mismatch")));
  ASSERT_EQ(by_file.loaded.size(), 1u);
  EXPECT_EQ(by_file.loaded[0]->name(), "older_minor");

  // By declared plugin name: checked after the entry; the plugin is dropped.
  fs::remove(older);
  PluginLoader other(fake_host_api());
  fs::rename(noop, dir_ + "/renamed.so");
  LoadReport by_name = other.load_directory(dir_, {{"noop", wrong}});
  ASSERT_EQ(by_name.refused.size(), 1u);
  EXPECT_THAT(by_name.refused[0], AllOf(HasSubstr("renamed.so"), HasSubstr("sha256 mismatch for plugin 'noop'")));
  EXPECT_TRUE(by_name.loaded.empty());
  EXPECT_EQ(other.find("noop"), nullptr);
}

TEST_F(PluginLoaderTest, LoadDirectoryReportsAMissingDirectory) {
  LoadReport report = loader_.load_directory(dir_ + "/nope");
  EXPECT_TRUE(report.loaded.empty());
  ASSERT_EQ(report.refused.size(), 1u);
  EXPECT_THAT(report.refused[0], AllOf(HasSubstr(dir_ + "/nope"), HasSubstr("cannot read the plugins directory")));
}

TEST(FileSha256Test, HashesTheBytesOrReturnsEmpty) {
  std::string tmpl = (fs::temp_directory_path() / "oaio-sha-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  std::ofstream(tmpl + "/abc") << "abc";
  EXPECT_EQ(file_sha256(tmpl + "/abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(file_sha256(tmpl + "/absent"), "");
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace oaio::host
