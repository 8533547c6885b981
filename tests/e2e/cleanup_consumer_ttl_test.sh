#!/usr/bin/env bash
# A consumer that stops reporting is reported on every cleanup once it is older than
# consumer_ttl, and it keeps holding back removal until it is forgotten: never dropped silently.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup
CLEANUP=$BIN_DIR/walferry-cleanup
check "$CLEANUP is not built" test -x "$CLEANUP"

archive=$WORK/archive
mkdir "$archive"
for i in 01 02 03 04 05 06 07 08 09 0A; do : >"$archive/0000000100000000000000$i"; done
name() { printf '0000000100000000000000%s' "$1"; }

# "slow" records 03, then stops reporting; "fast" moves on to 08.
run "$CLEANUP" --consumer slow "$archive" "$(name 03)"
expect_rc 0 "slow records its cutoff"
record=$archive/.walferry-cleanup/consumers/slow
check "no record for consumer slow at $record" test -f "$record"
# Make the record ten days old, as if the standby had been gone that long.
old=$(($(date +%s) - 10 * 86400))
printf 'cutoff = "%s"\nupdated = %s\n' "$(name 03)" "$old" >"$record"

printf '[cleanup]\nconsumer_ttl = "7d"\n' >"$WORK/ttl.toml"
run "$CLEANUP" -c "$WORK/ttl.toml" --consumer fast "$archive" "$(name 08)"
expect_rc 0 "cleanup with a stale consumer still runs"
expect_stderr_has 'warning: consumer "slow" last reported 240 hours ago' "stale consumer reported"
expect_stderr_has "--forget-consumer slow" "the warning says how to forget it"
expect_stderr_lines 1 "one line for the one stale consumer"
check "the stale consumer's record was dropped" test -f "$record"
for i in 01 02; do [[ ! -e $archive/$(name $i) ]] || fail "$(name $i) is below both cutoffs but kept"; pass; done
for i in 03 04 05 06 07 08 09 0A; do
  check "$(name $i) removed although consumer slow still needs it" test -e "$archive/$(name $i)"
done

# A longer ttl: no warning, same decisions.
printf '[cleanup]\nconsumer_ttl = "30d"\n' >"$WORK/ttl30.toml"
run "$CLEANUP" -c "$WORK/ttl30.toml" --consumer fast "$archive" "$(name 08)"
expect_rc 0 "cleanup within the ttl"
expect_stderr_empty "no warning within consumer_ttl"

# Forgotten: now only fast's cutoff counts.
run "$CLEANUP" --forget-consumer slow "$archive"
expect_rc 0 "forget-consumer"
check "record of slow still there after --forget-consumer" test ! -e "$record"
run "$CLEANUP" --forget-consumer slow "$archive"
expect_rc 1 "forgetting an unknown consumer is an error"
expect_stderr_has 'no consumer "slow"' "names the unknown consumer"
run "$CLEANUP" --consumer fast "$archive" "$(name 08)"
expect_rc 0 "cleanup after forgetting"
for i in 03 04 05 06 07; do [[ ! -e $archive/$(name $i) ]] || fail "$(name $i) kept after slow was forgotten"; pass; done
for i in 08 09 0A; do [[ -e $archive/$(name $i) ]] || fail "$(name $i) at or after fast's cutoff removed"; pass; done
assert_done
