// `banger completion`: the bash script, loaded into a real bash and asked as
// bash asks it (COMP_WORDS, COMP_CWORD), completes commands, flags, -o
// values and kinds from banger's own definitions; fish's and zsh's scripts
// carry the same definitions.
#include <gtest/gtest.h>

#include <string>

#include "run_command.h"

namespace {

using banger::test::run_command;

std::string script(const std::string& shell) {
  auto r = run_command({BANGER_BIN, "completion", shell});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// What bash offers for the words of `line`, the last one being completed.
std::string complete(const std::string& line) {
  const std::string prog =
      script("bash") + "\nbanger() { " + std::string(BANGER_BIN) + " \"$@\"; }\n" +
      "read -ra COMP_WORDS <<< \"$LINE\"\n"
      "[[ $LINE == *' ' ]] && COMP_WORDS+=('')\n"
      "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
      "_banger\n"
      "[[ ${#COMPREPLY[@]} -gt 0 ]] && printf '%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' '\n"
      "true\n";
  auto r = run_command({"/usr/bin/env", "LINE=" + line, "bash", "-c", prog});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(Completion, BashCompletesCommandsFlagsValuesAndKinds) {
  EXPECT_EQ(complete("banger ge"), "get ");
  EXPECT_EQ(complete("banger d"), "delete diff doctor ");
  EXPECT_EQ(complete("banger get -o "), "json wide yaml ");
  EXPECT_EQ(complete("banger diff -o "), "json ");
  EXPECT_EQ(complete("banger state export -o "), "json ");  // a subcommand of a command
  EXPECT_EQ(complete("banger apply --acc"), "--accel ");
  EXPECT_EQ(complete("banger apply --accel "), "auto kvm tcg ");
  EXPECT_EQ(complete("banger completion "), "bash fish zsh ");  // its argument's own choices
  EXPECT_EQ(complete("banger validate -f /nonexistent-dir/x"), "");
  EXPECT_EQ(complete("banger get vm"), "vm vms ");
  EXPECT_EQ(complete("banger --log-level w"), "warn ");
  EXPECT_NE(complete("banger get --").find("--show-labels"), std::string::npos);
  EXPECT_NE(complete("banger delete -").find("--selector"), std::string::npos);
  // Flags with values do not count as positional words.
  EXPECT_EQ(complete("banger get -o json ne"), "network networks ");
}

TEST(Completion, FishAndZshCarryTheSameDefinitions) {
  const std::string fish = script("fish");
  EXPECT_NE(fish.find("complete -c banger -n __fish_use_subcommand -a apply -d 'Make this host match the manifests'"),
            std::string::npos);
  EXPECT_NE(fish.find("complete -c banger -n '__fish_seen_subcommand_from get' -s o -l output -xa 'json yaml wide'"),
            std::string::npos)
      << fish;
  EXPECT_NE(fish.find("(banger __complete vm 2>/dev/null)"), std::string::npos);
  const std::string zsh = script("zsh");
  EXPECT_EQ(zsh.rfind("#compdef banger\n", 0), 0u);
  EXPECT_NE(zsh.find("complete -F _banger banger"), std::string::npos);
  auto bad = run_command({BANGER_BIN, "completion", "tcsh"});
  EXPECT_EQ(bad.exit_code, 1);
}

TEST(Completion, NamesOfAHostWithoutStateAreNone) {
  banger::test::TempDir d;
  auto r = run_command({BANGER_BIN, "__complete", "vm", "--state-dir", d.path() + "/none"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
