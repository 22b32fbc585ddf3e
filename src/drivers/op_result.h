// What an ensure() did; completes the sentence "bridge bg-fleet was ...".
#pragma once

namespace banger {

enum class OpResult { Unchanged, Created, Updated };

inline const char* to_string(OpResult r) {
  switch (r) {
    case OpResult::Unchanged: return "unchanged";
    case OpResult::Created: return "created";
    case OpResult::Updated: return "updated";
  }
  return "?";
}

}  // namespace banger
