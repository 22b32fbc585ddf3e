#include "drivers/nat_rules.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "common/host_error.h"
#include "resources/names.h"

namespace banger::nat {
namespace {

using nlohmann::json;

// The three base chains, as nft lists them back (JSON prio is numeric:
// dstnat = -100, srcnat = 100). observe() reports a chain that differs from
// these, because e.g. a policy changed by hand to drop would break every VM.
struct ChainSpec {
  const char* name;
  const char* hook;
  int prio;
  const char* text_prio;  ///< how the script spells it
};
constexpr ChainSpec kChains[] = {
    {"prerouting", "prerouting", -100, "dstnat"},
    {"output", "output", -100, "-100"},
    {"postrouting", "postrouting", 100, "srcnat"},
};

[[noreturn]] void bad(const std::string& what) {
  throw HostError("NAT rules for nftables table 'ip banger': " + what +
                  "; nothing was changed. This is a bug in what banger computed: "
                  "run `banger validate` on the manifests and report it if they are valid");
}

std::string subnet_text(const Cidr& c) {
  return c.network().str() + "/" + std::to_string(c.prefix);
}

void check_subnet(const std::string& who, const Cidr& c) {
  // /0 would masquerade everything, /32 is listed back without a prefix, and
  // /31 has no room for network, gateway, guest and broadcast addresses.
  if (c.prefix < 1 || c.prefix > 30) {
    bad(who + ": subnet " + c.str() + " must have a prefix length of 1..30");
  }
}

std::string dnat_match(const DnatRule& f) {
  // 0.0.0.0 means "any address of this host", which fib expresses without
  // listing addresses that may change (DHCP, new bridges).
  if (f.host_address.value == 0) return "fib daddr type local";
  return "ip daddr " + f.host_address.str();
}

bool needs_localhost_masquerade(const DnatRule& f) {
  constexpr uint32_t kLoopback = 0x7f000001;  // 127.0.0.1
  return f.host_address.value == 0 || f.host_address.value == kLoopback;
}

// ---- JSON listing -> canonical text ------------------------------------

std::string compact(const json& j) { return j.dump(); }

std::string render_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  if (v.is_object() && v.size() == 1 && v.contains("prefix")) {
    const json& p = v["prefix"];
    if (p.contains("addr") && p.contains("len") && p["addr"].is_string()) {
      return p["addr"].get<std::string>() + "/" + render_value(p["len"]);
    }
  }
  return compact(v);  // sets, ranges, ...: exact, if not pretty
}

std::string render_left(const json& l) {
  if (l.is_object() && l.size() == 1) {
    if (l.contains("payload")) {
      const json& p = l["payload"];
      if (p.size() == 2 && p.contains("protocol") && p.contains("field")) {
        return render_value(p["protocol"]) + " " + render_value(p["field"]);
      }
    }
    if (l.contains("fib")) {
      const json& f = l["fib"];
      if (f.size() == 2 && f.contains("result") && f.contains("flags")) {
        std::string flags;
        if (f["flags"].is_array()) {
          for (const auto& x : f["flags"]) flags += (flags.empty() ? "" : " . ") + render_value(x);
        } else {
          flags = render_value(f["flags"]);
        }
        return "fib " + flags + " " + render_value(f["result"]);
      }
    }
    if (l.contains("meta") && l["meta"].size() == 1 && l["meta"].contains("key")) {
      return "meta " + render_value(l["meta"]["key"]);
    }
  }
  return compact(l);
}

std::string render_expr(const json& e) {
  if (!e.is_object() || e.size() != 1) return compact(e);
  auto first = e.begin();  // see parse_items: no binding to the items() proxy
  const std::string key = first.key();
  const json& val = first.value();
  if (key == "match" && val.is_object() && val.size() == 3 && val.contains("op") &&
      val.contains("left") && val.contains("right")) {
    std::string op = render_value(val["op"]);
    return render_left(val["left"]) + (op == "==" ? "" : " " + op) + " " +
           render_value(val["right"]);
  }
  if (key == "dnat" && val.is_object() && val.contains("addr") &&
      val.size() == (val.contains("port") ? 2u : 1u)) {
    std::string s = "dnat to " + render_value(val["addr"]);
    if (val.contains("port")) s += ":" + render_value(val["port"]);
    return s;
  }
  // A counter's numbers move with traffic; its presence is what matters.
  if (key == "counter") return "counter";
  if (val.is_null()) return key;  // masquerade, accept, drop, ...
  return compact(e);
}

std::string chain_text(const json& c) {
  std::string s = "chain " + render_value(c.value("name", json("?")));
  for (const char* k : {"type", "hook", "prio", "policy", "dev"}) {
    if (c.contains(k)) s += std::string(" ") + k + " " + render_value(c[k]);
  }
  return s;
}

bool chain_as_expected(const json& c) {
  for (const ChainSpec& spec : kChains) {
    if (c.value("name", "") != spec.name) continue;
    return c.value("type", "") == "nat" && c.value("hook", "") == spec.hook && c.contains("prio") &&
           c["prio"].is_number_integer() && c["prio"].get<int>() == spec.prio &&
           c.value("policy", "accept") == "accept" && !c.contains("dev");
  }
  return false;
}

[[noreturn]] void unexpected_json(const std::string& detail) {
  throw HostError(
      "could not read nftables table 'ip banger': libnftables returned unexpected "
      "JSON (" +
      detail + "); check that libnftables is version 1.0.x");
}

NatObserved parse_items(const json& doc) {
  NatObserved obs;
  for (const json& item : doc["nftables"]) {
    if (!item.is_object() || item.size() != 1) continue;
    // Not a structured binding of *item.items().begin(): that proxy refers to
    // an iterator that dies with the expression (ASan: stack-use-after-scope).
    auto first = item.begin();
    const std::string kind = first.key();
    const json& obj = first.value();
    if (kind == "metainfo") continue;
    if (kind == "table") {
      obs.table_exists = true;
      // A dormant table keeps its rules but applies none of them.
      if (obj.contains("flags") && !obj["flags"].empty()) {
        obs.rules_by_owner[""].push_back("table flags " + render_value(obj["flags"]));
      }
      continue;
    }
    if (kind == "chain") {
      if (!chain_as_expected(obj)) obs.rules_by_owner[""].push_back(chain_text(obj));
      continue;
    }
    if (kind != "rule") {
      // Sets, maps, counters...: banger never makes them, so they are drift.
      obs.rules_by_owner[""].push_back(kind + " " + render_value(obj.value("name", json("?"))));
      continue;
    }
    std::string body;
    if (obj.contains("expr") && obj["expr"].is_array()) {
      for (const json& e : obj["expr"]) body += (body.empty() ? "" : " ") + render_expr(e);
    }
    std::string comment = obj.contains("comment") ? render_value(obj["comment"]) : "";
    std::string owner = comment.rfind("banger:", 0) == 0 ? comment : "";
    // A foreign comment is kept in the text so that a person sees whose it is.
    if (owner.empty() && !comment.empty()) body += " comment " + json(comment).dump();
    obs.rules_by_owner[owner].push_back(
        canonical(render_value(obj.value("chain", json("?"))), body));
  }
  for (auto& [owner, list] : obs.rules_by_owner) std::sort(list.begin(), list.end());
  return obs;
}

}  // namespace

