#include "reconciler/state_snapshot.h"

#include "common/host_error.h"
#include "reconciler/applied_spec.h"
#include "resources/names.h"
#include "resources/yaml_scalar.h"

#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

namespace banger {

namespace {

using json = nlohmann::ordered_json;

// ---- writing: keys in a fixed order, arrays sorted by name, so the same host
// gives the same bytes (a committed export changes only when the host did).

json spec_value(const std::string& spec_json) {
  json j = json::parse(spec_json, nullptr, false);
  // A record whose spec does not parse is kept as its text, so nothing is lost.
  return j.is_object() ? j : json(spec_json);
}

// A stored record as the export has it: its columns' keys, in their order.
template <class R>
json record_json(const R& rec) {
  json j = json::object();
  for_each_column<R>([&](const auto& c) {
    const auto& v = rec.*c.member;
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
      if (c.flags.json_text) {
        j[c.key] = spec_value(v);
        return;
      }
    }
    j[c.key] = v;
  });
  return j;
}

json exit_json(const std::string& name, const ExitStatus& e) {
  return {{"name", name}, {"signaled", e.signaled}, {"code", e.code}, {"atMs", e.at_ms}};
}

json disk_host_json(const DiskHost& h) {
  json dm = json::array(), loops = json::array();
  for (const ObservedDm& d : h.dm) dm.push_back({{"name", d.name}, {"uuid", d.uuid}, {"deps", d.deps}});
  for (const ObservedLoop& l : h.loops) {
    loops.push_back({{"device", l.device}, {"majmin", l.majmin}, {"backingFile", l.backing_file},
                     {"label", l.label}, {"held", l.held}});
  }
  return {{"tag", h.tag},           {"vmsDir", h.vms_dir}, {"reflink", h.reflink},
          {"devmapper", h.devmapper}, {"devmapperWhy", h.devmapper_why},
          {"dm", dm},               {"loops", loops},     {"vmDirs", h.vm_dirs}};
}

json link_json(const LinkState& l) {
  json j = {{"name", l.name}, {"ifindex", l.ifindex}, {"type", l.type},
            {"master", l.master}, {"up", l.up}, {"ipv4", l.ipv4}};
  if (l.isolated) j["isolated"] = true;  // came later; absent reads as false
  return j;
}

// ---- reading: every field is checked for its type and named by its path.

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw SnapshotError(file_ + ": " + (path.empty() ? "" : path + ": ") + what);
  }

  const json& member(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(join(path, key), "is missing");
    return *it;
  }

  const json& object(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_object()) fail(join(path, key), "expected an object, got " + type(v));
    return v;
  }

  const json& array(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_array()) fail(join(path, key), "expected an array, got " + type(v));
    return v;
  }

  std::string str(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_string()) fail(join(path, key), "expected a string, got " + type(v));
    return v.get<std::string>();
  }

  int64_t integer(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_number_integer()) fail(join(path, key), "expected an integer, got " + type(v));
    return v.get<int64_t>();
  }

  uint64_t unsigned_integer(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_number_unsigned()) fail(join(path, key), "expected an integer >= 0, got " + type(v));
    return v.get<uint64_t>();
  }

  bool boolean(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (!v.is_boolean()) fail(join(path, key), "expected true or false, got " + type(v));
    return v.get<bool>();
  }

  std::vector<std::string> strings(const json& obj, const std::string& path, const char* key) const {
    std::vector<std::string> out;
    const json& a = array(obj, path, key);
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) fail(index(join(path, key), i), "expected a string, got " + type(a[i]));
      out.push_back(a[i].get<std::string>());
    }
    return out;
  }

  void field(const json& obj, const std::string& path, const char* key, std::string& out) const {
    out = str(obj, path, key);
  }
  void field(const json& obj, const std::string& path, const char* key, int64_t& out) const {
    out = integer(obj, path, key);
  }
  void field(const json& obj, const std::string& path, const char* key, uint64_t& out) const {
    out = unsigned_integer(obj, path, key);
  }

  /// A string column holding JSON: the export has the value itself (or, for
  /// a record whose text did not parse, that text).
  std::string json_text(const json& obj, const std::string& path, const char* key) const {
    const json& v = member(obj, path, key);
    if (v.is_object()) return v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (v.is_string()) return v.get<std::string>();
    fail(join(path, key), "expected an object, got " + type(v));
  }

  /// Calls fn(element, its path) for each object of the array obj[key].
  template <class Fn>
  void each_object(const json& obj, const std::string& path, const char* key, Fn fn) const {
    const json& a = array(obj, path, key);
    for (size_t i = 0; i < a.size(); ++i) {
      std::string p = index(join(path, key), i);
      if (!a[i].is_object()) fail(p, "expected an object, got " + type(a[i]));
      fn(a[i], p);
    }
  }

  static std::string join(const std::string& path, const char* key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
  }
  static std::string type(const json& v) {
    if (v.is_number_integer()) return "an integer";
    if (v.is_number()) return "a number";
    std::string t = v.type_name();
    return (t == "object" || t == "array") ? "an " + t : t == "null" ? "null" : "a " + t;
  }

 private:
  std::string file_;
};

