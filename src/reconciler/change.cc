#include "reconciler/change.h"

namespace banger {

const char* glyph(ChangeType t) {
  switch (t) {
    case ChangeType::Create: return "+";
    case ChangeType::Update: return "~";
    case ChangeType::Replace: return "-/+";
    case ChangeType::Delete: return "-";
    case ChangeType::Repair: return "!";
  }
  return "?";
}

const char* to_string(ChangeType t) {
  switch (t) {
    case ChangeType::Create: return "create";
    case ChangeType::Update: return "update";
    case ChangeType::Replace: return "replace";
    case ChangeType::Delete: return "delete";
    case ChangeType::Repair: return "repair";
  }
  return "?";
}

const Change* Diff::find(const ResourceKey& key) const {
  for (const auto& c : changes) {
    if (c.key == key) return &c;
  }
  return nullptr;
}

}  // namespace banger
