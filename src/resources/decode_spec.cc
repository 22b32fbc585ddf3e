#include "resources/decode_spec.h"

#include <filesystem>
#include <regex>

#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

using Problem = DocReader::Problem;

bool parse_nonempty_string(const YAML::Node& n, std::string& out, Problem& p) {
  if (!DocReader::parse_string(n, out, p)) return false;
  if (out.empty()) p.what = "is empty";
  return !out.empty();
}

// A size given as "512Mi" or as a byte count, whole MiB, within [min, max].
DocReader::Parse<uint64_t> size_parser(uint64_t min, uint64_t max) {
  return [min, max](const YAML::Node& n, uint64_t& out, Problem& p) {
    ScalarValue v = read_scalar(n);
    std::optional<uint64_t> bytes;
    if (v.type == YamlType::Int && !v.int_overflow && v.integer >= 0) {
      bytes = static_cast<uint64_t>(v.integer);
    } else if (v.type == YamlType::String) {
      bytes = parse_size(v.text);
      if (!bytes) {
        p.what = quote(v.text) + " is not a valid size";
        return false;
      }
    } else if (v.type != YamlType::Int) {
      p.what = DocReader::wrong_type(n);
      return false;
    }
    if (!bytes || *bytes < min || *bytes > max) {
      p.what = describe_value(n) + " is out of range";
      return false;
    }
    if (*bytes % MiB != 0) {
      p.what = describe_value(n) + " is not a whole number of Mi";
      return false;
    }
    out = *bytes;
    return true;
  };
}

bool parse_duration_field(const YAML::Node& n, std::chrono::milliseconds& out, Problem& p) {
  ScalarValue v = read_scalar(n);
  std::optional<std::chrono::milliseconds> d;
  if (v.type == YamlType::Int && !v.int_overflow && v.integer >= 0 && v.integer < 1'000'000) {
    d = std::chrono::seconds(v.integer);
  } else if (v.type == YamlType::String) {
    d = parse_duration(v.text);
    if (!d) {
      p.what = quote(v.text) + " is not a valid duration";
      return false;
    }
  } else if (v.type != YamlType::Int) {
    p.what = DocReader::wrong_type(n);
    return false;
  }
  if (!d || *d < std::chrono::seconds(1) || *d > std::chrono::hours(1)) {
    p.what = describe_value(n) + " is out of range";
    return false;
  }
  out = *d;
  return true;
}

bool parse_ip(const YAML::Node& n, Ipv4& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  auto ip = parse_ipv4(s);
  if (!ip) p.what = quote(s) + " is not a valid IPv4 address";
  if (ip) out = *ip;
  return ip.has_value();
}

bool parse_subnet(const YAML::Node& n, Cidr& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  auto c = parse_cidr(s);
  if (!c) {
    p.what = quote(s) + " is not a valid CIDR";
    return false;
  }
  if (c->prefix < 16 || c->prefix > 29) {
    p.what = quote(s) + " has a /" + std::to_string(c->prefix) + " prefix";
    return false;
  }
  if (c->base != c->network()) {
    p.what = quote(s) + " has host bits set";
    p.hint = "did you mean " + quote(Cidr{c->network(), c->prefix}.str()) + "?";
    return false;
  }
  out = *c;
  return true;
}

bool parse_sha256(const YAML::Node& n, std::string& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  static const std::regex re("[0-9a-fA-F]{64}");
  if (!std::regex_match(s, re)) {
    p.what = quote(s) + " is not a SHA-256 digest";
    return false;
  }
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out = s;
  return true;
}

bool parse_url(const YAML::Node& n, std::string& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  static const std::regex re(R"((https?|file)://[^\s]+)");
  if (!std::regex_match(s, re)) {
    p.what = quote(s) + " is not a supported URL";
    return false;
  }
  out = s;
  return true;
}

bool parse_bridge(const YAML::Node& n, std::string& out, Problem& p) {
  std::string s;
  if (!DocReader::parse_string(n, s, p)) return false;
  if (s.size() > kMaxIfName) {
    p.what = quote(s) + " is " + std::to_string(s.size()) + " characters long";
    return false;
  }
  if (!is_interface_name(s)) {
    p.what = quote(s) + " is not a valid interface name";
    return false;
  }
  out = s;
  return true;
}

