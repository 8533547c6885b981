#!/usr/bin/env bash
# Cleanup of a 100,000-file archive with mixed timelines: walferry-cleanup side by side with
# pg_archivecleanup (PostgreSQL 15), same archive, same cutoff, medians over hyperfine runs
# (each run on a fresh copy made by --prepare, which is not timed).
#
# The archive: timeline 1 segments 0..59999, timeline 2 (switch at segment 50000) segments
# 50000..99999 with 00000002.history, a few .partial/.backup files and walferry.info; plain
# names (no .zst) so that both tools see the same WAL files. Cutoff: timeline 2, segment 85000
# (both remove 95,000 files).
#
# Usage (as root or any user, after scripts/install-deps.sh and a build):
#   bash bench/cleanup.sh [BIN_DIR]       # BIN_DIR: $WALFERRY_BIN_DIR, else build/release/bin
# Environment: WALFERRY_BENCH_RUNS (default 7), WALFERRY_BENCH_FILES (default 100000).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:-${WALFERRY_BIN_DIR:-$repo/build/release/bin}}" && pwd)
runs=${WALFERRY_BENCH_RUNS:-7}
files=${WALFERRY_BENCH_FILES:-100000}
pg_archivecleanup=$(pg_config --bindir 2>/dev/null)/pg_archivecleanup
[[ -x $pg_archivecleanup ]] || pg_archivecleanup=/usr/lib/postgresql/15/bin/pg_archivecleanup
for tool in hyperfine "$pg_archivecleanup" "$bin_dir/walferry-cleanup"; do
  command -v "$tool" >/dev/null || { echo "$tool not found (install-deps.sh, build)" >&2; exit 2; }
done

# WALFERRY_BENCH_DIR: where the archive copies live (default: a temp dir under $TMPDIR).
work=$(mktemp -d "${WALFERRY_BENCH_DIR:-${TMPDIR:-/tmp}}/walferry-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
template=$work/template
mkdir "$template"

# name TLI SEGNO: file name of segment SEGNO (16 MiB segments: 256 per log).
tl1_end=$((files * 6 / 10))
switch=$((files / 2))
awk -v n1="$tl1_end" -v sw="$switch" -v total="$files" 'BEGIN {
  for (s = 0; s < n1; s++) printf "%08X%08X%08X\n", 1, int(s / 256), s % 256
  for (s = sw; s < sw + (total - n1); s++) printf "%08X%08X%08X\n", 2, int(s / 256), s % 256
}' >"$work/names"
(cd "$template" && xargs touch <"$work/names")
switch_lsn=$(printf '%X/%X' $((switch * 16777216 >> 32)) $((switch * 16777216 & 0xFFFFFFFF)))
printf '1\t%s\tno recovery target specified\n' "$switch_lsn" >"$template/00000002.history"
printf 'system_identifier = 1\npg_major = 15\nwal_segment_size = 16777216\n' >"$template/walferry.info"
cutoff_segno=$((files * 85 / 100))
cutoff=$(printf '%08X%08X%08X' 2 $((cutoff_segno / 256)) $((cutoff_segno % 256)))
count=$(find "$template" -type f | wc -l)

json=$work/cleanup.json
hyperfine --style basic --runs "$runs" --export-json "$json" \
  --prepare "rm -rf '$work/a' && cp -a '$template' '$work/a'" \
  -n pg_archivecleanup "$pg_archivecleanup '$work/a' $cutoff" \
  -n walferry-cleanup "$bin_dir/walferry-cleanup '$work/a' $cutoff" >"$work/hyperfine.log"

# What each one leaves, on one more fresh copy each.
left() {
  rm -rf "$work/a" && cp -a "$template" "$work/a"
  "$@" "$work/a" "$cutoff"
  find "$work/a" -maxdepth 1 -type f | wc -l
}
left_pg=$(left "$pg_archivecleanup")
left_wf=$(left "$bin_dir/walferry-cleanup")

mapfile -t med < <(grep -o '"median": *[0-9.e+-]*' "$json" | awk -F': *' '{ printf "%.1f\n", $2 * 1000 }')
echo
echo "Cleanup of a $count-file archive (2 timelines), cutoff $cutoff, median of $runs runs:"
echo
echo "| tool | median ms | ratio vs pg_archivecleanup | files left |"
echo "|---|---|---|---|"
echo "| pg_archivecleanup | ${med[0]} | 1.00 | $left_pg |"
echo "| walferry-cleanup | ${med[1]} | $(awk -v a="${med[1]}" -v b="${med[0]}" 'BEGIN { printf "%.2f", a / b }') | $left_wf |"
