#!/usr/bin/env bash
# Fetching real pgbench WAL (16 MiB segments) from an SSH host (sshd on 127.0.0.2,
# tests/e2e/sshd_lib.sh), side by side in one run:
#   - replay: a PostgreSQL 15 server recovering from a base backup taken before the WAL was
#     written (recovery.signal, no target: it replays every archived segment, finds no more,
#     ends recovery and switches timeline), timed from `pg_ctl start` until recovery has ended,
#     with restore_command = one `scp` per segment (plain segments) and = walferry-fetch from an
#     sftp:// source (the same WAL pushed with walferry-push) for each prefetch setting;
#   - the not-found answer (a name not in the archive, exit 1): `cp` and walferry-fetch on a
#     local archive, `scp` and walferry-fetch over SFTP, medians of hyperfine runs.
# Prints a markdown table. See bench/README.md.
#
# Usage (as root, after a build): bash bench/fetch_sftp.sh [BIN_DIR]
# Environment: WALFERRY_BENCH_SEGMENTS (WAL written after the base backup, default 64),
# WALFERRY_BENCH_RUNS (not-found samples, default 30), WALFERRY_BENCH_REPLAYS (recoveries per
# method, median reported, default 1), WALFERRY_BENCH_PREFETCH (the [fetch] prefetch values to
# replay with, default "0 8"), WALFERRY_BENCH_SETTINGS (postgresql.conf lines for the recovering
# server, ';'-separated, e.g. "shared_buffers = '2GB'"; default none), WALFERRY_KEEP=1 keeps the
# work dir.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
segments=${WALFERRY_BENCH_SEGMENTS:-64}
runs=${WALFERRY_BENCH_RUNS:-30}
replays=${WALFERRY_BENCH_REPLAYS:-1}
read -r -a prefetch_values <<<"${WALFERRY_BENCH_PREFETCH:-0 8}"
IFS=';' read -r -a server_settings <<<"${WALFERRY_BENCH_SETTINGS:-}"

command -v hyperfine >/dev/null || fail "hyperfine not found (run scripts/install-deps.sh)"
e2e_setup walferry-push walferry-fetch
sshd_setup
sshd_start sb1 127.0.0.2
push=$(walferry_bin walferry-push)
fetch=$(walferry_bin walferry-fetch)

ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
# log_ms NODE PATTERN: the time (ms since the epoch) of the first line of NODE's log matching
# PATTERN, from its %m prefix ("2026-11-23 02:10:00.123 UTC"); empty if no line matches yet.
log_ms() {
  local line
  line=$(grep -m 1 -- "$2" "${E2E_NODE_LOG[$1]}" 2>/dev/null) || return 0
  date -d "$(cut -d' ' -f1-3 <<<"$line")" +%s%3N
}

# --- real WAL from pgbench, archived with plain cp, written after a base backup
wal=$E2E_WORK/wal
bench_cp_primary "$wal"
pg_basebackup_node primary base 127.0.0.1 -X none
first=$(pg_walfile_name primary "$(pg_sql primary "SELECT pg_current_wal_lsn()")")
scale=$(((segments + 2) * 16 / 12 + 2))
note "pgbench -i -s $scale for >= $segments segments after the base backup"
bench_pgbench_wal "$scale"
accounts=$(pg_sql primary "SELECT count(*) FROM pgbench_accounts")
last=$(pg_sql primary "SELECT last_archived_wal FROM pg_stat_archiver")
pg_stop primary
written=$(find "$wal" -name '000000010000000?????????' -size 16M |
  awk -F/ -v f="$first" '$NF > f' | wc -l)
((written >= segments)) || fail "only $written segments after the base backup"
note "$written segments written after the base backup ($first..$last)"

# --- the archives on sb1 (a directory of this machine, served by its sshd): plain segments for
# scp, walferry's for walferry-fetch (pushed locally: the format is the same, and this benchmark
# times fetching, not pushing).
plain=$E2E_WORK/sb1/plain
archive=$E2E_WORK/sb1/archive
e2e_mkdir "$plain" "$archive"
note "filling the archives (cp, walferry-push)"
for f in "$wal"/*; do
  e2e_as_user cp "$f" "$plain/"
  e2e_as_user "$push" "$f" "$archive" || fail "walferry-push ${f##*/} failed"
done

ssh_opts=(-q -i "$SSHD_USER_KEY" -o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS" -o BatchMode=yes
  -P "${SSHD_PORT[sb1]}")
scp_from="scp ${ssh_opts[*]} $E2E_USER@${SSHD_HOST[sb1]}:$plain"
# write_config FILE PREFETCH SPOOL: sb1's walferry archive as the only source.
write_config() {
  {
    printf 'spool = "%s"\n' "$3"
    sshd_destination sb1 "$archive"
    printf '[fetch]\nprefetch = %s\n' "$2"
  } | e2e_as_user tee "$1" >/dev/null
}

