# shellcheck shell=bash
# tests/e2e/assert_lib.sh: the one assertion layer of walferry's end-to-end tests (as PostgreSQL's
# TAP splits Utils.pm from Cluster.pm). lib.sh (PostgreSQL nodes) and fault_lib.sh (no server)
# source it, and so do sshd_lib.sh, cleanup_lib.sh and failover_lib.sh (on top of lib.sh). A test:
#
#   source "$(dirname "$0")/fault_lib.sh"     # or lib.sh, which set up the work dir
#   run "$PUSH" "$seg" "$WORK/archive"         # status in $RC, output in $OUT and $ERR
#   expect_rc 0 "first push"
#   check "the archive holds it" test -f "$WORK/archive/$name.zst"
#   assert_done                                # the closing line: PASS: <name>: N checks
#
# Every assertion (check, expect_*) counts one check when it holds, and when it does not prints
# one line "FAIL: <name>: <what failed>" (then the last command's output and, with lib.sh, the
# server logs) and exits 1; the EXIT traps of the libraries stop what the test started. A test
# that exits 0 without assert_done, or with no check at all, fails (assert_exit_status).
#
# Naming: assert_* is the layer's plumbing; check/expect_* assert; run/run_in run a command whose
# outcome the expect_* helpers then look at; note reports progress; fail ends the test.

# Sourced once: lib.sh, fault_lib.sh and the libraries on top of lib.sh all source it.
[[ -z "${ASSERT_NAME:-}" ]] || return 0
ASSERT_NAME=$(basename "$0" .sh)
ASSERT_CHECKS=0
ASSERT_DONE=0
ASSERT_DIR=""  # where run keeps the last output (set by the library's setup: assert_set_dir)
OUT=""         # the last run's stdout and stderr files
ERR=""
RC=0
declare -ga ASSERT_ON_FAIL=()  # commands run after the FAIL line (lib.sh: print server logs)
# The test's stderr as it was when the layer was sourced: failures and notes go there even from
# inside a command whose stderr is redirected (a trap runs in the redirections of the command it
# interrupted). Servers are started with it closed ({ASSERT_FD}>&-).
exec {ASSERT_FD}>&2

# note MESSAGE...: one progress line on stderr, with the seconds since the test started.
note() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&"$ASSERT_FD"; }

# fail MESSAGE...: the one line saying what failed, then context; exits 1.
fail() {
  printf 'FAIL: %s: %s\n' "$ASSERT_NAME" "$*" >&"$ASSERT_FD"
  if [[ -n "$ERR" && -f "$ERR" ]]; then
    printf -- '--- stdout of the last command run:\n' >&"$ASSERT_FD"
    head -c 2000 "$OUT" 2>/dev/null 1>&"$ASSERT_FD" || true
    printf -- '--- its stderr:\n' >&"$ASSERT_FD"
    head -c 2000 "$ERR" 2>/dev/null 1>&"$ASSERT_FD" || true
  fi
  local hook
  for hook in "${ASSERT_ON_FAIL[@]}"; do $hook; done
  exit 1
}

# pass: counts one check. The assertion helpers call it; a test calls it only after a condition
# it tested itself with `|| fail` (one pass per condition).
pass() { ASSERT_CHECKS=$((ASSERT_CHECKS + 1)); }

# assert_done: the closing line of a test, PASS: <name>: N checks. Fails if no check ran.
assert_done() {
  ((ASSERT_CHECKS > 0)) || fail "no check ran"
  ASSERT_DONE=1
  printf 'PASS: %s: %s checks\n' "$ASSERT_NAME" "$ASSERT_CHECKS"
}

# assert_exit_status STATUS: the status a test really ends with (for the libraries' EXIT traps):
# STATUS, or 1 with a FAIL line when the test would exit 0 without having called assert_done.
assert_exit_status() {
  # Only a test (tests/e2e/*_test.sh) must close; scripts/demo.sh uses lib.sh too.
  if (($1 == 0 && ASSERT_DONE == 0)) && [[ "$0" == *_test.sh ]]; then
    printf 'FAIL: %s: ended after %s checks without assert_done\n' "$ASSERT_NAME" \
      "$ASSERT_CHECKS" >&"$ASSERT_FD"
    return 1
  fi
  return "$1"
}

# assert_set_dir DIR: run keeps the last output in DIR/stdout and DIR/stderr ($OUT, $ERR).
assert_set_dir() {
  ASSERT_DIR=$1
  OUT=$1/stdout
  ERR=$1/stderr
}

# ---------------------------------------------------------------------------------------------
# Running a command under test

# assert_exec DIR CMD...: how run and run_in start CMD; a library may redefine it (lib.sh runs it
# as the test user). Here: in this shell, or in a subshell in DIR when one is given.
assert_exec() {
  local dir=$1
  shift
  if [[ -z "$dir" ]]; then
    "$@"
  else
    (cd "$dir" && "$@")
  fi
}

# run CMD...: runs CMD (never aborting the test), status in $RC, output in $OUT and $ERR.
run() { run_in "" "$@"; }

