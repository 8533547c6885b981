#!/usr/bin/env bash
# walferry-push killed with SIGKILL at a random moment, over and over (WALFERRY_KILL9_TRIALS,
# default 100), into fresh archives and into one archive reused across trials. After each kill:
# under the final name there is nothing or a complete, valid file (`zstd -t`, fetched back and
# compared with the original); whatever else is left is a hidden temp file that cannot be taken
# for a WAL file; walferry.info is absent or complete; and the next push exits 0 with a valid file.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
fault_setup

TRIALS=${WALFERRY_KILL9_TRIALS:-100}
SEG_SIZE=67108864  # 64 MiB: long enough a push that kills land in every phase of it
REUSED=$WORK/reused
# The archives stay on disk (their fsyncs are part of what a kill interrupts); the 64 MiB inputs
# and fetched copies go to memory, so that writing them back does not slow every push down.
ram_dir RAM
mkdir "$REUSED" "$WORK/fresh" "$RAM/src" "$RAM/back"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

fresh_seg=$(make_segment --segno 1 --seg-size $SEG_SIZE --out "$RAM/src")

# How long one push takes here (the median of three), so the kills can be spread over it.
times=()
for i in 1 2 3; do
    mkdir "$WORK/fresh/m$i"
    start=$(now_ms)
    run "$PUSH" "$fresh_seg" "$WORK/fresh/m$i"
    expect_rc 0 "timing push $i"
    times+=($(($(now_ms) - start)))
    rm -rf "$WORK/fresh/m$i"
done
duration=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
note "one push of a 64 MiB segment takes ${duration} ms (${times[*]}); $TRIALS trials"

