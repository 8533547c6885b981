#!/usr/bin/env bash
# One durable local push into archives of 0, 100,000 and 1,000,000 stored files: the cost of a
# push must not grow with the archive. See bench/README.md.
#
# Usage (as root or not, after a build; needs hyperfine and strace):
#   bash bench/push_archive_size.sh [BIN_DIR]  # BIN_DIR: $WALFERRY_BIN_DIR, else build/release/bin
# Environment: WALFERRY_BENCH_RUNS (default 15), WALFERRY_BENCH_SIZES (default "0 100000 1000000"),
# WALFERRY_BENCH_SEGMENT (a real segment to push; default a pseudo-WAL one made by
# walferry-test-make-segment), TMPDIR (a real disk file system, not tmpfs), WALFERRY_KEEP=1.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${1:-${WALFERRY_BIN_DIR:-$repo/build/release/bin}}
[[ -x "$bin_dir/walferry-push" ]] || { echo "no walferry-push in '$bin_dir' (build first)" >&2; exit 2; }
bin_dir=$(cd "$bin_dir" && pwd)
runs=${WALFERRY_BENCH_RUNS:-15}
read -r -a sizes <<<"${WALFERRY_BENCH_SIZES:-0 100000 1000000}"
for tool in hyperfine strace python3; do
  command -v "$tool" >/dev/null || { echo "$tool not found (run scripts/install-deps.sh)" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/walferry-bench-size.XXXXXX")
cleanup() { if [[ ${WALFERRY_KEEP:-} == 1 ]]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
push=$bin_dir/walferry-push
export WALFERRY_CONFIG=$work/empty.toml # defaults only
: >"$WALFERRY_CONFIG"

# The segment pushed: its name is one after every stored one.
segno=$((16#10000000))
mkdir -p "$work/src"
if [[ -n ${WALFERRY_BENCH_SEGMENT:-} ]]; then
  echo "WALFERRY_BENCH_SEGMENT is used as is: its name must sort after the stored names" >&2
  seg=$WALFERRY_BENCH_SEGMENT
else
  seg=$("$bin_dir/walferry-test-make-segment" --segno "$segno" --seed 1 --out "$work/src")
fi
name=${seg##*/}

# archive_of N: an archive whose walferry.info matches the segment, holding N more stored names:
# hard links to a few small stored files (names of real segments, so cleanup or a listing would take
# them for segments), made by one python process in seconds even for a million.
first=$("$bin_dir/walferry-test-make-segment" --segno 1 --out "$work/src")
archive_of() {
  local dir=$work/archive-$1
  mkdir "$dir"
  "$push" "$first" "$dir"
  python3 - "$dir" "$1" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
fd = os.open(d, os.O_RDONLY)
source = "000000010000000000000001.zst"
for i in range(2, n + 1):
    name = "%08X%08X%08X.zst" % (1, i >> 8, i & 0xFF)
    if i % 60000 == 0:  # ext4 allows 65,000 links to a file: a new source now and then
        with open(os.path.join(d, source), "rb") as f, open(os.path.join(d, name), "wb") as g:
            g.write(f.read())
        source = name
        continue
    os.link(source, name, src_dir_fd=fd, dst_dir_fd=fd)
os.close(fd)
EOF
  sync
  (($(find "$dir" -maxdepth 1 -name '*.zst' | wc -l) == ($1 > 1 ? $1 : 1))) ||
    { echo "archive of $1 files: wrong number of files" >&2; exit 1; }
  echo "$dir"
}

args=()
for n in "${sizes[@]}"; do
  start=$(date +%s)
  dir=$(archive_of "$n") || exit 1
  echo "archive of $n files made in $(($(date +%s) - start)) s" >&2
  # The listing a push makes, counted: getdents64 calls of one push (walferry.info exists).
  strace -f -c -e trace=getdents64 -o "$work/strace-$n" "$push" "$seg" "$dir"
  calls=$(awk '$NF == "getdents64" { print $4 }' "$work/strace-$n")
  echo "${calls:-0}" >"$work/getdents-$n"
  [[ -f $work/stored.zst ]] || cp "$dir/$name.zst" "$work/stored.zst"
  rm -f "$dir/$name.zst"
  args+=(-n "$n files" --prepare "rm -f $dir/$name.zst && sync" "$push $seg $dir")
  # What the file system itself charges for a new name in so large a directory: cp && sync of
  # the stored file's size into the same archive.
  args+=(-n "cp && sync, $n files" --prepare "rm -f $dir/copy && sync"
    "cp $work/stored.zst $dir/copy && sync")
done
hyperfine --runs "$runs" --warmup 2 --export-json "$work/size.json" --style basic "${args[@]}" >&2
mapfile -t medians < <(grep -o '"median": *[0-9.e+-]*' "$work/size.json" |
  awk -F': *' '{ printf "%.2f\n", $2 * 1000 }')

cat <<EOF

## One push into archives of growing size

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(df -T "$work" | awk 'NR == 2 { print $2 }'),
$("$push" --version | head -n 1), $(hyperfine --version). Segment $name (16 MiB), default
settings, median of $runs runs each (2 warm-up runs), every run after the previous copy was removed
and the removal synced.

| stored files | walferry-push, median ms | × empty archive | getdents64 calls per push | \`cp && sync\` of the stored file there, median ms | × empty archive |
|---:|---:|---:|---:|---:|---:|
EOF
for i in "${!sizes[@]}"; do
  n=${sizes[$i]}
  w=${medians[$((2 * i))]} c=${medians[$((2 * i + 1))]}
  printf '| %s | %s | %s | %s | %s | %s |\n' "$n" "$w" \
    "$(awk -v a="$w" -v b="${medians[0]}" 'BEGIN { printf "%.2f", a / b }')" \
    "$(cat "$work/getdents-$n")" "$c" \
    "$(awk -v a="$c" -v b="${medians[1]}" 'BEGIN { printf "%.2f", a / b }')"
done
echo
echo "Target: ≤ 1.2× the empty archive, flat as the archive grows."
