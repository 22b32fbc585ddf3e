// Runs a program and captures its exit code, stdout and stderr separately.
#pragma once

#include <string>
#include <vector>

namespace banger::test {

struct CommandResult {
  int exit_code = -1;  ///< -1 when killed by a signal (see signal)
  int signal = 0;
  std::string out;
  std::string err;
};

/// argv[0] is the program path. `stdin_text` is written to its standard input.
/// `timeout_s` bounds the run; a hung process is killed and reported by signal.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                          int timeout_s = 60);

/// The banger binary under test, with `args`.
CommandResult run_banger(const std::vector<std::string>& args, const std::string& stdin_text = "");

/// A fresh directory under /tmp, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// Writes `text` to path()/name (creating folders) and returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

}  // namespace banger::test
