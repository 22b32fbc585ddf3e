#include "cli/get_cmd.h"

#include <yaml-cpp/yaml.h>

#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/host_flags.h"
#include "cli/node_flags.h"
#include "cli/render.h"
#include "drivers/netlink.h"
#include "reconciler/applied_spec.h"
#include "reconciler/readiness.h"
#include "reconciler/restart_policy.h"
#include "reconciler/git_status.h"
#include "reconciler/selection.h"
#include "reconciler/session.h"
#include "resources/field_table.h"

namespace banger::cli {

namespace {

using json = nlohmann::ordered_json;

struct GetOptions {
  std::vector<std::string> target;
  std::string output;
  std::string selector;  ///< -l: only resources whose recorded labels match
  bool show_labels = false;
  HostFlags host;
};

std::string age(int64_t since) {
  if (since <= 0) return "-";
  int64_t s = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - since);
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::map<std::string, std::string> fields(const ResourceRecord& r) {
  std::map<std::string, std::string> out;
  for (const auto& f : applied_fields(r)) out[f.name] = f.value;
  return out;
}

// One row of a table: column name -> value, in column order.

// `get` probes every running VM once, all at once, so READY is what the
// guest does now rather than what the last apply saw.
constexpr std::chrono::milliseconds kReadyCheck{1000};

// With `ssh` (get -o wide), each running VM's port 22 is probed in the same
// round, under the key "ssh:NAME".
std::map<std::string, ReadyStatus> readiness(const ObservedState& o, const std::string& only, bool ssh) {
  std::vector<ReadyTarget> targets;
  for (const auto& [key, rec] : o.applied) {
    if (key.kind != Kind::VM || (!only.empty() && key.name != only) || !o.running.count(key.name)) continue;
    auto vm = o.vms.find(key.name);
    auto rt = o.runtimes.find(key.name);
    targets.push_back(ready_target(rec, vm != o.vms.end() ? &vm->second : nullptr,
                                   rt != o.runtimes.end() ? &rt->second : nullptr));
    targets.back().seen_running = true;  // o.running: observe read /proc a moment ago
    if (ssh && vm != o.vms.end() && !vm->second.ip.empty()) {
      ReadyTarget t;
      t.vm = "ssh:" + key.name;
      t.readiness.probe = Readiness::Probe::Tcp;
      t.readiness.port = 22;
      t.probe = ProbeTarget{vm->second.ip, 22, false, "/"};
      t.process = targets.back().process;
      t.seen_running = true;
      targets.push_back(std::move(t));
    }
  }
  auto status = check_ready(targets, kReadyCheck);
  std::map<std::string, ReadyStatus> out;
  for (size_t i = 0; i < targets.size(); ++i) out[targets[i].vm] = status[i];
  return out;
}

Row vm_row(const ResourceRecord& r, const ObservedState& o, const std::map<std::string, ReadyStatus>& ready,
           bool wide) {
  auto f = fields(r);
  auto rec = o.vms.find(r.name);
  auto rt = o.runtimes.find(r.name);
  bool running = o.running.count(r.name) > 0;
  auto rr = o.restarts.find(r.name);
  RestartDecision restart = decide_restart(f["restartPolicy"], r.name, o);
  // As kubectl: a VM waiting out its restart back-off after crashing again.
  std::string state = running                                          ? "Running"
                      : f["state"] == "stopped"                        ? "Stopped"
                      : restart.kind == RestartDecision::Kind::Wait &&
                              rr != o.restarts.end() && rr->second.consecutive > 0
                          ? "CrashLoopBackOff"
                          : "Exited";
  std::string last_exit = !running && restart.kind != RestartDecision::Kind::NotExited ? restart.exit
                          : rr != o.restarts.end()                                     ? rr->second.last_exit
                                                                                       : "-";
  Row row{{"NAME", r.name},
          {"STATE", state},
          {"READY", ready.count(r.name) && ready.at(r.name).ready ? "true" : "false"},
          {"RESTARTS", std::to_string(rr != o.restarts.end() ? rr->second.restarts : 0)},
          {"IP", rec != o.vms.end() ? rec->second.ip : "-"},
          {"VCPUS", f["vcpus"]},
          {"MEMORY", f["memory"]},
          {"AGE", age(running && rt != o.runtimes.end() ? rt->second.started_at : r.applied_at)}};
  if (wide) {
    row.push_back({"RUNTIME", running && rt != o.runtimes.end() ? rt->second.label() : f["runtime"]});
    row.push_back({"NETWORK", f["network"]});
    row.push_back({"TAP", rec != o.vms.end() ? rec->second.tap : "-"});
    row.push_back({"PID", running && rt != o.runtimes.end() ? std::to_string(rt->second.pid) : "-"});
    row.push_back({"DISK", rec != o.vms.end() ? rec->second.disk_path : "-"});
    // The method the disk was made with; "(auto)" when auto chose it.
    auto disk = o.disks.find(r.name);
    std::string strategy = "-";
    if (disk != o.disks.end()) {
      strategy = disk->second.method + (f["diskStrategy"] == "auto" ? " (auto)" : "");
      row.push_back({"DISK-STRATEGY", strategy});
      row.push_back({"DISK-SIZE", format_size(static_cast<uint64_t>(disk->second.size))});
    } else {
      row.push_back({"DISK-STRATEGY", strategy});
      row.push_back({"DISK-SIZE", "-"});
    }
    row.push_back({"LAST-EXIT", last_exit});
    auto rd = ready.find(r.name);
    row.push_back({"READINESS", rd != ready.end() ? rd->second.detail : "-"});
    // Whether `banger ssh` would get in now: port 22 answers (ready), the VM
    // runs but nothing answers yet (waiting), or it does not run (none).
    auto sd = ready.find("ssh:" + r.name);
    row.push_back({"SSH", !running              ? "none"
                          : sd == ready.end() ? "-"  // not probed (only -o wide probes it)
                          : sd->second.ready  ? "ready"
                                              : "waiting"});
    row.push_back({"DESCRIPTION", f["description"].empty() ? "-" : f["description"]});
  }
  return row;
}

Row network_row(const ResourceRecord& r, const ObservedState& o) {
  auto f = fields(r);
  const LinkState* b = o.links.find(f["bridge"]);
  // The network's DNS server: where it answers, or why it does not.
  std::string dns = "-";
  if (auto d = parse_dns_text(f["dns"].empty() ? dns_text(NetworkDns{}) : f["dns"]); d && !d->enabled) {
    dns = "off";
  } else if (o.dns) {
    auto it = o.dns->find(r.name);
    auto subnet = parse_cidr(f["subnet"]);
    dns = it == o.dns->end() || !it->second.running ? "Down"
          : subnet                                    ? subnet->gateway().str() + " (." + (d ? d->domain : "vm") + ")"
                                                      : "Up";
  }
  return {{"NAME", r.name},    {"SUBNET", f["subnet"]},
          {"BRIDGE", f["bridge"]}, {"NAT", f["nat"]},
          {"STATE", b && b->up ? "Ready" : b ? "Down" : "Missing"}, {"DNS", dns}, {"AGE", age(r.applied_at)}};
}

Row forward_row(const ResourceRecord& r) {
  auto f = fields(r);
  return {{"NAME", r.name},
          {"VM", f["vm"]},
          {"HOST", f["hostAddress"] + ":" + f["hostPort"]},
          {"GUEST-PORT", f["guestPort"]},
          {"PROTOCOL", f["protocol"]},
          {"AGE", age(r.applied_at)}};
}

// An `oci:` source shows the digest its tag resolved to when applied
// (-o wide in full, as `docker images --digests` does).
Row artifact_row(const ResourceRecord& r, bool wide) {
  auto f = fields(r);
  Row row{{"NAME", r.name}, {"SOURCE", f["source"]}, {"SHA256", f["sha256"].empty() ? "-" : f["sha256"].substr(0, 12)},
          {"AGE", age(r.applied_at)}};
  if (wide) row.push_back({"DIGEST", f["digest"].empty() ? "-" : f["digest"]});
  return row;
}

json to_json(const ResourceRecord& r, const Row& status) {
  json spec = json::object();
  json meta = {{"name", r.name}, {"generation", r.generation}, {"source", r.source_file}};
  for (const auto& f : applied_fields(r)) {
    // Labels are metadata, as the manifest wrote them.
    if (f.name == "labels") {
      meta["labels"] = parse_labels(f.value).value_or(std::map<std::string, std::string>{});
      continue;
    }
    spec[f.name] = f.value;
  }
  json st = json::object();
  for (const auto& [k, v] : status) st[k] = v;
  return {{"apiVersion", "banger.dev/v1"}, {"kind", r.kind}, {"metadata", meta}, {"spec", spec}, {"status", st}};
}

void emit_yaml(YAML::Emitter& e, const json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      e << YAML::Key << it.key() << YAML::Value;
      emit_yaml(e, it.value());
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& v : j) emit_yaml(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    e << YAML::DoubleQuoted << j.get<std::string>();
  } else {
    e << j.dump();
  }
}

// kubectl's List, with the node of a fleet this host is in its metadata.
json list_json(const json& items, const NodeIdentity& node) {
  return {{"apiVersion", "banger.dev/v1"},
          {"kind", "List"},
          {"metadata", {{"node", {{"name", node.name}, {"labels", node.labels}}}}},
          {"items", items}};
}

int run_get(const GetOptions& o, const GlobalOptions& g) {
  std::optional<Kind> only;
  if (!o.target.empty()) {
    only = parse_kind_alias(o.target[0]);
    if (!only) {
      std::cerr << "error: the server doesn't have a resource type \"" << o.target[0]
                << "\" (expected vm, network, kernel, image or portforward)\n";
      return kExitError;
    }
  }
  std::string name = o.target.size() > 1 ? o.target[1] : "";
  std::optional<LabelSelector> selector;
  if (!parse_selector_flag(o.selector, selector)) return kExitError;
  const NodeIdentity node = node_identity(g);
  Session s(session_options(g, o.host, /*lock=*/false));
  const ObservedState obs = s.observe_without_nat();
  const std::optional<GitStatus> git = read_git_status(s.state_dir());
  bool wide = o.output == "wide";
  std::map<std::string, ReadyStatus> ready;
  if (!only || *only == Kind::VM) ready = readiness(obs, name, wide);
  json items = json::array();
  bool found = false, printed = false;
  for (Kind k : {Kind::VM, Kind::Network, Kind::PortForward, Kind::Kernel, Kind::Image}) {
    if (only && *only != k) continue;
    std::vector<Row> rows;
    for (const auto& [key, rec] : obs.applied) {
      if (key.kind != k || (!name.empty() && key.name != name)) continue;
      // Read only when asked for: at a thousand VMs each read of a record's fields counts.
      const auto labels = selector || o.show_labels ? record_labels(rec) : std::map<std::string, std::string>{};
      if (selector && !selector->matches(labels)) continue;
      Row row = k == Kind::VM        ? vm_row(rec, obs, ready, true)
                : k == Kind::Network ? network_row(rec, obs)
                : k == Kind::PortForward ? forward_row(rec)
                                         : artifact_row(rec, wide);
      if (!o.output.empty() && !wide) items.push_back(to_json(rec, row));  // only -o json/yaml print them
      if (k == Kind::VM && !wide) row = vm_row(rec, obs, ready, false);
      if (o.show_labels) row.push_back({"LABELS", labels.empty() ? "<none>" : format_labels(labels)});
      rows.push_back(row);
      found = true;
    }
    if (o.output.empty() || wide) {
      if (rows.empty()) continue;
      // The listing of everything says which node of a fleet this host is,
      // and the commit `watch --git` converged it to.
      if (!only && !printed) {
        std::cout << "Node: " << node_text(node) << "\n";
        if (git) std::cout << "Source: " << git_status_line(*git, std::time(nullptr)) << "\n";
        std::cout << "\n";
      }
      if (!only) std::cout << (printed ? "\n" : "") << kind_name(k) << "s:\n";
      print_table(rows);
      printed = true;
    }
  }
  if (!name.empty() && !found) {
    std::cerr << "Error: " << kind_name(*only) << "/" << name << " not found\n";
    return kExitError;
  }
  json list = list_json(items, node);
  if (git && !only) list["metadata"]["source"] = git_status_json(*git);
  if (o.output == "json") {
    std::cout << list.dump(2) << "\n";
  } else if (o.output == "yaml") {
    YAML::Emitter e;
    emit_yaml(e, list);
    std::cout << e.c_str() << "\n";
  } else if (!printed) {
    std::cerr << "No resources found.\n";
  }
  return kExitOk;
}

}  // namespace

void add_get_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto o = std::make_shared<GetOptions>();
  CLI::App* cmd = app.add_subcommand("get", "List what banger applied, with its observed state");
  cmd->footer(
      "Examples:\n  banger get\n  banger get vms -o wide\n  banger get vm web-1 -o json\n"
      "  banger get vms -l 'app=web,env in (dev,test)' --show-labels");
  cmd->add_option("target", o->target, "[KIND [NAME]]")->expected(0, 2);
  cmd->add_option("-o,--output", o->output, "json, yaml or wide")
      ->check(CLI::IsMember({"json", "yaml", "wide"}));
  cmd->add_option("-l,--selector", o->selector,
                  "Only resources whose labels match (kubectl's syntax: key=value, key!=value, key in (a,b), "
                  "key notin (a,b), key, !key)");
  cmd->add_flag("--show-labels", o->show_labels, "Add a LABELS column");
  cmd->callback([&run, o, &g] { run = [o, &g] { return run_get(*o, g); }; });
}

}  // namespace banger::cli
