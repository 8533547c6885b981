#!/usr/bin/env bash
# The sftp:// backend against real OpenSSH servers on 127.0.0.2 and 127.0.0.3 (sshd_lib.sh):
# walferry-push to both and walferry-fetch back, byte for byte; identical re-push is a no-op,
# different content is refused (exit 5); put() onto an existing name answers "exists" (OpenSSH's
# plain SFTP rename links, so it never replaces); host key checks (hashed entries, a server with
# several key types, mismatch, unknown host, opt-in acceptance); wrong key, closed port, a server
# that never answers, a remote directory that is read-only or missing: each one line, non-zero,
# nothing under the final name, and no temp file left after the next successful push.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/e2e/sshd_lib.sh
source "$(dirname "$0")/sshd_lib.sh"

e2e_setup walferry-push walferry-fetch walferry-test-make-segment walferry-test-sftp-store
sshd_setup
sshd_start sb1 127.0.0.2 ed25519 ecdsa
sshd_start sb2 127.0.0.3
note "work dir $E2E_WORK, user $E2E_USER, sshd sb1 on port ${SSHD_PORT[sb1]}, sb2 on ${SSHD_PORT[sb2]}"

PUSH=$(walferry_bin walferry-push)
FETCH=$(walferry_bin walferry-fetch)
STORE=$(walferry_bin walferry-test-sftp-store)
A1=$E2E_WORK/sb1/archive
A2=$E2E_WORK/sb2/archive
SRC=$E2E_WORK/src
e2e_mkdir "$A1" "$A2" "$SRC" "$E2E_WORK/fetched"
SYSID=7300000000000000001

segment() {
  e2e_as_user "$(walferry_bin walferry-test-make-segment)" --out "$SRC" --sysid "$SYSID" "$@" ||
    fail "walferry-test-make-segment $* failed"
}