// A stored record from the export: every column's key, checked for its type.
template <class R>
R read_record(const Reader& r, const json& j, const std::string& p) {
  R rec{};
  for_each_column<R>([&](const auto& c) {
    if (c.flags.json_optional && !j.contains(c.key)) return;
    if constexpr (std::is_same_v<typename std::decay_t<decltype(c)>::type, std::string>) {
      if (c.flags.json_text) {
        rec.*c.member = r.json_text(j, p, c.key);
        return;
      }
    }
    r.field(j, p, c.key, rec.*c.member);
  });
  return rec;
}

LinkState read_link(const Reader& r, const json& j, const std::string& p) {
  LinkState l;
  l.name = r.str(j, p, "name");
  l.ifindex = static_cast<int>(r.integer(j, p, "ifindex"));
  l.type = r.str(j, p, "type");
  l.master = static_cast<int>(r.integer(j, p, "master"));
  l.up = r.boolean(j, p, "up");
  l.ipv4 = r.strings(j, p, "ipv4");
  if (j.contains("isolated")) l.isolated = r.boolean(j, p, "isolated");
  return l;
}

DiskHost read_disk_host(const Reader& r, const json& h, const std::string& p) {
  DiskHost out;
  out.tag = r.str(h, p, "tag");
  out.vms_dir = r.str(h, p, "vmsDir");
  out.reflink = r.boolean(h, p, "reflink");
  out.devmapper = r.boolean(h, p, "devmapper");
  out.devmapper_why = r.str(h, p, "devmapperWhy");
  r.each_object(h, p, "dm", [&](const json& j, const std::string& q) {
    out.dm.push_back({r.str(j, q, "name"), r.str(j, q, "uuid"), r.strings(j, q, "deps")});
  });
  r.each_object(h, p, "loops", [&](const json& j, const std::string& q) {
    out.loops.push_back({r.str(j, q, "device"), r.str(j, q, "majmin"), r.str(j, q, "backingFile"),
                         r.str(j, q, "label"), r.boolean(j, q, "held")});
  });
  out.vm_dirs = r.strings(h, p, "vmDirs");
  return out;
}

json hypervisors_json(const HypervisorHost& h) {
  const KvmFacts& k = h.kvm;
  return {{"kvm",
           {{"present", k.present},
            {"opened", k.opened},
            {"openError", k.open_error},
            {"apiVersion", k.api_version},
            {"vmCreated", k.vm_created},
            {"createError", k.create_error},
            {"modules", k.modules},
            {"cpuVirt", k.cpu_virt}}},
          {"accel", to_string(h.accel)},
          {"accelFrom", h.accel_from},
          {"firecracker", h.firecracker},
          {"firecrackerWhy", h.firecracker_why},
          {"firecrackerNamedBy", h.firecracker_named_by},
          {"qemu", h.qemu},
          {"qemuWhy", h.qemu_why}};
}

