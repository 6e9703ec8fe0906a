#!/usr/bin/env bash
# Whole-tree benchmark: a cold scan (empty cache) and a warm re-scan of a
# kernel tree, with wall time and peak RSS from /usr/bin/time -v.
#   usage: benchmarks/whole_tree.sh TREE [OUTDIR]
# TREE: e.g. the path printed by ../shared/tools/get-linux-tree. Other versions' caches
# left on the machine crowd the page cache: remove them (five stale caches on a 24 GB
# machine made warm runs 20-40% slower).
set -euo pipefail
tree="${1:?usage: whole_tree.sh TREE [OUTDIR]}"
out="${2:-$(mktemp -d)}"
mkdir -p "$out"
bin="$(dirname "$0")/../.venv/bin/allocscan"
cache="$out/cache"
rm -rf "$cache"
for run in cold warm; do
  /usr/bin/time -v "$bin" scan "$tree" --cache-dir "$cache" --format json -o "$out/$run.json" \
      --stats --fail-on none 2> "$out/$run.err" || true
  wall=$(grep "Elapsed (wall clock)" "$out/$run.err" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$out/$run.err" | awk '{print $NF}')
  echo "$run: wall $wall, peak RSS $((rss / 1024)) MiB"
  grep "allocscan: stats" "$out/$run.err" || true
  grep "^allocscan: [0-9]* finding" "$out/$run.err" || true
done
echo "reports in $out"
