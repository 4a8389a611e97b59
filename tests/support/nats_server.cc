#include "support/nats_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/test_util.h"

namespace oaio::test {
namespace {

// Debian installs the server as /usr/sbin/nats-server; OAIO_NATS_SERVER overrides.
std::string server_binary() {
  if (const char* env = std::getenv("OAIO_NATS_SERVER"); env != nullptr && *env != '\0') return env;
  for (const char* path : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "/usr/sbin/nats-server";
}
constexpr auto kReadyTimeout = std::chrono::seconds(10);

// A double-quoted nats-server config string.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// True once `pid` has exited (reaped); false while it runs.
bool reap_nonblocking(pid_t pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

void reap_blocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

NatsServer::NatsServer(NatsServerOptions options) : options_(std::move(options)) {
  std::string tmpl = (std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp");
  tmpl += "/oaio-nats-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) tmpl.clear();  // start() reports it
  dir_ = tmpl;
  config_path_ = dir_ + "/server.conf";
  log_path_ = dir_ + "/server.log";
}

NatsServer::~NatsServer() {
  stop();
  if (dir_.empty()) return;
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "nats-server log kept in %s\n", log_path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string NatsServer::url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

std::string NatsServer::log() const { return read_file(log_path_); }

void NatsServer::write_config() const {
  std::ofstream out(config_path_, std::ios::trunc);
  // Host and port come from the command line (-a 127.0.0.1 -p <port>).
  if (options_.max_payload > 0) out << "max_payload: " << options_.max_payload << "\n";
  if (!options_.token.empty()) {
    out << "authorization { token: " << quoted(options_.token) << " }\n";
  } else if (!options_.nkeys.empty()) {
    out << "authorization { users = [\n";
    if (!options_.user.empty()) {
      out << "  { user: " << quoted(options_.user) << ", password: " << quoted(options_.password) << " }\n";
    }
    for (const auto& key : options_.nkeys) out << "  { nkey: " << quoted(key) << " }\n";
    out << "] }\n";
  } else if (!options_.user.empty()) {
    out << "authorization { user: " << quoted(options_.user) << ", password: " << quoted(options_.password)
        << " }\n";
  }
  if (!options_.tls_cert_file.empty()) {
    out << "tls {\n  cert_file: " << quoted(options_.tls_cert_file) << "\n  key_file: "
        << quoted(options_.tls_key_file) << "\n";
    if (!options_.tls_ca_file.empty()) out << "  ca_file: " << quoted(options_.tls_ca_file) << "\n";
    if (options_.tls_verify) out << "  verify: true\n";
    out << "}\n";
  }
}

::testing::AssertionResult NatsServer::start() {
  if (dir_.empty()) return ::testing::AssertionFailure() << "cannot create a temp directory";
  stop();
  if (options_.port != 0) {
    port_ = options_.port;
    return launch();
  }
  // free_loopback_port() can race with another process grabbing the port: retry.
  ::testing::AssertionResult result = ::testing::AssertionFailure();
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_loopback_port();
    result = launch();
    if (result || log().find("address already in use") == std::string::npos) return result;
  }
  return result;
}

::testing::AssertionResult NatsServer::restart() {
  if (port_ == 0) return start();
  stop();
  // The old listener may linger for a moment after a kill: retry a few times.
  ::testing::AssertionResult result = ::testing::AssertionFailure();
  for (int attempt = 0; attempt < 20; ++attempt) {
    result = launch();
    if (result || log().find("address already in use") == std::string::npos) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // back-off, not a wait for an outcome
  }
  return result;
}

::testing::AssertionResult NatsServer::launch() {
  write_config();
  const std::size_t log_start = log().size();

  // Everything the child needs is prepared before fork(): after it only
  // async-signal-safe calls are allowed (other test threads may hold locks).
  const std::string port = std::to_string(port_);
  const std::string binary = server_binary();
  std::vector<std::string> args = {binary, "-c", config_path_, "-a", "127.0.0.1", "-p", port};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return ::testing::AssertionFailure() << "cannot open " << log_path_ << ": " << std::strerror(errno);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);                     // own group: stop() signals the whole group
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // die with the test binary, even on a crash
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // Do not inherit the test's sockets (a NATS client socket held open by the server
    // process would hide a client's close from the server).
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    constexpr char kMsg[] = "exec nats-server failed\n";
    (void)!::write(2, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return ::testing::AssertionFailure() << "fork failed: " << std::strerror(errno);
  ::setpgid(pid, pid);  // also from the parent, so kill(-pid) works at once
  pid_ = pid;

  bool exited = false;
  const bool ready = wait_until(
      [&] {
        if (reap_nonblocking(pid_)) {
          exited = true;
          return true;
        }
        return log().find("Server is ready", log_start) != std::string::npos;
      },
      kReadyTimeout);
  if (exited) {
    pid_ = -1;
    return ::testing::AssertionFailure() << "nats-server exited at start on port " << port_ << "; log:\n"
                                         << log().substr(log_start);
  }
  if (!ready) {
    kill();
    return ::testing::AssertionFailure() << "nats-server not ready after " << kReadyTimeout.count()
                                         << " s on port " << port_ << "; log:\n" << log().substr(log_start);
  }
  return ::testing::AssertionSuccess();
}

void NatsServer::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  if (!wait_until([&] { return reap_nonblocking(pid_); }, grace)) {
    ::kill(-pid_, SIGKILL);
    reap_blocking(pid_);
  }
  pid_ = -1;
}

void NatsServer::kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  reap_blocking(pid_);
  pid_ = -1;
}

}  // namespace oaio::test
