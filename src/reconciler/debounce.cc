#include "reconciler/debounce.h"

#include <algorithm>

namespace banger {

Debouncer::Debouncer(Clock::duration quiet, Clock::duration max_delay)
    : quiet_(quiet), max_delay_(std::max(quiet, max_delay)) {}

void Debouncer::note(Clock::time_point now) {
  if (!first_) first_ = now;
  last_ = std::max(last_, now);
}

std::optional<Debouncer::Clock::time_point> Debouncer::deadline() const {
  if (!first_) return std::nullopt;
  return std::min(last_ + quiet_, *first_ + max_delay_);
}

bool Debouncer::due(Clock::time_point now) const {
  auto d = deadline();
  return d && *d <= now;
}

void Debouncer::clear() {
  first_.reset();
  last_ = {};
}

}  // namespace banger
