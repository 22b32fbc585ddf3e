#include "resources/diagnostic.h"

#include <algorithm>
#include <iterator>
#include <tuple>

#include "resources/yaml_scalar.h"

namespace banger {

std::string Mark::str() const {
  return line > 0 ? file + ":" + std::to_string(line) + ":" + std::to_string(column) : file;
}

std::string Diagnostic::format() const {
  std::string out = mark.str() + ": ";
  // Names and keys come from the manifest: never let their bytes reach a terminal raw.
  if (!kind.empty()) {
    out += kind;
    if (!name.empty()) out += "/" + printable(name);
    out += ": ";
  }
  if (!field.empty()) out += printable(field) + ": ";
  out += message;
  return out;
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

void Diagnostics::append(Diagnostics&& other) {
  if (items_.empty()) {
    items_ = std::move(other.items_);
  } else {
    items_.insert(items_.end(), std::make_move_iterator(other.items_.begin()),
                  std::make_move_iterator(other.items_.end()));
  }
  other.items_.clear();
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.mark.file, a.mark.line, a.mark.column) <
           std::tie(b.mark.file, b.mark.line, b.mark.column);
  });
  return out;
}

}  // namespace banger
