// How the reconciler's workers change the host: the store is shared by
// threads (a sequence of calls holds it, Store::hold), and every host change
// is journaled around the driver call, so a crash leaves an entry to finish
// or undo from.
#pragma once

#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "common/fault.h"
#include "common/profile.h"
#include "state/store.h"

namespace banger {

template <class Fn>
auto with_store(Store& store, Fn&& fn) {
  auto held = store.hold();
  return fn();
}

/// The journal entry exists while fn changes the host, and is removed once
/// fn returned (an exception leaves it, for the next run to see).
template <class Fn>
auto journaled_change(Store& store, const std::string& action, const std::string& type,
                      const std::string& id, const std::string& owner, Fn&& fn) {
  // The step's name for fault injection: "tap.ensure", "process.start".
  const std::string step = type + "." + action;
  int64_t entry = with_store(store, [&] { return store.journal_begin(action, type, id, owner); });
  fault_point("before", step);
  const auto t0 = std::chrono::steady_clock::now();
  if constexpr (std::is_void_v<decltype(fn())>) {
    fn();
    if (profile::enabled()) profile::add("host." + step, std::chrono::steady_clock::now() - t0);
    fault_point("after", step);
    with_store(store, [&] { store.journal_end(entry); });
  } else {
    auto result = fn();
    if (profile::enabled()) profile::add("host." + step, std::chrono::steady_clock::now() - t0);
    fault_point("after", step);
    with_store(store, [&] { store.journal_end(entry); });
    return result;
  }
}

}  // namespace banger
