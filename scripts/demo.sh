#!/usr/bin/env bash
# The live demo, for a fresh Debian 12 machine, as root: installs the dependencies, builds a
# release, then runs walferry's main job with real PostgreSQL 15 and real sshd and narrates it:
# a primary under pgbench pushes every WAL file with walferry-push to two standby hosts over
# SFTP (sshd on 127.0.0.2 and 127.0.0.3) and to a local directory in parallel (one
# walferry.toml, required = 1); a streaming standby has the archive as fallback, a warm standby
# replays from the archive alone with walferry-fetch and prefetch; one standby host's sshd is
# stopped for a while and caught up from the backlog; the primary is lost, the streaming standby
# promoted, the warm standby follows the new timeline through the archive; walferry-cleanup
# removes what neither standby needs; the data are compared; the PostgreSQL servers stop and
# walferry-status shows the archives (exit 0 expected; skipped where it is not built).
# PostgreSQL runs as an unprivileged user; every server listens on loopback only and is stopped
# by its PID at the end, also on failure or Ctrl-C (the traps of tests/e2e/lib.sh and
# sshd_lib.sh). WALFERRY_KEEP=1 keeps the work dir.
# WALFERRY_DEMO_SECONDS sets the length of each of the four pgbench runs (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${WALFERRY_DEMO_SECONDS:-8}

if ((EUID == 0)); then
  bash scripts/install-deps.sh
else
  echo "not root: skipping scripts/install-deps.sh (run it as root if something is missing)" >&2
fi
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
# Only the programs the demo runs (scripts/test.sh builds and runs the tests).
targets=(walferry-push walferry-fetch walferry-cleanup)
if cmake --build build/release --target help | grep -q '^walferry-status:'; then
  targets+=(walferry-status)
fi
cmake --build build/release -j"$(nproc)" --target "${targets[@]}"

exec 2>&1 # one narration stream, in order, even through a pipe
export WALFERRY_BIN_DIR=$PWD/build/release/bin
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
# shellcheck source=tests/e2e/sshd_lib.sh
source tests/e2e/sshd_lib.sh

# say TEXT: narration on stdout.
say() { printf '   %s\n' "$*"; }
# indent: a command's output, shifted under the narration.
indent() { sed 's/^/     /'; }
# human BYTES: a size in MiB with one decimal.
human() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# short TEXT: TEXT with the work dir written as $WORK.
short() { printf '%s\n' "${1//"$E2E_WORK"/\$WORK}"; }

e2e_setup "${targets[@]}"
sshd_setup
start=$SECONDS
PUSH=$(walferry_bin walferry-push)
FETCH=$(walferry_bin walferry-fetch)
CLEANUP=$(walferry_bin walferry-cleanup)
cfg=$E2E_WORK/walferry.toml
warm_cfg=$E2E_WORK/warm.toml
spool=$E2E_WORK/spool
declare -A archive=([sb1]=$E2E_WORK/sb1/archive [sb2]=$E2E_WORK/sb2/archive
  [local]=$E2E_WORK/local/archive)
dests=(sb1 sb2 local)
e2e_mkdir "${archive[@]}"

# write_config FILE SPOOL [TOML_LINE...] -- DESTINATION...: a walferry.toml with that spool, the
# lines given (top-level keys) and [fetch] prefetch = 8, then the destinations named.
write_config() {
  local file=$1 dir=$2 dest
  shift 2
  {
    printf 'spool = "%s"\n' "$dir"
    while [[ "$1" != -- ]]; do printf '%s\n' "$1" && shift; done
    printf '[fetch]\nprefetch = 8\n'
    for dest in "${@:2}"; do
      if [[ "$dest" == local ]]; then
        printf '[[destination]]\nname = "local"\nurl = "file://%s"\n' "${archive[local]}"
      else
        sshd_destination "$dest" "${archive[$dest]}"
      fi
    done
  } >"$file"
  chmod 644 "$file"
}

# files DEST: the archived files (.zst) in DEST's archive directory, one name a line, sorted.
files() { find "${archive[$1]}" -maxdepth 1 -type f -name '*.zst' -printf '%f\n' | LC_ALL=C sort; }
# count DEST: how many.
count() { files "$1" | wc -l; }
# same_everywhere: the three archives hold the same files.
same_everywhere() { [[ "$(files sb1)" == "$(files local)" && "$(files sb2)" == "$(files local)" ]]; }
# backlog_files / backlog_bytes: what this host's spool holds for destinations that missed files.
backlog_files() { find "$spool/backlog" -type f -name '*.zst' 2>/dev/null | wc -l; }
backlog_bytes() {
  find "$spool/backlog" -type f -name '*.zst' -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}
