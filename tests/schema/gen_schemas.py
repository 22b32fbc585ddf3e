#!/usr/bin/env python3
"""Writes schemas/*.schema.json: one JSON Schema (draft 2020-12) per banger kind,
plus banger.schema.json, which accepts any banger document.

Each kind's spec fields (keys, required, descriptions, types, enums, defaults)
come from the field tables in src/resources/fields_*.cc, read through
`banger explain -o json`; this script adds the shared definitions (patterns for
sizes, durations, addresses), the nested readiness object and the rules that
span fields. Run it after changing a table:

    python3 tests/schema/gen_schemas.py --banger build/banger          # rewrite schemas/
    python3 tests/schema/gen_schemas.py --banger build/banger --check  # exit 1 if stale

Every schema file is self-contained (its shared definitions are copied into its
own "$defs", and every "$ref" is a "#/$defs/..." fragment), so editors resolve
nothing across files or over the network, whatever they make of "$id".

The rules follow the C++ validator, src/resources/ (decode.cc, the field tables
fields_*.cc, value_parsers.cc, names.cc, netaddr.cc, quantity.cc), which is the
reference:
tests/schema/check_schemas.py keeps the two in agreement. Where JSON Schema
cannot say exactly what the C++ code checks, the schema accepts a little more
than the C++ code does (never less), and check_schemas.py names those cases:
  * sizes written as strings with a fraction ("1.5Gi"), in Ki ("524288Ki") or as
    a quoted byte count ("536870912"): their range and whole-Mi rule;
  * durations made of two or more parts ("1m30s"): their 1s..1h range.
Sizes as "<integer>Mi|Gi|Ti" or as integers, and one-part durations, are exact;
so are CIDRs, host bits included.
"""
import json
import os
import subprocess
import sys

BASE = "https://banger.dev/schemas/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "schemas"))

KiB, MiB, GiB, TiB = 1024, 1024**2, 1024**3, 1024**4


# ---------------------------------------------------------------- regex helpers
# Patterns use only what ECMA-262 (editors) and Python's re agree on: no \d, \s
# or \w (both would take Unicode digits and spaces), "$" only at the very end.

def _group(r):
    return f"(?:{r})" if "|" in r else r


def _same_len(a, b):
    """Alternation for the decimal strings x of len(a) == len(b) with a <= x <= b."""
    n = len(a)
    if n == 0 or a == b:
        return a
    if a[0] == b[0]:
        return a[0] + _group(_same_len(a[1:], b[1:]))
    rest = n - 1
    any_rest = ("[0-9]" + (f"{{{rest}}}" if rest > 1 else "")) if rest else ""
    parts, tail = [], None
    lo_first, hi_first = int(a[0]), int(b[0])
    if a[1:] != "0" * rest:
        parts.append(a[0] + _group(_same_len(a[1:], "9" * rest)))
        lo_first += 1
    if b[1:] != "9" * rest:
        tail = b[0] + _group(_same_len("0" * rest, b[1:]))
        hi_first -= 1
    if lo_first <= hi_first:
        parts.append((str(lo_first) if lo_first == hi_first else f"[{lo_first}-{hi_first}]") + any_rest)
    if tail:
        parts.append(tail)
    return "|".join(parts)


def range_regex(lo, hi):
    """Alternation for the integers lo..hi written in decimal without leading zeros."""
    parts = []
    for n in range(len(str(lo)), len(str(hi)) + 1):
        a, b = max(lo, 10 ** (n - 1) if n > 1 else 0), min(hi, 10**n - 1)
        if a <= b:
            parts.append(_same_len(str(a), str(b)))
    return "|".join(parts)


def set_regex(words):
    """A compact regex for a finite set of strings (a trie with equal tails merged)."""
    def build(ws):
        kids = {}
        for w in ws:
            if w:
                kids.setdefault(w[0], set()).add(w[1:])
        by_tail = {}
        for ch, rest in sorted(kids.items()):
            by_tail.setdefault(build(rest), []).append(ch)
        alts = [(c[0] if len(c) == 1 else "[" + "".join(c) + "]") + tail for tail, c in by_tail.items()]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in ws:
            body = (body if len(alts[0]) == 1 and len(alts) == 1 else f"(?:{'|'.join(alts)})") + "?"
        return body
    return build(set(words))


OCTET = "(?:" + range_regex(0, 255) + ")"
IPV4 = rf"^{OCTET}\.{OCTET}\.{OCTET}\.{OCTET}$"


