// PluginLoader: see plugin_loader.h. The checks run in a fixed order, cheapest and
// safest first: nothing in a file is executed before its mode and pin are checked.
#include "plugin_loader.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/dll/shared_library.hpp>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace oaio::host {
namespace {

namespace fs = std::filesystem;

// The 1.0 table ends with `cancel`, which may be NULL; a table that stops right after
// `call` (the last required hook) is still a complete 1.0 table, its `cancel` reads as
// NULL ("not provided").
constexpr std::size_t kMinPluginApiSize = offsetof(oaio_plugin_api, call) + sizeof(oaio_plugin_api::call);

// Every library dlopen()ed stays mapped for the life of the process (plugin.h: never
// unload), and its entry is called once per process. Records are keyed by the file's
// (device, inode), as the dynamic linker itself identifies a loaded object; since
// nothing is unmapped, an inode cannot be reused while its record exists.
struct LibraryRecord {
  std::shared_ptr<void> library;           // a boost::dll::shared_library, never released
  const oaio_plugin_api* table = nullptr;  // what the entry returned
  std::string failure;                     // why there is no table
};

struct LibraryCache {
  std::mutex mu;
  std::map<std::pair<dev_t, ino_t>, LibraryRecord> records;  // guarded by mu
};

LibraryCache& library_cache() {
  static auto* cache = new LibraryCache;  // never destroyed: unloading at exit is what we avoid
  return *cache;
}

std::shared_ptr<void> keep_forever(boost::dll::shared_library* lib) {
  // A no-op deleter: the shared_library (and so the mapping) outlives every owner.
  return std::shared_ptr<void>(lib, [](void*) {});
}

// Hex sha256 of everything readable from `fd`; empty on a read error.
std::string sha256_fd(int fd) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return {};
  std::array<unsigned char, 64 * 1024> chunk;
  for (;;) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {};
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), chunk.data(), static_cast<std::size_t>(n)) != 1) return {};
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) return {};
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool same_digest(std::string a, std::string b) {
  auto lower = [](std::string& s) { std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); }); };
  lower(a);
  lower(b);
  return a == b;
}

// The dynamic linker's reason, without the "<path>: " it usually starts with.
std::string dl_reason(const std::string& path, const std::string& fallback) {
  const char* err = ::dlerror();
  std::string reason = err ? err : fallback;
  if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);
  return reason;
}