backlog_empty() { (($(backlog_files) == 0)); }
# lsn NODE: where a primary writes, or a standby has replayed to ("-" when it is not running).
lsn() {
  pg_is_running "$1" || { echo -; return 0; }
  pg_sql "$1" "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                 ELSE pg_current_wal_lsn() END"
}
# progress: one line: where the primary and each standby are, files per archive, the backlog.
progress() {
  local node line
  line=$(printf '%4ds  %s %-10s' $((SECONDS - start)) "$primary" "$(lsn "$primary")")
  for node in "${standbys[@]}"; do line+=$(printf '  %s %-10s' "$node" "$(lsn "$node")"); done
  printf '   %s | files: sb1 %3d  sb2 %3d  local %3d | backlog %d\n' "$line" "$(count sb1)" \
    "$(count sb2)" "$(count local)" "$(backlog_files)"
}
# load SECONDS: pgbench (4 clients) on the primary, a progress line every 2 s.
load() {
  local log=$E2E_WORK/pgbench.log bench
  pg_bench "$primary" -n -c 4 -j 2 -T "$1" >"$log" 2>&1 &
  bench=$!
  while kill -0 "$bench" 2>/dev/null; do
    sleep 2
    progress
  done
  wait "$bench" || { cat "$log"; fail "pgbench failed"; }
  say "pgbench: $(grep -E '^tps' "$log" | head -n 1)"
}
# in_every_archive_named NAME: every archive holds NAME.
in_every_archive_named() {
  local dest
  for dest in "${dests[@]}"; do [[ -f "${archive[$dest]}/$1.zst" ]] || return 1; done
}
# backlog_at_least MIN: the backlog holds at least MIN files.
backlog_at_least() { (($(backlog_files) >= $1)); }
# drained: walferry-push --drain (quiet), then true if the backlog is empty.
drained() {
  e2e_as_user "$PUSH" --drain -c "$cfg" >/dev/null 2>&1 || true
  backlog_empty
}
# drained_and CMD...: a --drain (quiet) first, then CMD: for waits on what a push that failed
# for one destination would leave in its backlog.
drained_and() {
  e2e_as_user "$PUSH" --drain -c "$cfg" >/dev/null 2>&1 || true
  "$@"
}
# timelines DEST: per timeline, the first and last segment and how many DEST's archive holds.
timelines() {
  files "$1" | sed -n 's/^\([0-9A-F]\{8\}\)\([0-9A-F]\{16\}\)\.zst$/\1 \1\2/p' |
    awk '$1 != tli { if (tli != "") print line; tli = $1; first = $2; n = 0 }
         { n++; t = tli; sub(/^0+/, "", t)
           line = sprintf("timeline %s: %s .. %s (%d segment%s)", t, first, $2, n, n == 1 ? "" : "s") }
         END { if (tli != "") print line }'
}
# cleanup_everywhere CONSUMER CUTOFF: walferry-cleanup --consumer on each archive, as every
# standby's archive_cleanup_command would; one line per archive; the removals in $E2E_WORK/removed.
cleanup_everywhere() {
  local dest out=$E2E_WORK/cleanup.log
  : >"$E2E_WORK/removed"
  for dest in "${dests[@]}"; do
    e2e_as_user "$CLEANUP" -d -c "$cfg" --consumer "$1" "$dest" "$2" 2>"$out" ||
      { cat "$out"; fail "walferry-cleanup --consumer $1 $dest $2 failed"; }
    grep '^walferry-cleanup: removing' "$out" >>"$E2E_WORK/removed" || true
    printf '     %-5s %s\n' "$dest" "$(sed -n 's/^walferry-cleanup: summary: \([^—]*\).*/\1/p' "$out")"
  done
}
# redo_file NODE: the WAL file of NODE's last checkpoint's (or restartpoint's) redo: the oldest
# it needs to start again, what PostgreSQL passes archive_cleanup_command as %r.
redo_file() { pg_sql "$1" "SELECT redo_wal_file FROM pg_control_checkpoint()"; }
# pid NODE: the postmaster's PID.
pid() { head -n 1 "${E2E_NODE_DATA[$1]}/postmaster.pid"; }

