// The text of download progress: the bar line a terminal redraws and the
// line a log gets per finished download.
#include "drivers/download_progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace banger {
namespace {

DownloadProgress at(uint64_t done, uint64_t total, double seconds, uint64_t resumed = 0) {
  DownloadProgress p;
  p.label = "Image/web";
  p.done = done;
  p.total = total;
  p.seconds = seconds;
  p.resumed_from = resumed;
  return p;
}

constexpr uint64_t MiB = 1 << 20;

TEST(DownloadProgressText, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(123.4 * MiB), "123.4 MiB");
  EXPECT_EQ(human_bytes(3.0 * 1024 * MiB), "3.0 GiB");
}

TEST(DownloadProgressText, HumanEta) {
  EXPECT_EQ(human_eta(-1), "?");
  EXPECT_EQ(human_eta(7.4), "7s");
  EXPECT_EQ(human_eta(125), "2m05s");
  EXPECT_EQ(human_eta(3725), "1h02m");
}

TEST(DownloadProgressText, BarLineWithTotal) {
  EXPECT_EQ(progress_line(at(32 * MiB, 128 * MiB, 2.0)),
            "Image/web  [#####---------------]  32.0 MiB / 128.0 MiB  25%  16.0 MiB/s  ETA 6s");
}

TEST(DownloadProgressText, RateCountsOnlyThisRunsBytes) {
  // 64 MiB were there from an earlier run; 32 MiB arrived in 2 s.
  EXPECT_EQ(progress_line(at(96 * MiB, 128 * MiB, 2.0, 64 * MiB)),
            "Image/web  [###############-----]  96.0 MiB / 128.0 MiB  75%  16.0 MiB/s  ETA 2s");
}

TEST(DownloadProgressText, LineWithoutTotal) {
  EXPECT_EQ(progress_line(at(5 * MiB, 0, 1.0)), "Image/web  5.0 MiB  5.0 MiB/s");
  EXPECT_EQ(progress_line(at(0, 10 * MiB, 0)),
            "Image/web  [--------------------]  0 B / 10.0 MiB  0%  0 B/s  ETA ?");
}

TEST(DownloadProgressText, FinishedLine) {
  DownloadProgress p = at(static_cast<uint64_t>(123.4 * MiB), 0, 3.2);
  p.sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  EXPECT_EQ(finished_line(p), "Downloaded Image/web: 123.4 MiB in 3.2 s (38.6 MiB/s) sha256:9f86d081884c…");
  p.resumed_from = 100 * MiB;
  EXPECT_EQ(finished_line(p),
            "Downloaded Image/web: 123.4 MiB in 3.2 s (7.3 MiB/s), resumed at 100.0 MiB sha256:9f86d081884c…");
}

TEST(DownloadRendererTest, LogGetsOnlyFinishedLines) {
  std::ostringstream out;
  DownloadRenderer r(out, /*tty=*/false);
  r.report(at(MiB, 2 * MiB, 1));
  DownloadProgress failed = at(MiB, 2 * MiB, 1);
  failed.failed = true;
  r.report(failed);
  DownloadProgress done = at(2 * MiB, 2 * MiB, 1);
  done.finished = true;
  r.report(done);
  EXPECT_EQ(out.str(), "Downloaded Image/web: 2.0 MiB in 1.0 s (2.0 MiB/s)\n");
}

TEST(DownloadRendererTest, TerminalRedrawsInPlaceAndClearsBeforeTheFinishedLine) {
  std::ostringstream out;
  DownloadRenderer r(out, /*tty=*/true);
  r.report(at(MiB, 2 * MiB, 1));
  DownloadProgress done = at(2 * MiB, 2 * MiB, 1);
  done.finished = true;
  r.report(done);
  EXPECT_EQ(out.str(),
            "\r\033[KImage/web  [##########----------]  1.0 MiB / 2.0 MiB  50%  1.0 MiB/s  ETA 1s"
            "\r\033[KDownloaded Image/web: 2.0 MiB in 1.0 s (2.0 MiB/s)\n");
}

TEST(DownloadRendererTest, ClearLeavesACleanLineAndNothingBeforeBytesArrive) {
  std::ostringstream out;
  DownloadRenderer r(out, /*tty=*/true);
  r.report(at(0, 0, 0.1));  // connected, no headers yet: nothing to draw
  EXPECT_EQ(out.str(), "");
  r.clear();
  EXPECT_EQ(out.str(), "");
  r.report(at(MiB, 0, 1));
  r.clear();
  EXPECT_EQ(out.str(), "\r\033[KImage/web  1.0 MiB  1.0 MiB/s\r\033[K");
}

}  // namespace
}  // namespace banger