# run_in DIR CMD...: run with DIR as the working directory.
run_in() {
  [[ -n "$ASSERT_DIR" ]] || fail "run: no output directory (the library's setup sets it)"
  RC=0
  assert_exec "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# ---------------------------------------------------------------------------------------------
# Assertions. WHAT names the step in the failure line: the first argument of check, check_not,
# expect_eq and expect_match; the last, optional one (default "command") of the others, whose
# subject (the last run, a path) comes first.

# check WHAT CMD...: CMD succeeds (its output is left alone). For conditions: check WHAT test ...
check() {
  local what=$1
  shift
  "$@" || fail "$what"
  pass
}

# check_not WHAT CMD...: CMD fails.
check_not() {
  local what=$1
  shift
  ! "$@" || fail "$what"
  pass
}

# expect_eq WHAT EXPECTED ACTUAL: two strings are equal.
expect_eq() {
  [[ "$3" == "$2" ]] || fail "$1: expected '$2', got '$3'"
  pass
}

# expect_match WHAT REGEX STRING: STRING matches the extended regex REGEX.
expect_match() {
  [[ "$3" =~ $2 ]] || fail "$1: '$3' does not match /$2/"
  pass
}

# expect_rc STATUS [WHAT]: the last run exited with STATUS.
expect_rc() {
  [[ $RC == "$1" ]] || fail "${2:-command}: exit status $RC, expected $1"
  pass
}

# expect_failed [WHAT]: the last run exited with a non-zero status.
expect_failed() {
  [[ $RC != 0 ]] || fail "${1:-command}: exit status 0, expected a failure"
  pass
}

# expect_stderr_has TEXT [WHAT] / expect_stdout_has TEXT [WHAT]: fixed-string match.
expect_stderr_has() {
  grep -qF -- "$1" "$ERR" || fail "${2:-command}: stderr lacks \"$1\""
  pass
}
expect_stdout_has() {
  grep -qF -- "$1" "$OUT" || fail "${2:-command}: stdout lacks \"$1\""
  pass
}

# expect_stderr_matches REGEX [WHAT] / expect_stderr_lacks REGEX [WHAT]: extended regex.
expect_stderr_matches() {
  grep -qE -- "$1" "$ERR" || fail "${2:-command}: stderr does not match /$1/"
  pass
}
expect_stderr_lacks() {
  ! grep -qE -- "$1" "$ERR" || fail "${2:-command}: stderr matches /$1/"
  pass
}

expect_stdout_empty() {
  [[ ! -s $OUT ]] || fail "${1:-command}: stdout is not empty"
  pass
}

expect_stderr_empty() {
  [[ ! -s $ERR ]] || fail "${1:-command}: stderr is not empty"
  pass
}

# expect_stderr_lines N [WHAT]: stderr has exactly N lines.
expect_stderr_lines() {
  local n
  n=$(wc -l <"$ERR")
  [[ $n == "$1" ]] || fail "${2:-command}: stderr has $n lines, expected $1"
  pass
}

# expect_refused REGEX [WHAT]: the last run failed with exactly one line on stderr, matching REGEX.
expect_refused() {
  expect_failed "$2"
  expect_stderr_lines 1 "$2"
  expect_stderr_matches "$1" "$2"
}

# ---------------------------------------------------------------------------------------------
# Files

# dir_state DIR: every entry (hidden ones too) with inode, size and mtime, sorted. Two equal
# states mean nothing was created, removed or rewritten.
dir_state() {
  # The temp directory of an archive (.walferry-incoming) by its inode only: every put changes its
  # mtime, and what it holds is listed entry by entry anyway.
  find "$1" -mindepth 1 \( -path "${1%/}/.walferry-incoming" -printf '%P\t%i\n' \) -o \
    -printf '%P\t%i\t%s\t%T@\n' | LC_ALL=C sort
}

# expect_same_state DIR STATE [WHAT]: DIR's dir_state is still STATE.
expect_same_state() {
  local now
  now=$(dir_state "$1")
  if [[ $now != "$2" ]]; then
    diff <(echo "$2") <(echo "$now") >&"$ASSERT_FD" || true
    fail "${3:-command}: $1 changed"
  fi
  pass
}

# expect_no_temp DIR [WHAT]: no walferry temp file (hidden or next to a target) in DIR.
expect_no_temp() {
  local found
  found=$(find "$1" -mindepth 1 -name '*walferry-tmp*' -printf '%P\n')
  [[ -z $found ]] || fail "${2:-command}: temp files left in $1: $found"
  pass
}

# expect_same_bytes A B [WHAT]
expect_same_bytes() {
  cmp -s -- "$1" "$2" || fail "${3:-command}: $1 and $2 differ"
  pass
}

# expect_file PATH [WHAT]: PATH is a regular file.
expect_file() {
  [[ -f $1 ]] || fail "${2:-command}: $1 is missing"
  pass
}

# expect_absent PATH [WHAT]: nothing (not even a dangling symbolic link) at PATH.
expect_absent() {
  [[ ! -e $1 && ! -L $1 ]] || fail "${2:-command}: $1 exists"
  pass
}
