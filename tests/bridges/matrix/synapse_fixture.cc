#include "synapse_fixture.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_util.h"

namespace oaio::test {

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr char kSharedSecret[] = "oaio-test-registration-secret";

std::string hex(const unsigned char* p, size_t n) {
  static const char k[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(k[p[i] >> 4]);
    s.push_back(k[p[i] & 15]);
  }
  return s;
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  RAND_bytes(b.data(), static_cast<int>(bytes));
  return hex(b.data(), bytes);
}

// An ed25519 signing key in Synapse's file format: "ed25519 <version> <unpadded base64 seed>".
std::string signing_key_line() {
  unsigned char seed[32];
  RAND_bytes(seed, sizeof seed);
  unsigned char b64[64] = {0};
  int n = EVP_EncodeBlock(b64, seed, sizeof seed);
  std::string s(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  while (!s.empty() && s.back() == '=') s.pop_back();
  return "ed25519 a_oaio " + s + "\n";
}

std::string tail_of(const std::string& path, size_t bytes = 4000) {
  std::string s = read_file(path);
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

}  // namespace

Result<std::unique_ptr<Synapse>> Synapse::start() {
  std::unique_ptr<Synapse> s(new Synapse);
  s->python_ = std::string(OAIO_SOURCE_DIR) + "/.venv-matrix/bin/python";
  if (!fs::exists(s->python_))
    return Status(ErrorCode::kInvalidRequest,
                  "Synapse is not installed: " + s->python_ +
                      " is missing; run scripts/setup_python.sh (it installs tests/bridges/matrix/python/requirements.txt)");
  s->dir_ = (fs::temp_directory_path() / ("oaio-synapse-" + std::to_string(::getpid()) + "-" + random_hex(4))).string();
  fs::create_directories(s->dir_ + "/media_store");
  s->port_ = free_loopback_port();
  std::ofstream(s->dir_ + "/signing.key") << signing_key_line();
  std::ofstream(s->dir_ + "/log.config")
      << "version: 1\n"
         "formatters:\n  precise:\n    format: '%(asctime)s %(name)s %(levelname)s %(message)s'\n"
         "handlers:\n  file:\n    class: logging.FileHandler\n    filename: "
      << s->dir_ << "/homeserver.log\n    formatter: precise\n"
                    "root:\n  level: WARNING\n  handlers: [file]\n"
                    "disable_existing_loggers: false\n";
  const std::string fast = "{per_second: 10000, burst_count: 10000}";
  std::ofstream(s->dir_ + "/homeserver.yaml")
      << "server_name: \"" << s->server_name_ << "\"\n"
      << "pid_file: " << s->dir_ << "/homeserver.pid\n"
      << "public_baseurl: http://127.0.0.1:" << s->port_ << "/\n"
      << "listeners:\n  - port: " << s->port_
      << "\n    bind_addresses: ['127.0.0.1']\n    type: http\n    tls: false\n    x_forwarded: false\n"
         "    resources:\n      - names: [client]\n        compress: false\n"
      << "database:\n  name: sqlite3\n  args:\n    database: " << s->dir_ << "/homeserver.db\n"
      << "log_config: " << s->dir_ << "/log.config\n"
      << "media_store_path: " << s->dir_ << "/media_store\n"
      << "signing_key_path: " << s->dir_ << "/signing.key\n"
      << "registration_shared_secret: \"" << kSharedSecret << "\"\n"
      << "macaroon_secret_key: \"" << random_hex(16) << "\"\n"
      << "form_secret: \"" << random_hex(16) << "\"\n"
      << "report_stats: false\n"
      << "enable_metrics: false\n"
      << "trusted_key_servers: []\n"
      << "suppress_key_server_warning: true\n"
      << "federation_domain_whitelist: []\n"
      << "presence:\n  enabled: false\n"
      << "rc_message: " << fast << "\n"
      << "rc_registration: " << fast << "\n"
      << "rc_login:\n  address: " << fast << "\n  account: " << fast << "\n  failed_attempts: " << fast << "\n"
      << "rc_joins:\n  local: " << fast << "\n  remote: " << fast << "\n"
      << "rc_invites:\n  per_room: " << fast << "\n  per_user: " << fast << "\n  per_issuer: " << fast << "\n"
      << "rc_admin_redaction: " << fast << "\n"
      << "rc_joins_per_room: " << fast << "\n"
      << "rc_3pid_validation: " << fast << "\n";
  if (Status st = s->launch(); !st.ok()) return st;
  return s;
}

Status Synapse::launch() {
  SubprocessOptions o;
  o.argv = {python_, "-m", "synapse.app.homeserver", "-c", dir_ + "/homeserver.yaml"};
  o.cwd = dir_;
  o.stderr_mode = SubprocessOptions::Stderr::kCapture;
  auto p = Subprocess::start(o);
  if (!p.ok()) return p.status();
  proc_ = std::move(p).value();
  matrix::HttpClient http;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http.request("GET", url() + "/_matrix/client/versions", "", "", 2000);
    if (r.status == 200) return Status();
    if (!proc_->running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string why = proc_->running() ? "did not answer /versions within 120 s" : "exited";
  std::string err = proc_->captured_stderr();
  if (err.size() > 3000) err = err.substr(err.size() - 3000);
  proc_.reset();
  return Status(ErrorCode::kTransportFailure,
                "synapse " + why + "\nstderr: " + err + "\nlog: " + tail_of(dir_ + "/homeserver.log"));
}

Synapse::~Synapse() {
  proc_.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void Synapse::kill() {
  if (proc_) {
    proc_->kill(SIGKILL);
    proc_->wait(std::chrono::seconds(10));
    proc_.reset();
  }
}

Status Synapse::start_again() { return launch(); }

Status Synapse::restart() {
  kill();
  return launch();
}

Result<Synapse::Account> Synapse::register_user(const std::string& localpart, bool admin) {
  matrix::HttpClient http;
  auto n = http.request("GET", url() + "/_synapse/admin/v1/register", "", "", 10000);
  Json nj = Json::parse(n.body, nullptr, false);
  if (n.status != 200 || !nj.is_object() || !nj.contains("nonce"))
    return Status(ErrorCode::kTransportFailure, "register nonce: HTTP " + std::to_string(n.status) + " " + n.body);
  std::string nonce = nj["nonce"];
  std::string password = "pw-" + random_hex(8);
  std::string msg = nonce + '\0' + localpart + '\0' + password + '\0' + (admin ? "admin" : "notadmin");
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), kSharedSecret, static_cast<int>(sizeof kSharedSecret - 1),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &mac_len);
  Json req = {{"nonce", nonce}, {"username", localpart}, {"password", password}, {"admin", admin},
              {"mac", hex(mac, mac_len)}};
  auto r = http.request("POST", url() + "/_synapse/admin/v1/register", req.dump(), "", 30000);
  Json rj = Json::parse(r.body, nullptr, false);
  if (r.status != 200 || !rj.is_object() || !rj.contains("access_token"))
    return Status(ErrorCode::kTransportFailure, "register " + localpart + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return Account{rj["user_id"], rj["access_token"], password};
}

std::pair<long, Json> MatrixUser::call(const std::string& method, const std::string& path, const Json& body) {
  auto r = http_.request(method, url_ + path, body.is_null() ? std::string() : body.dump(), account_.access_token, 30000);
  Json j = Json::parse(r.body, nullptr, false);
  return {r.status, j.is_discarded() ? Json() : j};
}

Result<std::string> MatrixUser::create_room(const std::vector<std::string>& invite, bool is_direct) {
  Json req = {{"preset", "private_chat"}, {"invite", invite}, {"is_direct", is_direct}};
  auto [status, body] = call("POST", "/_matrix/client/v3/createRoom", req);
  if (status != 200) return Status(ErrorCode::kTransportFailure, "createRoom: " + std::to_string(status) + " " + body.dump());
  return body["room_id"].get<std::string>();
}

Status MatrixUser::invite(const std::string& room_id, const std::string& user_id) {
  auto [status, body] = call("POST", "/_matrix/client/v3/rooms/" + matrix::url_escape(room_id) + "/invite",
                             Json{{"user_id", user_id}});
  if (status != 200) return Status(ErrorCode::kTransportFailure, "invite: " + body.dump());
  return Status();
}

Status MatrixUser::join(const std::string& room_id) {
  auto [status, body] = call("POST", "/_matrix/client/v3/join/" + matrix::url_escape(room_id), Json::object());
  if (status != 200) return Status(ErrorCode::kTransportFailure, "join: " + body.dump());
  return Status();
}

Result<std::string> MatrixUser::send_text(const std::string& room_id, const std::string& text, const Json& extra) {
  Json content = {{"msgtype", "m.text"}, {"body", text}};
  if (extra.is_object())
    for (auto& [k, v] : extra.items()) content[k] = v;
  std::string txn = "t" + std::to_string(++txn_) + "-" + random_hex(4);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto [status, body] = call("PUT",
                               "/_matrix/client/v3/rooms/" + matrix::url_escape(room_id) + "/send/m.room.message/" + txn,
                               content);
    if (status == 200) return body["event_id"].get<std::string>();
    last = std::to_string(status) + " " + body.dump();
    if (status != 0 && status != 429 && status < 500) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status(ErrorCode::kTransportFailure, "send: " + last);
}

std::vector<Json> MatrixUser::messages(const std::string& room_id, int limit) {
  Json filter = {{"types", {"m.room.message"}}};
  auto [status, body] = call("GET", "/_matrix/client/v3/rooms/" + matrix::url_escape(room_id) +
                                        "/messages?dir=b&limit=" + std::to_string(limit) +
                                        "&filter=" + matrix::url_escape(filter.dump()));
  std::vector<Json> out;
  if (status != 200 || !body.contains("chunk")) return out;
  for (const auto& e : body["chunk"]) out.push_back(e);
  std::reverse(out.begin(), out.end());
  return out;
}

bool is_edit(const Json& msg) {
  const Json& c = msg.value("content", Json::object());
  return c.contains("m.relates_to") && c["m.relates_to"].value("rel_type", "") == "m.replace";
}

std::string reply_to(const Json& msg) {
  const Json& c = msg.value("content", Json::object());
  if (!c.contains("m.relates_to")) return {};
  const Json& r = c["m.relates_to"];
  if (r.contains("m.in_reply_to")) return r["m.in_reply_to"].value("event_id", "");
  return {};
}

std::string latest_text(const std::vector<Json>& all, const Json& msg) {
  std::string text = msg.value("content", Json::object()).value("body", "");
  std::string id = msg.value("event_id", "");
  for (const auto& e : all) {
    if (!is_edit(e)) continue;
    const Json& c = e["content"];
    if (c["m.relates_to"].value("event_id", "") != id) continue;
    if (c.contains("m.new_content")) text = c["m.new_content"].value("body", text);
  }
  return text;
}

}  // namespace oaio::test
