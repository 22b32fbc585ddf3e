#!/usr/bin/env python3
"""Keeps schemas/*.schema.json and the C++ validator in agreement.

    check_schemas.py --banger BANGER --source SOURCE_DIR --doc-check DOC_CHECK

For every document of every manifest in the corpus it compares two verdicts:

  schema  banger.schema.json (and the schema of the document's own kind, which
          must say the same) on the document as YAML 1.2 reads it;
  C++     doc_check (tests/schema/doc_check.cc): whether decode_document()
          reported anything for that document.

Only per-document rules are compared. The cross-resource checks (references,
duplicate names, overlapping subnets, address and port conflicts) belong to
the C++ side alone; doc_check never runs them.

The corpus:
  tests/manifests/good/, tests/manifests/bad/   the project's corpus
  tests/schema/cases/valid/, .../invalid/        cases of this test, whose
        documents must also be valid (or invalid) on both sides;
  tests/schema/cases/known/                      one example of each known
        difference below: schema valid, C++ invalid;
  examples/manifests/                            must be valid;
  generated cases (see generated_cases()): every field with boundary values,
        wrong types and malformed text, written to a temporary folder.

How YAML is read. The C++ side types scalars by the YAML 1.2 core schema
(src/resources/yaml_scalar.cc), as yaml-language-server does by default. PyYAML
alone reads YAML 1.1 (`yes`, `on` and `off` are booleans, `010` is octal,
`1_000` and `1:30` are integers, `2024-01-01` is a date, `<<` merges), so this
script gives PyYAML the core schema's resolvers (CoreLoader) instead of keeping
a list of those differences. It also does what yaml-cpp plus doc_reader.cc do
and JSON cannot show: a duplicate key makes its document invalid (editors say
so too), and an explicitly tagged scalar other than !!str (`!!int 2`) is of
no JSON type. A pattern is matched as ECMA-262 does (editors): "$" only at the
very end, where Python's "$" also matches before a final newline.

Known differences: schema valid, C++ invalid, for what JSON Schema cannot say.
A disagreement counts as known only when every C++ problem in the document is
on a field whose value is of one of these forms; the summary counts them.
  size-approx      spec.memory / spec.diskSize written as a string with a
                   fraction (1.5Mi), in Ki (1Ki) or without a unit ("1024"):
                   the schema checks the form only; range and whole Mi are C++'s
                   (a regex cannot compute them). "<integer>Mi|Gi|Ti" strings and
                   integers are exact.
  duration-approx  spec.readiness.timeout written with two or more parts
                   (0m0s, 59m3600s): the schema checks the form only, the
                   1s..1h range of a sum is C++'s. One-part durations and
                   integers are exact.
  integral-float   a YAML float with an integral value (2.0, 1e1) where an
                   integer is expected: JSON has one number type, and JSON
                   Schema's "integer" is any number with no fraction; YAML and
                   the C++ side tell 2.0 from 2.
Every other disagreement, and every schema-invalid C++-valid document, fails.

YAML that one side cannot read: files neither side can parse agree; a file only
PyYAML refuses (YAML 1.2 allows an empty key, yaml-cpp takes control
characters) is skipped, provided C++ finds a problem in it too; a file only
yaml-cpp refuses is a disagreement.

Also checked, each a failure: schemas/ is what tests/schema/gen_schemas.py
writes (it is their source); each schema passes the 2020-12 metaschema, has an
$id ending with its file name, describes every field and refuses unknown keys;
decode_document() never throws (doc_check says "crash"); and `banger validate`
rejects every file in which doc_check found a problem (it only adds
cross-resource checks), so doc_check cannot drift from the real binary.
"""
import argparse
import collections
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import yaml

import jsonschema
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

try:  # jsonschema >= 4.18
    import referencing
    import referencing.jsonschema
except ImportError:  # Debian 12's python3-jsonschema 4.10
    referencing = None

KINDS = ["Network", "Kernel", "Image", "VM", "PortForward", "Node"]
KIND_FILES = {"Network": "network", "Kernel": "kernel", "Image": "image", "VM": "vm",
              "PortForward": "portforward", "Node": "node"}
SIZE_FIELDS = {"spec.memory", "spec.diskSize"}
US = "\x1f"


# ------------------------------------------------------------- YAML 1.2 loader

class Tagged:
    """A scalar with an explicit tag other than !!str: yaml_scalar.cc's "tagged
    value", which is no JSON type and so no schema type either."""

    def __init__(self, tag, value):
        self.tag, self.value = tag, value

    def __repr__(self):
        return f"{self.tag} {self.value!r}"

    def __hash__(self):
        return hash((self.tag, self.value))

    def __eq__(self, other):
        return isinstance(other, Tagged) and (self.tag, self.value) == (other.tag, other.value)


class DuplicateKey(yaml.YAMLError):
    pass


