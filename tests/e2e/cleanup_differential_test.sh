#!/usr/bin/env bash
# walferry-cleanup against PostgreSQL's own pg_archivecleanup, on generated archives.
#
# 1. Single-timeline archives (random timeline, segment ranges across log ids, .partial,
#    .backup, .history and unknown files, with and without a -x extension, at 16 MiB guessed
#    from empty files, 1 MiB and 64 MiB from walferry.info, 1 MiB from a real page header):
#    for each cutoff (segment, .partial or .backup form) both tools run on their own copy and
#    must leave exactly the same files. Bad arguments must give exit 2 from both.
# 2. Multi-timeline archives (random timeline trees with real .history files, sometimes one
#    missing, walferry.info giving the segment size): every file one tool removes and the other
#    keeps must be explained by walferry's -n reason as one of the documented rules (newer
#    timeline kept, timeline history missing, diverged/abandoned pruned by --prune-diverged).
#    Independently of walferry's words, every segment that recovery along the cutoff's
#    timeline reads at or after the cutoff must survive, and so must every one that recovery
#    along a newer (kept) timeline reads there, also with --prune-diverged; -n must announce
#    exactly what a real run removes.
#
# WALFERRY_CLEANUP_SEED=N replays one run; the seed is printed first.
set -euo pipefail
# shellcheck source=tests/e2e/fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"
# Thousands of small files are created and removed: on tmpfs that is 20x faster than on a busy disk.
[[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
fault_setup
CLEANUP=$BIN_DIR/walferry-cleanup
PGAC=/usr/lib/postgresql/15/bin/pg_archivecleanup
[[ -x $PGAC ]] || PGAC=$(pg_config --bindir 2>/dev/null || true)/pg_archivecleanup
check "pg_archivecleanup is not installed (Debian package postgresql-15)" test -x "$PGAC"
check "$CLEANUP is not built" test -x "$CLEANUP"

SINGLE_ARCHIVES=${WALFERRY_CLEANUP_SINGLE:-220}
MULTI_ARCHIVES=${WALFERRY_CLEANUP_MULTI:-120}
CUTS_PER_ARCHIVE=3
SEED=${WALFERRY_CLEANUP_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
note "seed $SEED (WALFERRY_CLEANUP_SEED=$SEED replays this run); $PGAC"

# R=random in [0, N). Never called inside $(...), so one seed gives one run.
rnd() { R=$((RANDOM % $1)); }
pick() { rnd $#; local -a all=("$@"); P=${all[$R]}; }

# N=name of segment $2 on timeline $1 with $3 segments per log id (XLogFileName).
seg_name() { printf -v N '%08X%08X%08X' "$1" $(($2 / $3)) $(($2 % $3)); }
# L=LSN text of byte position $1: "%X/%X" or, like newer servers, "%X/%08X".
lsn_text() {
    rnd 2
    if ((R)); then printf -v L '%X/%X' $(($1 >> 32)) $(($1 & 0xFFFFFFFF)); else printf -v L '%X/%08X' $(($1 >> 32)) $(($1 & 0xFFFFFFFF)); fi
}
# F=file name $1 with the archive's extension $EXT on most files (when there is one).
decorate() { F=$1; if [[ -n $EXT ]]; then rnd 5; ((R == 0)) || F+=$EXT; fi; }
# Writes file $1 with content $2 (default empty) into every directory of TARGETS: the original
# and one copy per tool and cutoff, generated alike instead of copied (copies cost processes).
emit() { local d; for d in "${TARGETS[@]}"; do printf '%s' "${2:-}" >"$d/$1"; done; }
# Creates an empty file $1, most often with the extension.
put() { decorate "$1"; emit "$F"; }
write_info() {
    local text
    printf -v text 'system_identifier = 1\npg_major = 15\nwal_segment_size = %d\n' "$1"
    emit walferry.info "$text"
}
# CUT=a cutoff for segment $2 of timeline $1: segment, .partial or .backup form, maybe with $EXT.
make_cut() {
    seg_name "$1" "$2" "$SPL"
    rnd 3
    case $R in
    0) CUT=$N ;;
    1) CUT=$N.partial ;;
    2) rnd 4096; printf -v CUT '%s.%08X.backup' "$N" $((R * 8)) ;;
    esac
    if [[ -n $EXT ]]; then rnd 2; ((R)) && CUT+=$EXT; fi
    return 0
}
# Unknown files: names pg_archivecleanup and walferry must both leave alone.
put_unknown() {
    seg_name "$1" "$2" "$SPL"
    local lower=${N,,}
    [[ $lower == "$N" ]] && lower=${N:0:23}a
    pick README backup_label archive_status "$N.tmp" "$N.ready" "$lower" "${N:0:23}" "${N}0" \
        "$N.partial.done" "$N.backup" "$N.00000028.backup.old" ".$N" "$N~" "x$N" "$N.PARTIAL" \
        "${N:0:8}.history.old" "$N.gz.bak"
    emit "$P"
}

# LIST=the names in directory $1, hidden ones too, sorted; no process spawned.
export LC_ALL=C
shopt -s dotglob nullglob
listing() { LIST=("$1"/*); LIST=("${LIST[@]##*/}"); }

# ---------------------------------------------------------------------------------------------
# 1. single timeline: exactly what pg_archivecleanup removes

# Fills TARGETS with one timeline's archive; sets EXT, TLI, SPL (segments per log id), FIRST, COUNT.
gen_single() {
    local mode segsize
    pick "" "" "" .gz .bz2 .zst .xz; EXT=$P
    pick 1 1 1 2 3 4 7 16 26 255 4096; TLI=$P
    pick 16M 16M 16M 1M 64M 1M-header; mode=$P
    case $mode in
    16M) segsize=16777216 ;;
    1M | 1M-header) segsize=1048576 ;;
    64M) segsize=67108864 ;;
    esac
    SPL=$((0x100000000 / segsize))
    [[ $mode == 1M || $mode == 64M ]] && write_info "$segsize"
    local log
    pick 0 0 0 1 2 26 255; log=$P
    rnd 3
    if ((R == 0)); then rnd 6; FIRST=$((log * SPL + SPL - 1 - R)); else rnd "$SPL"; FIRST=$((log * SPL + R)); fi
    rnd 30; COUNT=$((R + 1))
    local s i
    for ((s = FIRST; s < FIRST + COUNT; s++)); do
        rnd 10; ((R == 0)) && continue
        seg_name "$TLI" "$s" "$SPL"; put "$N"
    done
    if [[ $mode == 1M-header ]]; then  # the only way to know the size: a real segment's header
        rnd "$COUNT"
        local real
        rm -rf "$WORK/seg"; mkdir "$WORK/seg"
        real=$("$MKSEG" --tli "$TLI" --segno $((FIRST + R)) --seg-size "$segsize" --out "$WORK/seg") ||
            fail "walferry-test-make-segment failed"
        decorate "$(basename "$real")"
        local d dests=()
        for d in "${TARGETS[@]}"; do dests+=("$d/$F"); done
        tee "${dests[@]}" <"$real" >/dev/null
    fi
    rnd 3
    for ((i = 0; i < R; i++)); do rnd "$COUNT"; seg_name "$TLI" $((FIRST + R)) "$SPL"; put "$N.partial"; done
    rnd 4
    for ((i = 0; i < R; i++)); do
        rnd "$COUNT"; seg_name "$TLI" $((FIRST + R)) "$SPL"; rnd 4096
        put "$N.$(printf '%08X' $((R * 8))).backup"
    done
    if ((TLI > 1)); then  # the cutoff's own history, valid: walferry reads it
        rnd 2
        if ((R)); then
            local text="" p
            for ((p = 1; p < TLI && p < 20; p++)); do lsn_text $((p * 4096)); text+="$p	$L	no recovery target specified"$'\n'; done
            ((TLI >= 20)) && text="$((TLI - 1))	0/0	reason"$'\n'
            decorate "$(printf '%08X.history' "$TLI")"; emit "$F" "$text"
        fi
    fi
    rnd 3
    for ((i = 0; i < R; i++)); do  # other timelines' histories: never read, may be garbage
        rnd 50; ((R + 1 == TLI)) && continue
        decorate "$(printf '%08X.history' $((R + 1)))"; emit "$F" "not a history"
    done
    rnd 5
    for ((i = 0; i < R; i++)); do rnd "$COUNT"; put_unknown "$TLI" $((FIRST + R)); done
}

