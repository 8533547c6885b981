#!/usr/bin/env bash
# Catching up after an outage: a real PostgreSQL 15 primary bulk-loads (`pgbench -i -s SCALE`)
# with archive_mode = on and archive_command empty, so every segment of the load waits as .ready
# in pg_wal/archive_status; then archive_command is set (ALTER SYSTEM, pg_reload_conf()) and the
# .ready backlog is counted every 100 ms until it is gone. Each method drains the same backlog
# twice: quiet (nothing else runs), and under a concurrent pgbench run that measures what the
# database itself still gets done. Methods, side by side in one run:
#   floor:  `true`, what the archiver itself costs per segment (fork and exec of a shell and the
#           command, the .ready -> .done rename with its fsyncs): no archive_command drains faster;
#   local:  walferry-push to a directory (look-ahead batching), pgBackRest archive-push with
#           archive-async=y process-max=2 compress-type=lz4 to a local repository, and
#           `test ! -f DIR/%f && cp %p DIR/%f`;
#   SFTP:   walferry-push with two sftp:// destinations (sshd on 127.0.0.2 and 127.0.0.3,
#           tests/e2e/sshd_lib.sh) and one `scp` per segment to each host.
# One load per round; after each drain archive_command is emptied again, the archives and spools
# are emptied, and the load's segments (still in pg_wal: no checkpoint ran since) are made .ready
# again, so every method drains the very same segments. Prints a markdown table (medians over the
# rounds, ratios) and draws the backlog over time of every method into a PNG with gnuplot.
# See bench/README.md.
#
# Usage (as root, after a build): bash bench/drain.sh [BIN_DIR]
# Environment: WALFERRY_BENCH_SCALE (pgbench -i scale, default 150: about 116 segments),
# WALFERRY_BENCH_REPEATS (rounds of the local methods, default 3), WALFERRY_BENCH_SFTP_REPEATS
# (rounds of the SFTP methods, default 1), WALFERRY_BENCH_DRAIN_CAP (seconds after which a drain
# is stopped and its rate taken from what it drained so far, default 30: scp needs minutes),
# WALFERRY_BENCH_TPS_MODE (the concurrent pgbench: select-only, the default, or simple-update),
# WALFERRY_BENCH_CLIENTS (its clients and threads, default 2), WALFERRY_BENCH_METHODS (default
# "true walferry pgbackrest cp walferry-sftp scp"), WALFERRY_BENCH_BASELINE (seconds of the
# pgbench run without archiving before each drain under pgbench, default 5), WALFERRY_BENCH_OUT (the PNG and its data, default
# bench/results), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
scale=${WALFERRY_BENCH_SCALE:-150}
repeats=${WALFERRY_BENCH_REPEATS:-3}
sftp_repeats=${WALFERRY_BENCH_SFTP_REPEATS:-1}
tps_mode=${WALFERRY_BENCH_TPS_MODE:-select-only}
clients=${WALFERRY_BENCH_CLIENTS:-2}
read -r -a methods <<<"${WALFERRY_BENCH_METHODS:-true walferry pgbackrest cp walferry-sftp scp}"
out_dir=${WALFERRY_BENCH_OUT:-$bench_repo/bench/results}
drain_cap=${WALFERRY_BENCH_DRAIN_CAP:-30}
baseline_s=${WALFERRY_BENCH_BASELINE:-5}
case $tps_mode in
  select-only) tps_flag=-S ;;
  simple-update) tps_flag=-N ;;
  *) fail "WALFERRY_BENCH_TPS_MODE must be select-only or simple-update, not '$tps_mode'" ;;
esac
for tool in pgbackrest gnuplot scp; do
  command -v "$tool" >/dev/null || fail "$tool not found (see bench/README.md)"
done
mkdir -p "$out_dir"

e2e_setup walferry-push
sshd_setup
push=$(walferry_bin walferry-push)

# The concurrent pgbench runs in the background; its pid is stopped at exit before the servers.
PGBENCH_PID=""
bench_previous_exit_trap=""
bench_on_exit() {
  local status=$1
  set +e
  if [[ -n "$PGBENCH_PID" ]]; then
    kill -TERM "$PGBENCH_PID" 2>/dev/null
    wait "$PGBENCH_PID" 2>/dev/null
  fi
  # No archive_command at shutdown: the archiver would otherwise try the rest of the backlog
  # against destinations already stopped, and the fast stop would wait for it.
  if [[ -n "${E2E_NODE_DATA[primary]:-}" && -f "${E2E_NODE_DATA[primary]}/postmaster.pid" ]]; then
    set_archive_command "" >/dev/null 2>&1
  fi
  (exit "$status")
  eval "$bench_previous_exit_trap"
}
eval "exit_words=($(trap -p EXIT))"
# shellcheck disable=SC2154 # set by the eval above
bench_previous_exit_trap=${exit_words[2]:-}
trap 'bench_on_exit $?' EXIT