void validate(const NatRuleset& rules) {
  std::set<std::string> nets, fwds;
  std::set<std::tuple<uint32_t, uint16_t, Protocol>> endpoints;
  for (const MasqueradeRule& m : rules.masquerades) {
    // Names end up inside an nft comment string; a DNS label cannot contain a
    // quote, a semicolon or a newline, so it cannot inject syntax.
    if (!is_dns1123_label(m.network))
      bad("network name '" + m.network + "' is not a DNS-1123 label");
    if (!nets.insert(m.network).second) bad("network '" + m.network + "' appears twice");
    check_subnet("network '" + m.network + "'", m.subnet);
  }
  for (const DnatRule& f : rules.forwards) {
    const std::string who = "port forward '" + f.forward + "'";
    if (!is_dns1123_label(f.forward))
      bad("port forward name '" + f.forward + "' is not a DNS-1123 label");
    if (!fwds.insert(f.forward).second) bad(who + " appears twice");
    if (f.host_port == 0) bad(who + ": host port 0 is out of range (1..65535)");
    if (f.guest_port == 0) bad(who + ": guest port 0 is out of range (1..65535)");
    check_subnet(who, f.subnet);
    if (!f.subnet.contains(f.guest_ip) || f.guest_ip == f.subnet.network() ||
        f.guest_ip == f.subnet.broadcast()) {
      bad(who + ": guest address " + f.guest_ip.str() + " is not a host address of subnet " +
          subnet_text(f.subnet));
    }
    if (!endpoints.insert({f.host_address.value, f.host_port, f.protocol}).second) {
      bad(who + ": " + f.host_address.str() + ":" + std::to_string(f.host_port) + "/" +
          to_string(f.protocol) + " is already forwarded by another rule");
    }
  }
}

