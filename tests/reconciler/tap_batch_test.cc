// TapBatch: concurrent deletes go to the kernel together, each tap exactly
// once, and each caller hears only its own tap's error.
#include "reconciler/tap_batch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/host_error.h"

namespace banger {
namespace {

TEST(TapBatch, ConcurrentDeletesShareBatchesAndEachTapGoesOnce) {
  constexpr int kCallers = 12;
  std::mutex mu;
  std::vector<std::vector<std::string>> batches;
  std::atomic<int> arrived{0};
  TapBatch batch([&](const std::vector<std::string>& taps) {
    {
      std::lock_guard lock(mu);
      batches.push_back(taps);
    }
    // The first batch stays with "the kernel" until every caller has come,
    // as a real delete (an RCU barrier, ~17 ms) would keep them waiting.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived < kCallers && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return std::map<std::string, std::string>{};
  });
  std::vector<std::thread> callers;
  std::atomic<int> errors{0};
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      ++arrived;
      try {
        batch.remove("tap" + std::to_string(i));
      } catch (const std::exception&) {
        ++errors;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(errors, 0);
  std::multiset<std::string> seen;
  for (const auto& b : batches) seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kCallers));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), static_cast<size_t>(kCallers)) << "a tap twice";
  // The first batch holds the first caller alone or a few; all the others
  // queued behind it go in one more.
  EXPECT_LE(batches.size(), 3u);
  EXPECT_LT(batches.size(), static_cast<size_t>(kCallers));
}

TEST(TapBatch, EachCallerGetsItsOwnTapsError) {
  TapBatch batch([](const std::vector<std::string>& taps) {
    std::map<std::string, std::string> failed;
    for (const auto& t : taps) {
      if (t == "bad") failed[t] = "tap bad: a link of that name exists and is a veth, not a tap";
    }
    return failed;
  });
  EXPECT_NO_THROW(batch.remove("good"));
  try {
    batch.remove("bad");
    ADD_FAILURE() << "no error for the refused tap";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("not a tap"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(batch.remove("good2")) << "a failed batch does not stick";
}

TEST(TapBatch, AFailedKernelCallFailsEveryTapOfThatBatchOnly) {
  int calls = 0;
  TapBatch batch([&](const std::vector<std::string>&) -> std::map<std::string, std::string> {
    if (++calls == 1) throw HostError("netlink: cannot list links to delete taps: Permission denied");
    return {};
  });
  try {
    batch.remove("t1");
    ADD_FAILURE() << "no error";
  } catch (const HostError& e) {
    EXPECT_NE(std::string(e.what()).find("deleting tap t1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Permission denied"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(batch.remove("t2"));
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace banger
