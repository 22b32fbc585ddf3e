#include "reconciler/oci_resolve.h"

#include <unistd.h>

#include <future>
#include <tuple>

#include "common/host_error.h"
#include "common/read_file.h"
#include "reconciler/applied_spec.h"
#include "resources/fields_guest.h"

namespace banger {

namespace {

// Each oci source of the set, with its resource's key.
struct OciUse {
  ResourceKey key;
  ArtifactSource* source;
};

std::vector<OciUse> oci_uses(ManifestSet& set) {
  std::vector<OciUse> out;
  for (Kernel& k : set.kernels) {
    if (k.source.oci.ref_text.set) out.push_back({{Kind::Kernel, k.name()}, &k.source});
  }
  for (Image& i : set.images) {
    if (i.source.oci.ref_text.set) out.push_back({{Kind::Image, i.name()}, &i.source});
  }
  return out;
}

// The digest a record shows for the same reference and platform, or "".
std::string recorded_digest(const OciUse& u, const std::map<ResourceKey, ResourceRecord>& applied) {
  auto rec = applied.find(u.key);
  if (rec == applied.end()) return "";
  std::map<std::string, std::string> shown;
  try {
    for (const SpecField& f : applied_fields(rec->second)) shown[f.name] = f.value;
  } catch (const HostError&) {
    return "";  // a record that does not read back pins nothing; the diff reports it
  }
  const OciSource& o = u.source->oci;
  if (shown["source"] != "oci:" + o.ref.str() || shown["platform"] != o.platform.value) return "";
  const std::string& d = shown["digest"];
  return d == "unresolved" ? "" : d;
}

std::string where(const OciUse& u) {
  const Mark& m = u.source->oci.ref_text.mark;
  return m.file + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": " + u.key.str() + ": spec.oci: ";
}

}  // namespace

bool has_oci_sources(const ManifestSet& set) {
  for (const Kernel& k : set.kernels) {
    if (k.source.oci.ref_text.set) return true;
  }
  for (const Image& i : set.images) {
    if (i.source.oci.ref_text.set) return true;
  }
  return false;
}

OciPullRequest oci_request(const std::string& label, const OciSource& s) {
  OciPullRequest q;
  q.label = label;
  q.ref = s.ref;
  std::string why;
  if (auto p = parse_oci_platform(s.platform.value, why)) q.platform = *p;
  q.insecure = s.insecure.value;
  if (s.size.value) q.size = s.size.value;
  // An explicit file must be there; docker's own is used when it is.
  std::string file = s.resolved_credentials;
  if (file.empty()) {
    const std::string home = invoking_user_home();
    if (!home.empty() && ::access((home + "/.docker/config.json").c_str(), R_OK) == 0) file = home + "/.docker/config.json";
  }
  if (!file.empty()) {
    std::optional<std::string> text = read_small_file(file);
    if (!text) {
      throw HostError(label + ": spec.credentialsFile: cannot read " + file + " (expected a docker config.json)",
                      ErrorCode::NotFound);
    }
    q.credentials = docker_config_credentials(*text, s.ref.registry, file);
  }
  return q;
}

void pin_oci_from_records(ManifestSet& set, const std::map<ResourceKey, ResourceRecord>& applied) {
  for (OciUse& u : oci_uses(set)) u.source->oci.digest = recorded_digest(u, applied);
}

OciResolution resolve_oci_digests(ManifestSet& set, const std::map<ResourceKey, ResourceRecord>& applied) {
  OciResolution out;
  std::vector<OciUse> uses = oci_uses(set);
  // One question per reference: two Images naming one tag get one answer.
  using Question = std::tuple<std::string, std::string, bool, std::string>;
  std::map<Question, std::shared_future<std::string>> asked;
  std::vector<std::shared_future<std::string>> answers;
  for (const OciUse& u : uses) {
    const OciSource& o = u.source->oci;
    Question q{o.ref.str(), o.platform.value, o.insecure.value, o.resolved_credentials};
    auto it = asked.find(q);
    if (it == asked.end()) {
      OciSource copy = o;
      std::string label = u.key.str();
      it = asked.emplace(q, std::async(std::launch::async, [copy, label] {
                              OciPullRequest req = oci_request(label, copy);
                              OciRegistry registry(req.ref, req.insecure, req.credentials);
                              return resolve_oci_digest(registry, req);
                            }).share()).first;
    }
    answers.push_back(it->second);
  }
  for (size_t i = 0; i < uses.size(); ++i) {
    OciUse& u = uses[i];
    try {
      u.source->oci.digest = answers[i].get();
    } catch (const std::exception& e) {
      std::string pinned = recorded_digest(u, applied);
      std::string why = e.what();
      if (why.rfind(u.key.str() + ": ", 0) == 0) why = why.substr(u.key.str().size() + 2);
      if (pinned.empty()) {
        out.errors.push_back(where(u) + why);
      } else {
        u.source->oci.digest = pinned;
        out.warnings.push_back(where(u) + why + "; using the recorded digest " + pinned);
      }
    }
  }
  return out;
}

DesiredState with_oci_digests(DesiredState d, const std::map<ResourceKey, ResourceRecord>& applied, bool online,
                              std::vector<std::string>* warnings) {
  if (!has_oci_sources(d.set)) return d;
  ManifestSet set = std::move(d.set);
  if (!online) {
    pin_oci_from_records(set, applied);
  } else {
    OciResolution r = resolve_oci_digests(set, applied);
    if (warnings) warnings->insert(warnings->end(), r.warnings.begin(), r.warnings.end());
    if (!r.errors.empty()) {
      std::string all;
      for (const std::string& e : r.errors) all += (all.empty() ? "" : "\n") + e;
      throw HostError(all, ErrorCode::NotFound);
    }
  }
  return make_desired(std::move(set));
}

}  // namespace banger