// path/url/sha256 as shared by Kernel, its initrd, and Image.
void decode_artifact(DocReader& r, const DocReader::MapView& m, const std::string& base_dir,
                     ArtifactSource& out) {
  if (!m.ok) return;
  bool has_path = r.get(m, "path", out.path, parse_nonempty_string, "a file path", false);
  r.get(m, "url", out.url, parse_url,
                       "an http://, https:// or file:// URL", false);
  r.get(m, "sha256", out.sha256, parse_sha256, "64 hexadecimal digits", false);
  bool path_written = m.find("path") != nullptr, url_written = m.find("url") != nullptr;
  if (path_written && url_written) {
    r.error(r.value_mark(*m.find("url")), m.field("url"),
            "path and url are both set (expected exactly one of them)");
  } else if (!path_written && !url_written) {
    r.error(m.mark, m.field("path"), "is required (expected exactly one of path or url)");
  }
  if (url_written && !m.find("sha256")) {
    r.error(m.mark, m.field("sha256"),
            "is required with url (expected the 64-hex-digit SHA-256 of the download)");
  }
  if (has_path) {
    // Relative paths start at the manifest's own folder, so a checkout works
    // wherever it is cloned and whatever the current directory is.
    std::filesystem::path p(out.path.value);
    std::error_code ec;
    std::filesystem::path full = p.is_absolute() ? p : std::filesystem::path(base_dir) / p;
    if (!full.is_absolute()) full = std::filesystem::absolute(full, ec);
    out.resolved_path = full.lexically_normal().string();
  }
}

}  // namespace

void decode_network_spec(DocReader& r, const DocReader::MapView& spec, Network& out) {
  r.get(spec, "subnet", out.subnet, parse_subnet, "an IPv4 CIDR from /16 to /29 such as 10.0.0.0/24",
        true);
  r.get(spec, "bridge", out.bridge, parse_bridge,
        "an interface name of at most 15 letters, digits, '-', '_' or '.'", false);
  out.nat.value = true;
  r.get(spec, "nat", out.nat, DocReader::parse_bool, "true or false", false);
}

void decode_kernel_spec(DocReader& r, const DocReader::MapView& spec, const std::string& base_dir,
                        Kernel& out) {
  decode_artifact(r, spec, base_dir, out.source);
  if (const DocReader::Entry* e = spec.find("initrd")) {
    out.initrd_mark = r.value_mark(*e);
    DocReader::MapView m =
        r.read_map(e->value, "spec.initrd", out.initrd_mark, {"path", "url", "sha256"});
    out.initrd.emplace();
    decode_artifact(r, m, base_dir, *out.initrd);
  }
  out.args.value = kDefaultKernelArgs;
  r.get(spec, "args", out.args, DocReader::parse_string, "kernel command-line arguments", false);
}

void decode_image_spec(DocReader& r, const DocReader::MapView& spec, const std::string& base_dir,
                       Image& out) {
  decode_artifact(r, spec, base_dir, out.source);
}

