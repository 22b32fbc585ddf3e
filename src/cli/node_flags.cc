#include "cli/node_flags.h"

#include <unistd.h>

#include <stdexcept>

#include "resources/decode.h"
#include "resources/label_selector.h"
#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger::cli {

void add_node_flags(CLI::App& app, GlobalOptions& g) {
  app.add_option("--node-name", g.node_name,
                 "This host's name in a fleet, which spec.placement.node names (default: the hostname)")
      ->envname("BANGER_NODE_NAME")
      ->type_name("NAME");
  app.add_option("--node-labels", g.node_labels,
                 "This host's labels in a fleet, which spec.placement.nodeSelector matches (k=v,k2=v2)")
      ->envname("BANGER_NODE_LABELS")
      ->type_name("K=V,...");
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

NodeIdentity node_identity(const GlobalOptions& g) {
  NodeIdentity n;
  n.name = g.node_name.empty() ? to_lower(hostname()) : g.node_name;
  if (!g.node_name.empty() && !is_dns1123_subdomain(g.node_name)) {
    throw std::runtime_error("--node-name (or BANGER_NODE_NAME) " + quote(g.node_name) +
                             " is not a valid node name (expected " + kNodeNameRule + ")");
  }
  if (g.node_labels.empty()) return n;
  for (const std::string& part : split(g.node_labels, ',')) {
    const size_t eq = part.find('=');
    const std::string key = part.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
    std::string why;
    if (eq == std::string::npos) {
      why = "has no '=' (expected key=value)";
    } else if (!is_label_key(key)) {
      why = "has no valid label key (expected a name of at most 63 letters, digits, '-', '_' or '.', optionally "
            "with a DNS prefix and '/')";
    } else if (!is_label_value(value)) {
      why = "has no valid label value (expected at most 63 letters, digits, '-', '_' or '.', starting and "
            "ending with a letter or digit)";
    } else if (n.labels.count(key)) {
      why = "sets " + quote(key) + " twice (expected each key once)";
    }
    if (!why.empty()) {
      throw std::runtime_error("--node-labels (or BANGER_NODE_LABELS) " + quote(g.node_labels) + ": " +
                               quote(part) + " " + why);
    }
    n.labels[key] = value;
  }
  return n;
}

std::string node_text(const NodeIdentity& n) {
  return n.name + (n.labels.empty() ? "" : " (" + format_labels(n.labels) + ")");
}

}  // namespace banger::cli
