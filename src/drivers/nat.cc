// The libnftables half of the NAT driver: one command buffer per call. What
// the rules say lives in nat_rules.cc.
#include "drivers/nat.h"

#include <nftables/libnftables.h>

#include <mutex>
#include <string>

#include "common/host_error.h"
#include "drivers/nat_rules.h"

namespace banger {
namespace {

// libnftables does not document thread safety (and older versions kept
// global parser state), so every call from any NatDriver goes through one lock.
std::mutex& nft_mutex() {
  static std::mutex m;
  return m;
}

// nft echoes the offending input line with ^^^ markers; for a batch of
// thousands of rules keep the message readable.
std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  constexpr size_t kMax = 2000;
  if (s.size() > kMax) s = s.substr(0, kMax) + " [...]";
  return s.empty() ? "no message from nftables" : s;
}

constexpr const char* kHint =
    "banger needs root (CAP_NET_ADMIN) and a kernel with nf_tables NAT "
    "(modules nf_tables, nft_nat, nft_masq, nft_fib_ipv4); `banger doctor` checks both";

}  // namespace

struct NatDriver::Ctx {
  nft_ctx* nft = nullptr;
};

NatDriver::NatDriver() : ctx_(new Ctx) {
  std::lock_guard lock(nft_mutex());
  ctx_->nft = nft_ctx_new(NFT_CTX_DEFAULT);
  // Buffered, so that nft never prints to banger's own stdout or stderr.
  if (!ctx_->nft || nft_ctx_buffer_output(ctx_->nft) != 0 || nft_ctx_buffer_error(ctx_->nft) != 0) {
    if (ctx_->nft) nft_ctx_free(ctx_->nft);
    delete ctx_;
    throw HostError(
        "could not create a libnftables context; check that libnftables 1.0 is "
        "installed and memory is not exhausted");
  }
}

NatDriver::~NatDriver() {
  std::lock_guard lock(nft_mutex());
  nft_ctx_free(ctx_->nft);
  delete ctx_;
}

NatObserved NatDriver::observe() {
  std::string listing;
  {
    std::lock_guard lock(nft_mutex());
    nft_ctx_output_set_flags(ctx_->nft, NFT_CTX_OUTPUT_JSON);
    if (nft_run_cmd_from_buffer(ctx_->nft, "list table ip banger") != 0) {
      std::string err = trimmed(nft_ctx_get_error_buffer(ctx_->nft));
      // The only way nft 1.0.6 says "no such table" (measured).
      if (err.find("No such file or directory") != std::string::npos) return {};
      throw HostError("could not list nftables table 'ip banger': " + err + ". " + kHint);
    }
    listing = nft_ctx_get_output_buffer(ctx_->nft);
  }
  return nat::parse_listing(listing);
}

void NatDriver::apply(const NatRuleset& rules) {
  const std::string script = nat::render_batch(rules);  // validates; throws before nft
  std::lock_guard lock(nft_mutex());
  nft_ctx_output_set_flags(ctx_->nft, 0);
  if (nft_run_cmd_from_buffer(ctx_->nft, script.c_str()) != 0) {
    std::string err = trimmed(nft_ctx_get_error_buffer(ctx_->nft));
    // EPERM as root means the table is "flags owner" of another process.
    std::string hint = err.find("Operation not permitted") != std::string::npos
                           ? "Run banger as root; if it is root, another program owns table "
                             "'ip banger' (nft `flags owner`): stop that program"
                           : kHint;
    throw HostError(
        "nftables refused the NAT rules for table 'ip banger' (the table was left "
        "as it was: the change is one transaction): " +
        err + ". " + hint);
  }
}

}  // namespace banger