step "1. Two standby hosts: real sshd on 127.0.0.2 and 127.0.0.3, each with an archive directory"
sshd_start sb1 127.0.0.2
sshd_start sb2 127.0.0.3
for dest in sb1 sb2; do
  say "$dest  sshd PID ${SSHD_PID[$dest]}, $(short "$(sshd_url "$dest" "${archive[$dest]}")")"
done
say "local  $(short "${archive[local]}") on this host (WORK=$E2E_WORK)"
write_config "$cfg" "$spool" 'required = 1' -- sb1 sb2 local
say "one walferry.toml for the primary, the streaming standby and every tool run here:"
short "$(grep -v '^identity\|^known_hosts' "$cfg")" | indent
say "(and each sftp destination's identity and known_hosts: keys only, the host key must match)"
say "required = 1: a push succeeds once one destination holds the file; a destination that"
say "failed gets it in the spool's backlog, sent first by every later push"

step "2. The primary: PostgreSQL 15 on 127.0.0.1, archive_command = walferry-push"
primary=primary
pg_walferry_primary primary "-c $cfg"
pg_start primary
say "data directory   $(short "${E2E_NODE_DATA[primary]}") (running as user $E2E_USER), PID $(pid primary)"
say "listening on     ${E2E_NODE_HOST[primary]}:${E2E_NODE_PORT[primary]}"
say "archive_command  $(short "$(pg_sql primary "SHOW archive_command")")"
say "archive_timeout  $(pg_sql primary "SHOW archive_timeout") (a segment at least that often under load)"
pg_bench primary -i -q -s 2 >"$E2E_WORK/pgbench-init.log" 2>&1 ||
  { cat "$E2E_WORK/pgbench-init.log"; fail "pgbench -i failed"; }
say "pgbench -i -s 2: $(pg_sql primary "SELECT count(*) FROM pgbench_accounts") accounts"
switched=$(pg_walfile_name primary "$(pg_switch_wal primary)")
pg_wait_archived primary "$switched" 60
e2e_wait_for 60 "$switched in every archive" in_every_archive_named "$switched"
say "pg_switch_wal(): $switched archived; each file went to sb1, sb2 and local in parallel,"
say "compressed and checksummed: $(count sb1) files in each so far"

step "3. Two standbys from base backups, each registered as a cleanup consumer"
# backup_file: the newest backup history file the primary wrote (a base backup's start).
backup_file() {
  find "${E2E_NODE_DATA[primary]}/pg_wal" -maxdepth 1 -name '*.backup' -printf '%f\n' | sort | tail -n 1
}
pg_basebackup_node primary warm 127.0.0.1 -X none
warm_backup=$(backup_file)
write_config "$warm_cfg" "$E2E_WORK/spool-warm" -- sb1 sb2
pg_make_standby warm "$FETCH -v %f %p -c $warm_cfg"
# max_wal_size and checkpoint_timeout: no restartpoint but the one this demo asks for, so the
# warm standby's cleanup position below is the one narrated.
pg_set warm "wal_retrieve_retry_interval = '1s'" "recovery_target_timeline = 'latest'" \
  "max_wal_size = '8GB'" "checkpoint_timeout = '1h'"
say "warm:   base backup without WAL (-X none), standby.signal, no primary_conninfo:"
say "        every WAL byte comes from the archive"
say "        restore_command = '$(short "$FETCH -v %f %p -c $warm_cfg")'"
say "        warm.toml: the same destinations without the local directory (a fetch tries local"
say "        directories first, and prefetch is for remote ones): it restores over SFTP, the"
say "        next 8 segments fetched ahead in the background into its own spool"
pg_basebackup_node primary stream 127.0.0.1
stream_backup=$(backup_file)
pg_make_standby stream "$FETCH %f %p -c $cfg" "$(pg_conninfo primary)"
pg_set stream "wal_retrieve_retry_interval = '1s'" "recovery_target_timeline = 'latest'"
say "stream: base backup with its WAL, primary_conninfo: streams from the primary, and"
say "        restore_command = walferry-fetch with walferry.toml if streaming falls behind"
pg_start stream
pg_wait_sql stream 60 "SELECT count(*) = 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'"
say "stream: PID $(pid stream), streaming; warm starts later, to show a catch-up from the archive"
say "Each standby is registered as a consumer of each archive with its base backup, before it"
say "needs anything, so no cleanup removes what it will ask for (what is older than the first"
say "base backup no one needs: it goes now):"
say "walferry-cleanup --consumer warm ARCHIVE $warm_backup"
cleanup_everywhere warm "$warm_backup"
say "walferry-cleanup --consumer stream ARCHIVE $stream_backup"
cleanup_everywhere stream "$stream_backup"

