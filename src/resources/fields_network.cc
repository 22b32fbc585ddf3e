// The field table of Network.
#include "resources/field_table.h"
#include "resources/fields_placement.h"
#include "resources/names.h"
#include "resources/value_parsers.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

using Shows = std::optional<std::string>;

// A DNS domain: dot-separated DNS-1123 labels, at most 253 characters.
bool is_domain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!is_dns1123_label(std::string_view(s).substr(start, dot == std::string::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

const char* kDomainRule = "a DNS domain such as vm or vms.example";

void decode_dns(DocReader& r, const DocReader::MapView& spec, Network& out) {
  const DocReader::Entry* e = spec.find("dns");
  if (!e) return;
  NetworkDns& dns = out.dns;
  dns.mark = r.value_mark(*e);
  DocReader::MapView m = r.read_map(e->value, "spec.dns", dns.mark, {"enabled", "domain", "upstreams"});
  if (!m.ok) return;
  Field<bool> enabled;
  if (r.get(m, "enabled", enabled, DocReader::parse_bool, "true or false", false)) dns.enabled = enabled.value;
  Field<std::string> domain;
  if (r.get(m, "domain", domain, DocReader::parse_string, kDomainRule, false)) {
    if (!is_domain(domain.value)) {
      r.error(domain.mark, "spec.dns.domain",
              quote(domain.value) + " is not a DNS domain (expected " + std::string(kDomainRule) +
                  ": lowercase letters, digits and '-' in dot-separated labels)");
    } else {
      dns.domain = domain.value;
    }
  }
  const DocReader::Entry* up = m.find("upstreams");
  if (!up) return;
  if (!up->value.IsSequence()) {
    r.error(r.value_mark(*up), "spec.dns.upstreams",
            DocReader::wrong_type(up->value) + " (expected a list of IPv4 addresses such as [1.1.1.1])");
    return;
  }
  for (size_t i = 0; i < up->value.size(); ++i) {
    const YAML::Node item = up->value[i];
    Ipv4 ip;
    DocReader::Problem p;
    if (!parse_ip(item, ip, p)) {
      r.error(r.mark(item), "spec.dns.upstreams[" + std::to_string(i) + "]",
              p.what + " (expected an IPv4 address such as 1.1.1.1)");
      continue;
    }
    dns.upstreams.push_back(ip);
  }
}

}  // namespace

/// "off", "domain vm" or "domain vm, upstreams 1.1.1.1 9.9.9.9": what diff
/// shows and the state DB keeps.
std::string dns_text(const NetworkDns& d) {
  if (!d.enabled) return "off";
  std::string out = "domain " + d.domain;
  for (size_t i = 0; i < d.upstreams.size(); ++i) out += (i ? " " : ", upstreams ") + d.upstreams[i].str();
  return out;
}

std::optional<NetworkDns> parse_dns_text(const std::string& t) {
  NetworkDns d;
  if (t == "off") {
    d.enabled = false;
    return d;
  }
  if (t.rfind("domain ", 0) != 0) return std::nullopt;
  std::string rest = t.substr(7);
  const size_t comma = rest.find(", upstreams ");
  d.domain = rest.substr(0, comma);
  if (!is_domain(d.domain)) return std::nullopt;
  if (comma == std::string::npos) return d;
  std::string list = rest.substr(comma + 12);
  size_t start = 0;
  while (start <= list.size()) {
    size_t sp = list.find(' ', start);
    auto ip = parse_ipv4(std::string_view(list).substr(start, sp == std::string::npos ? sp : sp - start));
    if (!ip) return std::nullopt;
    d.upstreams.push_back(*ip);
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  return d;
}

const KindFields<Network>& network_fields() {
  using json = nlohmann::ordered_json;
  static const KindFields<Network> t = [] {
    KindFields<Network> k;
    k.doc = "A bridge with NAT to the outside, and the subnet its VMs get addresses from.";
    // A new subnet or bridge name is a different bridge; nat is a rule.
    k.fields.push_back(scalar<Network, Cidr>(
        {.key = "subnet",
         .rule = "an IPv4 CIDR from /16 to /29 such as 10.0.0.0/24",
         .doc = "The network's IPv4 CIDR, /16 to /29, with no host bits set. The bridge takes the first "
                "address. Required.",
         .schema = json{{"$ref", "#/$defs/subnet"}, {"examples", {"10.42.0.0/24", "172.30.0.0/16"}}},
         .required = true,
         .effect = FieldEffect::Replace},
        &Network::subnet, parse_subnet, cidr_text()));
    k.fields.push_back(scalar<Network, std::string>(
        {.key = "bridge",
         .rule = "an interface name of at most 15 letters, digits, '-', '_' or '.'",
         .doc = "The Linux bridge's name: at most 15 letters, digits, '-', '_' or '.'. Default: bg-<name>, "
                "shortened with a hash when longer than 15 characters.",
         .schema = json{{"$ref", "#/$defs/interfaceName"}, {"examples", {"bg-fleet", "br0"}}},
         .effect = FieldEffect::Replace},
        &Network::bridge, parse_bridge, string_text()));
    k.fields.push_back(scalar<Network, bool>(
        {.key = "nat",
         .rule = "true or false",
         .doc = "Masquerade the subnet's traffic to the outside. Default: true.",
         .schema = json{{"type", "boolean"}},
         .def = true},
        &Network::nat, DocReader::parse_bool, bool_text()));
    // The DNS and DHCP server is rewritten and restarted in place; VMs keep
    // running (a guest picks up a new nameserver at its next DHCP renewal
    // or boot).
    FieldDef<Network> dns;
    dns.key = "dns";
    dns.rule = "a mapping with enabled, domain and upstreams";
    dns.doc = "The network's DNS and DHCP server (dnsmasq on the bridge address): NAME.DOMAIN and "
              "NAME.NETWORK.DOMAIN for every VM, other names forwarded upstream, and a DHCP reservation "
              "for each VM's MAC. Default: enabled, domain vm, the host's resolvers.";
    dns.schema = json{{"$ref", "#/$defs/networkDns"}};
    dns.decode = decode_dns;
    dns.shown = {{"dns", FieldEffect::InPlace,
                  [](const Network& n, const ManifestSet&) { return Shows(dns_text(n.dns)); },
                  [](const std::string& t, Network& n) {
                    auto d = parse_dns_text(t);
                    if (d) n.dns = *d;
                    return d.has_value();
                  },
                  dns_text(NetworkDns{})}};
    k.fields.push_back(std::move(dns));
    // The bridge ports' isolated flag, set in place on every tap.
    k.fields.push_back(scalar<Network, bool>(
        {.key = "isolation",
         .rule = "true or false",
         .doc = "Keep the network's VMs from reaching each other: each reaches only the host (gateway, "
                "DNS) and, through NAT, the outside. Default: false.",
         .schema = json{{"type", "boolean"}},
         .def = false},
        &Network::isolation, DocReader::parse_bool, bool_text()));
    k.fields.push_back(placement_field<Network>());
    k.meta.push_back(labels_shown<Network>());
    return k;
  }();
  return t;
}

}  // namespace banger