def multiples(step):
    return "(?:" + set_regex(str(v) for v in range(0, 256, step)) + ")"


def cidr_pattern(lo=16, hi=29):
    """A.B.C.D/N with lo <= N <= hi and no host bits set, as value_parsers.cc requires."""
    alts = []
    for p in range(lo, hi + 1):
        third = OCTET if p >= 24 else multiples(2 ** (24 - p))
        fourth = multiples(2 ** (32 - p)) if p >= 24 else "0"
        alts.append(rf"{third}\.{fourth}/{p}")
    return rf"^{OCTET}\.{OCTET}\.(?:" + "|".join(alts) + ")$"


DNS_LABEL = "[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
QUALIFIED = "[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?"
LABEL_KEY = rf"^(?:(?=[^/]{{1,253}}/){DNS_LABEL}(?:\.{DNS_LABEL})*/)?{QUALIFIED}$"
LABEL_VALUE = rf"^(?:{QUALIFIED})?$"
NAME = rf"^{DNS_LABEL}$"
NODE_NAME = rf"^(?=[^/]{{1,253}}$){DNS_LABEL}(?:\.{DNS_LABEL})*$"
BRIDGE = r"^(?!\.\.?$)[A-Za-z0-9_.-]{1,15}$"
SHA256 = "^[0-9a-fA-F]{64}$"
# std::regex's \s in the C locale is exactly these six characters.
URL = r"^(?:https?|file)://[^ \t\n\v\f\r]+$"
SIZE_UNITS = {"Ki": KiB, "Mi": MiB, "Gi": GiB, "Ti": TiB}


