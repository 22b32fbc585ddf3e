#include "reconciler/tap_batch.h"

#include <exception>

#include "common/host_error.h"

namespace banger {

void TapBatch::remove(const std::string& tap) {
  std::unique_lock lock(mu_);
  if (!open_) open_ = std::make_shared<Batch>();
  std::shared_ptr<Batch> mine = open_;
  mine->taps.push_back(tap);
  cv_.wait(lock, [&] { return mine->done || !busy_; });
  if (!mine->done) {
    // Leader: a batch still open when nothing is busy is this one.
    busy_ = true;
    open_.reset();
    lock.unlock();
    try {
      mine->failed = remove_(mine->taps);
    } catch (const std::exception& e) {
      mine->error = e.what();
    }
    lock.lock();
    busy_ = false;
    mine->done = true;
    cv_.notify_all();
  }
  if (!mine->error.empty()) throw HostError("deleting tap " + tap + ": " + mine->error);
  if (auto it = mine->failed.find(tap); it != mine->failed.end()) throw HostError(it->second);
}

}  // namespace banger
