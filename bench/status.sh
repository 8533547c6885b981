#!/usr/bin/env bash
# walferry-status on a local archive: the plain look at a 100,000-file archive (one listing, no
# per-file read; target <= 1 s), and --verify against `zstd -t` on the same stored files
# (target: --verify reads at >= 0.8x the speed of zstd -t). Medians over hyperfine runs.
#
# The listing archive: walferry.info and 00000002.history pushed by walferry-push, then
# 100,000 segment names (timeline 1, then timeline 2 from its switch point) as empty files: a
# look without --verify never opens a segment, so their content does not matter.
# The verify archive: WALFERRY_BENCH_SEGMENTS (default 64) synthetic 16 MiB segments pushed by
# walferry-push at its default level. `zstd -t` runs on one core as zstd does; --verify runs its
# default one worker per core, and once with -j 1 for the per-core figure.
#
# Usage (after scripts/install-deps.sh and a build):
#   bash bench/status.sh [BIN_DIR]       # BIN_DIR: $WALFERRY_BIN_DIR, else build/release/bin
# Environment: WALFERRY_BENCH_RUNS (default 7), WALFERRY_BENCH_FILES (default 100000).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:-${WALFERRY_BIN_DIR:-$repo/build/release/bin}}" && pwd)
runs=${WALFERRY_BENCH_RUNS:-7}
files=${WALFERRY_BENCH_FILES:-100000}
segments=${WALFERRY_BENCH_SEGMENTS:-64}
for tool in hyperfine zstd "$bin_dir/walferry-status" "$bin_dir/walferry-push" \
  "$bin_dir/walferry-test-make-segment"; do
  command -v "$tool" >/dev/null || { echo "$tool not found (install-deps.sh, build)" >&2; exit 2; }
done

work=$(mktemp -d "${WALFERRY_BENCH_DIR:-${TMPDIR:-/tmp}}/walferry-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# median_ms JSON: hyperfine's median, in milliseconds.
median_ms() { python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$1"; }

echo "== listing: $files files"
list=$work/list
mkdir -p "$list" "$work/src"
first=$("$bin_dir/walferry-test-make-segment" --segno 1 --out "$work/src")
"$bin_dir/walferry-push" "$first" "$list" >/dev/null
switch=$((files / 2))
switch_lsn=$(printf '%X/%X' $((switch * 16777216 >> 32)) $((switch * 16777216 & 0xFFFFFFFF)))
printf '1\t%s\tno recovery target specified\n' "$switch_lsn" >"$work/src/00000002.history"
"$bin_dir/walferry-push" "$work/src/00000002.history" "$list" >/dev/null
awk -v sw="$switch" -v total="$files" 'BEGIN {
  for (s = 2; s < sw; s++) printf "%08X%08X%08X.zst\n", 1, int(s / 256), s % 256
  for (s = sw; s < total; s++) printf "%08X%08X%08X.zst\n", 2, int(s / 256), s % 256
}' >"$work/names"
(cd "$list" && xargs touch <"$work/names")
echo "  $(find "$list" -type f | wc -l) files"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/list.json" \
  "$bin_dir/walferry-status $list" >/dev/null 2>&1 || true
"$bin_dir/walferry-status" "$list" >"$work/list.out" || true
tail -n 3 "$work/list.out"
echo "  walferry-status (no --verify): median $(median_ms "$work/list.json") ms (target <= 1000 ms)"

echo "== verify: $segments segments"
verify=$work/verify
mkdir -p "$verify" "$work/segs"
for ((s = 1; s <= segments; s++)); do
  "$bin_dir/walferry-test-make-segment" --segno "$s" --seed "$s" --out "$work/segs" >/dev/null
done
for f in "$work/segs"/*; do "$bin_dir/walferry-push" "$f" "$verify" >/dev/null; done
stored=$(du -sb "$verify" | cut -f1)
echo "  stored: $((stored / 1048576)) MiB for $((segments * 16)) MiB of WAL"
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/zstd.json" \
  "zstd -q -t $(printf '%s ' "$verify"/*.zst)" >/dev/null 2>&1
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/verify.json" \
  "$bin_dir/walferry-status --verify $verify" >/dev/null 2>&1 || true
hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/verify1.json" \
  "$bin_dir/walferry-status --verify -j 1 $verify" >/dev/null 2>&1 || true
z=$(median_ms "$work/zstd.json")
v=$(median_ms "$work/verify.json")
v1=$(median_ms "$work/verify1.json")
echo "  zstd -t:                          median $z ms"
echo "  walferry-status --verify:         median $v ms  speed $(awk -v a="$z" -v b="$v" 'BEGIN { printf "%.2f", a / b }')x zstd -t (target >= 0.8x)"
echo "  walferry-status --verify -j 1:    median $v1 ms  speed $(awk -v a="$z" -v b="$v1" 'BEGIN { printf "%.2f", a / b }')x zstd -t"
