#!/usr/bin/env bash
# walferry-fetch's exit contract, and what it leaves next to %p, against a real OpenSSH server
# (sb1 on 127.0.0.2) and local archives; no PostgreSQL server is needed:
# (1) "not found" (exit 1, silent) only from an archive that answered: a missing archive
#     directory, or one without walferry.info, is an error on file:// and sftp:// alike, 255 with
#     --mode recovery and 1 (with the error said) in standby mode;
# (2) failures before any source is asked follow the mode too: no config file, only this `node`
#     as destination, a working directory that is gone, a swapped %f/%p, a broken command line
#     in a data directory without standby.signal (255; with it the usual 2 or 3, which "go on"
#     as 1 would); by hand outside a data directory a usage error keeps exit 2 (cli_test);
# (12) a fetch ended by SIGTERM or SIGINT in the middle of a transfer leaves no temporary file
#     next to %p and dies of the signal; an old temporary file of walferry's own naming there is
#     removed by the next call, and nothing else is (a fresh one, another name, a symbolic link,
#     another user's file).
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
# shellcheck disable=SC2016  # the sh -c scripts read their arguments as $1, $2 ...
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

e2e_setup walferry-push walferry-fetch walferry-test-make-segment
sshd_setup
sshd_start sb1 127.0.0.2
note "work dir $E2E_WORK, user $E2E_USER, sshd sb1 on port ${SSHD_PORT[sb1]}"

PUSH=$(walferry_bin walferry-push)
FETCH=$(walferry_bin walferry-fetch)
ARCHIVE=$E2E_WORK/sb1/archive  # pushed to: has walferry.info
EMPTY=$E2E_WORK/sb1/empty      # a directory nothing was ever pushed to
MISSING=$E2E_WORK/sb1/missing  # no such directory
SRC=$E2E_WORK/src
T=$E2E_WORK/target  # the %p directory (pg_wal)
PGDATA_LIKE=$E2E_WORK/pgdata
e2e_mkdir "$ARCHIVE" "$EMPTY" "$SRC" "$T" "$PGDATA_LIKE"
e2e_as_user sh -c 'echo 15 >"$1/PG_VERSION"' _ "$PGDATA_LIKE"
# What the test runs (as the test user, from the work dir or run_in's) finds no config but the
# one it names.
unset WALFERRY_CONFIG

# expect_said WHAT REGEX: exactly one line on stderr (two with the --help hint), matching REGEX.
expect_said() {
  expect_stderr_matches "$2" "$1"
  (($(wc -l <"$ERR") <= 2)) || fail "$1: stderr has more than two lines"
  pass
}

expect_target_clean() {
  local left
  left=$(find "$T" -mindepth 1 -printf '%P ')
  check "$1: left in the %p directory: $left" test -z "$left"
}

config() {
  local file=$E2E_WORK/$1.toml
  shift
  printf '%s\n' "$@" >"$file"
  chmod 644 "$file"
  echo "$file"
}

