#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// An intended host change, written before the host is touched and removed
/// when done; entries left by a crash tell the next run what to finish.
struct JournalEntry {
  int64_t id = 0;  ///< given by SQLite on insert
  std::string action;  ///< "create", "delete", "start", "stop", ...
  std::string type;
  std::string object_id;
  std::string owner;
  int64_t created_at = 0;

  static constexpr const char* kTable = "journal";
  static constexpr auto columns() {
    return std::tuple{column("id", "id", &JournalEntry::id, {.auto_id = true}),
                      column("action", "action", &JournalEntry::action),
                      column("type", "type", &JournalEntry::type),
                      column("object_id", "objectId", &JournalEntry::object_id),
                      column("owner", "owner", &JournalEntry::owner),
                      column("created_at", "createdAt", &JournalEntry::created_at)};
  }
};

}  // namespace banger
