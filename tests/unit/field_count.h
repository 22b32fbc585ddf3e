// How many fields an aggregate has, at compile time: T{any, any, ...}
// compiles for up to that many. Tests use it to notice a field added to a
// record that a writer or column list does not cover yet.
#pragma once

#include <cstddef>

namespace banger::test {

struct AnyField {
  template <class T>
  operator T() const;
};

template <class T, class... A>
constexpr size_t field_count() {
  if constexpr (requires { T{A{}..., AnyField{}}; }) {
    return field_count<T, A..., AnyField>();
  } else {
    return sizeof...(A);
  }
}

}  // namespace banger::test
