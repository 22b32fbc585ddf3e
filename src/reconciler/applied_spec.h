// A resource as it was last applied, read back from the state DB's copy of
// its spec (ResourceRecord::spec_json) into the typed model through the
// kind's field table: the one way the reconciler and the CLI read an applied
// spec. A record that does not read back is an error that names it, never
// an empty spec.
#pragma once

#include <vector>

#include "reconciler/spec.h"
#include "resources/model.h"
#include "state/store.h"

namespace banger {

/// The stored fields in stored order. Throws HostError(Invalid) when the
/// record's spec_json is not a flat object of strings.
std::vector<SpecField> applied_fields(const ResourceRecord& r);

/// The typed resource. Values the table derives from other resources (a
/// VM's kernelSource) and fields this build does not know are not read;
/// fields the record lacks keep the model's defaults with set == false.
/// Throws HostError(Invalid) naming the record and field when a stored value
/// is not in the form the field table writes.
Network applied_network(const ResourceRecord& r);
Kernel applied_kernel(const ResourceRecord& r);
Image applied_image(const ResourceRecord& r);
VM applied_vm(const ResourceRecord& r);
PortForward applied_forward(const ResourceRecord& r);

/// Reads `r` back as its kind would be, for a record that came from
/// elsewhere (a state export): throws HostError(Invalid) naming the
/// resource and field, without the state DB's "edited by hand?" wording.
void check_applied(Kind kind, const ResourceRecord& r);

}  // namespace banger
