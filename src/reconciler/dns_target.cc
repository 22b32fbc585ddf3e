#include "reconciler/dns_target.h"

#include <cstdio>

#include "reconciler/applied_spec.h"
#include "resources/names.h"

namespace banger {

DnsServerSpec dns_server_spec(const Network& n, const std::string& dns_root, const std::string& user) {
  DnsServerSpec s;
  s.user = user;
  s.network = n.name();
  s.bridge = n.bridge.value;
  s.subnet = n.subnet.value;
  s.domain = n.dns.domain;
  s.upstreams = n.dns.upstreams;
  s.dir = dns_root + "/" + n.name();
  return s;
}

std::map<std::string, Network> applied_networks(const std::map<ResourceKey, ResourceRecord>& applied) {
  std::map<std::string, Network> out;
  for (const auto& [key, rec] : applied) {
    if (key.kind == Kind::Network) out.emplace(key.name, applied_network(rec));
  }
  return out;
}

std::vector<DnsHost> dns_hosts(const std::map<std::string, Network>& networks,
                               const std::map<std::string, VmRecord>& vms) {
  std::vector<DnsHost> out;
  for (const auto& [name, rec] : vms) {
    auto n = networks.find(rec.network);
    auto ip = parse_ipv4(rec.ip);
    if (n == networks.end() || !n->second.dns.enabled || !ip) continue;
    out.push_back({name, rec.network, n->second.dns.domain, *ip, rec.mac});
  }
  return out;
}

std::string dns_sum(const std::string& text) {
  return hex64(fnv1a64(text));
}

std::string vm_nameserver(const Network& n) { return n.dns.enabled ? n.subnet.value.gateway().str() : ""; }

}  // namespace banger
