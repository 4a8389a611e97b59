// Poster: one worker thread that runs Matrix write tasks (send, edit, typing) in due
// order on its own MatrixClient, so host callback threads never block on HTTP and a
// 429 wait delays only this queue. A task may re-post itself with a later due time
// (edit throttling).
//
// TokenBox carries the access token, which the sync thread may only learn after a
// password login; each task runs with the token current at that moment.
// THREAD: post/wait_idle/stop from any thread; tasks run on the worker only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "matrix_client.h"

namespace oaio::matrix {

class TokenBox {
 public:
  explicit TokenBox(std::string token) : token_(std::move(token)) {}
  void set(std::string t) {
    std::lock_guard<std::mutex> l(mu_);
    token_ = std::move(t);
  }
  std::string get() const {
    std::lock_guard<std::mutex> l(mu_);
    return token_;
  }

 private:
  mutable std::mutex mu_;
  std::string token_;  // secret; guarded by mu_
};

class Poster {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void(MatrixClient&)>;

  Poster(std::string homeserver_url, std::shared_ptr<TokenBox> token, RetryPolicy retry);
  ~Poster();
  Poster(const Poster&) = delete;
  Poster& operator=(const Poster&) = delete;

  void start();
  // Queues `task` to run at `due` (tasks with equal due times run in posting order).
  void post(Task task, Clock::time_point due = Clock::now());
  // Waits until no task is queued or running; false at the deadline.
  bool wait_idle(std::chrono::milliseconds deadline);
  // Aborts the running task's HTTP request, joins the worker, then runs the queued
  // tasks against the aborted client (they fail fast and report it). Idempotent.
  void stop();

 private:
  void run();

  std::shared_ptr<TokenBox> token_;
  MatrixClient client_;  // used by the worker only (abort() from stop)
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, Task> queue_;  // guarded by mu_
  bool running_task_ = false;                      // guarded by mu_
  bool stopping_ = false;                          // guarded by mu_
  std::thread worker_;
};

}  // namespace oaio::matrix
