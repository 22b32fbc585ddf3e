// Template part of doc_reader.h: enum fields with "did you mean".
#pragma once

#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

template <class E>
DocReader::Parse<E> enum_parser(std::vector<std::pair<std::string, E>> options) {
  return [options](const YAML::Node& n, E& out, DocReader::Problem& problem) {
    std::string s;
    if (!DocReader::parse_string(n, s, problem)) return false;
    std::vector<std::string> names;
    for (const auto& [name, value] : options) {
      if (s == name) {
        out = value;
        return true;
      }
      names.push_back(name);
    }
    problem.what = quote(s) + " is not valid";
    std::string guess = suggest(s, names);
    if (!guess.empty()) problem.hint = "did you mean " + quote(guess) + "?";
    return false;
  };
}

}  // namespace banger
