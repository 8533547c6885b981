# shellcheck shell=bash
# tests/e2e/lib.sh: the shared library of walferry's end-to-end tests (and of scripts/demo.sh).
#
# Source it from a bash script that runs under `set -euo pipefail`, then call e2e_setup:
#
#   source "$(dirname "$0")/lib.sh"
#   e2e_setup walferry-push walferry-fetch      # work dir, test user, binaries, cleanup trap
#   pg_init_node primary                        # initdb on a free port of 127.0.0.1
#   pg_set primary "archive_command = '$(walferry_bin walferry-push) %p $E2E_WORK/archive'"
#   pg_start primary
#   check "primary answers" pg_sql primary "SELECT 1"
#   assert_done
#
# What it guarantees:
# - Real servers, no mocks: PostgreSQL 15 from Debian (pg_config --bindir, or
#   /usr/lib/postgresql/15/bin). PostgreSQL refuses to run as root, so when the test runs as root
#   every server and client command runs as the unprivileged system user `walferry-test`
#   (created on first use); otherwise as the current user. See e2e_as_user.
# - Everything lives in one fresh work dir ($E2E_WORK, mode 755, owned by that user), including
#   copies of the walferry binaries ($E2E_BIN): the clone may sit under a directory the test user
#   cannot read (/root in CI), and archive_command/restore_command run as that user.
# - Servers listen on 127.0.0.x only (checked), on ports nobody else uses, and on a Unix socket
#   inside their node directory.
# - On exit, failure, Ctrl-C or TERM the EXIT trap stops every server this test started (fast,
#   then immediate, then SIGKILL of that postmaster's pid), prints the server logs if the test
#   failed, and removes the work dir unless WALFERRY_KEEP=1.
#
# Environment:
#   WALFERRY_BIN_DIR   directory holding the built binaries (ctest sets it; default
#                      build/release/bin of this checkout)
#   WALFERRY_KEEP=1    keep the work dir (and say where it is) instead of removing it
#   WALFERRY_TEST_USER user to run PostgreSQL as when running as root (default walferry-test)
#   WALFERRY_LOG_LINES lines of each server log printed on failure (default 80)
#
# Assertions (check, expect_*, run, fail, note, assert_done) come from assert_lib.sh; run runs
# its command as the test user, from the work dir, and keeps the output in the work dir.
# Naming: e2e_* are general helpers, pg_* act on a PostgreSQL node, step narrates.
# A node is a name (e.g. "primary"); its directory is $E2E_WORK/<name>, holding data/ (PGDATA),
# server.log and the Unix socket. Per-node facts are in E2E_NODE_PORT/HOST/DATA/LOG[<name>].

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/assert_lib.sh
source "$E2E_LIB_DIR/assert_lib.sh"
E2E_REPO=$(cd "$E2E_LIB_DIR/../.." && pwd)
E2E_WAL_SEGMENT_SIZE=$((16 * 1024 * 1024))

declare -gA E2E_NODE_PORT=() E2E_NODE_HOST=() E2E_NODE_DATA=() E2E_NODE_LOG=()
declare -ga E2E_STARTED=()   # nodes started by this test, in start order
declare -ga E2E_PORTS=()     # ports handed out by e2e_free_port
E2E_WORK=""
E2E_BIN=""
E2E_MODULE_DIR=""  # the copy of the store modules the binaries in $E2E_BIN load
E2E_USER=""
E2E_PG_BINDIR=""
E2E_LOGS_PRINTED=0
# The test's stderr as it was when the library was sourced (assert_lib.sh's): logs and clean-up
# messages go there even from inside a command whose stderr is redirected; servers get it closed.
E2E_ERR=$ASSERT_FD
ASSERT_ON_FAIL+=(e2e_print_logs)

# ---------------------------------------------------------------------------------------------
# Reporting

# step MESSAGE...: a visible section header (used by the demo to narrate); bold on a terminal.
step() {
  if [[ -t 2 ]]; then
    printf '\n\033[1m== %s\033[0m\n' "$*" >&2
  else
    printf '\n== %s\n' "$*" >&2
  fi
}

