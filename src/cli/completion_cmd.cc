#include "cli/completion_cmd.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include "cli/host_flags.h"
#include "resources/names.h"
#include "state/store.h"

namespace banger::cli {

namespace {

// One flag as the completions need it, read off the CLI definition.
struct FlagInfo {
  std::vector<std::string> names;    // "-o", "--output"
  bool takes_value = false;
  std::vector<std::string> choices;  // from an IsMember check: {json,yaml}
  bool path = false;                 // a PATH, FILE or DIR value
  std::string help;
};

// What a command's positional words are.
enum class Positional { None, KindThenName, VmNames, Files, Choices };

struct CommandInfo {
  std::string name, help;
  std::vector<FlagInfo> flags;
  Positional positional = Positional::None;
  std::vector<std::string> choices;  // Choices: an IsMember check's (completion bash|zsh|fish)
};

const char* const kKinds = "vm network kernel image portforward vms networks kernels images portforwards";

// "{json,yaml,wide}" -> json yaml wide.
std::vector<std::string> set_members(const std::string& desc) {
  if (desc.size() < 2 || desc.front() != '{' || desc.back() != '}') return {};
  return split(std::string_view(desc).substr(1, desc.size() - 2), ',');
}

FlagInfo flag_info(const CLI::Option* o) {
  FlagInfo f;
  for (const std::string& s : o->get_snames()) f.names.push_back("-" + s);
  for (const std::string& l : o->get_lnames()) f.names.push_back("--" + l);
  f.takes_value = o->get_items_expected_max() > 0;  // a flag expects none
  f.help = o->get_description();
  try {
    f.choices = set_members(const_cast<CLI::Option*>(o)->get_validator()->get_description());
  } catch (const CLI::OptionNotFound&) {
  }
  const std::string type = o->get_type_name();
  f.path = type.find("PATH") != std::string::npos || type.find("FILE") != std::string::npos ||
           type.find("DIR") != std::string::npos;
  return f;
}

std::vector<FlagInfo> flags_of(const CLI::App& app) {
  std::vector<FlagInfo> out;
  for (const CLI::Option* o : app.get_options([](const CLI::Option* o) { return o->nonpositional(); })) {
    if (o->get_lnames() == std::vector<std::string>{"help"}) continue;
    out.push_back(flag_info(o));
  }
  return out;
}

Positional positional_of(const CLI::App& app, std::vector<std::string>& choices) {
  for (const CLI::Option* o : app.get_options([](const CLI::Option* o) { return o->get_positional(); })) {
    const std::string& n = o->get_name();
    if (n == "target") return Positional::KindThenName;
    if (n == "name" || n == "names") return Positional::VmNames;
    if (n == "dir" || n == "DIR") return Positional::Files;
    choices = flag_info(o).choices;
    if (!choices.empty()) return Positional::Choices;
  }
  return Positional::None;
}

CommandInfo command_info(const CLI::App& app, const std::string& name) {
  CommandInfo c{name, app.get_description(), flags_of(app), Positional::None, {}};
  c.positional = positional_of(app, c.choices);
  return c;
}

// Every visible command, subcommands of a group as "state export".
std::vector<CommandInfo> describe(const CLI::App& app) {
  std::vector<CommandInfo> out;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    out.push_back(command_info(*s, s->get_name()));
    for (const CLI::App* sub : s->get_subcommands([](const CLI::App*) { return true; })) {
      out.push_back(command_info(*sub, s->get_name() + " " + sub->get_name()));
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string single_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string bash(const std::vector<CommandInfo>& cmds, const std::vector<FlagInfo>& globals) {
  std::vector<std::string> top, nested, value_flags;
  std::set<std::string> seen_value;
  auto note_values = [&](const std::vector<FlagInfo>& fs) {
    for (const FlagInfo& f : fs) {
      if (!f.takes_value) continue;
      for (const std::string& n : f.names) {
        if (seen_value.insert(n).second) value_flags.push_back(n);
      }
    }
  };
  note_values(globals);
  for (const CommandInfo& c : cmds) {
    if (c.name.find(' ') == std::string::npos) {
      top.push_back(c.name);
    } else {
      nested.push_back(single_quoted(c.name));
    }
    note_values(c.flags);
  }
  // A command's own subcommand ("state export") is its first word after it.
  const std::string sub_case = nested.empty() ? std::string("") : "case \"$cmd $w\" in " + join(nested, "|") + ") cmd=\"$cmd $w\"; continue ;; esac; ";
  std::string s =
      "# bash completion for banger, written by `banger completion bash` from banger's own command\n"
      "# definitions (regenerate it, never edit it).\n"
      "_banger() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  local cmd='' i w pos=()\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=${COMP_WORDS[i]}\n"
      "    case ${COMP_WORDS[i-1]} in " + join(value_flags, "|") + ") continue ;; esac\n"
      "    case $w in -*) continue ;; esac\n"
      "    if [[ -z $cmd ]]; then cmd=$w; continue; fi\n"
      "    [[ ${#pos[@]} -eq 0 ]] && { " + sub_case + "}\n"
      "    pos+=(\"$w\")\n"
      "  done\n"
      "  case \"$cmd:$prev\" in\n";
  auto value_cases = [&](const std::string& cmd, const std::vector<FlagInfo>& fs) {
    for (const FlagInfo& f : fs) {
      if (!f.takes_value) continue;
      std::vector<std::string> pats;
      for (const std::string& n : f.names) {
        pats.push_back(cmd == "*" ? "*\":" + n + "\"" : "\"" + cmd + ":" + n + "\"");  // * unquoted: any command
      }
      s += "    " + join(pats, "|") + ")\n";
      if (!f.choices.empty()) {
        s += "      COMPREPLY=($(compgen -W " + single_quoted(join(f.choices)) + " -- \"$cur\")); return ;;\n";
      } else if (f.path) {
        s += "      compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
      } else {
        s += "      COMPREPLY=(); return ;;\n";
      }
    }
  };
  for (const CommandInfo& c : cmds) value_cases(c.name, c.flags);
  value_cases("*", globals);
  s += "  esac\n"
       "  if [[ $cur == -* ]]; then\n"
       "    case $cmd in\n";
  std::vector<std::string> global_names;
  for (const FlagInfo& f : globals) global_names.insert(global_names.end(), f.names.begin(), f.names.end());
  for (const CommandInfo& c : cmds) {
    std::vector<std::string> names;
    for (const FlagInfo& f : c.flags) names.insert(names.end(), f.names.begin(), f.names.end());
    names.push_back("--help");
    s += "      " + single_quoted(c.name) + ") COMPREPLY=($(compgen -W " + single_quoted(join(names) + " " + join(global_names)) +
         " -- \"$cur\")) ;;\n";
  }
  s += "      *) COMPREPLY=($(compgen -W " + single_quoted(join(global_names) + " --help --version") + " -- \"$cur\")) ;;\n"
       "    esac\n"
       "    return\n"
       "  fi\n"
       "  case $cmd in\n"
       "    '') COMPREPLY=($(compgen -W " + single_quoted(join(top)) + " -- \"$cur\")) ;;\n";
  for (const CommandInfo& c : cmds) {
    switch (c.positional) {
      case Positional::KindThenName:
        s += "    " + single_quoted(c.name) + ")\n"
             "      if [[ ${#pos[@]} -eq 0 ]]; then COMPREPLY=($(compgen -W '" + std::string(kKinds) + "' -- \"$cur\"))\n"
             "      elif [[ ${#pos[@]} -eq 1 ]]; then COMPREPLY=($(compgen -W \"$(banger __complete \"${pos[0]}\" 2>/dev/null)\" -- \"$cur\")); fi ;;\n";
        break;
      case Positional::VmNames:
        s += "    " + single_quoted(c.name) + ") COMPREPLY=($(compgen -W \"$(banger __complete vm 2>/dev/null)\" -- \"$cur\")) ;;\n";
        break;
      case Positional::Files:
        s += "    " + single_quoted(c.name) + ") compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n";
        break;
      case Positional::Choices:
        s += "    " + single_quoted(c.name) + ") [[ ${#pos[@]} -eq 0 ]] && COMPREPLY=($(compgen -W " +
             single_quoted(join(c.choices)) + " -- \"$cur\")) ;;\n";
        break;
      case Positional::None:
        break;
    }
  }
  s += "  esac\n"
       "}\n"
       "complete -F _banger banger\n";
  return s;
}

std::string zsh(const std::vector<CommandInfo>& cmds, const std::vector<FlagInfo>& globals) {
  // zsh runs the same function through its bash completion layer.
  return "#compdef banger\n"
         "# zsh completion for banger, written by `banger completion zsh` (regenerate it, never edit it).\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         bash(cmds, globals);
}

std::string fish(const std::vector<CommandInfo>& cmds, const std::vector<FlagInfo>& globals) {
  std::string s =
      "# fish completion for banger, written by `banger completion fish` from banger's own command\n"
      "# definitions (regenerate it, never edit it).\n"
      "complete -c banger -f\n";
  auto flag_lines = [&](const std::string& cond, const std::vector<FlagInfo>& fs) {
    for (const FlagInfo& f : fs) {
      std::string line = "complete -c banger" + (cond.empty() ? "" : " -n " + single_quoted(cond));
      for (const std::string& n : f.names) line += n.rfind("--", 0) == 0 ? " -l " + n.substr(2) : " -s " + n.substr(1);
      if (!f.choices.empty()) line += " -xa " + single_quoted(join(f.choices));
      else if (f.path) line += " -rF";
      else if (f.takes_value) line += " -x";
      line += " -d " + single_quoted(f.help.substr(0, f.help.find('.')));
      s += line + "\n";
    }
  };
  flag_lines("", globals);
  for (const CommandInfo& c : cmds) {
    if (c.name.find(' ') != std::string::npos) continue;
    s += "complete -c banger -n __fish_use_subcommand -a " + c.name + " -d " + single_quoted(c.help) + "\n";
  }
  for (const CommandInfo& c : cmds) {
    const size_t sp = c.name.find(' ');
    const std::string cond = sp == std::string::npos
                                 ? "__fish_seen_subcommand_from " + c.name
                                 : "__fish_seen_subcommand_from " + c.name.substr(sp + 1);
    if (sp != std::string::npos) {
      s += "complete -c banger -n " + single_quoted("__fish_seen_subcommand_from " + c.name.substr(0, sp)) + " -a " +
           c.name.substr(sp + 1) + " -d " + single_quoted(c.help) + "\n";
    }
    flag_lines(cond, c.flags);
    switch (c.positional) {
      case Positional::KindThenName:
        s += "complete -c banger -n " + single_quoted(cond) + " -a " + single_quoted(kKinds) + "\n";
        s += "complete -c banger -n " + single_quoted(cond) + " -a '(banger __complete (commandline -opc)[-1] 2>/dev/null)'\n";
        break;
      case Positional::VmNames:
        s += "complete -c banger -n " + single_quoted(cond) + " -a '(banger __complete vm 2>/dev/null)'\n";
        break;
      case Positional::Files:
        s += "complete -c banger -n " + single_quoted(cond) + " -F\n";
        break;
      case Positional::Choices:
        s += "complete -c banger -n " + single_quoted(cond) + " -a " + single_quoted(join(c.choices)) + "\n";
        break;
      case Positional::None:
        break;
    }
  }
  return s;
}

// The names of KIND that this host applied: what `get`, `delete`, `logs`,
// `ssh` and `exec` take. Nothing (and no error) when the state cannot be read.
int complete_names(const std::string& kind_text, const GlobalOptions& g) {
  auto kind = parse_kind_alias(kind_text);
  if (!kind) return kExitOk;
  try {
    if (::access((g.state_dir + "/state.db").c_str(), R_OK) != 0) return kExitOk;
    Store store(g.state_dir);
    for (const ResourceRecord& r : store.resources()) {
      if (r.kind == kind_name(*kind)) std::cout << r.name << "\n";
    }
  } catch (const std::exception&) {
  }
  return kExitOk;
}

}  // namespace

void add_completion_command(CLI::App& app, const GlobalOptions& g, std::function<int()>& run) {
  auto shell = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("completion", "Print a shell completion script (bash, zsh or fish)");
  cmd->footer(
      "Made from banger's own command definitions, so it lists every command, flag and -o value of\n"
      "this build; names of VMs and other resources come from this host's state as you type.\n\n"
      "Examples:\n"
      "  banger completion bash | sudo tee /usr/share/bash-completion/completions/banger\n"
      "  banger completion zsh > \"${fpath[1]}/_banger\"\n"
      "  banger completion fish > ~/.config/fish/completions/banger.fish");
  cmd->add_option("shell", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([&run, &app, shell] {
    run = [&app, shell] {
      std::vector<CommandInfo> cmds = describe(app);
      std::vector<FlagInfo> globals = flags_of(app);
      std::cout << (*shell == "bash" ? bash(cmds, globals) : *shell == "zsh" ? zsh(cmds, globals) : fish(cmds, globals));
      return kExitOk;
    };
  });
  // Hidden (no group): the completion scripts' source of names.
  auto kind = std::make_shared<std::string>();
  CLI::App* names = app.add_subcommand("__complete", "Names of KIND on this host, for completion scripts");
  names->group("");
  names->add_option("kind", *kind)->required();
  names->callback([&run, &g, kind] { run = [&g, kind] { return complete_names(*kind, g); }; });
}

}  // namespace banger::cli
