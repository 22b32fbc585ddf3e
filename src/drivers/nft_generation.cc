#include "drivers/nft_generation.h"

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

#include "common/read_file.h"
#include "common/unique_fd.h"

namespace banger {

std::optional<uint32_t> nft_generation() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!fd) return std::nullopt;
  struct {
    nlmsghdr nh;
    nfgenmsg nf;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.nf.nfgen_family = AF_UNSPEC;
  req.nf.version = NFNETLINK_V0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) !=
      static_cast<ssize_t>(sizeof req))
    return std::nullopt;
  alignas(nlmsghdr) char buf[512];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, static_cast<unsigned>(n));
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq != 1) continue;
      if (nh->nlmsg_type == NLMSG_ERROR || nh->nlmsg_type == NLMSG_DONE) return std::nullopt;
      if (nh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) continue;
      const size_t header = NLMSG_LENGTH(sizeof(nfgenmsg));
      if (nh->nlmsg_len < header) return std::nullopt;
      auto* attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(nh) + NLMSG_ALIGN(header));
      size_t left = nh->nlmsg_len - NLMSG_ALIGN(header);
      while (left >= sizeof(nlattr) && attr->nla_len >= sizeof(nlattr) && attr->nla_len <= left) {
        if ((attr->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && attr->nla_len >= NLA_HDRLEN + 4) {
          uint32_t be = 0;
          std::memcpy(&be, reinterpret_cast<char*>(attr) + NLA_HDRLEN, sizeof be);
          return ntohl(be);
        }
        const size_t step = NLA_ALIGN(attr->nla_len);
        if (step >= left) break;
        left -= step;
        attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(attr) + step);
      }
      return std::nullopt;
    }
  }
}

std::string nft_generation_scope() {
  auto boot = read_small_file("/proc/sys/kernel/random/boot_id", 128);
  struct stat st {};
  if (!boot || ::stat("/proc/self/ns/net", &st) != 0) return {};
  while (!boot->empty() && (boot->back() == '\n' || boot->back() == ' ')) boot->pop_back();
  if (boot->empty()) return {};
  return *boot + " " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace banger
