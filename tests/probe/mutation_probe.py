#!/usr/bin/env python3
"""Mutation probe: what a hostile or careless user feeds banger, as a new
user would run it (unprivileged, from a fresh shell).

  mutation_probe.py BANGER SOURCE_DIR OUT_DIR [--manifests N] [--exports N] [--seed S]

Mutates the test manifests (tests/manifests/, examples/manifests/) through
`banger validate`, and a state export (tests/unit/testdata/state_export.json)
through `banger diff -f M --against FILE`, each run as user nobody with a
2 GiB address-space cap and a 30 s limit (a 24 MiB file
takes about 12 s to validate on a loaded 2-core machine). A finding is any run that:
  - dies by a signal or runs out of time;
  - exits with a code the CLI contract does not have (validate: 0 or 1;
    diff: 0, 1 or 2);
  - fails without naming the file, or blames banger ("This is a bug",
    "terminate called", an uncaught exception).
Each finding is kept in OUT_DIR/findings/ (input, argv, output) so it can be
added to tests/fuzz/corpus/ as a regression case. Exits 1 on any finding.
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

NOBODY = 65534
INTERESTING = [
    "0", "-1", "1", "65535", "65536", "4294967296", "99999999999999999999999", "1e309", "-0", "0x10",
    "''", '""', "null", "~", "[]", "{}", "true", "no", "&a x", "*a", "!!binary AAAA", "!!str 1",
    "10.0.0.0/33", "10.0.0.0/8", "256.1.1.1", "::1", "1Ti", "0Mi", "1Ki", "-5Gi", "1.5Gi", "999999Ei",
    "firecracker", "qemu", "auto", "running", "stopped", "../../etc/passwd", "/dev/zero", "/proc/self/mem",
    "é", "\u202e", "a" * 300, "x" * 70000, "%00", "'\\0'",
]


# Under the loader's 32 MiB cap, so big inputs reach the parser; and a bound
# on what repeated mutations can grow to in this script.
MAX_BYTES = 24 << 20
TIMEOUT_S = 30


def mutate_text(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    op = rng.randrange(12)
    if op == 0 and text:  # flip a byte
        i = rng.randrange(len(text))
        return text[:i] + chr(rng.randrange(1, 256)) + text[i + 1:]
    if op == 1 and lines:  # delete a line
        del lines[rng.randrange(len(lines))]
    elif op == 2 and lines:  # duplicate a line
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 3 and len(lines) > 1:  # swap two lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 4 and lines:  # indent or dedent
        i = rng.randrange(len(lines))
        lines[i] = (" " * rng.choice([1, 2, 4, 8]) + lines[i]) if rng.random() < 0.5 else lines[i].lstrip()
    elif op in (5, 6, 7) and lines:  # replace a value
        cand = [i for i, l in enumerate(lines) if ":" in l]
        if cand:
            i = rng.choice(cand)
            key = lines[i].split(":", 1)[0]
            lines[i] = key + ": " + rng.choice(INTERESTING)
    elif op == 8:  # deep nesting
        depth = rng.choice([100, 1000, 10000, 60000])
        lines.append("deep: " + "[" * depth + "]" * depth if rng.random() < 0.5 else "deep: " + "{a: " * depth + "1" + "}" * depth)
    elif op == 9:  # many documents, up to MAX_BYTES
        doc = text.rstrip("\n") + "\n---\n"
        return doc * max(1, min(rng.choice([2, 50, 500, 100000]), MAX_BYTES // max(1, len(doc))))
    elif op == 10 and text:  # cut short
        return text[: rng.randrange(len(text))]
    elif op == 11:  # a span of raw bytes
        i = rng.randrange(len(text) + 1)
        junk = "".join(chr(rng.randrange(0, 0x250)) for _ in range(rng.randrange(1, 40)))
        return text[:i] + junk + text[i:]
    return "\n".join(lines)


def mutate_json(doc, rng: random.Random):
    """Changes one random node of the parsed export."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [i])

    walk(doc, [])
    path = rng.choice(paths[1:]) if len(paths) > 1 else []
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    last = path[-1] if path else None
    choice = rng.randrange(8)
    values = [0, -1, 65536, 2**63, 2**64 + 5, 1e308, -1e308, "", "x" * 5000, None, True, [], {}, "../..", "é"]
    if last is None:
        return rng.choice(values)
    if choice < 4:
        parent[last] = rng.choice(values)
    elif choice == 4 and isinstance(parent, dict):
        del parent[last]
    elif choice == 5:
        parent[last] = [parent[last]] * rng.choice([2, 1000])
    elif choice == 6:
        depth = rng.choice([100, 1000, 50000])
        return json.dumps(doc)[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
    else:
        parent[last] = {"spec": parent[last]} if isinstance(parent, dict) else parent[last]
    return doc


def run(argv, allowed, workdir, path):
    t0 = time.monotonic()
    try:
        # prlimit, not preexec_fn: the pool's threads make fork+Python unsafe.
        who = dict(user=NOBODY, group=NOBODY, extra_groups=[]) if os.getuid() == 0 else {}
        p = subprocess.run(["prlimit", f"--as={2 << 30}", "--"] + argv, capture_output=True, timeout=TIMEOUT_S, cwd=workdir,
                           env={"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"}, **who)
    except subprocess.TimeoutExpired:
        return f"timed out after {TIMEOUT_S} s", time.monotonic() - t0, None
    took = time.monotonic() - t0
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        return f"killed by signal {-p.returncode}", took, p.returncode
    if p.returncode not in allowed:
        return f"exit {p.returncode}", took, p.returncode
    said = out + err
    for bad in ("This is a bug", "terminate called", "what():", "Segmentation", "AddressSanitizer"):
        if bad in said:
            return f"said {bad!r}", took, p.returncode
    if p.returncode == 1 and os.path.basename(path) not in err:
        return "exit 1 without naming the file", took, p.returncode
    return None, took, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("banger")
    ap.add_argument("source_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--manifests", type=int, default=20000)
    ap.add_argument("--exports", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    a.banger, a.source_dir, a.out_dir = (os.path.abspath(x) for x in (a.banger, a.source_dir, a.out_dir))

    seeds = []
    for sub in ("tests/manifests/good", "tests/manifests/bad", "examples/manifests", "examples/manifests/vms"):
        d = os.path.join(a.source_dir, sub)
        if os.path.isdir(d):
            seeds += [open(os.path.join(d, f), encoding="utf-8", errors="replace").read()
                      for f in sorted(os.listdir(d)) if f.endswith(".yaml")]
    export = json.load(open(os.path.join(a.source_dir, "tests/unit/testdata/state_export.json")))
    good_manifest = os.path.join(a.source_dir, "tests/manifests/good/01-minimal-vm.yaml")

    shutil.rmtree(os.path.join(a.out_dir, "findings"), ignore_errors=True)
    os.makedirs(os.path.join(a.out_dir, "findings"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="banger-probe-")
    os.chmod(work, 0o755)
    mdir = os.path.join(work, "m")
    os.mkdir(mdir)
    shutil.copy(good_manifest, mdir)
    os.chmod(mdir, 0o755)
    os.chmod(os.path.join(mdir, os.path.basename(good_manifest)), 0o644)

    findings, codes, times = [], {}, []

    def one(kind, i):
        rng = random.Random(a.seed * 1_000_003 + i * 2 + (kind == "export"))
        if kind == "manifest":
            text = seeds[rng.randrange(len(seeds))]
            for _ in range(rng.choice([1, 1, 2, 3, 5])):
                text = mutate_text(text, rng)[:MAX_BYTES]
            path = os.path.join(work, f"m{i}.yaml")
            data = text.encode("utf-8", "surrogateescape")
            argv = [a.banger, "validate", "-f", path]
            allowed = (0, 1)
        else:
            doc = json.loads(json.dumps(export))
            for _ in range(rng.choice([1, 1, 2, 4])):
                doc = mutate_json(doc, rng) if not isinstance(doc, str) else doc
            text = doc if isinstance(doc, str) else json.dumps(doc)
            if rng.random() < 0.2:
                text = mutate_text(text, rng)
            path = os.path.join(work, f"e{i}.json")
            data = text.encode("utf-8", "surrogateescape")
            argv = [a.banger, "diff", "-f", mdir, "--against", path]
            allowed = (0, 1, 2)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o644)
        why, took, code = run(argv, allowed, work, path)
        times.append(took)
        codes[(kind, code)] = codes.get((kind, code), 0) + 1
        if why:
            name = f"{kind}-{i}"
            shutil.copy(path, os.path.join(a.out_dir, "findings", name + os.path.splitext(path)[1]))
            with open(os.path.join(a.out_dir, "findings", name + ".txt"), "w") as f:
                f.write(why + "\n" + " ".join(argv) + "\n")
            findings.append(f"{name}: {why}")
        os.remove(path)

    t0 = time.monotonic()
    try:
        with ThreadPoolExecutor(a.jobs) as pool:
            list(pool.map(lambda i: one("manifest", i), range(a.manifests)))
            list(pool.map(lambda i: one("export", i), range(a.exports)))
    finally:  # also when interrupted: the inputs can be tens of MB each
        shutil.rmtree(work, ignore_errors=True)
    wall = time.monotonic() - t0

    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    times.sort()
    print(f"mutation probe: {a.manifests} manifests through validate, {a.exports} exports through diff --against, "
          f"as uid {NOBODY if os.getuid() == 0 else os.getuid()}, seed {a.seed}")
    for (kind, code), n in sorted(codes.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        print(f"  {kind:8s} exit {code}: {n}")
    if times:
        print(f"  per run: median {times[len(times) // 2] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms; "
              f"peak RSS of one run {peak_kib // 1024} MiB; wall {wall:.0f} s")
    print(f"  findings: {len(findings)}")
    for f in findings[:50]:
        print("    " + f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
