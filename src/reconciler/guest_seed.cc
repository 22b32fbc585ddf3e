#include "reconciler/guest_seed.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "resources/fields_guest.h"
#include "resources/names.h"

namespace banger {

namespace {

// banger's own #cloud-config as a YAML mapping, in the order it is written.
YAML::Node own_config(const GuestBoot& g) {
  YAML::Node c(YAML::NodeType::Map);
  c["hostname"] = g.hostname;
  c["preserve_hostname"] = false;
  c["manage_etc_hosts"] = true;
  if (!g.keys.empty()) {
    YAML::Node keys(YAML::NodeType::Sequence);
    for (const auto& k : g.keys) keys.push_back(k);
    // Top level: the image's default user gets them (and root, below).
    c["ssh_authorized_keys"] = keys;
    if (g.user == "root") {
      // cloud-init's default puts a "log in as the default user" command in
      // root's keys instead of the keys themselves.
      c["disable_root"] = false;
    } else {
      YAML::Node user(YAML::NodeType::Map);
      user["name"] = g.user;
      user["ssh_authorized_keys"] = keys;
      user["sudo"] = "ALL=(ALL) NOPASSWD:ALL";
      user["shell"] = "/bin/bash";
      user["lock_passwd"] = true;
      YAML::Node users(YAML::NodeType::Sequence);
      users.push_back("default");
      users.push_back(user);
      c["users"] = users;
    }
  }
  if (!g.host_private.empty()) {
    // The host key banger pinned: cloud-init replaces the image's keys with
    // it (ssh_deletekeys) and makes no others (ed25519 is given, so nothing
    // is generated; cloud-init's schema wants the list non-empty), so the
    // pin holds from boot 1.
    YAML::Node keys(YAML::NodeType::Map);
    keys["ed25519_private"] = g.host_private;
    keys["ed25519_public"] = g.host_public;
    c["ssh_keys"] = keys;
    c["ssh_deletekeys"] = true;
    YAML::Node types(YAML::NodeType::Sequence);
    types.push_back("ed25519");
    c["ssh_genkeytypes"] = types;
  }
  return c;
}

std::string emit(const YAML::Node& n) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << n;
  return std::string(out.c_str()) + "\n";
}

// A MIME boundary that no part contains.
std::string boundary_for(const std::string& a, const std::string& b) {
  std::string bnd = "banger-" + hex64(fnv1a64(a + b));
  while (a.find(bnd) != std::string::npos || b.find(bnd) != std::string::npos) bnd += "x";
  return bnd;
}

}  // namespace

std::string instance_id(const GuestBoot& g) {
  uint64_t h = fnv1a64(g.vm);
  for (const std::string* s : {&g.hostname, &g.user, &g.user_data, &g.host_public, &g.ip, &g.gateway, &g.mac}) {
    h = fnv1a64(*s + '\n', h);
  }
  h = fnv1a64(std::to_string(g.prefix), h);
  for (const auto& k : g.keys) h = fnv1a64(k + '\n', h);
  return "banger-" + g.vm + "-" + hex64(h).substr(0, 12);
}

std::string nocloud_meta_data(const GuestBoot& g) {
  YAML::Node m(YAML::NodeType::Map);
  m["instance-id"] = instance_id(g);
  m["local-hostname"] = g.hostname;
  return emit(m);
}

std::string nocloud_network_config(const GuestBoot& g) {
  YAML::Node eth(YAML::NodeType::Map);
  eth["match"]["macaddress"] = to_lower(g.mac);
  eth["set-name"] = "eth0";
  YAML::Node addrs(YAML::NodeType::Sequence);
  addrs.push_back(g.ip + "/" + std::to_string(g.prefix));
  eth["addresses"] = addrs;
  if (!g.gateway.empty()) {
    YAML::Node route(YAML::NodeType::Map);
    route["to"] = "0.0.0.0/0";
    route["via"] = g.gateway;
    YAML::Node routes(YAML::NodeType::Sequence);
    routes.push_back(route);
    eth["routes"] = routes;
  }
  if (!g.nameserver.empty()) {
    eth["nameservers"]["addresses"].push_back(g.nameserver);
    if (!g.search.empty()) eth["nameservers"]["search"].push_back(g.search);
  }
  YAML::Node n(YAML::NodeType::Map);
  n["version"] = 2;
  n["ethernets"]["eth0"] = eth;
  return emit(n);
}

std::string nocloud_user_data(const GuestBoot& g) {
  YAML::Node own = own_config(g);
  if (g.user_data.empty()) return "#cloud-config\n" + emit(own);
  const std::string type = user_data_type(g.user_data);
  if (type == "text/cloud-config") {
    YAML::Node theirs = YAML::Load(g.user_data);
    if (theirs.IsNull()) return "#cloud-config\n" + emit(own);
    if (!theirs.IsMap()) throw std::invalid_argument("user-data #cloud-config is not a YAML mapping");
    // Theirs first and whole; banger's keys only where they set none.
    YAML::Node merged = YAML::Clone(theirs);
    for (auto it = own.begin(); it != own.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      if (!merged[key]) merged[key] = it->second;
    }
    return "#cloud-config\n" + emit(merged);
  }
  if (type.empty()) throw std::invalid_argument("user-data " + user_data_problem(g.user_data));
  const std::string mine = "#cloud-config\n" + emit(own);
  const std::string bnd = boundary_for(mine, g.user_data);
  std::string out = "Content-Type: multipart/mixed; boundary=\"" + bnd + "\"\nMIME-Version: 1.0\n\n";
  out += "--" + bnd + "\nContent-Type: text/cloud-config; charset=\"utf-8\"\nMIME-Version: 1.0\n\n" + mine + "\n";
  out += "--" + bnd + "\nContent-Type: " + type + "; charset=\"utf-8\"\nMIME-Version: 1.0\n\n" + g.user_data;
  if (g.user_data.back() != '\n') out += "\n";
  out += "--" + bnd + "--\n";
  return out;
}

}  // namespace banger
