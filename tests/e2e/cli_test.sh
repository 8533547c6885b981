#!/usr/bin/env bash
# Command line of every walferry binary, as pg_basebackup's tests check theirs: --help, --version,
# an unknown option (one error line naming it plus the "Try ... --help" hint, exit 2), missing
# required arguments and bad option values (exit 2). Nothing is archived, so no server is needed.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

version=$(sed -nE 's/^project\(walferry VERSION ([0-9.]+).*/\1/p' "$FAULT_REPO/CMakeLists.txt")
check "cannot read the project version from CMakeLists.txt" test -n "$version"
seg=$(make_segment --segno 1)
mkdir "$WORK/archive"

# Exit status for an I/O error (kIo): walferry-cleanup's is 1, as for every runtime error.
declare -A IO_RC=([walferry-push]=8 [walferry-fetch]=8 [walferry-cleanup]=1)
ENOSPC_TEXT="No space left on device"

# run_to_full STREAM CMD...: like run, with STREAM (stdout or stderr) sent to /dev/full.
# shellcheck disable=SC2034 # RC is read by expect_rc
run_to_full() {
    local stream=$1
    shift
    RC=0
    if [[ $stream == stdout ]]; then
        "$@" >/dev/full 2>"$WORK/stderr" || RC=$?
        : >"$WORK/stdout"
    else
        "$@" >"$WORK/stdout" 2>/dev/full || RC=$?
        : >"$WORK/stderr"
    fi
}

