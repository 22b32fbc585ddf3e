// spec.placement, one entry shared by every kind's field table: which
// nodes of a fleet converge the resource. It decides where a resource is
// desired, not what it is, so it shows no value: diff never compares it and
// the state DB never records it (moving a VM between nodes is a delete on
// one and a create on the other, not an update).
#pragma once

#include "resources/field_table.h"

namespace banger {

/// Reads spec.placement (when written) into `out`; sets out.set only when
/// it is valid, so that a bad one is reported once, by itself.
void decode_placement(DocReader& r, const DocReader::MapView& spec, Placement& out);

/// The entry's text and schema, the same for every kind.
FieldDef<ObjectMeta> placement_def();

template <class R>
FieldDef<R> placement_field() {
  FieldDef<ObjectMeta> base = placement_def();
  FieldDef<R> d{base.key, base.rule, base.required, base.doc, base.schema, {}, {}, base.change_note};
  d.decode = [](DocReader& r, const DocReader::MapView& m, R& out) { decode_placement(r, m, out.placement); };
  return d;
}

}  // namespace banger
