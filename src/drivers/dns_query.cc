#include "drivers/dns_query.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/read_file.h"
#include "common/unique_fd.h"

namespace banger {

namespace {

void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}

uint16_t get16(const std::string& p, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(p[at]) << 8) | static_cast<unsigned char>(p[at + 1]));
}

// Skips a (possibly compressed) name; the offset after it, or npos.
size_t skip_name(const std::string& p, size_t at) {
  for (int labels = 0; labels < 128; ++labels) {
    if (at >= p.size()) return std::string::npos;
    const auto len = static_cast<unsigned char>(p[at]);
    if (len == 0) return at + 1;
    if ((len & 0xC0) == 0xC0) return at + 2 <= p.size() ? at + 2 : std::string::npos;  // a pointer ends the name
    if ((len & 0xC0) != 0) return std::string::npos;
    at += 1 + len;
  }
  return std::string::npos;
}

}  // namespace

std::string dns_query_packet(uint16_t id, const std::string& name) {
  std::string out;
  put16(out, id);
  put16(out, 0x0100);  // a standard query, recursion desired
  put16(out, 1);       // one question
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const size_t len = dot - start;
    if (len > 0 && len < 64) {
      out += static_cast<char>(len);
      out.append(name, start, len);
    }
    start = dot + 1;
  }
  out += '\0';
  put16(out, 1);  // A
  put16(out, 1);  // IN
  return out;
}

std::optional<DnsAnswer> parse_dns_reply(uint16_t id, const std::string& p) {
  if (p.size() < 12 || get16(p, 0) != id) return std::nullopt;
  const uint16_t flags = get16(p, 2);
  if (!(flags & 0x8000)) return std::nullopt;  // not a response
  DnsAnswer a;
  a.rcode = flags & 0x0f;
  size_t at = 12;
  for (uint16_t q = get16(p, 4); q > 0; --q) {
    at = skip_name(p, at);
    if (at == std::string::npos || at + 4 > p.size()) return std::nullopt;
    at += 4;
  }
  for (uint16_t n = get16(p, 6); n > 0; --n) {
    at = skip_name(p, at);
    if (at == std::string::npos || at + 10 > p.size()) return std::nullopt;
    const uint16_t type = get16(p, at), cls = get16(p, at + 2), len = get16(p, at + 8);
    at += 10;
    if (at + len > p.size()) return std::nullopt;
    if (type == 1 && cls == 1 && len == 4) {
      a.addresses.push_back(Ipv4{(static_cast<uint32_t>(get16(p, at)) << 16) | get16(p, at + 2)});
    }
    at += len;
  }
  return a;
}

std::optional<DnsAnswer> dns_lookup(Ipv4 server, const std::string& name, std::chrono::milliseconds timeout,
                                    uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(server.value);
  // connect(): the kernel drops datagrams from anyone else, and an ICMP
  // "port unreachable" comes back as an error instead of a wait.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return std::nullopt;
  const auto id = static_cast<uint16_t>((::getpid() ^ static_cast<int>(timeout.count())) & 0xffff);
  const std::string q = dns_query_packet(id, name);
  if (::send(fd.get(), q.data(), q.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(q.size())) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[1500];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fd.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;  // refused: nothing listens there
    if (auto a = parse_dns_reply(id, std::string(buf, static_cast<size_t>(n)))) return a;
  }
}

bool loopback_up() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  return ::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) != 0;
}

bool udp_table_has(const std::string& proc_net_udp, Ipv4 addr, uint16_t port) {
  // "  12: 01005A0A:0035 00000000:0000 07 ...": the address is the raw
  // network-order word printed as a native hex number, the port in host order.
  std::istringstream in(proc_net_udp);
  std::string line;
  std::getline(in, line);  // the header
  const uint32_t want = htonl(addr.value);
  while (std::getline(in, line)) {
    unsigned slot = 0, a = 0, p = 0;
    if (std::sscanf(line.c_str(), " %u: %8X:%4X", &slot, &a, &p) == 3 && a == want && p == port) return true;
  }
  return false;
}

bool udp_bound(Ipv4 addr, uint16_t port) {
  auto text = read_small_file("/proc/net/udp", 64 << 20);
  return text && udp_table_has(*text, addr, port);
}

}  // namespace banger
