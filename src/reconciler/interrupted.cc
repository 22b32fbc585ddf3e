#include "reconciler/interrupted.h"

#include <optional>

namespace banger {

namespace {

// "VM/web" -> the key; "banger" (the nft table) and "leftover" (the disk
// sweep's own steps) name no resource.
std::optional<ResourceKey> owner_key(const std::string& owner) {
  auto slash = owner.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto kind = parse_kind(owner.substr(0, slash));
  if (!kind || slash + 1 == owner.size()) return std::nullopt;
  return ResourceKey{*kind, owner.substr(slash + 1)};
}

// banger still knows the owner: it was applied, a VM record holds it (a
// create cut short, which the diff deletes or finishes), or the diff
// changes it now.
bool known(const ObservedState& o, const ResourceKey& key, const std::set<ResourceKey>& planned) {
  if (o.applied.count(key) || planned.count(key)) return true;
  return key.kind == Kind::VM && o.vms.count(key.name) > 0;
}

}  // namespace

bool sweepable_type(const std::string& type) {
  return type == "bridge" || type == "tap" || type == "rundir" || type == "disk" || type == "cow" ||
         type == "dm" || type == "dns-server";
}

OwnedOrphans find_owned_orphans(const ObservedState& o, const std::set<ResourceKey>& planned) {
  OwnedOrphans out;
  // One owner per object (the table's key is type and id): an object a
  // known resource took over names that resource, not the gone one.
  for (const OwnedObject& obj : o.owned) {
    auto key = owner_key(obj.owner);
    if (!key || known(o, *key, planned) || !sweepable_type(obj.type)) continue;
    if (key->kind == Kind::VM) out.vms.insert(key->name);
    out.objects.push_back(obj);
  }
  for (const JournalEntry& e : o.journal) {
    auto key = owner_key(e.owner);
    if (key && known(o, *key, planned)) continue;
    if (key && key->kind == Kind::VM) out.vms.insert(key->name);
    out.entries.push_back(e);
  }
  return out;
}

std::vector<std::string> unfinished_steps(const ObservedState& o, const ResourceKey& key) {
  std::vector<std::string> out;
  const std::string owner = key.str();
  for (const JournalEntry& e : o.journal) {
    if (e.owner == owner) out.push_back(e.type + "." + e.action + " " + e.object_id);
  }
  return out;
}

std::vector<std::string> OwnedOrphans::describe() const {
  std::vector<std::string> out;
  for (const OwnedObject& obj : objects) out.push_back(obj.type + " " + obj.id + " of " + obj.owner + " (no record)");
  for (const JournalEntry& e : entries) {
    out.push_back("unfinished step " + e.type + "." + e.action + " " + e.object_id + " of " + e.owner);
  }
  return out;
}

}  // namespace banger