# e2e_print_logs: the last WALFERRY_LOG_LINES lines of every node's server log (once per run).
e2e_print_logs() {
  ((E2E_LOGS_PRINTED)) && return 0
  E2E_LOGS_PRINTED=1
  local node
  for node in "${!E2E_NODE_LOG[@]}"; do
    [[ -f "${E2E_NODE_LOG[$node]}" ]] || continue
    printf -- '--- server log of %s (%s), last %s lines\n' "$node" "${E2E_NODE_LOG[$node]}" \
      "${WALFERRY_LOG_LINES:-80}" >&"$E2E_ERR"
    tail -n "${WALFERRY_LOG_LINES:-80}" "${E2E_NODE_LOG[$node]}" >&"$E2E_ERR" || true
  done
}

# ---------------------------------------------------------------------------------------------
# Set-up and clean-up

# e2e_setup [BINARY...]: everything a test needs before its first server: finds PostgreSQL, picks
# the user, makes the work dir, installs the cleanup trap, copies the named walferry binaries
# (default: all files of WALFERRY_BIN_DIR) into $E2E_BIN.
e2e_setup() {
  e2e_find_pg
  e2e_pick_user
  e2e_make_workdir
  assert_set_dir "$E2E_WORK"
  e2e_install_trap
  e2e_install_binaries "$@"
}

# e2e_find_pg: sets E2E_PG_BINDIR to PostgreSQL 15's bin directory (initdb, pg_ctl, psql...).
e2e_find_pg() {
  local dir
  for dir in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)"; do
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/pgbench" ]]; then
      E2E_PG_BINDIR=$dir
      return 0
    fi
  done
  fail "PostgreSQL 15 not found (run scripts/install-deps.sh)"
}

# pg_bin NAME: absolute path of a PostgreSQL program.
pg_bin() { printf '%s/%s' "$E2E_PG_BINDIR" "$1"; }

# e2e_pick_user: sets E2E_USER; as root creates the unprivileged system user (idempotent, safe
# when several tests do it at once).
e2e_pick_user() {
  if ((EUID != 0)); then
    E2E_USER=$(id -un)
    return 0
  fi
  E2E_USER=${WALFERRY_TEST_USER:-walferry-test}
  if ! id -u "$E2E_USER" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$E2E_USER" 2>/dev/null || true
    id -u "$E2E_USER" >/dev/null 2>&1 || fail "cannot create user $E2E_USER"
  fi
}

# e2e_as_user CMD [ARG...]: run a command as the test user, from inside the work dir (so that no
# unreadable current directory gets in the way). Environment is kept as far as runuser keeps it;
# pass extra variables with `env VAR=value CMD`.
e2e_as_user() { e2e_as_user_in "${E2E_WORK:-/}" "$@"; }

# assert_exec DIR CMD...: run and run_in (assert_lib.sh) run the command under test as the test
# user, from DIR (default the work dir).
assert_exec() {
  local dir=${1:-$E2E_WORK}
  shift
  e2e_as_user_in "$dir" "$@"
}

# e2e_as_user_in DIR CMD [ARG...]: e2e_as_user from DIR (pg_rewind runs restore_command from its
# own working directory, which is not PGDATA: a test of that runs it from /).
e2e_as_user_in() {
  local dir=$1
  shift
  # E2E_ERR is closed for the command: a server must not hold the test's stderr open.
  if ((EUID == 0)); then
    (cd "$dir" && runuser -u "$E2E_USER" -- "$@" {E2E_ERR}>&-)
  else
    (cd "$dir" && "$@" {E2E_ERR}>&-)
  fi
}

# e2e_make_workdir: sets E2E_WORK to a new world-readable directory owned by the test user.
e2e_make_workdir() {
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/walferry-e2e.XXXXXX")
  chmod 755 "$E2E_WORK"
  ((EUID == 0)) && chown "$E2E_USER:" "$E2E_WORK"
  return 0
}

