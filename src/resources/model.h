// The typed manifest model. Every value keeps the place it was written
// (Field<T>::mark) so that later checks, and the reconciler's errors, can
// point at the line a user has to change. Defaults are filled in by decode;
// a Field that was not written has set == false and mark == its key's parent.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "resources/diagnostic.h"
#include "resources/netaddr.h"
#include "resources/oci_ref.h"
#include "resources/position_index.h"
#include "resources/quantity.h"

namespace banger {

inline constexpr const char* kApiVersion = "banger.dev/v1";

// Defaults from DESIGN.md section 2, named once.
inline constexpr const char* kDefaultKernelArgs = "console=ttyS0 reboot=k panic=1";
inline constexpr const char* kDefaultNetwork = "default";
inline constexpr const char* kDefaultSubnet = "172.20.0.0/24";
inline constexpr uint64_t kDefaultMemory = 512 * MiB;

enum class Kind { Network, Kernel, Image, VM, PortForward };
const char* kind_name(Kind k);
std::optional<Kind> parse_kind(std::string_view s);
const std::vector<std::string>& all_kind_names();

template <class T>
struct Field {
  T value{};
  Mark mark;         ///< where the value was written (or its parent, if defaulted)
  bool set = false;  ///< written in the manifest, as opposed to defaulted
};

struct Metadata {
  std::string name;
  Mark name_mark;
  std::map<std::string, std::string> labels;
};

/// A host of the fleet as placement sees it: its name and labels (the
/// global --node-name and --node-labels, or a declared Node).
struct NodeIdentity {
  std::string name;
  std::map<std::string, std::string> labels;
};

/// spec.placement, on any kind: which nodes of a fleet converge the
/// resource. Not written: every node. Exactly one of node and nodeSelector.
struct Placement {
  bool set = false;  ///< spec.placement was written
  Mark mark;
  std::string node;                                  ///< placement.node; "" with a selector
  std::map<std::string, std::string> node_selector;  ///< placement.nodeSelector, all pairs must equal
  /// True when a resource placed so belongs on `n` (always when not set).
  bool matches(const NodeIdentity& n) const;
};

/// What every resource shares: its kind, name and where its document starts.
struct ObjectMeta {
  Kind kind{};
  Metadata metadata;
  Mark mark;  ///< the document's first line
  Placement placement;
  const std::string& name() const { return metadata.name; }
};

/// "VM/web" for messages, the name made printable (it comes from a manifest).
std::string resource_address(const ObjectMeta& r);

/// `kind: Node`: a host of the fleet, declared (typically in nodes.yaml) so
/// that validation can tell a placement that lands nowhere. Not a Kind:
/// nodes are never recorded or converged, only checked against.
inline constexpr const char* kNodeKind = "Node";
struct NodeDecl {
  Metadata metadata;
  Mark mark;  ///< the document's first line
  const std::string& name() const { return metadata.name; }
  NodeIdentity identity() const { return {metadata.name, metadata.labels}; }
};

/// spec.oci and its options: an image in an OCI registry (Image and Kernel).
struct OciSource {
  Field<std::string> ref_text;  ///< spec.oci as written
  OciRef ref;                   ///< parsed, Docker Hub's defaults filled in
  Field<std::string> platform;  ///< "linux/amd64"
  Field<uint64_t> size;         ///< Image only: the ext4 size; 0 = content + 25%
  Field<bool> insecure;         ///< plain HTTP
  Field<std::string> credentials_file;  ///< as written; "" = ~/.docker/config.json when present
  std::string resolved_credentials;     ///< ~ expanded, made absolute against the manifest's folder
  /// The platform's image manifest digest ("sha256:..."): what the tag
  /// names now, filled in before the diff (reconciler/oci_resolve.h) from
  /// the registry, or from the record when the registry cannot be asked.
  /// "" until then.
  std::string digest;
};

/// A kernel, initrd or image file: exactly one of path, url or oci, plus sha256.
struct ArtifactSource {
  Field<std::string> path;  ///< as written
  std::string resolved_path;  ///< path made absolute against the manifest's folder
  Field<std::string> url;
  Field<std::string> sha256;  ///< lowercase hex, or empty
  OciSource oci;              ///< oci.ref_text.set when from a registry
  /// A `path` file as the loader found it: its size when it is a regular
  /// file (validation checks diskSize against it), and whether it exists
  /// but is something else (a folder). Unknown for a `url` until fetched.
  std::optional<uint64_t> known_size;
  bool not_a_file = false;
  bool dangling_link = false;  ///< a symlink whose target does not exist
};

/// spec.dns: the network's dnsmasq, which answers NAME.DOMAIN and
/// NAME.NETWORK.DOMAIN for VMs and hands each VM's MAC its address by DHCP.
struct NetworkDns {
  bool enabled = true;
  std::string domain = "vm";
  std::vector<Ipv4> upstreams;  ///< empty: the servers of the host's /etc/resolv.conf
  Mark mark;
  friend bool operator==(const NetworkDns& a, const NetworkDns& b) {
    return a.enabled == b.enabled && a.domain == b.domain && a.upstreams == b.upstreams;
  }
};

struct Network : ObjectMeta {
  Field<Cidr> subnet;
  Field<std::string> bridge;
  Field<bool> nat;
  NetworkDns dns;
  Field<bool> isolation;  ///< VMs on the bridge cannot reach each other
  bool implicit = false;  ///< the built-in "default" network, declared by no file
};

struct Kernel : ObjectMeta {
  ArtifactSource source;
  std::optional<ArtifactSource> initrd;
  Mark initrd_mark;
  Field<std::string> args;
};

struct Image : ObjectMeta {
  ArtifactSource source;
};

enum class VmState { Running, Stopped };
enum class RestartPolicy { Always, OnFailure, Never };
enum class Runtime { Auto, Firecracker, Qemu };
enum class DiskStrategy { Auto, Snapshot, Reflink, Copy };
enum class Protocol { Tcp, Udp };
/// How spec.guest reaches the guest: a NoCloud seed for cloud-init, files
/// written into an ext4 disk, both (auto), or nothing.
enum class GuestInject { Auto, CloudInit, Files, None };

/// Each enum's spellings, in the order "expected one of" lists them: the one
/// list the parser, to_string and the schema's "enum" all use.
template <class E>
const std::vector<std::pair<std::string, E>>& enum_names();
template <> const std::vector<std::pair<std::string, VmState>>& enum_names<VmState>();
template <> const std::vector<std::pair<std::string, RestartPolicy>>& enum_names<RestartPolicy>();
template <> const std::vector<std::pair<std::string, Runtime>>& enum_names<Runtime>();
template <> const std::vector<std::pair<std::string, DiskStrategy>>& enum_names<DiskStrategy>();
template <> const std::vector<std::pair<std::string, Protocol>>& enum_names<Protocol>();
template <> const std::vector<std::pair<std::string, GuestInject>>& enum_names<GuestInject>();

template <class E>
const char* enum_name(E v) {
  for (const auto& [name, value] : enum_names<E>()) {
    if (value == v) return name.c_str();
  }
  return "?";
}
inline const char* to_string(VmState v) { return enum_name(v); }
inline const char* to_string(RestartPolicy v) { return enum_name(v); }
inline const char* to_string(Runtime v) { return enum_name(v); }
inline const char* to_string(DiskStrategy v) { return enum_name(v); }
inline const char* to_string(Protocol v) { return enum_name(v); }
inline const char* to_string(GuestInject v) { return enum_name(v); }

struct Readiness {
  enum class Probe { None, Tcp, Http };
  Probe probe = Probe::None;
  uint16_t port = 0;
  std::string path;  ///< http only, starts with '/'
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  Mark mark;
};

/// A public key line from the manifest or from a file it names.
struct GuestKey {
  std::string line;  ///< canonical "type base64 comment"
  Mark mark;         ///< where it was written, or the file entry that named it
};

/// A file named in spec.guest, read by the loader (load_manifests).
struct GuestFileRef {
  Field<std::string> path;    ///< as written ("~/.ssh/id_ed25519.pub")
  std::string resolved_path;  ///< ~ expanded, made absolute against the manifest's folder
};

/// spec.guest: what the VM is given at boot. Absent: hostname from the name,
/// host keys, no login keys, inject auto.
struct Guest {
  bool set = false;  ///< spec.guest was written
  Mark mark;
  Field<std::string> hostname;  ///< "" = metadata.name
  Field<std::string> ssh_user;  ///< default root
  std::vector<GuestKey> authorized_keys;         ///< inline, validated
  std::vector<GuestFileRef> authorized_keys_files;
  std::vector<GuestKey> file_keys;               ///< read from authorized_keys_files at load
  Field<std::string> user_data;                  ///< inline
  GuestFileRef user_data_file;                   ///< path.set when written
  std::string user_data_from_file;               ///< its content, read at load
  Field<GuestInject> inject;

