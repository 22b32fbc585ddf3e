#!/usr/bin/env bash
# Schema agreement test: schemas/*.schema.json and the C++ validator must give
# the same per-document verdict on the corpus. See check_schemas.py.
#
#   check_schemas.sh BANGER_BIN SOURCE_DIR DOC_CHECK_BIN [-v]
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 BANGER_BIN SOURCE_DIR DOC_CHECK_BIN [-v]" >&2
  exit 2
fi
banger=$1 source=$2 doc_check=$3
shift 3

# A python3 with both PyYAML and jsonschema: Debian's first (make deps installs
# python3-yaml and python3-jsonschema), then whatever python3 is on PATH.
python=
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import yaml, jsonschema' >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "check_schemas.sh: no python3 with the yaml and jsonschema modules" \
       "(apt-get install python3-yaml python3-jsonschema)" >&2
  exit 1
fi

exec "$python" -B "$source/tests/schema/check_schemas.py" \
  --banger "$banger" --source "$source" --doc-check "$doc_check" "$@"