# e2e_mkdir DIR...: create directories owned by the test user (archives, spools...).
e2e_mkdir() { e2e_as_user mkdir -p "$@"; }

# e2e_install_binaries [NAME...]: copy walferry binaries from WALFERRY_BIN_DIR to $E2E_BIN
# (world-readable, inside the work dir); fails if one of the named binaries is missing.
e2e_install_binaries() {
  local src=${WALFERRY_BIN_DIR:-$E2E_REPO/build/release/bin} name
  E2E_BIN=$E2E_WORK/bin
  mkdir -p "$E2E_BIN"
  if (($# == 0)); then
    [[ -d "$src" ]] || fail "WALFERRY_BIN_DIR '$src' is not a directory (build first)"
    local all=()
    for name in "$src"/*; do [[ -f "$name" && -x "$name" ]] && all+=("${name##*/}"); done
    set -- "${all[@]}"
  fi
  for name in "$@"; do
    [[ -x "$src/$name" ]] || fail "$src/$name is missing (build first; ctest sets WALFERRY_BIN_DIR)"
    install -m 755 "$src/$name" "$E2E_BIN/$name"
  done
  chmod 755 "$E2E_BIN"
  e2e_install_modules "$src"
}

# e2e_install_modules SRC: copy the store modules (store-sftp.so, store-s3.so), which the
# binaries load from a fixed place relative to themselves (<bindir>/../<libdir>/walferry), to the
# same place relative to $E2E_BIN; E2E_MODULE_DIR is that copy.
e2e_install_modules() {
  local src=$1 dir found=""
  for dir in "$src"/../lib*/walferry "$src"/../lib/*/walferry; do
    [[ -f $dir/store-sftp.so ]] && found=$dir && break
  done
  [[ -n $found ]] || fail "no store modules (lib/walferry/store-*.so) next to $src (build first)"
  mkdir -p "$E2E_BIN/${found#"$src"/}"
  E2E_MODULE_DIR=$(cd "$E2E_BIN/${found#"$src"/}" && pwd)
  install -m 644 "$found"/store-*.so "$E2E_MODULE_DIR"
  # Readable by the test user, from the module directory up to the work dir.
  dir=$E2E_MODULE_DIR
  while [[ $dir == "$E2E_WORK"/* ]]; do
    chmod 755 "$dir"
    dir=${dir%/*}
  done
}

# walferry_bin NAME: absolute path of the work dir's copy of a walferry binary.
walferry_bin() { printf '%s/%s' "$E2E_BIN" "$1"; }

# e2e_install_trap: EXIT runs e2e_cleanup; INT and TERM exit (130/143) and so run it too.
# SIGKILL (a ctest timeout) runs no trap: for that a watchdog, detached from the test's process
# tree, waits for the test's shell to go, then stops (immediate) whatever server of the list in
# $E2E_WORK/.started still runs and removes the work dir (unless WALFERRY_KEEP=1).
e2e_install_trap() {
  trap 'e2e_cleanup $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  : >"$E2E_WORK/.started"
  # shellcheck disable=SC2016 # the script is for the watchdog's bash
  setsid -f bash -c '
    parent=$1 work=$2 user=$3 pg_ctl=$4 keep=$5
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    [[ -f "$work/.started" ]] || exit 0
    as=()
    ((EUID == 0)) && as=(runuser -u "$user" --)
    while read -r data; do
      [[ -f "$data/postmaster.pid" ]] || continue
      (cd / && "${as[@]}" "$pg_ctl" -D "$data" -w -t 30 -m immediate stop) ||
        kill -KILL "$(head -n 1 "$data/postmaster.pid")"
    done <"$work/.started"
    [[ "$keep" == 1 ]] || rm -rf -- "$work"
  ' e2e-watchdog "$$" "$E2E_WORK" "$E2E_USER" "$(pg_bin pg_ctl)" "${WALFERRY_KEEP:-0}" \
    </dev/null >/dev/null 2>&1 {E2E_ERR}>&-
}

# e2e_cleanup STATUS: stop every server this test started (newest first), print the logs when
# the test failed, remove the work dir unless WALFERRY_KEEP=1. Runs from the EXIT trap and exits
# with STATUS, or 1 when a test would end with 0 without assert_done (assert_exit_status).
e2e_cleanup() {
  local status=${1:-0} i
  set +e
  assert_exit_status "$status" || status=$?
  trap - INT TERM
  for ((i = ${#E2E_STARTED[@]} - 1; i >= 0; i--)); do
    pg_stop_quietly "${E2E_STARTED[$i]}"
  done
  ((status != 0)) && e2e_print_logs
  if [[ -n "$E2E_WORK" && -d "$E2E_WORK" ]]; then
    if [[ "${WALFERRY_KEEP:-0}" == 1 ]]; then
      printf 'work dir kept: %s\n' "$E2E_WORK" >&"$E2E_ERR"
    else
      rm -rf -- "$E2E_WORK"
    fi
  fi
  exit "$status"
}

# pg_stop_quietly NODE: stop a node if it runs, whatever it takes; never fails. Used by cleanup.
pg_stop_quietly() {
  local node=$1 data=${E2E_NODE_DATA[$1]:-} pid
  [[ -n "$data" && -f "$data/postmaster.pid" ]] || return 0
  e2e_as_user "$(pg_bin pg_ctl)" -D "$data" -w -t 30 -m fast stop >/dev/null 2>&1 && return 0
  e2e_as_user "$(pg_bin pg_ctl)" -D "$data" -w -t 10 -m immediate stop >/dev/null 2>&1 && return 0
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null
  printf 'warning: had to kill the postmaster of %s (pid %s)\n' "$node" "$pid" >&"$E2E_ERR"
  return 0
}

# ---------------------------------------------------------------------------------------------
# Ports and waiting

# e2e_free_port VAR [HOST]: store in VAR a TCP port that nothing uses on any address (checked
# with ss) and that this test has not handed out yet.
e2e_free_port() {
  # Locals carry a prefix: printf -v must not hit one of them instead of the caller's VAR.
  local _fp_var=$1 _fp_port _fp_try
  for _fp_try in {1..500}; do
    _fp_port=$((20000 + (SRANDOM % 40000)))
    [[ " ${E2E_PORTS[*]} " == *" $_fp_port "* ]] && continue
    if [[ -z "$(ss -Htan "( sport = :$_fp_port )" 2>/dev/null)" ]]; then
      E2E_PORTS+=("$_fp_port")
      printf -v "$_fp_var" '%s' "$_fp_port"
      return 0
    fi
  done
  fail "no free TCP port found after $_fp_try tries"
}

# e2e_wait_for TIMEOUT_SECONDS DESCRIPTION CMD [ARG...]: run CMD every 0.2 s until it succeeds;
# fail with DESCRIPTION after the timeout.
e2e_wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL nodes

# pg_init_node NODE [HOST] [INITDB_ARG...]: initdb a new cluster for NODE on HOST (default
# 127.0.0.1; must be 127.0.0.x) and a free port, with trust authentication (loopback and socket
# only), listen_addresses = HOST, the socket in the node dir, wal_level = replica. Does not start.
pg_init_node() {
  local node=$1 host=${2:-127.0.0.1}
  shift $(($# >= 2 ? 2 : 1))
  pg_register_node "$node" "$host"
  e2e_as_user "$(pg_bin initdb)" -D "${E2E_NODE_DATA[$node]}" --auth=trust --no-locale \
    --encoding=UTF8 --no-instructions --no-sync "$@" >"$E2E_WORK/$node/initdb.log" 2>&1 ||
    { cat "$E2E_WORK/$node/initdb.log" >&"$E2E_ERR"; fail "initdb of $node failed"; }
  pg_set "$node" "wal_level = replica" "max_wal_senders = 10" \
    "log_line_prefix = '%m [%p] $node '" "log_checkpoints = on"
  pg_set_address "$node"
}

# pg_register_node NODE [HOST]: make NODE known (dir, port, log, data path) without initdb;
# pg_basebackup_node uses it. Fails if NODE exists or HOST is not a 127.0.0.x address.
pg_register_node() {
  local node=$1 host=${2:-127.0.0.1} port
  [[ "$node" =~ ^[a-z][a-z0-9_]*$ ]] || fail "bad node name '$node'"
  [[ -z "${E2E_NODE_DATA[$node]:-}" ]] || fail "node $node exists already"
  if ! [[ "$host" =~ ^127\.0\.0\.([0-9]{1,3})$ ]] ||
    ((BASH_REMATCH[1] < 1 || BASH_REMATCH[1] > 254)); then
    fail "servers listen on 127.0.0.x only, not '$host'"
  fi
  e2e_free_port port
  E2E_NODE_HOST[$node]=$host
  E2E_NODE_PORT[$node]=$port
  E2E_NODE_DATA[$node]=$E2E_WORK/$node/data
  E2E_NODE_LOG[$node]=$E2E_WORK/$node/server.log
  e2e_mkdir "$E2E_WORK/$node"
}

# pg_set_address NODE: (re)write NODE's listen address, port and socket dir (after a base
# backup, the copy still has the primary's).
pg_set_address() {
  local node=$1
  pg_set "$node" "listen_addresses = '${E2E_NODE_HOST[$node]}'" "port = ${E2E_NODE_PORT[$node]}" \
    "unix_socket_directories = '$E2E_WORK/$node'"
}

# pg_set NODE "name = value"...: append settings to NODE's postgresql.conf (the last one wins;
# takes effect at the next start or pg_reload). Quote string values: "archive_timeout = '2s'".
pg_set() {
  local node=$1 conf
  shift
  conf=${E2E_NODE_DATA[$node]:?unknown node $node}/postgresql.conf
  printf '%s\n' "$@" | e2e_as_user tee -a "$conf" >/dev/null
}

# pg_enable_archiving NODE ARCHIVE_COMMAND [ARCHIVE_TIMEOUT]: archive_mode = on with that
# command (%p/%f as PostgreSQL substitutes them) and archive_timeout (default 2s).
pg_enable_archiving() {
  local node=$1 command=$2 timeout=${3:-2s}
  [[ "$command" != *"'"* ]] || fail "archive_command must not contain single quotes"
  pg_set "$node" "archive_mode = on" "archive_command = '$command'" "archive_timeout = '$timeout'"
}

# pg_init_primary NODE ARCHIVE_COMMAND [ARCHIVE_TIMEOUT]: pg_init_node + pg_enable_archiving.
pg_init_primary() {
  pg_init_node "$1"
  pg_enable_archiving "$@"
}

# pg_start NODE: pg_ctl start -w (log in the node's server.log); records NODE for cleanup.
pg_start() {
  local node=$1
  if [[ " ${E2E_STARTED[*]} " != *" $node "* ]]; then
    E2E_STARTED+=("$node")
    printf '%s\n' "${E2E_NODE_DATA[$node]}" >>"$E2E_WORK/.started"
  fi
  e2e_as_user "$(pg_bin pg_ctl)" -D "${E2E_NODE_DATA[$node]:?unknown node $node}" \
    -l "${E2E_NODE_LOG[$node]}" -w -t 120 start >/dev/null ||
    fail "cannot start $node"
  pg_check_listening "$node"
}

# pg_check_listening NODE: fail unless NODE's port is listened on at its 127.0.0.x address and
# nowhere else (a setting added later could have widened listen_addresses).
pg_check_listening() {
  local node=$1 expected actual
  expected="${E2E_NODE_HOST[$node]}:${E2E_NODE_PORT[$node]}"
  actual=$(ss -Htln "( sport = :${E2E_NODE_PORT[$node]} )" | awk '{ print $4 }' | sort -u |
    paste -sd ' ')
  [[ "$actual" == "$expected" ]] || fail "$node listens on '$actual', expected only $expected"
}

# pg_stop NODE [fast|immediate|smart]: pg_ctl stop -w (default fast).
pg_stop() {
  local node=$1 mode=${2:-fast}
  e2e_as_user "$(pg_bin pg_ctl)" -D "${E2E_NODE_DATA[$node]}" -w -t 120 -m "$mode" stop >/dev/null ||
    fail "cannot stop $node ($mode)"
}

# pg_reload NODE: pg_ctl reload (postgresql.conf changes that need no restart).
pg_reload() { e2e_as_user "$(pg_bin pg_ctl)" -D "${E2E_NODE_DATA[$1]}" reload >/dev/null; }

# pg_promote NODE: pg_ctl promote -w (returns once the node accepts writes).
pg_promote() {
  e2e_as_user "$(pg_bin pg_ctl)" -D "${E2E_NODE_DATA[$1]}" -w -t 120 promote >/dev/null ||
    fail "cannot promote $1"
}

# pg_is_running NODE: true while NODE's postmaster answers.
pg_is_running() {
  e2e_as_user "$(pg_bin pg_ctl)" -D "${E2E_NODE_DATA[$1]}" status >/dev/null 2>&1
}

# pg_psql NODE [PSQL_ARG...]: psql as the superuser over NODE's Unix socket, database postgres,
# unaligned tuples only, stop at the first error, no psqlrc.
pg_psql() {
  local node=$1
  shift
  e2e_as_user "$(pg_bin psql)" -X -q -A -t -v ON_ERROR_STOP=1 -h "$E2E_WORK/$node" \
    -p "${E2E_NODE_PORT[$node]:?unknown node $node}" -d postgres "$@"
}

# pg_sql NODE SQL: run one SQL string, print its result (unaligned, '|' between columns).
pg_sql() { pg_psql "$1" -c "$2"; }

# pg_conninfo NODE: a libpq connection string to NODE over TCP (for primary_conninfo and such).
pg_conninfo() {
  printf 'host=%s port=%s user=%s dbname=postgres' "${E2E_NODE_HOST[$1]}" "${E2E_NODE_PORT[$1]}" \
    "$E2E_USER"
}

# pg_bench NODE [PGBENCH_ARG...]: pgbench against NODE's database postgres.
pg_bench() {
  local node=$1
  shift
  e2e_as_user "$(pg_bin pgbench)" -h "$E2E_WORK/$node" -p "${E2E_NODE_PORT[$node]}" "$@" postgres
}

# pg_basebackup_node PRIMARY NODE [HOST] [PG_BASEBACKUP_ARG...]: a new node NODE from a base
# backup of the running PRIMARY (fast checkpoint; add -X none to take all WAL from the archive,
# the default is -X stream), given its own address, port and socket. Does not start it.
pg_basebackup_node() {
  local primary=$1 node=$2 host=${3:-127.0.0.1}
  shift $(($# >= 3 ? 3 : 2))
  pg_register_node "$node" "$host"
  e2e_as_user "$(pg_bin pg_basebackup)" -h "$E2E_WORK/$primary" -p "${E2E_NODE_PORT[$primary]}" \
    -D "${E2E_NODE_DATA[$node]}" -c fast --no-sync "$@" >"$E2E_WORK/$node/basebackup.log" 2>&1 ||
    { cat "$E2E_WORK/$node/basebackup.log" >&"$E2E_ERR"; fail "pg_basebackup of $primary into $node failed"; }
  pg_set "$node" "log_line_prefix = '%m [%p] $node '"
  pg_set_address "$node"
}

# pg_make_standby NODE RESTORE_COMMAND [PRIMARY_CONNINFO]: standby.signal and restore_command
# (warm standby by log shipping); streaming too when a conninfo is given.
pg_make_standby() {
  local node=$1 command=$2 conninfo=${3:-}
  [[ "$command" != *"'"* && "$conninfo" != *"'"* ]] || fail "no single quotes in standby settings"
  e2e_as_user touch "${E2E_NODE_DATA[$node]}/standby.signal"
  pg_set "$node" "restore_command = '$command'"
  if [[ -n "$conninfo" ]]; then
    pg_set "$node" "primary_conninfo = '$conninfo'"
  else
    pg_set "$node" "primary_conninfo = ''"
  fi
}

# pg_wait_sql NODE TIMEOUT_SECONDS SQL: wait until SQL returns 't' on NODE.
pg_wait_sql() {
  e2e_wait_for "$2" "$1 to answer t to: $3" pg_sql_is_true "$1" "$3"
}

# pg_sql_is_true NODE SQL: true if SQL returns exactly 't' on NODE.
pg_sql_is_true() { [[ "$(pg_sql "$1" "$2" 2>/dev/null)" == t ]]; }

# pg_switch_wal NODE: SELECT pg_switch_wal() on NODE, print the LSN it returned.
pg_switch_wal() { pg_sql "$1" "SELECT pg_switch_wal()"; }

# pg_walfile_name NODE LSN: the WAL file name holding LSN on NODE's current timeline.
pg_walfile_name() { pg_sql "$1" "SELECT pg_walfile_name('$2')"; }

# pg_wait_archived NODE WALFILE TIMEOUT: wait until pg_stat_archiver.last_archived_wal on NODE
# is WALFILE or later (file names of one timeline sort in WAL order).
pg_wait_archived() {
  pg_wait_sql "$1" "${3:-120}" \
    "SELECT coalesce(last_archived_wal, '') >= '$2' FROM pg_stat_archiver"
}

# pg_wait_replayed NODE LSN TIMEOUT: wait until a standby NODE has replayed up to LSN.
pg_wait_replayed() {
  pg_wait_sql "$1" "${3:-120}" "SELECT pg_last_wal_replay_lsn() >= '$2'::pg_lsn"
}

# pg_walferry_primary NODE PUSH_ARGS [ARCHIVE_TIMEOUT]: init a primary whose archive_command is
# '<work dir copy of walferry-push> %p PUSH_ARGS' (PUSH_ARGS: archive directories, or
# "-c CONFIG"...), archive_timeout default 2s. Does not start it.
pg_walferry_primary() {
  pg_init_primary "$1" "$(walferry_bin walferry-push) %p $2" "${3:-2s}"
}

# pg_walferry_standby PRIMARY NODE FETCH_ARGS [PG_BASEBACKUP_ARG...]: a warm standby NODE from a
# base backup of PRIMARY (default -X none: all its WAL comes through the archive), with
# standby.signal, restore_command '<walferry-fetch> %f %p FETCH_ARGS', no primary_conninfo, the
# archive asked every second (wal_retrieve_retry_interval). Does not start it.
pg_walferry_standby() {
  local primary=$1 node=$2 args=$3
  shift 3
  (($#)) || set -- -X none
  pg_basebackup_node "$primary" "$node" 127.0.0.1 "$@"
  pg_make_standby "$node" "$(walferry_bin walferry-fetch) %f %p $args"
  pg_set "$node" "wal_retrieve_retry_interval = '1s'"
}

# pg_switch_and_wait PRIMARY STANDBY [TIMEOUT]: pg_switch_wal on PRIMARY, then wait until the
# segment holding the switch is archived and STANDBY has replayed past it. Sets E2E_SWITCH_LSN
# and E2E_SWITCH_WALFILE (not printed: it runs in the caller's shell).
pg_switch_and_wait() {
  E2E_SWITCH_LSN=$(pg_switch_wal "$1")
  E2E_SWITCH_WALFILE=$(pg_walfile_name "$1" "$E2E_SWITCH_LSN")
  pg_wait_archived "$1" "$E2E_SWITCH_WALFILE" "${3:-120}"
  pg_wait_replayed "$2" "$E2E_SWITCH_LSN" "${3:-180}"
}

# pg_tables_digest NODE: row counts and sums of every pgbench table, then the md5 of
# pgbench_accounts in aid order: what two servers holding the same data print alike.
pg_tables_digest() {
  pg_sql "$1" "
    SELECT 'accounts', count(*), sum(abalance), sum(bid) FROM pgbench_accounts
    UNION ALL SELECT 'branches', count(*), sum(bbalance), sum(bid) FROM pgbench_branches
    UNION ALL SELECT 'tellers', count(*), sum(tbalance), sum(bid) FROM pgbench_tellers
    UNION ALL SELECT 'history', count(*), sum(delta), sum(aid) FROM pgbench_history" &&
    pg_sql "$1" "SELECT 'accounts md5', md5(string_agg(aid || ':' || bid || ':' || abalance || ':'
                   || filler, ',' ORDER BY aid)) FROM pgbench_accounts"
}

# ---------------------------------------------------------------------------------------------
# walferry archives (local directories)

# e2e_archive_verify DIR: check every file of a local walferry archive with plain zstd: each
# <name>.zst decompresses (`zstd -d`, which skips walferry's metadata frame), segments and
# .partial files are exactly 16 MiB, .history files are text in PostgreSQL's format, and no
# file other than walferry.info, a .zst or a subdirectory is there (no temp file left over).
# Prints one line per kind: "segments N", "partial N", "history N", "backup N", "raw BYTES",
# "stored BYTES".
e2e_archive_verify() {
  local dir=$1 f name size raw_total=0 stored_total=0
  local -A count=([segments]=0 [partial]=0 [history]=0 [backup]=0)
  [[ -f "$dir/walferry.info" ]] || fail "$dir/walferry.info is missing"
  for f in "$dir"/* "$dir"/.[!.]*; do
    [[ -e "$f" ]] || continue
    name=${f##*/}
    [[ -d "$f" || "$name" == walferry.info ]] && continue
    [[ "$name" == *.zst ]] || fail "unexpected file in the archive: $name"
    name=${name%.zst}
    size=$(zstd -q -d -c -- "$f" | wc -c) || fail "zstd -d cannot decompress $f"
    raw_total=$((raw_total + size))
    stored_total=$((stored_total + $(stat -c %s "$f")))
    if [[ "$name" =~ ^[0-9A-F]{24}$ ]]; then
      expect_eq "decompressed size of $name" "$E2E_WAL_SEGMENT_SIZE" "$size"
      count[segments]=$((count[segments] + 1))
    elif [[ "$name" =~ ^[0-9A-F]{24}\.partial$ ]]; then
      expect_eq "decompressed size of $name" "$E2E_WAL_SEGMENT_SIZE" "$size"
      count[partial]=$((count[partial] + 1))
    elif [[ "$name" =~ ^[0-9A-F]{8}\.history$ ]]; then
      zstd -q -d -c -- "$f" | grep -Eq $'^[0-9]+\t[0-9A-F]+/[0-9A-F]+\t' ||
        fail "$name does not look like a timeline history file"
      count[history]=$((count[history] + 1))
    elif [[ "$name" =~ ^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$ ]]; then
      zstd -q -d -c -- "$f" | grep -q '^START WAL LOCATION:' ||
        fail "$name does not look like a backup history file"
      count[backup]=$((count[backup] + 1))
    else
      fail "unexpected name in the archive: $name.zst"
    fi
  done
  printf 'segments %s\npartial %s\nhistory %s\nbackup %s\nraw %s\nstored %s\n' \
    "${count[segments]}" "${count[partial]}" "${count[history]}" "${count[backup]}" \
    "$raw_total" "$stored_total"
}

# e2e_archived_equals DIR NAME FILE: true if DIR/NAME.zst decompresses to exactly FILE's bytes.
e2e_archived_equals() {
  cmp -s <(zstd -q -d -c -- "$1/$2.zst") "$3"
}
