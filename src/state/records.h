// Every record banger keeps in state.db, one struct per table. Each defines
// its own columns (see record_schema.h); StoredRecords lists them all for the
// schema check.
#pragma once

#include <tuple>

#include "state/records/artifact_check.h"
#include "state/records/artifact_record.h"
#include "state/records/disk_record.h"
#include "state/records/ip_allocation.h"
#include "state/records/journal_entry.h"
#include "state/records/owned_object.h"
#include "state/records/resource_record.h"
#include "state/records/restart_record.h"
#include "state/records/vm_record.h"
#include "state/records/vm_runtime.h"

namespace banger {

using StoredRecords = std::tuple<ResourceRecord, VmRecord, VmRuntime, IpAllocation, OwnedObject,
                                 JournalEntry, RestartRecord, ArtifactCheck, ArtifactRecord, DiskRecord>;

}  // namespace banger
