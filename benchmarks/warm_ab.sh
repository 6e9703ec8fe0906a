#!/usr/bin/env bash
# Warm re-scans of two versions, alternated, so that both see the same machine
# (a VM's speed drifts by 20% within the hour; runs an hour apart do not compare).
#   usage: benchmarks/warm_ab.sh TREE OLD_SRC OLD_CACHE NEW_SRC NEW_CACHE [ROUNDS]
# *_SRC: a checkout's src/ directory (e.g. from `git worktree add /tmp/old REV`);
# *_CACHE: a cache directory a cold scan of that version has filled
# (benchmarks/whole_tree.sh leaves one in OUTDIR/cache). Remove stale caches of
# other versions first: they crowd the page cache and slow every run.
set -euo pipefail
tree="$1"; old_src="$2"; old_cache="$3"; new_src="$4"; new_cache="$5"; rounds="${6:-2}"
py="$(dirname "$0")/../.venv/bin/python"
err="$(mktemp)"
for ((i = 1; i <= rounds; i++)); do
  for which in old new; do
    if [ "$which" = old ]; then src="$old_src"; cache="$old_cache"; else src="$new_src"; cache="$new_cache"; fi
    PYTHONPATH="$src" /usr/bin/time -v "$py" -m allocscan scan "$tree" --cache-dir "$cache" --format json \
        -o /dev/null --stats --fail-on none 2> "$err" || true
    wall=$(grep "Elapsed (wall clock)" "$err" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$err" | awk '{print $NF}')
    user=$(grep "User time" "$err" | awk '{print $NF}')
    sys=$(grep "System time" "$err" | awk '{print $NF}')
    echo "$which: wall $wall, peak RSS $((rss / 1024)) MiB, user $user s, sys $sys s | $(grep 'allocscan: stats' "$err" | sed 's/.*); //')"
  done
done
rm -f "$err"
