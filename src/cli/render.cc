#include "cli/render.h"

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

namespace banger::cli {

void add_file_option(CLI::App* cmd, std::vector<std::string>& files) {
  cmd->add_option("-f,--filename", files,
                  "Manifest file or folder (recursive); repeatable; '-' reads standard input")
      ->required()
      ->allow_extra_args(false)  // "-f a b" must not swallow b (CLI11 vectors are greedy)
      ->type_name("PATH");
}

void add_output_option(CLI::App* cmd, std::string& output, std::vector<std::string> formats) {
  std::string names;
  for (const auto& f : formats) names += (names.empty() ? "" : "|") + f;
  cmd->add_option("-o,--output", output, "Output format: " + names)
      ->check(CLI::IsMember(formats))
      ->type_name("FORMAT");
}

void print_diagnostics(std::ostream& out, const Diagnostics& diags) {
  for (const Diagnostic& d : diags.sorted()) out << d.format() << "\n";
}

std::string diagnostics_json(const Diagnostics& diags) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const Diagnostic& d : diags.sorted()) {
    arr.push_back({{"file", d.mark.file},
                   {"line", d.mark.line},
                   {"column", d.mark.column},
                   {"kind", d.kind},
                   {"name", d.name},
                   {"field", d.field},
                   {"message", d.message}});
  }
  // Manifests may hold any bytes; never let an invalid UTF-8 value abort output.
  return arr.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string summarize(const ManifestSet& set) {
  std::string out;
  for (Kind k : {Kind::Network, Kind::Kernel, Kind::Image, Kind::VM, Kind::PortForward}) {
    size_t n = set.count(k);
    if (k == Kind::Network) {
      for (const Network& net : set.networks) n -= net.implicit ? 1 : 0;
    }
    if (n == 0) continue;
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + kind_name(k) + (n == 1 ? "" : "s");
  }
  if (const size_t n = set.nodes.size()) {
    out += (out.empty() ? "" : ", ") + std::to_string(n) + " " + kNodeKind + (n == 1 ? "" : "s");
  }
  return out.empty() ? "no resources" : out;
}

namespace {
std::string at(const ObjectMeta& r) {
  return r.mark.file + ":" + std::to_string(r.mark.line);
}

void row(std::ostream& out, const ObjectMeta& r, const std::string& details, const std::string& src) {
  std::string addr = std::string(kind_name(r.kind)) + "/" + r.name();
  out << "  " << std::left << std::setw(28) << addr << " " << std::setw(52) << details << " " << src
      << "\n";
}
}  // namespace

void print_resource_table(std::ostream& out, const ManifestSet& set) {
  for (const Network& n : set.networks) {
    row(out, n,
        n.subnet.value.str() + " bridge=" + n.bridge.value + (n.nat.value ? " nat" : ""),
        n.implicit ? "(built in)" : at(n));
  }
  for (const Kernel& k : set.kernels) {
    row(out, k, k.source.url.set ? k.source.url.value : k.source.path.value, at(k));
  }
  for (const Image& i : set.images) {
    row(out, i, i.source.url.set ? i.source.url.value : i.source.path.value, at(i));
  }
  for (const VM& v : set.vms) {
    std::string d = std::to_string(v.vcpus.value) + " vcpu, " + format_size(v.memory.value) +
                    ", net=" + v.network.value +
                    (v.ip.value ? ", ip=" + v.ip.value->str() : std::string()) + ", " +
                    to_string(v.state.value);
    row(out, v, d, at(v));
  }
  for (const PortForward& p : set.port_forwards) {
    row(out, p,
        p.host_address.value.str() + ":" + std::to_string(p.host_port.value) + " -> " +
            p.vm.value + ":" + std::to_string(p.guest_port.value) + "/" + to_string(p.protocol.value),
        at(p));
  }
}

void print_table(const std::vector<Row>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> width(rows[0].size(), 0);
  for (size_t c = 0; c < rows[0].size(); ++c) width[c] = rows[0][c].first.size();
  for (const Row& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].second.size());
  }
  for (size_t c = 0; c < rows[0].size(); ++c) {
    std::cout << std::left << std::setw(static_cast<int>(width[c] + 3)) << rows[0][c].first;
  }
  std::cout << "\n";
  for (const Row& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) {
      std::cout << std::left << std::setw(static_cast<int>(width[c] + 3)) << r[c].second;
    }
    std::cout << "\n";
  }
}

}  // namespace banger::cli
