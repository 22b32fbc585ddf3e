// Where a run's time goes, for bench/ and for anyone asking why an apply is
// slow: with BANGER_PROFILE=1 in the environment, named phases add up their
// wall time and count, and the totals go to stderr when banger exits
// ("profile: store.commit.durable  612 x  1.234 s"). Off, a phase costs one
// load of a cached flag; nothing is recorded.
#pragma once

#include <chrono>
#include <string_view>

namespace banger::profile {

bool enabled();
void add(std::string_view phase, std::chrono::steady_clock::duration spent);
/// Writes the totals to stderr, sorted by name, so that "vm.*" lines sit together (called at exit).
void print();

/// Times its own lifetime as `phase` (a string literal or one that outlives it).
class Scope {
 public:
  explicit Scope(std::string_view phase)
      : phase_(phase), on_(enabled()), t0_(on_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}) {}
  ~Scope() {
    if (on_) add(phase_, std::chrono::steady_clock::now() - t0_);
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::string_view phase_;
  bool on_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace banger::profile
