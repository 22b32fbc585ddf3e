#include "reconciler/dns_target.h"

#include <cstdio>

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

std::vector<DnsHost> dns_hosts(const ManifestSet& set, const std::map<std::string, VmRecord>& vms) {
  std::vector<DnsHost> out;
  for (const auto& [name, rec] : vms) {
    const Network* n = set.find_network(rec.network);
    auto ip = parse_ipv4(rec.ip);
    if (!n || !n->dns.enabled || !ip) continue;
    out.push_back({name, rec.network, n->dns.domain, *ip, rec.mac});
  }
  return out;
}

std::string dns_sum(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(text)));
  return buf;
}

std::string vm_nameserver(const Network& n) { return n.dns.enabled ? n.subnet.value.gateway().str() : ""; }

}  // namespace banger
