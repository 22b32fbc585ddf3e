// fake-firecracker: a strict stand-in for Firecracker v1.16.1 on hosts without
// /dev/kvm. It starts like the real binary (flags, exit codes, the API socket
// that is never unlinked), answers the HTTP API on that socket as the real one
// would, and records every request for the tests. See README.md.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "http_conn.h"
#include "journal.h"
#include "options.h"
#include "vmm.h"

namespace fakefc {
namespace {

void write_stream(FILE* f, const std::string& text) {
  std::fputs(text.c_str(), f);
  std::fflush(f);
}

// Rust's expect() in a binary built with panic=abort: message, then SIGABRT.
[[noreturn]] void panic(const std::string& message) {
  write_stream(stderr, "thread 'main' panicked at src/firecracker/src/main.rs:\n" + message +
                           "\nnote: run with `RUST_BACKTRACE=1` environment variable to display a "
                           "backtrace\n");
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);  // no core files in test directories
  std::abort();
}

// main()'s error path: Display text through the logger, Debug text on stderr.
int fail(Logger& logger, int code, const std::string& display, const std::string& debug) {
  logger.error(display);
  write_stream(stderr, "Error: " + debug + "\n");
  logger.error("Firecracker exiting with error. exit_code=" + std::to_string(code));
  return code;
}

// Non-negative milliseconds from the environment; refusing junk loudly keeps
// a mistyped knob from silently testing nothing.
bool env_ms(const char* name, std::optional<int>& out) {
  const char* v = std::getenv(name);
  if (!v || !*v) return true;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0 || n > 24L * 3600 * 1000) {
    write_stream(stderr, std::string("fake-firecracker: ") + name +
                             " must be a number of milliseconds, got '" + v + "'\n");
    return false;
  }
  out = static_cast<int>(n);
  return true;
}

bool read_behaviour(Behaviour& b) {
  std::optional<int> delay;
  if (!env_ms("FAKE_FIRECRACKER_EXIT_AFTER_START", b.exit_after_start_ms)) return false;
  if (!env_ms("FAKE_FIRECRACKER_SHUTDOWN_DELAY_MS", delay)) return false;
  if (delay) b.shutdown_delay_ms = *delay;
  const char* ignore = std::getenv("FAKE_FIRECRACKER_IGNORE_CTRL_ALT_DEL");
  b.ignore_ctrl_alt_del = ignore && *ignore && std::string(ignore) != "0";
  return true;
}

void sleep_ms(const std::optional<int>& ms) {
  if (ms && *ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(*ms));
}

extern "C" void on_sighup(int) { _exit(156); }  // FcExitCode::SIGHUP

// Serves the API until the VM "exits". Returns the process exit status.
int serve(int listener, Vmm& vmm, Recorder& recorder, std::size_t max_payload) {
  std::vector<std::unique_ptr<HttpConnection>> conns;
  for (;;) {
    int timeout = -1;
    if (const auto& plan = vmm.exit_plan()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(plan->when - Clock::now());
      timeout = left.count() < 0 ? 0 : static_cast<int>(left.count()) + 1;
    }
    std::vector<pollfd> fds{{listener, POLLIN, 0}};
    for (const auto& c : conns) fds.push_back({c->fd(), POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) return kExitGeneric;
    if (const auto& plan = vmm.exit_plan(); plan && Clock::now() >= plan->when) return plan->code;
    if (n <= 0) continue;

    for (size_t i = conns.size(); i-- > 0;) {
      if (!fds[i + 1].revents) continue;
      HttpConnection& conn = *conns[i];
      bool keep = conn.read_some();
      // Requests already buffered are answered even if the peer half-closed.
      while (auto ev = conn.next()) {
        if (ev->type == HttpEvent::Type::kContinue) {
          keep = conn.send_continue() && keep;
          continue;
        }
        if (ev->type == HttpEvent::Type::kProtocolError) {
          recorder.record(ev->request.method, ev->request.uri, nullptr, 400);
          conn.send_response(400, fault(ev->error).body.dump(), false);
          keep = false;
          break;
        }
        Json body;
        ApiReply reply = vmm.handle(ev->request, body);
        // Recorded before answering: a client that has its answer can rely on the line.
        recorder.record(ev->request.method, ev->request.uri, body, reply.status);
        std::string text = reply.body.is_null() ? "" : reply.body.dump(-1, ' ', false, Json::error_handler_t::replace);
        if (!conn.send_response(reply.status, text, reply.deprecation)) keep = false;
      }
      if (!keep) conns.erase(conns.begin() + static_cast<long>(i));
    }
    if (fds[0].revents & POLLIN) {
      int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) conns.push_back(std::make_unique<HttpConnection>(fd, max_payload));
    }
  }
}

