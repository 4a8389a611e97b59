// ListenerSet: the connection listeners of one transport, called from a transport
// thread. A listener is called outside the lock, so it may add or remove listeners
// (itself included) without deadlocking.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "oaio/transport.h"

namespace oaio::detail {

class ListenerSet {
 public:
  int add(ConnectionListener listener);
  // A call already in flight may still finish; no new call starts.
  void remove(int id);

  // Calls every listener with `event`, in registration order. Does nothing after detach().
  void dispatch(ConnectionEvent event);

  // Drops all listeners and refuses later dispatches. Waits for a dispatch in flight
  // on another thread, so no listener runs once this returns (the owner is going away);
  // called from inside a listener it returns at once.
  void detach();

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  std::map<int, ConnectionListener> listeners_;  // guarded by mu_
  int next_id_ = 1;                              // guarded by mu_
  int in_flight_ = 0;                            // guarded by mu_
  std::thread::id dispatch_thread_;              // guarded by mu_
  bool detached_ = false;                        // guarded by mu_
};

}  // namespace oaio::detail
