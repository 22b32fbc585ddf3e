// The libnftables half of the NAT driver: one command buffer per call. What
// the rules say lives in nat_rules.cc.
#include "drivers/nat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/host_error.h"
#include "common/read_file.h"
#include "common/unique_fd.h"
#include "drivers/nat_cache.h"
#include "drivers/nat_rules.h"
#include "drivers/nft_generation.h"
#include "drivers/nft_lib.h"

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
  nft_ctx* nft = nullptr;  ///< made on first use: a cache hit never loads libnftables
  std::string cache_path;
  std::mutex cache_mu;  ///< guards the two below
  std::optional<nat::CacheKey> cached_key;  ///< what `cached` was listed at
  NatObserved cached;
};

NatDriver::NatDriver(std::string cache_path) : ctx_(new Ctx) { ctx_->cache_path = std::move(cache_path); }

NatDriver::~NatDriver() {
  if (ctx_->nft) {
    std::lock_guard lock(nft_mutex());
    nft_api().nft_ctx_free(ctx_->nft);
  }
  delete ctx_;
}

nft_ctx* NatDriver::context() {
  // Called with nft_mutex() held.
  if (ctx_->nft) return ctx_->nft;
  nft_ctx* nft = nft_api().nft_ctx_new(NFT_CTX_DEFAULT);
  // Buffered, so that nft never prints to banger's own stdout or stderr.
  if (!nft || nft_api().nft_ctx_buffer_output(nft) != 0 || nft_api().nft_ctx_buffer_error(nft) != 0) {
    if (nft) nft_api().nft_ctx_free(nft);
    throw HostError(
        "could not create a libnftables context; check that libnftables 1.0 is "
        "installed and memory is not exhausted");
  }
  return ctx_->nft = nft;
}

NatObserved NatDriver::observe() {
  std::optional<nat::CacheKey> key;
  if (!ctx_->cache_path.empty()) key = cache_key();
  if (key) {
    std::lock_guard lock(ctx_->cache_mu);
    if (ctx_->cached_key && ctx_->cached_key->scope == key->scope &&
        ctx_->cached_key->generation == key->generation)
      return ctx_->cached;
    if (auto text = read_small_file(ctx_->cache_path, 64 << 20)) {
      if (auto hit = nat::decode_cache(*text, *key)) {
        ctx_->cached_key = key;
        ctx_->cached = *hit;
        return std::move(*hit);
      }
    }
  }
  NatObserved listed = list_table();
  // Kept only if nothing was committed while it was listed: then the listing
  // is the ruleset of that generation.
  if (key && nft_generation() == key->generation) {
    std::lock_guard lock(ctx_->cache_mu);
    ctx_->cached_key = key;
    ctx_->cached = listed;
    write_cache(*key, listed);
  }
  return listed;
}

std::optional<nat::CacheKey> NatDriver::cache_key() const {
  static const std::string scope = [] {
    std::string s = nft_generation_scope();
    struct stat st {};
    // The binary too: an upgraded banger may spell rules another way.
    if (s.empty() || ::stat("/proc/self/exe", &st) != 0) return std::string();
    return s + " exe " + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }();
  if (scope.empty()) return std::nullopt;
  auto generation = nft_generation();
  if (!generation) return std::nullopt;
  return nat::CacheKey{scope, *generation};
}

