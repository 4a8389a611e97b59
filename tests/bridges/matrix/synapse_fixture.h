// A real Synapse homeserver for the Matrix bridge tests: installed from PyPI into
// .venv-matrix (scripts/setup_python.sh), configured in a throwaway directory (SQLite,
// one client listener on a free 127.0.0.1 port, registration by shared secret, no
// federation, relaxed rate limits), and always stopped (test::Subprocess kills it on
// destruction). A missing venv fails the test with a message saying how to install it.
//
// MatrixUser is a minimal client-server API client for the "human" side of the tests
// (register, create rooms, invite, join, send, read messages), on the bridge's own
// HttpClient (libcurl).
//
// THREAD: Synapse: one test thread. MatrixUser: one thread per object.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "http_client.h"
#include "oaio/result.h"
#include "support/subprocess.h"

namespace oaio::test {

class Synapse {
 public:
  // Starts a homeserver (or fails naming why). Takes ~10-30 s.
  static Result<std::unique_ptr<Synapse>> start();
  ~Synapse();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& server_name() const { return server_name_; }
  // Kills the server (SIGKILL) and starts it again on the same port and database.
  Status restart();
  void kill();        // kill only (the server is down until start_again())
  Status start_again();

  struct Account {
    std::string user_id;
    std::string access_token;
    std::string password;
  };
  // Registers a user through the shared-secret admin API.
  Result<Account> register_user(const std::string& localpart, bool admin = false);

 private:
  Synapse() = default;
  Status launch();
  std::string dir_;
  int port_ = 0;
  std::string server_name_ = "localhost";
  std::string python_;
  std::unique_ptr<Subprocess> proc_;
};

// A plain Matrix client for the test's human side.
class MatrixUser {
 public:
  MatrixUser(std::string homeserver_url, Synapse::Account account)
      : url_(std::move(homeserver_url)), account_(std::move(account)) {}
  const std::string& user_id() const { return account_.user_id; }
  const std::string& token() const { return account_.access_token; }

  // {status, body}; status 0 = transport error.
  std::pair<long, nlohmann::json> call(const std::string& method, const std::string& path,
                                       const nlohmann::json& body = nlohmann::json());
  Result<std::string> create_room(const std::vector<std::string>& invite = {}, bool is_direct = false);
  Status invite(const std::string& room_id, const std::string& user_id);
  Status join(const std::string& room_id);
  // Sends m.text `text` (retrying on 429 / connection errors for up to 60 s).
  Result<std::string> send_text(const std::string& room_id, const std::string& text,
                                const nlohmann::json& extra_content = nlohmann::json());
  // The room's m.room.message events, oldest first (up to `limit`).
  std::vector<nlohmann::json> messages(const std::string& room_id, int limit = 500);

 private:
  std::string url_;
  Synapse::Account account_;
  matrix::HttpClient http_;
  int txn_ = 0;
};

// Helpers over message lists.
// The displayed text of a message, following m.replace edits to their latest content.
std::string latest_text(const std::vector<nlohmann::json>& all, const nlohmann::json& msg);
// The event id a message replies to (m.in_reply_to), or "".
std::string reply_to(const nlohmann::json& msg);
bool is_edit(const nlohmann::json& msg);

}  // namespace oaio::test
