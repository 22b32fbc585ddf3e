// libdevmapper, opened on first use (common/lazy_lib.h says why). Members
// carry the library's own names and types.
#pragma once

#include <libdevmapper.h>

#include "common/lazy_lib.h"

namespace banger {

#define BANGER_DM_SYMBOLS(X)                                                                  \
  X(dm_driver_version) X(dm_get_next_target) X(dm_get_status_snapshot) X(dm_lib_release)      \
  X(dm_log_with_errno_init) X(dm_mknodes) X(dm_pool_create) X(dm_pool_destroy)                \
  X(dm_task_add_target) X(dm_task_create) X(dm_task_destroy) X(dm_task_get_deps)              \
  X(dm_task_get_errno) X(dm_task_get_info) X(dm_task_get_names) X(dm_task_get_uuid)           \
  X(dm_task_retry_remove) X(dm_task_run) X(dm_task_set_cookie) X(dm_task_set_name)            \
  X(dm_task_set_uuid) X(dm_udev_set_sync_support) X(dm_udev_wait)

struct DmLib {
  BANGER_LAZY_MEMBERS(BANGER_DM_SYMBOLS)
};

/// Opens libdevmapper once; throws HostError naming the package when it is
/// not installed.
const DmLib& dm_api();

}  // namespace banger