int run(int argc, char** argv) {
  ParseOutcome parsed = parse_command_line(argc, argv);
  const Options& o = parsed.options;
  Logger logger(o.id);
  switch (parsed.action) {
    case ParseOutcome::Action::kPrintHelp:
      write_stream(stdout, std::string("Firecracker v") + kVersion + "\n\n" + help_text() + "\n");
      return kExitOk;
    case ParseOutcome::Action::kPrintVersion:
      write_stream(stdout, std::string("Firecracker v") + kVersion + "\n\n");
      return kExitOk;
    case ParseOutcome::Action::kPrintSnapshotVersion:
      write_stream(stdout, "v10.0.0\n");
      return kExitOk;
    case ParseOutcome::Action::kFail:
      return fail(logger, kExitArgParsing, parsed.error_display, parsed.error_debug);
    case ParseOutcome::Action::kRun: break;
  }

  if (auto err = instance_id_error(o.id)) panic("Invalid instance ID: " + *err);
  std::optional<Level> level;
  if (o.level) {
    level = parse_level(*o.level);
    if (!level) {
      return fail(logger, kExitBadConfiguration,
                  "Invalid value for logger level: Failed to parse string to level filter: " +
                      *o.level + ".Possible values: [Error, Warning, Info, Debug]",
                  "InvalidLogLevel(LevelFilterFromStrError(\"" + *o.level + "\"))");
    }
  }
  if (auto err = logger.update(o.log_path, level, o.show_level ? std::optional(true) : std::nullopt,
                               o.show_log_origin ? std::optional(true) : std::nullopt)) {
    return fail(logger, kExitGeneric, "Could not initialize logger: " + *err,
                "LoggerInitialization(LoggerUpdateError(\"" + *err + "\"))");
  }
  logger.info(std::string("Running Firecracker v") + kVersion);

  if (o.config_file || o.no_api || o.metadata || o.describe_snapshot) {
    write_stream(stderr,
                 "fake-firecracker does not implement --config-file, --no-api, --metadata or "
                 "--describe-snapshot; configure the VM over the API socket.\n");
    return kExitGeneric;
  }
  char* end = nullptr;
  unsigned long long max_payload = std::strtoull(o.max_payload.c_str(), &end, 10);
  if (o.max_payload.empty() || *end != '\0' || o.max_payload[0] == '-') {
    panic("'http-api-max-payload-size' parameter expected to be of 'usize' type.: ParseIntError");
  }
  Behaviour behaviour;
  if (!read_behaviour(behaviour)) return kExitGeneric;
  Vmm vmm(o, behaviour, logger);
  if (o.metrics_path) {
    if (auto err = vmm.init_metrics(*o.metrics_path)) {
      return fail(logger, kExitGeneric, "Could not initialize metrics: " + *err,
                  "MetricsInitialization(InitializationFailure(\"" + *err + "\"))");
    }
  }

  std::optional<int> startup_delay, listen_delay;
  if (!env_ms("FAKE_FIRECRACKER_STARTUP_DELAY_MS", startup_delay) ||
      !env_ms("FAKE_FIRECRACKER_LISTEN_DELAY_MS", listen_delay)) {
    return kExitGeneric;
  }
  sleep_ms(startup_delay);

  int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string run_error = "RunWithApiError error: ";
  if (o.api_sock.size() >= sizeof addr.sun_path) {
    return fail(logger, kExitGeneric,
                run_error + "Failed to bind and run the HTTP server: IO error: path must be "
                            "shorter than SUN_LEN",
                "RunWithApi(FailedToBindAndRunHttpServer(IOError(InvalidInput)))");
  }
  std::memcpy(addr.sun_path, o.api_sock.c_str(), o.api_sock.size());
  // Like UnixListener::bind: an existing path (even a stale socket) is never
  // removed, and the bind fails with AddrInUse.
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    if (e == EADDRINUSE) {
      return fail(logger, kExitGeneric,
                  run_error + "Failed to open the API socket at: " + o.api_sock +
                      ". Check that it is not already used.",
                  "RunWithApi(FailedToBindSocket(\"" + o.api_sock + "\"))");
    }
    return fail(logger, kExitGeneric,
                run_error + "Failed to bind and run the HTTP server: IO error: " + os_error(e),
                "RunWithApi(FailedToBindAndRunHttpServer(IOError(" + os_error(e) + ")))");
  }
  // The window in which the socket file exists but refuses connections.
  sleep_ms(listen_delay);
  if (::listen(listener, 64) != 0) {
    return fail(logger, kExitGeneric,
                run_error + "Failed to bind and run the HTTP server: IO error: " + os_error(errno),
                "RunWithApi(FailedToBindAndRunHttpServer)");
  }
  logger.info("Listening on API socket (\"" + o.api_sock + "\").");

  const char* record_env = std::getenv("FAKE_FIRECRACKER_RECORD");
  Recorder recorder;
  const std::string record_path =
      record_env && *record_env ? std::string(record_env) : o.api_sock + ".requests.jsonl";
  if (auto err = recorder.open(record_path)) {
    write_stream(stderr, "fake-firecracker: " + *err + "\n");
    return kExitGeneric;
  }

  int code = serve(listener, vmm, recorder, static_cast<std::size_t>(max_payload));
  const auto& plan = vmm.exit_plan();
  if (code == 0) {
    if (plan) logger.info(plan->reason);
    logger.info("Firecracker exiting successfully. exit_code=0");
  } else {
    if (plan && plan->code == code) logger.error(plan->reason);
    logger.error("Firecracker exiting with error. exit_code=" + std::to_string(code));
  }
  // The socket file stays behind, as Firecracker leaves it (issue #1716).
  return code;
}

}  // namespace
}  // namespace fakefc

int main(int argc, char** argv) {
  // Firecracker only logs SIGPIPE; SIGTERM and SIGINT keep their default action.
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, fakefc::on_sighup);
  return fakefc::run(argc, argv);
}