step "4. Load: pgbench for ${seconds}s; the primary archives, stream streams"
standbys=(stream warm)
load "$seconds"

step "5. The warm standby starts, behind by what the archive got meanwhile"
pg_start warm
say "warm: PID $(pid warm); it catches up through walferry-fetch over SFTP"
started=$SECONDS
pg_switch_and_wait primary warm
restored=$(grep -c 'walferry-fetch: restored [0-9A-F]\{24\} from' "${E2E_NODE_LOG[warm]}" || true)
spooled=$(grep -c 'walferry-fetch: restored [0-9A-F]\{24\} from the prefetch spool' "${E2E_NODE_LOG[warm]}" || true)
say "caught up in $((SECONDS - started))s: replayed to $(lsn warm), $restored segments restored,"
say "$spooled of them from the prefetch spool (fetched ahead while it replayed)"
pg_sql primary "CHECKPOINT" >/dev/null
pg_switch_and_wait primary warm
pg_sql warm "CHECKPOINT" >/dev/null
warm_cutoff=$(redo_file warm)
say "a restartpoint on warm (CHECKPOINT): it would start again from $warm_cutoff; this is"
say "its last one in this demo (automatic ones are off on it), so it holds back cleanup below"

step "6. Standby host sb2 goes away (its sshd stopped): the primary goes on, sb2's files wait"
sshd_stop sb2
say "sshd sb2 stopped; pushes still succeed (required = 1: sb1 and local hold each file)"
say "and leave sb2 alone for 30 s after a failure instead of waiting on it every time"
load "$seconds"
pg_switch_and_wait primary warm
e2e_wait_for 60 "files in sb2's backlog" backlog_at_least 2
say "backlog for sb2: $(backlog_files) files, $(human "$(backlog_bytes)") compressed, in $(short "$spool")/backlog/sb2"
say "sb2 holds $(count sb2) files, sb1 $(count sb1), local $(count local)"
say "the warm standby still restores every segment from sb1; only its asks for one not archived"
say "yet wait for sb2's retries ([fetch] retries = 3), so it lagged a little behind"

step "7. sb2 is back: the backlog drains"
sshd_restart sb2
sshd_wait_answering sb2
say "sshd sb2 started again, PID ${SSHD_PID[sb2]}; $(backlog_files) files in its backlog"
say "walferry-push --drain (what every later push does first, oldest file first):"
drain_out=$(e2e_as_user "$PUSH" --drain -v -c "$cfg" 2>&1) ||
  { printf '%s\n' "$drain_out"; fail "walferry-push --drain failed"; }
if [[ -n "$drain_out" ]]; then
  indent <<<"$drain_out"
else
  say "(nothing left to send: the archiver's own pushes had sent it first)"
fi
say "backlog now: $(backlog_files) files; sb2 holds $(count sb2) files, sb1 $(count sb1), local $(count local)"
load "$seconds"
pg_switch_and_wait primary warm
e2e_wait_for 120 "an empty backlog" drained
e2e_wait_for 120 "the same files in the three archives" same_everywhere
say "backlog empty; sb1, sb2 and local hold the same $(count local) files"

step "8. The primary is lost; the streaming standby is promoted"
pg_switch_and_wait primary warm
primary_pid=$(pid primary)
pg_stop primary fast
say "primary (PID $primary_pid) stopped; its archiver had pushed every complete segment"
pg_promote stream
primary=stream standbys=(warm)
pg_sql stream "CHECKPOINT" >/dev/null
say "stream promoted: timeline $(pg_sql stream "SELECT timeline_id FROM pg_control_checkpoint()")," \
  "writing $(pg_sql stream "SELECT pg_walfile_name(pg_current_wal_lsn())")"
say "its archive_command is the same walferry-push with the same walferry.toml: nothing to edit"
e2e_wait_for 60 "00000002.history in every archive" drained_and in_every_archive_named 00000002.history
say "00000002.history in sb1, sb2 and local:"
zstd -q -d -c "${archive[local]}/00000002.history.zst" | indent
partial=$(files local | sed -n 's/\.zst$//; /\.partial$/p')
[[ -z "$partial" ]] || say "and $partial: timeline 1's last segment, as far as it was written"

