// What each network's DNS server should serve, from the manifests and the
// VM records (which hold the addresses banger allocated). Pure: diff uses
// it to judge the running servers, sync-dns to write their files.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "drivers/dnsmasq.h"
#include "resources/model.h"
#include "reconciler/spec.h"
#include "state/store.h"

namespace banger {

/// Network n's server, its files in dns_root/NAME, run as `user`
/// (dnsmasq_user_for(dns_root), observed once).
DnsServerSpec dns_server_spec(const Network& n, const std::string& dns_root, const std::string& user);
/// The applied Networks, as their records say (what the servers run with;
/// a network being created or changed gets its record before sync-dns).
std::map<std::string, Network> applied_networks(const std::map<ResourceKey, ResourceRecord>& applied);
/// Every recorded VM on one of `networks` whose DNS is on, with that
/// network's domain: the names every server answers.
std::vector<DnsHost> dns_hosts(const std::map<std::string, Network>& networks,
                               const std::map<std::string, VmRecord>& vms);
/// The FNV-1a sum ObservedDns keeps of a file's text.
std::string dns_sum(const std::string& text);
/// The kernel's nameserver for a VM on n (the bridge address), "" when DNS is off.
std::string vm_nameserver(const Network& n);

}  // namespace banger
