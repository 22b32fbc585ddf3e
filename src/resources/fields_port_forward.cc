// The field table of PortForward. Every field is in place: the forward's
// nft rule is rewritten, the VM is left alone.
#include "resources/field_table.h"
#include "resources/fields_placement.h"
#include "resources/value_parsers.h"

namespace banger {

const KindFields<PortForward>& port_forward_fields() {
  using json = nlohmann::ordered_json;
  static const KindFields<PortForward> t = [] {
    KindFields<PortForward> k;
    k.doc = "Forwards a host port to a port of a VM.";
    const char* port_rule = "a port from 1 to 65535";
    k.fields.push_back(scalar<PortForward, std::string>(
        {.key = "vm",
         .rule = "the name of a VM",
         .doc = "The name of the VM to forward to. Required.",
         .schema = json{{"$ref", "#/$defs/reference"}, {"examples", {"web-1"}}},
         .required = true},
        &PortForward::vm, parse_nonempty_string, string_text()));
    k.fields.push_back(scalar<PortForward, uint16_t>({.key = "hostPort",
                                                      .rule = port_rule,
                                                      .doc = "The port on the host, 1 to 65535. Required.",
                                                      .schema = json{{"$ref", "#/$defs/port"}},
                                                      .required = true},
                                                     &PortForward::host_port,
                                                     DocReader::integer<uint16_t>(1, 65535), port_text()));
    k.fields.push_back(scalar<PortForward, uint16_t>({.key = "guestPort",
                                                      .rule = port_rule,
                                                      .doc = "The port in the VM, 1 to 65535. Required.",
                                                      .schema = json{{"$ref", "#/$defs/port"}},
                                                      .required = true},
                                                     &PortForward::guest_port,
                                                     DocReader::integer<uint16_t>(1, 65535), port_text()));
    k.fields.push_back(enum_field<PortForward, Protocol>(
        {.key = "protocol", .doc = "tcp or udp. Default: tcp.", .def = Protocol::Tcp}, &PortForward::protocol));
    k.fields.push_back(scalar<PortForward, Ipv4>(
        {.key = "hostAddress",
         .rule = "an IPv4 address such as 0.0.0.0 or 127.0.0.1",
         .doc = "The host address to listen on. Default: 0.0.0.0 (every address).",
         .schema = json{{"$ref", "#/$defs/ipv4"}, {"examples", {"127.0.0.1"}}},
         .def = Ipv4{0}},
        &PortForward::host_address, parse_ip, ipv4_text()));
    k.fields.push_back(placement_field<PortForward>());
    k.meta.push_back(labels_shown<PortForward>());
    return k;
  }();
  return t;
}

}  // namespace banger
