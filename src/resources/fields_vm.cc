// The field table of VM. Effects: a new image means a new disk (replace);
// what the guest boots with needs a reboot (restart); the rest is
// bookkeeping or handled live (state: start/stop).
#include <algorithm>

#include "resources/field_table.h"
#include "resources/fields_placement.h"
#include "resources/fields_guest.h"
#include "resources/label_selector.h"
#include "resources/readiness_text.h"
#include "resources/value_parsers.h"

namespace banger {

namespace {

using json = nlohmann::ordered_json;
using Shows = std::optional<std::string>;

json ref(const char* def) { return json{{"$ref", std::string("#/$defs/") + def}}; }
// 0 (the image's size) is shown as words, so a plan reads "image size -> 4Gi".
TextForm<uint64_t> disk_size_text() {
  return {[](const uint64_t& b) { return b ? format_size(b) : "image size"; },
          [](const std::string& s) { return s == "image size" ? std::optional<uint64_t>(0) : parse_size(s); }};
}

// What a VM boots from. A URL names content only through its sha256, so the
// hash is part of it: a new hash at the same URL restarts the VM (kernel) or
// replaces its disk (image), as a new path would.
std::string boot_ref(const ArtifactSource& a) {
  if (a.oci.ref_text.set) {
    // A tag names content through the digest it resolved to, as a URL does
    // through its sha256: a tag that moved replaces the disk.
    const std::string& d = a.oci.digest;
    return "oci:" + a.oci.ref.str() + " (" + (d.empty() ? std::string("unresolved") : d.substr(0, 19)) + ")";
  }
  if (!a.url.set) return a.resolved_path;
  return a.url.value + " (sha256:" + a.sha256.value.substr(0, 12) + ")";
}

// One line of at most 256 characters: it is printed in get's table.
bool parse_description(const YAML::Node& n, std::string& out, DocReader::Problem& p) {
  if (!DocReader::parse_string(n, out, p)) return false;
  // Characters, not bytes, as the schema's maxLength counts them.
  size_t chars = std::count_if(out.begin(), out.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; });
  if (chars > 256) p.what = "is " + std::to_string(chars) + " characters long";
  if (std::any_of(out.begin(), out.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    p.what = "contains a line break or another control character";
  }
  return p.what.empty();
}

void decode_readiness(DocReader& r, const DocReader::MapView& spec, VM& out) {
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
    if (r.get(hm, "path", path, DocReader::parse_string, "an absolute URL path such as /healthz", false) &&
        (path.value.empty() || path.value[0] != '/')) {
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
  if (r.get(m, "timeout", timeout, parse_duration_field, "a duration from 1s to 1h such as 120s or 2m", false)) {
    rd.timeout = timeout.value;
  }
}

// The table in three parts, in YAML order. What it boots and its size:
void add_boot_and_size(std::vector<FieldDef<VM>>& f) {
  f.push_back(scalar<VM, std::string>({.key = "kernel",
                                       .rule = "the name of a Kernel",
                                       .doc = "The name of a Kernel. Required.",
                                       .schema = json{{"$ref", "#/$defs/reference"}, {"examples", {"debian-12"}}},
                                       .required = true},
                                      &VM::kernel, parse_nonempty_string, string_text()));
  // What the named Kernel boots from is the VM's too: a new kernel file
  // restarts the VM even when the Kernel keeps its name.
  f.back().shown.push_back({"kernelSource", FieldEffect::Restart, [](const VM& v, const ManifestSet& set) {
                              const Kernel* k = set.find_kernel(v.kernel.value);
                              return Shows(k ? boot_ref(k->source) : "");
                            }});
  f.back().shown.push_back({"initrdSource", FieldEffect::Restart, [](const VM& v, const ManifestSet& set) {
                              const Kernel* k = set.find_kernel(v.kernel.value);
                              return Shows(k && k->initrd ? boot_ref(*k->initrd) : "");
                            }});

  f.push_back(scalar<VM, std::string>({.key = "image",
                                       .rule = "the name of an Image",
                                       .doc = "The name of an Image. Required.",
                                       .schema = json{{"$ref", "#/$defs/reference"}, {"examples", {"busybox-web"}}},
                                       .required = true,
                                       .effect = FieldEffect::Replace},
                                      &VM::image, parse_nonempty_string, string_text()));
  f.back().shown.push_back({"imageSource", FieldEffect::Replace, [](const VM& v, const ManifestSet& set) {
                              const Image* i = set.find_image(v.image.value);
                              return Shows(i ? boot_ref(i->source) : "");
                            }});

  f.push_back(scalar<VM, int>({.key = "vcpus",
                               .rule = "an integer from 1 to 32",
                               .doc = "Virtual CPUs, 1 to 32. Default: 1.",
                               .schema = json{{"type", "integer"}, {"minimum", 1}, {"maximum", 32}, {"examples", {2}}},
                               .def = 1,
                               .effect = FieldEffect::Restart},
                              &VM::vcpus, DocReader::integer<int>(1, 32), int_text()));

  f.push_back(scalar<VM, uint64_t>({.key = "memory",
                                    .rule = "a size from 16Mi to 1Ti in whole Mi, such as 512Mi or 2Gi",
                                    .doc = "Guest memory, 16Mi to 1Ti in whole Mi, such as 512Mi or 2Gi, or an "
                                           "integer number of bytes. Default: 512Mi.",
                                    .schema = ref("memorySize"),
                                    .def = kDefaultMemory,
                                    .effect = FieldEffect::Restart},
                                   &VM::memory, size_parser(16 * MiB, TiB), size_text()));

  f.push_back(scalar<VM, uint64_t>({.key = "diskSize",
                                    .rule = "a size from 1Mi to 16Ti in whole Mi, such as 4Gi",
                                    .doc = "The root disk's size, 1Mi to 16Ti in whole Mi, such as 4Gi; never "
                                           "smaller than the image. Default: the image's size.",
                                    .schema = ref("diskSize"),
                                    .effect = FieldEffect::Restart},
                                   &VM::disk_size, size_parser(MiB, 16 * TiB), disk_size_text()));
}

// Its network, and the kernel command line that carries the guest's ip=.
void add_network(std::vector<FieldDef<VM>>& f) {
  f.push_back(scalar<VM, std::string>({.key = "network",
                                       .rule = "the name of a Network",
                                       .doc = "The name of the Network to attach to. Default: default "
                                              "(172.20.0.0/24, built in when no manifest declares it).",
                                       .schema = json{{"$ref", "#/$defs/reference"}, {"examples", {"fleet"}}},
                                       .def = std::string(kDefaultNetwork),
                                       .effect = FieldEffect::Restart},
                                      &VM::network, parse_nonempty_string, string_text()));

  // ip is optional in the model (nullopt: allocated), so it is read as an
  // Ipv4 and kept as "set or not".
  FieldDef<VM> ip;
  ip.key = "ip";
  ip.rule = "an IPv4 address such as 172.20.0.10";
  ip.doc = "A static IPv4 address inside the network's subnet. Default: allocated from the subnet, then kept "
           "for this VM.";
  ip.schema = ref("ipv4");
  ip.decode = [rule = ip.rule](DocReader& r, const DocReader::MapView& m, VM& out) {
    Field<Ipv4> v;
    if (r.get(m, "ip", v, parse_ip, rule, false)) {
      out.ip = {v.value, v.mark, true};
    } else {
      out.ip.mark = v.mark;
    }
  };
  ip.shown = {{"ip", FieldEffect::Restart,
               [](const VM& v, const ManifestSet&) { return Shows(v.ip.value ? v.ip.value->str() : "auto"); },
               [](const std::string& t, VM& v) {
                 auto a = parse_ipv4(t);
                 if (a) v.ip = {a, {}, true};
                 return t == "auto" || a.has_value();
               }}};
  f.push_back(std::move(ip));

  // Shown as the whole command line the guest boots with: the Kernel's
  // args, then the VM's own.
  f.push_back(scalar<VM, std::string>({.key = "kernelArgs",
                                       .rule = "kernel command-line arguments",
                                       .doc = "Extra kernel command-line arguments, appended to the Kernel's args. "
                                              "Default: none.",
                                       .schema = json{{"type", "string"}, {"examples", {"quiet", "init=/sbin/init"}}},
                                       .def = std::string(),
                                       .shown = false},
                                      &VM::kernel_args, DocReader::parse_string, string_text()));
  f.back().shown.push_back({"kernelArgs", FieldEffect::Restart, [](const VM& v, const ManifestSet& set) {
                              const Kernel* k = set.find_kernel(v.kernel.value);
                              return Shows((k ? k->args.value : "") +
                                           (v.kernel_args.value.empty() ? "" : " " + v.kernel_args.value));
                            }});
}

// How banger keeps it.
void add_keeping(std::vector<FieldDef<VM>>& f) {
  f.push_back(enum_field<VM, VmState>(
      {.key = "state", .doc = "Whether the VM should run. Default: running.", .def = VmState::Running}, &VM::state));
  f.push_back(enum_field<VM, RestartPolicy>(
      {.key = "restartPolicy",
       .doc = "What to do when the VM exits: always restart, restart on-failure only, or never. Default: always.",
       .def = RestartPolicy::Always},
      &VM::restart_policy));
  f.push_back(enum_field<VM, Runtime>(
      {.key = "runtime",
       .doc = "The hypervisor. auto: Firecracker where KVM can boot an ordinary guest (not PVM) and the "
              "firecracker binary exists, else qemu (with KVM there, else TCG; banger --accel overrides). "
              "Default: auto.",
       .def = Runtime::Auto,
       .effect = FieldEffect::Restart},
      &VM::runtime));

  FieldDef<VM> readiness;
  readiness.key = "readiness";
  readiness.rule = "a mapping with tcp or http, and timeout";
  readiness.doc = "How banger knows the VM is up: exactly one of tcp and http, within timeout. Default: none "
                  "(running is enough).";
  readiness.schema = ref("readiness");
  readiness.decode = decode_readiness;
  readiness.shown = {{"readiness", FieldEffect::InPlace,
                      [](const VM& v, const ManifestSet&) { return Shows(format_readiness(v.readiness)); },
                      [](const std::string& t, VM& v) {
                        auto r = parse_readiness(t);
                        if (r) v.readiness = *r;
                        return t == "none" || r.has_value();
                      }}};
  f.push_back(std::move(readiness));

  // The disk rules (diff) decide what a strategy change does to a made disk.
  f.push_back(enum_field<VM, DiskStrategy>(
      {.key = "diskStrategy",
       .doc = "How the VM's disk is made from the image: a device-mapper snapshot, a reflink copy, or a full "
              "copy; auto picks the cheapest that works. Default: auto.",
       .def = DiskStrategy::Auto},
      &VM::disk_strategy));

  f.push_back(scalar<VM, std::string>({.key = "description",
                                       .rule = "one line of at most 256 characters",
                                       .doc = "Free text about the VM, shown by get -o wide. Default: none.",
                                       .schema = json{{"type", "string"}, {"maxLength", 256}, {"pattern", "^[^\\u0000-\\u001f\\u007f]*$"}},
                                       .def = std::string()},
                                      &VM::description, parse_description, string_text()));
  f.push_back(guest_field());
}

KindFields<VM> make_vm_fields() {
  KindFields<VM> k;
  k.doc = "A Firecracker microVM: what it boots, its size, its network and how banger keeps it.";
  add_boot_and_size(k.fields);
  add_network(k.fields);
  add_keeping(k.fields);
  k.fields.push_back(placement_field<VM>());
  k.meta.push_back(labels_shown<VM>());
  return k;
}

}  // namespace

const KindFields<VM>& vm_fields() {
  static const KindFields<VM> t = make_vm_fields();
  return t;
}

}  // namespace banger
