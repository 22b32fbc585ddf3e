#!/usr/bin/env bash
# fuzz.sh BUILD_DIR SECONDS TARGET...
# Runs each libFuzzer target (make fuzz) for SECONDS, one after the other
# (-jobs=1: CI machines and laptops are small). The working corpus grows in
# BUILD_DIR/corpus/TARGET, seeded from tests/fuzz/corpus/TARGET, which is only
# read: the grown corpus is not committed, only seeds and crash reproducers.
# Crashes, leaks, timeouts and OOMs are written to BUILD_DIR/artifacts/.
# Prints the executions of each target and appends them to BUILD_DIR/fuzz-runs.log.
set -uo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2; exit 2; }
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/artifacts"
failed=()
for t in "$@"; do
  mkdir -p "$build/corpus/$t"
  log="$build/fuzz_$t.log"
  start=$SECONDS
  # 64 KiB: far beyond any manifest, export or listing worth a test, and
  # short enough that each input runs in well under a millisecond.
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
      "$build/corpus/$t" "$src/tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  time=$((SECONDS - start))  # also when a finding stopped it early
  # libFuzzer prints its final stats on a finding too.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz_$t: ${runs:-?} executions in $time s, corpus $(ls "$build/corpus/$t" | wc -l) inputs, exit $rc"
  echo "$(date -u +%FT%TZ) fuzz_$t runs=${runs:-0} seconds=$time rc=$rc" >>"$build/fuzz-runs.log"
  if [ "$rc" != 0 ]; then
    failed+=("$t")
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" | head -5
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (logs: $build/fuzz_*.log, inputs: $build/artifacts/)." >&2
  echo "fuzz: fix them, then add each input to tests/fuzz/corpus/TARGET/ so make test replays it." >&2
  exit 1
fi
