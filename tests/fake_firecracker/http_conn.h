// HTTP/1.1 on one accepted unix-socket connection, parsed the way Firecracker's
// micro_http does: keep-alive, Content-Length bodies, "Expect: 100-continue",
// methods GET/PUT/PATCH/DELETE only, a payload limit, and answers whose status
// line has no reason phrase ("HTTP/1.1 204 ").
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace fakefc {

struct HttpRequest {
  std::string method;  // as sent: "GET", "PUT", ...
  std::string uri;     // as sent
  // micro_http's Uri::get_abs_path(): "http://host" stripped; "" unless it starts with '/'.
  std::string abs_path;
  // nullopt when there is no body (no or zero Content-Length), as in micro_http.
  std::optional<std::string> body;
};

struct HttpEvent {
  enum class Type {
    kRequest,        // a complete request
    kContinue,       // headers asked for "100 Continue" before the body
    kProtocolError,  // unparseable; answer 400 and close the connection
  };
  Type type = Type::kRequest;
  HttpRequest request;  // for kProtocolError: whatever was parsed before the error
  std::string error;
};

class HttpConnection {
 public:
  HttpConnection(int fd, std::size_t max_payload) : fd_(fd), max_payload_(max_payload) {}
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  int fd() const { return fd_; }

  // Reads what the socket has. False when the peer closed or the read failed.
  bool read_some();
  // The next event parsed from buffered bytes, if a whole one is there.
  std::optional<HttpEvent> next();

  // Writes a whole response. `body` empty means no Content-Type/Length
  // headers, as micro_http does for 204. False when the peer is gone.
  bool send_response(int status, const std::string& body, bool deprecation);
  bool send_continue();

 private:
  bool write_all(const std::string& bytes);
  std::optional<HttpEvent> parse_head();

  int fd_;
  std::size_t max_payload_;
  std::string in_;
  bool in_body_ = false;
  std::size_t content_length_ = 0;
  HttpRequest pending_;
};

}  // namespace fakefc