HypervisorHost read_hypervisors(const Reader& r, const json& h, const std::string& p) {
  HypervisorHost out;
  out.known = true;
  const std::string kp = p + ".kvm";
  const json& k = r.object(h, p, "kvm");
  out.kvm.present = r.boolean(k, kp, "present");
  out.kvm.opened = r.boolean(k, kp, "opened");
  out.kvm.open_error = r.str(k, kp, "openError");
  out.kvm.api_version = static_cast<int>(r.integer(k, kp, "apiVersion"));
  out.kvm.vm_created = r.boolean(k, kp, "vmCreated");
  out.kvm.create_error = r.str(k, kp, "createError");
  out.kvm.modules = r.str(k, kp, "modules");
  out.kvm.cpu_virt = r.boolean(k, kp, "cpuVirt");
  auto accel = parse_accel(r.str(h, p, "accel"));
  if (!accel) r.fail(p + ".accel", "expected kvm, tcg or auto");
  out.accel = *accel;
  out.accel_from = r.str(h, p, "accelFrom");
  out.firecracker = r.str(h, p, "firecracker");
  out.firecracker_why = r.str(h, p, "firecrackerWhy");
  out.firecracker_named_by = r.str(h, p, "firecrackerNamedBy");
  out.qemu = r.str(h, p, "qemu");
  out.qemu_why = r.str(h, p, "qemuWhy");
  return out;
}

NodeIdentity read_node(const Reader& r, const json& n, const std::string& p) {
  NodeIdentity out;
  out.name = r.str(n, p, "name");
  if (out.name.empty()) r.fail(p + ".name", "is empty (expected the node name of the host)");
  const json& labels = r.object(n, p, "labels");
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    const std::string q = p + ".labels";
    std::string v = r.str(labels, q, it.key().c_str());
    if (!is_label_key(it.key()) || !is_label_value(v)) {
      r.fail(q + "." + printable(it.key()), "\"" + printable(it.key() + "=" + v) + "\" is not a label");
    }
    out.labels[it.key()] = v;
  }
  return out;
}

std::set<std::string> name_set(const Reader& r, const json& obj, const std::string& path, const char* key) {
  auto v = r.strings(obj, path, key);
  return {v.begin(), v.end()};
}

}  // namespace

LinkSnapshot links_for_export(const ObservedState& o) {
  std::set<std::string> wanted;
  for (const auto& [key, rec] : o.applied) {
    if (key.kind != Kind::Network) continue;
    wanted.insert(applied_network(rec).bridge.value);
  }
  std::set<int> masters;
  for (const auto& [name, vm] : o.vms) {
    wanted.insert(vm.tap);
    if (const LinkState* tap = o.links.find(vm.tap); tap && tap->master) masters.insert(tap->master);
  }
  LinkSnapshot out;
  for (const auto& [name, link] : o.links.by_name) {
    if (wanted.count(name) || masters.count(link.ifindex)) out.by_name.emplace(name, link);
  }
  return out;
}

