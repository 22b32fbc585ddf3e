#include "http_conn.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace fakefc {
namespace {

// Bounds memory for a client that never ends its header block.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string abs_path_of(const std::string& uri) {
  const std::string scheme = "http://";
  if (uri.rfind(scheme, 0) == 0) {
    size_t slash = uri.find('/', scheme.size());
    return slash == std::string::npos ? "" : uri.substr(slash);
  }
  return uri.rfind('/', 0) == 0 ? uri : "";
}

HttpEvent protocol_error(const HttpRequest& partial, const std::string& message) {
  HttpEvent ev;
  ev.type = HttpEvent::Type::kProtocolError;
  ev.request = partial;
  ev.error = message;
  return ev;
}

}  // namespace

HttpConnection::~HttpConnection() { ::close(fd_); }

bool HttpConnection::read_some() {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

std::optional<HttpEvent> HttpConnection::next() {
  if (!in_body_) return parse_head();
  if (in_.size() < content_length_) return std::nullopt;
  HttpEvent ev;
  ev.request = pending_;
  ev.request.body = in_.substr(0, content_length_);
  in_.erase(0, content_length_);
  in_body_ = false;
  return ev;
}

std::optional<HttpEvent> HttpConnection::parse_head() {
  size_t end = in_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (in_.size() > kMaxHeaderBytes) return protocol_error({}, "Invalid request.");
    return std::nullopt;
  }
  std::string head = in_.substr(0, end);
  in_.erase(0, end + 4);

  HttpRequest req;
  size_t line_end = head.find("\r\n");
  std::string line = head.substr(0, line_end);
  // Request line: method SP uri SP version, split at the first two spaces.
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) return protocol_error(req, "Invalid request.");
  req.method = line.substr(0, sp1);
  req.uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string version = line.substr(sp2 + 1);
  if (req.method != "GET" && req.method != "PUT" && req.method != "PATCH" &&
      req.method != "DELETE") {
    return protocol_error(req, "Invalid HTTP Method: Unsupported HTTP method.");
  }
  if (req.uri.empty()) return protocol_error(req, "Invalid URI: Empty URI not allowed.");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return protocol_error(req, "Invalid HTTP Version: Unsupported HTTP version.");
  }
  req.abs_path = abs_path_of(req.uri);

  size_t content_length = 0;
  bool expect_continue = false;
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string header = head.substr(pos, eol - pos);
    pos = eol + 2;
    size_t colon = header.find(':');
    if (colon == std::string::npos) {
      return protocol_error(req, "Invalid header. Reason: Header is incorrectly formatted. Key: " +
                                     header);
    }
    std::string name = lower(trim(header.substr(0, colon)));
    std::string value = trim(header.substr(colon + 1));
    if (name == "content-length") {
      bool digits = !value.empty() && value.size() <= 10 &&
                    std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); });
      unsigned long long n = digits ? std::stoull(value) : 0;
      if (!digits || n > 0xffffffffULL) {
        return protocol_error(req, "Invalid header. Reason: Invalid value. Key:Content-Length; Value: " +
                                       value);
      }
      content_length = static_cast<size_t>(n);
    } else if (name == "transfer-encoding" && lower(value) == "chunked") {
      // micro_http only ever reads Content-Length bytes, so a chunked body
      // would be misparsed as further requests; refuse it outright instead.
      return protocol_error(req,
                            "Chunked request bodies are not supported: send the body with a "
                            "Content-Length header.");
    } else if (name == "expect" && value == "100-continue") {
      expect_continue = true;
    }
  }

  if (content_length > max_payload_) {
    return protocol_error(req, "Request payload with size " + std::to_string(content_length) +
                                   " is larger than the limit of " + std::to_string(max_payload_) +
                                   " allowed by server.");
  }
  if (content_length == 0) {
    HttpEvent ev;
    ev.request = req;
    return ev;
  }
  pending_ = req;
  content_length_ = content_length;
  in_body_ = true;
  if (expect_continue) {
    HttpEvent ev;
    ev.type = HttpEvent::Type::kContinue;
    ev.request = req;
    return ev;
  }
  return next();
}

bool HttpConnection::write_all(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // A client that stops reading for this long is gone for our purposes.
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool HttpConnection::send_response(int status, const std::string& body, bool deprecation) {
  std::string out = "HTTP/1.1 " + std::to_string(status) +
                    " \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n";
  if (deprecation) out += "Deprecation: true\r\n";
  if (!body.empty()) {
    out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  }
  out += "\r\n" + body;
  return write_all(out);
}

bool HttpConnection::send_continue() { return write_all("HTTP/1.1 100 Continue\r\n\r\n"); }

}  // namespace fakefc
