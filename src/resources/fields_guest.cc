// spec.guest of a VM: hostname, SSH login keys, user-data and how they reach
// the guest. Every part is something the guest reads at boot, so a change to
// any of them restarts the VM. Keys and user-data are shown by count, names
// and a hash: a plan stays one line per field and never prints a secret.
#include "resources/fields_guest.h"

#include <algorithm>

#include "resources/names.h"
#include "resources/ssh_public_key.h"
#include "resources/value_parsers.h"

namespace banger {

namespace {

using json = nlohmann::ordered_json;
using Shows = std::optional<std::string>;

constexpr const char* kKeyRule = "an OpenSSH public key line such as \"ssh-ed25519 AAAA... you@laptop\"";
constexpr size_t kMaxUserData = 16 * 1024;  // NoCloud seeds hold it whole; cloud-init's own limit is larger

// RFC 1123 host name: dot-separated labels, at most 253 characters.
bool is_hostname(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_dns1123_label(label)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

// What useradd accepts by default (Debian's NAME_REGEX), at most 32 characters.
bool is_user_name(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  if (!(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin() + 1, s.end(), [](unsigned char c) {
    return std::islower(c) || std::isdigit(c) || c == '_' || c == '-';
  });
}

// A change detector for the plan, not a secret's digest.
std::string short_hash(const std::string& text) {
  return hex64(fnv1a64(text)).substr(0, 8);
}

// A key's comment (what people call it), or its type when it has none.
std::string key_label(const std::string& line) {
  size_t a = line.find(' ');
  size_t b = a == std::string::npos ? std::string::npos : line.find(' ', a + 1);
  if (b != std::string::npos && b + 1 < line.size()) return line.substr(b + 1);
  return line.substr(0, a);
}

void read_key_list(DocReader& r, const DocReader::MapView& m, Guest& g) {
  const DocReader::Entry* e = m.find("authorizedKeys");
  if (!e) return;
  const std::string field = m.field("authorizedKeys");
  if (!e->value.IsSequence()) {
    r.error(r.value_mark(*e), field, DocReader::wrong_type(e->value) + " (expected a list of " + kKeyRule + ")");
    return;
  }
  for (size_t i = 0; i < e->value.size(); ++i) {
    const YAML::Node& n = e->value[i];
    const std::string item = field + "[" + std::to_string(i) + "]";
    std::string text;
    DocReader::Problem p;
    if (!DocReader::parse_string(n, text, p)) {
      r.error(r.mark(n), item, p.what + " (expected " + kKeyRule + ")");
      continue;
    }
    std::string why;
    auto key = parse_ssh_public_key(text, why);
    if (!key) {
      r.error(r.mark(n), item, why + " (expected " + kKeyRule + ")");
      continue;
    }
    g.authorized_keys.push_back({key->line(), r.mark(n)});
  }
}

void read_file_list(DocReader& r, const DocReader::MapView& m, Guest& g) {
  const DocReader::Entry* e = m.find("authorizedKeysFiles");
  if (!e) return;
  const std::string field = m.field("authorizedKeysFiles");
  const char* rule = "a list of paths to public key files such as ~/.ssh/id_ed25519.pub";
  if (!e->value.IsSequence()) {
    r.error(r.value_mark(*e), field, DocReader::wrong_type(e->value) + " (expected " + rule + ")");
    return;
  }
  for (size_t i = 0; i < e->value.size(); ++i) {
    const YAML::Node& n = e->value[i];
    GuestFileRef ref;
    DocReader::Problem p;
    if (!parse_nonempty_string(n, ref.path.value, p)) {
      r.error(r.mark(n), field + "[" + std::to_string(i) + "]", p.what + " (expected " + rule + ")");
      continue;
    }
    ref.path.mark = r.mark(n);
    ref.path.set = true;
    ref.resolved_path = resolve_guest_path(ref.path.value, r.base_dir());
    g.authorized_keys_files.push_back(std::move(ref));
  }
}

void decode_ssh(DocReader& r, const DocReader::MapView& guest, Guest& g) {
  const DocReader::Entry* e = guest.find("ssh");
  if (!e) return;
  DocReader::MapView m = r.read_map(e->value, "spec.guest.ssh", r.value_mark(*e),
                                    {"user", "authorizedKeys", "authorizedKeysFiles"});
  if (!m.ok) return;
  if (r.get(m, "user", g.ssh_user, parse_nonempty_string, "a user name such as root or debian", false) &&
      !is_user_name(g.ssh_user.value)) {
    r.error(g.ssh_user.mark, m.field("user"),
            quote(g.ssh_user.value) + " is not a user name (expected lowercase letters, digits, _ and -, starting "
                                      "with a letter or _, at most 32 characters)");
  }
  read_key_list(r, m, g);
  read_file_list(r, m, g);
}

void decode_guest(DocReader& r, const DocReader::MapView& spec, VM& out) {
  const DocReader::Entry* e = spec.find("guest");
  if (!e) return;
  Guest& g = out.guest;
  g.set = true;
  g.mark = r.value_mark(*e);
  DocReader::MapView m =
      r.read_map(e->value, "spec.guest", g.mark, {"hostname", "ssh", "userData", "userDataFile", "inject"});
  if (!m.ok) return;
  if (r.get(m, "hostname", g.hostname, parse_nonempty_string, "a host name such as web or web.example", false) &&
      !is_hostname(g.hostname.value)) {
    r.error(g.hostname.mark, m.field("hostname"),
            quote(g.hostname.value) + " is not a host name (expected lowercase RFC 1123 labels of letters, digits "
                                      "and -, joined by dots, such as web or web.example)");
  }
  decode_ssh(r, m, g);
  const char* user_data_rule = "cloud-init user-data of at most 16 KiB starting with #cloud-config or #!";
  if (r.get(m, "userData", g.user_data, DocReader::parse_string, user_data_rule, false)) {
    std::string why = g.user_data.value.size() > kMaxUserData
                          ? "is " + std::to_string(g.user_data.value.size()) + " bytes"
                          : user_data_problem(g.user_data.value);
    if (!why.empty()) r.error(g.user_data.mark, m.field("userData"), why + " (expected " + user_data_rule + ")");
  }
  if (r.get(m, "userDataFile", g.user_data_file.path, parse_nonempty_string, "a path to a user-data file", false)) {
    g.user_data_file.resolved_path = resolve_guest_path(g.user_data_file.path.value, r.base_dir());
  }
  if (g.user_data.set && g.user_data_file.path.set) {
    r.error(g.user_data_file.path.mark, m.field("userDataFile"),
            "userData and userDataFile are both set (expected at most one of them)");
  }
  g.inject.value = GuestInject::Auto;
  std::vector<std::string> names;
  for (const auto& [n, v] : enum_names<GuestInject>()) names.push_back(n);
  r.get(m, "inject", g.inject, enum_parser(enum_names<GuestInject>()), one_of(names), false);
}

json guest_schema() {
  json key = {{"type", "string"},
              {"pattern", "^\\s*(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\\.com|"
                          "sk-ecdsa-sha2-nistp256@openssh\\.com) [A-Za-z0-9+/]+={0,2}( .*)?\\s*$"}};
  json ssh = {{"type", "object"},
              {"description", "SSH logins: the user and the public keys that may log in as it."},
              {"additionalProperties", false},
              {"properties",
               {{"user",
                 {{"type", "string"},
                  {"description", "The user the keys log in as (cloud-init creates it when the image lacks it). "
                                  "Default: root."},
                  {"pattern", "^[a-z_][a-z0-9_-]{0,31}$"},
                  {"default", "root"}}},
                {"authorizedKeys",
                 {{"type", "array"}, {"description", "OpenSSH public key lines."}, {"items", key}}},
                {"authorizedKeysFiles",
                 {{"type", "array"},
                  {"description", "Public key files such as ~/.ssh/id_ed25519.pub (~ is your home; relative to the "
                                  "manifest's folder)."},
                  {"items", {{"type", "string"}, {"minLength", 1}}}}}}}};
  return {{"type", "object"},
          {"additionalProperties", false},
          {"properties",
           {{"hostname",
             {{"type", "string"},
              {"description", "The guest's host name. Default: the VM's name."},
              {"maxLength", 253},
              {"pattern", "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"}}},
            {"ssh", ssh},
            {"userData",
             {{"type", "string"},
              {"description", "cloud-init user-data (#cloud-config, merged with banger's; or a #! script)."},
              {"maxLength", kMaxUserData}}},
            {"userDataFile",
             {{"type", "string"}, {"description", "A file holding the user-data instead."}, {"minLength", 1}}},
            {"inject",
             {{"description", "How it reaches the guest: a NoCloud seed drive (cloud-init), files written into "
                              "the ext4 disk (files), both (auto), or nothing (none). Default: auto."},
              {"enum", {"auto", "cloud-init", "files", "none"}},
              {"default", "auto"}}}}},
          {"not", {{"required", {"userData", "userDataFile"}}}}};
}

}  // namespace

std::string resolve_guest_path(const std::string& written, const std::string& base_dir) {
  if (written == "~" || written.rfind("~/", 0) == 0) return invoking_user_home() + written.substr(1);
  if (!written.empty() && written[0] == '/') return written;
  return (base_dir.empty() ? std::string(".") : base_dir) + "/" + written;
}

std::string user_data_type(const std::string& text) {
  static const std::pair<const char*, const char*> kinds[] = {
      {"#cloud-config", "text/cloud-config"}, {"#!", "text/x-shellscript"},
      {"#cloud-boothook", "text/cloud-boothook"}, {"#include", "text/x-include-url"},
      {"#part-handler", "text/part-handler"}, {"#upstart-job", "text/upstart-job"}};
  for (const auto& [prefix, type] : kinds) {
    if (text.rfind(prefix, 0) == 0) return type;
  }
  return "";
}

std::string user_data_problem(const std::string& text) {
  const std::string type = user_data_type(text);
  if (type.empty()) {
    return "does not start with #cloud-config, #! or another cloud-init marker banger can merge its own "
           "#cloud-config with";
  }
  if (type != "text/cloud-config") return "";
  try {
    YAML::Node n = YAML::Load(text);
    if (n.IsNull() || n.IsMap()) return "";
    return "is a #cloud-config whose YAML is not a mapping";
  } catch (const YAML::Exception& e) {
    return "is a #cloud-config that is not valid YAML (line " + std::to_string(e.mark.line + 1) + ": " + e.msg + ")";
  }
}

std::string guest_keys_text(const Guest& g) {
  std::vector<std::string> keys = g.keys();
  if (keys.empty()) return "none";
  std::string names, all;
  for (const std::string& k : keys) {
    names += (names.empty() ? "" : ", ") + key_label(k);
    all += k + "\n";
  }
  return names + " (" + std::to_string(keys.size()) + (keys.size() == 1 ? " key" : " keys") + ", #" +
         short_hash(all) + ")";
}

std::string guest_user_data_text(const Guest& g) {
  const std::string& u = g.user_data_text();
  return std::to_string(u.size()) + " bytes, #" + short_hash(u);
}

FieldDef<VM> guest_field() {
  FieldDef<VM> f;
  f.key = "guest";
  f.rule = "a mapping with hostname, ssh, userData or userDataFile, and inject";
  f.doc = "What the guest is given at boot: its hostname (default: the VM's name), SSH login keys and user, "
          "cloud-init user-data, and how they reach it: a NoCloud seed drive for cloud-init images, files "
          "written into an ext4 disk for the others, or both (inject: auto, the default). Any change restarts "
          "the VM.";
  f.schema = guest_schema();
  f.decode = decode_guest;
  // Shown only when written: a VM without spec.guest, and a record from a
  // build before it, show nothing here and so do not differ.
  f.shown = {
      {"hostname", FieldEffect::Restart,
       [](const VM& v, const ManifestSet&) { return v.guest.hostname.set ? Shows(v.guest.hostname.value) : Shows(); },
       [](const std::string& t, VM& v) {
         v.guest.hostname = {t, {}, true};
         return is_hostname(t);
       }},
      {"sshUser", FieldEffect::Restart,
       [](const VM& v, const ManifestSet&) { return v.guest.ssh_user.set ? Shows(v.guest.ssh_user.value) : Shows(); },
       [](const std::string& t, VM& v) {
         v.guest.ssh_user = {t, {}, true};
         return is_user_name(t);
       }},
      {"sshKeys", FieldEffect::Restart,
       [](const VM& v, const ManifestSet&) { return v.guest.keys().empty() ? Shows() : Shows(guest_keys_text(v.guest)); }},
      {"userData", FieldEffect::Restart,
       [](const VM& v, const ManifestSet&) {
         return v.guest.user_data.set || v.guest.user_data_file.path.set ? Shows(guest_user_data_text(v.guest))
                                                                         : Shows();
       }},
      {"inject", FieldEffect::Restart,
       [](const VM& v, const ManifestSet&) { return v.guest.inject.set ? Shows(to_string(v.guest.inject.value)) : Shows(); },
       [](const std::string& t, VM& v) {
         auto e = enum_text<GuestInject>().read(t);
         if (e) v.guest.inject = {*e, {}, true};
         return e.has_value();
       }},
  };
  return f;
}

}  // namespace banger
