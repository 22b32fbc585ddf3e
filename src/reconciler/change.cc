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

std::string refusal_message(const Change& c) { return c.key.str() + ": " + refusal_reason(c); }

std::string refusal_reason(const Change& c) {
  if (!c.error.empty()) return c.error;
  std::string why;
  for (const FieldChange& f : c.fields) {
    if (f.effect != FieldEffect::Replace) continue;
    why += (why.empty() ? "" : ", ") + f.field + " " + (f.before.empty() ? "(none)" : f.before) + " -> " +
           (f.after.empty() ? "(none)" : f.after);
  }
  return (why.empty() ? "this change" : why) +
         " would recreate its disk from the image, and the data on it would be lost; nothing was changed. "
         "To accept that, run apply again with --replace " + c.key.str();
}

std::vector<const Change*> Diff::refused() const {
  std::vector<const Change*> out;
  for (const auto& c : changes) {
    if (c.refused()) out.push_back(&c);
  }
  return out;
}

}  // namespace banger