def size_patterns(lo, hi):
    """(exact, approximate) patterns for a size string within [lo, hi] bytes in whole Mi.

    exact: "<integer><Mi|Gi|Ti>", leading zeros allowed, at most 15 digits
    (quantity.cc's limit), value within range. approximate: every other form
    quantity.cc parses (a fraction, Ki, or no unit), whatever its value."""
    alts = []
    for unit in ("Mi", "Gi", "Ti"):
        mult = SIZE_UNITS[unit]
        a, b = -(-lo // mult), hi // mult
        if a <= b:
            alts.append(f"(?:{range_regex(a, b)}){unit}")
    exact = "^(?=[0-9]{1,15}(?:Mi|Gi|Ti)$)0*(?:" + "|".join(alts) + ")$"
    approx = (r"^(?=[0-9.]{1,15}(?:Ki|Mi|Gi|Ti)?$)"
              r"(?:[0-9]+\.[0-9]+(?:Ki|Mi|Gi|Ti)?|[0-9]+Ki|[0-9]+)$")
    return exact, approx


def duration_patterns(lo_s=1, hi_s=3600):
    """(exact, approximate): one-part durations within range exactly; two or more
    parts by shape only (quantity.cc: each number at most 9 digits)."""
    ms_lo, ms_hi = lo_s * 1000, hi_s * 1000
    alts = []
    for unit, mult in (("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        a, b = -(-ms_lo // mult), ms_hi // mult
        if a <= b:
            alts.append(f"(?:{range_regex(a, b)}){unit}")
    exact = "^(?=[0-9]{1,9}(?:ms|s|m|h)$)0*(?:" + "|".join(alts) + ")$"
    approx = "^(?:[0-9]{1,9}(?:ms|s|m|h)){2,}$"
    return exact, approx


def either(exact, approx):
    return f"{exact}|{approx}"


# ------------------------------------------------------------------ definitions

KINDS = ["Network", "Kernel", "Image", "VM", "PortForward", "Node"]
FILES = {"Network": "network", "Kernel": "kernel", "Image": "image", "VM": "vm",
         "PortForward": "portforward", "Node": "node"}
# Kinds without a spec (a Node is metadata only).
NO_SPEC = {"Node"}

MEM_EXACT, MEM_APPROX = size_patterns(16 * MiB, TiB)
DISK_EXACT, DISK_APPROX = size_patterns(MiB, 16 * TiB)
DUR_EXACT, DUR_APPROX = duration_patterns()


def ref(name):
    return {"$ref": f"#/$defs/{name}"}


def enum(values, default, description):
    return {"type": "string", "enum": values, "default": default, "description": description}


DEFS = {
    "apiVersion": {
        "description": "API version of banger manifests. Always `banger.dev/v1`.",
        "type": "string",
        "const": "banger.dev/v1",
        "default": "banger.dev/v1",
    },
    "name": {
        "description": "A DNS-1123 label: at most 63 lowercase letters, digits and '-', "
                       "starting and ending with a letter or digit. Required.",
        "type": "string",
        "minLength": 1,
        "maxLength": 63,
        "pattern": NAME,
        "patternErrorMessage": "Not a DNS-1123 label (expected at most 63 lowercase letters, "
                               "digits and '-', starting and ending with a letter or digit).",
        "examples": ["web-1", "debian-12"],
    },
    "labels": {
        "description": "Optional labels, Kubernetes-style: keys are names of at most 63 "
                       "letters, digits, '-', '_' or '.' (starting and ending alphanumeric), "
                       "optionally prefixed by a DNS subdomain and '/'; values are strings of "
                       "the same form, or empty. Quote numbers and booleans. Default: none.",
        "type": "object",
        "propertyNames": {
            "type": "string",
            "maxLength": 317,
            "pattern": LABEL_KEY,
            "patternErrorMessage": "Not a valid label key (expected a name of at most 63 "
                                   "letters, digits, '-', '_' or '.', optionally with a DNS "
                                   "prefix and '/').",
        },
        "additionalProperties": {
            "description": "A label value: empty, or at most 63 letters, digits, '-', '_' or "
                           "'.', starting and ending with a letter or digit.",
            "type": "string",
            "maxLength": 63,
            "pattern": LABEL_VALUE,
            "patternErrorMessage": "Not a valid label value (expected at most 63 letters, "
                                   "digits, '-', '_' or '.', starting and ending with a letter "
                                   "or digit).",
        },
        "examples": [{"app": "web", "example.com/tier": "frontend"}],
    },
    "metadata": {
        "description": "Identifies the resource: its name (unique per kind) and labels.",
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": ref("name"), "labels": ref("labels")},
    },
    "nodeName": {
        "description": "A node name, as a host's --node-name: DNS-1123 labels joined by '.', at most "
                       "253 characters.",
        "type": "string",
        "minLength": 1,
        "maxLength": 253,
        "pattern": NODE_NAME,
        "patternErrorMessage": "Not a node name (expected DNS-1123 labels joined by '.': lowercase "
                               "letters, digits and '-').",
        "examples": ["runner-a", "runner-a.ci.example"],
    },
    "nodeMetadata": {
        "description": "Identifies the node: its name (a host's --node-name) and labels (its "
                       "--node-labels, what placement.nodeSelector matches).",
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {"name": ref("nodeName"), "labels": ref("labels")},
    },
    "placement": {
        "description": "Which hosts of a fleet keep this resource: exactly one of node and "
                       "nodeSelector. Default: every host.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "node": dict(ref("nodeName"), description="The one host that keeps it: its --node-name."),
            "nodeSelector": dict(ref("labels"), description=(
                "Labels every one of which a host's --node-labels must have (equal values), as "
                "Kubernetes' nodeSelector. At least one."), minProperties=1),
        },
        "oneOf": [{"required": ["node"]}, {"required": ["nodeSelector"]}],
        "examples": [{"node": "runner-a"}, {"nodeSelector": {"role": "runner"}}],
    },
    "reference": {
        "description": "The name of another resource.",
        "type": "string",
        "minLength": 1,
    },
    "url": {
        "description": "An http://, https:// or file:// URL to download from. Exactly one of "
                       "path and url; sha256 is required with url.",
        "type": "string",
        "pattern": URL,
        "patternErrorMessage": "Not a supported URL (expected an http://, https:// or file:// "
                               "URL without spaces).",
        "examples": ["https://example.com/vmlinux-6.1"],
    },
    "sha256": {
        "description": "The SHA-256 of the file, 64 hexadecimal digits. Required with url; "
                       "checked when given with path. Default: not checked.",
        "type": "string",
        "pattern": SHA256,
        "patternErrorMessage": "Not a SHA-256 digest (expected 64 hexadecimal digits).",
        "examples": ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    },
    "artifactRules": {
        "description": "Exactly one of path and url; sha256 is required with url.",
        "oneOf": [{"required": ["path"]}, {"required": ["url"]}],
        "dependentRequired": {"url": ["sha256"]},
    },
    "sourceRules": {
        "description": "Exactly one of path, url and oci; sha256 is required with url and not "
                       "allowed with oci (nor is a Kernel's initrd, which comes from the image); "
                       "platform, size, insecure and credentialsFile only with oci.",
        "oneOf": [{"required": ["path"]}, {"required": ["url"]}, {"required": ["oci"]}],
        "dependentRequired": {"url": ["sha256"], "platform": ["oci"], "size": ["oci"],
                              "insecure": ["oci"], "credentialsFile": ["oci"]},
        "dependentSchemas": {"oci": {"not": {"anyOf": [{"required": ["sha256"]},
                                                       {"required": ["initrd"]}]}}},
    },
    "port": {
        "description": "A TCP or UDP port, 1 to 65535.",
        "type": "integer",
        "minimum": 1,
        "maximum": 65535,
        "examples": [80, 8080],
    },
    "ipv4": {
        "description": "An IPv4 address in dotted-quad form, without leading zeros.",
        "type": "string",
        "pattern": IPV4,
        "patternErrorMessage": "Not an IPv4 address (expected four numbers 0-255 without "
                               "leading zeros, such as 10.0.0.2).",
        "examples": ["172.20.0.10"],
    },
    "duration": {
        "description": "A duration from 1s to 1h: an integer number of seconds, or "
                       "<number><unit> parts with units ms, s, m, h, such as 120s, 2m or 1m30s.",
        # One schema for both types, not anyOf: minimum and maximum apply to
        # numbers only, pattern to strings only, so an editor names the rule
        # that failed rather than the other branch's type.
        "type": ["integer", "string"],
        "minimum": 1,
        "maximum": 3600,
        "pattern": either(DUR_EXACT, DUR_APPROX),
        "patternErrorMessage": "Not a duration from 1s to 1h (expected, for example, 120s, 2m "
                               "or 1m30s).",
        "examples": ["120s", "2m", "1m30s"],
    },
    "memorySize": {
        "description": "A size from 16Mi to 1Ti in whole Mi: a number with a binary unit "
                       "(Ki, Mi, Gi, Ti) such as 512Mi, 2Gi or 1.5Gi, or an integer number "
                       "of bytes. Decimal units (M, G) are not accepted.",
        "type": ["integer", "string"],  # as for duration
        "minimum": 16 * MiB,
        "maximum": TiB,
        "multipleOf": MiB,
        "pattern": either(MEM_EXACT, MEM_APPROX),
        "patternErrorMessage": "Not a size from 16Mi to 1Ti (expected, for example, 512Mi, 2Gi "
                               "or 1.5Gi).",
        "examples": ["512Mi", "2Gi", "1.5Gi"],
    },
    "diskSize": {
        "description": "A size from 1Mi to 16Ti in whole Mi: a number with a binary unit "
                       "(Ki, Mi, Gi, Ti) such as 4Gi or 1.5Gi, or an integer number of "
                       "bytes. Decimal units (M, G) are not accepted.",
        "type": ["integer", "string"],  # as for duration
        "minimum": MiB,
        "maximum": 16 * TiB,
        "multipleOf": MiB,
        "pattern": either(DISK_EXACT, DISK_APPROX),
        "patternErrorMessage": "Not a size from 1Mi to 16Ti (expected, for example, 4Gi or "
                               "1.5Gi).",
        "examples": ["4Gi", "20Gi"],
    },
}

DEFS.update({
    "subnet": {
        "description": "An IPv4 CIDR from /16 to /29 with no host bits set.",
        "type": "string",
        "pattern": cidr_pattern(),
        "patternErrorMessage": "Not an IPv4 CIDR from /16 to /29 without host bits "
                               "set (expected, for example, 10.0.0.0/24).",
    },
    "interfaceName": {
        "description": "A Linux interface name: at most 15 letters, digits, '-', '_' or '.'.",
        "type": "string",
        "minLength": 1,
        "maxLength": 15,
        "pattern": BRIDGE,
        "patternErrorMessage": "Not an interface name (expected at most 15 letters, "
                               "digits, '-', '_' or '.').",
    },
    "networkDns": {
        "description": "The network's DNS and DHCP server (dnsmasq on the bridge address). "
                       "Default: enabled, domain vm, the host's resolvers.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "enabled": {
                "description": "Run the server. Default: true.",
                "type": "boolean",
                "default": True,
            },
            "domain": {
                "description": "VMs are NAME.DOMAIN and NAME.NETWORK.DOMAIN. Default: vm.",
                "type": "string",
                "maxLength": 253,
                "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$",
                "patternErrorMessage": "Not a DNS domain (expected lowercase letters, digits and '-' "
                                       "in dot-separated labels, such as vm).",
                "default": "vm",
                "examples": ["vm", "vms.example"],
            },
            "upstreams": {
                "description": "Where other names are asked. Default: the servers of the host's "
                               "/etc/resolv.conf.",
                "type": "array",
                "items": ref("ipv4"),
                "examples": [["1.1.1.1", "9.9.9.9"]],
            },
        },
        "examples": [{"domain": "vm"}, {"enabled": False}],
    },
    "readiness": {
        "description": "How banger knows the VM is up: exactly one of tcp and http, within "
                       "timeout. Default: none (running is enough).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "tcp": {
                "description": "Ready when this guest TCP port accepts a connection. Exactly "
                               "one of tcp and http.",
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "examples": [22, 80],
            },
            "http": {
                "description": "Ready when an HTTP GET of this port and path answers 2xx. "
                               "Exactly one of tcp and http.",
                "type": "object",
                "required": ["port"],
                "additionalProperties": False,
                "properties": {
                    "port": {
                        "description": "The guest port to ask, 1 to 65535. Required.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 65535,
                        "examples": [80, 8080],
                    },
                    "path": {
                        "description": "The URL path to ask, starting with '/'. Default: /.",
                        "type": "string",
                        "pattern": "^/",
                        "patternErrorMessage": "Not an absolute URL path (expected a path "
                                               "starting with /, such as /healthz).",
                        "default": "/",
                        "examples": ["/healthz"],
                    },
                },
            },
            "timeout": dict(ref("duration"), description=(
                "How long to wait for readiness: 1s to 1h, as seconds or a duration such as "
                "120s, 2m or 1m30s. Default: 120s."), default="120s"),
        },
        "oneOf": [{"required": ["tcp"]}, {"required": ["http"]}],
        "examples": [{"tcp": 22}, {"http": {"port": 80, "path": "/healthz"}, "timeout": "60s"}],
    },
})

