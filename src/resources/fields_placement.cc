#include "resources/fields_placement.h"

#include "resources/decode.h"
#include "resources/names.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {
const char* kPath = "spec.placement";
}  // namespace

void decode_placement(DocReader& r, const DocReader::MapView& spec, Placement& out) {
  const DocReader::Entry* e = spec.find("placement");
  if (!e) return;
  const Mark where = r.value_mark(*e);
  DocReader::MapView m = r.read_map(e->value, kPath, where, {"node", "nodeSelector"});
  if (!m.ok) return;
  Placement p;
  p.mark = where;
  bool ok = true;
  Field<std::string> node;
  if (m.find("node") && r.get(m, "node", node, DocReader::parse_string, kNodeNameRule, true)) {
    if (!is_dns1123_subdomain(node.value)) {
      r.error(node.mark, "spec.placement.node",
              quote(node.value) + " is not a valid node name (expected " + kNodeNameRule + ")");
      ok = false;
    }
    p.node = node.value;
  } else if (m.find("node")) {
    ok = false;
  }
  if (const DocReader::Entry* s = m.find("nodeSelector")) {
    const std::string path = "spec.placement.nodeSelector";
    if (s->value.IsMap() && s->value.size() == 0) {
      r.error(r.value_mark(*s), path,
              "is empty, which would match every node (expected at least one label such as "
              "role: runner; leave placement out to place on every node)");
      ok = false;
    } else {
      std::map<std::string, std::string> labels;
      const bool was_map = s->value.IsMap();
      const size_t pairs = was_map ? s->value.size() : 0;
      decode_label_map(r, *s, path, labels);
      if (!was_map || labels.size() != pairs) ok = false;
      p.node_selector = std::move(labels);
    }
  }
  if (m.find("node") && m.find("nodeSelector")) {
    r.error(r.value_mark(*m.find("nodeSelector")), "spec.placement.nodeSelector",
            "node and nodeSelector are both set (expected exactly one of them)");
    ok = false;
  } else if (!m.find("node") && !m.find("nodeSelector")) {
    // A misspelt key ("nodes") was reported as unknown, with a suggestion.
    if (!e->value.IsMap() || e->value.size() == 0) {
      r.error(m.mark, "spec.placement.node", "is required (expected exactly one of node or nodeSelector)");
    }
    ok = false;
  }
  if (!ok) return;
  p.set = true;
  out = std::move(p);
}

FieldDef<ObjectMeta> placement_def() {
  FieldDef<ObjectMeta> d;
  d.key = "placement";
  d.rule = "a mapping with exactly one of node or nodeSelector";
  d.doc = "Which hosts of a fleet keep this resource: node (a host's --node-name) or nodeSelector (labels "
          "every one of which a host's --node-labels must have). A Network, Kernel or Image a placed VM "
          "needs is kept on its host whatever its own placement says. Default: every host.";
  d.schema = nlohmann::ordered_json{{"$ref", "#/$defs/placement"}};
  d.change_note = "decides which hosts keep it: a host it leaves deletes it (with --prune, or under watch), a "
                  "host it comes to creates it";
  return d;
}

}  // namespace banger
