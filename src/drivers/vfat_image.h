// A FAT12 image built in memory, for the cloud-init NoCloud seed disk (label
// "cidata", files meta-data, user-data, network-config): no mount, no mkfs,
// no loop device, so it works unprivileged and the bytes are the same every
// time for the same inputs (fixed timestamps, volume id hashed from the
// content), which keeps a VM's seed from looking changed when it is not.
//
// Label case, and why the caller passes "cidata" as is: cloud-init's NoCloud
// (22.4, the one in Debian 12, and still today) finds its seed with
//   blkid -tTYPE=vfat / -tTYPE=iso9660, intersected with
//   blkid -tLABEL=CIDATA, -tLABEL=cidata, -tLABEL_FATBOOT=<fs_label>
// and blkid's -t match is case sensitive: a label "CiData" would not be
// found. blkid's LABEL is the volume-label entry of the root directory (and
// LABEL_FATBOOT the one in the boot sector), so both are written, byte for
// byte the same, in the case given: like `mkfs.fat -n cidata`, which keeps
// it lowercase (and only warns that Windows might not like it).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace banger {

struct VfatFile {
  std::string name;     ///< long name, printable ASCII, e.g. "network-config"
  std::string content;  ///< any bytes
};

/// The most file content an image holds, all files together: a seed is a few
/// KiB, so anything near this is a mistake, not a seed.
inline constexpr size_t kVfatMaxContent = 8u << 20;

/// The bytes of a FAT12 filesystem (at least 1 MiB) with the volume label
/// `label` and the files in its root directory, each under its long (VFAT)
/// name with a generated 8.3 alias. Deterministic.
/// Throws std::invalid_argument for a bad label (1-11 printable ASCII
/// characters, none of "*+,./:;<=>?[\]|, not starting with a space), a bad
/// name (empty, over 255 characters, not printable ASCII, one of "*/:<>?\|,
/// ending in '.' or ' '), two names equal ignoring case, more
/// files than the root directory holds, or more than kVfatMaxContent bytes.
std::string make_vfat_image(const std::string& label, const std::vector<VfatFile>& files);

}  // namespace banger
