// spec.guest's entry in the VM field table, and the helpers the loader and
// the guest preparation share with it.
#pragma once

#include <string>

#include "resources/field_table.h"

namespace banger {

FieldDef<VM> guest_field();

/// A path written in spec.guest: "~/" is the home of the user who runs
/// banger (under sudo, the user who ran sudo), a relative path starts at the
/// manifest's folder.
std::string resolve_guest_path(const std::string& written, const std::string& base_dir);
/// The home folder "~" means: SUDO_USER's when banger runs as root under
/// sudo, else $HOME, else the passwd entry of the real user.
std::string invoking_user_home();

/// The MIME type cloud-init gives user-data from its first line
/// ("text/cloud-config" for "#cloud-config", "text/x-shellscript" for "#!"),
/// or "" when banger cannot merge it with its own (e.g. a multipart message).
std::string user_data_type(const std::string& text);
/// Why user-data cannot be used ("" when it can): an unknown first line, or
/// a #cloud-config that is not a YAML mapping.
std::string user_data_problem(const std::string& text);

/// "alice@laptop, ci (2 keys, #1a2b3c4d)": how plans and get show the keys.
std::string guest_keys_text(const Guest& g);
/// "312 bytes, #1a2b3c4d"
std::string guest_user_data_text(const Guest& g);

}  // namespace banger
