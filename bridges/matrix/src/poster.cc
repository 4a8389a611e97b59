#include "poster.h"

namespace oaio::matrix {

Poster::Poster(std::string homeserver_url, std::shared_ptr<TokenBox> token, RetryPolicy retry)
    : token_(std::move(token)), client_(std::move(homeserver_url), std::string(), retry) {}

Poster::~Poster() { stop(); }

void Poster::start() {
  std::lock_guard<std::mutex> l(mu_);
  if (!worker_.joinable() && !stopping_) worker_ = std::thread([this] { run(); });
}

void Poster::post(Task task, Clock::time_point due) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    queue_.emplace(due, std::move(task));
  }
  cv_.notify_all();
}

bool Poster::wait_idle(std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, deadline, [this] { return queue_.empty() && !running_task_; });
}

void Poster::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  client_.abort();
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  // Tasks still queued run once more against the aborted client, so each learns that
  // it failed (an outbound send dead-letters its event) instead of vanishing.
  std::multimap<Clock::time_point, Task> left;
  {
    std::lock_guard<std::mutex> l(mu_);
    left.swap(queue_);
  }
  for (auto& [due, task] : left) {
    try {
      task(client_);
    } catch (...) {
    }
  }
}

void Poster::run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(l);
      continue;
    }
    auto due = queue_.begin()->first;
    if (Clock::now() < due) {
      cv_.wait_until(l, due);
      continue;
    }
    Task task = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    running_task_ = true;
    l.unlock();
    client_.set_access_token(token_->get());
    try {
      task(client_);
    } catch (...) {
      // a task must not kill the worker; the bridge's tasks catch and report their own errors
    }
    l.lock();
    running_task_ = false;
    cv_.notify_all();
  }
}

}  // namespace oaio::matrix