  /// Every login key, inline first, one line each.
  std::vector<std::string> keys() const;
  const std::string& user_data_text() const { return user_data_file.path.set ? user_data_from_file : user_data.value; }
};

struct VM : ObjectMeta {
  Field<std::string> kernel;
  Field<std::string> image;
  Field<int> vcpus;
  Field<uint64_t> memory;     ///< bytes
  Field<uint64_t> disk_size;  ///< bytes; 0 = the image's size
  Field<std::string> network;
  Field<std::optional<Ipv4>> ip;  ///< nullopt = allocate
  Field<std::string> kernel_args;
  Field<VmState> state;
  Field<RestartPolicy> restart_policy;
  Field<Runtime> runtime;
  Readiness readiness;
  Field<DiskStrategy> disk_strategy;
  Field<std::string> description;  ///< free text for people; banger only shows it
  Guest guest;
  /// The guest's hostname: spec.guest.hostname, else the VM's name.
  const std::string& hostname() const { return guest.hostname.value.empty() ? name() : guest.hostname.value; }
  const std::string& ssh_user() const;
};

struct PortForward : ObjectMeta {
  Field<std::string> vm;
  Field<uint16_t> host_port;
  Field<uint16_t> guest_port;
  Field<Protocol> protocol;
  Field<Ipv4> host_address;
};

/// Everything the manifests declare, in load order per kind.
struct ManifestSet {
  std::vector<Network> networks;
  std::vector<Kernel> kernels;
  std::vector<Image> images;
  std::vector<VM> vms;
  std::vector<PortForward> port_forwards;
  std::vector<NodeDecl> nodes;  ///< declared Nodes; none: the fleet is not declared

  size_t count(Kind k) const;
  const Network* find_network(std::string_view name) const;
  const Kernel* find_kernel(std::string_view name) const;
  const Image* find_image(std::string_view name) const;
  const VM* find_vm(std::string_view name) const;
  /// Makes the find_* above lookups instead of scans; call once the vectors
  /// are final (a later change is still answered right, by a scan).
  void build_index();

 private:
  PositionIndex network_index_, kernel_index_, image_index_, vm_index_;
};

}  // namespace banger
