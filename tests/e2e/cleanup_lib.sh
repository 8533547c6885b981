# shellcheck shell=bash
# tests/e2e/cleanup_lib.sh: helpers of the walferry-cleanup end-to-end tests, on top of lib.sh
# (source lib.sh first). Segment positions are handled as integers (log * 256 + seg, the
# segment number for 16 MiB segments), so that "every segment from the cutoff on" and "nothing
# below it" can be computed from names, LSNs and recorded cutoffs.
#
# Naming: cl_* helpers; CL_OUT / CL_ERR / CL_STATUS hold the result of the last cl_cleanup;
# cl_cleanup_ok and cl_assert_present count one check each (assert_lib.sh).

# shellcheck disable=SC2034 # read by the tests
CL_OUT="" CL_ERR="" CL_STATUS=0

# shellcheck source=tests/e2e/assert_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/assert_lib.sh"

# cl_segno NAME: segment number of a WAL file name (24 hex digits, suffixes ignored).
cl_segno() {
  local name=${1##*/}
  [[ "$name" =~ ^[0-9A-F]{24} ]] || fail "not a WAL file name: '$1'"
  echo $((16#${name:8:8} * 256 + 16#${name:16:8}))
}

# cl_tli NAME: timeline of a WAL file name, as a number.
cl_tli() {
  local name=${1##*/}
  [[ "$name" =~ ^[0-9A-F]{24} ]] || fail "not a WAL file name: '$1'"
  echo $((16#${name:0:8}))
}

# cl_seg_name TLI SEGNO: the segment file name (16 MiB segments).
cl_seg_name() { printf '%08X%08X%08X' "$1" $(($2 / 256)) $(($2 % 256)); }

# cl_lsn_segno LSN: segment number holding LSN ("X/Y").
cl_lsn_segno() {
  local hi=${1%/*} lo=${1#*/}
  echo $(((16#$hi * 4294967296 + 16#$lo) / E2E_WAL_SEGMENT_SIZE))
}

# cl_lsn_bytes LSN: LSN as a byte position.
cl_lsn_bytes() {
  local hi=${1%/*} lo=${1#*/}
  echo $((16#$hi * 4294967296 + 16#$lo))
}

# cl_segments ARCHIVE [TLI]: stored names of the archive's full segments (without .zst), sorted;
# only timeline TLI (a number) when given.
cl_segments() {
  local dir=$1 tli=${2:-} f name
  for f in "$dir"/*.zst; do
    [[ -e "$f" ]] || continue
    name=${f##*/}
    name=${name%.zst}
    [[ "$name" =~ ^[0-9A-F]{24}$ ]] || continue
    [[ -z "$tli" || $((16#${name:0:8})) -eq "$tli" ]] || continue
    printf '%s\n' "$name"
  done | sort
}

# cl_listing ARCHIVE: every file of the archive (names and sizes, the consumer records with
# their content): what must be identical before and after a run that removes nothing.
cl_listing() {
  local dir=$1 f
  (cd "$dir" && find . -type f ! -name lock -printf '%p %s\n' | LC_ALL=C sort)
  for f in "$dir"/.walferry-cleanup/consumers/*; do
    [[ -f "$f" ]] && printf '%s: %s\n' "${f##*/}" "$(tr '\n' ' ' <"$f")"
  done
  return 0
}

# cl_consumer_cutoff ARCHIVE NAME: the cutoff recorded for consumer NAME (fails if none).
cl_consumer_cutoff() {
  local record=$1/.walferry-cleanup/consumers/$2 cutoff
  [[ -f "$record" ]] || fail "no consumer record $2 in $1"
  cutoff=$(sed -n 's/^cutoff = "\([0-9A-F]\{24\}\)"$/\1/p' "$record")
  [[ -n "$cutoff" ]] || fail "consumer record $2 has no cutoff: $(cat "$record")"
  printf '%s' "$cutoff"
}

# cl_consumers ARCHIVE: names of the recorded consumers, one per line, sorted.
cl_consumers() {
  local f
  for f in "$1"/.walferry-cleanup/consumers/*; do
    [[ -f "$f" ]] && printf '%s\n' "${f##*/}"
  done | LC_ALL=C sort
  return 0
}

# cl_controldata NODE FIELD: a field of pg_controldata on NODE's data dir (running or not),
# e.g. "Latest checkpoint's REDO WAL file".
cl_controldata() {
  e2e_as_user "$(pg_bin pg_controldata)" -D "${E2E_NODE_DATA[$1]}" |
    sed -n "s/^$2: *//p"
}

# cl_backup_start_file DATADIR: the WAL file a base backup starts in (from backup_label).
cl_backup_start_file() {
  sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$1/backup_label"
}

# cl_cleanup ARG...: run walferry-cleanup as the test user; sets CL_OUT, CL_ERR, CL_STATUS.
cl_cleanup() {
  local out=$E2E_WORK/cleanup.out err=$E2E_WORK/cleanup.err
  CL_STATUS=0
  e2e_as_user "$(walferry_bin walferry-cleanup)" "$@" >"$out" 2>"$err" || CL_STATUS=$?
  CL_OUT=$(cat "$out")
  CL_ERR=$(cat "$err")
}

# cl_cleanup_ok ARG...: cl_cleanup that must exit 0.
cl_cleanup_ok() {
  cl_cleanup "$@"
  ((CL_STATUS == 0)) || fail "walferry-cleanup $* exited $CL_STATUS: $CL_ERR"
  pass
}

# cl_assert_present ARCHIVE TLI FROM TO: every segment of timeline TLI with number FROM..TO is
# in the archive.
cl_assert_present() {
  local dir=$1 tli=$2 from=$3 to=$4 s name
  ((from <= to)) || fail "cl_assert_present: empty range $from..$to"
  for ((s = from; s <= to; s++)); do
    name=$(cl_seg_name "$tli" "$s")
    [[ -f "$dir/$name.zst" ]] || fail "$name.zst is missing from the archive (needed range $(
      cl_seg_name "$tli" "$from")..$(cl_seg_name "$tli" "$to"))"
  done
  pass
}

# cl_count_below ARCHIVE TLI SEGNO: how many segments of timeline TLI below SEGNO the archive holds.
cl_count_below() {
  local n=0 name
  while read -r name; do
    [[ -n "$name" ]] || continue
    (($(cl_segno "$name") < $3)) && n=$((n + 1))
  done < <(cl_segments "$1" "$2")
  echo "$n"
}

# cl_decision DRY_RUN_OUTPUT STORED_NAME: "remove" or "keep", from a -n report (fails if the
# file is not in it).
cl_decision() {
  local line
  line=$(grep -E "^(remove|keep) $2: " <<<"$1" | head -n 1)
  [[ -n "$line" ]] || fail "no decision about $2 in the dry-run report"
  printf '%s' "${line%% *}"
}

# cl_make_tree_archive DIR [EXT]: a generated archive of empty files (16 MiB segments assumed)
# as the test user: timelines 1 -> 2 -> 4 and a sibling 3 of 4 (their .history files), .partial
# files, .backup files, README.txt and an unknown name; EXT after every segment and .partial.
# Prints the number of files.
cl_make_tree_archive() {
  local dir=$1 ext=${2:-} s files=()
  for s in {1..10}; do files+=("$(cl_seg_name 1 "$s")$ext"); done
  for s in {6..12}; do files+=("$(cl_seg_name 2 "$s")$ext"); done
  for s in {8..11}; do files+=("$(cl_seg_name 3 "$s")$ext"); done
  for s in {10..14}; do files+=("$(cl_seg_name 4 "$s")$ext"); done
  files+=("$(cl_seg_name 1 6).partial$ext" "$(cl_seg_name 2 10).partial$ext"
    "$(cl_seg_name 1 3).00000028.backup" "$(cl_seg_name 2 9).00000060.backup" README.txt
    "$(cl_seg_name 1 2).unknown")
  # shellcheck disable=SC2016 # the scripts are for the test user's bash
  e2e_as_user bash -c 'cd "$1" && shift && touch -- "$@"' sh "$dir" "${files[@]}"
  # shellcheck disable=SC2016
  e2e_as_user bash -c 'cd "$1" &&
    printf "1\t0/6000060\tno recovery target specified\n" >00000002.history &&
    printf "1\t0/6000060\tfirst\n\n2\t0/8000028\tabandoned\n" >00000003.history &&
    printf "# comment\n1\t0/6000060\tfirst\n2\t0/A000000\tthird\n" >00000004.history' sh "$dir"
  echo $((${#files[@]} + 3))
}
