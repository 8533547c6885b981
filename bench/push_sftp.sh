#!/usr/bin/env bash
# Pushing real pgbench WAL (16 MiB segments) to two SSH hosts (sshd on 127.0.0.2 and 127.0.0.3,
# tests/e2e/sshd_lib.sh), side by side in one run:
#   - one `scp` per segment (to one host: the floor of the classic approach),
#   - the classic chain `cp %p local/ && scp %p sb1: && scp %p sb2:`,
#   - walferry-push to both hosts (config: two sftp destinations, required = "all"),
# per segment (median over separate segments, no batching: the file is not in pg_wal) and
# sustained over a pg_wal directory of N .ready segments, called in order as the archiver does
# (each call through `sh -c` by one loop running as the test user, then its .ready renamed to
# .done, as PostgreSQL's archiver does), with look-ahead batching (batch, default 16 like the
# config). Prints a markdown table. See bench/README.md.
#
# Usage (as root, after a build): bash bench/push_sftp.sh [BIN_DIR]
# Environment: WALFERRY_BENCH_SEGMENTS (sustained, default 64), WALFERRY_BENCH_RUNS (per-segment
# samples, default 9), WALFERRY_BENCH_BATCH (batch, default 16 like the config), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
segments=${WALFERRY_BENCH_SEGMENTS:-64}
batch=${WALFERRY_BENCH_BATCH:-16}
runs=${WALFERRY_BENCH_RUNS:-9}

e2e_setup walferry-push
sshd_setup
sshd_start sb1 127.0.0.2
sshd_start sb2 127.0.0.3
push=$(walferry_bin walferry-push)

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.1f", n * 1000 / ms }'; }

# --- real WAL from pgbench, archived with plain cp
need=$((segments > runs ? segments + 2 : runs + 2))
wal=$E2E_WORK/wal
bench_cp_primary "$wal"
scale=$((need * 16 / 12 + 2))
note "pgbench -i -s $scale for >= $need segments"
bench_pgbench_wal "$scale"
pg_stop primary
mapfile -t all < <(find "$wal" -name '000000010000000?????????' -size 16M | LC_ALL=C sort | tail -n "$need")
((${#all[@]} >= need)) || fail "only ${#all[@]} segments"

# --- destinations
e2e_mkdir "$E2E_WORK/local" "$E2E_WORK/scp1" "$E2E_WORK/scp2" "$E2E_WORK/spool"
# write_config FILE DIR: both hosts, archive DIR on each (a fresh DIR per phase: walferry never
# rewrites a file, so a segment pushed once would only be compared the second time).
write_config() {
  e2e_mkdir "$E2E_WORK/sb1/$2" "$E2E_WORK/sb2/$2"
  {
    printf 'spool = "%s/spool"\nbatch = %s\n' "$E2E_WORK" "$batch"
    sshd_destination sb1 "$E2E_WORK/sb1/$2"
    sshd_destination sb2 "$E2E_WORK/sb2/$2"
  } >"$1"
}
cfg=$E2E_WORK/per-segment.toml
write_config "$cfg" per-segment
ssh_opts=(-q -i "$SSHD_USER_KEY" -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" -o BatchMode=yes)
scp_to() { e2e_as_user scp "${ssh_opts[@]}" -P "${SSHD_PORT[$1]}" "$2" "$E2E_USER@${SSHD_HOST[$1]}:$3/"; }
one_scp() { scp_to sb1 "$1" "$E2E_WORK/scp1"; }
classic() { e2e_as_user cp "$1" "$E2E_WORK/local/" && scp_to sb1 "$1" "$E2E_WORK/scp1" && scp_to sb2 "$1" "$E2E_WORK/scp2"; }
walferry() { e2e_as_user "$push" -c "$cfg" "$1"; }

# per_segment FUNCTION OFFSET: milliseconds for each of $runs segments from OFFSET, one line each.
per_segment() {
  local fn=$1 i t0
  for ((i = 0; i < runs; i++)); do
    t0=$(now_ms)
    "$fn" "${all[$2 + i]}" >/dev/null 2>&1 || fail "$fn ${all[$2 + i]} failed"
    echo $(($(now_ms) - t0))
  done
}

note "per segment, $runs samples each"
m_scp=$(per_segment one_scp 0 | median)
m_classic=$(per_segment classic 0 | median)
m_walferry=$(per_segment walferry 0 | median)

# --- sustained: a pg_wal with $segments .ready files, called in order
pgwal=$E2E_WORK/node/pg_wal
e2e_mkdir "$pgwal/archive_status"
sustained=("${all[@]:0:$segments}")
cfg=$E2E_WORK/sustained.toml
write_config "$cfg" archive
for f in "${sustained[@]}"; do
  e2e_as_user cp "$f" "$pgwal/"
  e2e_as_user touch "$pgwal/archive_status/${f##*/}.ready"
done
# sustained COMMAND: bench_archiver_loop over the sustained segments (prints milliseconds).
sustained() { bench_archiver_loop "$1" "$pgwal/archive_status" "${sustained[@]##*/}"; }
chown -R "$E2E_USER" "$pgwal"
note "sustained: walferry-push, $segments segments in pg_wal"
s_walferry=$(sustained "$push -c $cfg $pgwal/%f") || fail "walferry-push failed"
note "sustained: the classic chain, same $segments segments"
for f in "${sustained[@]}"; do mv "$pgwal/archive_status/${f##*/}.done" "$pgwal/archive_status/${f##*/}.ready"; done
scp_cmd() { printf 'scp %s -P %s %s/%%f %s@%s:%s/' "${ssh_opts[*]}" "${SSHD_PORT[$1]}" "$pgwal" "$E2E_USER" "${SSHD_HOST[$1]}" "$2"; }
s_classic=$(sustained "cp $pgwal/%f $E2E_WORK/local/ && $(scp_cmd sb1 "$E2E_WORK/scp1") && $(scp_cmd sb2 "$E2E_WORK/scp2")") ||
  fail "classic chain failed"
for f in "${sustained[@]}"; do
  [[ -f "$E2E_WORK/sb1/archive/${f##*/}.zst" && -f "$E2E_WORK/sb2/archive/${f##*/}.zst" ]] ||
    fail "${f##*/} missing on a host after the sustained run"
done

cat <<EOF2

| method (16 MiB pgbench segments) | per segment, median ms | × one scp | sustained, $segments segments: s | segments/s |
|---|---:|---:|---:|---:|
| one \`scp\` (one host) | $m_scp | 1.00 | | |
| \`cp && scp && scp\` (local + two hosts) | $m_classic | $(ratio "$m_classic" "$m_scp") | $(awk -v ms="$s_classic" 'BEGIN { printf "%.1f", ms / 1000 }') | $(rate "$segments" "$s_classic") |
| walferry-push, two sftp hosts (sustained: batch = $batch) | $m_walferry | $(ratio "$m_walferry" "$m_scp") | $(awk -v ms="$s_walferry" 'BEGIN { printf "%.1f", ms / 1000 }') | $(rate "$segments" "$s_walferry") |
EOF2
