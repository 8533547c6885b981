#!/usr/bin/env bash
# Local durable push of one real 16 MiB WAL segment: walferry-push side by side with `cp`,
# `cp && sync` and pgBackRest archive-push (lz4), medians over hyperfine runs; then the fixed
# costs PostgreSQL pays on every call (`--version`, a not-found fetch). See bench/README.md.
#
# Usage (as root, after scripts/install-deps.sh and a build):
#   bash bench/push_local.sh [BIN_DIR]       # BIN_DIR: $WALFERRY_BIN_DIR, else build/release/bin
# Environment: WALFERRY_BENCH_RUNS (default 15), WALFERRY_BENCH_PGBENCH_SCALE (default 10),
# WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${1:-${WALFERRY_BIN_DIR:-$repo/build/release/bin}}
[[ -d "$bin_dir" ]] || { echo "binaries dir '$bin_dir' not found (build first)" >&2; exit 2; }
WALFERRY_BIN_DIR=$(cd "$bin_dir" && pwd)
export WALFERRY_BIN_DIR
runs=${WALFERRY_BENCH_RUNS:-15}
scale=${WALFERRY_BENCH_PGBENCH_SCALE:-10}
min_segments=4

# medians JSON: the "median" of every hyperfine result, in command order, in milliseconds.
medians() { json_field median "$1"; }
# cpu_means JSON: mean user + system CPU time of every result, in milliseconds (less disturbed
# than wall time when the machine is busy).
cpu_means() { paste <(json_field user "$1") <(json_field system "$1") | awk '{ printf "%.1f\n", $1 + $2 }'; }
# json_field KEY JSON: the number under "KEY" in every hyperfine result, in milliseconds.
json_field() { grep -o "\"$1\": *[0-9.e+-]*" "$2" | awk -F': *' '{ printf "%.2f\n", $2 * 1000 }'; }
# ratio3 A B: A / B with 3 decimals (ratio, with 2: bench/lib.sh).
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
for tool in hyperfine pgbackrest zstd; do
  command -v "$tool" >/dev/null || fail "$tool not found (run scripts/install-deps.sh)"
done
e2e_setup walferry-push walferry-fetch
push=$(walferry_bin walferry-push)
fetch=$(walferry_bin walferry-fetch)
# Defaults only: no /etc/walferry/walferry.toml of this machine gets in the way.
export WALFERRY_CONFIG=$E2E_WORK/empty.toml
: >"$WALFERRY_CONFIG"

