#include "drivers/firewall.h"

#include <mutex>
#include <nlohmann/json.hpp>

#include "common/host_error.h"
#include "drivers/nft_lib.h"

namespace banger {

std::vector<ForwardChain> parse_forward_chains(const std::string& json_listing) {
  std::vector<ForwardChain> out;
  nlohmann::json j = nlohmann::json::parse(json_listing, nullptr, false);
  if (j.is_discarded() || !j.contains("nftables") || !j["nftables"].is_array()) {
    throw HostError("nftables listed its chains in an unexpected form");
  }
  std::vector<std::pair<std::string, std::string>> names;  // "family table", chain
  for (const auto& item : j["nftables"]) {
    if (!item.contains("chain")) continue;
    const auto& c = item["chain"];
    names.emplace_back(c.value("family", "") + " " + c.value("table", ""), c.value("name", ""));
    if (c.value("hook", "") != "forward") continue;
    out.push_back({c.value("family", ""), c.value("table", ""), c.value("name", ""), c.value("policy", "accept")});
  }
  for (ForwardChain& f : out) {
    for (const auto& [table, chain] : names) {
      if (table != f.family + " " + f.table) continue;
      f.docker_user = f.docker_user || chain == "DOCKER-USER";
      f.ufw = f.ufw || chain.rfind("ufw-", 0) == 0;
    }
  }
  return out;
}

std::vector<ForwardChain> list_forward_chains() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  nft_ctx* nft = nft_api().nft_ctx_new(NFT_CTX_DEFAULT);
  if (!nft || nft_api().nft_ctx_buffer_output(nft) != 0 || nft_api().nft_ctx_buffer_error(nft) != 0) {
    if (nft) nft_api().nft_ctx_free(nft);
    throw HostError("could not create a libnftables context");
  }
  nft_api().nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_JSON);
  const bool ok = nft_api().nft_run_cmd_from_buffer(nft, "list chains") == 0;
  std::string text = ok ? nft_api().nft_ctx_get_output_buffer(nft) : nft_api().nft_ctx_get_error_buffer(nft);
  nft_api().nft_ctx_free(nft);
  if (!ok) throw HostError("could not list nftables chains: " + text);
  return parse_forward_chains(text);
}

std::vector<std::string> forward_fix(const ForwardChain& c, const std::string& bridge) {
  if (c.docker_user) {
    return {"iptables -I DOCKER-USER -i " + bridge + " -j ACCEPT",
            "iptables -I DOCKER-USER -o " + bridge + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"};
  }
  if (c.ufw) return {"ufw route allow in on " + bridge, "ufw route allow out on " + bridge};
  const std::string where = c.family + " " + c.table + " " + c.chain;
  return {"nft insert rule " + where + " iifname " + bridge + " accept",
          "nft insert rule " + where + " oifname " + bridge + " ct state established,related accept"};
}

}  // namespace banger
