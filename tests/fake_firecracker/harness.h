// Test-side helpers for fake-firecracker (header only; not part of the double):
// a process handle that starts the double and always kills it, a minimal
// HTTP/1.1 client over the unix socket (keep-alive, raw bytes for protocol
// tests), and a reader for the request record. No gtest dependency.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace fakefc::harness {

using Json = nlohmann::ordered_json;

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The request record: one JSON object per line.
inline std::vector<Json> read_record(const std::string& path) {
  std::vector<Json> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(Json::parse(line));
  }
  return lines;
}

inline int connect_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Response {
  int status = -1;  // -1: no (complete) answer in time
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  Json json() const { return body.empty() ? Json() : Json::parse(body); }
  std::string fault() const {
    Json j = json();
    return j.is_object() && j.contains("fault_message") ? j["fault_message"].get<std::string>() : "";
  }
};

// One keep-alive connection; every call reuses it.
class Client {
 public:
  explicit Client(const std::string& socket_path) : fd_(connect_unix(socket_path)) {
    if (fd_ < 0) throw std::runtime_error("cannot connect to " + socket_path);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Response call(const std::string& method, const std::string& path,
                const std::optional<std::string>& body = std::nullopt,
                const std::string& extra_headers = "") {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers;
    if (body) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body->size()) + "\r\n";
    req += "\r\n";
    if (body) req += *body;
    send_raw(req);
    return read_response();
  }
  Response get(const std::string& path) { return call("GET", path); }
  Response put(const std::string& path, const Json& body) { return call("PUT", path, body.dump()); }
  Response patch(const std::string& path, const Json& body) { return call("PATCH", path, body.dump()); }

  void send_raw(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  Response read_response(int timeout_ms = 5000) {
    Response r;
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(timeout_ms)) return r;
    }
    std::istringstream head(buf_.substr(0, head_end));
    buf_.erase(0, head_end + 4);
    std::string line;
    std::getline(head, line);
    if (line.size() >= 12) r.status = std::stoi(line.substr(9, 3));
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buf_.size() < length) {
      if (!fill(timeout_ms)) return Response{};
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the server closed the connection (reads EOF) within the timeout.
  bool closed_by_peer(int timeout_ms = 2000) {
    while (fill(timeout_ms)) {
    }
    return eof_;
  }

 private:
  bool fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char tmp[8192];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string buf_;
  bool eof_ = false;
};

struct ExitStatus {
  bool exited = false;  // false: still running after the timeout
  int code = -1;        // exit status when it exited normally
  int signal = 0;       // terminating signal otherwise
};

// The double as a child process with stdout/stderr in files. The destructor
// SIGKILLs it if it still runs, so no test leaves a process behind.
class Process {
 public:
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env, const std::string& out_path,
          const std::string& err_path) {
    std::vector<std::string> argv_s{binary};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      if (!env.count(kv.substr(0, kv.find('=')))) env_s.push_back(kv);
    }
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& s : argv_s) argv.push_back(s.data());
    for (auto& s : env_s) envp.push_back(s.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    ::close(out);
    ::close(err);
  }
  ~Process() {
    if (pid_ > 0 && !status_.exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  ExitStatus wait_exit(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!status_.exited) {
      int st = 0;
      pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_.exited = true;
        if (WIFEXITED(st)) status_.code = WEXITSTATUS(st);
        if (WIFSIGNALED(st)) status_.signal = WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return status_;
  }

  // Readiness as a client must test it: a successful connect (the file
  // exists before listen()). False if the process died or time ran out.
  bool wait_socket(const std::string& path, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int fd = connect_unix(path);
      if (fd >= 0) {
        ::close(fd);
        return true;
      }
      if (wait_exit(0).exited) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  ExitStatus status_;
};

}  // namespace fakefc::harness