config() {
  local file=$E2E_WORK/$1.toml
  shift
  # The spool in the work dir, not the system default /var/lib/walferry (which may exist here,
  # owned by another user).
  printf '%s\n' "spool = \"$E2E_WORK/spool\"" "$@" >"$file"
  echo "$file"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

both=$(config both "$(sshd_destination sb1 "$A1")" "$(sshd_destination sb2 "$A2")")
only1=$(config only1 "$(sshd_destination sb1 "$A1")")
only2=$(config only2 "$(sshd_destination sb2 "$A2")")

seg5=$(segment --segno 5)
name5=${seg5##*/}

note "push to two sftp destinations, fetch back from each"
t0=$(now_ms)
run "$PUSH" -c "$both" "$seg5"
expect_rc 0 "push $name5"
check "push $name5 wrote to stderr: $(cat "$ERR")" test ! -s "$ERR"
note "push of one segment to two hosts took $(($(now_ms) - t0)) ms"
for a in "$A1" "$A2"; do
  [[ -f $a/$name5.zst && -f $a/walferry.info ]] || fail "$a lacks $name5.zst or walferry.info"
  pass
  check "$a/$name5.zst does not decompress to it" cmp -s <(zstd -q -d -c "$a/$name5.zst") "$seg5"
  expect_no_temp "$a" "push $name5"
done
for cfg in "$only1" "$only2"; do
  rm -f "$E2E_WORK/fetched/RECOVERYXLOG"
  run "$FETCH" -c "$cfg" --mode standby "$name5" "$E2E_WORK/fetched/RECOVERYXLOG"
  expect_rc 0 "fetch $name5 with $cfg"
  check "fetched $name5 differs ($cfg)" cmp -s "$E2E_WORK/fetched/RECOVERYXLOG" "$seg5"
done
run "$FETCH" -c "$only1" --mode standby 000000010000000000000009 "$E2E_WORK/fetched/RECOVERYXLOG"
expect_rc 1 "fetch of a missing segment"
check "fetch of a missing segment printed: $(cat "$ERR")" test ! -s "$ERR"

note "identical re-push: 0, nothing touched; different content: exit 5, nothing touched"
state1=$(dir_state "$A1") state2=$(dir_state "$A2")
run "$PUSH" -c "$both" "$seg5"
expect_rc 0 "identical re-push"
e2e_mkdir "$E2E_WORK/other"
other5=$(e2e_as_user "$(walferry_bin walferry-test-make-segment)" --out "$E2E_WORK/other" \
  --sysid "$SYSID" --segno 5 --seed 1)
run "$PUSH" -c "$both" "$other5"
expect_rc 5 "push of different content"
check "conflict message lacks the stored sha256" grep -qF "$(sha256sum "$seg5" | cut -d' ' -f1)" "$ERR"
check "conflict message lacks the new sha256" grep -qF "$(sha256sum "$other5" | cut -d' ' -f1)" "$ERR"
[[ "$(dir_state "$A1")" == "$state1" && "$(dir_state "$A2")" == "$state2" ]] ||
  fail "re-pushes changed a remote archive"
pass

note "re-push over a truncated stored copy with intact metadata: exit 4, the copy untouched"
cp -p "$A1/$name5.zst" "$E2E_WORK/good5"
truncate -s -64 "$A1/$name5.zst"
cp -p "$A1/$name5.zst" "$E2E_WORK/truncated5"
run "$PUSH" -c "$only1" "$seg5"
expect_rc 4 "re-push over a truncated stored copy"
expect_stderr_has "$name5.zst\" already exists" "re-push over a truncated copy"
expect_stderr_has "damaged" "re-push over a truncated copy"
check "re-push touched the truncated copy" cmp -s "$A1/$name5.zst" "$E2E_WORK/truncated5"
cp -p "$E2E_WORK/good5" "$A1/$name5.zst"

note "put() onto an existing name: 'exists', stored file untouched (plain SFTP rename never replaces)"
cp "$A1/$name5.zst" "$E2E_WORK/stored5"
run "$STORE" -c "$only1" put "$name5.zst" "$other5"
expect_rc 0 "put onto $name5.zst"
[[ $(cat "$OUT") == exists ]] || fail "put onto an existing name answered '$(cat "$OUT")'"
pass
check "put replaced $name5.zst" cmp -s "$A1/$name5.zst" "$E2E_WORK/stored5"
check "put onto an existing name changed the archive" test "$(dir_state "$A1")" = "$state1"
run "$STORE" -c "$only1" list
[[ $(paste -sd ' ' "$OUT") == "$name5.zst walferry.info" ]] || fail "list gave: $(cat "$OUT")"
pass
run "$STORE" -c "$only1" stat "$name5.zst" 4
[[ $(cat "$OUT") == "$(stat -c %s "$A1/$name5.zst") 5e2a4d18" ]] || fail "stat gave: $(cat "$OUT")"
pass
run "$STORE" -c "$only1" remove nothing-here
[[ $(cat "$OUT") == absent ]] || fail "remove of a missing name gave: $(cat "$OUT")"
pass

note "host keys: hashed entries, a server with several key types, mismatch, unknown, opt-in"
# sb1 has ed25519 and ecdsa keys; a known_hosts with only its (hashed) ecdsa key must do.
e2e_as_user bash -c "grep -F '[127.0.0.2]:${SSHD_PORT[sb1]} ecdsa' '$SSHD_KNOWN_HOSTS' >'$E2E_WORK/ssh/kh_ecdsa'
  ssh-keygen -q -H -f '$E2E_WORK/ssh/kh_ecdsa' >/dev/null 2>&1 && rm -f '$E2E_WORK/ssh/kh_ecdsa.old'"
check "ssh-keygen -H did not hash known_hosts" grep -q '^|1|' "$E2E_WORK/ssh/kh_ecdsa"
ecdsa=$(config ecdsa "$(sshd_destination sb1 "$A1" | sed "s|$SSHD_KNOWN_HOSTS|$E2E_WORK/ssh/kh_ecdsa|")")
run "$STORE" -c "$ecdsa" list
expect_rc 0 "hashed ecdsa-only known_hosts"
# A known_hosts claiming sb2's key for sb1: mismatch, naming the key sb1 really offers.
e2e_as_user bash -c "sed -n 's|^\[127.0.0.3\]:${SSHD_PORT[sb2]} |[127.0.0.2]:${SSHD_PORT[sb1]} |p' \
  '$SSHD_KNOWN_HOSTS' >'$E2E_WORK/ssh/kh_wrong'"
wrong=$(config wrong "$(sshd_destination sb1 "$A1" | sed "s|$SSHD_KNOWN_HOSTS|$E2E_WORK/ssh/kh_wrong|")")
seg6=$(segment --segno 6)
name6=${seg6##*/}
run "$PUSH" -c "$wrong" "$seg6"
expect_refused "HOST KEY MISMATCH.*127\.0\.0\.2" "host key mismatch"
expect_stderr_has "$(sshd_fingerprint sb1)" "host key mismatch"
e2e_as_user bash -c ": >'$E2E_WORK/ssh/kh_empty'"
unknown=$(config unknown "$(sshd_destination sb1 "$A1" | sed "s|$SSHD_KNOWN_HOSTS|$E2E_WORK/ssh/kh_empty|")")
run "$PUSH" -c "$unknown" "$seg6"
expect_refused "127\.0\.0\.2.*is not in known_hosts.*|not in known_hosts" "unknown host"
grep -qF -e "$(sshd_fingerprint sb1)" -e "$(sshd_fingerprint sb1 ecdsa)" "$ERR" ||
  fail "unknown host message lacks the fingerprint: $(cat "$ERR")"
pass
missing=$(config missing "$(sshd_destination sb1 "$A1" | sed "s|$SSHD_KNOWN_HOSTS|$E2E_WORK/ssh/none|")")
run "$PUSH" -c "$missing" "$seg6"
expect_refused "cannot read known_hosts file .*none" "missing known_hosts"
e2e_as_user bash -c ": >'$E2E_WORK/ssh/kh_new'"
accept=$(config accept "$(sshd_destination sb2 "$A2" accept_new_host_keys=true |
  sed "s|$SSHD_KNOWN_HOSTS|$E2E_WORK/ssh/kh_new|")")
run "$STORE" -c "$accept" list
expect_rc 0 "accept_new_host_keys on an unknown host"
grep -qF "[127.0.0.3]:${SSHD_PORT[sb2]} $(cut -d' ' -f1,2 "${SSHD_DIR[sb2]}/host_ed25519.pub")" \
  "$E2E_WORK/ssh/kh_new" || fail "accepted key not recorded: $(cat "$E2E_WORK/ssh/kh_new")"
pass
run "$STORE" -c "$accept" list
expect_rc 0 "second connection with the accepted key"
[[ $(wc -l <"$E2E_WORK/ssh/kh_new") == 1 ]] || fail "the accepted key was recorded twice"
pass

note "wrong key, closed port, silent server, read-only and missing remote directory"
e2e_as_user ssh-keygen -q -t ed25519 -N '' -f "$E2E_WORK/ssh/stranger" </dev/null
stranger=$(config stranger "$(sshd_destination sb1 "$A1" | sed "s|$SSHD_USER_KEY\"|$E2E_WORK/ssh/stranger\"|")")
run "$PUSH" -c "$stranger" "$seg6"
expect_refused "public key authentication as $E2E_USER@127\.0\.0\.2:${SSHD_PORT[sb1]} failed" "wrong key"
closed=""
e2e_free_port closed
closed_cfg=$(config closed "$(sshd_destination sb1 "$A1" | sed "s|:${SSHD_PORT[sb1]}/|:$closed/|")")
t0=$(now_ms)
run "$PUSH" -c "$closed_cfg" "$seg6"
expect_refused "cannot connect to .*127\.0\.0\.2:$closed: Connection refused" "closed port"
(($(now_ms) - t0 < 2000)) || fail "a closed port took $(($(now_ms) - t0)) ms to fail"
pass
silent=$(config silent "$(sshd_destination sb2 "$A2" "connect_timeout = 2" "io_timeout = 2")")
sshd_pause sb2
t0=$(now_ms)
run "$PUSH" -c "$silent" "$seg6"
took=$(($(now_ms) - t0))
sshd_resume sb2
expect_refused "127\.0\.0\.3.*no answer within 2 s" "silent server"
((took >= 1900 && took < 5000)) || fail "a silent server with io_timeout = 2 took $took ms"
pass
note "silent server refused after $took ms (io_timeout = 2)"
chmod 555 "$A1"
run "$PUSH" -c "$only1" "$seg6"
chmod 755 "$A1"
# The temp directory exists (earlier pushes made it): refused when the name is published.
expect_refused "(temporary file in archive directory|rename temporary file to) .*$A1.*: permission denied" "read-only remote directory"
expect_no_temp "$A1" "read-only remote directory"
nodir=$(config nodir "$(sshd_destination sb1 "$A1/nope")")
run "$PUSH" -c "$nodir" "$seg6"
expect_refused "archive directory .*$A1/nope.* does not exist" "missing remote directory"
for a in "$A1" "$A2"; do
  check "$a/$name6.zst exists after failed pushes" test ! -e "$a/$name6.zst"
  expect_no_temp "$a" "failed pushes"
done

note "a server that stops answering in the middle of a write: refused within io_timeout"
head -c $((150 * 1024 * 1024)) /dev/zero >"$E2E_WORK/big"
chmod 644 "$E2E_WORK/big"
stall=$(config stall "$(sshd_destination sb1 "$A1" "io_timeout = 2")")
e2e_as_user "$STORE" -c "$stall" put big.bin "$E2E_WORK/big" >"$OUT" 2>"$ERR" &
writer=$!
e2e_wait_for 30 "the big write to start" compgen -G "$A1/.walferry-incoming/.walferry-tmp.big.bin.*"
sleep 0.2
# The per-connection sshd processes under sb1's listener (the listener itself stays up).
sessions=$(pgrep -P "${SSHD_PID[sb1]}") || fail "no sshd session process for the big write"
sessions="$sessions $(for p in $sessions; do pgrep -P "$p" || true; done)"
# shellcheck disable=SC2086 # a list of pids
kill -STOP $sessions
t0=$(now_ms)
RC=0
wait "$writer" || RC=$?
took=$(($(now_ms) - t0))
# shellcheck disable=SC2086
kill -CONT $sessions
expect_refused "cannot write .*no answer from .*127\.0\.0\.2.* within 2 s" "server stalled mid-write"
((took < 5000)) || fail "a stalled server with io_timeout = 2 took $took ms to give up"
pass
note "stalled write refused $took ms after the server stopped"
check "a stalled write left big.bin under its final name" test ! -e "$A1/big.bin"
head -c 10 /dev/zero >"$E2E_WORK/small" && chmod 644 "$E2E_WORK/small"
run "$STORE" -c "$only1" put big.bin "$E2E_WORK/small"
[[ $RC == 0 && $(cat "$OUT") == stored ]] || fail "put after the stall: $RC $(cat "$OUT" "$ERR")"
pass
expect_no_temp "$A1" "the put after a stalled write"
rm -f "$A1/big.bin" "$E2E_WORK/big"

note "temp files of dead writers: the next push removes its own name's and stale ones"
dead=".walferry-tmp.$name6.zst.0123456789abcdef"
alive=".walferry-tmp.000000010000000000000007.zst.fedcba9876543210"
stale=".walferry-tmp.000000010000000000000003.zst.00000000000000aa"
e2e_as_user bash -c "mkdir -p '$A1/.walferry-incoming' && cd '$A1/.walferry-incoming' &&
  echo partial >'$dead' && echo busy >'$alive' &&
  echo old >'$stale' && touch -d '-1 hour' '$stale'"
run "$PUSH" -c "$both" "$seg6"
expect_rc 0 "push $name6 after the failures"
[[ ! -e $A1/.walferry-incoming/$dead && ! -e $A1/.walferry-incoming/$stale ]] ||
  fail "dead or stale temp files were left"
pass
check "a fresh temp file of another name was removed" test -e "$A1/.walferry-incoming/$alive"
rm -f "$A1/.walferry-incoming/$alive"
for a in "$A1" "$A2"; do
  check "$a/$name6.zst is not the segment" cmp -s <(zstd -q -d -c "$a/$name6.zst") "$seg6"
  expect_no_temp "$a" "push $name6"
done

note "remote_sync = true: sync runs on the archive directory over an exec channel"
seg7=$(segment --segno 7)
sync_cfg=$(config sync "$(sshd_destination sb2 "$A2" "remote_sync = true")")
run "$PUSH" -c "$sync_cfg" "$seg7"
if [[ "$(getent passwd "$E2E_USER" | cut -d: -f7)" == */nologin ]]; then
  # The test user may only use SFTP: the opt-in must fail loudly, not pretend.
  expect_refused "remote_sync: .*sync -- .*$A2.* failed with exit status" "remote_sync without a shell"
else
  expect_rc 0 "push with remote_sync"
fi
check "remote_sync push did not publish ${seg7##*/}" test -f "$A2/${seg7##*/}.zst"
expect_no_temp "$A2" "remote_sync push"

assert_done
