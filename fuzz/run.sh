#!/usr/bin/env bash
# Fuzz each target in turn on stable Rust (no sanitizer: `-s none`), at the lowest CPU
# priority, one target at a time:
#   fuzz/run.sh [SECONDS] [TARGET...]      (default: 1800 s each, all four targets)
# Each run stops at 10 million executions or after SECONDS, whichever comes first; the
# libFuzzer log goes to fuzz/logs/<target>.log and its closing statistics are printed.
# A crash leaves its input in fuzz/artifacts/<target>/ (minimize it with
# `cargo fuzz tmin -s none <target> <file>` and keep it as a regression test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "$here")"
seconds=${1:-1800}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(case_loader manifest_eval admission_review kyverno_policy)
mkdir -p "$here/logs"
[ -d "$here/corpus/case_loader" ] || "$here/seed.sh"
nice -n 19 cargo fuzz build -s none --fuzz-dir "$here" >/dev/null
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$here/artifacts/$t"
  # -max_len: the largest seeds (case files) are about 20 KiB; -rss_limit_mb and -timeout
  # turn unbounded memory and hangs into findings; -print_final_stats gives the counts.
  nice -n 19 cargo fuzz run -s none --fuzz-dir "$here" "$t" "$here/corpus/$t" -- \
    -runs=10000000 -max_total_time="$seconds" -max_len=32768 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$here/artifacts/$t/" \
    >"$here/logs/$t.log" 2>&1 || {
    echo "$t: libFuzzer exited with $? (see fuzz/logs/$t.log, fuzz/artifacts/$t/)"
    failed+=("$t")
  }
  echo "== $t"
  grep -E '^(stat::|Done|#[0-9]+ +DONE)' "$here/logs/$t.log" || tail -5 "$here/logs/$t.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: findings in ${failed[*]}" >&2
  exit 1
fi
