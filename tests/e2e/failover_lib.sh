# shellcheck shell=bash
# tests/e2e/failover_lib.sh: PostgreSQL nodes that archive and restore through walferry with two
# real sshd "standby hosts" (sb1 on 127.0.0.2, sb2 on 127.0.0.3), for the failover and fetch
# fault tests. Source lib.sh and sshd_lib.sh first, then:
#
#   fo_setup                                   # e2e_setup + sshd_setup, sb1 and sb2 running
#   fo_write_config p 'required = "all"'       # $E2E_WORK/conf/p.toml
#   pg_init_node p 127.0.0.1 --wal-segsize=1
#   fo_node_settings p                         # archive_command and restore_command with p.toml
#
# Every node has its own config, $E2E_WORK/conf/<node>.toml, that differs from the others' only
# in `node` and `spool` (the spool is outside PGDATA, one per node): after a failover nothing is
# edited. Segments are 1 MiB (initdb --wal-segsize=1): pgbench fills them in a moment.
#
# Naming: fo_* functions; archives in FO_ARCHIVE[sb1|sb2]; binaries in $FO_PUSH and $FO_FETCH.

# shellcheck source=tests/e2e/assert_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/assert_lib.sh"

E2E_WAL_SEGMENT_SIZE=$((1024 * 1024))
declare -gA FO_ARCHIVE=()
FO_PUSH=""
FO_FETCH=""

# fo_setup: work dir, test user, binaries, both sshd hosts with an empty archive directory each.
fo_setup() {
  e2e_setup walferry-push walferry-fetch
  sshd_setup
  sshd_start sb1 127.0.0.2
  sshd_start sb2 127.0.0.3
  FO_PUSH=$(walferry_bin walferry-push)
  FO_FETCH=$(walferry_bin walferry-fetch)
  FO_ARCHIVE[sb1]=$E2E_WORK/sb1/archive
  FO_ARCHIVE[sb2]=$E2E_WORK/sb2/archive
  e2e_mkdir "${FO_ARCHIVE[sb1]}" "${FO_ARCHIVE[sb2]}" "$E2E_WORK/conf" "$E2E_WORK/spool"
  note "work dir $E2E_WORK, sshd sb1 127.0.0.2:${SSHD_PORT[sb1]}, sb2 127.0.0.3:${SSHD_PORT[sb2]}"
}

# fo_config NODE: the path of NODE's walferry.toml.
fo_config() { printf '%s/conf/%s.toml' "$E2E_WORK" "$1"; }

