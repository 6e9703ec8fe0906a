#!/usr/bin/env bash
# Pre-merge benchmark (issue 17): `allocscan diff --base HEAD` on a git checkout
# of a whole kernel tree, after a one-file change, with the facts cache warm.
#   usage: benchmarks/premerge.sh TREE [OUTDIR]
# TREE: an unpacked kernel tree (../shared/tools/get-linux-tree). OUTDIR keeps the
# git checkout (made once, reused), the cache and the timings (default: a temp dir).
# The changes, each alone and undone afterwards, in one driver (DRIVER_FILE,
# DRIVER_HEADER and HEADER_EDIT override the 6.1 defaults):
#   comment  - a comment appended to the driver file (its facts stay as they were:
#              pipeline._same_facts_as_before)
#   moved    - a comment inserted above the driver file's code: every line below moves
#   lock     - a new function allocating GFP_KERNEL under a spinlock
#   flip     - one gfp mask flipped in the driver file: GFP_ATOMIC -> GFP_KERNEL in its
#              NAPI poll's refill (FLIP_EDIT overrides the sed expression)
#   define   - a #define in the driver's header changed
#   base     - the base moved: a commit adding a locked GFP_KERNEL function to the driver
#              file, which no kept scan has seen, then the comment on top of it (the
#              base side starts from the nearest kept scan, results.ResultCache.nearest)
# Each diff's wall time, peak RSS and finding counts are printed; the logs stay in OUTDIR.
# Every edit carries a stamp of the run (a comment, a function's name): a run never
# finds the results an earlier run kept for the same edit (that is the same change
# diffed again, a second or two), whatever ran before it with the same code.
set -euo pipefail
tree="${1:?usage: premerge.sh TREE [OUTDIR]}"
out="${2:-$(mktemp -d)}"
bin="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/allocscan"
file="${DRIVER_FILE:-drivers/net/ethernet/emulex/benet/be_main.c}"
header="${DRIVER_HEADER:-drivers/net/ethernet/emulex/benet/be.h}"
edit="${HEADER_EDIT:-s/^#define BE_RX_SKB_ALLOC_SIZE\t256$/#define BE_RX_SKB_ALLOC_SIZE\t(256 << 10)/}"
flip="${FLIP_EDIT:-s/be_post_rx_frags(rxo, GFP_ATOMIC,/be_post_rx_frags(rxo, GFP_KERNEL,/}"
repo="$out/git"
cache="$out/cache"
mkdir -p "$out"

if [ ! -d "$repo/.git" ]; then  # the checkout, once: a copy of the tree committed as HEAD
  echo "making the git checkout in $repo"
  cp -a "$tree" "$repo"
  git -C "$repo" init -q -b main
  git -C "$repo" add -f -A .  # -f: Debian's top-level .gitignore ignores everything
  git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -q -m base
fi
git -C "$repo" reset -q --hard HEAD

echo "warming the cache: allocscan scan (whole tree)"
/usr/bin/time -v "$bin" scan "$repo" --cache-dir "$cache" --format json -o "$out/warm.json" \
    --stats --fail-on none 2> "$out/warm.err" || true
grep -E "Elapsed|Maximum resident" "$out/warm.err" | sed 's/^\s*/  /'

run="$(date +%s)$$"  # this run's stamp
stamp() { printf '\n/* allocscan pre-merge benchmark %s */\n' "$run" >> "$1"; }
change_comment() { stamp "$repo/$file"; }
change_moved() { sed -i "1i /* allocscan pre-merge benchmark $run */" "$repo/$file"; }
change_lock() {
  cat >> "$repo/$file" <<EOF

static void *allocscan_bench_${1:-locked}_${run}(spinlock_t *lock)
{
	void *p;

	spin_lock(lock);
	p = kmalloc(64, GFP_KERNEL);
	spin_unlock(lock);
	return p;
}
EOF
}
change_flip() {
  sed -i "$flip" "$repo/$file"
  git -C "$repo" diff --quiet -- "$file" && { echo "FLIP_EDIT changed nothing in $file" >&2; exit 2; }
  stamp "$repo/$file"  # (a comment at the end: the facts are the flip's alone)
}
change_define() {
  sed -i "$edit" "$repo/$header"
  git -C "$repo" diff --quiet -- "$header" && { echo "HEADER_EDIT changed nothing in $header" >&2; exit 2; }
  stamp "$repo/$header"
}

change_base() {
  change_lock "base_moved"
  git -C "$repo" -c user.name=bench -c user.email=bench@localhost commit -q -a -m "base moved"
  change_comment
}

for change in comment moved lock flip define base; do
  "change_$change"
  /usr/bin/time -v "$bin" diff --tree "$repo" --base HEAD --cache-dir "$cache" --format json \
      -o "$out/$change.json" --fail-on none --stats 2> "$out/$change.err" || true
  git -C "$repo" checkout -q -- .
  [ "$change" = base ] && git -C "$repo" reset -q --hard HEAD~1  # the checkout's one commit again
  wall=$(grep "Elapsed (wall clock)" "$out/$change.err" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$out/$change.err" | awk '{print $NF}')
  counts=$(grep -E "^allocscan: [0-9]+ new" "$out/$change.err" || echo "allocscan: failed, see $out/$change.err")
  echo "$change: wall $wall, peak RSS $((rss / 1024)) MiB; ${counts#allocscan: }"
  grep -E "^allocscan: (stats|head side|base side)" "$out/$change.err" | sed 's/^allocscan: /  /'
done
echo "logs in $out"