SPEC_DEF = {"Network": "networkSpec", "Kernel": "kernelSpec", "Image": "imageSpec",
            "VM": "vmSpec", "PortForward": "portForwardSpec"}
KIND_TEXT = {
    "Network": "A Network: a Linux bridge, its IPv4 subnet and NAT.",
    "Kernel": "A Kernel: a guest kernel image (and optional initrd) VMs boot.",
    "Image": "An Image: a raw ext4 root filesystem VMs boot from.",
    "VM": "A VM: a Firecracker microVM banger keeps running (or stopped).",
    "PortForward": "A PortForward: a host port forwarded to a VM's port.",
    "Node": "A Node: a host of the fleet, which placements are checked against (no spec).",
}
# Rules that span fields, which a table entry cannot say (the C++ side:
# artifact_rules in fields_artifact.cc).
SPEC_EXTRA = {"Kernel": {"allOf": [ref("sourceRules")]}, "Image": {"allOf": [ref("sourceRules")]}}
ARTIFACT_KEYS = ("path", "url", "sha256")


def load_tables(banger):
    """The field tables, from `banger explain -o json`: {kind: table}."""
    out = subprocess.run([banger, "explain", "-o", "json"], capture_output=True, text=True, check=True)
    return {t["kind"]: t for t in json.loads(out.stdout)}


