// IP allocation: one address per (network, VM), kept across runs so a VM
// keeps its address for as long as it exists. Runs inside a transaction so
// two allocations never pick the same free address.
// GCC 12 at -O2 wrongly reports std::optional<Ipv4>::value as maybe uninitialized here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <set>

#include "common/host_error.h"
#include "state/record_sql.h"
#include "state/store.h"

namespace banger {

using namespace sqlite;

namespace {

Ipv4 parse_stored(const std::string& network, const std::string& text) {
  auto ip = parse_ipv4(text);
  if (!ip)
    throw HostError("state database: network " + network + " has a malformed address record \"" +
                    text + "\"; delete the VM that holds it and apply again");
  return *ip;
}

// Host addresses a VM may get: after the gateway (network+1, the bridge's)
// and before the broadcast. 64-bit so /31 and /32 give an empty range
// instead of wrapping.
struct HostRange {
  uint64_t first, last;
  bool contains(Ipv4 ip) const { return ip.value >= first && ip.value <= last; }
};

HostRange host_range(const Cidr& subnet) {
  return {uint64_t{subnet.gateway().value} + 1, uint64_t{subnet.broadcast().value} - 1};
}

}  // namespace

std::optional<Ipv4> Store::allocated_ip(const std::string& network, const std::string& vm) {
  std::lock_guard lock(mu_);
  auto a = select_one<IpAllocation>(db_, "WHERE network = ?1 AND vm = ?2", network, vm);
  if (!a) return std::nullopt;
  return parse_stored(network, a->ip);
}

Ipv4 Store::allocate_ip(const std::string& network, const Cidr& subnet, const std::string& vm,
                        std::optional<Ipv4> wanted) {
  const HostRange range = host_range(subnet);
  const std::string where = "network " + network + " (" + subnet.str() + ")";
  Ipv4 result{};
  transaction([&] {
    auto current = allocated_ip(network, vm);
    // An address outside the subnet is left over from an older subnet of the
    // same network name: it cannot be kept.
    if (current && !range.contains(*current)) {
      delete_where<IpAllocation>(db_, "network = ?1 AND vm = ?2", network, vm);
      current.reset();
    }

    if (wanted) {
      if (!range.contains(*wanted))
        throw HostError("VM/" + vm + ": ip " + wanted->str() + " is not a usable address of " +
                        where + "; pick one from " +
                        Ipv4{static_cast<uint32_t>(range.first)}.str() + " to " +
                        Ipv4{static_cast<uint32_t>(range.last)}.str() + " (" +
                        subnet.gateway().str() + " is the gateway)",
                        ErrorCode::Invalid);
      if (current && current->value == wanted->value) {
        result = *wanted;
        return;
      }
      auto holder = select_one<IpAllocation>(db_, "WHERE network = ?1 AND ip = ?2", network, wanted->str());
      if (holder)
        throw HostError("VM/" + vm + ": ip " + wanted->str() + " on " + where +
                        " is already allocated to VM " + holder->vm +
                        "; choose another ip or delete VM " + holder->vm,
                        ErrorCode::Conflict);
      // A VM whose manifest now names a different address moves to it.
      upsert(db_, IpAllocation{network, wanted->str(), vm});
      result = *wanted;
      return;
    }

    if (current) {
      result = *current;
      return;
    }

    std::set<uint32_t> taken;
    for (const IpAllocation& a : select_all<IpAllocation>(db_, "WHERE network = ?1", network))
      taken.insert(parse_stored(network, a.ip).value);
    for (uint64_t a = range.first; a <= range.last; ++a) {
      if (taken.count(static_cast<uint32_t>(a))) continue;
      result = Ipv4{static_cast<uint32_t>(a)};
      insert(db_, IpAllocation{network, result.str(), vm});
      return;
    }
    throw HostError(where + " has no free address; use a larger subnet or delete a VM on it",
                    ErrorCode::Exhausted);
  });
  return result;
}

void Store::release_ips(const std::string& vm) {
  std::lock_guard lock(mu_);
  delete_where<IpAllocation>(db_, "vm = ?1", vm);
}

std::vector<IpAllocation> Store::allocations() {
  std::lock_guard lock(mu_);
  return select_all<IpAllocation>(db_, "ORDER BY network, vm");
}

}  // namespace banger