# fo_write_config NODE [TOML_LINE...]: NODE's config: node, its spool, the lines given (top-level
# keys, then tables such as [fetch]), then the two sftp destinations. Replaced atomically.
fo_write_config() {
  local node=$1 file
  shift
  file=$(fo_config "$node")
  {
    printf 'node = "%s"\nspool = "%s/spool/%s"\n' "$node" "$E2E_WORK" "$node"
    (($# == 0)) || printf '%s\n' "$@"
    sshd_destination sb1 "${FO_ARCHIVE[sb1]}"
    sshd_destination sb2 "${FO_ARCHIVE[sb2]}"
  } >"$file.new"
  chmod 644 "$file.new"
  mv "$file.new" "$file"
}

# fo_node_settings NODE: append what every node has (also after pg_basebackup or pg_rewind copied
# another node's postgresql.conf): its own address, log prefix, archive_mode = on with
# walferry-push (archive_timeout = 0: the tests switch segments themselves), restore_command =
# walferry-fetch (also what pg_rewind --restore-target-wal runs), wal_log_hints for pg_rewind.
fo_node_settings() {
  local node=$1 config
  config=$(fo_config "$node")
  pg_set_address "$node"
  pg_enable_archiving "$node" "$FO_PUSH %p -c $config" 0
  pg_set "$node" "log_line_prefix = '%m [%p] $node '" "restore_command = '$FO_FETCH %f %p -c $config'" \
    "wal_retrieve_retry_interval = '1s'" "wal_log_hints = on" "max_wal_size = '256MB'"
}

# fo_segment TLI LSN: the WAL file name holding LSN on timeline TLI ($E2E_WAL_SEGMENT_SIZE).
fo_segment() {
  local hi=${2%/*} lo=${2#*/} segno per_id
  segno=$((((16#$hi << 32) + 16#$lo) / E2E_WAL_SEGMENT_SIZE))
  per_id=$((0x100000000 / E2E_WAL_SEGMENT_SIZE))
  printf '%08X%08X%08X' "$1" $((segno / per_id)) $((segno % per_id))
}

# fo_lsn_offset LSN: LSN's byte offset inside its segment.
fo_lsn_offset() { echo $(((16#${1#*/}) % E2E_WAL_SEGMENT_SIZE)); }

# fo_wait_streaming NODE TLI [TIMEOUT]: wait until NODE's WAL receiver streams timeline TLI.
fo_wait_streaming() {
  pg_wait_sql "$1" "${3:-60}" \
    "SELECT count(*) = 1 FROM pg_stat_wal_receiver WHERE status = 'streaming' AND received_tli = $2"
}

# fo_checkpoint_timeline NODE: CHECKPOINT (a restartpoint on a standby), then print the timeline
# of NODE's latest checkpoint (pg_control_checkpoint).
fo_checkpoint_timeline() {
  pg_sql "$1" "CHECKPOINT" >/dev/null
  pg_sql "$1" "SELECT timeline_id FROM pg_control_checkpoint()"
}

# fo_log_since NODE LINE: NODE's server log from line LINE + 1 on.
fo_log_since() { tail -n +"$(($2 + 1))" "${E2E_NODE_LOG[$1]}"; }

# fo_log_lines NODE: the number of lines in NODE's server log now.
fo_log_lines() { wc -l <"${E2E_NODE_LOG[$1]}"; }

# fo_log_has NODE LINE PATTERN: NODE's server log from line LINE + 1 on has a line matching the
# grep pattern PATTERN. grep reads a process substitution, not a pipe: under pipefail,
# `fo_log_since | grep -q` fails when grep stops at the first match while tail still writes
# (tail dies of SIGPIPE), though the line is there. To wait for a line, give this to e2e_wait_for.
fo_log_has() { grep -q -e "$3" < <(fo_log_since "$1" "$2"); }

# fo_corrupt_middle FILE: add 1 to the byte in the middle of FILE (in place).
fo_corrupt_middle() {
  local file=$1 size offset byte
  size=$(stat -c %s "$file")
  offset=$((size / 2))
  byte=$(od -An -tu1 -j "$offset" -N1 "$file" | tr -d ' ')
  printf '%b' "\\x$(printf '%02x' $(((byte + 1) % 256)))" |
    dd of="$file" bs=1 seek="$offset" count=1 conv=notrunc status=none
}

# fo_verify_archive DIR: every file of a local walferry archive checked twice: plain zstd with the
# right sizes (e2e_archive_verify, whose summary it prints) and walferry-fetch from DIR alone
# (--mode recovery: a damaged copy is an error), which checks the stored SHA-256, the size and
# the WAL page header, and hands over the same bytes as zstd -d.
fo_verify_archive() {
  local dir=$1 f name out=$E2E_WORK/verify.out
  e2e_archive_verify "$dir"
  for f in "$dir"/*.zst; do
    name=${f##*/}
    name=${name%.zst}
    rm -f "$out"
    check "walferry-fetch does not restore $name from $dir" \
      e2e_as_user "$FO_FETCH" --mode recovery "$name" "$out" "$dir"
    check "walferry-fetch of $name from $dir differs from zstd -d" \
      cmp -s "$out" <(zstd -q -d -c -- "$f")
  done
}
