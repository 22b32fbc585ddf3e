#include "resources/fast_yaml.h"

#include <cstring>
#include <limits>

namespace banger {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Plain scalars yaml-cpp 0.7 reports with OnNull rather than OnScalar.
bool is_null_word(std::string_view v) {
  return v == "~" || v == "null" || v == "Null" || v == "NULL";
}

// First characters of a plain scalar known to start one in both contexts.
// Indicators (-?:,[]{}#&*!|>'"%@`) are left out; '-' is handled apart.
bool plain_start(char c) { return is_alnum(c) || std::strchr("/._~+=()$^;\\", c) != nullptr; }

bool is_flow_indicator(char c) { return c != '\0' && std::strchr(",[]{}", c) != nullptr; }

const std::string kPlainTag = "?";
const std::string kQuotedTag = "!";

}  // namespace

FastYaml::FastYaml(std::string_view text) : text_(text) {}

// ---------------------------------------------------------------- cursor ---

YAML::Mark FastYaml::mark() const {
  YAML::Mark m;
  m.pos = static_cast<int>(pos_);
  m.line = static_cast<int>(line_);
  // yaml-cpp reports column 0 at the end of the text, even without a final
  // line break.
  m.column = at_eof() ? 0 : column();
  return m;
}

// The mark of the token after an empty value, i.e. of yaml-cpp's null. At the
// end of the text that is the first block end token: made with the real
// column when the innermost collection (at `indent`, a sequence if `seq`)
// ends at the last line's column, else with column 0 (yaml-cpp resets the
// column when the stream ends, before it ends the remaining collections).
YAML::Mark FastYaml::null_mark(int indent, bool seq) const {
  YAML::Mark m = mark();
  if (at_eof() && (indent > column() || (indent == column() && seq))) m.column = column();
  return m;
}

void FastYaml::skip_spaces() {
  while (peek() == ' ') ++pos_;
}

// Skips trailing spaces and a comment; true when the line then ends.
bool FastYaml::end_line() {
  skip_spaces();
  if (peek() == '#') {
    // yaml-cpp takes `'a'#b` for a comment; YAML does not: leave it to yaml-cpp.
    if (pos_ != line_start_ && text_[pos_ - 1] != ' ') return false;
    while (!at_line_end()) ++pos_;
  }
  return at_line_end();
}

// From the end of a line (or the start of the text): past line breaks, blank
// lines and comment lines, to the next token or the end of the text.
void FastYaml::skip_to_next_token() {
  while (true) {
    skip_spaces();
    if (peek() == '#' && (pos_ == line_start_ || text_[pos_ - 1] == ' ')) {
      while (!at_line_end()) ++pos_;
    }
    if (at_eof() || peek() != '\n') return;
    ++pos_;
    ++line_;
    line_start_ = pos_;
  }
}

// `---` at column 0 followed by a space, a line break or the end.
bool FastYaml::at_doc_start() const {
  return column() == 0 && text_.substr(pos_, 3) == "---" &&
         (peek(3) == ' ' || peek(3) == '\n' || peek(3) == '\0');
}

// `-` followed by a space, a line break or the end.
bool FastYaml::at_block_entry() const {
  return peek() == '-' && (peek(1) == ' ' || peek(1) == '\n' || peek(1) == '\0');
}

// ':' at `at` followed by a space, a line break or the end.
bool FastYaml::is_value_indicator(size_t at) const {
  if (at >= text_.size() || text_[at] != ':') return false;
  return at + 1 == text_.size() || text_[at + 1] == ' ' || text_[at + 1] == '\n';
}

// ---------------------------------------------------------------- scan -----