# check_tool TOOL VALID_ARGS... : VALID_ARGS are positionals the tool accepts, so that an unknown
# option among them is the only problem on the line.
check_tool() {
    local tool=$1
    shift
    local bin=$BIN_DIR/$tool
    local hint="Try \"$tool --help\" for more information."
    note "$tool"

    local flag
    for flag in --help -h; do
        run "$bin" "$flag"
        expect_rc 0 "$tool $flag"
        expect_stdout_has "Usage: $tool" "$tool $flag"
        expect_stderr_empty "$tool $flag"
    done

    run "$bin" --version
    expect_rc 0 "$tool --version"
    [[ $(cat "$WORK/stdout") == "$tool $version" ]] ||
        fail "$tool --version printed \"$(cat "$WORK/stdout")\", expected \"$tool $version\""
    pass
    expect_stderr_empty "$tool --version"

    # Output that cannot be written is an error, never "success" with nothing printed.
    for flag in --version --help; do
        run_to_full stdout "$bin" "$flag"
        expect_rc "${IO_RC[$tool]}" "$tool $flag >/dev/full"
        expect_stderr_lines 1 "$tool $flag >/dev/full"
        expect_stderr_has "$tool: error: cannot write to stdout: $ENOSPC_TEXT" "$tool $flag"
    done

    # An unknown option, alone and among valid arguments, long and short, with a value.
    local args
    for args in "--no-such-option" "-Z" "--no-such-option $*" "-Z $*" "$* --no-such-option=3"; do
        local bad=${args%% *}
        [[ $bad == --no-such-option* || $bad == -Z ]] || bad=${args##* }
        # shellcheck disable=SC2086  # word splitting of the argument list is intended
        run "$bin" $args
        expect_rc 2 "$tool $args"
        expect_stdout_empty "$tool $args"
        expect_stderr_lines 2 "$tool $args"
        [[ $(sed -n 1p "$WORK/stderr") == "$tool: error: "*"$bad"* ]] ||
            fail "$tool $args: first line does not name $bad: $(sed -n 1p "$WORK/stderr")"
        pass
        [[ $(sed -n 2p "$WORK/stderr") == "$hint" ]] ||
            fail "$tool $args: second line is not the hint: $(sed -n 2p "$WORK/stderr")"
        pass
    done
    # Nothing may have been archived by any of these.
    [[ -z $(ls -A "$WORK/archive") ]] || fail "$tool: usage errors wrote into the archive"
    pass
}

# check_missing TOOL NAME ARGS...: ARGS lack the required positional NAME.
check_missing() {
    local tool=$1 name=$2
    shift 2
    run "$BIN_DIR/$tool" "$@"
    expect_rc 2 "$tool $* (missing $name)"
    expect_stdout_empty "$tool $* (missing $name)"
    expect_stderr_lines 2 "$tool $* (missing $name)"
    expect_stderr_has "$tool: error: " "$tool $*"
    # The message names the missing argument as the usage line spells it.
    expect_stderr_has "$name" "$tool $* (missing $name)"
    expect_stderr_has "Try \"$tool --help\" for more information." "$tool $*"
}

# check_bad_value TOOL OPTION ARGS...: ARGS hold a bad value for OPTION.
check_bad_value() {
    local tool=$1 option=$2
    shift 2
    run "$BIN_DIR/$tool" "$@"
    expect_rc 2 "$tool $*"
    expect_stderr_lines 2 "$tool $*"
    expect_stderr_has "$option" "$tool $*"
    expect_stderr_has "Try \"$tool --help\" for more information." "$tool $*"
}

check_tool walferry-push "$seg" "$WORK/archive"
check_missing walferry-push WALPATH
check_missing walferry-push WALPATH -v
check_bad_value walferry-push --level -l 99 "$seg" "$WORK/archive"
check_bad_value walferry-push --level --level fast "$seg" "$WORK/archive"
check_bad_value walferry-push --config "$seg" "$WORK/archive" --config

check_tool walferry-fetch 000000010000000000000001 "$WORK/target" "$WORK/archive"
check_missing walferry-fetch WALFILE
check_missing walferry-fetch TARGETPATH 000000010000000000000001
check_bad_value walferry-fetch --mode --mode sometimes 000000010000000000000001 "$WORK/target" \
    "$WORK/archive"
expect_absent "$WORK/target" "walferry-fetch with a bad --mode"

if [[ -x $BIN_DIR/walferry-cleanup ]]; then
    check_tool walferry-cleanup "$WORK/archive" 000000010000000000000001
    check_missing walferry-cleanup ARCHIVEDIR

    # -n's list on a full stdout, -d's report on a full stderr: exit 1, not 0 with nothing said.
    # 300 files make the list longer than stdio's buffer, so writes fail before the last flush.
    note "walferry-cleanup -n >/dev/full, -d 2>/dev/full"
    mkdir "$WORK/carchive"
    for i in $(seq 1 300); do
        printf -v name '00000001%08X%08X' $((i / 256)) $((i % 256))
        : >"$WORK/carchive/$name"
    done
    cut=00000001000000010000002C # the 300th
    run_to_full stdout "$BIN_DIR/walferry-cleanup" -n "$WORK/carchive" "$cut"
    expect_rc 1 "walferry-cleanup -n >/dev/full"
    expect_stderr_lines 1 "walferry-cleanup -n >/dev/full"
    expect_stderr_has "walferry-cleanup: error: cannot write to stdout: $ENOSPC_TEXT" "-n"
    left=("$WORK/carchive"/*)
    check "walferry-cleanup -n removed files" test "${#left[@]}" = 300
    run_to_full stderr "$BIN_DIR/walferry-cleanup" -d "$WORK/carchive" "$cut"
    expect_rc 1 "walferry-cleanup -d 2>/dev/full"
    expect_stdout_empty "walferry-cleanup -d 2>/dev/full"
    # It stops at the first removal it cannot report, before doing it.
    left=("$WORK/carchive"/*)
    [[ ${#left[@]} == 300 ]] ||
        fail "walferry-cleanup -d 2>/dev/full removed files it could not report"
    pass
    run "$BIN_DIR/walferry-cleanup" -d "$WORK/carchive" "$cut"
    expect_rc 0 "walferry-cleanup -d"
    expect_stderr_lines 300 "walferry-cleanup -d: 299 removals and the summary"
    left=("$WORK/carchive"/*)
    check "walferry-cleanup -d left the wrong files" test "${left[*]}" = "$WORK/carchive/$cut"
else
    note "walferry-cleanup is not built: skipped"
fi

[[ -z $(ls -A "$WORK/archive") ]] || fail "usage errors wrote into the archive"
pass
assert_done
