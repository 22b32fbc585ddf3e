// Getting into a VM: `banger ssh NAME [-- CMD]`, `banger exec NAME... -- CMD`
// and `banger ssh-config [NAME...]`. They run the system's OpenSSH client
// against the VM's own known_hosts, where banger pinned the host key it gave
// the guest (reconciler/guest_prepare.h).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/options.h"

namespace banger::cli {

/// `remote`: the words after "--" (the remote command), split off before parsing.
void add_ssh_commands(CLI::App& app, const GlobalOptions& g, std::function<int()>& run,
                      const std::vector<std::string>& remote);

}  // namespace banger::cli