bool FastYaml::check_text() const {
  if (text_.size() >= static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  for (char c : text_) {
    if ((c < 0x20 || c > 0x7e) && c != '\n') return false;  // also tabs, '\r', bytes >= 0x80
  }
  return true;
}

bool FastYaml::scan() {
  events_.clear();
  decoded_.clear();
  pos_ = line_ = line_start_ = 0;
  next_ = 0;
  events_.reserve(text_.size() / 8);  // about what manifests need
  bool ok = check_text();
  if (ok) {
    skip_to_next_token();
    while (ok && !at_eof()) ok = parse_document();
  }
  if (!ok) {
    events_ = {};
    decoded_ = {};
  }
  return ok;
}

bool FastYaml::parse_document() {
  emit(Kind::DocStart, mark());  // the first token's mark: `---` or the root node's
  if (at_doc_start()) {
    pos_ += 3;
    if (!end_line()) return false;  // `--- value`: not in the subset
    skip_to_next_token();
  }
  if (at_eof() || at_doc_start()) {
    emit(Kind::Null, mark());  // an empty document: null at the next token
  } else if (!parse_block_node(-1, 0)) {
    return false;
  }
  emit(Kind::DocEnd, mark());
  // Anything else after the root node would be an error or a document
  // without `---`; `...` is not in the subset.
  return at_eof() || at_doc_start();
}

// A block node starting at the cursor, at a column greater than `top` (the
// innermost indentation yaml-cpp's scanner has, -1 at the root). Leaves the
// cursor at the next token.
bool FastYaml::parse_block_node(int top, int depth) {
  if (depth > kMaxDepth) return false;
  if (at_block_entry()) return parse_block_seq(depth);
  return parse_line_value(top, depth, /*key_starts_map=*/true);
}

// A flow collection or a scalar that ends its line, at the cursor (a
// scalar followed by ':' starts a block mapping when key_starts_map, and
// declines otherwise). Leaves the cursor at the next token.
bool FastYaml::parse_line_value(int top, int depth, bool key_starts_map) {
  if (peek() == '[' || peek() == '{') {
    if (!parse_flow(depth) || !end_line()) return false;
    skip_to_next_token();
    return true;
  }
  Scalar s;
  if (!scan_scalar(false, s)) return false;
  if (followed_by_value_indicator(s)) return key_starts_map && parse_block_map(depth);
  emit_scalar(s);
  pos_ = s.after;
  if (!end_line() || !plain_is_last_on_line(s, top)) return false;
  skip_to_next_token();
  return true;
}

// A block mapping whose first key is at the cursor.
bool FastYaml::parse_block_map(int depth) {
  if (depth > kMaxDepth) return false;
  int c = column();
  emit(Kind::MapStart, mark(), YAML::EmitterStyle::Block);
  while (true) {
    Scalar key;
    if (!scan_scalar(false, key) || !followed_by_value_indicator(key)) return false;
    emit_scalar(key);
    pos_ = key.after + 1;  // past ':'
    if (!parse_block_value(c, depth + 1)) return false;
    if (at_eof() || at_doc_start()) break;
    int col = column();
    if (col < c) break;
    // Deeper: an error or a continuation; `-` at the map's column after a
    // value: an error.
    if (col > c || at_block_entry()) return false;
  }
  emit(Kind::MapEnd, mark());
  return true;
}

// The value after a block mapping key's ':' (the map at `map_column`).
bool FastYaml::parse_block_value(int map_column, int depth) {
  if (depth > kMaxDepth) return false;
  skip_spaces();
  if (!at_line_end() && peek() != '#') {
    // On the key's line: a scalar or a flow collection, nothing else.
    return parse_line_value(map_column, depth, /*key_starts_map=*/false);
  }
  if (!end_line()) return false;
  skip_to_next_token();
  if (at_eof() || at_doc_start()) {
    emit(Kind::Null, null_mark(map_column, false));
    return true;
  }
  int col = column();
  if (col > map_column) return parse_block_node(map_column, depth);
  // A sequence at the key's own column (as k8s-style YAML writes them).
  if (col == map_column && at_block_entry()) return parse_block_seq(depth);
  // Nothing: yaml-cpp's null is at the next token.
  emit(Kind::Null, null_mark(map_column, false));
  return true;
}

// A block sequence whose first `-` is at the cursor.
bool FastYaml::parse_block_seq(int depth) {
  if (depth > kMaxDepth) return false;
  int c = column();
  emit(Kind::SeqStart, mark(), YAML::EmitterStyle::Block);
  while (true) {
    ++pos_;  // '-'
    skip_spaces();
    if (!at_line_end() && peek() != '#') {
      // `- value`, `- key: value`, `- - value` on the entry's line.
      if (!parse_block_node(c, depth + 1)) return false;
    } else {
      if (!end_line()) return false;
      skip_to_next_token();
      if (!at_eof() && !at_doc_start() && column() > c) {
        if (!parse_block_node(c, depth + 1)) return false;
      } else {
        emit(Kind::Null, null_mark(c, true));  // an empty entry: null at the next token
      }
    }
    if (at_eof() || at_doc_start()) break;
    int col = column();
    if (col == c && at_block_entry()) continue;
    if (col > c) return false;
    break;  // the parent decides whether what follows fits
  }
  emit(Kind::SeqEnd, mark());
  return true;
}

// After a block plain scalar that ended its line (no comment after it):
// yaml-cpp would go on with a following line indented deeper than `top`, as
// a continuation of the scalar. Such text is not in the subset. A root
// scalar (top -1) goes on over any line, even a comment line at column 0
// (where no space comes before '#'), up to `---`.
bool FastYaml::plain_is_last_on_line(const Scalar& s, int top) const {
  if (s.quoted || s.ended_by_comment) return true;
  size_t p = pos_;  // at the line break (or the end)
  while (p < text_.size()) {
    size_t start = ++p;  // past '\n'
    while (p < text_.size() && text_[p] == ' ') ++p;
    if (p >= text_.size()) return true;
    if (text_[p] == '\n') continue;  // a blank line
    if (top < 0) {
      std::string_view rest = text_.substr(start);
      return p == start && rest.substr(0, 3) == "---" && (rest.size() == 3 || rest[3] == ' ' || rest[3] == '\n');
    }
    // A comment line ends the scalar at any indentation (yaml-cpp's end of a
    // plain scalar includes " #").
    return static_cast<int>(p - start) <= top || text_[p] == '#';
  }
  return true;
}

// A single-line flow collection at the cursor; the cursor ends after it.
bool FastYaml::parse_flow(int depth) {
  if (depth > kMaxDepth) return false;
  bool is_map = peek() == '{';
  char close = is_map ? '}' : ']';
  emit(is_map ? Kind::MapStart : Kind::SeqStart, mark(), YAML::EmitterStyle::Flow);
  ++pos_;
  skip_spaces();
  if (peek() == close) {
    ++pos_;
  } else {
    while (true) {
      if (is_map) {
        // Scalar keys, each followed by ": " and a value: `{a, b}`,
        // `{"a":b}`, `{a: }` and `{[a]: b}` are left to yaml-cpp.
        Scalar key;
        if (!scan_scalar(true, key)) return false;
        emit_scalar(key);
        pos_ = key.after;
        if (peek() != ':' || peek(1) != ' ') return false;
        pos_ += 2;
        skip_spaces();
      }
      if (!parse_flow_node(depth + 1)) return false;
      skip_spaces();
      if (peek() == ',') {
        ++pos_;
        skip_spaces();
        if (peek() == close) return false;  // a trailing comma
        continue;
      }
      if (peek() != close) return false;  // also a line break: one line only
      ++pos_;
      break;
    }
  }
  emit(is_map ? Kind::MapEnd : Kind::SeqEnd, mark());
  return true;
}

// A scalar or a flow collection inside a flow collection.
bool FastYaml::parse_flow_node(int depth) {
  if (depth > kMaxDepth) return false;
  if (peek() == '[' || peek() == '{') return parse_flow(depth);
  Scalar s;
  if (!scan_scalar(true, s)) return false;
  emit_scalar(s);
  pos_ = s.after;
  return true;
}

// ---------------------------------------------------------------- scalars --

// Scans (without emitting or moving the cursor) the scalar at the cursor.
bool FastYaml::scan_scalar(bool in_flow, Scalar& out) {
  if (peek() == '\'') return scan_single_quoted(out);
  if (peek() == '"') return scan_double_quoted(out);
  return scan_plain(in_flow, out);
}

bool FastYaml::scan_plain(bool in_flow, Scalar& out) {
  char c = peek();
  if (c == '-') {
    if (!is_alnum(peek(1))) return false;  // also keeps `---x` out
  } else if (!plain_start(c)) {
    return false;
  }
  if (column() == 0 && text_.substr(pos_, 3) == "...") return false;  // a document end
  out = Scalar{};
  out.mark = mark();
  out.begin = pos_;
  size_t p = pos_, last = pos_;
  while (p < text_.size()) {
    char ch = text_[p];
    char next = p + 1 < text_.size() ? text_[p + 1] : '\0';
    if (ch == '\n') break;
    if (ch == ':') {
      if (next == ' ' || next == '\n' || next == '\0') break;
      // In flow, yaml-cpp also ends a scalar at ':' before ",]}".
      if (in_flow && is_flow_indicator(next)) return false;
    }
    if (ch == ' ' && next == '#') {
      out.ended_by_comment = true;
      break;
    }
    if (in_flow) {
      if (is_flow_indicator(ch)) break;
      if (ch == '?') return false;  // ends a scalar in flow for yaml-cpp
    }
    if (ch != ' ') last = p + 1;
    ++p;
  }
  out.end = last;
  out.after = p;
  return last > out.begin;
}

// 'text' with '' for a quote, on one line.
bool FastYaml::scan_single_quoted(Scalar& out) {
  out = Scalar{};
  out.mark = mark();
  out.quoted = true;
  out.begin = pos_ + 1;
  bool escaped = false;
  size_t p = out.begin;
  while (true) {
    if (p >= text_.size() || text_[p] == '\n') return false;  // multi-line or unterminated
    if (text_[p] == '\'') {
      if (p + 1 < text_.size() && text_[p + 1] == '\'') {
        escaped = true;
        p += 2;
        continue;
      }
      break;
    }
    ++p;
  }
  out.end = p;
  out.after = p + 1;
  if (escaped) {
    std::string v;
    for (size_t i = out.begin; i < out.end; ++i) {
      v += text_[i];
      if (text_[i] == '\'') ++i;  // the second quote of ''
    }
    out.decoded = static_cast<int>(decoded_.size());
    decoded_.push_back(std::move(v));
  }
  return true;
}

// "text" with only the escapes \" \\ \n \t, on one line.
bool FastYaml::scan_double_quoted(Scalar& out) {
  out = Scalar{};
  out.mark = mark();
  out.quoted = true;
  out.begin = pos_ + 1;
  bool escaped = false;
  size_t p = out.begin;
  while (true) {
    if (p >= text_.size() || text_[p] == '\n') return false;
    if (text_[p] == '"') break;
    if (text_[p] == '\\') {
      char e = p + 1 < text_.size() ? text_[p + 1] : '\0';
      if (e != '"' && e != '\\' && e != 'n' && e != 't') return false;
      escaped = true;
      p += 2;
      continue;
    }
    ++p;
  }
  out.end = p;
  out.after = p + 1;
  if (escaped) {
    std::string v;
    for (size_t i = out.begin; i < out.end; ++i) {
      char ch = text_[i];
      if (ch == '\\') {
        ch = text_[++i];
        if (ch == 'n') ch = '\n';
        if (ch == 't') ch = '\t';
      }
      v += ch;
    }
    out.decoded = static_cast<int>(decoded_.size());
    decoded_.push_back(std::move(v));
  }
  return true;
}

// Is the scalar a block mapping key (followed by ':' and a space or the end
// of the line)?
bool FastYaml::followed_by_value_indicator(const Scalar& s) const { return is_value_indicator(s.after); }

// ---------------------------------------------------------------- events ---

void FastYaml::emit(Kind kind, const YAML::Mark& m, uint8_t detail, uint32_t len) {
  Event e;
  e.pos = static_cast<uint32_t>(m.pos);
  e.line = static_cast<uint32_t>(m.line);
  e.column = static_cast<uint32_t>(m.column);
  e.len = len;
  e.kind = kind;
  e.detail = detail;
  events_.push_back(e);
}

void FastYaml::emit_scalar(const Scalar& s) {
  if (s.decoded >= 0) {
    emit(Kind::Scalar, s.mark, static_cast<uint8_t>(Value::Decoded), static_cast<uint32_t>(s.decoded));
    return;
  }
  uint32_t len = static_cast<uint32_t>(s.end - s.begin);
  if (s.quoted) {
    emit(Kind::Scalar, s.mark, static_cast<uint8_t>(Value::Quoted), len);
  } else if (is_null_word(text_.substr(s.begin, len))) {
    emit(Kind::Null, s.mark);
  } else {
    emit(Kind::Scalar, s.mark, static_cast<uint8_t>(Value::Plain), len);
  }
}

bool FastYaml::HandleNextDocument(YAML::EventHandler& h) {
  if (next_ >= events_.size()) return false;
  while (next_ < events_.size()) {
    const Event& e = events_[next_++];
    YAML::Mark m;
    m.pos = static_cast<int>(e.pos);
    m.line = static_cast<int>(e.line);
    m.column = static_cast<int>(e.column);
    auto style = static_cast<YAML::EmitterStyle::value>(e.detail);
    switch (e.kind) {
      case Kind::DocStart:
        h.OnDocumentStart(m);
        break;
      case Kind::DocEnd:
        h.OnDocumentEnd();
        return true;
      case Kind::Null:
        h.OnNull(m, YAML::NullAnchor);
        break;
      case Kind::Scalar: {
        auto where = static_cast<Value>(e.detail);
        if (where == Value::Decoded) {
          h.OnScalar(m, kQuotedTag, YAML::NullAnchor, decoded_[e.len]);
        } else {
          size_t begin = e.pos + (where == Value::Quoted ? 1 : 0);
          value_.assign(text_.data() + begin, e.len);
          h.OnScalar(m, where == Value::Plain ? kPlainTag : kQuotedTag, YAML::NullAnchor, value_);
        }
        break;
      }
      case Kind::SeqStart:
        h.OnSequenceStart(m, kPlainTag, YAML::NullAnchor, style);
        break;
      case Kind::SeqEnd:
        h.OnSequenceEnd();
        break;
      case Kind::MapStart:
        h.OnMapStart(m, kPlainTag, YAML::NullAnchor, style);
        break;
      case Kind::MapEnd:
        h.OnMapEnd();
        break;
    }
  }
  return true;
}

}  // namespace banger
