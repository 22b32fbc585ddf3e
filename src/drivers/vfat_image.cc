// Layout, as mkfs.fat would make it for a small disk: boot sector, two FATs,
// a fixed 512-entry root directory, then the data clusters. Files are stored
// one after the other from cluster 2, each in one contiguous run. The layout
// follows Microsoft's "FAT: General Overview of On-Disk Format" (1.03).
#include "drivers/vfat_image.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string_view>

namespace banger {
namespace {

constexpr uint32_t kSector = 512;
constexpr uint32_t kReservedSectors = 1;  // the boot sector
constexpr uint32_t kFats = 2;
constexpr uint32_t kRootEntries = 512;    // what mkfs.fat uses for small disks
constexpr uint32_t kRootSectors = kRootEntries * 32 / kSector;
// 1 MiB: smaller than a floppy confuses some probers, and this costs nothing
// once the file is sparse.
constexpr uint32_t kMinSectors = 2048;
// The FAT type is decided by the cluster count alone (kernel, fsck.fat,
// blkid): below 4085 it is FAT12, whatever the boot sector's type string says.
constexpr uint32_t kMaxFat12Clusters = 4084;
// mtools refuses a disk whose size is not a whole number of tracks.
constexpr uint32_t kSectorsPerTrack = 32;
constexpr uint32_t kHeads = 64;
constexpr size_t kMaxName = 255;
constexpr size_t kLfnChars = 13;  // UTF-16 units per long-name entry
// 1980-01-01 00:00, the FAT epoch: fixed so the bytes only depend on inputs.
constexpr uint16_t kDate = (0 << 9) | (1 << 5) | 1;
constexpr uint16_t kTime = 0;

constexpr uint8_t kAttrReadOnly = 0x01, kAttrVolumeLabel = 0x08, kAttrArchive = 0x20;
constexpr uint8_t kAttrLongName = 0x0F;

void put16(std::string& b, size_t at, uint16_t v) {
  b[at] = static_cast<char>(v & 0xFF);
  b[at + 1] = static_cast<char>(v >> 8);
}

void put32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// For messages: the name as given, with what cannot be printed escaped.
std::string quoted(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  return out + "\"";
}

[[noreturn]] void bad_name(const std::string& name, const std::string& why) {
  throw std::invalid_argument("vfat image: file name " + quoted(name) + " " + why);
}

void check_name(const std::string& name) {
  if (name.empty()) throw std::invalid_argument("vfat image: empty file name");
  if (name.size() > kMaxName) {
    bad_name(name.substr(0, 32) + "...", "is " + std::to_string(name.size()) +
                                             " characters long, the most is 255");
  }
  for (char c : name) {
    // ASCII only: the long name is UTF-16 on disk, and how the kernel shows
    // anything past ASCII depends on the iocharset the guest mounts it with.
    if (c < 0x20 || c > 0x7E) bad_name(name, "has a character that is not printable ASCII");
    if (std::string_view("\"*/:<>?\\|").find(c) != std::string_view::npos) {
      bad_name(name, std::string("has '") + c + "', which FAT names cannot hold");
    }
  }
  // The kernel's vfat and Windows drop trailing dots and spaces on lookup, so
  // such a file could never be opened under the name it was given.
  if (name.back() == '.' || name.back() == ' ') bad_name(name, "ends in '.' or ' '");
}

void check_label(const std::string& label) {
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument("vfat image: volume label " + quoted(label) + " " + why);
  };
  if (label.empty() || label.size() > 11) bad("must be 1 to 11 characters");
  for (char c : label) {
    if (c < 0x20 || c > 0x7E) bad("has a character that is not printable ASCII");
    // The label is an 8.3-style directory entry: the characters short names
    // cannot hold (mkfs.fat refuses the same ones).
    if (std::string_view("\"*+,./:;<=>?[\\]|").find(c) != std::string_view::npos) {
      bad(std::string("has '") + c + "', which FAT labels cannot hold");
    }
  }
  if (label.front() == ' ') bad("starts with a space");
  std::string up;
  for (char c : label) up += upper(c);
  // "NO NAME" is what FAT writes for "no label": blkid would report none.
  if (up.find_last_not_of(' ') == 6 && up.compare(0, 7, "NO NAME") == 0) bad("means no label");
}

// ------------------------------------------------------------- short names

bool short_char_ok(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'()-@^_`{}~").find(c) != std::string_view::npos;
}

struct ShortName {
  std::string base, ext;  // upper case, at most 8 and 3 characters
  std::string shown() const { return ext.empty() ? base : base + "." + ext; }
  std::array<char, 11> raw() const {
    std::array<char, 11> r;
    r.fill(' ');
    std::copy(base.begin(), base.end(), r.begin());
    std::copy(ext.begin(), ext.end(), r.begin() + 8);
    return r;
  }
};

// The basis name of the long name, per the Microsoft algorithm: upper case,
// spaces and leading dots dropped, characters 8.3 cannot hold made '_', the
// part before the last dot cut to 8 and the part after it to 3. `exact` says
// nothing was lost but case, so it needs no "~N" tail to stand for the name.
ShortName basis_name(const std::string& name, bool& exact) {
  std::string s;
  for (char c : name) {
    if (c != ' ') s += c;
  }
  s.erase(0, s.find_first_not_of('.'));
  size_t dot = s.rfind('.');
  std::string base_part = dot == std::string::npos ? s : s.substr(0, dot);
  std::string ext_part = dot == std::string::npos ? "" : s.substr(dot + 1);
  auto convert = [](const std::string& in, size_t max) {
    std::string out;
    for (char c : in) {
      if (c == '.') continue;  // only one dot survives, between base and ext
      char u = upper(c);
      out += short_char_ok(u) ? u : '_';
    }
    return out.substr(0, std::min(max, out.size()));
  };
  ShortName sn{convert(base_part, 8), convert(ext_part, 3)};
  if (sn.base.empty()) sn.base = "_";
  std::string up;
  for (char c : name) up += upper(c);
  exact = (up == sn.shown());
  return sn;
}

// "BASE~N": the basis cut short enough for the tail, the first N unused.
ShortName with_tail(const ShortName& basis, const std::set<std::string>& taken) {
  for (uint32_t n = 1; n <= 999999; ++n) {
    std::string tail = "~" + std::to_string(n);
    ShortName sn{basis.base.substr(0, std::min(basis.base.size(), 8 - tail.size())) + tail,
                 basis.ext};
    if (!taken.count(sn.shown())) return sn;
  }
  throw std::invalid_argument("vfat image: no free short name for " + quoted(basis.shown()));
}

uint8_t lfn_checksum(const std::array<char, 11>& raw) {
  uint8_t sum = 0;
  for (char c : raw) {
    sum = static_cast<uint8_t>(((sum & 1) << 7) + (sum >> 1) + static_cast<uint8_t>(c));
  }
  return sum;
}

struct Entry {
  const VfatFile* file;
  ShortName sn;
  bool lfn = false;       // the long name differs from the short one
  uint32_t cluster = 0;   // first cluster; 0 for an empty file
  uint32_t clusters = 0;
};

size_t lfn_entries(const std::string& name) { return (name.size() + kLfnChars - 1) / kLfnChars; }

// ----------------------------------------------------------------- layout

struct Layout {
  uint32_t spc = 1;  // sectors per cluster
  uint32_t fat_sectors = 1;
  uint32_t total_sectors = 0;
  uint32_t clusters = 0;
  uint32_t first_data_sector() const {
    return kReservedSectors + kFats * fat_sectors + kRootSectors;
  }
};

uint32_t fat12_sectors(uint32_t clusters) {
  uint32_t bytes = ((clusters + 2) * 3 + 1) / 2;  // 12 bits per entry, 2 reserved
  return (bytes + kSector - 1) / kSector;
}

// The smallest FAT12 layout that holds `needed` clusters of the smallest
// cluster size that keeps the count under the FAT12 limit.
Layout choose_layout(const std::vector<VfatFile>& files) {
  for (uint32_t spc = 1; spc <= 64; spc *= 2) {
    uint64_t cluster_bytes = uint64_t{kSector} * spc;
    uint64_t needed = 0;
    for (const auto& f : files) needed += (f.content.size() + cluster_bytes - 1) / cluster_bytes;
    if (needed > kMaxFat12Clusters) continue;
    uint32_t n = static_cast<uint32_t>(needed);
    Layout l;
    l.spc = spc;
    uint32_t total = std::max(kMinSectors, kReservedSectors + kRootSectors +
                                               kFats * fat12_sectors(n) + n * spc);
    for (;; total += kSectorsPerTrack) {
      total = (total + kSectorsPerTrack - 1) / kSectorsPerTrack * kSectorsPerTrack;
      // The FAT must cover every cluster the rest of the disk holds, and it
      // takes room from them: the smallest FAT that does.
      uint32_t fs = 1;
      for (;;) {
        uint32_t data = total - kReservedSectors - kRootSectors - kFats * fs;
        if (fat12_sectors(data / spc) <= fs) break;
        ++fs;
      }
      l.fat_sectors = fs;
      l.total_sectors = total;
      l.clusters = (total - l.first_data_sector()) / spc;
      if (l.clusters >= n) break;
    }
    if (l.clusters <= kMaxFat12Clusters) return l;
  }
  // Unreachable within kVfatMaxContent; kept so a change to it fails loudly.
  throw std::invalid_argument("vfat image: content too large for FAT12");
}

void fat12_set(std::string& img, size_t fat_at, uint32_t n, uint16_t v) {
  size_t at = fat_at + n + n / 2;
  auto b0 = static_cast<uint8_t>(img[at]), b1 = static_cast<uint8_t>(img[at + 1]);
  if (n & 1) {
    b0 = static_cast<uint8_t>((b0 & 0x0F) | ((v << 4) & 0xF0));
    b1 = static_cast<uint8_t>(v >> 4);
  } else {
    b0 = static_cast<uint8_t>(v & 0xFF);
    b1 = static_cast<uint8_t>((b1 & 0xF0) | ((v >> 8) & 0x0F));
  }
  img[at] = static_cast<char>(b0);
  img[at + 1] = static_cast<char>(b1);
}

// FNV-1a over everything that goes in: the volume id (blkid's UUID) differs
// between seeds yet is the same for the same seed.
uint32_t volume_id(const std::string& label, const std::vector<VfatFile>& files) {
  uint32_t h = 2166136261u;
  auto mix = [&h](std::string_view s) {
    uint64_t n = s.size();
    for (int i = 0; i < 8; ++i) h = (h ^ ((n >> (8 * i)) & 0xFF)) * 16777619u;
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
  };
  mix(label);
  for (const auto& f : files) {
    mix(f.name);
    mix(f.content);
  }
  return h;
}

void write_dirent(std::string& img, size_t at, const std::array<char, 11>& raw, uint8_t attr,
                  uint32_t cluster, uint32_t size) {
  std::copy(raw.begin(), raw.end(), img.begin() + static_cast<std::ptrdiff_t>(at));
  img[at + 11] = static_cast<char>(attr);
  put16(img, at + 14, kTime);  // created
  put16(img, at + 16, kDate);
  put16(img, at + 18, kDate);  // accessed
  put16(img, at + 22, kTime);  // written
  put16(img, at + 24, kDate);
  put16(img, at + 26, static_cast<uint16_t>(cluster));  // high word (20) stays 0 on FAT12
  put32(img, at + 28, size);
}

// The long-name entries of `name`, last part first as they precede the short
// entry on disk; returns the offset after them.
size_t write_lfn(std::string& img, size_t at, const std::string& name, uint8_t checksum) {
  static constexpr int kSlots[kLfnChars] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
  size_t count = lfn_entries(name);
  for (size_t seq = count; seq >= 1; --seq, at += 32) {
    img[at] = static_cast<char>(seq | (seq == count ? 0x40 : 0));
    img[at + 11] = static_cast<char>(kAttrLongName);
    img[at + 13] = static_cast<char>(checksum);
    for (size_t i = 0; i < kLfnChars; ++i) {
      size_t pos = (seq - 1) * kLfnChars + i;
      // After the name: one NUL, then 0xFFFF padding.
      uint16_t unit = pos < name.size() ? static_cast<uint8_t>(name[pos])
                      : pos == name.size() ? 0x0000 : 0xFFFF;
      put16(img, at + kSlots[i], unit);
    }
  }
  return at;
}

}  // namespace

