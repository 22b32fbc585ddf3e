// Tap deletes of concurrent workers go to the kernel together ("group
// commit"): a delete request costs an RCU barrier (about 17 ms) whether it
// takes one link or a hundred (TapDriver::remove_many). The first worker to
// arrive deletes its tap and every tap queued while the previous batch ran;
// the others wait for their batch. No timer: a lone delete goes at once.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace banger {

class TapBatch {
 public:
  /// Deletes the given taps; returns those that failed, with their errors.
  using RemoveMany = std::function<std::map<std::string, std::string>(const std::vector<std::string>&)>;
  explicit TapBatch(RemoveMany remove) : remove_(std::move(remove)) {}

  /// Deletes `tap` (with whatever else is queued); blocks until it is done.
  /// Throws HostError with this tap's own error when it failed.
  void remove(const std::string& tap);

 private:
  struct Batch {
    std::vector<std::string> taps;
    std::map<std::string, std::string> failed;
    std::string error;  ///< the whole batch failed (e.g. no netlink socket)
    bool done = false;
  };
  RemoveMany remove_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Batch> open_;  ///< taps queued for the next batch
  bool busy_ = false;            ///< a batch is with the kernel
};

}  // namespace banger
