#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>

namespace banger {

/// The plain subset of YAML, scanned without yaml-cpp.
///
/// Manifests are block mappings and sequences of single-line plain or quoted
/// scalars and single-line flow collections. For such text this produces
/// exactly the events (and marks, tags, styles, documents) that yaml-cpp 0.7's
/// YAML::Parser::HandleNextDocument would, several times faster. Anything
/// outside the subset, or anything that might be an error, makes scan() return
/// false: the caller then parses the same text with yaml-cpp, which also
/// produces the error messages. This class never reports errors itself.
///
/// The subset (everything else declines):
///  - printable ASCII and '\n' only (no tabs, '\r', BOM, bytes >= 0x80);
///  - `---` alone on a line (an optional comment after it), comments,
///    blank lines; no directives, no `...`;
///  - block mappings whose keys are single-line plain or quoted scalars
///    directly followed by ':'; block sequences, including `- key: value`
///    compact mappings and sequences at their key's own column;
///  - single-line plain scalars (not as a document's root), single-line
///    single-quoted scalars, single-line double-quoted scalars with only the
///    escapes \" \\ \n \t;
///  - single-line flow collections of scalars and flow collections, with plain
///    keys and non-empty values, without trailing commas;
///  - no anchors, aliases, tags, block scalars, explicit keys; nesting up to
///    kMaxDepth.
class FastYaml {
 public:
  explicit FastYaml(std::string_view text);  // text outlives the object

  /// Scans the whole text into a compact event list. False when anything is
  /// outside the subset (caller falls back to yaml-cpp).
  bool scan();

  /// After scan() returned true: feeds the next document's events to h
  /// exactly as YAML::Parser::HandleNextDocument(h) would for the same text,
  /// returning what it would return (false once no documents are left).
  bool HandleNextDocument(YAML::EventHandler& h);

  static constexpr int kMaxDepth = 64;

 private:
  enum class Kind : uint8_t { DocStart, DocEnd, Null, Scalar, SeqStart, SeqEnd, MapStart, MapEnd };
  // Where a scalar's value is.
  enum class Value : uint8_t {
    Plain,    // text_[pos, pos + len)
    Quoted,   // text_[pos + 1, pos + 1 + len): quoted without escapes
    Decoded,  // decoded_[len]: quoted with escapes
  };
  struct Event {
    uint32_t pos = 0, line = 0, column = 0;
    uint32_t len = 0;     // see Value
    Kind kind{};
    uint8_t detail = 0;   // Value for scalars, EmitterStyle for collections
  };
  // A scalar scanned but not yet emitted (it may turn out to be a key).
  struct Scalar {
    YAML::Mark mark;
    size_t begin = 0, end = 0;  // the value in the text (without quotes)
    size_t after = 0;           // first byte after the scalar (after a closing quote)
    bool quoted = false;
    int decoded = -1;           // index into decoded_, or -1
    bool ended_by_comment = false;  // plain: stopped at " #"
  };

  // Cursor.
  char peek(size_t k = 0) const { return pos_ + k < text_.size() ? text_[pos_ + k] : '\0'; }
  bool at_eof() const { return pos_ >= text_.size(); }
  bool at_line_end() const { return at_eof() || text_[pos_] == '\n'; }
  int column() const { return static_cast<int>(pos_ - line_start_); }
  YAML::Mark mark() const;
  YAML::Mark null_mark(int indent, bool seq) const;
  void skip_spaces();
  bool end_line();
  void skip_to_next_token();
  bool at_doc_start() const;
  bool at_block_entry() const;
  bool is_value_indicator(size_t at) const;

  // Scanners and parsers; all return false to decline.
  bool check_text() const;
  bool parse_document();
  bool parse_block_node(int top, int depth);
  bool parse_line_value(int top, int depth, bool key_starts_map);
  bool parse_block_map(int depth);
  bool parse_block_value(int map_column, int depth);
  bool parse_block_seq(int depth);
  bool parse_entry_content(int seq_column, int depth);
  bool parse_inline_value(int top, int depth);
  bool parse_flow(int depth);
  bool parse_flow_node(int depth);
  bool scan_scalar(bool in_flow, Scalar& out);
  bool scan_plain(bool in_flow, Scalar& out);
  bool scan_single_quoted(Scalar& out);
  bool scan_double_quoted(Scalar& out);
  bool plain_is_last_on_line(const Scalar& s, int top) const;
  bool followed_by_value_indicator(const Scalar& s) const;

  // Events.
  void emit(Kind kind, const YAML::Mark& m, uint8_t detail = 0, uint32_t len = 0);
  void emit_scalar(const Scalar& s);

  std::string_view text_;
  size_t pos_ = 0, line_ = 0, line_start_ = 0;
  std::vector<Event> events_;
  std::vector<std::string> decoded_;
  size_t next_ = 0;     // replay: next event
  std::string value_;   // replay: reused for OnScalar's value
};

}  // namespace banger
