#pragma once

#include <cstdint>
#include <string>

#include "state/record_schema.h"

namespace banger {

/// The running process of a VM, kept apart from the durable record.
struct VmRuntime {
  std::string name;
  int64_t pid = 0;
  /// Clock ticks since boot (field 22 of /proc/PID/stat). Stored as SQLite's
  /// int64: far below 2^63, so the cast is exact.
  uint64_t start_time = 0;
  std::string exe;
  std::string api_socket;
  std::string log_path;
  std::string hypervisor;  ///< "firecracker", "qemu"
  int64_t started_at = 0;
  std::string accel;       ///< QEMU's "kvm" or "tcg"; "" for Firecracker (and records before schema 5)
  /// "firecracker", "qemu/tcg", "qemu/kvm": what get -o wide shows.
  std::string label() const { return accel.empty() ? hypervisor : hypervisor + "/" + accel; }

  // In the export's key order: accel came later (schema 5), and the table
  // has it last, which the SQL does not mind (it names every column).
  static constexpr const char* kTable = "vm_runtime";
  static constexpr auto columns() {
    return std::tuple{column("name", "name", &VmRuntime::name),
                      column("pid", "pid", &VmRuntime::pid),
                      column("start_time", "startTime", &VmRuntime::start_time),
                      column("exe", "exe", &VmRuntime::exe),
                      column("api_socket", "apiSocket", &VmRuntime::api_socket),
                      column("log_path", "logPath", &VmRuntime::log_path),
                      column("hypervisor", "hypervisor", &VmRuntime::hypervisor),
                      // Added within export schemaVersion 1: older exports have none.
                      column("accel", "accel", &VmRuntime::accel, {.json_optional = true}),
                      column("started_at", "startedAt", &VmRuntime::started_at)};
  }
};

}  // namespace banger