// dlopen + entry, once per library per process. Returns the cached record.
LibraryRecord open_library(const std::string& path, const struct stat& st, const oaio_host_api* host_api) {
  auto& cache = library_cache();
  std::lock_guard lock(cache.mu);
  auto key = std::make_pair(st.st_dev, st.st_ino);
  if (auto it = cache.records.find(key); it != cache.records.end()) return it->second;

  LibraryRecord rec;
  auto lib = std::make_unique<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  ::dlerror();  // clear a stale message
  try {
    lib->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  } catch (const std::exception& e) {
    rec.failure = fmt::format("not a shared library: {}", e.what());
    return rec;  // nothing mapped: not cached
  }
  if (ec || !lib->is_loaded()) {
    rec.failure = fmt::format("not a shared library: {}", dl_reason(path, ec.message()));
    return rec;
  }
  // The file we hashed must be the file that was mapped.
  struct stat now {};
  if (::stat(path.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
    (void)keep_forever(lib.release());
    rec.failure = "the file was replaced while it was being loaded";
    return rec;
  }
  rec.library = keep_forever(lib.release());
  auto* shared = static_cast<boost::dll::shared_library*>(rec.library.get());

  if (!shared->has(OAIO_PLUGIN_ENTRY_SYMBOL)) {
    rec.failure = fmt::format("missing symbol {} (not an oaio plugin, or built for another ABI major)",
                              OAIO_PLUGIN_ENTRY_SYMBOL);
  } else {
    // get<FunctionType> returns a reference to the function at the symbol's address.
    oaio_plugin_entry_fn entry = &shared->get<std::remove_pointer_t<oaio_plugin_entry_fn>>(OAIO_PLUGIN_ENTRY_SYMBOL);
    try {
      rec.table = entry(host_api, OAIO_PLUGIN_ABI_MINOR);
      if (rec.table == nullptr) rec.failure = "entry returned NULL (the plugin should have logged why)";
    } catch (const std::exception& e) {
      rec.failure = fmt::format("entry threw an exception: {}", e.what());
    } catch (...) {
      rec.failure = "entry threw an exception";
    }
  }
  cache.records.emplace(key, rec);
  return rec;
}

// ABI checks on the table the entry returned; fills `out` (zero-extended copy).
std::string check_table(const oaio_plugin_api* table, oaio_plugin_api& out) {
  if (table->struct_size < kMinPluginApiSize)
    return fmt::format("incompatible: plugin table is {} bytes, an ABI 1.0 table needs at least {}",
                       table->struct_size, kMinPluginApiSize);
  if (table->abi_major != OAIO_PLUGIN_ABI_MAJOR)
    return fmt::format("incompatible: built for ABI major {}, host has ABI {}.{}", table->abi_major,
                       OAIO_PLUGIN_ABI_MAJOR, OAIO_PLUGIN_ABI_MINOR);
  if (table->abi_minor > OAIO_PLUGIN_ABI_MINOR)
    return fmt::format("incompatible: needs ABI {}.{}, host has {}.{}", OAIO_PLUGIN_ABI_MAJOR, table->abi_minor,
                       OAIO_PLUGIN_ABI_MAJOR, OAIO_PLUGIN_ABI_MINOR);
  out = oaio_plugin_api{};
  std::memcpy(&out, table, std::min<std::size_t>(table->struct_size, sizeof out));

  const std::pair<const char*, const oaio_str*> strings[] = {
      {"name", &out.name},           {"version", &out.version},
      {"description", &out.description}, {"config_schema", &out.config_schema},
      {"manifest_types", &out.manifest_types}};
  for (const auto& [field, s] : strings)
    if (s->len > 0 && s->data == nullptr) return fmt::format("incompatible: table field {} has no data", field);
  const std::pair<const char*, bool> hooks[] = {{"create", out.create != nullptr}, {"start", out.start != nullptr},
                                                {"stop", out.stop != nullptr},     {"destroy", out.destroy != nullptr},
                                                {"call", out.call != nullptr}};
  for (const auto& [hook, present] : hooks)
    if (!present) return fmt::format("incompatible: required hook {} is NULL", hook);
  if (out.name.len == 0) return "the plugin declares an empty name";
  return {};
}

std::optional<std::string> pin_for(const std::map<std::string, std::string>& pins, const std::string& key) {
  auto it = pins.find(key);
  if (it == pins.end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::string file_sha256(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return {};
  return sha256_fd(f.fd);
}

PluginLoader::PluginLoader(const oaio_host_api* host_api) : host_api_(host_api) {}

Result<std::shared_ptr<LoadedPlugin>> PluginLoader::load(const std::string& file,
                                                         const std::optional<std::string>& sha256_pin) {
  std::error_code ec;
  fs::path abs = fs::absolute(file, ec);
  const std::string path = ec ? file : abs.lexically_normal().string();
  auto refuse = [&path](const std::string& reason) { return Status::invalid(fmt::format("{}: {}", path, reason)); };

  // 1. A regular file nobody else may rewrite.
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd < 0) return refuse(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return refuse(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
  if ((st.st_mode & 022) != 0)
    return refuse(fmt::format("refusing a group- or world-writable file (mode {:04o})", st.st_mode & 07777));

  // 2. The pin, on the bytes we are about to map.
  std::string digest = sha256_fd(f.fd);
  if (digest.empty()) return refuse(fmt::format("cannot read: {}", std::strerror(errno)));
  if (sha256_pin && !same_digest(*sha256_pin, digest))
    return refuse(fmt::format("sha256 mismatch: pinned {}, file has {}", *sha256_pin, digest));

  // 3-5. dlopen, the entry symbol, the entry call (once per process).
  LibraryRecord rec = open_library(path, st, host_api_);
  if (rec.table == nullptr) return refuse(rec.failure);

  // 6-7. ABI version and the table's contents.
  auto plugin = std::make_shared<LoadedPlugin>();
  if (std::string why = check_table(rec.table, plugin->api); !why.empty()) return refuse(why);
  std::string name = plugin->name();
  if (auto other = find(name))
    return refuse(fmt::format("duplicate plugin name '{}' (already loaded from {})", name, other->path));

  plugin->path = path;
  plugin->sha256 = std::move(digest);
  plugin->raw = rec.table;
  plugin->library = rec.library;
  plugins_.push_back(plugin);
  return plugin;
}

LoadReport PluginLoader::load_directory(const std::string& dir, const std::map<std::string, std::string>& pins) {
  LoadReport report;
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".so") files.push_back(it->path());
  if (ec) {
    report.refused.push_back(fmt::format("{}: cannot read the plugins directory: {}", dir, ec.message()));
    return report;
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    const std::string file_name = file.filename().string();
    std::optional<std::string> pin = pin_for(pins, file_name);
    if (!pin) pin = pin_for(pins, file.stem().string());
    auto loaded = load(file.string(), pin);
    if (!loaded.ok()) {
      report.refused.push_back(loaded.status().message());
      continue;
    }
    std::shared_ptr<LoadedPlugin> plugin = loaded.value();
    // A pin keyed by the declared plugin name can only be checked once the entry ran;
    // the plugin is then dropped (its library stays mapped, unused).
    if (auto by_name = pin_for(pins, plugin->name()); !pin && by_name && !same_digest(*by_name, plugin->sha256)) {
      plugins_.erase(std::remove(plugins_.begin(), plugins_.end(), plugin), plugins_.end());
      report.refused.push_back(fmt::format("{}: sha256 mismatch for plugin '{}': pinned {}, file has {}", plugin->path,
                                           plugin->name(), *by_name, plugin->sha256));
      continue;
    }
    report.loaded.push_back(std::move(plugin));
  }
  return report;
}

std::shared_ptr<LoadedPlugin> PluginLoader::find(const std::string& name) const {
  for (const auto& p : plugins_)
    if (p->name() == name) return p;
  return nullptr;
}

std::shared_ptr<LoadedPlugin> PluginLoader::find_by_manifest_type(const std::string& type) const {
  if (auto p = find(type)) return p;
  for (const auto& p : plugins_) {
    std::string_view types(p->api.manifest_types.data, p->api.manifest_types.len);
    while (!types.empty()) {
      std::size_t comma = types.find(',');
      std::string_view one = types.substr(0, comma);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
      if (!one.empty() && one == type) return p;
      if (comma == std::string_view::npos) break;
      types.remove_prefix(comma + 1);
    }
  }
  return nullptr;
}

}  // namespace oaio::host
