// The endpoints whose checks touch the host: the kernel and initrd files, the
// drives' backing files and the TAP devices. Each one opens what the real VMM
// opens, with the same flags, so that a missing file, a read-only file or a
// TAP held by another process fails here exactly where it fails for real.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "vmm.h"

namespace fakefc {
namespace {

const char* kPreBoot = "The requested operation is not supported before starting the microVM.";
const char* kPostBoot = "The requested operation is not supported after starting the microVM.";
const char* kNetCreate = "Network config error: Could not create the network device: ";

// checked_id (parsed_request.rs): ids in paths are non-empty [A-Za-z0-9_]+.
std::optional<ApiReply> check_path_id(const std::optional<std::string>& id) {
  if (!id || id->empty()) return fault("The ID cannot be empty.");
  for (unsigned char c : *id) {
    if (c != '_' && !std::isalnum(c)) {
      return fault("API Resource IDs can only contain alphanumeric characters and underscores.");
    }
  }
  return std::nullopt;
}

// Opens a drive's backing file like VirtioBlock::new (read-write unless
// is_read_only). A directory is refused here; Firecracker would fail later.
int open_backing_file(const std::string& path, bool read_only, int& err) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    err = EISDIR;
    return -1;
  }
  return fd;
}

Json value_or_null(const Json& cfg, const char* key) { return cfg.contains(key) ? cfg[key] : Json(); }

}  // namespace

ApiReply Vmm::put_boot_source(const Body& body) {
  Json cfg;
  if (auto err = deserialize(body, schemas::kBootSource, cfg)) return *err;
  if (started()) return fault(kPostBoot);
  const std::string kernel = cfg["kernel_image_path"].get<std::string>();
  int kfd = ::open(kernel.c_str(), O_RDONLY | O_CLOEXEC);
  if (kfd < 0) return fault("Boot source error: The kernel file cannot be opened: " + os_error(errno));
  if (cfg.contains("initrd_path")) {
    int ifd = ::open(cfg["initrd_path"].get<std::string>().c_str(), O_RDONLY | O_CLOEXEC);
    if (ifd < 0) {
      int e = errno;
      ::close(kfd);
      return fault(
          "Boot source error: The initrd file cannot be opened due to invalid path or invalid "
          "permissions. " +
          os_error(e));
    }
    ::close(ifd);
  }
  if (cfg.contains("boot_args")) {
    // linux_loader::Cmdline with x86_64's CMDLINE_MAX_SIZE (2048, NUL included).
    const std::string args = cfg["boot_args"].get<std::string>();
    std::string problem;
    for (unsigned char c : args) {
      if (c < ' ' || c > '~') problem = "String contains a non-printable ASCII character.";
    }
    if (problem.empty() && args.size() >= 2048) {
      problem = "Inserting string would make command line too long.";
    }
    if (!problem.empty()) {
      ::close(kfd);
      return fault("Boot source error: The kernel command line is invalid: " + problem);
    }
  }
  if (kernel_fd_ >= 0) ::close(kernel_fd_);
  kernel_fd_ = kfd;
  Json stored = Json::object();
  stored["kernel_image_path"] = kernel;
  stored["initrd_path"] = value_or_null(cfg, "initrd_path");
  stored["boot_args"] = value_or_null(cfg, "boot_args");
  boot_source_ = stored;
  return ApiReply{};
}

ApiReply Vmm::put_drive(const Body& body, const std::optional<std::string>& id) {
  if (auto err = check_path_id(id)) return *err;
  Json cfg;
  if (auto err = deserialize(body, schemas::kDrive, cfg)) return *err;
  if (cfg["drive_id"] != *id) return fault("The id from the path does not match the id from the body!");
  if (started()) {
    // After boot this is PCI hotplug, which needs --enable-pci.
    if (!options_.enable_pci) return fault("PCI is not enabled");
    return fault("fake-firecracker does not implement PCI hotplug of drives.");
  }
  return insert_drive(cfg);
}

