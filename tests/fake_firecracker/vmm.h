// The microVM the double pretends to run: Firecracker's API routing
// (src/firecracker/src/api_server/parsed_request.rs), its pre-boot and
// post-boot controllers (src/vmm/src/rpc_interface.rs) and the resource checks
// that touch the host (kernel, drive files, TAP devices), without KVM.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "body_schema.h"
#include "http_conn.h"
#include "journal.h"
#include "options.h"

namespace fakefc {

using Clock = std::chrono::steady_clock;

// Knobs read from FAKE_FIRECRACKER_* variables (see README.md).
struct Behaviour {
  std::optional<int> exit_after_start_ms;  // crash (exit 1) this long after InstanceStart
  int shutdown_delay_ms = 20;              // SendCtrlAltDel -> exit 0 after this long
  bool ignore_ctrl_alt_del = false;        // guest without i8042: keeps running
};

struct ApiReply {
  int status = 204;
  Json body;  // null: no body (204)
  bool deprecation = false;
};

// When the process should end by itself, and with what status.
struct ExitPlan {
  Clock::time_point when;
  int code = 0;
  std::string reason;
};

class Vmm {
 public:
  Vmm(const Options& options, const Behaviour& behaviour, Logger& logger);
  ~Vmm();
  Vmm(const Vmm&) = delete;
  Vmm& operator=(const Vmm&) = delete;

  // Answers one API request. `recorded_body` receives the parsed body (null
  // when absent or not JSON) for the request record.
  ApiReply handle(const HttpRequest& request, Json& recorded_body);

  const std::optional<ExitPlan>& exit_plan() const { return exit_plan_; }

  // --metrics-path at startup, and PUT /metrics. Error text on failure.
  std::optional<std::string> init_metrics(const std::string& path);

 private:
  enum class State { kNotStarted, kRunning, kPaused };

  // The request body as the handlers see it: parsed JSON or the parse error.
  struct Body {
    const Json* json = nullptr;
    std::optional<std::string> parse_error;
  };

  struct Drive {
    Json config;  // as GET /vm/config shows it
    int fd = -1;  // the backing file stays open, as the real VMM keeps it
  };
  struct NetIf {
    Json config;
    int tap_fd = -1;  // attached with TUNSETIFF like the real VMM: EBUSY for others
    std::optional<std::string> mac;
  };

  ApiReply route(const HttpRequest& request, const Body& body);
  std::optional<ApiReply> deserialize(const Body& body, const Schema& schema, Json& out) const;

  // GET
  ApiReply instance_info() const;
  ApiReply machine_config_reply() const;
  ApiReply full_config() const;
  // PUT/PATCH handlers; `id` is the second path segment where relevant.
  ApiReply put_boot_source(const Body& body);
  ApiReply put_machine_config(const Body& body);
  ApiReply patch_machine_config(const Body& body);
  ApiReply put_drive(const Body& body, const std::optional<std::string>& id);
  ApiReply patch_drive(const Body& body, const std::optional<std::string>& id);
  ApiReply put_net(const Body& body, const std::optional<std::string>& id);
  ApiReply patch_net(const Body& body, const std::optional<std::string>& id);
  ApiReply put_logger(const Body& body);
  ApiReply put_metrics(const Body& body);
  ApiReply put_action(const Body& body);
  ApiReply patch_vm(const Body& body);
  ApiReply delete_device(const std::optional<std::string>& id);

  ApiReply apply_machine_config(const Json& update, bool deprecated_field);
  ApiReply insert_drive(const Json& config);
  ApiReply insert_net(const Json& config);
  void schedule_exit(int delay_ms, int code, const std::string& reason);
  bool started() const { return state_ != State::kNotStarted; }

  Options options_;
  Behaviour behaviour_;
  Logger& logger_;
  State state_ = State::kNotStarted;
  std::optional<Json> boot_source_;
  int kernel_fd_ = -1;
  Json machine_config_;
  std::vector<Drive> drives_;  // a root device, if any, is first (BlockBuilder order)
  std::vector<NetIf> nets_;
  int metrics_fd_ = -1;
  bool ctrl_alt_del_pending_ = false;  // sent while paused: acts on resume
  std::optional<ExitPlan> exit_plan_;
};

ApiReply fault(const std::string& message);

}  // namespace fakefc
