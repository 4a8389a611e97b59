// CurlLoop: one thread driving every HTTP transfer of a bridge through one libcurl
// multi handle (curl_multi_poll / curl_multi_wakeup): no thread per stream. Work is
// handed over as LoopTask objects; the loop starts them (now or after a delay, for
// retries and reconnects), reports their end, and aborts them on cancel, on their own
// tick() (idle timeouts) and on stop().
//
// Ownership: the loop holds a shared_ptr to each task from submit() until finished()
// returned. Thread-safety: submit(), cancel() and the accessors from any thread;
// start()/stop() from one control thread. LoopTask hooks run on the loop thread only,
// and may call submit() (e.g. to retry themselves).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace oaio::sse {

using Clock = std::chrono::steady_clock;

class LoopTask {
 public:
  virtual ~LoopTask() = default;
  // Creates and configures the easy handle (the task owns it). nullptr = could not:
  // finished(CURLE_FAILED_INIT) follows at once.
  virtual CURL* begin() = 0;
  // The transfer ended (removed from the multi handle): CURLE_OK, its error,
  // CURLE_OPERATION_TIMEDOUT after tick() returned false, CURLE_ABORTED_BY_CALLBACK
  // after cancel() or stop() (also for a task that never began). The task cleans up
  // its easy handle here.
  virtual void finished(CURLcode result) = 0;
  // Called about every 100 ms while the transfer runs; false aborts it (timeout).
  virtual bool tick(Clock::time_point now) {
    (void)now;
    return true;
  }
};

// Sets what every streaming transfer of this bridge has in common on `easy`: the body
// goes to write(data), libcurl's error text to `error_buffer` (CURL_ERROR_SIZE bytes),
// no signals (the loop is a thread), TCP keep-alive, http and https only, and the
// connect timeout.
void set_stream_options(CURL* easy, curl_write_callback write, void* data, char* error_buffer,
                        long connect_timeout_ms);

class CurlLoop {
 public:
  CurlLoop();
  ~CurlLoop();  // stop()s
  CurlLoop(const CurlLoop&) = delete;
  CurlLoop& operator=(const CurlLoop&) = delete;

  bool start();  // false if libcurl could not be set up
  // Aborts every task (finished(CURLE_ABORTED_BY_CALLBACK)) and joins the thread.
  void stop();
  bool stopping() const { return stopping_.load(); }

  // Queues `task` to begin after `delay`. Returns its id for cancel(). After stop()
  // the task gets finished(CURLE_ABORTED_BY_CALLBACK) on the caller's thread.
  std::uint64_t submit(std::shared_ptr<LoopTask> task, std::chrono::milliseconds delay = {});
  // Aborts task `id` (running or waiting); unknown ids are ignored.
  void cancel(std::uint64_t id);

  std::size_t running() const { return running_.load(); }

 private:
  struct Waiting {
    std::uint64_t id;
    Clock::time_point due;
    std::shared_ptr<LoopTask> task;
  };
  struct Active {
    std::uint64_t id;
    CURL* easy;
    std::shared_ptr<LoopTask> task;
  };
  void run();
  void begin_task(Waiting w);
  void end_active(CURL* easy, CURLcode result);

  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> running_{0};

  std::mutex mu_;
  std::vector<Waiting> waiting_;               // guarded by mu_
  std::vector<std::uint64_t> cancels_;         // guarded by mu_
  std::uint64_t next_id_ = 1;                  // guarded by mu_
  bool accepting_ = false;                     // guarded by mu_

  // Loop thread only.
  std::unordered_map<CURL*, Active> active_;
  std::unordered_map<std::uint64_t, CURL*> by_id_;
  std::vector<Waiting> delayed_;  // tasks taken from waiting_ whose time has not come
};

}  // namespace oaio::sse