// BlockBuilder::insert: at most one root device, kept first in the list.
ApiReply Vmm::insert_drive(const Json& cfg) {
  const std::string id = cfg["drive_id"].get<std::string>();
  const bool is_root = cfg["is_root_device"].get<bool>();
  std::optional<size_t> position;
  for (size_t i = 0; i < drives_.size(); ++i) {
    if (drives_[i].config["drive_id"] == id) position = i;
  }
  const bool has_root = !drives_.empty() && drives_[0].config["is_root_device"].get<bool>();
  if (is_root && has_root && position != size_t{0}) {
    return fault("Drive config error: A root block device already exists!");
  }
  const std::string create = "Drive config error: Unable to create the virtio block device: ";
  const bool has_path = cfg.contains("path_on_host");
  const bool has_socket = cfg.contains("socket");
  if (has_socket && !has_path) {
    return fault("fake-firecracker does not implement vhost-user block devices (\"socket\").");
  }
  if (!has_path || has_socket) return fault(create + "Invalid block config.");
  const std::string path = cfg["path_on_host"].get<std::string>();
  const bool read_only = cfg.value("is_read_only", false);
  int err = 0;
  int fd = open_backing_file(path, read_only, err);
  if (fd < 0) {
    return fault(create + "Virtio backend error: Error manipulating the backing file: " +
                 os_error(err) + " " + path);
  }
  Drive drive;
  drive.fd = fd;
  // The shape GET /vm/config gives (BlockDeviceConfig from VirtioBlockConfig).
  Json& c = drive.config = Json::object();
  c["drive_id"] = id;
  c["partuuid"] = value_or_null(cfg, "partuuid");
  c["is_root_device"] = is_root;
  c["cache_type"] = cfg.value("cache_type", "Unsafe");
  c["is_read_only"] = read_only;
  c["path_on_host"] = path;
  c["rate_limiter"] = value_or_null(cfg, "rate_limiter");
  c["io_engine"] = cfg.value("io_engine", "Sync");
  c["socket"] = nullptr;
  if (!position) {
    if (is_root) {
      drives_.insert(drives_.begin(), drive);
    } else {
      drives_.push_back(drive);
    }
  } else {
    ::close(drives_[*position].fd);
    drives_[*position] = drive;
    if (*position != 0 && is_root) std::swap(drives_[0], drives_[*position]);
  }
  return ApiReply{};
}

ApiReply Vmm::patch_drive(const Body& body, const std::optional<std::string>& id) {
  if (auto err = check_path_id(id)) return *err;
  Json cfg;
  if (auto err = deserialize(body, schemas::kPartialDrive, cfg)) return *err;
  if (cfg["drive_id"] != *id) return fault("The id from the path does not match the id from the body!");
  if (!started()) return fault(kPreBoot);
  const std::string patch = "Drive config error: Unable to patch the block device: ";
  for (auto& d : drives_) {
    if (d.config["drive_id"] != *id) continue;
    if (cfg.contains("path_on_host")) {
      const std::string path = cfg["path_on_host"].get<std::string>();
      int err = 0;
      int fd = open_backing_file(path, d.config["is_read_only"].get<bool>(), err);
      if (fd < 0) {
        return fault(patch + "Error manipulating the backing file: " + os_error(err) + " " + path +
                     " Please verify the request arguments.");
      }
      ::close(d.fd);
      d.fd = fd;
      d.config["path_on_host"] = path;
    }
    if (cfg.contains("rate_limiter")) d.config["rate_limiter"] = cfg["rate_limiter"];
    return ApiReply{};
  }
  return fault(patch + "Device not found Please verify the request arguments.");
}

ApiReply Vmm::put_net(const Body& body, const std::optional<std::string>& id) {
  if (auto err = check_path_id(id)) return *err;
  Json cfg;
  if (auto err = deserialize(body, schemas::kNetworkInterface, cfg)) return *err;
  const std::string body_id = cfg["iface_id"].get<std::string>();
  if (body_id != *id) {
    return fault("The id from the path [" + *id + "] does not match the id from the body [" +
                 body_id + "]!");
  }
  if (started()) {
    if (!options_.enable_pci) return fault("PCI is not enabled");
    return fault("fake-firecracker does not implement PCI hotplug of network interfaces.");
  }
  return insert_net(cfg);
}