std::string make_vfat_image(const std::string& label, const std::vector<VfatFile>& files) {
  check_label(label);
  std::set<std::string> seen;  // lower case
  uint64_t content = 0;
  size_t dirents = 1;  // the volume label
  for (const auto& f : files) {
    check_name(f.name);
    std::string low;
    for (char c : f.name) low += lower(c);
    if (!seen.insert(low).second) {
      bad_name(f.name, "is given twice (FAT names do not differ by case)");
    }
    content += f.content.size();
    dirents += 1 + lfn_entries(f.name);
  }
  if (content > kVfatMaxContent) {
    throw std::invalid_argument("vfat image: " + std::to_string(content) +
                                " bytes of files, the most is " +
                                std::to_string(kVfatMaxContent));
  }

  // Short names: those the long names are already (but for case) first, so a
  // generated "NAME~1" never takes the one a file spells out for itself.
  std::vector<Entry> entries(files.size());
  std::set<std::string> taken;
  std::vector<bool> exact(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    bool ex = false;
    entries[i].file = &files[i];
    entries[i].sn = basis_name(files[i].name, ex);
    exact[i] = ex;
    if (ex) taken.insert(entries[i].sn.shown());
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (!exact[i]) {
      entries[i].sn = with_tail(entries[i].sn, taken);
      taken.insert(entries[i].sn.shown());
    }
    entries[i].lfn = files[i].name != entries[i].sn.shown();
    if (!entries[i].lfn) dirents -= lfn_entries(files[i].name);
  }
  if (dirents > kRootEntries) {
    throw std::invalid_argument("vfat image: the files need " + std::to_string(dirents) +
                                " root directory entries, there are " +
                                std::to_string(kRootEntries) +
                                " (each name takes 1, plus 1 per 13 characters)");
  }

  const Layout l = choose_layout(files);
  const uint32_t cluster_bytes = kSector * l.spc;
  std::string img(size_t{l.total_sectors} * kSector, '\0');

  // Boot sector with the extended BPB (signature 0x29: id, label, type).
  const std::string_view jump_oem("\xEB\x3C\x90" "BANGER  ", 11);
  std::copy(jump_oem.begin(), jump_oem.end(), img.begin());
  put16(img, 11, kSector);
  img[13] = static_cast<char>(l.spc);
  put16(img, 14, kReservedSectors);
  img[16] = static_cast<char>(kFats);
  put16(img, 17, kRootEntries);
  put16(img, 19, static_cast<uint16_t>(l.total_sectors));  // < 65536: kVfatMaxContent
  img[21] = static_cast<char>(0xF8);                         // media: fixed disk
  put16(img, 22, static_cast<uint16_t>(l.fat_sectors));
  put16(img, 24, kSectorsPerTrack);
  put16(img, 26, kHeads);
  img[36] = static_cast<char>(0x80);  // drive number: first hard disk
  img[38] = 0x29;
  put32(img, 39, volume_id(label, files));
  std::string padded_label = label + std::string(11 - label.size(), ' ');
  std::copy(padded_label.begin(), padded_label.end(), img.begin() + 43);
  const std::string_view type("FAT12   ");
  std::copy(type.begin(), type.end(), img.begin() + 54);
  // Boot code, should anything try to boot it: int 18h ("no bootable disk"),
  // then halt forever.
  const std::string_view code("\xCD\x18\xF4\xEB\xFD", 5);
  std::copy(code.begin(), code.end(), img.begin() + 62);
  img[510] = 0x55;
  img[511] = static_cast<char>(0xAA);

  // Data and the FAT: each file in a contiguous run of clusters.
  const size_t fat_at = size_t{kReservedSectors} * kSector;
  fat12_set(img, fat_at, 0, 0xF00 | 0xF8);  // media byte
  fat12_set(img, fat_at, 1, 0xFFF);
  uint32_t next = 2;
  for (auto& e : entries) {
    const std::string& data = e.file->content;
    e.clusters = static_cast<uint32_t>((data.size() + cluster_bytes - 1) / cluster_bytes);
    if (e.clusters == 0) continue;
    e.cluster = next;
    for (uint32_t c = 0; c < e.clusters; ++c) {
      uint32_t n = next + c;
      fat12_set(img, fat_at, n, c + 1 == e.clusters ? 0xFFF : static_cast<uint16_t>(n + 1));
    }
    size_t at = (size_t{l.first_data_sector()} + size_t{next - 2} * l.spc) * kSector;
    std::copy(data.begin(), data.end(), img.begin() + static_cast<std::ptrdiff_t>(at));
    next += e.clusters;
  }
  const size_t fat_bytes = size_t{l.fat_sectors} * kSector;
  std::copy_n(img.begin() + static_cast<std::ptrdiff_t>(fat_at), fat_bytes,
              img.begin() + static_cast<std::ptrdiff_t>(fat_at + fat_bytes));

  // Root directory: the label entry first (blkid's LABEL), then each file's
  // long-name entries and its short entry. Read-only: it is a seed.
  size_t at = size_t{kReservedSectors + kFats * l.fat_sectors} * kSector;
  std::array<char, 11> label_raw;
  std::copy(padded_label.begin(), padded_label.end(), label_raw.begin());
  write_dirent(img, at, label_raw, kAttrVolumeLabel, 0, 0);
  at += 32;
  for (const auto& e : entries) {
    const auto raw = e.sn.raw();
    if (e.lfn) at = write_lfn(img, at, e.file->name, lfn_checksum(raw));
    write_dirent(img, at, raw, kAttrArchive | kAttrReadOnly, e.cluster,
                 static_cast<uint32_t>(e.file->content.size()));
    at += 32;
  }
  return img;
}

}  // namespace banger