# --- real WAL: pgbench against a throwaway server that archives with plain cp
wal=$E2E_WORK/wal
e2e_mkdir "$wal"
pg_init_primary primary "cp %p $wal/%f" 0
pg_start primary
pg_bench primary -i -q -s "$scale" >"$E2E_WORK/pgbench-init.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench-init.log" >&2; fail "pgbench -i failed"; }
pg_sql primary "CHECKPOINT" >/dev/null
first=$(pg_walfile_name primary "$(pg_sql primary "SELECT pg_current_wal_lsn()")")
# Run pgbench until the run itself (not the initial load) has filled enough whole segments.
for _ in {1..20}; do
  pg_bench primary -c 2 -j 2 -T 10 -n >>"$E2E_WORK/pgbench.log" 2>&1 ||
    { cat "$E2E_WORK/pgbench.log" >&2; fail "pgbench failed"; }
  current=$(pg_walfile_name primary "$(pg_sql primary "SELECT pg_current_wal_lsn()")")
  (((16#${current:8:16}) - (16#${first:8:16}) > min_segments)) && break
done
last=$(pg_walfile_name primary "$(pg_switch_wal primary)")
pg_wait_archived primary "$last" 120
# Whole segments written by the pgbench run: after the one it started in, before the last one
# (cut short by the switch).
segments=()
for f in "$wal"/*; do
  name=${f##*/}
  [[ "$name" =~ ^[0-9A-F]{24}$ && "$name" > "$first" && "$name" < "$last" ]] && segments+=("$name")
done
((${#segments[@]} >= 2)) || fail "pgbench produced only ${#segments[@]} whole segments"
segment=${segments[${#segments[@]} / 2]}
src=$E2E_WORK/src/$segment
mkdir -p "$E2E_WORK/src"
cp "$wal/$segment" "$src"
raw=$(stat -c %s "$src")
note "${#segments[@]} segments from pgbench ($first..$last); timing $segment"

# --- pgBackRest: its own repo in the work dir, stanza created against the running server
pgbr=$E2E_WORK/pgbackrest
mkdir -p "$pgbr/repo"
bench_pgbackrest "$pgbr" "repo1-path=$pgbr/repo"
pgbackrest=("${PGBACKREST[@]}")
pgbr_dir=$(printf '%s/repo/archive/bench/15-1/%s' "$pgbr" "${segment:0:16}")

# --- the timed pushes, side by side in one hyperfine run. Every run starts from the same state:
# destination removed and the removal synced (prepare steps are not timed).
dst=$E2E_WORK/dst
archive=$E2E_WORK/archive
mkdir -p "$dst"
json=$E2E_WORK/push.json
hyperfine --runs "$runs" --warmup 2 --export-json "$json" --style basic \
  -n cp --prepare "rm -f $dst/$segment && sync" "cp $src $dst/$segment" \
  -n "cp && sync" --prepare "rm -f $dst/$segment && sync" "cp $src $dst/$segment && sync" \
  -n walferry-push --prepare "rm -rf $archive && mkdir $archive && sync" "$push $src $archive" \
  -n "pgbackrest archive-push" --prepare "rm -f $pgbr_dir/$segment-* && sync" \
  "${pgbackrest[*]} archive-push $src" >&2
[[ -f "$archive/$segment.zst" ]] || fail "walferry-push stored nothing"
stored_walferry=$(stat -c %s "$archive/$segment.zst")
stored_pgbr=$(stat -c %s "$pgbr_dir/$segment"-*)

# The compression ratio of every whole pgbench segment, not only the timed one.
ratios=()
for name in "${segments[@]}"; do
  one=$E2E_WORK/ratio-archive
  rm -rf "$one" && mkdir "$one"
  "$push" "$wal/$name" "$one" || fail "walferry-push of $name failed"
  ratios+=("$(ratio3 "$(stat -c %s "$one/$name.zst")" "$(stat -c %s "$wal/$name")")")
done
ratio_summary=$(printf '%s\n' "${ratios[@]}" | sort -n |
  awk '{ v[NR] = $1 } END { printf "min %s, median %s, max %s over %d segments", v[1], v[int((NR + 1) / 2)], v[NR], NR }')

# --- fixed costs: no shell in between (-N), failures expected for the not-found fetch. The
# not-found fetch asks the archive walferry-push wrote (its walferry.info says it is one). Next to
# `true`, the floors of process start on this machine: an empty C program, a C++ one printing a
# line with iostream (libstdc++), the same linked to the libraries walferry-push loads at start
# (libcrypto and the store backends are loaded when a call needs them), and to those it loaded
# at start before that (libcrypto, libssh2, libcurl: what loading on demand saves).
mkdir -p "$E2E_WORK/restore" "$E2E_WORK/floor"
printf 'int main(void) { return 0; }\n' >"$E2E_WORK/floor/c.c"
printf '#include <iostream>\nint main() { std::cout << "x\\n"; }\n' >"$E2E_WORK/floor/hello.cpp"
cc -O2 "$E2E_WORK/floor/c.c" -o "$E2E_WORK/floor/c"
c++ -O2 "$E2E_WORK/floor/hello.cpp" -o "$E2E_WORK/floor/hello"
c++ -O2 "$E2E_WORK/floor/hello.cpp" -o "$E2E_WORK/floor/hello-libs" -Wl,--no-as-needed \
  -lzstd -ltomlplusplus
c++ -O2 "$E2E_WORK/floor/hello.cpp" -o "$E2E_WORK/floor/hello-all-libs" -Wl,--no-as-needed \
  -lzstd -ltomlplusplus -lcrypto -lssh2 -lcurl
json_fixed=$E2E_WORK/fixed.json
hyperfine -N --runs 100 --warmup 10 --export-json "$json_fixed" --style basic -i \
  -n "true (process floor)" "true" \
  -n "walferry-push --version" "$push --version" \
  -n "walferry-fetch not found" \
  "$fetch --mode standby 00000099.history $E2E_WORK/restore/RECOVERYHISTORY $archive" \
  -n "C: empty main" "$E2E_WORK/floor/c" \
  -n "C++: hello (libstdc++)" "$E2E_WORK/floor/hello" \
  -n "C++: hello + libzstd libtomlplusplus" "$E2E_WORK/floor/hello-libs" \
  -n "C++: hello + libzstd libtomlplusplus libcrypto libssh2 libcurl" \
  "$E2E_WORK/floor/hello-all-libs" >&2
status=0
"$fetch" --mode standby 00000099.history "$E2E_WORK/restore/RECOVERYHISTORY" "$archive" || status=$?
[[ $status == 1 ]] || fail "walferry-fetch of a missing file: exit status $status, expected 1"

mapfile -t push_ms < <(medians "$json")
mapfile -t fixed_ms < <(medians "$json_fixed")
mapfile -t push_cpu < <(cpu_means "$json")
sync_ms=${push_ms[1]}
pgbr_ms=${push_ms[3]}

cat <<EOF

## Local durable push of one 16 MiB segment

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(df -T "$E2E_WORK" | awk 'NR == 2 { print $2 }'),
$("$push" --version | head -n 1), $(pgbackrest version), $(hyperfine --version).
Segment $segment from pgbench -s $scale -c 2 (median of $runs runs each, 2 warm-up runs).

| method | median ms | × \`cp && sync\` | × pgBackRest | stored / raw | CPU ms (user+sys, mean) |
|---|---:|---:|---:|---:|---:|
| \`cp\` | ${push_ms[0]} | $(ratio "${push_ms[0]}" "$sync_ms") | $(ratio "${push_ms[0]}" "$pgbr_ms") | 1.000 | ${push_cpu[0]} |
| \`cp && sync\` | ${push_ms[1]} | 1.00 | $(ratio "${push_ms[1]}" "$pgbr_ms") | 1.000 | ${push_cpu[1]} |
| walferry-push | ${push_ms[2]} | $(ratio "${push_ms[2]}" "$sync_ms") | $(ratio "${push_ms[2]}" "$pgbr_ms") | $(ratio3 "$stored_walferry" "$raw") | ${push_cpu[2]} |
| pgBackRest archive-push (lz4) | ${push_ms[3]} | $(ratio "${push_ms[3]}" "$sync_ms") | 1.00 | $(ratio3 "$stored_pgbr" "$raw") | ${push_cpu[3]} |

walferry stored / raw for every whole segment of the run: $ratio_summary.
Targets: walferry ≤ 1.0× \`cp && sync\`, ≤ 0.4× pgBackRest, stored ≤ 0.35× raw.

| fixed cost (no shell, 100 runs) | median ms | target |
|---|---:|---:|
| \`true\` (process start floor) | ${fixed_ms[0]} | |
| \`walferry-push --version\` | ${fixed_ms[1]} | ≤ 3 |
| \`walferry-fetch\`, file not found | ${fixed_ms[2]} | ≤ 5 |
| C: empty \`main\` | ${fixed_ms[3]} | |
| C++: hello world (libstdc++) | ${fixed_ms[4]} | |
| C++: hello world + libzstd, libtomlplusplus (what walferry-push loads at start) | ${fixed_ms[5]} | |
| C++: hello world + libzstd, libtomlplusplus, libcrypto, libssh2, libcurl (loaded when a call needs them) | ${fixed_ms[6]} | |
EOF