// NetBuilder::build: MAC conflicts first, then the old device with the same
// id is dropped, then Net::new opens the TAP and checks the MTU.
ApiReply Vmm::insert_net(const Json& cfg) {
  const std::string id = cfg["iface_id"].get<std::string>();
  std::optional<std::string> mac;
  if (cfg.contains("guest_mac")) {
    unsigned char bytes[6];
    parse_mac(cfg["guest_mac"].get<std::string>(), bytes);
    mac = format_mac(bytes);
    for (const auto& n : nets_) {
      if (n.mac == mac && n.config["iface_id"] != id) {
        return fault("Network config error: The MAC address is already in use: " + *mac);
      }
    }
  }
  for (size_t i = 0; i < nets_.size(); ++i) {
    if (nets_[i].config["iface_id"] == id) {
      ::close(nets_[i].tap_fd);
      nets_.erase(nets_.begin() + static_cast<long>(i));
      break;
    }
  }
  const std::string tap = cfg["host_dev_name"].get<std::string>();
  const std::string open_failed = std::string(kNetCreate) + "Open tap device failed: ";
  if (tap.size() >= IFNAMSIZ) return fault(open_failed + "Invalid interface name");
  auto ifreq_error = [&](int err) {
    return fault(open_failed + "Error while creating ifreq structure: " + os_error(err) +
                 ". Invalid TUN/TAP Backend provided by " + tap +
                 ". Check our documentation on setting up the network devices.");
  };
  // As root, TUNSETIFF would create a missing TAP; the double insists that
  // the TAP exists (in this network namespace) before the VMM is told about it.
  if (::if_nametoindex(tap.c_str()) == 0) return ifreq_error(ENODEV);
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fault(open_failed + "Couldn't open /dev/net/tun: " + os_error(errno));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;  // EBUSY: another process holds it; EINVAL: not a TAP
    ::close(fd);
    return ifreq_error(e);
  }
  if (cfg.contains("mtu")) {
    const auto mtu = cfg["mtu"].get<uint64_t>();
    if (mtu < 68) {
      ::close(fd);
      return fault(std::string(kNetCreate) + "MTU " + std::to_string(mtu) +
                   " is out of range [68, 65535]");
    }
  }
  NetIf net;
  net.tap_fd = fd;
  net.mac = mac;
  Json& c = net.config = Json::object();
  c["iface_id"] = id;
  c["host_dev_name"] = tap;
  c["guest_mac"] = mac ? Json(*mac) : Json();
  c["mtu"] = value_or_null(cfg, "mtu");
  c["rx_rate_limiter"] = value_or_null(cfg, "rx_rate_limiter");
  c["tx_rate_limiter"] = value_or_null(cfg, "tx_rate_limiter");
  nets_.push_back(net);
  return ApiReply{};
}

ApiReply Vmm::patch_net(const Body& body, const std::optional<std::string>& id) {
  if (auto err = check_path_id(id)) return *err;
  Json cfg;
  if (auto err = deserialize(body, schemas::kPartialNetworkInterface, cfg)) return *err;
  const std::string body_id = cfg["iface_id"].get<std::string>();
  if (body_id != *id) {
    return fault("The id from the path [" + *id + "] does not match the id from the body [" +
                 body_id + "]!");
  }
  if (!started()) return fault(kPreBoot);
  for (auto& n : nets_) {
    if (n.config["iface_id"] != *id) continue;
    if (cfg.contains("rx_rate_limiter")) n.config["rx_rate_limiter"] = cfg["rx_rate_limiter"];
    if (cfg.contains("tx_rate_limiter")) n.config["tx_rate_limiter"] = cfg["tx_rate_limiter"];
    return ApiReply{};
  }
  return fault("Network config error: Unable to update the net device: Device not found");
}

ApiReply Vmm::delete_device(const std::optional<std::string>& id) {
  if (auto err = check_path_id(id)) return *err;
  if (!started()) return fault(kPreBoot);
  if (!options_.enable_pci) return fault("PCI is not enabled");
  return fault("fake-firecracker does not implement PCI hot-unplug.");
}

}  // namespace fakefc
