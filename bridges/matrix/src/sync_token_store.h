// SyncTokenStore: the `since` token of /sync kept in a file under the bridge's state
// directory, written atomically (temp file + fsync + rename) after every processed
// batch, so a restart resumes exactly where the last processed batch ended.
// THREAD: one owner (the sync thread).
#pragma once

#include <string>

namespace oaio::matrix {

class SyncTokenStore {
 public:
  // `dir` empty = in memory only (no state directory).
  explicit SyncTokenStore(std::string dir, std::string file_name = "sync_token");
  // The stored token, or empty when there is none yet.
  std::string load() const;
  // Returns an error text, or empty on success.
  std::string save(const std::string& token);
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
  std::string memory_;
};

}  // namespace oaio::matrix