void decode_vm_spec(DocReader& r, const DocReader::MapView& spec, VM& out) {
  r.get(spec, "kernel", out.kernel, parse_nonempty_string, "the name of a Kernel", true);
  r.get(spec, "image", out.image, parse_nonempty_string, "the name of an Image", true);
  out.vcpus.value = 1;
  r.get(spec, "vcpus", out.vcpus, DocReader::integer<int>(1, 32), "an integer from 1 to 32", false);
  out.memory.value = kDefaultMemory;
  r.get(spec, "memory", out.memory, size_parser(16 * MiB, TiB),
        "a size from 16Mi to 1Ti in whole Mi, such as 512Mi or 2Gi", false);
  r.get(spec, "diskSize", out.disk_size, size_parser(MiB, 16 * TiB),
        "a size from 1Mi to 16Ti in whole Mi, such as 4Gi", false);
  out.network.value = kDefaultNetwork;
  r.get(spec, "network", out.network, parse_nonempty_string, "the name of a Network", false);
  Field<Ipv4> ip;
  if (r.get(spec, "ip", ip, parse_ip, "an IPv4 address such as 172.20.0.10", false)) {
    out.ip = {ip.value, ip.mark, true};
  } else {
    out.ip.mark = ip.mark;
  }
  r.get(spec, "kernelArgs", out.kernel_args, DocReader::parse_string,
        "kernel command-line arguments", false);
  r.get(spec, "state", out.state,
        enum_parser<VmState>({{"running", VmState::Running}, {"stopped", VmState::Stopped}}),
        "one of: running, stopped", false);
  r.get(spec, "restartPolicy", out.restart_policy,
        enum_parser<RestartPolicy>({{"always", RestartPolicy::Always},
                                    {"on-failure", RestartPolicy::OnFailure},
                                    {"never", RestartPolicy::Never}}),
        "one of: always, on-failure, never", false);
  r.get(spec, "runtime", out.runtime,
        enum_parser<Runtime>({{"auto", Runtime::Auto},
                              {"firecracker", Runtime::Firecracker},
                              {"qemu", Runtime::Qemu}}),
        "one of: auto, firecracker, qemu", false);
  r.get(spec, "diskStrategy", out.disk_strategy,
        enum_parser<DiskStrategy>({{"auto", DiskStrategy::Auto},
                                   {"snapshot", DiskStrategy::Snapshot},
                                   {"reflink", DiskStrategy::Reflink},
                                   {"copy", DiskStrategy::Copy}}),
        "one of: auto, snapshot, reflink, copy", false);

  const DocReader::Entry* e = spec.find("readiness");
  if (!e) return;
  Readiness& rd = out.readiness;
  rd.mark = r.value_mark(*e);
  DocReader::MapView m = r.read_map(e->value, "spec.readiness", rd.mark, {"tcp", "http", "timeout"});
  if (!m.ok) return;
  Field<uint16_t> port;
  const char* port_rule = "a port from 1 to 65535";
  if (m.find("tcp") && r.get(m, "tcp", port, DocReader::integer<uint16_t>(1, 65535), port_rule, true)) {
    rd.probe = Readiness::Probe::Tcp;
    rd.port = port.value;
  }
  if (const DocReader::Entry* h = m.find("http")) {
    DocReader::MapView hm = r.read_map(h->value, "spec.readiness.http", r.value_mark(*h), {"port", "path"});
    Field<std::string> path;
    path.value = "/";
    bool port_ok = r.get(hm, "port", port, DocReader::integer<uint16_t>(1, 65535), port_rule, true);
    if (r.get(hm, "path", path, DocReader::parse_string, "an absolute URL path such as /healthz",
              false) && (path.value.empty() || path.value[0] != '/')) {
      r.error(path.mark, "spec.readiness.http.path",
              quote(path.value) + " does not start with / (expected an absolute URL path such as /healthz)");
    }
    if (port_ok && !m.find("tcp")) {
      rd.probe = Readiness::Probe::Http;
      rd.port = port.value;
      rd.path = path.value;
    }
  }
  if (m.find("tcp") && m.find("http")) {
    r.error(r.value_mark(*m.find("http")), "spec.readiness.http",
            "tcp and http are both set (expected exactly one of them)");
  } else if (!m.find("tcp") && !m.find("http")) {
    r.error(m.mark, "spec.readiness.tcp", "is required (expected exactly one of tcp or http)");
  }
  Field<std::chrono::milliseconds> timeout;
  if (r.get(m, "timeout", timeout, parse_duration_field,
            "a duration from 1s to 1h such as 120s or 2m", false)) {
    rd.timeout = timeout.value;
  }
}

void decode_port_forward_spec(DocReader& r, const DocReader::MapView& spec, PortForward& out) {
  const char* port_rule = "a port from 1 to 65535";
  r.get(spec, "vm", out.vm, parse_nonempty_string, "the name of a VM", true);
  r.get(spec, "hostPort", out.host_port, DocReader::integer<uint16_t>(1, 65535), port_rule, true);
  r.get(spec, "guestPort", out.guest_port, DocReader::integer<uint16_t>(1, 65535), port_rule, true);
  r.get(spec, "protocol", out.protocol,
        enum_parser<Protocol>({{"tcp", Protocol::Tcp}, {"udp", Protocol::Udp}}),
        "one of: tcp, udp", false);
  out.host_address.value = Ipv4{0};
  r.get(spec, "hostAddress", out.host_address, parse_ip, "an IPv4 address such as 0.0.0.0 or 127.0.0.1",
        false);
}

}  // namespace banger