seg3=$(e2e_as_user "$(walferry_bin walferry-test-make-segment)" --out "$SRC" --segno 3)
name3=${seg3##*/}
pushed=$(config pushed "$(sshd_destination sb1 "$ARCHIVE")")
run "$PUSH" -c "$pushed" "$seg3"
expect_rc 0 "push $name3 over sftp"
check "the push made no walferry.info" test -f "$ARCHIVE/walferry.info"

# --- (1) not found only from an archive that answered
note "(1) a missing archive directory or one without walferry.info is an error, not 'not found'"
for mode in recovery standby; do
  want=255
  [[ $mode == standby ]] && want=1
  for dir in "$MISSING" "$EMPTY"; do
    for scheme in sftp file; do
      if [[ $scheme == sftp ]]; then
        cfg=$(config "src-$scheme" "$(sshd_destination sb1 "$dir")" '[fetch]' 'retries = 0')
        args=(-c "$cfg")
      else
        args=("$dir")
      fi
      what="$scheme ${dir##*/} --mode $mode"
      run "$FETCH" --mode "$mode" "$name3" "$T/RECOVERYXLOG" "${args[@]}"
      expect_rc "$want" "$what"
      if [[ $dir == "$MISSING" ]]; then
        expect_said "$what" 'archive directory .*missing.* does not exist'
      else
        expect_said "$what" 'no walferry\.info'
      fi
      expect_target_clean "$what"
    done
  done
done
# The archive that answered: its "no such file" is not found, silent, in every mode.
for mode in recovery standby; do
  run "$FETCH" -c "$pushed" --mode "$mode" 000000010000000000000009 "$T/RECOVERYXLOG"
  expect_rc 1 "not-found from the pushed archive (--mode $mode)"
  check "not-found from the pushed archive printed: $(cat "$ERR")" test ! -s "$ERR"
  run "$FETCH" --mode "$mode" 00000002.history "$T/RECOVERYHISTORY" "$ARCHIVE"
  expect_rc 1 "not-found .history from the local archive (--mode $mode)"
  check "not-found .history printed: $(cat "$ERR")" test ! -s "$ERR"
done
# With a second source that has the file, the broken first one is said and the file is served.
# (Local sources are asked first.)
both=$(config both '[[destination]]' 'name = "broken"' "url = \"file://$MISSING\"" \
  "$(sshd_destination sb1 "$ARCHIVE")" '[fetch]' 'prefetch = 0')
run "$FETCH" -c "$both" --mode recovery "$name3" "$T/RECOVERYXLOG"
expect_rc 0 "fetch with a missing first source and a good second one"
check "the served $name3 differs" cmp -s "$T/RECOVERYXLOG" "$seg3"
expect_said "missing first source" 'does not exist'
rm -f "$T/RECOVERYXLOG"

# --- (2) failures before the sources are asked follow the mode
note "(2) no source, only ourselves, no working directory, a broken command line: by the mode"
if [[ -e /etc/walferry/walferry.toml ]]; then
  note "skipped 'no config file': /etc/walferry/walferry.toml exists on this host"
else
  run "$FETCH" --mode recovery "$name3" "$T/RECOVERYXLOG"
  expect_rc 255 "no config file, --mode recovery"
  expect_said "no config file" 'no source'
  run_in "$PGDATA_LIKE" "$FETCH" "$name3" "$T/RECOVERYXLOG"
  expect_rc 255 "no config file, in a data directory without standby.signal"
fi
self=$(config self 'node = "sb1"' "$(sshd_destination sb1 "$ARCHIVE")")
run "$FETCH" -c "$self" --mode recovery "$name3" "$T/RECOVERYXLOG"
expect_rc 255 "the only destination is this node, --mode recovery"
expect_said "only this node" 'no source'
run "$FETCH" -c "$self" --mode standby "$name3" "$T/RECOVERYXLOG"
expect_rc 1 "the only destination is this node, --mode standby"
expect_target_clean "no source"

gone=$E2E_WORK/gone
e2e_mkdir "$gone"
run_in "$gone" sh -c 'rmdir "$1" && exec "$2" --mode recovery "$3" "$4" "$5"' _ \
  "$gone" "$FETCH" "$name3" "$T/RECOVERYXLOG" "$ARCHIVE"
expect_rc 255 "working directory removed, --mode recovery"
expect_said "working directory removed" 'current directory'
e2e_mkdir "$gone"
run_in "$gone" sh -c 'rmdir "$1" && exec "$2" "$3" "$4" "$5"' _ \
  "$gone" "$FETCH" "$name3" "$T/RECOVERYXLOG" "$ARCHIVE"
expect_rc 255 "working directory removed, no standby.signal to be seen"

# restore_command = 'walferry-fetch %p %f' (swapped) or with %p forgotten, run by the server
# from its data directory: recovery must stop, not end early.
run_in "$PGDATA_LIKE" "$FETCH" "$T/RECOVERYXLOG" "$name3" "$ARCHIVE"
expect_rc 255 "swapped %f and %p in a data directory"
run_in "$PGDATA_LIKE" "$FETCH" "$name3"
expect_rc 255 "%p missing, in a data directory"
expect_said "%p missing" 'TARGETPATH'
run_in "$PGDATA_LIKE" "$FETCH" --no-such-option "$name3" "$T/RECOVERYXLOG" "$ARCHIVE"
expect_rc 255 "unknown option, in a data directory"
run "$FETCH" --mode recovery "$name3"
expect_rc 255 "%p missing, --mode recovery outside a data directory"
run "$FETCH" --mode=standby --no-such-option "$name3" "$T/RECOVERYXLOG" "$ARCHIVE"
expect_rc 2 "unknown option, --mode=standby"
e2e_as_user touch "$PGDATA_LIKE/standby.signal"
# A standby goes on either way: the usual statuses.
run_in "$PGDATA_LIKE" "$FETCH" "$name3"
expect_rc 2 "%p missing, in a standby's data directory"
run_in "$PGDATA_LIKE" "$FETCH" "$T/RECOVERYXLOG" "$name3" "$ARCHIVE"
expect_rc 3 "swapped %f and %p, in a standby's data directory"
run "$FETCH" "$name3"
expect_rc 2 "%p missing, by hand outside a data directory"
expect_target_clean "broken command lines"

# --- (12) a signal in the middle of a transfer; old temporary files swept
note "(12) SIGTERM / SIGINT mid-transfer leave no temp file; old temp files are swept"
# 64 MiB, so that the transfer lasts long enough to be caught with its temp file open.
big=$(e2e_as_user "$(walferry_bin walferry-test-make-segment)" --out "$SRC" --segno 5 \
  --seg-size $((64 << 20)))
big_name=${big##*/}
# (An archive of its own: walferry.info records one wal_segment_size.)
e2e_mkdir "$E2E_WORK/sb1/big"
noprefetch=$(config noprefetch "$(sshd_destination sb1 "$E2E_WORK/sb1/big")" '[fetch]' \
  'prefetch = 0')
run "$PUSH" -c "$noprefetch" "$big"
expect_rc 0 "push of a 64 MiB segment"
uid=$(id -u "$E2E_USER")
gid=$(id -g "$E2E_USER")

# as_user_exec CMD...: exec CMD as the test user, so that $! of `( as_user_exec ... ) &` is its pid.
as_user_exec() {
  if ((EUID == 0)); then
    exec setpriv --reuid "$uid" --regid "$gid" --init-groups -- "$@"
  fi
  exec "$@"
}

temp_in_target() { compgen -G "$T/RECOVERYXLOG.walferry-tmp.*" >/dev/null; }
state_of() { ps -o stat= -p "$1" | tr -d ' '; }

for sig in TERM INT; do
  caught=0
  for attempt in 1 2 3 4 5 6 7 8; do
    rm -f "$T"/RECOVERYXLOG*
    # Job control: without it a background job ignores SIGINT (as PostgreSQL's child does not).
    set -m
    (cd "$E2E_WORK" && as_user_exec "$FETCH" -c "$noprefetch" --mode recovery "$big_name" \
      "$T/RECOVERYXLOG") >"$OUT" 2>"$ERR" {E2E_ERR}>&- &
    pid=$!
    set +m
    # Until the temp file appears or the call ends.
    until temp_in_target || [[ -e $T/RECOVERYXLOG ]] || [[ $(state_of "$pid") == Z* ]] ||
      ! kill -0 "$pid" 2>/dev/null; do
      sleep 0.01
    done
    kill -STOP "$pid" 2>/dev/null || true
    if temp_in_target && [[ $(state_of "$pid") == T* ]]; then
      # Stopped mid-transfer, temp file open: the signal is delivered once it runs again.
      kill "-$sig" "$pid"
      kill -CONT "$pid"
      RC=0
      wait "$pid" || RC=$?
      signum=$(kill -l "$sig")
      expect_rc $((128 + signum)) "fetch ended by SIG$sig (it must die of the signal)"
      caught=1
      break
    fi
    kill -CONT "$pid" 2>/dev/null || true
    wait "$pid" || true  # finished before it could be stopped: again
  done
  ((caught)) || fail "could not catch a fetch of $big_name in the middle of its transfer"
  pass
  note "SIG$sig caught a fetch mid-transfer on attempt $attempt"
  left=$(find "$T" -mindepth 1 -printf '%P ')
  check "fetch ended by SIG$sig left: $left" test -z "$left"
done

# Old temp files next to %p: only walferry's own (name pattern, regular file, our owner, older
# than a few minutes) are removed by the next call, even one that finds nothing.
plant() { e2e_as_user sh -c 'echo half >"$1" && touch -d "$2" "$1"' _ "$T/$1" "$2"; }
plant RECOVERYXLOG.walferry-tmp.AbC123 '2 hours ago'
plant RECOVERYHISTORY.walferry-tmp.x9Y8z7 '1 day ago'
plant 000000010000000000000007.walferry-tmp.Q1w2E3 '2 hours ago'  # pg_rewind's %p
plant RECOVERYXLOG.walferry-tmp.Fresh1 'now'
plant RECOVERYXLOG.walferry-tmp.toolong1 '2 hours ago'
plant RECOVERYXLOG.walferry-tmpXAbC123 '2 hours ago'
plant 000000010000000000000008 '2 hours ago'
e2e_as_user ln -s "$E2E_WORK/elsewhere" "$T/RECOVERYXLOG.walferry-tmp.Link12"
e2e_as_user sh -c 'echo keep >"$1" && touch -d "2 hours ago" "$1"' _ "$E2E_WORK/elsewhere"
kept=(RECOVERYXLOG.walferry-tmp.Fresh1 RECOVERYXLOG.walferry-tmp.toolong1
  RECOVERYXLOG.walferry-tmpXAbC123 000000010000000000000008 RECOVERYXLOG.walferry-tmp.Link12)
if ((EUID == 0)); then
  echo other >"$T/RECOVERYXLOG.walferry-tmp.Root99"
  touch -d '2 hours ago' "$T/RECOVERYXLOG.walferry-tmp.Root99"
  kept+=(RECOVERYXLOG.walferry-tmp.Root99)
fi
run "$FETCH" --mode recovery 000000010000000000000009 "$T/RECOVERYXLOG" "$ARCHIVE"
expect_rc 1 "not-found call with old temp files next to %p"
for f in RECOVERYXLOG.walferry-tmp.AbC123 RECOVERYHISTORY.walferry-tmp.x9Y8z7 \
  000000010000000000000007.walferry-tmp.Q1w2E3; do
  check "old temp file $f was not swept" test ! -e "$T/$f"
done
for f in "${kept[@]}"; do
  [[ -e $T/$f || -L $T/$f ]] || fail "$f was removed, but it is not an old walferry temp file"
  pass
done
check "the target of a symbolic link was removed" test -f "$E2E_WORK/elsewhere"

assert_done
