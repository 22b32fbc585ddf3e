// Test layers: tar files written with libarchive (plain, gzip or zstd)
// from a list of entries, so a test says exactly what a layer holds,
// hostile entries included.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace banger::test {

struct Entry {
  std::string path;
  mode_t type = AE_IFREG;
  std::string data;  // file content, or the link target
  mode_t perm = 0644;
  int uid = 0, gid = 0;
  bool hardlink = false;
  int64_t claimed_size = -1;  // a header that lies about the size
  dev_t rdev = 0;
};

inline std::string write_layer(const std::string& path, const std::vector<Entry>& entries, const char* filter = "gzip") {
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  if (std::string(filter) == "gzip") {
    archive_write_add_filter_gzip(a.get());
    // No time in the gzip header: the same entries give the same blob.
    archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
  }
  if (std::string(filter) == "zstd") archive_write_add_filter_zstd(a.get());
  EXPECT_EQ(archive_write_open_filename(a.get(), path.c_str()), ARCHIVE_OK);
  for (const Entry& e : entries) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> en(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(en.get(), e.path.c_str());
    archive_entry_set_perm(en.get(), e.perm);
    archive_entry_set_uid(en.get(), e.uid);
    archive_entry_set_gid(en.get(), e.gid);
    if (e.hardlink) {
      archive_entry_set_hardlink(en.get(), e.data.c_str());
      archive_entry_set_size(en.get(), 0);
    } else {
      archive_entry_set_filetype(en.get(), e.type);
      if (e.type == AE_IFLNK) archive_entry_set_symlink(en.get(), e.data.c_str());
      if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(en.get(), e.rdev);
      archive_entry_set_size(en.get(), e.type == AE_IFREG ? (e.claimed_size >= 0 ? e.claimed_size : e.data.size()) : 0);
    }
    EXPECT_EQ(archive_write_header(a.get(), en.get()), ARCHIVE_OK) << e.path;
    if (e.type == AE_IFREG && !e.hardlink && !e.data.empty()) archive_write_data(a.get(), e.data.data(), e.data.size());
  }
  archive_write_close(a.get());
  return path;
}

}  // namespace banger::test
