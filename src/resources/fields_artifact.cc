// The field tables of Kernel and Image: a file given by exactly one of path,
// url or oci, with its sha256 (path and url are shared with a Kernel's
// initrd; oci and its options are Kernel's and Image's own).
#include <algorithm>
#include <filesystem>

#include "resources/field_table.h"
#include "resources/fields_placement.h"
#include "resources/fields_guest.h"
#include "resources/value_parsers.h"
#include "resources/yaml_scalar.h"

namespace banger {

namespace {

using json = nlohmann::ordered_json;

json ref(const char* def) { return json{{"$ref", std::string("#/$defs/") + def}}; }

// What a Kernel or Image is made from: the URL when downloaded, the
// registry reference (spelled out, "oci:docker.io/library/alpine:3.20"),
// else the file's absolute path.
std::string artifact_ref(const ArtifactSource& a) {
  if (a.oci.ref_text.set) return "oci:" + a.oci.ref.str();
  return a.url.set ? a.url.value : a.resolved_path;
}

// The options that only mean something with oci.
const char* const kOciOptions[] = {"platform", "size", "insecure", "credentialsFile"};

// Exactly one of path, url and oci (path and url alone for an initrd);
// sha256 with url, never with oci (a digest in the reference pins it); a
// relative path starts at the manifest's own folder, so a checkout works
// wherever it is cloned.
void artifact_rules(DocReader& r, const DocReader::MapView& m, ArtifactSource& out, bool oci_allowed) {
  const char* keys[] = {"path", "url", "oci"};
  std::vector<const char*> written;
  for (const char* k : keys) {
    if (m.find(k)) written.push_back(k);
  }
  if (written.size() > 1) {
    r.error(r.value_mark(*m.find(written[1])), m.field(written[1]),
            std::string(written[0]) + " and " + written[1] + " are both set (expected exactly one of " +
                (oci_allowed ? "path, url or oci" : "path or url") + ")");
  } else if (written.empty()) {
    r.error(m.mark, m.field("path"),
            std::string("is required (expected exactly one of ") + (oci_allowed ? "path, url or oci" : "path or url") + ")");
  }
  const bool url_written = m.find("url") != nullptr, oci_written = m.find("oci") != nullptr;
  if (url_written && !m.find("sha256")) {
    r.error(m.mark, m.field("sha256"),
            "is required with url (expected the 64-hex-digit SHA-256 of the download)");
  }
  if (oci_written && m.find("sha256")) {
    r.error(r.value_mark(*m.find("sha256")), m.field("sha256"),
            "does not go with oci (pin the image by digest in the reference instead: REPO@sha256:...)");
  }
  for (const char* k : kOciOptions) {
    if (!oci_written && m.find(k)) {
      r.error(r.value_mark(*m.find(k)), m.field(k), "is only allowed with oci (an image from a registry)");
    }
  }
  if (oci_written) {
    std::string why;
    if (auto ref = parse_oci_ref(out.oci.ref_text.value, why)) out.oci.ref = *ref;
    if (out.oci.credentials_file.set) {
      out.oci.resolved_credentials = resolve_guest_path(out.oci.credentials_file.value, r.base_dir());
    }
  }
  if (out.path.set) {
    std::filesystem::path p(out.path.value);
    std::error_code ec;
    std::filesystem::path full = p.is_absolute() ? p : std::filesystem::path(r.base_dir()) / p;
    if (!full.is_absolute()) full = std::filesystem::absolute(full, ec);
    out.resolved_path = full.lexically_normal().string();
  }
}

// The way back from artifact_ref: a registry reference, a URL or an
// absolute path.
bool read_source(const std::string& t, ArtifactSource& a) {
  if (t.rfind("oci:", 0) == 0) {
    std::string why;
    auto ref = parse_oci_ref(t.substr(4), why);
    if (!ref) return false;
    a.oci.ref_text = {t.substr(4), {}, true};
    a.oci.ref = *ref;
    return true;
  }
  bool url = t.rfind("http://", 0) == 0 || t.rfind("https://", 0) == 0 || t.rfind("file://", 0) == 0;
  if (url) a.url = {t, {}, true};
  if (!url) a.resolved_path = t;
  return !t.empty();
}

bool parse_oci_ref_field(const YAML::Node& n, std::string& out, DocReader::Problem& p) {
  if (!parse_nonempty_string(n, out, p)) return false;
  std::string why;
  if (!parse_oci_ref(out, why)) {
    p.what = quote(out) + " is not an image reference: " + why;
    return false;
  }
  return true;
}

bool parse_platform_field(const YAML::Node& n, std::string& out, DocReader::Problem& p) {
  if (!parse_nonempty_string(n, out, p)) return false;
  std::string why;
  if (!parse_oci_platform(out, why)) {
    p.what = quote(out) + " is not a platform: " + why;
    return false;
  }
  return true;
}

// An oci option's shown value: only for a source from a registry, so that
// path and url records gain no value they never had.
Shown<OciSource> oci_only(Shown<OciSource> s) {
  auto render = s.render;
  s.render = [render](const OciSource& o, const ManifestSet& set) -> std::optional<std::string> {
    if (!o.ref_text.set) return std::nullopt;
    return render(o, set);
  };
  s.default_text = std::nullopt;
  return s;
}

// The grammar parse_oci_ref reads (distribution/reference), for editors:
// a first component is a registry only with a dot, a port or as localhost;
// the repository is lower case.
#define OCI_LABEL "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
#define OCI_COMPONENT "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
constexpr const char* kOciRefPattern =
    "^(?:(?:(?:" OCI_LABEL "(?:\\." OCI_LABEL ")+|localhost)(?::[0-9]+)?|" OCI_LABEL ":[0-9]+|\\[[0-9a-fA-F:.]+\\](?::[0-9]+)?)/)?"
    OCI_COMPONENT "(?:/" OCI_COMPONENT ")*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$";
#undef OCI_LABEL
#undef OCI_COMPONENT

// spec.oci and its options, for Kernel (image = false: no size) and Image.
std::vector<FieldDef<ArtifactSource>> oci_fields(bool image) {
  std::vector<FieldDef<OciSource>> f;
  f.push_back(scalar<OciSource, std::string>(
      {.key = "oci",
       .rule = "an image reference such as debian:12, ghcr.io/org/app:1.2 or registry:5000/app@sha256:...",
       .doc = std::string("An image in an OCI registry, [registry[:port]/]repo[:tag|@sha256:digest], with docker "
                          "pull's defaults (Docker Hub, library/, latest). The tag is resolved to a digest at "
                          "apply and recorded; a tag that moved is a change. ") +
              (image ? "Its layers are flattened into an ext4 image, cached by digest."
                     : "Its /boot/vmlinux (else /boot/vmlinuz*) is the kernel, and /boot/initrd.img* or "
                       "/boot/initramfs* the initrd when there is one.") +
              " Exactly one of path, url and oci.",
       .schema = json{{"type", "string"},
                      {"minLength", 1},
                      {"pattern", kOciRefPattern},
                      {"examples", {"127.0.0.1:5000/banger/rootfs:1", "ghcr.io/org/app@sha256:0123456789abcdef"
                                                                         "0123456789abcdef0123456789abcdef0123456789abcdef"}}},
       .shown = false},
      &OciSource::ref_text, parse_oci_ref_field, string_text()));
  // The digest the tag named when it was applied: recorded, so that `get`
  // shows it and `diff --against` an export compares with it.
  f.back().shown.push_back({"digest", FieldEffect::InPlace,
                            [](const OciSource& o, const ManifestSet&) {
                              return std::optional<std::string>(o.digest.empty() ? "unresolved" : o.digest);
                            },
                            [](const std::string& t, OciSource& o) {
                              o.digest = t == "unresolved" ? "" : t;
                              return true;
                            }});
  f.push_back(scalar<OciSource, std::string>(
      {.key = "platform",
       .rule = "os/architecture[/variant] such as linux/amd64",
       .doc = "Which image of a multi-platform index, os/architecture[/variant]. Only with oci. Default: linux/amd64.",
       .schema = json{{"type", "string"}, {"pattern", "^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$"}},
       .def = std::string("linux/amd64")},
      &OciSource::platform, parse_platform_field, string_text()));
  if (image) {
    f.push_back(scalar<OciSource, uint64_t>(
        {.key = "size",
         .rule = "a size from 16Mi to 1Ti in whole Mi, such as 512Mi or 2Gi",
         .doc = "The ext4 image's size; unpacking more than this fails. Only with oci. Default: the content plus "
                "25%, rounded up to a MiB.",
         .schema = ref("memorySize")},
        &OciSource::size, size_parser(16 * MiB, TiB),
        TextForm<uint64_t>{[](const uint64_t& b) { return b ? format_size(b) : std::string("auto"); },
                           [](const std::string& t) { return t == "auto" ? std::optional<uint64_t>(0) : parse_size(t); }}));
  }
  f.push_back(scalar<OciSource, bool>(
      {.key = "insecure",
       .rule = "true or false",
       .doc = "Talk plain HTTP to the registry (a local one). Only with oci. Default: false.",
       .schema = json{{"type", "boolean"}},
       .def = false},
      &OciSource::insecure, DocReader::parse_bool, bool_text()));
  f.push_back(scalar<OciSource, std::string>(
      {.key = "credentialsFile",
       .rule = "a file path",
       .doc = "A docker config.json with the registry's credentials (its auths entry). ~ is your home; relative "
              "paths start at the manifest's folder. Only with oci. Default: ~/.docker/config.json when present.",
       .schema = json{{"type", "string"}, {"minLength", 1}, {"examples", {"~/.docker/config.json"}}}},
      &OciSource::credentials_file, parse_nonempty_string, string_text()));
  std::vector<FieldDef<ArtifactSource>> out;
  for (FieldDef<OciSource>& d : f) {
    for (Shown<OciSource>& s : d.shown) s = oci_only(std::move(s));
    out.push_back(lift(d, &ArtifactSource::oci));
  }
  return out;
}

const KindFields<ArtifactSource>& artifact_fields() {
  static const KindFields<ArtifactSource> t = [] {
    KindFields<ArtifactSource> k;
    k.fields.push_back(scalar<ArtifactSource, std::string>(
        {.key = "path",
         .rule = "a file path",
         .doc = "A local file. Relative paths start at the manifest's own folder. Exactly one of path and url (or "
                "oci, for a Kernel or Image).",
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
         .doc = "An http://, https:// or file:// URL to download from. Exactly one of path and url (or oci, for a "
                "Kernel or Image); sha256 is required with url.",
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
    k.check = [](DocReader& r, const DocReader::MapView& m, ArtifactSource& out) {
      artifact_rules(r, m, out, /*oci_allowed=*/false);  // an initrd
    };
    return k;
  }();
  return t;
}

}  // namespace

const KindFields<Kernel>& kernel_fields() {
  static const KindFields<Kernel> t = [] {
    KindFields<Kernel> k;
    k.doc = "A guest kernel (uncompressed vmlinux for Firecracker): exactly one of path, url and oci; sha256 is "
            "required with url.";
    for (const auto& f : artifact_fields().fields) k.fields.push_back(lift(f, &Kernel::source));
    for (const auto& f : oci_fields(false)) k.fields.push_back(lift(f, &Kernel::source));
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
    k.check = [](DocReader& r, const DocReader::MapView& spec, Kernel& out) {
      artifact_rules(r, spec, out.source, true);
      if (spec.find("oci") && spec.find("initrd")) {
        r.error(out.initrd_mark, spec.field("initrd"),
                "does not go with oci (the initrd comes from the image's /boot, as its kernel does)");
      }
    };
    k.fields.push_back(placement_field<Kernel>());
    k.meta.push_back(labels_shown<Kernel>());
    return k;
  }();
  return t;
}

const KindFields<Image>& image_fields() {
  static const KindFields<Image> t = [] {
    KindFields<Image> k;
    k.doc = "A root filesystem (a raw ext4 image): exactly one of path, url and oci; sha256 is required with url. "
            "Each VM boots from its own copy.";
    for (const auto& f : artifact_fields().fields) k.fields.push_back(lift(f, &Image::source));
    for (const auto& f : oci_fields(true)) k.fields.push_back(lift(f, &Image::source));
    k.check = [](DocReader& r, const DocReader::MapView& spec, Image& out) { artifact_rules(r, spec, out.source, true); };
    k.fields.push_back(placement_field<Image>());
    k.meta.push_back(labels_shown<Image>());
    return k;
  }();
  return t;
}

}  // namespace banger