std::vector<RenderedRule> render_rules(const NatRuleset& rules) {
  validate(rules);
  std::vector<RenderedRule> out;
  for (const MasqueradeRule& m : rules.masquerades) {
    const std::string s = subnet_text(m.subnet);
    out.push_back({"postrouting", "ip saddr " + s + " ip daddr != " + s + " masquerade",
                   NatDriver::network_owner(m.network)});
  }
  for (const DnatRule& f : rules.forwards) {
    const std::string owner = NatDriver::forward_owner(f.forward);
    const std::string dnat = dnat_match(f) + " " + to_string(f.protocol) + " dport " +
                             std::to_string(f.host_port) + " dnat to " + f.guest_ip.str() + ":" +
                             std::to_string(f.guest_port);
    // prerouting catches traffic from other machines; output catches
    // connections made on this host itself (including to 127.0.0.1).
    out.push_back({"prerouting", dnat, owner});
    out.push_back({"output", dnat, owner});
    if (needs_localhost_masquerade(f)) {
      // A packet from 127.0.0.1 DNATed to a guest would leave with a loopback
      // source the guest cannot answer; masquerade gives it the bridge's
      // address. The kernel also drops it unless route_localnet=1 on the
      // bridge, which the bridge driver sets (not a rule, so not here).
      out.push_back({"postrouting",
                     "ip saddr 127.0.0.0/8 ip daddr " + subnet_text(f.subnet) + " masquerade",
                     owner});
    }
  }
  for (const RenderedRule& r : out) {
    if (r.owner.size() > kMaxComment) bad("comment '" + r.owner + "' is longer than 128 bytes");
  }
  return out;
}

std::string render_batch(const NatRuleset& rules) {
  const std::vector<RenderedRule> rendered = render_rules(rules);
  // "table" then "delete table" is the idempotent delete idiom (1.0.6 has no
  // "destroy"); the same buffer then re-creates everything, so the kernel
  // sees one transaction: all of it applies, or none.
  std::string s = "table ip banger\ndelete table ip banger\n";
  if (rendered.empty()) return s;
  s += "table ip banger {\n";
  for (const ChainSpec& c : kChains) {
    s += std::string("  chain ") + c.name + " { type nat hook " + c.hook + " priority " +
         c.text_prio + "; policy accept; }\n";
  }
  s += "}\n";
  for (const RenderedRule& r : rendered) {
    s += "add rule ip banger " + r.chain + " " + r.body + " comment \"" + r.owner + "\"\n";
  }
  return s;
}

std::string canonical(const std::string& chain, const std::string& body) {
  return chain + ": " + body;
}

NatObserved parse_listing(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) {
    unexpected_json("no \"nftables\" array in: " + std::string(text.substr(0, 160)));
  }
  try {
    return parse_items(doc);
  } catch (const json::exception& e) {  // a field typed unlike 1.0.6 output
    unexpected_json(e.what());
  }
}

