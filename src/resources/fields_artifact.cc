// The field tables of Kernel and Image: a file given by exactly one of path
// or url, with its sha256 (shared, also by a Kernel's initrd).
#include <filesystem>

#include "resources/field_table.h"
#include "resources/value_parsers.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

using json = nlohmann::ordered_json;

json ref(const char* def) { return json{{"$ref", std::string("#/$defs/") + def}}; }

// What a Kernel or Image is made from: the URL when downloaded, else the
// file's absolute path.
std::string artifact_ref(const ArtifactSource& a) { return a.url.set ? a.url.value : a.resolved_path; }

// Exactly one of path and url; sha256 with url; a relative path starts at
// the manifest's own folder, so a checkout works wherever it is cloned.
void artifact_rules(DocReader& r, const DocReader::MapView& m, ArtifactSource& out) {
  bool path_written = m.find("path") != nullptr, url_written = m.find("url") != nullptr;
  if (path_written && url_written) {
    r.error(r.value_mark(*m.find("url")), m.field("url"),
            "path and url are both set (expected exactly one of them)");
  } else if (!path_written && !url_written) {
    r.error(m.mark, m.field("path"), "is required (expected exactly one of path or url)");
  }
  if (url_written && !m.find("sha256")) {
    r.error(m.mark, m.field("sha256"),
            "is required with url (expected the 64-hex-digit SHA-256 of the download)");
  }
  if (out.path.set) {
    std::filesystem::path p(out.path.value);
    std::error_code ec;
    std::filesystem::path full = p.is_absolute() ? p : std::filesystem::path(r.base_dir()) / p;
    if (!full.is_absolute()) full = std::filesystem::absolute(full, ec);
    out.resolved_path = full.lexically_normal().string();
  }
}

// The way back from artifact_ref: a URL or an absolute path.
bool read_source(const std::string& t, ArtifactSource& a) {
  bool url = t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0 || t.rfind("file://", 0) == 0;
  if (url) a.url = {t, {}, true};
  if (!url) a.resolved_path = t;
  return !t.empty();
}

const KindFields<ArtifactSource>& artifact_fields() {
  static const KindFields<ArtifactSource> t = [] {
    KindFields<ArtifactSource> k;
    k.fields.push_back(scalar<ArtifactSource, std::string>(
        {.key = "path",
         .rule = "a file path",
         .doc = "A local file. Relative paths start at the manifest's own folder. Exactly one of path and url.",
         .schema = json{{"type", "string"},
                        {"minLength", 1},
                        {"examples", {"artifacts/vmlinuz", "/var/lib/banger/images/rootfs.ext4"}}},
         .shown = false},
        &ArtifactSource::path, parse_nonempty_string, string_text()));
    // path and url are shown together, as `source`: where the file comes from.
    k.fields.back().shown.push_back({"source", FieldEffect::InPlace,
                                     [](const ArtifactSource& a, const ManifestSet&) {
                                       return std::optional<std::string>(artifact_ref(a));
                                     },
                                     read_source});
    k.fields.push_back(scalar<ArtifactSource, std::string>(
        {.key = "url",
         .rule = "an http://, https:// or file:// URL",
         .doc = "An http://, https:// or file:// URL to download from. Exactly one of path and url; sha256 is "
                "required with url.",
         .schema = ref("url"),
         .shown = false},
        &ArtifactSource::url, parse_url, string_text()));
    k.fields.push_back(scalar<ArtifactSource, std::string>(
        {.key = "sha256",
         .rule = "64 hexadecimal digits",
         .doc = "The SHA-256 of the file, 64 hexadecimal digits. Required with url; checked when given with "
                "path. Default: not checked.",
         .schema = ref("sha256")},
        &ArtifactSource::sha256, parse_sha256, string_text()));
    k.check = artifact_rules;
    return k;
  }();
  return t;
}

}  // namespace

const KindFields<Kernel>& kernel_fields() {
  static const KindFields<Kernel> t = [] {
    KindFields<Kernel> k;
    k.doc = "A guest kernel (uncompressed vmlinux for Firecracker): exactly one of path and url; sha256 is "
            "required with url.";
    for (const auto& f : artifact_fields().fields) k.fields.push_back(lift(f, &Kernel::source));
    FieldDef<Kernel> initrd;
    initrd.key = "initrd";
    initrd.rule = "a mapping with path or url, and sha256";
    initrd.doc = "An initial ramdisk to boot with: exactly one of path and url, sha256 as for the kernel. "
                 "Default: none.";
    initrd.schema = ref("initrd");
    initrd.decode = [](DocReader& r, const DocReader::MapView& spec, Kernel& out) {
      const DocReader::Entry* e = spec.find("initrd");
      if (!e) return;
      out.initrd_mark = r.value_mark(*e);
      static const std::vector<std::string> keys = artifact_fields().keys();
      DocReader::MapView m = r.read_map(e->value, "spec.initrd", out.initrd_mark, keys);
      out.initrd.emplace();
      artifact_fields().decode(r, m, *out.initrd);
    };
    initrd.shown = {{"initrd", FieldEffect::InPlace,
                     [](const Kernel& k, const ManifestSet&) {
                       return k.initrd ? std::optional<std::string>(artifact_ref(*k.initrd)) : std::nullopt;
                     },
                     [](const std::string& t, Kernel& k) { return read_source(t, k.initrd ? *k.initrd : k.initrd.emplace()); }},
                    {"initrdSha256", FieldEffect::InPlace,
                     [](const Kernel& k, const ManifestSet&) {
                       return k.initrd ? std::optional<std::string>(k.initrd->sha256.value) : std::nullopt;
                     },
                     [](const std::string& t, Kernel& k) {
                       (k.initrd ? *k.initrd : k.initrd.emplace()).sha256 = {t, {}, true};
                       return true;
                     }}};
    k.fields.push_back(std::move(initrd));
    k.fields.push_back(scalar<Kernel, std::string>(
        {.key = "args",
         .rule = "kernel command-line arguments",
         .doc = "The kernel command line. A VM's kernelArgs are appended to it. Default: " +
                std::string(kDefaultKernelArgs) + ".",
         .schema = json{{"type", "string"}, {"examples", {"console=ttyS0 reboot=k panic=1 quiet"}}},
         .def = std::string(kDefaultKernelArgs)},
        &Kernel::args, DocReader::parse_string, string_text()));
    k.check = [](DocReader& r, const DocReader::MapView& spec, Kernel& out) { artifact_rules(r, spec, out.source); };
    return k;
  }();
  return t;
}

const KindFields<Image>& image_fields() {
  static const KindFields<Image> t = [] {
    KindFields<Image> k;
    k.doc = "A root filesystem (a raw ext4 image): exactly one of path and url; sha256 is required with url. "
            "Each VM boots from its own copy.";
    for (const auto& f : artifact_fields().fields) k.fields.push_back(lift(f, &Image::source));
    k.check = [](DocReader& r, const DocReader::MapView& spec, Image& out) { artifact_rules(r, spec, out.source); };
    return k;
  }();
  return t;
}

}  // namespace banger
