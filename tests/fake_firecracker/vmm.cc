// Routing, VM state and the endpoints that do not touch host devices.
// Error texts are Firecracker v1.16.1's own (VmmActionError and friends).
#include "vmm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <ctime>

namespace fakefc {
namespace {

const char* kPreBoot = "The requested operation is not supported before starting the microVM.";
const char* kPostBoot = "The requested operation is not supported after starting the microVM.";
const char* kSerdePrefix = "An error occurred when deserializing the json body of a request: ";

// Firecracker trims leading '/' and splits with split_terminator('/'): a
// trailing '/' adds no empty segment, an inner "//" does.
std::vector<std::string> split_path(const std::string& abs_path) {
  size_t start = abs_path.find_first_not_of('/');
  std::vector<std::string> parts;
  if (start == std::string::npos) return parts;
  std::string rest = abs_path.substr(start);
  size_t pos = 0;
  while (pos < rest.size()) {
    size_t slash = rest.find('/', pos);
    if (slash == std::string::npos) slash = rest.size();
    parts.push_back(rest.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

// Rust's {:?} of micro_http::Method in the API server's log lines.
std::string method_debug(const std::string& m) {
  if (m == "GET") return "Get";
  if (m == "PUT") return "Put";
  if (m == "PATCH") return "Patch";
  return "Delete";
}

}  // namespace

ApiReply fault(const std::string& message) {
  ApiReply r;
  r.status = 400;
  r.body = Json::object();
  r.body["fault_message"] = message;
  return r;
}

Vmm::Vmm(const Options& options, const Behaviour& behaviour, Logger& logger)
    : options_(options), behaviour_(behaviour), logger_(logger) {
  // MachineConfig::default(): 1 vCPU, 128 MiB.
  machine_config_ = Json::object();
  machine_config_["vcpu_count"] = 1;
  machine_config_["mem_size_mib"] = 128;
  machine_config_["smt"] = false;
  machine_config_["track_dirty_pages"] = false;
  machine_config_["huge_pages"] = "None";
}

Vmm::~Vmm() {
  for (auto& d : drives_) ::close(d.fd);
  for (auto& n : nets_) ::close(n.tap_fd);
  if (kernel_fd_ >= 0) ::close(kernel_fd_);
  if (metrics_fd_ >= 0) ::close(metrics_fd_);
}

ApiReply Vmm::handle(const HttpRequest& request, Json& recorded_body) {
  recorded_body = nullptr;
  Json parsed;
  Body body;
  if (request.body) {
    body.parse_error = parse_body(*request.body, parsed);
    // Stays null when the JSON is malformed; a body with duplicate keys did parse.
    recorded_body = parsed;
    body.json = &parsed;
    logger_.log(Level::kInfo, "fc_api",
                "The API server received a " + method_debug(request.method) + " request on " +
                    Json(request.abs_path).dump() + " with body " +
                    Json(*request.body).dump(-1, ' ', false, Json::error_handler_t::replace) + ".");
  } else {
    logger_.log(Level::kInfo, "fc_api",
                "The API server received a " + method_debug(request.method) + " request on " +
                    Json(request.abs_path).dump() + ".");
  }
  ApiReply reply = route(request, body);
  if (reply.status == 400) {
    logger_.log(Level::kError, "fc_api",
                "Received Error. Status code: 400 Bad Request. Message: " +
                    reply.body.value("fault_message", ""));
  } else {
    logger_.log(Level::kInfo, "fc_api",
                reply.status == 204
                    ? "The request was executed successfully. Status code: 204 No Content."
                    : "The request was executed successfully. Status code: 200 OK.");
  }
  return reply;
}

ApiReply Vmm::route(const HttpRequest& request, const Body& body) {
  const std::string& m = request.method;
  std::vector<std::string> parts = split_path(request.abs_path);
  std::string first = parts.empty() ? "" : parts[0];
  std::optional<std::string> second;
  if (parts.size() > 1) second = parts[1];
  const bool has_body = request.body.has_value();
  auto not_implemented = [&] {
    return fault("fake-firecracker does not implement " + m + " " + request.abs_path +
                 " (only what banger uses is simulated).");
  };

  if (m == "GET") {
    if (has_body) return fault("GET request cannot have a body.");
    if (first.empty()) return instance_info();
    if (first == "version") {
      ApiReply r;
      r.status = 200;
      r.body = Json::object();
      r.body["firecracker_version"] = kVersion;
      return r;
    }
    if (first == "vm" && second == "config") return full_config();
    if (first == "machine-config") return machine_config_reply();
    if (first == "balloon" || first == "mmds" || (first == "hotplug" && second == "memory")) {
      return not_implemented();
    }
  } else if (m == "PUT") {
    if (!has_body) return fault("Empty PUT request.");
    if (first == "actions") return put_action(body);
    if (first == "boot-source") return put_boot_source(body);
    if (first == "drives") return put_drive(body, second);
    if (first == "logger") return put_logger(body);
    if (first == "machine-config") return put_machine_config(body);
    if (first == "metrics") return put_metrics(body);
    if (first == "network-interfaces") return put_net(body, second);
    if (first == "balloon" || first == "cpu-config" || first == "pmem" || first == "serial" ||
        first == "mmds" || first == "snapshot" || first == "vsock" || first == "entropy" ||
        (first == "hotplug" && second == "memory")) {
      return not_implemented();
    }
  } else if (m == "PATCH") {
    if (first == "balloon") return not_implemented();
    if (!has_body) return fault("Empty PATCH request.");
    if (first == "drives") return patch_drive(body, second);
    if (first == "machine-config") return patch_machine_config(body);
    if (first == "network-interfaces") return patch_net(body, second);
    if (first == "vm") return patch_vm(body);
    if (first == "mmds" || first == "pmem" || (first == "hotplug" && second == "memory")) {
      return not_implemented();
    }
  } else if (m == "DELETE") {
    if (has_body) return fault("Empty Delete request.");
    if (first == "drives" || first == "pmem" || first == "network-interfaces") {
      return delete_device(second);
    }
  }
  return fault("Invalid request method and/or path: " + m + " " + first + ".");
}

std::optional<ApiReply> Vmm::deserialize(const Body& body, const Schema& schema, Json& out) const {
  if (body.parse_error) return fault(kSerdePrefix + *body.parse_error + ".");
  if (auto err = check_schema(*body.json, schema)) return fault(kSerdePrefix + *err + ".");
  out = without_nulls(*body.json);
  return std::nullopt;
}

ApiReply Vmm::instance_info() const {
  ApiReply r;
  r.status = 200;
  r.body = Json::object();
  r.body["id"] = options_.id;
  r.body["state"] = state_ == State::kNotStarted ? "Not started"
                    : state_ == State::kPaused   ? "Paused"
                                                 : "Running";
  r.body["vmm_version"] = kVersion;
  r.body["app_name"] = "Firecracker";
  return r;
}

ApiReply Vmm::machine_config_reply() const {
  ApiReply r;
  r.status = 200;
  r.body = machine_config_;
  return r;
}

ApiReply Vmm::full_config() const {
  ApiReply r;
  r.status = 200;
  Json& c = r.body = Json::object();
  c["balloon"] = nullptr;
  c["drives"] = Json::array();
  for (const auto& d : drives_) c["drives"].push_back(d.config);
  if (boot_source_) {
    c["boot-source"] = *boot_source_;
  } else {
    c["boot-source"] = {{"kernel_image_path", ""}, {"initrd_path", nullptr}, {"boot_args", nullptr}};
  }
  c["cpu-config"] = nullptr;
  c["logger"] = nullptr;
  c["machine-config"] = machine_config_;
  c["metrics"] = nullptr;
  c["mmds-config"] = nullptr;
  c["network-interfaces"] = Json::array();
  for (const auto& n : nets_) c["network-interfaces"].push_back(n.config);
  c["vsock"] = nullptr;
  c["entropy"] = nullptr;
  c["pmem"] = Json::array();
  c["memory-hotplug"] = nullptr;
  return r;
}

ApiReply Vmm::put_machine_config(const Body& body) {
  Json cfg;
  if (auto err = deserialize(body, schemas::kMachineConfig, cfg)) return *err;
  if (started()) return fault(kPostBoot);
  // MachineConfigUpdate::from(MachineConfig): defaults fill the optional
  // fields, except cpu_template, which stays unchanged when absent.
  Json update = cfg;
  if (!update.contains("smt")) update["smt"] = false;
  if (!update.contains("track_dirty_pages")) update["track_dirty_pages"] = false;
  if (!update.contains("huge_pages")) update["huge_pages"] = "None";
  return apply_machine_config(update, cfg.contains("cpu_template"));
}

ApiReply Vmm::patch_machine_config(const Body& body) {
  Json update;
  if (auto err = deserialize(body, schemas::kMachineConfigUpdate, update)) return *err;
  if (update.empty()) return fault("Empty PATCH request.");
  if (started()) return fault(kPostBoot);
  return apply_machine_config(update, update.contains("cpu_template"));
}

// MachineConfig::update: the whole update fails if any value is wrong.
ApiReply Vmm::apply_machine_config(const Json& update, bool deprecated_field) {
  Json next = machine_config_;
  for (const auto& [k, v] : update.items()) next[k] = v;
  const auto vcpus = next["vcpu_count"].get<uint64_t>();
  const bool smt = next["smt"].get<bool>();
  if (vcpus == 0 || vcpus > 32 || (smt && vcpus > 1 && vcpus % 2 == 1)) {
    return fault(
        "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must "
        "be 1 or an even number if SMT is enabled.");
  }
  const auto mem = next["mem_size_mib"].get<uint64_t>();
  if (mem == 0 || (next["huge_pages"] == "2M" && mem % 2 != 0)) {
    return fault(
        "Machine config error: The memory size (MiB) is either 0, or not a multiple of the "
        "configured page size.");
  }
  // cpu_template "None" clears it; GET omits the key when there is none.
  if (next.contains("cpu_template") && next["cpu_template"] == "None") next.erase("cpu_template");
  // Keep Firecracker's key order for GET /machine-config.
  Json ordered = Json::object();
  for (const char* k : {"vcpu_count", "mem_size_mib", "smt", "cpu_template", "track_dirty_pages",
                        "huge_pages"}) {
    if (next.contains(k)) ordered[k] = next[k];
  }
  machine_config_ = ordered;
  ApiReply r;
  r.deprecation = deprecated_field;  // cpu_template is deprecated: "Deprecation: true"
  return r;
}

ApiReply Vmm::put_logger(const Body& body) {
  Json cfg;
  if (auto err = deserialize(body, schemas::kLogger, cfg)) return *err;
  if (started()) return fault(kPostBoot);
  std::optional<std::string> path;
  if (cfg.contains("log_path")) path = cfg["log_path"].get<std::string>();
  std::optional<Level> level;
  if (cfg.contains("level")) level = parse_level(cfg["level"].get<std::string>());
  std::optional<bool> show_level, show_origin;
  if (cfg.contains("show_level")) show_level = cfg["show_level"].get<bool>();
  if (cfg.contains("show_log_origin")) show_origin = cfg["show_log_origin"].get<bool>();
  if (auto err = logger_.update(path, level, show_level, show_origin)) {
    return fault("Logger error: " + *err);
  }
  return ApiReply{};
}

std::optional<std::string> Vmm::init_metrics(const std::string& path) {
  // init_metrics opens the file first, then refuses a second initialisation.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd < 0) return "Cannot initialize the metrics system due to bad user input: " + os_error(errno);
  if (metrics_fd_ >= 0) {
    ::close(fd);
    return std::string(
        "Cannot initialize the metrics system due to bad user input: Reinitialization of metrics "
        "not allowed.");
  }
  metrics_fd_ = fd;
  ::lseek(metrics_fd_, 0, SEEK_END);
  return std::nullopt;
}

ApiReply Vmm::put_metrics(const Body& body) {
  Json cfg;
  if (auto err = deserialize(body, schemas::kMetrics, cfg)) return *err;
  if (started()) return fault(kPostBoot);
  if (auto err = init_metrics(cfg["metrics_path"].get<std::string>())) {
    return fault("Metrics config error: " + *err);
  }
  return ApiReply{};
}

void Vmm::schedule_exit(int delay_ms, int code, const std::string& reason) {
  ExitPlan plan{Clock::now() + std::chrono::milliseconds(delay_ms), code, reason};
  if (!exit_plan_ || plan.when < exit_plan_->when) exit_plan_ = plan;
}

ApiReply Vmm::put_action(const Body& body) {
  Json cfg;
  if (auto err = deserialize(body, schemas::kAction, cfg)) return *err;
  const std::string action = cfg["action_type"].get<std::string>();
  if (action == "InstanceStart") {
    if (started()) return fault(kPostBoot);
    if (!boot_source_) {
      return fault("Start microvm error: Cannot start microvm without kernel configuration.");
    }
    if (drives_.empty() || !drives_[0].config["is_root_device"].get<bool>()) {
      // Stricter than Firecracker, which would boot and let the guest panic.
      return fault(
          "Start microvm error: fake-firecracker requires a root block device "
          "(PUT /drives/{id} with is_root_device=true) before InstanceStart.");
    }
    // The kernel is loaded only now; something that is not a regular file fails here.
    struct stat st {};
    if (::fstat(kernel_fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      return fault(
          "Start microvm error: Cannot load kernel due to invalid memory configuration or invalid "
          "kernel image: the kernel image is not a regular file");
    }
    state_ = State::kRunning;
    // Stands in for the guest's serial console on Firecracker's stdout.
    const char line[] = "Guest booted (fake)\n";
    ssize_t ignored = ::write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
    if (behaviour_.exit_after_start_ms) {
      schedule_exit(*behaviour_.exit_after_start_ms, 1,
                    "simulated VM crash (FAKE_FIRECRACKER_EXIT_AFTER_START)");
    }
    return ApiReply{};
  }
  if (!started()) return fault(kPreBoot);
  if (action == "FlushMetrics") {
    if (metrics_fd_ >= 0) {
      std::string line =
          "{\"utc_timestamp_ms\":" + std::to_string(static_cast<long long>(std::time(nullptr)) * 1000) +
          "}\n";
      ssize_t ignored = ::write(metrics_fd_, line.data(), line.size());
      (void)ignored;
    }
    return ApiReply{};
  }
  // SendCtrlAltDel: a guest with i8042 reboots, and Firecracker exits 0.
  if (!behaviour_.ignore_ctrl_alt_del) {
    if (state_ == State::kPaused) {
      ctrl_alt_del_pending_ = true;
    } else {
      schedule_exit(behaviour_.shutdown_delay_ms, 0, "guest rebooted after SendCtrlAltDel");
    }
  }
  return ApiReply{};
}

ApiReply Vmm::patch_vm(const Body& body) {
  Json cfg;
  if (auto err = deserialize(body, schemas::kVm, cfg)) return *err;
  if (!started()) return fault(kPreBoot);
  if (cfg["state"] == "Paused") {
    state_ = State::kPaused;
  } else {
    state_ = State::kRunning;
    if (ctrl_alt_del_pending_) {
      ctrl_alt_del_pending_ = false;
      schedule_exit(behaviour_.shutdown_delay_ms, 0, "guest rebooted after SendCtrlAltDel");
    }
  }
  return ApiReply{};
}

}  // namespace fakefc
