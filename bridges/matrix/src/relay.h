// Relay: sends an accepted room message to the agent its room is mapped to (Invoke,
// or StreamInvoke shown as one message edited in place) and posts the answer back as
// a reply (or in the thread) of the question, with a typing notice meanwhile. Agent
// errors become one short message in the room.
//
// THREAD: start() on the sync thread; frame callbacks on host threads (never block:
// they hand work to the Poster); Matrix writes on the Poster's worker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.h"
#include "oaio/plugin.hpp"
#include "poster.h"
#include "sync_parser.h"

namespace oaio::matrix {

class Relay {
 public:
  // `posters`: the workers answers are posted on; each relay sticks to one (chosen by
  // its question's event id), so its edits stay in order while relays run in parallel.
  Relay(oaio::plugin::Host& host, const Config& config, std::vector<Poster*> posters);

  // The bot's user id (for typing notices); set before the first start().
  void set_bot_user_id(const std::string& id) { bot_user_id_ = id; }

  // Starts relaying `msg` to `route.target` with `payload` (the event payload JSON)
  // and `opts` (session, conversation, metadata). Never blocks on the network.
  void start(const RoomMessage& msg, const RoomRoute& route, const std::string& payload,
             const oaio::plugin::CallOptions& opts);

  // Waits until every relay started has posted its answer; false at the deadline.
  bool wait_idle(std::chrono::milliseconds deadline);
  std::size_t in_flight() const { return in_flight_.load(); }

 private:
  struct Job;
  void on_frame(const std::shared_ptr<Job>& job, const oaio::plugin::Frame* frame,
                const oaio::plugin::Status* error);
  void schedule_update(const std::shared_ptr<Job>& job, Poster::Clock::time_point due);
  void update(const std::shared_ptr<Job>& job, MatrixClient& client);
  nlohmann::json reply_content(const Job& job, const std::string& text) const;
  void finish(const std::shared_ptr<Job>& job, MatrixClient& client);

  oaio::plugin::Host& host_;
  const Config& config_;
  Poster& poster_for(const Job& job) const;
  std::vector<Poster*> posters_;
  std::string bot_user_id_;
  std::atomic<std::size_t> in_flight_{0};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
};

}  // namespace oaio::matrix