need_sftp=0
for m in "${methods[@]}"; do
  case $m in
    true | walferry | pgbackrest | cp) ;;
    walferry-sftp | scp) need_sftp=1 ;;
    *) fail "unknown method '$m' in WALFERRY_BENCH_METHODS" ;;
  esac
done
if ((need_sftp)); then
  sshd_start sb1 127.0.0.2
  sshd_start sb2 127.0.0.3
fi

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- the primary: archive_mode on, archive_command empty (WAL piles up as .ready), no checkpoint
# by size or time during a load (one is forced after it, before the drain).
pg_init_node primary
pg_set primary "archive_mode = on" "archive_command = ''" "archive_timeout = 0" \
  "max_wal_size = '32GB'" "checkpoint_timeout = '1h'"
pg_start primary
status_dir=${E2E_NODE_DATA[primary]}/pg_wal/archive_status

# --- pgBackRest: its own repository, spool, lock and log dirs in the work dir, owned by the
# database user (archive_command runs as that user), stanza created against the running server.
pgbr=$E2E_WORK/pgbackrest
e2e_mkdir "$pgbr/repo" "$pgbr/log" "$pgbr/lock" "$pgbr/spool"
e2e_as_user tee "$pgbr/pgbackrest.conf" >/dev/null <<EOF
[global]
repo1-path=$pgbr/repo
log-path=$pgbr/log
lock-path=$pgbr/lock
spool-path=$pgbr/spool
log-level-console=warn
log-level-stderr=warn
log-level-file=off
compress-type=lz4
archive-async=y
process-max=2

[bench]
pg1-path=${E2E_NODE_DATA[primary]}
pg1-port=${E2E_NODE_PORT[primary]}
pg1-socket-path=$E2E_WORK/primary
pg1-user=$E2E_USER
EOF
pgbr_cmd="pgbackrest --config=$pgbr/pgbackrest.conf --stanza=bench"
# shellcheck disable=SC2086 # the command's words
e2e_as_user $pgbr_cmd stanza-create >"$pgbr/stanza-create.log" 2>&1 ||
  { cat "$pgbr/stanza-create.log" >&2; fail "pgbackrest stanza-create failed"; }

# --- the archives, made empty again before every drain (outside the timed part)
local_archive=$E2E_WORK/archive
cp_dir=$E2E_WORK/cp
spool=$E2E_WORK/spool
if ((need_sftp)); then
  ssh_opts="-q -i $SSHD_USER_KEY -o UserKnownHostsFile=$SSHD_KNOWN_HOSTS -o BatchMode=yes"
  scp_command="scp $ssh_opts -P ${SSHD_PORT[sb1]} %p $E2E_USER@${SSHD_HOST[sb1]}:$E2E_WORK/sb1/scp/%f"
  scp_command+=" && scp $ssh_opts -P ${SSHD_PORT[sb2]} %p $E2E_USER@${SSHD_HOST[sb2]}:$E2E_WORK/sb2/scp/%f"
fi
cfg_local=$E2E_WORK/local.toml
cfg_sftp=$E2E_WORK/sftp.toml
printf 'spool = "%s"\n[[destination]]\nname = "local"\nurl = "file://%s"\n' "$spool" \
  "$local_archive" | e2e_as_user tee "$cfg_local" >/dev/null
if ((need_sftp)); then
  {
    printf 'spool = "%s"\n' "$spool"
    sshd_destination sb1 "$E2E_WORK/sb1/walferry"
    sshd_destination sb2 "$E2E_WORK/sb2/walferry"
  } | e2e_as_user tee "$cfg_sftp" >/dev/null
fi

