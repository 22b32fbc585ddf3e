// Diagnostics: every problem found in the manifests, with where it is.
// Validation collects all of them (terraform's tfdiags style) instead of
// stopping at the first, so a user fixes a file in one pass.
#pragma once

#include <string>
#include <vector>

namespace banger {

/// A place in a manifest file. line and column are 1-based; 0 means "the file
/// (or folder) as a whole", e.g. for "no manifests found".
struct Mark {
  std::string file;
  int line = 0;
  int column = 0;
  /// "FILE:LINE:COL", or "FILE" for the file as a whole.
  std::string str() const;
};

struct Diagnostic {
  Mark mark;
  std::string kind;     ///< "VM", or empty when the document's kind is unknown
  std::string name;     ///< metadata.name as written, or empty
  std::string field;    ///< dotted path such as "spec.vcpus", or empty
  std::string message;  ///< "what is wrong (what was expected)"

  /// `FILE:LINE:COL: KIND/NAME: FIELD: MESSAGE`; parts that are empty are left out.
  std::string format() const;
};

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);
  void append(Diagnostics&& other);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  /// Sorted by file, then line, then column; the order found breaks ties.
  std::vector<Diagnostic> sorted() const;
  const std::vector<Diagnostic>& items() const { return items_; }

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace banger
