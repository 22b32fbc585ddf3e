// The field table of Network.
#include "resources/field_table.h"
#include "resources/value_parsers.h"

namespace banger {

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
    return k;
  }();
  return t;
}

}  // namespace banger