def prop(field):
    return dict({"description": field["doc"]}, **field["schema"])


def spec_defs(tables):
    """The $defs that come from the field tables: each kind's spec, and the
    initrd object (the Kernel's path, url and sha256 fields)."""
    defs = {}
    for kind, t in tables.items():
        if kind in NO_SPEC:
            continue
        d = {
            "description": t["doc"],
            "type": "object",
            "required": [f["key"] for f in t["fields"] if f["required"]],
            "additionalProperties": False,
            "properties": {f["key"]: prop(f) for f in t["fields"]},
        }
        if not d["required"]:
            del d["required"]
        d.update(SPEC_EXTRA.get(kind, {}))
        defs[SPEC_DEF[kind]] = d
    kernel = {f["key"]: f for f in tables["Kernel"]["fields"]}
    initrd = kernel["initrd"]
    defs["initrd"] = {
        "description": initrd["doc"],
        "type": "object",
        "additionalProperties": False,
        "properties": {k: prop(kernel[k]) for k in ARTIFACT_KEYS},
        "allOf": [ref("artifactRules")],
        "examples": [{"path": "artifacts/initrd.img"}],
    }
    return defs


def document(kind):
    """The schema of a whole document of one kind."""
    if kind in NO_SPEC:
        return {
            "title": f"banger {kind}",
            "description": KIND_TEXT[kind],
            "type": "object",
            "required": ["apiVersion", "kind", "metadata"],
            "additionalProperties": False,
            "properties": {
                "apiVersion": ref("apiVersion"),
                "kind": {"description": f"The resource's kind: {kind}.", "type": "string",
                         "const": kind},
                "metadata": ref("nodeMetadata"),
            },
        }
    return {
        "title": f"banger {kind}",
        "description": KIND_TEXT[kind],
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": ref("apiVersion"),
            "kind": {"description": f"The resource's kind: {kind}.", "type": "string",
                     "const": kind},
            "metadata": ref("metadata"),
            "spec": ref(SPEC_DEF[kind]),
        },
    }