namespace {

json parse_doc(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) {
    unexpected_json("no \"nftables\" array in: " + std::string(text.substr(0, 160)));
  }
  return doc;
}

}  // namespace

TableOutline parse_outline(std::string_view text) {
  // table ip banger { # progname banger
  // \tflags dormant,owner
  // \tcomment "..."
  // \tset NAME {        (objects and chains: one tab, then "KIND NAME {")
  // \t\t...             (their insides: two tabs or more)
  TableOutline out;
  size_t pos = 0;
  bool header = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (header) {  // the "table ip banger {" line
      header = false;
      continue;
    }
    if (line.size() < 2 || line[0] != '\t' || line[1] == '\t') continue;
    line.remove_prefix(1);
    if (line.rfind("flags", 0) == 0 && (line.size() == 5 || line[5] == ' ')) {
      out.has_flags = true;
      std::string_view rest = line.substr(std::min<size_t>(line.size(), 6));
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view one = rest.substr(0, comma);
        while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
        while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
        if (!one.empty()) out.flags.emplace_back(one);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      continue;
    }
    constexpr std::string_view kOpen = " {";
    if (line.size() > kOpen.size() && line.substr(line.size() - kOpen.size()) == kOpen &&
        line.rfind("chain ", 0) != 0) {
      out.objects.emplace_back(line.substr(0, line.size() - kOpen.size()));
    }
  }
  return out;
}

std::vector<std::string> chain_names(std::string_view chains_json) {
  json doc = parse_doc(chains_json);
  std::vector<std::string> names;
  for (const json& item : doc["nftables"]) {
    if (!item.is_object() || !item.contains("chain")) continue;
    const json& c = item["chain"];
    if (!c.is_object() || c.value("family", json()) != "ip" || c.value("table", json()) != kTable ||
        !c.contains("name") || !c["name"].is_string()) {
      continue;
    }
    names.push_back(c["name"].get<std::string>());
  }
  return names;
}

std::string list_chain_command(const std::string& chain) {
  json cmd = {{"list", {{"chain", {{"family", "ip"}, {"table", kTable}, {"name", chain}}}}}};
  return json{{"nftables", json::array({cmd})}}.dump();
}

NatObserved parse_pieces(const TableOutline& outline, const std::vector<std::string>& chains) {
  // One document shaped like the JSON of `list table ip banger`, so that
  // parse_items() reads it exactly as it reads that listing.
  json table = {{"family", "ip"}, {"name", kTable}};
  if (outline.flags.size() == 1) {
    table["flags"] = outline.flags[0];  // libnftables' shape for one flag
  } else if (!outline.flags.empty()) {
    table["flags"] = outline.flags;
  } else if (outline.has_flags) {
    table["flags"] = "?";  // set, but named by nothing this libnftables knows
  }
  json items = json::array({json{{"table", table}}});
  for (const std::string& text : chains) {
    json doc = parse_doc(text);
    for (json& item : doc["nftables"]) {
      if (item.is_object() && (item.contains("metainfo") || item.contains("table"))) continue;
      items.push_back(std::move(item));
    }
  }
  NatObserved obs;
  try {
    obs = parse_items(json{{"nftables", std::move(items)}});
  } catch (const json::exception& e) {
    unexpected_json(e.what());
  }
  if (!outline.objects.empty()) {
    std::vector<std::string>& drift = obs.rules_by_owner[""];
    drift.insert(drift.end(), outline.objects.begin(), outline.objects.end());
    std::sort(drift.begin(), drift.end());
  }
  return obs;
}

}  // namespace banger::nat

namespace banger {

NatObserved NatDriver::expected(const NatRuleset& rules) {
  NatObserved obs;
  for (const nat::RenderedRule& r : nat::render_rules(rules)) {
    obs.rules_by_owner[r.owner].push_back(nat::canonical(r.chain, r.body));
  }
  for (auto& [owner, list] : obs.rules_by_owner) std::sort(list.begin(), list.end());
  obs.table_exists = !rules.empty();
  return obs;
}

}  // namespace banger
