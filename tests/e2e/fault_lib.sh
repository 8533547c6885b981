# shellcheck shell=bash
# tests/e2e/fault_lib.sh: helpers for the end-to-end tests that need no PostgreSQL server (CLI,
# local push/fetch, hostile names, bit flips, kill -9). Source it from a script running under
# `set -euo pipefail`, then call fault_setup:
#
#   source "$(dirname "$0")/fault_lib.sh"
#   fault_setup                 # $WORK (removed on exit), $PUSH, $FETCH, $MKSEG
#   seg=$(make_segment --segno 5)
#   run "$PUSH" "$seg" "$WORK/archive"
#   expect_rc 0 "push of segment 5"
#   assert_done
#
# The assertions (run, check, expect_*, fail, note, assert_done) are assert_lib.sh's; run keeps
# the exit status in $RC and the output in $OUT and $ERR ($WORK/stdout and $WORK/stderr).
#
# Environment: WALFERRY_BIN_DIR (ctest sets it; default build/release/bin of this checkout),
# WALFERRY_KEEP=1 keeps the work dir.

FAULT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAULT_REPO=$(cd "$FAULT_LIB_DIR/../.." && pwd)
# shellcheck source=tests/e2e/assert_lib.sh
source "$FAULT_LIB_DIR/assert_lib.sh"

FAULT_RAM_DIRS=()

fault_cleanup() {
    local status=$?
    local dir
    assert_exit_status "$status" || status=$?
    for dir in "${FAULT_RAM_DIRS[@]}"; do
        rm -rf "$dir"
    done
    if [[ -n ${WORK:-} && -d $WORK ]]; then
        if [[ ${WALFERRY_KEEP:-0} == 1 ]]; then
            echo "work dir kept: $WORK" >&2
        else
            chmod -R u+rwX "$WORK" 2>/dev/null || true
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}

fault_setup() {
    BIN_DIR=${WALFERRY_BIN_DIR:-$FAULT_REPO/build/release/bin}
    BIN_DIR=$(cd "$BIN_DIR" && pwd) || fail "no binary directory $BIN_DIR"
    PUSH=$BIN_DIR/walferry-push
    FETCH=$BIN_DIR/walferry-fetch
    MKSEG=$BIN_DIR/walferry-test-make-segment
    local b
    for b in "$PUSH" "$FETCH" "$MKSEG"; do
        [[ -x $b ]] || fail "$b is not built"
    done
    command -v zstd >/dev/null || fail "zstd (the command line tool) is not installed"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/walferry-fault.XXXXXX")
    trap fault_cleanup EXIT
    trap 'exit 130' INT TERM
    assert_set_dir "$WORK"
    mkdir "$WORK/src"
    # The binaries' state (backlog, batch markers, unreachable notes) goes in the work dir, never
    # in the system default /var/lib/walferry: a root-owned one left there would change what the
    # next test (or the next run, run as another user) sees. A test may still pass -c or set
    # WALFERRY_CONFIG itself.
    printf 'spool = "%s"\n' "$WORK/spool" >"$WORK/walferry.toml"
    export WALFERRY_CONFIG=$WORK/walferry.toml
}

# ram_dir VAR: sets VAR to a new directory in memory (/dev/shm) when there is one, else under
# $WORK; removed on exit. For bulky inputs and outputs whose write-back would only slow a test.
ram_dir() {
    local dir
    if [[ -d /dev/shm && -w /dev/shm ]] && dir=$(mktemp -d /dev/shm/walferry-fault.XXXXXX); then
        FAULT_RAM_DIRS+=("$dir")
    else
        dir=$(mktemp -d "$WORK/ram.XXXXXX")
    fi
    printf -v "$1" '%s' "$dir"
}

# make_segment [make-segment options]: writes a segment into $WORK/src (or --out) and prints
# its path.
make_segment() {
    local dest=(--out "$WORK/src")
    [[ " $* " == *" --out "* ]] && dest=()
    "$MKSEG" "${dest[@]}" "$@" || fail "walferry-test-make-segment $* failed"
}

# expect_decompresses STORED ORIGINAL: plain `zstd -d` of the stored file gives the original.
expect_decompresses() {
    zstd -q -d -c -- "$1" >"$WORK/zstd.out" 2>"$WORK/zstd.err" ||
        fail "zstd -d $1: $(cat "$WORK/zstd.err")"
    cmp -s "$WORK/zstd.out" "$2" || fail "zstd -d $1 does not give back $2"
    rm -f "$WORK/zstd.out"
    pass
}

# flip_bit FILE OFFSET BIT: inverts one bit in place.
flip_bit() {
    local byte
    byte=$(od -An -tu1 -j "$2" -N1 -- "$1" | tr -d ' ')
    [[ -n $byte ]] || fail "flip_bit: $1 has no byte at offset $2"
    printf '%b' "$(printf '\\%03o' $((byte ^ (1 << $3))))" |
        dd of="$1" bs=1 seek="$2" count=1 conv=notrunc status=none
}

# meta_frame_size FILE: length of the leading skippable frame (8-byte header + u32 LE length).
meta_frame_size() {
    local magic len
    magic=$(od -An -tx4 -N4 -- "$1" | tr -d ' ')
    [[ $magic == 184d2a5e ]] || fail "$1 does not start with walferry's metadata frame ($magic)"
    len=$(od -An -tu4 -j4 -N4 -- "$1" | tr -d ' ')
    echo $((8 + len))
}