# archive_command_of METHOD
archive_command_of() {
  case $1 in
    true) printf 'true' ;;
    walferry) printf '%s -c %s %%p' "$push" "$cfg_local" ;;
    pgbackrest) printf '%s archive-push %%p' "$pgbr_cmd" ;;
    cp) printf 'test ! -f %s/%%f && cp %%p %s/%%f' "$cp_dir" "$cp_dir" ;;
    walferry-sftp) printf '%s -c %s %%p' "$push" "$cfg_sftp" ;;
    scp) printf '%s' "$scp_command" ;;
  esac
}
# label_of METHOD: the table's and the plot's name for it.
label_of() {
  case $1 in
    true) echo "true (floor: the archiver alone)" ;;
    walferry) echo "walferry-push, local directory" ;;
    pgbackrest) echo "pgBackRest archive-async, process-max=2, lz4" ;;
    cp) echo "test ! -f && cp" ;;
    walferry-sftp) echo "walferry-push, two sftp hosts" ;;
    scp) echo "scp to each of two hosts" ;;
  esac
}
# reset_archives: every destination empty (pgBackRest keeps its archive.info), spools fresh
# (pgBackRest's too: its .ok files would answer the next drain's calls).
reset_archives() {
  rm -rf "$local_archive" "$cp_dir" "$spool" "$E2E_WORK"/sb[12]/walferry "$E2E_WORK"/sb[12]/scp
  rm -rf "${pgbr:?}/spool/"*
  find "$pgbr/repo/archive/bench" -mindepth 2 -maxdepth 2 -type d -name '[0-9A-F]*' \
    -exec rm -rf {} + 2>/dev/null || true
  e2e_mkdir "$local_archive" "$cp_dir" "$spool"
  ((need_sftp)) && e2e_mkdir "$E2E_WORK"/sb{1,2}/{walferry,scp}
  return 0
}
# stored METHOD NAME: true if the method's destinations hold WAL file NAME.
stored() {
  local n=$2
  case $1 in
    true) ;;
    walferry) [[ -f "$local_archive/$n.zst" ]] ;;
    pgbackrest) compgen -G "$pgbr/repo/archive/bench/15-1/${n:0:16}/$n-*" >/dev/null ;;
    cp) [[ -f "$cp_dir/$n" ]] ;;
    walferry-sftp) [[ -f "$E2E_WORK/sb1/walferry/$n.zst" && -f "$E2E_WORK/sb2/walferry/$n.zst" ]] ;;
    scp) [[ -f "$E2E_WORK/sb1/scp/$n" && -f "$E2E_WORK/sb2/scp/$n" ]] ;;
  esac
}

# set_archive_command COMMAND: ALTER SYSTEM, then pg_reload_conf() (the archiver wakes up on it).
set_archive_command() {
  pg_sql primary "ALTER SYSTEM SET archive_command = '${1//\'/\'\'}'" >/dev/null
  pg_sql primary "SELECT pg_reload_conf()" >/dev/null
}

