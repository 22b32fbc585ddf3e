// The pure half of network DNS: the query packet and reply parser, the three
// files dnsmasq reads, spec.dns as written and as stored, and the kernel's
// dns0.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "drivers/dns_query.h"
#include "drivers/dnsmasq.h"
#include "reconciler/desired_state.h"
#include "reconciler/dns_target.h"
#include "resources/field_table.h"
#include "resources/manifest_loader.h"

namespace banger {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(DnsQuery, PacketIsOneARecordQuestionWithRecursionDesired) {
  const std::string p = dns_query_packet(0x1234, "web.vm");
  EXPECT_EQ(p, bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'e', 'b', 2, 'v', 'm', 0, 0, 1, 0, 1}));
}

// A reply as dnsmasq writes it: the question, then an answer whose name is
// a pointer to the question's.
std::string reply(uint16_t id, int rcode, bool with_answer) {
  std::string r = bytes({id >> 8, id & 0xff, 0x85, 0x80 | rcode, 0, 1, 0, with_answer ? 1 : 0, 0, 0, 0, 0});
  r += bytes({3, 'w', 'e', 'b', 2, 'v', 'm', 0, 0, 1, 0, 1});
  if (with_answer) r += bytes({0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 90, 0, 2});
  return r;
}

TEST(DnsQuery, ReadsTheAddressesOfAReply) {
  auto a = parse_dns_reply(7, reply(7, 0, true));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rcode, 0);
  ASSERT_EQ(a->addresses.size(), 1u);
  EXPECT_EQ(a->addresses[0].str(), "10.90.0.2");
  auto nx = parse_dns_reply(7, reply(7, 3, false));
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->rcode, 3);
  EXPECT_TRUE(nx->addresses.empty());
}

TEST(DnsQuery, RefusesWhatIsNotAReplyToThisQuery) {
  EXPECT_FALSE(parse_dns_reply(8, reply(7, 0, true)));                  // another id
  EXPECT_FALSE(parse_dns_reply(7, dns_query_packet(7, "web.vm")));      // a query, not a reply
  std::string cut = reply(7, 0, true);
  cut.resize(cut.size() - 3);
  EXPECT_FALSE(parse_dns_reply(7, cut));                                // truncated answer
  EXPECT_FALSE(parse_dns_reply(7, bytes({0, 7, 0x85})));                // shorter than a header
}

// Lines as the kernel prints them: 10.90.0.1:53 is "01005A0A:0035" on a
// little-endian host (the network-order word printed as a number).
TEST(UdpTable, FindsABoundAddressAndPort) {
  const std::string table =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  123: 01005A0A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0\n"
      " 7000: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 0\n";
  const Ipv4 gw = *parse_ipv4("10.90.0.1");
  EXPECT_EQ(udp_table_has(table, gw, 53), htonl(gw.value) == 0x01005A0Au) << "a big-endian host prints it the other way";
  EXPECT_FALSE(udp_table_has(table, gw, 54));
  EXPECT_FALSE(udp_table_has(table, *parse_ipv4("10.90.0.2"), 53));
  EXPECT_TRUE(udp_table_has(table, Ipv4{0}, 67));
  EXPECT_FALSE(udp_table_has(table.substr(0, table.find('\n') + 1), gw, 53)) << "the header alone";
  EXPECT_FALSE(udp_table_has("", gw, 53));
}