void NatDriver::write_cache(const nat::CacheKey& key, const NatObserved& listed) {
  // The file exists only while the table does: with no table there is
  // nothing worth caching, and a host banger has left holds nothing of it.
  if (!listed.table_exists) {
    ::unlink(ctx_->cache_path.c_str());
    return;
  }
  // Best effort: a cache that cannot be written is a slower next run.
  const std::string tmp = ctx_->cache_path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(::gettid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return;
  const std::string text = nat::encode_cache(key, listed);
  const bool ok = ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  fd.reset();
  if (!ok || ::rename(tmp.c_str(), ctx_->cache_path.c_str()) != 0) ::unlink(tmp.c_str());
}

void NatDriver::forget_cache() {
  std::lock_guard lock(ctx_->cache_mu);
  ctx_->cached_key.reset();
  if (!ctx_->cache_path.empty()) ::unlink(ctx_->cache_path.c_str());
}

NatObserved NatDriver::list_table() {
  std::lock_guard lock(nft_mutex());
  nft_ctx* nft = context();
  // Runs one listing command; nullopt when what it lists is not there.
  auto list = [nft](const std::string& command, uint32_t flags, const std::string& what,
                    bool absent_ok = true) -> std::optional<std::string> {
    nft_api().nft_ctx_output_set_flags(nft, flags);
    if (nft_api().nft_run_cmd_from_buffer(nft, command.c_str()) == 0)
      return std::string(nft_api().nft_ctx_get_output_buffer(nft));
    const std::string err = trimmed(nft_api().nft_ctx_get_error_buffer(nft));
    // The only way nft 1.0.6 says "no such table" (measured).
    if (absent_ok && err.find("No such file or directory") != std::string::npos) return std::nullopt;
    throw HostError("could not list nftables " + what + ": " + err + ". " + kHint);
  };
  // The usual case, and always banger's own table (it sets no flags): one
  // JSON listing. A table with flags (made by hand) meets the libnftables
  // 1.0.6 bug described in nat_rules.h: its JSON says a wrong flag, or is cut
  // short. Either way it is then read again the careful way below; one text
  // listing up front for every observe cost 30 ms at a thousand forwards.
  const auto json_listing = list("list table ip banger", NFT_CTX_OUTPUT_JSON, "table 'ip banger'");
  if (!json_listing) return {};
  std::exception_ptr unreadable;  // the JSON listing's own error, kept for a table without flags
  try {
    NatObserved whole = nat::parse_listing(*json_listing);
    if (!whole.has_table_flags()) return whole;
  } catch (const HostError&) {
    unreadable = std::current_exception();  // cut short by the bug, or not JSON at all
  }
  const auto text_listing = list("list table ip banger", 0, "table 'ip banger'");
  if (!text_listing) return {};
  const nat::TableOutline outline = nat::parse_outline(*text_listing);
  if (!outline.has_flags) {
    // No flags after all (set and cleared in between, or the JSON was bad for
    // another reason): the JSON listing's own answer stands.
    if (unreadable) std::rethrow_exception(unreadable);
    return nat::parse_listing(*json_listing);
  }
  // Chain by chain, which prints no table object. One chain per command:
  // with two `list chain` in one buffer, 1.0.6 says the first chain does not
  // exist (measured).
  std::vector<std::string> chains;
  const auto chain_list = list("list chains ip", NFT_CTX_OUTPUT_JSON, "chains", /*absent_ok=*/false);
  for (const std::string& name : nat::chain_names(*chain_list)) {
    // Absent: deleted since `list chains`.
    if (auto chain = list(nat::list_chain_command(name), NFT_CTX_OUTPUT_JSON, "chain '" + name + "' of table 'ip banger'")) {
      chains.push_back(std::move(*chain));
    }
  }
  return nat::parse_pieces(outline, chains);
}

void NatDriver::apply(const NatRuleset& rules) {
  const std::string script = nat::render_batch(rules);  // validates; throws before nft
  // Whatever happens next, the cached listing is of a ruleset about to go.
  forget_cache();
  const std::optional<nat::CacheKey> before = ctx_->cache_path.empty() ? std::nullopt : cache_key();
  apply_batch(script);
  // One commit is one generation. If the generation moved by exactly one,
  // nobody else committed in between, so table ip banger is exactly what
  // was just written: cached as such, the next observe (the diff after an
  // apply) needs no listing.
  if (!before) return;
  const auto after = nft_generation();
  if (!after || *after != before->generation + 1) return;
  const nat::CacheKey key{before->scope, *after};
  const NatObserved now = expected(rules);
  std::lock_guard cache_lock(ctx_->cache_mu);
  ctx_->cached_key = key;
  ctx_->cached = now;
  write_cache(key, now);
}

void NatDriver::apply_batch(const std::string& script) {
  std::lock_guard lock(nft_mutex());
  nft_ctx* nft = context();
  nft_api().nft_ctx_output_set_flags(nft, 0);
  if (nft_api().nft_run_cmd_from_buffer(nft, script.c_str()) != 0) {
    std::string err = trimmed(nft_api().nft_ctx_get_error_buffer(nft));
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
