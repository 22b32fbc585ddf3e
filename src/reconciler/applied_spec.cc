#include "reconciler/applied_spec.h"

#include "common/host_error.h"
#include "resources/field_table.h"

namespace banger {

namespace {

std::string address(const ResourceRecord& r) { return r.kind + "/" + r.name; }

template <class R>
R read_back(Kind kind, const ResourceRecord& rec, const KindFields<R>& table, bool from_db = true) {
  R out;
  out.kind = kind;
  out.metadata.name = rec.name;
  out.mark.file = rec.source_file;
  for (const SpecField& f : applied_fields(rec)) {
    const Shown<R>* s = table.find_shown(f.name);
    if (!s || !s->read) continue;
    if (!s->read(f.value, out)) {
      throw HostError(from_db ? "state DB: " + address(rec) + ": the applied " + f.name + " \"" + f.value +
                                    "\" cannot be read back (was the database edited by hand?)"
                              : address(rec) + ": " + f.name + " \"" + f.value + "\" is not a value banger writes",
                      ErrorCode::Invalid);
    }
  }
  return out;
}

}  // namespace

std::vector<SpecField> applied_fields(const ResourceRecord& r) {
  auto fields = ResourceSpec::fields_from_json(r.spec_json);
  if (!fields) {
    throw HostError("state DB: " + address(r) +
                        ": the applied spec is not a JSON object of strings (was the database edited by hand?)",
                    ErrorCode::Invalid);
  }
  return *fields;
}

Network applied_network(const ResourceRecord& r) { return read_back(Kind::Network, r, network_fields()); }
Kernel applied_kernel(const ResourceRecord& r) { return read_back(Kind::Kernel, r, kernel_fields()); }
Image applied_image(const ResourceRecord& r) { return read_back(Kind::Image, r, image_fields()); }
VM applied_vm(const ResourceRecord& r) { return read_back(Kind::VM, r, vm_fields()); }
PortForward applied_forward(const ResourceRecord& r) {
  return read_back(Kind::PortForward, r, port_forward_fields());
}

void check_applied(Kind kind, const ResourceRecord& r) {
  with_kind_fields(kind, [&](const auto& table) { read_back(kind, r, table, false); });
}

}  // namespace banger