def used_defs(node, found=None):
    """The names of the $defs a schema refers to, transitively."""
    found = set() if found is None else found
    if isinstance(node, dict):
        r = node.get("$ref", "")
        if r.startswith("#/$defs/"):
            name = r[len("#/$defs/"):]
            if name not in found:
                found.add(name)
                used_defs(DEFS.get(name, {}), found)
        for v in node.values():
            used_defs(v, found)
    elif isinstance(node, list):
        for v in node:
            used_defs(v, found)
    return found


COMMENT = ("Generated by tests/schema/gen_schemas.py from the field tables in "
           "src/resources/fields_*.cc (read through banger explain -o json): edit those and "
           "run it. tests/schema/check_schemas.py keeps schema and validator in agreement.")


def with_defs(doc, extra_defs=None):
    defs = dict(extra_defs or {})
    for name in sorted(used_defs(doc) | used_defs(defs)):
        if name not in defs:
            defs[name] = DEFS[name]
    doc["$defs"] = dict(sorted(defs.items()))
    return doc


def kind_schema(kind):
    doc = document(kind)
    head = {"$schema": DRAFT, "$id": BASE + FILES[kind] + ".schema.json", "$comment": COMMENT}
    return with_defs(dict(head, **doc))


def banger_schema():
    doc = {
        "$schema": DRAFT,
        "$id": BASE + "banger.schema.json",
        "$comment": COMMENT,
        "title": "banger manifest document",
        "description": "Any banger resource: a Network, Kernel, Image, VM, PortForward or Node. "
                       "Which fields spec takes depends on kind (a Node has none).",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        # Only kind is checked here; the schema of the kind checks the rest (so
        # an editor reports each problem once).
        "properties": {
            "apiVersion": {"description": "API version of banger manifests. Always "
                                          "`banger.dev/v1`.", "default": "banger.dev/v1"},
            "kind": {"description": "The resource's kind.", "type": "string", "enum": KINDS},
            "metadata": {"description": "The resource's name and labels."},
            "spec": {"description": "The resource's settings, which depend on kind (every kind but "
                                    "Node has one)."},
        },
        "allOf": [
            {"if": {"required": ["kind"], "properties": {"kind": {"const": k}}},
             "then": ref(k)}
            for k in KINDS
        ],
    }
    return with_defs(doc, {k: document(k) for k in KINDS})


def render():
    out = {f"{FILES[k]}.schema.json": kind_schema(k) for k in KINDS}
    out["banger.schema.json"] = banger_schema()
    return {name: json.dumps(s, indent=2, ensure_ascii=False) + "\n" for name, s in out.items()}


def main(argv):
    check = "--check" in argv[1:]
    if "--banger" not in argv[1:-1]:
        print("usage: gen_schemas.py --banger BANGER_BIN [--check]", file=sys.stderr)
        return 2
    tables = load_tables(argv[argv.index("--banger") + 1])
    if sorted(tables) != sorted(KINDS):
        print(f"banger explain lists kinds {sorted(tables)}, expected {sorted(KINDS)}", file=sys.stderr)
        return 1
    DEFS.update(spec_defs(tables))
    stale = []
    for name, text in render().items():
        path = os.path.join(OUT, name)
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        if check:
            stale.append(name)
        else:
            os.makedirs(OUT, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote schemas/{name}")
    if stale:
        print("schemas/ is out of date with tests/schema/gen_schemas.py: " + ", ".join(stale) +
              " (run python3 tests/schema/gen_schemas.py --banger build/banger)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