# ready_count: the .ready files now (a glob, no fork: sampled every 100 ms).
ready_count() {
  local f=("$status_dir"/*.ready)
  echo "${#f[@]}"
}
shopt -s nullglob


# load: a fresh bulk load with archiving off, then a checkpoint (so none falls into a drain: the
# next one is an hour or 32 GB of WAL away). Sets READY to the names waiting as .ready.
load() {
  pg_bench primary -i -q -s "$scale" >>"$E2E_WORK/pgbench-init.log" 2>&1 ||
    { tail -n 20 "$E2E_WORK/pgbench-init.log" >&2; fail "pgbench -i failed"; }
  pg_sql primary "CHECKPOINT" >/dev/null
  sync
  READY=("$status_dir"/*.ready)
  READY=("${READY[@]##*/}")
  READY=("${READY[@]%.ready}")
  ((${#READY[@]} > 0)) || fail "the load left no .ready segment"
}

# restore_backlog: the load's segments .ready again before a drain (PostgreSQL's archiver scans archive_status
# afresh at every start of its loop; nothing else of the server knows a segment was archived,
# and no checkpoint ran since the load, so every segment is still in pg_wal).
restore_backlog() {
  local name
  for name in "${READY[@]}"; do
    [[ -f "${status_dir%/archive_status}/$name" ]] || fail "segment $name left pg_wal"
    [[ -f "$status_dir/$name.done" ]] && mv "$status_dir/$name.done" "$status_dir/$name.ready"
  done
  return 0
}

# archiver_idle: true when the archiver runs no archive_command (has no child process).
archiver_idle() {
  local pid
  pid=$(pg_sql primary "SELECT pid FROM pg_stat_activity WHERE backend_type = 'archiver'")
  [[ -n "$pid" ]] && ! pgrep -P "$pid" >/dev/null
}
# no_pgbr_async: true when no process holds one of pgBackRest's locks (its async archiver, a
# daemon of its own, exits once its queue is empty).
no_pgbr_async() {
  local lock
  for lock in "$pgbr/lock"/*.lock; do
    flock -n "$lock" true || return 1
  done
  return 0
}

# start_pgbench LOG: the concurrent pgbench, until stop_pgbench; returns once its clients are in.
start_pgbench() {
  pg_bench primary -n "$tps_flag" -c "$clients" -j "$clients" -T 3600 >"$1" 2>&1 &
  PGBENCH_PID=$!
  pg_wait_sql primary 60 "SELECT count(*) = $clients FROM pg_stat_activity WHERE application_name = 'pgbench'"
}
# stop_pgbench LOG: its clients' connections ended from the server (pgbench then reports what it
# did until then and exits 2, "Run was aborted"); sets TPS_NOW to its tps.
stop_pgbench() {
  pg_sql primary "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'pgbench'" >/dev/null
  wait "$PGBENCH_PID" || true
  PGBENCH_PID=""
  TPS_NOW=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$1")
  [[ -n "$TPS_NOW" ]] || { cat "$1" >&2; fail "pgbench printed no tps"; }
}

# baseline LABEL: pgbench for $baseline_s s with nothing archiving (the backlog waiting), just
# before a drain under pgbench (the machine's load drifts).
declare -a base_tps=()
baseline() {
  local log=$E2E_WORK/pgbench-baseline.$1.log
  pg_bench primary -n "$tps_flag" -c "$clients" -j "$clients" -T "$baseline_s" >"$log" 2>&1 ||
    { cat "$log" >&2; fail "baseline pgbench failed"; }
  base_tps+=("$(awk '/^tps = / { printf "%.0f", $3; exit }' "$log")")
  note "baseline (no archiving) before $1: ${base_tps[-1]} tps"
}

# drain METHOD MODE ROUND: switch METHOD's archive_command on (MODE quiet: nothing else runs;
# load: the concurrent pgbench) and count the backlog every 100 ms until it is gone or the cap is
# reached; then archive_command off again, the archiver idle, the archives emptied and the
# backlog restored. Appends "segments drained ms tps" to RESULT[METHOD.MODE] (tps 0 when quiet);
# the samples go to samples/METHOD.MODE.ROUND.
declare -A RESULT=()
samples=$E2E_WORK/samples
mkdir -p "$samples"
drain() {
  local m=$1 mode=$2 r=$3 data=$samples/$1.$2.$3 log=$E2E_WORK/pgbench-$1.$2.$3.log
  local t0 now count n0 failed0 failed1 ms=0 name missing=0 tps=0 done_n base_now=0
  restore_backlog
  n0=$(ready_count)
  failed0=$(pg_sql primary "SELECT failed_count FROM pg_stat_archiver")
  if [[ "$mode" == load ]]; then
    baseline "$m.$r"
    base_now=${base_tps[-1]}
    start_pgbench "$log"
  fi
  t0=${EPOCHREALTIME/./}
  set_archive_command "$(archive_command_of "$m")"
  printf '0 %s\n' "$n0" >"$data"
  while :; do
    now=${EPOCHREALTIME/./}
    count=$(ready_count)
    ms=$(((now - t0) / 1000))
    printf '%s %s\n' "$ms" "$count" >>"$data"
    ((count > 0 && ms < drain_cap * 1000)) || break
    sleep 0.1
  done
  if [[ "$mode" == load ]]; then
    stop_pgbench "$log"
    tps=$TPS_NOW
  fi
  set_archive_command ""
  e2e_wait_for 300 "the archiver to finish its last archive_command" archiver_idle
  [[ "$m" == pgbackrest ]] && e2e_wait_for 120 "pgBackRest's async archiver to exit" no_pgbr_async
  failed1=$(pg_sql primary "SELECT failed_count FROM pg_stat_archiver")
  done_n=$((n0 - count))
  for name in "${READY[@]}"; do
    [[ -f "$status_dir/$name.done" ]] || continue
    stored "$m" "$name" || missing=$((missing + 1))
  done
  ((missing == 0)) || fail "$m: $missing segments marked .done are not in the archive"
  ((failed1 == failed0)) || note "$m: $((failed1 - failed0)) failed archive_command calls"
  RESULT[$m.$mode]+="$done_n $ms $tps $count $base_now"$'\n'
  note "$(label_of "$m"), $mode, round $r: $done_n of $n0 segments in $ms ms ($(rate "$done_n" "$ms") segments/s)$( ((count == 0)) || echo ", capped")$([[ "$mode" == load ]] && echo ", $tps tps")"
  reset_archives
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.1f", n * 1000 / ms }'; }

note "pgbench -i -s $scale; methods: ${methods[*]}; $repeats local and $sftp_repeats SFTP rounds"
rounds=$((repeats > sftp_repeats ? repeats : sftp_repeats))
for ((r = 1; r <= rounds; r++)); do
  reset_archives
  load
  note "round $r: pgbench -i -s $scale left ${#READY[@]} segments .ready"
  # The methods take turns, starting one later each round.
  for ((i = 0; i < ${#methods[@]}; i++)); do
    m=${methods[(i + r - 1) % ${#methods[@]}]}
    case $m in
      walferry-sftp | scp) ((r <= sftp_repeats)) || continue ;;
      *) ((r <= repeats)) || continue ;;
    esac
    drain "$m" quiet "$r"
    drain "$m" load "$r"
  done
  # What a capped drain left is not the next round's backlog.
  for name in "${READY[@]}"; do
    [[ -f "$status_dir/$name.ready" ]] && mv "$status_dir/$name.ready" "$status_dir/$name.done"
  done
done
pg_stop primary

# --- medians, ratios, the table
# field KEY COLUMN: that column (1 segments drained, 2 ms, 3 tps, 4 segments left at the cap,
# 5 the baseline tps just before) of every round of KEY.
field() { printf '%s' "${RESULT[$1]:-}" | awk -v c="$2" 'NF { print $c }'; }
# rate_median KEY: the median over the rounds of each round's segments/s.
rate_median() { printf '%s' "${RESULT[$1]:-}" | awk 'NF { printf "%.2f\n", $1 * 1000 / $2 }' | median; }
base=$(printf '%.0f' "$(printf '%s\n' "${base_tps[@]}" | median)")
times_of() { [[ -n "${RESULT[$2]:-}" ]] && ratio "$(rate_median "$1")" "$(rate_median "$2")" || echo "–"; }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
# capped_mark KEY: " (capped)" if a drain of KEY was stopped at the cap (its rate is that of
# what it drained until then).
capped_mark() { printf '%s' "${RESULT[$1]:-}" | awk 'NF && $4 > 0 { c = 1 } END { if (c) printf " (capped)" }'; }
# row METHOD REF: the table's line for METHOD, REF (cp or scp) its plain-tool reference.
row() {
  local m=$1 ref=$2 q=$1.quiet l=$1.load tps share lost
  tps=$(printf '%.0f' "$(field "$l" 3 | median)")
  # Against the baseline measured just before (the machine's load drifts): tps over baseline, the
  # transactions the database lost per segment archived, (baseline - tps) x drain time / segments.
  share=$(printf '%s' "${RESULT[$l]}" | awk 'NF { printf "%.3f\n", $3 / $5 }' | median)
  lost=$(printf '%s' "${RESULT[$l]}" | awk 'NF && $1 > 0 { printf "%.1f\n", ($5 - $3) * $2 / 1000 / $1 }' | median)
  printf '| %s | %s | %s | %s%s | %.1f | %s | %s | %s%s | %.1f | %s | %s | %s | %s | %s |\n' \
    "$(label_of "$m")" "$(field "$q" 2 | wc -l)" \
    "$(printf '%s' "${RESULT[$q]}" | awk 'NF { print $1 + $4 }' | median)" \
    "$(seconds "$(field "$q" 2 | median)")" "$(capped_mark "$q")" "$(rate_median "$q")" \
    "$(times_of "$q" pgbackrest.quiet)" "$(times_of "$q" "$ref.quiet")" \
    "$(seconds "$(field "$l" 2 | median)")" "$(capped_mark "$l")" "$(rate_median "$l")" \
    "$(times_of "$l" pgbackrest.load)" "$(times_of "$l" "$ref.load")" \
    "$tps" "$(printf '%.2f' "$share")" "$([[ -n "$lost" ]] && printf '%.0f' "$lost" || echo "–")"
}
backlog=${#READY[@]}
cat <<EOF

## Draining the .ready backlog of \`pgbench -i -s $scale\` ($backlog segments)

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $(df -T "$E2E_WORK" | awk 'NR == 2 { print $2 }'),
$("$push" --version | head -n 1), $(pgbackrest version), PostgreSQL $("$(pg_bin postgres)" --version | awk '{ print $3 }').
Quiet: nothing else runs. Under pgbench: a concurrent \`pgbench $tps_flag -c $clients -j $clients\`
($tps_mode) for the whole drain; baseline without archiving: $base tps (median of
${#base_tps[@]} runs of $baseline_s s, one just before each drain under pgbench; "× baseline tps" and the
transactions lost are taken against that drain's own). Medians over the rounds; a drain not done
after ${drain_cap} s is stopped (capped) and its rate is that of the segments it archived until then.

| method | rounds | backlog | quiet: drain s | segments/s | × pgBackRest | × cp / scp | under pgbench: drain s | segments/s | × pgBackRest | × cp / scp | tps during drain | × baseline tps | transactions lost per segment |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
for m in true walferry pgbackrest cp; do [[ -n "${RESULT[$m.quiet]:-}" ]] && row "$m" cp; done
for m in walferry-sftp scp; do [[ -n "${RESULT[$m.quiet]:-}" ]] && row "$m" scp; done
echo

# --- the plot: the median round of each method and mode (by drain time); local and SFTP rows,
# quiet and under-pgbench columns.
# colour_of METHOD: the same colour in every panel.
colour_of() {
  case $1 in
    true) echo "rgb '#808080'" ;;
    walferry | walferry-sftp) echo "rgb '#d62728'" ;;
    pgbackrest) echo "rgb '#1f77b4'" ;;
    cp | scp) echo "rgb '#2ca02c'" ;;
  esac
}
# median_round KEY: the round whose drain time is the median (the lower one of two).
median_round() {
  printf '%s' "${RESULT[$1]}" | awk 'NF { print $2, NR }' | sort -n |
    awk '{ r[NR] = $2 } END { print r[int((NR + 1) / 2)] }'
}
plot_data=$out_dir/drain.dat
: >"$plot_data"
declare -A PLOTS=()
index=0
for mode in quiet load; do
  for m in "${methods[@]}"; do
    [[ -n "${RESULT[$m.$mode]:-}" ]] || continue
    round=$(median_round "$m.$mode")
    {
      printf '# %s, %s (round %s)\n' "$(label_of "$m")" "$mode" "$round"
      awk '{ printf "%.1f %s\n", $1 / 1000, $2 }' "$samples/$m.$mode.$round"
      printf '\n\n'
    } >>"$plot_data"
    case $m in
      walferry-sftp | scp) group=sftp.$mode ;;
      *) group=local.$mode ;;
    esac
    PLOTS[$group]+="${PLOTS[$group]:+, }'$plot_data' index $index using 1:2 with steps lw 2 lc $(colour_of "$m") title '$(label_of "$m")'"
    index=$((index + 1))
  done
done
png=$out_dir/drain.png
rows=0
[[ -n "${PLOTS[local.quiet]:-}" ]] && rows=$((rows + 1))
[[ -n "${PLOTS[sftp.quiet]:-}" ]] && rows=$((rows + 1))
{
  printf 'set terminal pngcairo size 1400,%d font "sans,10"\n' $((380 * rows + 40))
  printf "set output '%s'\n" "$png"
  printf 'set multiplot layout %d,2 title "pg_wal .ready backlog after archive_command is switched on (pgbench -i -s %s: %s segments; %s)" noenhanced\n' \
    "$rows" "$scale" "$backlog" "$(date -u +%Y-%m-%d)"
  echo 'set xlabel "seconds since pg_reload_conf()" noenhanced'
  echo 'set ylabel ".ready segments" noenhanced'
  echo 'set grid'
  echo 'set key bottom left noenhanced'
  printf 'set yrange [0:%d]\n' $((backlog + backlog / 10))
  for group in local sftp; do
    [[ -n "${PLOTS[$group.quiet]:-}" ]] || continue
    where="local: a directory, a pgBackRest repository"
    [[ $group == sftp ]] && where="two SFTP hosts (sshd on 127.0.0.2 and 127.0.0.3)"
    printf 'set title "%s, quiet" noenhanced\nplot %s\n' "$where" "${PLOTS[$group.quiet]}"
    printf 'set title "%s, under pgbench (%s)" noenhanced\nplot %s\n' "$where" "$tps_mode" \
      "${PLOTS[$group.load]}"
  done
  echo 'unset multiplot'
} >"$E2E_WORK/drain.gp"
gnuplot "$E2E_WORK/drain.gp" || fail "gnuplot failed"
note "plot: $png (data: $plot_data)"