std::string snapshot_to_json(const ObservedState& o, const SnapshotInfo& info) {
  json resources = json::array(), vms = json::array(), runtimes = json::array(), links = json::array();
  for (const auto& [key, rec] : o.applied) resources.push_back(record_json(rec));  // map order: kind, name
  for (const auto& [name, v] : o.vms) vms.push_back(record_json(v));
  for (const auto& [name, rt] : o.runtimes) runtimes.push_back(record_json(rt));
  json restarts = json::array(), exits = json::array();
  for (const auto& [name, r] : o.restarts) restarts.push_back(record_json(r));
  for (const auto& [name, e] : o.exits) exits.push_back(exit_json(name, e));
  json disks = json::array();
  for (const auto& [name, d] : o.disks) disks.push_back(record_json(d));
  json owned = json::array(), journal = json::array();
  for (const OwnedObject& obj : o.owned) owned.push_back(record_json(obj));
  for (const JournalEntry& e : o.journal) journal.push_back(record_json(e));
  for (const auto& [name, l] : links_for_export(o).by_name) links.push_back(link_json(l));
  json rules = json::object();
  for (const auto& [owner, text] : o.nat.rules_by_owner) rules[owner] = text;
  json doc = {
      {"apiVersion", kApiVersion},
      {"kind", kStateExportKind},
      {"schemaVersion", kStateExportSchemaVersion},
      {"metadata",
       {{"host", info.host},
        {"exportedAt", info.exported_at},
        {"bangerVersion", info.banger_version},
        {"stateDir", info.state_dir}}},
      {"records",
       {{"resources", resources},
        {"vms", vms},
        {"runtimes", runtimes},
        {"restarts", restarts},
        {"disks", disks},
        {"owned", owned},
        {"journal", journal}}},
      {"host",
       {{"observedAtMs", o.now_ms},
        {"running", o.running},
        {"exits", exits},
        {"disksPresent", o.disks_present},
        {"links", links},
        {"nat", {{"tableExists", o.nat.table_exists}, {"rulesByOwner", rules}}},
        {"ipForward", o.ip_forward},
        {"disks", disk_host_json(o.disk_host)}}},
  };
  // Which node of a fleet this host is (fleet diff places the manifests for it).
  if (info.node) doc["host"]["node"] = {{"name", info.node->name}, {"labels", info.node->labels}};
  if (info.source) doc["metadata"]["source"] = git_status_json(*info.source);
  // Only what observe read: an export of an export stays without them.
  if (o.hypervisors.known) doc["host"]["hypervisors"] = hypervisors_json(o.hypervisors);
  // Exported by a reader without root, who cannot list nftables.
  if (!o.nat_known) doc["host"]["nat"]["observed"] = false;
  if (o.dns) {
    json servers = json::object();
    for (const auto& [name, d] : *o.dns) {
      servers[name] = {{"running", d.running}, {"confSum", d.conf_sum}, {"hostsSum", d.hosts_sum},
                       {"dhcpSum", d.dhcp_sum}};
    }
    doc["host"]["dns"] = {{"root", o.dns_root}, {"user", o.dns_user}, {"servers", servers}};
  }
  // systemd-resolved's links, where it runs: null for a link it did not know.
  if (o.resolved) {
    json links = json::object();
    for (const auto& [name, l] : *o.resolved) {
      if (!l) {
        links[name] = nullptr;
        continue;
      }
      json dns = json::array();
      for (Ipv4 a : l->dns) dns.push_back(a.str());
      links[name] = {{"dns", dns}, {"routeDomains", l->route_domains}, {"searchDomains", l->search_domains}};
    }
    doc["host"]["resolved"] = links;
  }
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

StateSnapshot snapshot_from_json(const std::string& text, const std::string& file) {
  Reader r(file);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    r.fail("", "not a banger state export: the file is empty");
  }
  json doc;
  // An export is a few levels deep. A deeper document is refused while it is
  // parsed, before it exists: building (and freeing) one 50,000 levels deep
  // would overflow the stack in the recursive copies.
  constexpr int kMaxDepth = 64;
  bool too_deep = false;
  json::parser_callback_t depth_limit = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxDepth) {
      too_deep = true;
      throw std::length_error("too deep");
    }
    return true;
  };
  try {
    doc = json::parse(text, depth_limit);
  } catch (const std::length_error&) {
    if (!too_deep) throw;
    r.fail("", "not a banger state export: nested deeper than " + std::to_string(kMaxDepth) + " levels");
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number beyond a double (1e999).
    // "[json.exception.parse_error.101] parse error at line 1, ..." without the tag.
    std::string what = e.what();
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    r.fail("", "not a banger state export: invalid JSON: " + what);
  }
  if (!doc.is_object()) r.fail("", "not a banger state export: expected a JSON object, got " + Reader::type(doc));
  auto kind = doc.find("kind");
  if (kind == doc.end() || !kind->is_string() || *kind != kStateExportKind) {
    r.fail("", std::string("not a banger state export: expected kind: ") + kStateExportKind +
                   " (write one with: sudo banger state export --file FILE)");
  }
  std::string api = r.str(doc, "", "apiVersion");
  if (api != kApiVersion) r.fail("apiVersion", "\"" + api + "\" is not supported (expected " + kApiVersion + ")");
  const json& version = r.member(doc, "", "schemaVersion");
  if (!version.is_number_integer() || version.get<int64_t>() != kStateExportSchemaVersion) {
    r.fail("schemaVersion", version.dump() + " is not supported by this banger (it reads schemaVersion " +
                                std::to_string(kStateExportSchemaVersion) +
                                "); export the state again with this banger's version, or use the banger "
                                "that wrote it");
  }

  StateSnapshot s;
  const json& meta = r.object(doc, "", "metadata");
  s.info = {r.str(meta, "metadata", "host"), r.str(meta, "metadata", "exportedAt"),
            r.str(meta, "metadata", "bangerVersion"), r.str(meta, "metadata", "stateDir")};

  ObservedState& o = s.observed;
  const json& records = r.object(doc, "", "records");
  // Every name banger writes passed the manifests' name rule; one that does
  // not (a path, say) is the file's fault, named here, not a bug later.
  auto check_name = [&](const std::string& p, const std::string& name) {
    if (!is_dns1123_label(name)) {
      r.fail(p + ".name", "\"" + printable(name) + "\" is not a name banger writes (a DNS-1123 label)");
    }
  };
  r.each_object(records, "records", "resources", [&](const json& j, const std::string& p) {
    auto rec = read_record<ResourceRecord>(r, j, p);
    if (!parse_kind(rec.kind)) r.fail(p + ".kind", "\"" + rec.kind + "\" is not a banger kind");
    check_name(p, rec.name);
    // Values are checked here, where the file and field can be named, not
    // later as if banger had computed them wrong.
    try {
      check_applied(*parse_kind(rec.kind), rec);
    } catch (const HostError& e) {
      r.fail(p + ".spec", e.what());
    }
    ResourceKey key{*parse_kind(rec.kind), rec.name};
    if (!o.applied.emplace(key, std::move(rec)).second) r.fail(p, key.str() + " is listed twice");
  });
  r.each_object(records, "records", "vms", [&](const json& j, const std::string& p) {
    auto v = read_record<VmRecord>(r, j, p);
    check_name(p, v.name);
    std::string name = v.name;
    if (!o.vms.emplace(name, std::move(v)).second) r.fail(p, "VM/" + name + " is listed twice");
  });
  r.each_object(records, "records", "runtimes", [&](const json& j, const std::string& p) {
    auto rt = read_record<VmRuntime>(r, j, p);
    check_name(p, rt.name);
    std::string name = rt.name;
    if (!o.runtimes.emplace(name, std::move(rt)).second) r.fail(p, "VM/" + name + " is listed twice");
  });

  r.each_object(records, "records", "restarts", [&](const json& j, const std::string& p) {
    auto rr = read_record<RestartRecord>(r, j, p);
    std::string name = rr.name;
    if (!o.restarts.emplace(name, std::move(rr)).second) r.fail(p, "VM/" + name + " is listed twice");
  });

  const json& host = r.object(doc, "", "host");
  o.now_ms = r.integer(host, "host", "observedAtMs");
  o.running = name_set(r, host, "host", "running");
  r.each_object(host, "host", "exits", [&](const json& j, const std::string& p) {
    ExitStatus e;
    std::string name = r.str(j, p, "name");
    e.signaled = r.boolean(j, p, "signaled");
    e.code = static_cast<int>(r.integer(j, p, "code"));
    e.at_ms = r.integer(j, p, "atMs");
    if (!o.exits.emplace(name, e).second) r.fail(p, "VM/" + name + " is listed twice");
  });
  o.disks_present = name_set(r, host, "host", "disksPresent");
  r.each_object(host, "host", "links", [&](const json& j, const std::string& p) {
    LinkState l = read_link(r, j, p);
    std::string name = l.name;
    if (!o.links.by_name.emplace(name, std::move(l)).second) r.fail(p, "link " + name + " is listed twice");
  });
  const json& nat = r.object(host, "host", "nat");
  o.nat.table_exists = r.boolean(nat, "host.nat", "tableExists");
  if (nat.contains("observed")) o.nat_known = r.boolean(nat, "host.nat", "observed");
  const json& rules = r.object(nat, "host.nat", "rulesByOwner");
  for (auto it = rules.begin(); it != rules.end(); ++it) {
    o.nat.rules_by_owner[it.key()] = r.strings(rules, "host.nat.rulesByOwner", it.key().c_str());
  }
  o.ip_forward = r.boolean(host, "host", "ipForward");
  // Disk records and host facts came later within schemaVersion 1: an
  // export without them reads as a host with no disk records or leftovers.
  if (records.contains("disks")) {
    r.each_object(records, "records", "disks", [&](const json& j, const std::string& p) {
      auto d = read_record<DiskRecord>(r, j, p);
      std::string name = d.vm;
      if (!o.disks.emplace(name, std::move(d)).second) r.fail(p, "VM/" + name + " is listed twice");
    });
  }
  // Owned objects and the journal came later still: without them, the
  // export reads as a host no run was interrupted on.
  if (records.contains("owned")) {
    r.each_object(records, "records", "owned", [&](const json& j, const std::string& p) {
      o.owned.push_back(read_record<OwnedObject>(r, j, p));
    });
  }
  if (records.contains("journal")) {
    r.each_object(records, "records", "journal", [&](const json& j, const std::string& p) {
      o.journal.push_back(read_record<JournalEntry>(r, j, p));
    });
  }
  // DNS servers came later within schemaVersion 1: without them, diff does
  // not judge them.
  if (host.contains("dns")) {
    const json& dns = r.object(host, "host", "dns");
    o.dns_root = r.str(dns, "host.dns", "root");
    o.dns_user = r.str(dns, "host.dns", "user");
    const json& servers = r.object(dns, "host.dns", "servers");
    o.dns.emplace();
    for (auto it = servers.begin(); it != servers.end(); ++it) {
      const std::string p = "host.dns.servers." + it.key();
      const json& j = r.object(servers, "host.dns.servers", it.key().c_str());
      (*o.dns)[it.key()] = {r.boolean(j, p, "running"), r.str(j, p, "confSum"), r.str(j, p, "hostsSum"),
                            r.str(j, p, "dhcpSum")};
    }
  }
  if (host.contains("resolved")) {
    const json& links = r.object(host, "host", "resolved");
    o.resolved.emplace();
    for (auto it = links.begin(); it != links.end(); ++it) {
      const std::string p = "host.resolved." + it.key();
      if (it.value().is_null()) {
        (*o.resolved)[it.key()] = std::nullopt;
        continue;
      }
      const json& j = r.object(links, "host.resolved", it.key().c_str());
      ResolvedLink l;
      for (const std::string& a : r.strings(j, p, "dns")) {
        auto ip = parse_ipv4(a);
        if (!ip) r.fail(p + ".dns", "\"" + a + "\" is not an IPv4 address");
        l.dns.push_back(*ip);
      }
      l.route_domains = r.strings(j, p, "routeDomains");
      l.search_domains = r.strings(j, p, "searchDomains");
      (*o.resolved)[it.key()] = l;
    }
  }
  // The node came with fleets, later within schemaVersion 1: without it the
  // reader decides (fleet diff: --node-name, else the hostname).
  if (host.contains("node")) s.info.node = read_node(r, r.object(host, "host", "node"), "host.node");
  if (host.contains("disks")) o.disk_host = read_disk_host(r, r.object(host, "host", "disks"), "host.disks");
  // Likewise the hypervisor facts: with them, the offline plan refuses a VM
  // the exported host could not run, as its own apply would.
  if (host.contains("hypervisors")) {
    o.hypervisors = read_hypervisors(r, r.object(host, "host", "hypervisors"), "host.hypervisors");
  }
  return s;
}

}  // namespace banger