single_runs=0 single_removed=0 single_kept=0 single_dry=0
for ((a = 0; a < SINGLE_ARCHIVES; a++)); do
    DIR=$WORK/s/orig TARGETS=("$DIR")
    for ((c = 0; c < CUTS_PER_ARCHIVE; c++)); do TARGETS+=("$WORK/s/pg$c" "$WORK/s/wf$c"); done
    rm -rf "$WORK/s"; mkdir -p "${TARGETS[@]}"
    gen_single
    listing "$DIR"; before=${#LIST[@]}
    for ((c = 0; c < CUTS_PER_ARCHIVE; c++)); do
        rnd $((COUNT + 5)); s=$((FIRST - 2 + R)); ((s < 0)) && s=0
        make_cut "$TLI" "$s"
        opts=()
        [[ -n $EXT ]] && opts+=(-x "$EXT")
        rnd 10; ((R == 0)) && opts+=(-n) && single_dry=$((single_dry + 1))
        PG_DIR=$WORK/s/pg$c WF_DIR=$WORK/s/wf$c
        what="archive $a cutoff $CUT options ${opts[*]:-none}"
        run "$PGAC" "${opts[@]}" "$PG_DIR" "$CUT"
        check "$what: pg_archivecleanup exit $RC" test "$RC" = 0
        run "$CLEANUP" "${opts[@]}" "$WF_DIR" "$CUT"
        check "$what: walferry-cleanup exit $RC" test "$RC" = 0
        listing "$PG_DIR"; printf -v left_pg '%s\n' "${LIST[@]}"
        listing "$WF_DIR"; printf -v left_wf '%s\n' "${LIST[@]}"; after=${#LIST[@]}
        if [[ $left_pg != "$left_wf" ]]; then
            WALFERRY_KEEP=1
            cp -a "$DIR" "$WORK/failed-archive"
            fail "$what: remaining files differ (< pg_archivecleanup, > walferry-cleanup; archive kept in $WORK/failed-archive):
$(diff <(echo "$left_pg") <(echo "$left_wf"))"
        fi
        single_removed=$((single_removed + before - after)) single_kept=$((single_kept + after))
        single_runs=$((single_runs + 1))
    done
done
note "single timeline: $single_runs runs on $SINGLE_ARCHIVES archives ($single_dry dry runs), same result every time: $single_removed files removed, $single_kept kept by both"

# Bad arguments: both tools exit 2 and touch nothing.
DIR=$WORK/single; rm -rf "$DIR"; mkdir "$DIR"; EXT=""; SPL=256
for s in 3 4 5 6; do seg_name 1 "$s" 256; : >"$DIR/$N"; done
: >"$DIR/000000010000000000000005.partial"
: >"$DIR/00000002.history"
state=$(dir_state "$DIR")
bad_cases=0
check_both_2() {
    local what=$1; shift
    run "$PGAC" "$@"; local pg_rc=$RC
    run "$CLEANUP" "$@"; local wf_rc=$RC
    [[ $pg_rc == 2 && $wf_rc == 2 ]] || fail "$what: pg_archivecleanup exit $pg_rc, walferry-cleanup exit $wf_rc, both should be 2"
    pass
    [[ $(dir_state "$DIR") == "$state" ]] || fail "$what: the archive changed"
    pass
    bad_cases=$((bad_cases + 1))
}
for cut in "" foo 00000002.history 000000010000000000000005.partialX 00000001000000000000000a \
    00000001000000000000005 0000000100000000000000050 000000010000000000000005.gz \
    000000010000000000000005.00000028.backupx 000000010000000000000005.zzz.backup \
    ../000000010000000000000005 "000000010000000000000005 " 000000010000000000000005.ready; do
    check_both_2 "cutoff \"$cut\"" "$DIR" "$cut"
done
check_both_2 "cutoff with the wrong -x" -x .bz2 "$DIR" 000000010000000000000005.gz
check_both_2 "missing archive dir" "$WORK/no-such-dir" 000000010000000000000005
check_both_2 "archive dir is a file" "$DIR/000000010000000000000004" 000000010000000000000005
check_both_2 "no arguments"
check_both_2 "no cutoff" "$DIR"
check_both_2 "no cutoff, dry run" -n "$DIR"
check_both_2 "too many arguments" "$DIR" 000000010000000000000005 000000010000000000000006
check_both_2 "unknown option" -q "$DIR" 000000010000000000000005
note "bad arguments: $bad_cases cases, exit 2 from both and nothing touched"
# Where pg_archivecleanup is lax (any "<24 hex>...backup" whose offset sscanf can read, timeline
# 0), walferry-cleanup refuses: no PostgreSQL ever names a file so, and a typo must not clean up.
for cut in 000000010000000000000005.backup 000000010000000000000005.0028.backup \
    000000010000000000000005.0000002a.backup 000000000000000000000005; do
    run "$PGAC" -n "$DIR" "$cut"
    check "pg_archivecleanup now refuses \"$cut\" (exit $RC): move it to the list above" test "$RC" = 0
    run "$CLEANUP" "$DIR" "$cut"
    check "cutoff \"$cut\": walferry-cleanup exit $RC, expected 2" test "$RC" = 2
    [[ $(dir_state "$DIR") == "$state" ]] || fail "cutoff \"$cut\": the archive changed"
    pass
done

# ---------------------------------------------------------------------------------------------
# 2. timelines: every difference is a documented rule

# Fills TARGETS with a random timeline tree; sets NT, SPL, BEGINSEG[t], ENDSEG[t], PARENT[t],
# HAS_HISTORY[t] (timeline 1 counts as having one).
gen_multi() {
    local segsize log base t p sw off
    pick 16777216 16777216 1048576; segsize=$P
    SPL=$((0x100000000 / segsize))
    write_info "$segsize"
    pick "" "" "" .gz; EXT=$P
    pick 0 0 1 26; log=$P
    rnd 2
    if ((R)); then rnd 8; base=$((log * SPL + SPL - 1 - R)); else rnd 64; base=$((log * SPL + R)); fi
    rnd 4; NT=$((R + 2))
    BEGINSEG=([1]=$base) ENDSEG=() PARENT=([1]=0) HAS_HISTORY=([1]=1) HIST=([1]="")
    rnd 6; ENDSEG[1]=$((base + R + 1))
    for ((t = 2; t <= NT; t++)); do
        p=$((t - 1))
        rnd 3; ((R == 0)) && { rnd $((t - 1)); p=$((R + 1)); }
        rnd 6; sw=$((BEGINSEG[p] + 1 + R))
        rnd 3; if ((R == 0)); then off=0; else rnd 100000; off=$(((R + 1) * 8)); fi
        PARENT[t]=$p BEGINSEG[t]=$sw
        lsn_text $((sw * segsize + off))
        HIST[t]="${HIST[p]}$p	$L	no recovery target specified"$'\n'
        rnd 8; ((R)) && HAS_HISTORY[t]=1 || HAS_HISTORY[t]=0
        # The parent wrote up to the switch, often further (an old primary that went on).
        rnd 4; ((sw + R > ENDSEG[p])) && ENDSEG[p]=$((sw + R))
        rnd 6; ENDSEG[t]=$((sw + R + 1))
        seg_name "$p" $((off == 0 ? sw - 1 : sw)) "$SPL"; put "$N.partial"
    done
    local s i
    for ((t = 1; t <= NT; t++)); do
        for ((s = BEGINSEG[t]; s <= ENDSEG[t]; s++)); do
            rnd 10; ((R == 0)) && continue
            seg_name "$t" "$s" "$SPL"; put "$N"
        done
        if ((t > 1 && HAS_HISTORY[t])); then
            decorate "$(printf '%08X.history' "$t")"; emit "$F" "${HIST[t]}"
        fi
    done
    rnd 3
    for ((i = 0; i < R; i++)); do
        rnd "$NT"; t=$((R + 1)); rnd $((ENDSEG[t] - BEGINSEG[t] + 1)); seg_name "$t" $((BEGINSEG[t] + R)) "$SPL"
        rnd 4096; put "$N.$(printf '%08X' $((R * 8))).backup"
    done
    rnd 3
    for ((i = 0; i < R; i++)); do put_unknown 1 "$base"; done
}

# Checks one multi-timeline run: pg_archivecleanup's result in $PG_DIR, walferry-cleanup's in
# $WF_DIR, its -n output on the original $DIR in $WORK/stdout. Cutoff timeline CT, segment CS; PRUNE=1 with --prune-diverged.
declare -A count=()
check_multi() {
    local what=$1 f
    declare -A in_pg=() in_wf=() said=()
    listing "$PG_DIR"; for f in "${LIST[@]}"; do in_pg[$f]=1; done
    listing "$WF_DIR"; for f in "${LIST[@]}"; do in_wf[$f]=1; done
    local verb rest
    while IFS= read -r line; do
        [[ $line == "summary (dry run): "* ]] && continue
        verb=${line%% *} rest=${line#* }
        said[${rest%%: *}]="$verb: ${rest#*: }"
    done <"$WORK/stdout"
    listing "$DIR"
    for f in "${LIST[@]}"; do
        local pg=${in_pg[$f]:+kept} wf=${in_wf[$f]:+kept}
        pg=${pg:-removed} wf=${wf:-removed}
        if [[ $f == .* ]]; then  # hidden: not listed by walferry's stores, never touched
            [[ $pg == kept && $wf == kept ]] || fail "$what: hidden $f $pg by pg_archivecleanup, $wf by walferry-cleanup"
            pass
            count[same]=$((${count[same]:-0} + 1))
            continue
        fi
        local why=${said[$f]:-}
        check "$what: -n said nothing about $f" test -n "$why"
        [[ ${why%%:*} == remove && $wf == removed || ${why%%:*} == keep && $wf == kept ]] ||
            fail "$what: -n said \"$why\" for $f, the real run: $wf"
        pass
        if [[ $pg == "$wf" ]]; then
            count[same]=$((${count[same]:-0} + 1))
        elif [[ $wf == kept && $why == *"is newer than cutoff timeline"* ]]; then
            count[newer timeline kept]=$((${count[newer timeline kept]:-0} + 1))
        elif [[ $wf == kept && $why == *"is not in the archive: cannot place timeline"* ]]; then
            count[history missing, kept]=$((${count[history missing, kept]:-0} + 1))
        elif [[ $wf == removed && $PRUNE == 1 && $why == *"diverged after "*"pruned (--prune-diverged)"* ]]; then
            count[diverged pruned]=$((${count[diverged pruned]:-0} + 1))
        elif [[ $wf == removed && $PRUNE == 1 && $why == *"is not on the path to timeline"*"pruned (--prune-diverged)"* ]]; then
            count[abandoned pruned]=$((${count[abandoned pruned]:-0} + 1))
        else
            WALFERRY_KEEP=1; cp -a "$DIR" "$WORK/failed-archive"
            fail "$what: $f $pg by pg_archivecleanup, $wf by walferry-cleanup, which says \"$why\": no documented rule explains it (archive kept in $WORK/failed-archive)"
        fi
    done
    # What recovery along CT reads from CS on; and, since a newer timeline is kept with what it
    # reads of its ancestors, what recovery along each newer timeline reads from CS on.
    if ((HAS_HISTORY[CT])); then
        check_reads "$what" "$CT" "timeline $CT (the cutoff's)" "needed segments checked"
    fi
    local nt
    for ((nt = CT + 1; nt <= NT; nt++)); do
        check_reads "$what" "$nt" "newer timeline $nt" "newer timelines' segments checked"
    done
}

# check_reads WHAT TLI WHOSE COUNTER: every archived segment that recovery along TLI reads from
# CS on (the newest timeline of its path begun by then) survived walferry-cleanup (in_wf).
check_reads() {
    local what=$1 t=$2 whose=$3 counter=$4 path=() s max=0
    while ((t > 0)); do path+=("$t"); t=${PARENT[t]}; done
    for t in "${!ENDSEG[@]}"; do ((ENDSEG[t] > max)) && max=${ENDSEG[t]}; done
    for ((s = CS; s <= max; s++)); do
        for t in "${path[@]}"; do ((s >= BEGINSEG[t])) && break; done
        seg_name "$t" "$s" "$SPL"
        for f in "$N" "$N$EXT"; do
            [[ -e $DIR/$f && -z ${in_wf[$f]:-} ]] && fail "$what: $f removed, recovery along $whose reads it (-n: ${said[$f]:-})"
            pass
        done
    done
    count[$counter]=$((${count[$counter]:-0} + max - CS + 1))
}

multi_runs=0 multi_pruned_runs=0
for ((a = 0; a < MULTI_ARCHIVES; a++)); do
    DIR=$WORK/m/orig TARGETS=("$DIR" "$WORK/m/pg0" "$WORK/m/wf0" "$WORK/m/pg1" "$WORK/m/wf1")
    rm -rf "$WORK/m"; mkdir -p "${TARGETS[@]}"
    gen_multi
    listing "$DIR"; printf -v orig_names '%s\n' "${LIST[@]}"
    for ((c = 0; c < 2; c++)); do
        rnd "$NT"; CT=$((R + 1))
        rnd $((ENDSEG[CT] - BEGINSEG[CT] + 4)); CS=$((BEGINSEG[CT] - 1 + R))
        if ((CS < 0)); then CS=0; fi
        make_cut "$CT" "$CS"
        opts=() wf_opts=()
        [[ -n $EXT ]] && opts+=(-x "$EXT")
        rnd 3; PRUNE=$((R == 0 ? 1 : 0))
        ((PRUNE)) && wf_opts+=(--prune-diverged) && multi_pruned_runs=$((multi_pruned_runs + 1))
        PG_DIR=$WORK/m/pg$c WF_DIR=$WORK/m/wf$c
        what="timelines archive $a (timelines 1..$NT, parents ${PARENT[*]}, history ${HAS_HISTORY[*]}) cutoff $CUT options ${opts[*]:-} ${wf_opts[*]:-}"
        run "$PGAC" "${opts[@]}" "$PG_DIR" "$CUT"
        check "$what: pg_archivecleanup exit $RC" test "$RC" = 0
        run "$CLEANUP" "${opts[@]}" "${wf_opts[@]}" "$WF_DIR" "$CUT"
        check "$what: walferry-cleanup exit $RC" test "$RC" = 0
        run "$CLEANUP" -n "${opts[@]}" "${wf_opts[@]}" "$DIR" "$CUT"  # check_multi reads its stdout
        check "$what: walferry-cleanup -n exit $RC" test "$RC" = 0
        listing "$DIR"; printf -v names '%s\n' "${LIST[@]}"
        check "$what: -n changed the archive" test "$names" = "$orig_names"
        check_multi "$what"
        multi_runs=$((multi_runs + 1))
    done
done
note "timelines: $multi_runs runs on $MULTI_ARCHIVES archives ($multi_pruned_runs with --prune-diverged)"
for k in "same" "newer timeline kept" "history missing, kept" "diverged pruned" "abandoned pruned" "needed segments checked" "newer timelines' segments checked"; do
    note "  $k: ${count[$k]:-0}"
done
for k in "newer timeline kept" "diverged pruned"; do
    ((${count[$k]:-0} > 0)) || fail "no run exercised \"$k\": the generator lost its reach"
    pass
done

# ---------------------------------------------------------------------------------------------
# 3. issue 10's case, which the generator seldom builds: timeline 4 branched from 1 (in segment
#    A) after the cutoff's timeline 2 did (in segment 5). --prune-diverged keeps the timeline-1
#    segments 7..A that recovery along timeline 4 reads, and removes those after A.
note "a newer sibling's ancestry survives --prune-diverged"
DIR=$WORK/s TARGETS=("$DIR") EXT="" SPL=256
rm -rf "$DIR"; mkdir "$DIR"
write_info 16777216
for ((s = 3; s <= 16; s++)); do seg_name 1 "$s" "$SPL"; emit "$N"; done
for ((s = 5; s <= 9; s++)); do seg_name 2 "$s" "$SPL"; emit "$N"; done
for ((s = 10; s <= 12; s++)); do seg_name 4 "$s" "$SPL"; emit "$N"; done
emit 00000002.history $'1\t0/5000060\tno recovery target specified\n'
emit 00000004.history $'1\t0/A000028\tno recovery target specified\n'
run "$CLEANUP" -n --prune-diverged "$DIR" 000000020000000000000007
check "newer sibling, -n: exit $RC" test "$RC" = 0
expect_stdout_has "keep 00000001000000000000000A: diverged after 0/5000060, above cutoff, on the path to newer timeline 4"
run "$CLEANUP" --prune-diverged "$DIR" 000000020000000000000007
check "newer sibling: exit $RC" test "$RC" = 0
for ((s = 3; s <= 16; s++)); do
    seg_name 1 "$s" "$SPL"
    if ((s >= 7 && s <= 10)); then
        check "newer sibling: $N removed, recovery along timeline 4 reads it" test -e "$DIR/$N"
    else
        check "newer sibling: $N kept, nothing reads it" test ! -e "$DIR/$N"
    fi
done
assert_done