# check_archive DIR WHAT: the invariants that must hold whenever no push is running.
check_archive() {
    local dir=$1 what=$2 entry base
    for entry in "$dir"/* "$dir"/.[!.]* "$dir"/.walferry-incoming/* "$dir"/.walferry-incoming/.[!.]*; do
        [[ -e $entry ]] || continue
        base=$(basename "$entry")
        case $base in
            walferry.info)
                if ! grep -qE '^system_identifier *= *[0-9]+$' "$entry" ||
                    ! grep -qE '^wal_segment_size *= *67108864$' "$entry"; then
                    fail "$what: incomplete walferry.info: $(cat "$entry")"
                fi
                pass
                ;;
            .walferry-incoming)
                # Where temp files are written: a directory, nothing but temp files in it.
                [[ -d $entry && ! -L $entry && $entry == "$dir/$base" ]] ||
                    fail "$what: $entry is not the temp directory"
                pass
                ;;
            .walferry-tmp.*)
                # A killed writer's temp file: hidden, in the temp directory, and never ending like
                # an archived name.
                [[ $entry == "$dir/.walferry-incoming/$base" ]] || fail "$what: temp file $entry outside .walferry-incoming"
                [[ $base != *.zst ]] || fail "$what: temp file $base ends in .zst"
                pass
                ;;
            [0-9A-F]*.zst)
                [[ $base =~ ^[0-9A-F]{24}\.zst$ && $entry == "$dir/$base" ]] ||
                    fail "$what: unexpected file $entry"
                pass
                ;;
            *) fail "$what: unexpected entry $base in the archive" ;;
        esac
    done
}

# verify_stored DIR NAME ORIGINAL WHAT: the stored file is complete and gives back ORIGINAL.
verify_stored() {
    local stored=$1/$2.zst
    zstd -q -t -- "$stored" 2>"$WORK/zstd.err" ||
        fail "$4: zstd -t $stored: $(cat "$WORK/zstd.err")"
    pass
    run "$FETCH" --mode recovery "$2" "$RAM/back/$2" "$1"
    expect_rc 0 "$4: fetch $2"
    expect_same_bytes "$RAM/back/$2" "$3" "$4: fetched $2"
    rm -f "$RAM/back/$2"
}

# A pipe nobody writes to: `read -t` on it sleeps without starting a process.
exec {nap_fd}<> <(:)
ms_sleep() {
    read -r -t "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))" -u "$nap_fd" || true
}

before_write=0 mid_write=0 after_publish=0 finished=0
RANDOM=${WALFERRY_KILL9_SEED:-9}
suite_start=$(now_ms)
for ((trial = 1; trial <= TRIALS; trial++)); do
    if ((trial % 2)); then
        # A fresh archive: the kill may also hit the creation of walferry.info.
        archive=$WORK/fresh/a$trial
        mkdir "$archive"
        seg=$fresh_seg
    else
        # The reused archive, a new segment each time, next to earlier trials' leftovers.
        archive=$REUSED
        seg=$(make_segment --segno $((100 + trial)) --seg-size $SEG_SIZE --out "$RAM/src")
    fi
    name=$(basename "$seg")
    # (stderr of the block: bash's "Killed" job notice, which may come at any point in it)
    {
        "$PUSH" "$seg" "$archive" >"$WORK/kill.out" 2>"$WORK/kill.err" &
        pid=$!
        start=$(now_ms)
        case $((trial % 3)) in
            0)  # anywhere in the push
                delay=$(((RANDOM * 32768 + RANDOM) % (duration + 1)))
                ms_sleep "$delay"
                ;;
            1)  # around its end, where the file is written, published and synced
                delay=$((RANDOM * 32768 + RANDOM))
                delay=$((duration * 5 / 10 + delay % (duration * 5 / 10 + 1)))
                ms_sleep "$delay"
                ;;
            2)  # once the temp file exists: while it is being written (or just after)
                while kill -0 "$pid" 2>/dev/null &&
                    ! compgen -G "$archive/.walferry-incoming/.walferry-tmp.$name*" >/dev/null; do
                    read -r -t 0.002 -u "$nap_fd" || true
                done
                ms_sleep $((RANDOM % 40))
                ;;
        esac
        kill -9 "$pid" 2>/dev/null || true
        delay=$(($(now_ms) - start))
        rc=0
        wait "$pid" || rc=$?
    } 2>/dev/null
    what="trial $trial (kill after ${delay} of ~${duration} ms, exit $rc)"
    [[ $rc == 0 || $rc == 137 ]] || fail "$what: push failed on its own: $(cat "$WORK/kill.err")"
    pass

    check_archive "$archive" "$what"
    temps=$(find "$archive" -maxdepth 2 -name ".walferry-tmp.$name*" | wc -l)
    published=0
    if [[ -e $archive/$name.zst ]]; then
        published=1
        if [[ $rc == 0 ]]; then
            # Not interrupted: what the push wrote is checked by push_fetch_local_test; here
            # `zstd -t` is enough and keeps the run short.
            zstd -q -t -- "$archive/$name.zst" 2>"$WORK/zstd.err" ||
                fail "$what: zstd -t: $(cat "$WORK/zstd.err")"
            pass
            finished=$((finished + 1))
        else
            verify_stored "$archive" "$name" "$seg" "$what"
            after_publish=$((after_publish + 1))
        fi
    else
        check "$what: push exited 0 but $name.zst is missing" test "$rc" = 137
        if ((temps > 0)); then
            mid_write=$((mid_write + 1))
        else
            before_write=$((before_write + 1))
        fi
    fi
    state=$(dir_state "$archive")

    # What PostgreSQL does next: call the same push again. It must complete.
    start=$(now_ms)
    run "$PUSH" "$seg" "$archive"
    expect_rc 0 "$what: the following push"
    # A complete push is also the freshest measure of how long one takes under the current load.
    ((published)) || duration=$(((duration * 3 + $(now_ms) - start) / 4))
    check "$what: the following push left no $name.zst" test -e "$archive/$name.zst"
    if ((published)); then
        # Already verified above; the following push must have left it alone.
        expect_same_state "$archive" "$state" "$what: the following push of a stored file"
    else
        verify_stored "$archive" "$name" "$seg" "$what, after the following push"
    fi
    check_archive "$archive" "$what, after the following push"

    if ((trial % 2)); then
        rm -rf "$archive"
    else
        rm -f "$seg"
    fi
done
elapsed=$((($(now_ms) - suite_start) / 1000))
left=$(find "$REUSED" -maxdepth 2 -name '.walferry-tmp.*' | wc -l)
note "$TRIALS trials in ${elapsed}s: killed before writing $before_write, killed mid-write" \
    "$mid_write, killed after publishing $after_publish, finished before the kill $finished;" \
    "$left temp files left in the reused archive"
((before_write + mid_write + after_publish + finished == TRIALS)) || fail "trials miscounted"
pass
((mid_write > 0)) || fail "no kill landed while the file was being written: the test proved nothing"
pass
assert_done
