// IP allocation: one address per (network, VM), kept across runs so a VM
// keeps its address for as long as it exists. Runs inside a transaction so
// two allocations never pick the same free address.
// GCC 12 at -O2 wrongly reports std::optional<Ipv4>::value as maybe uninitialized here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <set>

#include "common/host_error.h"
#include "state/sqlite_stmt.h"
#include "state/store.h"

namespace banger {

using sqlite::Stmt;

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
  Stmt st(db_, "SELECT ip FROM ip_allocations WHERE network = ?1 AND vm = ?2");
  st.bind(1, network).bind(2, vm);
  if (!st.step()) return std::nullopt;
  return parse_stored(network, st.text(0));
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
      Stmt(db_, "DELETE FROM ip_allocations WHERE network = ?1 AND vm = ?2")
          .bind(1, network)
          .bind(2, vm)
          .run();
      current.reset();
    }

    if (wanted) {
      if (!range.contains(*wanted))
        throw HostError("VM " + vm + ": ip " + wanted->str() + " is not a usable address of " +
                        where + "; pick one from " +
                        Ipv4{static_cast<uint32_t>(range.first)}.str() + " to " +
                        Ipv4{static_cast<uint32_t>(range.last)}.str() + " (" +
                        subnet.gateway().str() + " is the gateway)",
                        ErrorCode::Invalid);
      if (current && current->value == wanted->value) {
        result = *wanted;
        return;
      }
      Stmt holder(db_, "SELECT vm FROM ip_allocations WHERE network = ?1 AND ip = ?2");
      holder.bind(1, network).bind(2, wanted->str());
      if (holder.step())
        throw HostError("VM " + vm + ": ip " + wanted->str() + " on " + where +
                        " is already allocated to VM " + holder.text(0) +
                        "; choose another ip or delete VM " + holder.text(0),
                        ErrorCode::Conflict);
      // A VM whose manifest now names a different address moves to it.
      Stmt(db_, "INSERT OR REPLACE INTO ip_allocations (network, ip, vm) VALUES (?1, ?2, ?3)")
          .bind(1, network)
          .bind(2, wanted->str())
          .bind(3, vm)
          .run();
      result = *wanted;
      return;
    }

    if (current) {
      result = *current;
      return;
    }

    std::set<uint32_t> taken;
    Stmt used(db_, "SELECT ip FROM ip_allocations WHERE network = ?1");
    used.bind(1, network);
    while (used.step()) taken.insert(parse_stored(network, used.text(0)).value);
    for (uint64_t a = range.first; a <= range.last; ++a) {
      if (taken.count(static_cast<uint32_t>(a))) continue;
      result = Ipv4{static_cast<uint32_t>(a)};
      Stmt(db_, "INSERT INTO ip_allocations (network, ip, vm) VALUES (?1, ?2, ?3)")
          .bind(1, network)
          .bind(2, result.str())
          .bind(3, vm)
          .run();
      return;
    }
    throw HostError(where + " has no free address; use a larger subnet or delete a VM on it",
                    ErrorCode::Exhausted);
  });
  return result;
}

void Store::release_ips(const std::string& vm) {
  std::lock_guard lock(mu_);
  Stmt(db_, "DELETE FROM ip_allocations WHERE vm = ?1").bind(1, vm).run();
}

std::vector<IpAllocation> Store::allocations() {
  std::lock_guard lock(mu_);
  Stmt st(db_, "SELECT network, ip, vm FROM ip_allocations ORDER BY network, vm");
  std::vector<IpAllocation> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2)});
  return out;
}

}  // namespace banger
