#include "drivers/resolved.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/host_error.h"
#include "common/lazy_lib.h"

namespace banger {

namespace {

#define BANGER_SDBUS_SYMBOLS(X)                                                                                  \
  X(sd_bus_open_system) X(sd_bus_flush_close_unref) X(sd_bus_call_method) X(sd_bus_message_new_method_call)      \
  X(sd_bus_message_append) X(sd_bus_message_open_container) X(sd_bus_message_close_container)                    \
  X(sd_bus_message_append_array) X(sd_bus_call) X(sd_bus_message_unref) X(sd_bus_error_free)                     \
  X(sd_bus_message_read) X(sd_bus_message_enter_container) X(sd_bus_message_exit_container)                      \
  X(sd_bus_message_read_array) X(sd_bus_get_property) X(sd_bus_error_has_name)

struct SdBusLib {
  BANGER_LAZY_MEMBERS(BANGER_SDBUS_SYMBOLS)
};
BANGER_LAZY_TABLE(SdBusLib, sdbus, BANGER_SDBUS_SYMBOLS, "libsystemd.so.0", "libsystemd0")

constexpr const char* kService = "org.freedesktop.resolve1";
constexpr const char* kPath = "/org/freedesktop/resolve1";
constexpr const char* kManager = "org.freedesktop.resolve1.Manager";
constexpr uint64_t kTimeoutUsec = 5'000'000;

struct MessageUnref {
  void operator()(sd_bus_message* m) const { sdbus().sd_bus_message_unref(m); }
};
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;

// An sd_bus_error freed on the way out.
struct Error {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  ~Error() { sdbus().sd_bus_error_free(&e); }
  std::string text(int r) const {
    if (e.message) return e.message;
    return std::strerror(-r);
  }
};

std::shared_ptr<sd_bus> open_bus() {
  sd_bus* b = nullptr;
  int r = sdbus().sd_bus_open_system(&b);
  if (r < 0) throw HostError::from_errno("systemd-resolved: opening the system bus", -r);
  return std::shared_ptr<sd_bus>(b, [](sd_bus* p) { sdbus().sd_bus_flush_close_unref(p); });
}

void check(int r, const char* what) {
  if (r < 0) throw HostError::from_errno(std::string("systemd-resolved: ") + what, -r);
}

// A Manager method call with `fill` appending its arguments.
template <class Fill>
void call(sd_bus* bus, const char* method, Fill&& fill) {
  const SdBusLib& sd = sdbus();
  sd_bus_message* raw = nullptr;
  check(sd.sd_bus_message_new_method_call(bus, &raw, kService, kPath, kManager, method), method);
  Message m(raw);
  fill(m.get());
  Error err;
  sd_bus_message* reply = nullptr;
  int r = sd.sd_bus_call(bus, m.get(), kTimeoutUsec, &err.e, &reply);
  Message keep(reply);
  if (r < 0) {
    throw HostError(std::string("systemd-resolved: ") + method + ": " + err.text(r),
                    r == -EACCES || r == -EPERM ? ErrorCode::Permission : ErrorCode::Io);
  }
}

}  // namespace

sd_bus* ResolvedDriver::bus() {
  if (!bus_) bus_ = open_bus();
  return bus_.get();
}

bool ResolvedDriver::running() {
  // Where resolved does not run (its varlink socket is missing) and no bus
  // was named, libsystemd and the libraries it brings (2 MiB of a diff's
  // memory) are not even opened.
  if (!std::getenv("DBUS_SYSTEM_BUS_ADDRESS") && ::access("/run/systemd/resolve/io.systemd.Resolve", F_OK) != 0) {
    return false;
  }
  try {
    const SdBusLib& sd = sdbus();
    std::shared_ptr<sd_bus> bus = open_bus();
    Error err;
    sd_bus_message* reply = nullptr;
    int r = sd.sd_bus_call_method(bus.get(), "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                  "NameHasOwner", &err.e, &reply, "s", kService);
    Message keep(reply);
    if (r < 0) return false;
    int has = 0;
    return sd.sd_bus_message_read(reply, "b", &has) >= 0 && has;
  } catch (const std::exception&) {
    return false;  // no bus, no libsystemd: no resolved to talk to
  }
}

bool ResolvedDriver::routes(const ResolvedLink& l, Ipv4 server, const std::string& domain) {
  return l.dns == std::vector<Ipv4>{server} && l.route_domains == std::vector<std::string>{domain} &&
         l.search_domains.empty();
}

std::optional<ResolvedLink> ResolvedDriver::link(int ifindex) {
  const SdBusLib& sd = sdbus();
  Error err;
  sd_bus_message* raw = nullptr;
  int r = sd.sd_bus_call_method(bus(), kService, kPath, kManager, "GetLink", &err.e, &raw, "i", ifindex);
  Message reply(raw);
  if (r < 0) {
    if (sd.sd_bus_error_has_name(&err.e, "org.freedesktop.resolve1.NoSuchLink")) return std::nullopt;
    throw HostError("systemd-resolved: GetLink " + std::to_string(ifindex) + ": " + err.text(r), ErrorCode::Io);
  }
  const char* path = nullptr;
  check(sd.sd_bus_message_read(reply.get(), "o", &path), "GetLink");
  const std::string link_path = path;
  ResolvedLink out;

  Error e1;
  sd_bus_message* dns_raw = nullptr;
  check(sd.sd_bus_get_property(bus(), kService, link_path.c_str(), "org.freedesktop.resolve1.Link", "DNS", &e1.e,
                               &dns_raw, "a(iay)"),
        "reading a link's DNS");
  Message dns(dns_raw);
  check(sd.sd_bus_message_enter_container(dns.get(), 'a', "(iay)"), "reading a link's DNS");
  while ((r = sd.sd_bus_message_enter_container(dns.get(), 'r', "iay")) > 0) {
    int family = 0;
    const void* bytes = nullptr;
    size_t size = 0;
    check(sd.sd_bus_message_read(dns.get(), "i", &family), "reading a link's DNS");
    check(sd.sd_bus_message_read_array(dns.get(), 'y', &bytes, &size), "reading a link's DNS");
    check(sd.sd_bus_message_exit_container(dns.get()), "reading a link's DNS");
    if (family == AF_INET && size == 4) {
      uint32_t be;
      std::memcpy(&be, bytes, 4);
      out.dns.push_back(Ipv4{ntohl(be)});
    }
  }
  check(r, "reading a link's DNS");

  Error e2;
  sd_bus_message* dom_raw = nullptr;
  check(sd.sd_bus_get_property(bus(), kService, link_path.c_str(), "org.freedesktop.resolve1.Link", "Domains",
                               &e2.e, &dom_raw, "a(sb)"),
        "reading a link's domains");
  Message domains(dom_raw);
  check(sd.sd_bus_message_enter_container(domains.get(), 'a', "(sb)"), "reading a link's domains");
  const char* name = nullptr;
  int route_only = 0;
  while ((r = sd.sd_bus_message_read(domains.get(), "(sb)", &name, &route_only)) > 0) {
    (route_only ? out.route_domains : out.search_domains).push_back(name);
  }
  check(r, "reading a link's domains");
  return out;
}

std::map<std::string, std::optional<ResolvedLink>> ResolvedDriver::links(const std::map<std::string, int>& ifindexes) {
  std::map<std::string, std::optional<ResolvedLink>> out;
  for (const auto& [key, ifindex] : ifindexes) {
    try {
      out[key] = link(ifindex);
    } catch (const HostError&) {
      out[key] = std::nullopt;  // cannot be asked now: reported as not set, repaired when it can be
    }
  }
  return out;
}

OpResult ResolvedDriver::route(int ifindex, Ipv4 server, const std::string& domain) {
  std::optional<ResolvedLink> now = link(ifindex);
  if (!now) {
    throw HostError("systemd-resolved does not know link " + std::to_string(ifindex) + " (yet)", ErrorCode::NotFound);
  }
  if (routes(*now, server, domain)) return OpResult::Unchanged;
  const SdBusLib& sd = sdbus();
  call(bus(), "SetLinkDNS", [&](sd_bus_message* m) {
    const uint32_t be = htonl(server.value);
    check(sd.sd_bus_message_append(m, "i", ifindex), "SetLinkDNS");
    check(sd.sd_bus_message_open_container(m, 'a', "(iay)"), "SetLinkDNS");
    check(sd.sd_bus_message_open_container(m, 'r', "iay"), "SetLinkDNS");
    check(sd.sd_bus_message_append(m, "i", AF_INET), "SetLinkDNS");
    check(sd.sd_bus_message_append_array(m, 'y', &be, 4), "SetLinkDNS");
    check(sd.sd_bus_message_close_container(m), "SetLinkDNS");
    check(sd.sd_bus_message_close_container(m), "SetLinkDNS");
  });
  call(bus(), "SetLinkDomains", [&](sd_bus_message* m) {
    check(sd.sd_bus_message_append(m, "ia(sb)", ifindex, 1, domain.c_str(), 1), "SetLinkDomains");
  });
  // Only NAME.domain goes to the link: not a default route for other
  // names, and no LLMNR or mDNS chatter with the guests.
  call(bus(), "SetLinkDefaultRoute", [&](sd_bus_message* m) {
    check(sd.sd_bus_message_append(m, "ib", ifindex, 0), "SetLinkDefaultRoute");
  });
  call(bus(), "SetLinkLLMNR", [&](sd_bus_message* m) {
    check(sd.sd_bus_message_append(m, "is", ifindex, "no"), "SetLinkLLMNR");
  });
  call(bus(), "SetLinkMulticastDNS", [&](sd_bus_message* m) {
    check(sd.sd_bus_message_append(m, "is", ifindex, "no"), "SetLinkMulticastDNS");
  });
  return now->dns.empty() && now->route_domains.empty() ? OpResult::Created : OpResult::Updated;
}

void ResolvedDriver::revert(int ifindex) {
  const SdBusLib& sd = sdbus();
  Error err;
  sd_bus_message* reply = nullptr;
  int r = sd.sd_bus_call_method(bus(), kService, kPath, kManager, "RevertLink", &err.e, &reply, "i", ifindex);
  Message keep(reply);
  if (r < 0 && !sd.sd_bus_error_has_name(&err.e, "org.freedesktop.resolve1.NoSuchLink")) {
    throw HostError("systemd-resolved: RevertLink " + std::to_string(ifindex) + ": " + err.text(r), ErrorCode::Io);
  }
}

}  // namespace banger