step "9. The warm standby follows timeline 2 through the archive"
say "recovery_target_timeline = 'latest': it finds 00000002.history in the archive and goes on"
load "$seconds"
pg_switch_and_wait stream warm
e2e_wait_for 60 "warm to follow timeline 2" grep -q 'new target timeline is 2' "${E2E_NODE_LOG[warm]}"
say "warm's log: $(grep -o 'new target timeline is 2' "${E2E_NODE_LOG[warm]}" | head -n 1);" \
  "replayed to $(lsn warm), the new primary's $E2E_SWITCH_LSN"

step "10. Cleanup: a file goes only when every consumer is past it"
pg_sql stream "CHECKPOINT" >/dev/null
stream_cutoff=$(redo_file stream)
say "warm still needs $warm_cutoff on (its last restartpoint), stream, now the primary,"
say "$stream_cutoff on (its last checkpoint); each reports its position, as"
say "archive_cleanup_command = 'walferry-cleanup --consumer NAME ARCHIVE %r' does:"
say "walferry-cleanup --consumer warm ARCHIVE $warm_cutoff"
cleanup_everywhere warm "$warm_cutoff"
say "walferry-cleanup --consumer stream ARCHIVE $stream_cutoff"
cleanup_everywhere stream "$stream_cutoff"
removed=$(sed -n 's/^walferry-cleanup: removing file "\([^"]*\)".*/\1/p' "$E2E_WORK/removed" | sort -u)
if [[ -n "$removed" ]]; then
  say "removed $(head -n 1 <<<"$removed") .. $(tail -n 1 <<<"$removed"):" \
    "$(sed -n 's/^walferry-cleanup: removing file "[^"]*": //p' "$E2E_WORK/removed" | head -n 1)"
fi
say "kept in each archive ($(count local) files): the .history and .backup files and"
timelines local | indent
e2e_wait_for 120 "the same files in the three archives" drained_and same_everywhere

step "11. Data: the promoted server and the standby that followed it hold the same rows"
pg_switch_and_wait stream warm
stream_digest=$(pg_tables_digest stream)
warm_digest=$(pg_tables_digest warm)
# shellcheck disable=SC2001
paste -d '\n' <(sed 's/^/     stream  /' <<<"$stream_digest") <(sed 's/^/     warm    /' <<<"$warm_digest")
[[ "$stream_digest" == "$warm_digest" ]] || fail "the data differ"
say "identical"

step "12. The PostgreSQL servers stop; walferry-status looks at the archives"
say "(stopped first, so that no new WAL file arrives while it looks)"
for node in warm stream; do
  node_pid=$(pid "$node")
  pg_stop "$node" fast
  say "PostgreSQL $node (PID $node_pid) stopped"
done
e2e_wait_for 120 "an empty backlog" drained
e2e_wait_for 120 "the same files in the three archives" same_everywhere
stats=$(e2e_archive_verify "${archive[local]}")
raw=$(awk '$1 == "raw" { print $2 }' <<<"$stats")
stored=$(awk '$1 == "stored" { print $2 }' <<<"$stats")
say "sb1, sb2 and local hold the same $(count local) files:" \
  "$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 } NR == 4 { exit }' <<<"$stats");"
say "every file checked with plain 'zstd -d'; raw $(human "$raw"), stored $(human "$stored");" \
  "backlog empty"
# walferry-status: only where it was built (a checkout from before it skips this).
if [[ -x "$(walferry_bin walferry-status)" ]]; then
  say "walferry-status -c walferry.toml:"
  status=0
  e2e_as_user "$(walferry_bin walferry-status)" -c "$cfg" >"$E2E_WORK/status.out" 2>&1 || status=$?
  short "$(cat "$E2E_WORK/status.out")" | indent
  ((status == 0)) || fail "walferry-status exited $status, expected 0 (OK)"
  say "exit status 0: OK (1 would be a warning, 2 critical)"
else
  say "walferry-status is not built in this checkout: skipped"
fi

step "13. The standby hosts stop"
for dest in sb1 sb2; do
  sshd_pid=${SSHD_PID[$dest]}
  sshd_stop "$dest"
  say "sshd $dest (PID $sshd_pid) stopped"
done
if [[ "${WALFERRY_KEEP:-0}" == 1 ]]; then
  say "done in $((SECONDS - start))s; the work dir is kept"
else
  say "done in $((SECONDS - start))s; the work dir is removed (WALFERRY_KEEP=1 keeps it)"
fi