# The core schema's implicit types get tags of their own, so that a node still
# carrying a standard tag such as tag:yaml.org,2002:int was tagged explicitly
# (`!!int 2`), which yaml_scalar.cc reads as "a tagged value", no JSON type.
CORE = "tag:banger.dev,2024:core-"
STR_TAG = "tag:yaml.org,2002:str"
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there


class CoreLoader(_BaseLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's resolvers, exactly as
    src/resources/yaml_scalar.cc applies them: no YAML 1.1 booleans, octals,
    sexagesimals, timestamps or merge keys."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise DuplicateKey(f"duplicate key {key_node.value!r} (line {line}, first at "
                                       f"line {seen[key_node.value]})")
                seen[key_node.value] = line
        return super().construct_mapping(node, deep=deep)


CoreLoader.yaml_implicit_resolvers = {}
for _tag, _re in [
    ("null", r"(?:~|null|Null|NULL|)\Z"),
    ("bool", r"(?:true|True|TRUE|false|False|FALSE)\Z"),
    ("int", r"(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\Z"),
    ("float", r"(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"),
]:
    CoreLoader.add_implicit_resolver(CORE + _tag, re.compile(_re), None)


def _core_int(loader, node):
    s = node.value
    if s.startswith("0o"):
        return int(s[2:], 8)
    if s.startswith("0x"):
        return int(s[2:], 16)
    return int(s, 10)  # leading zeros are decimal in YAML 1.2


def _core_float(loader, node):
    s = node.value.lower()
    if s.endswith(".inf"):
        return float("-inf") if s.startswith("-") else float("inf")
    return float("nan") if s == ".nan" else float(s)


def _explicit(loader, node):
    """Any tag but !!str on a scalar; collections keep their shape (yaml-cpp
    reads a tagged mapping as a mapping)."""
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return Tagged(node.tag, node.value)


CoreLoader.yaml_constructors = {
    CORE + "null": lambda loader, node: None,
    CORE + "bool": lambda loader, node: node.value.lower() == "true",
    CORE + "int": _core_int,
    CORE + "float": _core_float,
    STR_TAG: yaml.SafeLoader.construct_yaml_str,
    "tag:yaml.org,2002:seq": yaml.SafeLoader.construct_yaml_seq,
    "tag:yaml.org,2002:map": yaml.SafeLoader.construct_yaml_map,
    None: _explicit,
}


Doc = collections.namedtuple("Doc", "index line data error")  # error: YAML-level, per document


def load_documents(text):
    """The non-empty documents of a file, or raises yaml.YAMLError for the whole file."""
    loader = CoreLoader(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
    finally:
        loader.dispose()
    docs = []
    for node in nodes:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == CORE + "null"):
            continue  # the C++ loader skips empty documents too
        line = node.start_mark.line + 1
        try:
            data, error = loader.construct_document(node), None
        except (DuplicateKey, yaml.constructor.ConstructorError, TypeError) as e:
            # TypeError: a list or mapping as a key (unhashable)
            loader.constructed_objects, loader.recursive_objects = {}, {}
            loader.state_generators = []
            data, error = None, f"YAML: {e}".replace("\n", " ")
        docs.append(Doc(len(docs), line, data, error))
    return docs


# ------------------------------------------------------------------ validators

def _ecma(pattern):
    # ECMA-262 "$" (no multiline) is the very end; Python's also matches before a
    # final "\n". The schemas use "$" only as an anchor, never inside a class.
    return re.sub(r"(?<!\\)\$", r"\\Z", pattern)


_ecma_cache = {}


def _pattern(validator, patrn, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    rx = _ecma_cache.get(patrn)
    if rx is None:
        rx = _ecma_cache[patrn] = re.compile(_ecma(patrn))
    if not rx.search(instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


EcmaValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


def load_schemas(schema_dir):
    schemas = {}
    for path in sorted(glob.glob(os.path.join(schema_dir, "*.schema.json"))):
        with open(path, encoding="utf-8") as f:
            schemas[os.path.basename(path)] = json.load(f)
    return schemas


def lint(name, schema):
    """What editors rely on: every field described, unknown keys refused."""
    problems = []
    defs = schema.get("$defs", {})

    def target(node):
        r = node.get("$ref", "")
        return defs.get(r[len("#/$defs/"):], {}) if r.startswith("#/$defs/") else {}

    def walk(node, where):
        if isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")
            return
        if not isinstance(node, dict):
            return
        if "properties" in node and node.get("additionalProperties") is not False:
            problems.append(f"{where}: has properties but not additionalProperties: false")
        for key, sub in node.get("properties", {}).items():
            if "description" not in sub and "description" not in target(sub):
                problems.append(f"{where}/properties/{key}: no description")
        for k, v in node.items():
            if k not in ("const", "enum", "default", "examples", "if"):  # "if" is a condition
                walk(v, f"{where}/{k}")

    walk(schema, name + "#")
    if name == "banger.schema.json":  # its top level only dispatches on kind
        problems = [p for p in problems if not p.startswith(name + "#: has properties")]
    return problems


def make_validators(schemas):
    """One validator per schema file, every schema known by its $id."""
    for name, s in schemas.items():
        Draft202012Validator.check_schema(s)  # raises on a malformed schema
        if not s.get("$id", "").endswith("/" + name):
            raise SystemExit(f"schemas/{name}: $id {s.get('$id')!r} does not end with its file name")
    out = {}
    if referencing is not None:
        registry = referencing.Registry().with_resources(
            (s["$id"], referencing.jsonschema.DRAFT202012.create_resource(s)) for s in schemas.values())
        for name, s in schemas.items():
            out[name] = EcmaValidator(s, registry=registry)
    else:
        store = {s["$id"]: s for s in schemas.values()}
        for name, s in schemas.items():
            resolver = jsonschema.RefResolver.from_schema(s, store=store)
            out[name] = EcmaValidator(s, resolver=resolver)
    return out


def first_error(validator, data):
    err = best_match(validator.iter_errors(data))
    if err is None:
        return None
    where = ".".join(str(p) for p in err.absolute_path) or "(document)"
    msg = err.message
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return f"{where}: {msg}"


# ------------------------------------------------------------ known differences

def _get(data, dotted):
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None, False
        data = data[part]
    return data, True


def known_difference(data, cpp_diags, exact_patterns):
    """The name of the known difference that explains C++'s problems, or None."""
    if not cpp_diags:
        return None
    kinds = set()
    for field, _msg in cpp_diags:
        value, found = _get(data, field)
        if not found:
            return None
        if isinstance(value, float) and not isinstance(value, bool) and value.is_integer():
            kinds.add("integral-float")
        elif field in SIZE_FIELDS and isinstance(value, str) and exact_patterns["size-approx"].search(value):
            kinds.add("size-approx")
        elif (field == "spec.readiness.timeout" and isinstance(value, str)
              and exact_patterns["duration-multi"].search(value)):
            kinds.add("duration-approx")
        else:
            return None
    return "+".join(sorted(kinds))


# ------------------------------------------------------------- generated cases

HEAD = "apiVersion: banger.dev/v1\nkind: {kind}\nmetadata:\n  name: {name}\n"
BASE_SPEC = {
    "Network": {"subnet": "10.0.0.0/24"},
    "Kernel": {"path": "vmlinux"},
    "Image": {"path": "rootfs.ext4"},
    "VM": {"kernel": "k", "image": "i"},
    "PortForward": {"vm": "v", "hostPort": "8080", "guestPort": "80"},
}


def spec_doc(kind, **fields):
    """A document of `kind` whose spec is the base spec with `fields` (YAML text;
    None drops a field)."""
    spec = dict(BASE_SPEC[kind])
    spec.update(fields)
    lines = [HEAD.format(kind=kind, name="x") + "spec:"]
    for k, v in spec.items():
        if v is None:
            continue
        if "\n" in v:
            lines.append(f"  {k}:" + "".join("\n    " + l for l in v.split("\n")))
        else:
            lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"


TYPE_NOISE = ["~", "''", "[]", "{}", "[1]", "{a: b}", "yes", "no", "on", "off", "y", "true", "True",
              "FALSE", "0", "1", "-1", "1.0", "1e3", ".inf", ".nan", "0x10", "0o10", "010", "1_000",
              "1:30", "2024-01-01", "!!str 1", "!!int 1", "!custom x", "\"1\"", "'x'", "x"]


def generated_cases():
    """{file name: [document text]}: every field with boundary values, wrong
    types and malformed text. Deterministic."""
    rnd = random.Random(20240601)
    cases = collections.defaultdict(list)

    def add(group, text):
        cases[group + ".yaml"].append(text)

    # Top level and metadata.
    for v in ["banger.dev/v1", "banger.dev/v2", "v1", "'banger.dev/v1'", "Banger.dev/v1", "~", "1"]:
        add("top", f"apiVersion: {v}\nkind: Image\nmetadata: {{name: x}}\nspec: {{path: a}}\n")
    for v in KINDS + ["vm", "Vm", "'VM'", "network", "Pod", "~", "1", "[VM]", "!!str VM", "VM "]:
        add("top", f"apiVersion: banger.dev/v1\nkind: {v}\nmetadata: {{name: x}}\nspec: {{}}\n")
    for body in ["kind: Image\nmetadata: {name: x}\nspec: {path: a}",
                 "apiVersion: banger.dev/v1\nmetadata: {name: x}\nspec: {path: a}",
                 "apiVersion: banger.dev/v1\nkind: Image\nspec: {path: a}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec: {path: a}\nstatus: {}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec:",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec: []",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata:\nspec: {path: a}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {}\nspec: {path: a}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x, namespace: y}\nspec: {path: a}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec: {path: a}\n~: 1",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec: {path: a}\n1: 1",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec: {path: a}\n'kind': Image",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\nspec: {path: a, path: b}",
                 "apiVersion: banger.dev/v1\nkind: Image\nmetadata: {name: x}\n<<: {spec: {path: a}}",
                 "- apiVersion: banger.dev/v1", "just a string", "42"]:
        add("top", body + "\n")

    # metadata.name
    names = ["a", "a-b", "a1", "1a", "0", "web-1", "-a", "a-", "A", "aB", "a_b", "a.b", "a b", "é",
             "a" * 63, "a" * 64, "'007'", "007", "1", "true", "~", "''", "[a]", "!!str 12", "a--b",
             "\"a\\n\""]
    for n in names:
        add("name", f"apiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: {n}\nspec: {{path: a}}\n")

    # metadata.labels
    label_keys = ["app", "App_1.x", "a", "1", "'1'", "a" * 63, "a" * 64, "-a", "a-", "_a", "a_", "a.b",
                  "example.com/app", "Example.com/app", "a/b", "a/b/c", "/a", "a/", "-x.com/a",
                  "x-.com/a", "x..com/a", ".x/a", "x" * 63 + ".com/a", "x" * 64 + ".com/a",
                  "'" + ".".join(["a" * 63] * 4)[:253] + "/n'", "'" + ".".join(["a" * 63] * 4) + "/n'",
                  "a b", "'a:b'", "true", "~", "'é'", "k8s.io/" + "n" * 63, "k8s.io/" + "n" * 64,
                  "[a]"]
    for k in label_keys:
        add("labels", f"apiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: x\n"
                      f"  labels:\n    {k}: v\nspec: {{path: a}}\n")
    label_values = ["v", "''", "V_1.x", "a" * 63, "a" * 64, "-a", "a-", "_a", "a.", "a b", "a/b",
                    "1", "'1'", "1.5", "true", "'true'", "yes", "~", "[]", "{}", "é", "2024-01-01",
                    "!!str 5", "0x1F", "'-'"]
    for v in label_values:
        add("labels", f"apiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: x\n"
                      f"  labels:\n    k: {v}\nspec: {{path: a}}\n")
    for v in ["~", "[]", "{}", "x", "[{a: b}]"]:
        add("labels", f"apiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: x\n"
                      f"  labels: {v}\nspec: {{path: a}}\n")
    add("labels", "apiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: x\n"
                  "  labels: {a: b, a: c}\nspec: {path: a}\n")
    add("labels", "apiVersion: banger.dev/v1\nkind: Image\nmetadata:\n  name: x\n"
                  "  labels: {1: b, '1': c}\nspec: {path: a}\n")

    # Network
    addresses = ["10.0.0.0", "10.1.128.0", "192.168.7.64", "172.16.0.8", "10.0.0.1", "10.255.255.248",
                 "0.0.0.0", "255.255.255.255", "10.0.2.0", "10.0.4.0", "10.0.0.128"]
    for p in range(0, 34):
        for a in addresses:
            add("subnet", spec_doc("Network", subnet=f"{a}/{p}"))
    for _ in range(300):
        p = rnd.randint(14, 31)
        mask = (0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF
        ip = rnd.getrandbits(32)
        if rnd.random() < 0.6:
            ip &= mask
        a = ".".join(str((ip >> s) & 255) for s in (24, 16, 8, 0))
        add("subnet", spec_doc("Network", subnet=f"{a}/{p}"))
    for v in ["10.0.0/24", "10.0.0.0", "010.0.0.0/24", "10.0.0.0/024", "'10.0.0.0/24 '", "' 10.0.0.0/24'",
              "10.0.0.256/24", "10.0.0.0/-1", "a.b.c.d/24", "10.0.0.0/24/1", "''", "1.2.3.4.5/24",
              "10.0.0.0/", "/24", "10.0.0.0/24a", "10.0.0.00/24", "'\"10.0.0.0/24\"'", "10.0.0.0//24",
              "+10.0.0.0/24", "10.0.0.0/+24", "10.0.0.0/2 4", "\"10.0.0.0/24\\n\""] + TYPE_NOISE:
        add("subnet", spec_doc("Network", subnet=v))
    add("subnet", spec_doc("Network", subnet=None))
    for v in ["br0", "bg-fleet", "a" * 15, "a" * 16, ".", "..", "...", "a.b", "-x", "_", "br 0", "br/0",
              "brü", "'br:0'", "BR0", "\"br0\\n\"", "'123'"] + TYPE_NOISE:
        add("bridge", spec_doc("Network", bridge=v))
    for v in TYPE_NOISE:
        add("nat", spec_doc("Network", nat=v))
    add("nat", spec_doc("Network", dhcp="true"))

    # Kernel, Image and initrd: path / url / sha256.
    good_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    urls = ["https://example.com/k", "http://x", "file:///tmp/k", "ftp://x/k", "https://", "https:/x",
            "'https://a b'", "HTTPS://x", "\"https://x\\u00a0y\"", "\"https://x\\ty\"", "\"https://x\\x1cy\"",
            "\"https://x\\vy\"", "https://x?a=1#f", "'https://x\n'", "\"https://x\\n\"", "file://", "file:/x",
            "//x", "https//x"] + TYPE_NOISE
    shas = [good_sha, good_sha.upper(), good_sha[:63], good_sha + "0", "g" * 64, "'" + good_sha + " '",
            "''"] + ["1" * 64] + TYPE_NOISE
    for kind in ["Kernel", "Image"]:
        for u in urls:
            add(kind.lower() + "-url", spec_doc(kind, path=None, url=u, sha256=good_sha))
        for s in shas:
            add(kind.lower() + "-sha256", spec_doc(kind, sha256=s))
            add(kind.lower() + "-sha256", spec_doc(kind, path=None, url="https://x", sha256=s))
        for p in ["a", "/abs/vmlinux", "../x", "''", "' '", "\"\\t\""] + TYPE_NOISE:
            add(kind.lower() + "-path", spec_doc(kind, path=p))
        add(kind.lower() + "-path", spec_doc(kind, path=None))
        add(kind.lower() + "-path", spec_doc(kind, path=None, sha256=good_sha))
        add(kind.lower() + "-path", spec_doc(kind, url="https://x", sha256=good_sha))
        add(kind.lower() + "-path", spec_doc(kind, path=None, url="https://x"))
        add(kind.lower() + "-path", spec_doc(kind, path=None, url="~", sha256=good_sha))
        add(kind.lower() + "-path", spec_doc(kind, path="~", url="https://x", sha256=good_sha))
        add(kind.lower() + "-path", spec_doc(kind, path=None, url="https://x", sha256="~"))
        add(kind.lower() + "-path", spec_doc(kind, args="quiet"))
        add(kind.lower() + "-path", spec_doc(kind, initrd="{path: i}"))
    for v in ["{path: i}", "{url: 'https://x', sha256: " + good_sha + "}", "{url: 'https://x'}", "{}",
              "{path: i, url: 'https://x', sha256: " + good_sha + "}", "{path: ''}", "{path: i, sha256: x}",
              "{path: i, args: x}", "{path: i, sha256: " + good_sha + "}", "{url: ftp://x, sha256: "
              + good_sha + "}", "[i]", "~", "i", "{path: i, path: j}"]:
        add("initrd", spec_doc("Kernel", initrd=v))
    for v in ["'console=ttyS0 reboot=k panic=1'", "''", "quiet", "'a: b'"] + TYPE_NOISE:
        add("args", spec_doc("Kernel", args=v))

    # VM
    for v in ["0", "1", "2", "32", "33", "-1", "'2'", "2.0", "0x10", "0x20", "0x21", "0o40", "0o41", "040",
              "032", "+4", "1_0", "1e1", "99999999999999999999", "!!int 2", "!!str 2"] + TYPE_NOISE:
        add("vcpus", spec_doc("VM", vcpus=v))
    for field, lo, hi in [("memory", 16 * 2**20, 2**40), ("diskSize", 2**20, 16 * 2**40)]:
        ints = [0, 1, 2**20, lo - 2**20, lo - 1, lo, lo + 1, lo + 2**20, hi - 2**20, hi - 1, hi, hi + 1,
                hi + 2**20, 536870912, -2**20, 2**63, 2**64]
        values = [str(i) for i in ints] + [hex(lo), hex(hi + 2**20), "0o" + format(lo, "o"), str(lo) + ".0",
                                           "'" + str(lo) + "'", "'" + str(lo + 1) + "'"]
        for unit, mult in [("Mi", 2**20), ("Gi", 2**30), ("Ti", 2**40)]:
            for n in sorted({1, lo // mult - 1, lo // mult, lo // mult + 1, hi // mult - 1, hi // mult,
                             hi // mult + 1, 2 * hi // mult, 512}):
                if n >= 0:
                    values.append(f"{n}{unit}")
                    values.append(f"'0{n}{unit}'")
        values += ["'000000000000016Mi'", "'0000000000000016Mi'", "'000000000000001Gi'", "1.5Gi", "0.5Mi",
                   "1Ki", "16384Ki", "1048576Ki", "'536870912'", "512MiB", "512M", "512G", "'512 Mi'",
                   "Mi", "1e9", "1.5e9", "'2.0'", "512mi", "+512Mi", "-512Mi", "1..5Gi", ".5Gi", "5.Gi",
                   "1.0009765625Gi", "1.001Gi", "0.0009765625Ti", "1.5Mi", "16.0Mi", "15.9Mi",
                   "1024.5Gi", "'1Ti'", "'0Mi'", "0Mi", "'2Gi '", "\"2Gi\\n\"", "2GI", "1_024Mi"]
        values += TYPE_NOISE
        for v in values:
            add(field, spec_doc("VM", **{field: v}))
    for field in ["kernel", "image", "network"]:
        for v in ["x", "Foo_Bar", "''", "' '", "default"] + TYPE_NOISE:
            add("vm-refs", spec_doc("VM", **{field: v}))
    add("vm-refs", spec_doc("VM", kernel=None))
    add("vm-refs", spec_doc("VM", image=None))
    ips = ["172.20.0.10", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4",
           "1.2.3.04", "1.2.3.4/32", "'1.2.3.4 '", "a.b.c.d", "1..3.4", "1.2.3.", "-1.2.3.4", "1.2.3.+4",
           "1.2.3.255", "199.249.200.100", "'10.0.0.1'", "\"10.0.0.1\\n\"", "::1", "10.0.0.1:80",
           "1.2.3.1000"] + TYPE_NOISE
    for v in ips:
        add("ip", spec_doc("VM", ip=v))
        add("ip", spec_doc("PortForward", hostAddress=v))
    for v in ["quiet", "''", "'init=/bin/sh quiet'"] + TYPE_NOISE:
        add("kernelArgs", spec_doc("VM", kernelArgs=v))
    enums = {"state": ["running", "stopped"], "restartPolicy": ["always", "on-failure", "never"],
             "runtime": ["auto", "firecracker", "qemu"], "diskStrategy": ["auto", "snapshot", "reflink", "copy"]}
    for field, vals in enums.items():
        for v in vals + [vals[0].upper(), vals[0].capitalize(), "'" + vals[-1] + " '", "onfailure",
                         "On-Failure", "paused", "kvm", "clone", "'" + vals[0] + "'"] + TYPE_NOISE:
            add("vm-enums", spec_doc("VM", **{field: v}))
    for v in ["tcp", "udp", "TCP", "Udp", "sctp", "'tcp'", "tcp6"] + TYPE_NOISE:
        add("protocol", spec_doc("PortForward", protocol=v))
    add("vm-refs", spec_doc("VM", cpus="2"))

    # readiness
    readiness = ["{tcp: 22}", "{tcp: 0}", "{tcp: 65535}", "{tcp: 65536}", "{tcp: '22'}", "{tcp: 22.0}",
                 "{tcp: ~}", "{tcp: [22]}", "{http: {port: 80}}", "{http: {port: 80, path: /healthz}}",
                 "{http: {port: 80, path: healthz}}", "{http: {port: 80, path: ''}}", "{http: {port: 80, path: ~}}",
                 "{http: {path: /}}", "{http: {port: 0}}", "{http: {port: 80, host: x}}", "{http: 80}",
                 "{http: ~}", "{http: {}}", "{tcp: 22, http: {port: 80}}", "{}", "{timeout: 10s}", "~", "[]",
                 "22", "{tcp: 22, exec: x}", "{tcp: 22, tcp: 23}", "{http: {port: 80, port: 81}}",
                 "{http: {port: 80, path: '/a b'}}", "{http: {port: 80, path: 1}}", "{tcp: 0x16}",
                 "{http: {port: 80, path: \"/\\n\"}}"]
    for v in readiness:
        add("readiness", spec_doc("VM", readiness=v))
    durations = ["0", "1", "120", "3600", "3601", "-1", "999999", "1000000", "120.0", "1e2", "'120'",
                 "120s", "1s", "0s", "3600s", "3601s", "60m", "61m", "1h", "2h", "0h", "1000ms", "999ms",
                 "3600000ms", "3600001ms", "1m30s", "0m0s", "0m1s", "1h1s", "1h0m0s", "59m60s", "59m3600s",
                 "30s30s", "1m0s", "1.5s", "'1 s'", "s", "1d", "001s", "'000000001s'", "'0000000001s'",
                 "'000000060m'", "999999999ms", "1000000000ms", "1S", "+1s", "1m5", "1ms1", "ms",
                 "120sec", "2min", "'1m 30s'", "1h1ms", "3599s1000ms", "3599s1001ms",
                 "0x10", "0o10"] + TYPE_NOISE
    for v in durations:
        add("timeout", spec_doc("VM", readiness="{tcp: 22, timeout: " + v + "}"))
        add("timeout", spec_doc("VM", readiness=f"tcp: 22\ntimeout: {v}"))

    # PortForward ports
    for field in ["hostPort", "guestPort"]:
        for v in ["0", "1", "80", "65535", "65536", "-1", "'80'", "80.0", "0x50", "0o120", "1e2", "080",
                  "99999999999999999999", "!!int 80"] + TYPE_NOISE:
            add("ports", spec_doc("PortForward", **{field: v}))
        add("ports", spec_doc("PortForward", **{field: None}))
    add("ports", spec_doc("PortForward", vm=None))
    add("ports", spec_doc("PortForward", vm="''"))
    add("ports", spec_doc("PortForward", sourcePort="1"))
    return cases


# -------------------------------------------------------------------- the check

def corpus_files(source):
    groups = []  # (expectation or None, path)
    for sub, expect in [("tests/manifests/good", None), ("tests/manifests/bad", None),
                        ("tests/schema/cases/valid", "valid"), ("tests/schema/cases/invalid", "invalid"),
                        ("tests/schema/cases/known", "known"), ("examples/manifests", "valid"),
                        ("examples/fleet", "valid")]:
        root = os.path.join(source, sub)
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for f in filenames:
                if f.endswith((".yaml", ".yml")) and not f.startswith("."):
                    found.append(os.path.join(dirpath, f))
        groups += [(expect, p) for p in sorted(found)]
    return groups


def run_doc_check(doc_check, paths):
    """{path: {index: (line, verdict, [(field, message)])}}, index -1 for the file."""
    out = collections.defaultdict(dict)
    for i in range(0, len(paths), 200):
        chunk = paths[i:i + 200]
        p = subprocess.run([doc_check] + chunk, capture_output=True, text=True, errors="replace")
        if p.returncode != 0:
            raise SystemExit(f"{doc_check} failed ({p.returncode}): {p.stderr.strip()}")
        for line in p.stdout.splitlines():
            cols = line.split("\t")
            path, index, first, verdict = cols[0], int(cols[1]), int(cols[2]), cols[3]
            diags = [tuple(c.split(US, 1)) if US in c else ("", c) for c in cols[4:]]
            out[path][index] = (first, verdict, diags)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--banger", required=True, help="the banger binary")
    ap.add_argument("--source", required=True, help="the project's source folder")
    ap.add_argument("--doc-check", required=True, help="the doc_check binary")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every document's verdicts")
    args = ap.parse_args()
    source = os.path.abspath(args.source)
    for what, exe in (("--banger", args.banger), ("--doc-check", args.doc_check)):
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            print(f"check_schemas.py: {what} {exe}: not an executable file", file=sys.stderr)
            return 2
    failures = []  # (where, what)

    gen = subprocess.run([sys.executable, os.path.join(source, "tests/schema/gen_schemas.py"),
                          "--banger", args.banger, "--check"],
                         capture_output=True, text=True)
    if gen.returncode != 0:
        failures.append(("schemas/", gen.stderr.strip() or gen.stdout.strip()))

    schemas = load_schemas(os.path.join(source, "schemas"))
    expected_files = {"banger.schema.json"} | {f"{KIND_FILES[k]}.schema.json" for k in KINDS}
    if set(schemas) != expected_files:
        failures.append(("schemas/", f"expected exactly {sorted(expected_files)}, found {sorted(schemas)}"))
    for name, s in schemas.items():
        failures += [(f"schemas/{name}", p) for p in lint(name, s)]
    validators_by_file = make_validators(schemas)
    banger_v = validators_by_file["banger.schema.json"]
    # The approximate parts of the size and duration patterns, from their source.
    sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
    sys.path.insert(0, os.path.join(source, "tests", "schema"))
    import gen_schemas
    exact_patterns = {
        "size-approx": re.compile(_ecma(gen_schemas.MEM_APPROX)),
        "duration-multi": re.compile(_ecma(gen_schemas.DUR_APPROX)),
    }

    with tempfile.TemporaryDirectory(prefix="banger-schema-") as tmp:
        files = corpus_files(source)
        for name, docs in sorted(generated_cases().items()):
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write("---\n".join(docs))
            files.append((None, path))
        cpp = run_doc_check(args.doc_check, [p for _, p in files])

        def show(path):
            if path.startswith(tmp):
                return "<generated>/" + os.path.relpath(path, tmp)
            return os.path.relpath(path, source)

        rows = []  # disagreements: (file, index, line, schema, cpp)
        counts = collections.Counter()
        known = collections.Counter()
        for expect, path in files:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            c = cpp.get(path, {})
            try:
                docs = load_documents(text)
                py_error = None
            except yaml.YAMLError as e:
                docs, py_error = [], str(e).replace("\n", " ")
            c_file = c.get(-1)
            if py_error is not None or c_file is not None:
                # The file is unreadable as YAML (or empty) to one side at least.
                counts["files"] += 1
                cpp_unparsed = c_file is not None
                if py_error is not None and cpp_unparsed:
                    counts["yaml-invalid files (both sides)"] += 1
                    if expect == "valid":
                        failures.append((show(path), "expected valid, but is not YAML"))
                    continue
                if py_error is not None:
                    # PyYAML cannot read what yaml-cpp can (an empty key, control
                    # characters): no schema verdict is possible. Skipped, as long
                    # as the C++ side finds a problem in it too.
                    counts["skipped files"] += 1
                    if not any(v[1] != "valid" for v in c.values()):
                        failures.append((show(path), "PyYAML cannot read it, yet C++ finds every "
                                         f"document valid: {py_error}"))
                    elif expect == "valid":
                        failures.append((show(path), "expected valid, but PyYAML cannot read it"))
                    continue
                if py_error is None and not docs and cpp_unparsed:
                    counts["empty files"] += 1
                    continue
                rows.append((show(path), -1, 0,
                             "unreadable: " + py_error if py_error else f"reads {len(docs)} document(s)",
                             "unreadable: " + "; ".join(m for _, m in c_file[2]) if cpp_unparsed
                             else f"reads {len(c)} document(s)"))
                continue
            counts["files"] += 1
            if len(c) != len(docs):
                rows.append((show(path), -1, 0, f"{len(docs)} document(s)", f"{len(c)} document(s)"))
                continue
            for d in docs:
                counts["documents"] += 1
                if d.error:
                    s_valid, s_why = False, d.error
                else:
                    s_why = first_error(banger_v, d.data)
                    s_valid = s_why is None
                    kind = d.data.get("kind") if isinstance(d.data, dict) else None
                    if isinstance(kind, str) and kind in KINDS:
                        kv = validators_by_file[KIND_FILES[kind] + ".schema.json"]
                        k_why = first_error(kv, d.data)
                        if (k_why is None) != s_valid:
                            failures.append((f"{show(path)} doc {d.index}",
                                             f"banger.schema.json says {'valid' if s_valid else s_why}, "
                                             f"{KIND_FILES[kind]}.schema.json says {k_why or 'valid'}"))
                _line, c_verdict, c_diags = c[d.index]
                c_valid = c_verdict == "valid"
                c_why = "; ".join(f"{f}: {m}" if f else m for f, m in c_diags)
                if c_verdict == "crash":
                    failures.append((f"{show(path)} doc {d.index} (line {d.line})",
                                     f"decode_document() threw instead of reporting: {c_why}"))
                    counts["crash"] += 1
                    continue
                if args.verbose:
                    print(f"{show(path)}\t{d.index}\t{d.line}\tschema={'valid' if s_valid else 'invalid'}"
                          f"\tc++={c_verdict}\t{s_why or ''}\t{c_why}")
                label = None
                if s_valid == c_valid:
                    counts["agree"] += 1
                elif s_valid and not c_valid and not d.error and \
                        (label := known_difference(d.data, c_diags, exact_patterns)):
                    counts["known"] += 1
                    known[label] += 1
                else:
                    rows.append((show(path), d.index, d.line,
                                 "valid" if s_valid else "invalid: " + s_why,
                                 "valid" if c_valid else "invalid: " + c_why))
                    continue
                where = f"{show(path)} doc {d.index} (line {d.line})"
                if expect == "valid" and not (s_valid and c_valid):
                    failures.append((where, "expected valid on both sides; schema: "
                                     f"{s_why or 'valid'}; C++: {c_why or 'valid'}"))
                elif expect == "invalid" and (s_valid or c_valid):
                    failures.append((where, "expected invalid on both sides; schema: "
                                     f"{s_why or 'valid'}; C++: {c_why or 'valid'}"))
                elif expect == "known" and not label:
                    failures.append((where, "expected a known difference (schema valid, C++ invalid); "
                                     f"schema: {s_why or 'valid'}; C++: {c_why or 'valid'}"))

        # The real binary must reject whatever doc_check rejects (it adds only
        # cross-resource checks); a cheap guard against doc_check drifting from it.
        rejected = [p for _, p in files if any(v[1] == "invalid" for v in cpp.get(p, {}).values())]
        for path in rejected[:400]:
            r = subprocess.run([args.banger, "validate", "-q", "-f", path], capture_output=True, text=True)
            if r.returncode == 0:
                failures.append((show(path), "doc_check reports a problem but `banger validate` accepts it"))

    if rows:
        print(f"Schema and C++ validator disagree on {len(rows)} document(s):\n")
        for file, index, line, s, c in rows:
            print(f"{file}  doc {index}  line {line}")
            print(f"    schema: {s}")
            print(f"    C++:    {c}")
        print()
    for where, what in failures:
        print(f"FAIL {where}: {what}")
    if known:
        print("Known differences (schema valid, C++ invalid; see check_schemas.py): " +
              ", ".join(f"{k} {n}" for k, n in sorted(known.items())))
    failed = len(rows) + len(failures)
    passed = counts["agree"] + counts["known"]
    print(f"{counts['documents']} documents compared in {counts['files']} files "
          f"({counts['yaml-invalid files (both sides)']} files not YAML to either side, "
          f"{counts['skipped files']} files PyYAML cannot read, {counts['empty files']} empty, "
          f"{counts['known']} known differences); jsonschema {_jsonschema_version()}"
          f"{' with referencing' if referencing else ' with RefResolver'}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def _jsonschema_version():
    try:
        from importlib.metadata import version
        return version("jsonschema")
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