# --- replay: one recovery from a fresh copy of the base backup per call
# Every restore_command runs under `timed LOG COMMAND...`, which appends each call's start, end
# (bash's $EPOCHREALTIME: no fork) and exit status to LOG: the time the server spent waiting on
# its restore_command, apart from its own. Its bash start-up (a few ms) is paid by every row alike.
timed=$E2E_WORK/timed
cat >"$timed" <<'TIMED'
#!/usr/bin/env bash
log=$1
shift
start=$EPOCHREALTIME
"$@"
status=$?
printf '%s %s %s\n' "$start" "$EPOCHREALTIME" "$status" >>"$log"
exit "$status"
TIMED
chmod 755 "$timed"
replay_n=0
REPLAY=""
# replay LABEL RESTORE_COMMAND: sets REPLAY to "wall_ms start_ms redo_ms restored cpu_s calls
# in_command_ms call_median_ms", times
# from `pg_ctl start`, read from the server log's %m prefix: wall until "ready to accept
# connections" (recovery over: pg_is_in_recovery() is false), start until "starting archive
# recovery" (start-up: the data directory's fsync and a restore_command for 00000002.history, not
# found), redo until "redo done" (the last segment replayed and the next one not found); restored: segments the server logged
# as restored from the archive during redo; cpu: the startup process's own CPU during redo
# (restore_command not included); calls and in_command_ms: restore_command calls during the
# whole recovery, the sum of their wall times and the median one.
# Runs in this shell, not in a $(...): the node must be known to the EXIT trap.
replay() {
  local node=replay$((replay_n += 1)) t0 ready start redo cpu restored log calls_log
  local calls in_command call_median
  calls_log=$E2E_WORK/$node/calls
  note "replay: $1 ($node)"
  bench_prepare_recovery "$node" "$timed $calls_log $2" ${server_settings[@]+"${server_settings[@]}"}
  log=${E2E_NODE_LOG[$node]}
  t0=$(now_ms)
  bench_recover "$node"
  ready=$(log_ms "$node" 'database system is ready to accept connections')
  start=$(log_ms "$node" 'starting archive recovery')
  redo=$(log_ms "$node" 'redo done at')
  cpu=$(grep -m 1 -o 'CPU: user: [0-9.]* s, system: [0-9.]* s' "$log" |
    awk '{ printf "%.1f", $3 + $6 }')
  # Before "redo done" only: at the end the server reads the last segment once more.
  restored=$(awk '/redo done at/ { exit } /restored log file "[0-9A-F]+" from archive/ { n++ }
    END { print n + 0 }' "$log")
  expect_eq "$node in recovery after the end of WAL" f \
    "$(pg_sql "$node" "SELECT pg_is_in_recovery()")"
  expect_eq "pgbench_accounts rows on $node" "$accounts" \
    "$(pg_sql "$node" "SELECT count(*) FROM pgbench_accounts")"
  ((restored >= segments)) || fail "$node restored only $restored segments"
  pg_stop "$node"
  e2e_as_user rm -rf "${E2E_NODE_DATA[$node]}"
  read -r calls in_command < <(awk '{ n++; ms += ($2 - $1) * 1000 } END { printf "%d %.0f\n", n, ms }' "$calls_log")
  call_median=$(awk '{ printf "%.1f\n", ($2 - $1) * 1000 }' "$calls_log" | sort -n |
    awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
  REPLAY="$((ready - t0)) $((start - t0)) $((redo - t0)) $restored $cpu $calls $in_command $call_median"
  note "  $((ready - t0)) ms to the end of recovery, $((redo - t0)) ms to the end of redo," \
    "$restored segments, $calls calls taking $in_command ms"
}
# The methods take turns ($replays rounds of scp, then walferry with each prefetch value), so a
# change in the machine's load hits them alike; each method's median is kept in result[KEY].
declare -A result=() runs_of=()
for ((i = 0; i < replays; i++)); do
  replay scp "$scp_from/%f %p"
  runs_of[scp]+="$REPLAY"$'\n'
  # The fastest restore_command there is: what recovery costs the server itself.
  replay "cp from a local directory" "cp $plain/%f %p"
  runs_of[cp]+="$REPLAY"$'\n'
  for p in "${prefetch_values[@]}"; do
    cfg=$E2E_WORK/fetch-$p-$i.toml
    e2e_mkdir "$E2E_WORK/spool-$p-$i"
    write_config "$cfg" "$p" "$E2E_WORK/spool-$p-$i"
    replay "walferry-fetch, prefetch = $p" "$fetch %f %p -c $cfg"
    runs_of[p$p]+="$REPLAY"$'\n'
  done
done
for key in "${!runs_of[@]}"; do
  result[$key]=$(printf '%s' "${runs_of[$key]}" | sort -n |
    awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
done

# --- not found: a name in neither archive, exit status 1 (checked once each)
missing=0000000100000000000000FF
restore=$E2E_WORK/restore
e2e_mkdir "$restore"
e2e_as_user mkdir "$E2E_WORK/spool-nf"
nf_cfg=$E2E_WORK/not-found.toml
write_config "$nf_cfg" "${prefetch_values[-1]}" "$E2E_WORK/spool-nf"
: | e2e_as_user tee "$E2E_WORK/empty.toml" >/dev/null
nf_local="$fetch $missing $restore/RECOVERYXLOG file://$archive"
nf_remote="$fetch $missing $restore/RECOVERYXLOG -c $nf_cfg"
nf_cp="cp $plain/$missing $restore/RECOVERYXLOG"
nf_scp="$scp_from/$missing $restore/RECOVERYXLOG"
for c in "$nf_cp" "$nf_local" "$nf_scp" "$nf_remote"; do
  status=0
  # shellcheck disable=SC2086 # word splitting wanted: no path here holds a space
  e2e_as_user env WALFERRY_CONFIG="$E2E_WORK/empty.toml" $c >/dev/null 2>&1 || status=$?
  expect_eq "exit status of '$c' for a missing file" 1 "$status"
done
[[ ! -e "$restore/RECOVERYXLOG" ]] || fail "a not-found call left $restore/RECOVERYXLOG"
note "not found: $runs runs each"
json=$E2E_WORK/not-found.json
e2e_as_user env WALFERRY_CONFIG="$E2E_WORK/empty.toml" hyperfine -N -i --runs "$runs" --warmup 3 \
  --export-json "$json" --style basic \
  -n "cp" "$nf_cp" \
  -n "walferry-fetch file://" "$nf_local" \
  -n "scp" "$nf_scp" \
  -n "walferry-fetch sftp://" "$nf_remote" >&2
# json_field KEY: the number under "KEY" of every hyperfine result, in command order, in ms.
json_field() { grep -o "\"$1\": *[0-9.e+-]*" "$json" | awk -F': *' '{ printf "%.1f\n", $2 * 1000 }'; }
mapfile -t nf < <(json_field median)
# Mean user + system CPU time: what the call costs, less disturbed than wall time on a busy machine.
mapfile -t nf_cpu < <(paste <(json_field user) <(json_field system) | awk '{ printf "%.1f\n", $1 + $2 }')

# replay_row LABEL KEY: one line of the replay table.
replay_row() {
  local wall start redo restored cpu calls in_command call_median scp_wall scp_in_command
  read -r wall start redo restored cpu calls in_command call_median <<<"${result[$2]}"
  read -r scp_wall _ _ _ _ _ scp_in_command _ <<<"${result[scp]}"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$restored" \
    "$(seconds "$wall")" "$(ratio3 "$wall" "$scp_wall")" "$(seconds "$start")" \
    "$(seconds $((redo - start)))" "$(seconds $((wall - redo)))" \
    "$(awk -v ms=$((redo - start)) -v n="$restored" 'BEGIN { printf "%.0f", ms / n }')" "$cpu" \
    "$calls" "$(seconds "$in_command")" "$(ratio3 "$in_command" "$scp_in_command")" "$call_median"
}

cat <<EOF

## Fetching over SFTP (sshd on ${SSHD_HOST[sb1]}, same machine)

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $("$fetch" --version | head -n 1),
$(ssh -V 2>&1 | cut -d, -f1), $(hyperfine --version).
Recovery of a base backup through the $written segments pgbench -i -s $scale wrote after it
(recovery.signal, no target: to the end of the archive), median of $replays each.
Settings of the recovering server beyond initdb's: ${WALFERRY_BENCH_SETTINGS:-none}.
Seconds from \`pg_ctl start\` to the end of recovery (pg_is_in_recovery() false), split into
start-up (to "starting archive recovery": the server's start and a not-found 00000002.history),
redo (to "redo done": every segment restored and replayed, the next one not found) and the end
(the last segment restored again, 00000002.history again, timeline switch, end-of-recovery
checkpoint). Then the restore_command calls of the whole recovery and the seconds the server
waited on them (the sum of their wall times), and the median call.

| restore_command | segments restored in redo | s to end of recovery | × scp | start-up s | redo s | end s | ms per segment (redo) | startup process CPU s (redo) | calls | s in restore_command | × scp | median call ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(replay_row "one \`scp\` per segment (plain segments)" scp)
$(replay_row "\`cp\` from a local directory (plain segments; the server's own cost)" cp)
$(for p in "${prefetch_values[@]}"; do
  replay_row "walferry-fetch, sftp://, prefetch = $p" "p$p"
done)

Target: ≤ 0.1× the \`scp\` time.

| not found ($missing, exit 1; hyperfine -N, $runs runs) | median ms | × baseline | CPU ms (user+sys, mean) | target ms |
|---|---:|---:|---:|---:|
| \`cp\` from a local directory | ${nf[0]} | 1.00 | ${nf_cpu[0]} | |
| walferry-fetch, file:// | ${nf[1]} | $(ratio "${nf[1]}" "${nf[0]}") | ${nf_cpu[1]} | ≤ 5 |
| \`scp\` from sshd | ${nf[2]} | 1.00 | ${nf_cpu[2]} | |
| walferry-fetch, sftp:// | ${nf[3]} | $(ratio "${nf[3]}" "${nf[2]}") | ${nf_cpu[3]} | |
EOF