DnsServerSpec server(std::vector<Ipv4> upstreams = {}) {
  DnsServerSpec s;
  s.network = "lab";
  s.bridge = "bg-lab";
  s.subnet = *parse_cidr("10.9.0.0/24");
  s.domain = "vm";
  s.upstreams = std::move(upstreams);
  s.dir = "/run/banger/networks/lab";
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(DnsmasqConf, BindsTheBridgeAloneAndServesReservationsOnly) {
  const std::string c = dnsmasq_conf(server());
  for (const char* line : {"interface=bg-lab", "except-interface=lo", "bind-interfaces", "no-hosts",
                           "addn-hosts=/run/banger/networks/lab/hosts", "local=/vm/", "domain=vm",
                           "dhcp-range=10.9.0.0,static,255.255.255.0,12h",
                           "dhcp-hostsfile=/run/banger/networks/lab/dhcp-hosts",
                           "dhcp-option=option:router,10.9.0.1", "dhcp-option=option:dns-server,10.9.0.1",
                           "resolv-file=/etc/resolv.conf", "leasefile-ro", "user=nobody"}) {
    EXPECT_TRUE(has_line(c, line)) << line << " missing from\n" << c;
  }
  // listen-address would stop dnsmasq binding its DHCP socket to the bridge,
  // and two networks' servers would then fight over port 67.
  EXPECT_EQ(c.find("listen-address"), std::string::npos);
  EXPECT_EQ(c.find("no-resolv"), std::string::npos);
}

TEST(DnsmasqConf, UpstreamsReplaceTheHostsResolvers) {
  const std::string c = dnsmasq_conf(server({*parse_ipv4("1.1.1.1"), *parse_ipv4("9.9.9.9")}));
  EXPECT_TRUE(has_line(c, "no-resolv"));
  EXPECT_TRUE(has_line(c, "server=1.1.1.1"));
  EXPECT_TRUE(has_line(c, "server=9.9.9.9"));
  EXPECT_EQ(c.find("resolv-file"), std::string::npos);
}

TEST(DnsmasqConf, HostsNameEveryVmAndReservationsOnlyTheNetworksOwn) {
  std::vector<DnsHost> hosts = {{"web", "lab", "vm", *parse_ipv4("10.9.0.10"), "06:00:0A:09:00:0A"},
                                {"db", "lab", "vm", *parse_ipv4("10.9.0.3"), "06:00:0A:09:00:03"},
                                {"ci", "other", "ci.example", *parse_ipv4("10.8.0.2"), "06:00:0A:08:00:02"}};
  EXPECT_EQ(dnsmasq_hosts(hosts),
            "10.8.0.2 ci.ci.example ci.other.ci.example\n"
            "10.9.0.10 web.vm web.lab.vm\n"
            "10.9.0.3 db.vm db.lab.vm\n");
  EXPECT_EQ(dnsmasq_dhcp_hosts("lab", hosts), "06:00:0a:09:00:03,10.9.0.3,db\n06:00:0a:09:00:0a,10.9.0.10,web\n");
  EXPECT_EQ(dnsmasq_dhcp_hosts("none", hosts), "");
}

LoadResult load_text(const std::string& text, const std::string& name) {
  return load_texts({SourceText{name, "/m", text}});
}

LoadResult load(const std::string& spec) {
  return load_text("apiVersion: banger.dev/v1\nkind: Network\nmetadata: {name: lab}\nspec:\n  subnet: 10.9.0.0/24\n" + spec,
                   "net.yaml");
}

std::string errors(const LoadResult& r) {
  std::string out;
  for (const Diagnostic& d : r.diags.sorted()) out += d.format() + "\n";
  return out;
}

TEST(NetworkDns, DefaultsToOnWithDomainVm) {
  LoadResult r = load("");
  ASSERT_TRUE(r.diags.empty()) << errors(r);
  const Network& n = r.set.networks.at(0);
  EXPECT_TRUE(n.dns.enabled);
  EXPECT_EQ(n.dns.domain, "vm");
  EXPECT_TRUE(n.dns.upstreams.empty());
  EXPECT_FALSE(n.isolation.value);
  EXPECT_EQ(vm_nameserver(n), "10.9.0.1");
}

TEST(NetworkDns, ReadsEveryField) {
  LoadResult r = load("  dns: {domain: vms.example, upstreams: [1.1.1.1, 9.9.9.9]}\n  isolation: true\n");
  ASSERT_TRUE(r.diags.empty()) << errors(r);
  const Network& n = r.set.networks.at(0);
  EXPECT_EQ(dns_text(n.dns), "domain vms.example, upstreams 1.1.1.1 9.9.9.9");
  EXPECT_TRUE(n.isolation.value);
  r = load("  dns: {enabled: false}\n");
  ASSERT_TRUE(r.diags.empty()) << errors(r);
  EXPECT_EQ(dns_text(r.set.networks.at(0).dns), "off");
  EXPECT_EQ(vm_nameserver(r.set.networks.at(0)), "");
}

TEST(NetworkDns, BadValuesNameTheFieldAndLine) {
  std::string e = errors(load("  dns: {domain: Bad_Domain}\n"));
  EXPECT_NE(e.find("net.yaml:6"), std::string::npos) << e;
  EXPECT_NE(e.find("spec.dns.domain"), std::string::npos) << e;
  EXPECT_NE(e.find("is not a DNS domain"), std::string::npos) << e;
  e = errors(load("  dns:\n    upstreams: [1.1.1.1, 300.1.1.1]\n"));
  EXPECT_NE(e.find("spec.dns.upstreams[1]"), std::string::npos) << e;
  EXPECT_NE(e.find("net.yaml:7"), std::string::npos) << e;
  e = errors(load("  dns: {upstreams: 1.1.1.1}\n"));
  EXPECT_NE(e.find("expected a list of IPv4 addresses"), std::string::npos) << e;
  e = errors(load("  dns: {enable: true}\n"));
  EXPECT_NE(e.find("spec.dns.enable"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"enabled\"?"), std::string::npos) << e;
  e = errors(load("  dns: on\n"));
  EXPECT_NE(e.find("spec.dns"), std::string::npos) << e;
}

TEST(NetworkDns, StoredTextReadsBack) {
  for (const std::string t : {"off", "domain vm", "domain vms.example, upstreams 1.1.1.1 9.9.9.9"}) {
    auto d = parse_dns_text(t);
    ASSERT_TRUE(d) << t;
    EXPECT_EQ(dns_text(*d), t);
  }
  EXPECT_FALSE(parse_dns_text("domain Bad_"));
  EXPECT_FALSE(parse_dns_text("domain vm, upstreams 1.1.1"));
  EXPECT_FALSE(parse_dns_text("on"));
}

TEST(NetworkDns, TheKernelGetsTheNameserverAsDns0) {
  LoadResult r = load_text(
      "apiVersion: banger.dev/v1\nkind: Kernel\nmetadata: {name: k}\nspec: {path: /k}\n---\n"
      "apiVersion: banger.dev/v1\nkind: VM\nmetadata: {name: web}\nspec: {kernel: k, image: i}\n",
      "vm.yaml");
  const VM& vm = r.set.vms.at(0);
  EXPECT_EQ(boot_args(r.set.kernels.at(0), vm, *parse_ipv4("10.9.0.10"), *parse_cidr("10.9.0.0/24"), "10.9.0.1"),
            "console=ttyS0 reboot=k panic=1 ip=10.9.0.10::10.9.0.1:255.255.255.0:web:eth0:off:10.9.0.1");
}

}  // namespace
}  // namespace banger
