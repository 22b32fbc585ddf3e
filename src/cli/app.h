// The banger command line: global flags, subcommands, and kubectl-style
// handling of mistakes (exit 1 with a hint, never CLI11's own exit codes).
#pragma once

namespace banger::cli {

int run(int argc, char** argv);

}  // namespace banger::cli
