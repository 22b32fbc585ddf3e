#include "resources/decode.h"

#include <map>

#include "resources/doc_reader.h"
#include "resources/field_table.h"
#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

const std::vector<std::string> kTopKeys = {"apiVersion", "kind", "metadata", "spec"};
const std::vector<std::string> kMetadataKeys = {"name", "labels"};
const std::vector<std::string> kNodeTopKeys = {"apiVersion", "kind", "metadata"};

// kind and metadata.name, read leniently first so that every later error can
// say which resource it is about.
// The first entry whose key is the scalar `key`, as yaml-cpp's const
// operator[] finds it, without the string it converts every key to. Absent
// reads as null (a default Node allocates nothing).
YAML::Node peek(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node();
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node k = it->first;
    if (k.IsScalar() && k.Scalar() == key) return it->second;
  }
  return YAML::Node();
}

std::string peek_string(const YAML::Node& map, std::string_view key) {
  ScalarValue v = read_scalar(peek(map, key));
  return v.type == YamlType::String ? v.text : "";
}

}  // namespace

void decode_label_map(DocReader& r, const DocReader::Entry& e, const std::string& path,
                      std::map<std::string, std::string>& out) {
  if (!e.value.IsMap()) {
    r.error(r.value_mark(e), path,
            DocReader::wrong_type(e.value) + " (expected a mapping of label keys to strings)");
    return;
  }
  std::map<std::string, int> first_lines;  // label key -> line, for duplicates
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    ScalarValue k = read_scalar(it->first);
    Mark km = r.mark(it->first);
    std::string field = path + "." + k.text;
    if (k.type != YamlType::String || !is_label_key(k.text)) {
      r.error(km, path,
              (k.type == YamlType::String ? quote(k.text) + " is not a valid label key"
                                          : "label key " + DocReader::wrong_type(it->first)) +
                  " (expected a name of at most 63 letters, digits, '-', '_' or '.', "
                  "optionally with a DNS prefix and '/')");
      continue;
    }
    if (auto first = first_lines.find(k.text); first != first_lines.end()) {
      r.error(km, field,
              "duplicate key (first set at line " + std::to_string(first->second) + "; keep one)");
      continue;
    }
    first_lines[k.text] = km.line;
    ScalarValue v = read_scalar(it->second);
    if (v.type != YamlType::String) {
      r.error(r.value_mark(DocReader::Entry{it->first, it->second}), field,
              DocReader::wrong_type(it->second) +
                  " (expected a string; quote numbers and booleans)");
      continue;
    }
    if (!is_label_value(v.text)) {
      r.error(r.mark(it->second), field,
              quote(v.text) +
                  " is not a valid label value (expected at most 63 letters, digits, '-', '_' "
                  "or '.', starting and ending with a letter or digit)");
      continue;
    }
    out[k.text] = v.text;
  }
}

void decode_document(const Document& doc, ManifestSet& out, Diagnostics& diags) {
  DocReader r(doc.file, diags);
  r.set_base_dir(doc.base_dir);
  const YAML::Node& root = doc.root;
  Mark doc_mark = r.mark(root);

  std::string kind_text = peek_string(root, "kind");
  std::optional<Kind> kind = parse_kind(kind_text);
  // A Node is decoded on the side: it is no Kind (never recorded or
  // converged), and has metadata only.
  const bool node = kind_text == kNodeKind;
  std::string name = root.IsMap() ? peek_string(peek(root, "metadata"), "name") : "";
  r.set_subject(kind ? kind_name(*kind) : node ? kNodeKind : "", kind || node ? name : "");

  if (!root.IsMap()) {
    r.error(doc_mark, "",
            "document " + DocReader::wrong_type(root) +
                " (expected a mapping with apiVersion, kind, metadata and spec)");
    return;
  }
  DocReader::MapView top = r.read_map(root, "", doc_mark, node ? kNodeTopKeys : kTopKeys);

  // apiVersion
  Field<std::string> api;
  if (r.get(top, "apiVersion", api, DocReader::parse_string, kApiVersion, true) &&
      api.value != kApiVersion) {
    r.error(api.mark, "apiVersion",
            quote(api.value) + " is not supported (expected " + kApiVersion + ")");
  }

  // kind
  Field<std::string> kind_field;
  static const std::vector<std::string> kind_names = [] {
    std::vector<std::string> v = all_kind_names();
    v.push_back(kNodeKind);
    return v;
  }();
  static const std::string kinds = one_of(kind_names);
  if (r.get(top, "kind", kind_field, DocReader::parse_string, kinds, true) && !kind && !node) {
    std::string guess = suggest(kind_field.value, kind_names);
    r.error(kind_field.mark, "kind",
            quote(kind_field.value) + " is not a banger kind (expected " + kinds +
                (guess.empty() ? "" : "; did you mean " + quote(guess) + "?") + ")");
  }

  // metadata
  Metadata meta;
  bool named = false;
  if (const DocReader::Entry* e = top.find("metadata")) {
    DocReader::MapView m = r.read_map(e->value, "metadata", r.value_mark(*e), kMetadataKeys);
    Field<std::string> n;
    static const std::string name_rule =
        "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending "
        "with a letter or digit";
    // A Node is named as its host is (--node-name), which may have dots.
    const std::string& rule = node ? kNodeNameRule : name_rule;
    if (r.get(m, "name", n, DocReader::parse_string, rule, true)) {
      meta.name = n.value;
      meta.name_mark = n.mark;
      named = true;
      if (node ? !is_dns1123_subdomain(n.value) : !is_dns1123_label(n.value)) {
        r.error(n.mark, "metadata.name", quote(n.value) + " is not a valid name (expected " + rule + ")");
      }
    }
    if (const DocReader::Entry* labels = m.ok ? m.find("labels") : nullptr) {
      decode_label_map(r, *labels, "metadata.labels", meta.labels);
    }
  } else if (top.ok) {
    r.error(doc_mark, "metadata", "is required (expected a mapping with a name)");
  }
  if (node) {
    if (named) out.nodes.push_back(NodeDecl{meta, doc_mark});
    return;
  }

  // spec
  const DocReader::Entry* spec_entry = top.find("spec");
  if (!spec_entry) {
    if (top.ok && kind) r.error(doc_mark, "spec", "is required (expected a mapping)");
    return;
  }
  if (!kind) return;  // the spec's fields depend on the kind

  Mark spec_where = r.value_mark(*spec_entry);
  // Each kind's allowed keys, decoders and cross-field rules come from its
  // field table (field_table.h).
  auto decode_kind = [&](const auto& table, auto res, auto& list) {
    static const std::vector<std::string> keys = table.keys();  // one per kind: a static per instantiation
    table.decode(r, r.read_map(spec_entry->value, "spec", spec_where, keys), res);
    res.kind = *kind;
    res.metadata = meta;
    res.mark = doc_mark;
    if (named) list.push_back(std::move(res));
  };
  switch (*kind) {
    case Kind::Network: decode_kind(network_fields(), Network{}, out.networks); break;
    case Kind::Kernel: decode_kind(kernel_fields(), Kernel{}, out.kernels); break;
    case Kind::Image: decode_kind(image_fields(), Image{}, out.images); break;
    case Kind::VM: decode_kind(vm_fields(), VM{}, out.vms); break;
    case Kind::PortForward: decode_kind(port_forward_fields(), PortForward{}, out.port_forwards); break;
  }
}

}  // namespace banger
