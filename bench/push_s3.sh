#!/usr/bin/env bash
# walferry on S3: a real Ceph RGW over TLS on this machine (tests/e2e/ceph_lib.sh: one mon, one
# memstore OSD, one radosgw), real pgbench WAL (16 MiB segments), side by side in one run:
#   - per segment: walferry-push to s3:// vs pgBackRest archive-push with repo1-type=s3 (lz4),
#     each call a separate process on a segment not yet stored, the two taking turns (median);
#   - sustained: walferry-push over a pg_wal directory of every segment (.ready files, called in
#     order as the archiver does, look-ahead batching, batch = 16): segments/s;
#   - the store's floor: the objects the sustained run stored, PUT again with the curl tool (same
#     libcurl, TLS and SigV4, nothing to compress or hash): one process per object, then all of
#     them over one keep-alive connection, then 4 at a time;
#   - replay: a PostgreSQL 15 server recovering a base backup through the WAL written after it
#     (recovery.signal, no target), restore_command = walferry-fetch from RGW with prefetch vs
#     `cp` from a local directory (the floor: the server's own replay), wall time from
#     `pg_ctl start` to the end of recovery;
#   - cleanup of an archive of one real segment (and so walferry.info) and WALFERRY_BENCH_OBJECTS
#     empty objects named like later segments (created with boto3, 64 threads): a dry run (the listing and the decisions) and the real run removing half of them.
# Prints markdown tables. See bench/README.md.
#
# Usage (as root, after a build): bash bench/push_s3.sh [BIN_DIR]
# Environment: WALFERRY_BENCH_SEGMENTS (WAL after the base backup, default 64),
# WALFERRY_BENCH_RUNS (per-segment samples per method, default 9), WALFERRY_BENCH_BATCH (default
# 16), WALFERRY_BENCH_PREFETCH (default 8), WALFERRY_BENCH_OBJECTS (default 100000),
# WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=tests/e2e/ceph_lib.sh
source "$bench_repo/tests/e2e/ceph_lib.sh"
segments=${WALFERRY_BENCH_SEGMENTS:-64}
runs=${WALFERRY_BENCH_RUNS:-9}
batch=${WALFERRY_BENCH_BATCH:-16}
prefetch=${WALFERRY_BENCH_PREFETCH:-8}
objects=${WALFERRY_BENCH_OBJECTS:-100000}
for tool in pgbackrest zstd /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool not found (run scripts/install-deps.sh)"
done
/usr/bin/python3 -c 'import boto3' 2>/dev/null || fail "python3-boto3 not found (run scripts/install-deps.sh)"

e2e_setup walferry-push walferry-fetch walferry-cleanup
ceph_setup
WALFERRY_CEPH_MEMSTORE_MIB=${WALFERRY_CEPH_MEMSTORE_MIB:-8192} ceph_start
push=$(walferry_bin walferry-push) fetch=$(walferry_bin walferry-fetch)
cleanup=$(walferry_bin walferry-cleanup)
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.1f", n * 1000 / ms }'; }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }
# config PREFIX [TOML_LINE...]: a config with the one s3 destination s3://$CEPH_BUCKET/PREFIX and a
# spool of its own; prints its path.
config() {
  local prefix=$1 cfg=$E2E_WORK/$1.toml
  shift
  e2e_mkdir "$E2E_WORK/spool-$prefix"
  {
    printf 'spool = "%s"\nbatch = %s\n' "$E2E_WORK/spool-$prefix" "$batch"
    printf '[fetch]\nprefetch = %s\n' "$prefetch"
    ceph_destination s3 "$prefix"
  } | e2e_as_user tee "$cfg" >/dev/null
  printf '%s' "$cfg"
}

# --- real WAL from pgbench, archived with plain cp, written after a base backup
wal=$E2E_WORK/wal
bench_cp_primary "$wal"
pg_basebackup_node primary base 127.0.0.1 -X none
scale=$(((segments + 2) * 16 / 12 + 2))
note "pgbench -i -s $scale for >= $segments segments after the base backup"
bench_pgbench_wal "$scale"
accounts=$(pg_sql primary "SELECT count(*) FROM pgbench_accounts")
mapfile -t all < <(find "$wal" -name '000000010000000?????????' -size 16M | LC_ALL=C sort)
((${#all[@]} >= segments && ${#all[@]} >= runs)) || fail "only ${#all[@]} segments"
note "${#all[@]} segments of pgbench WAL"

# --- pgBackRest on the same RGW (S3_TESTBED.md): stanza created against the running server
pgbr=$E2E_WORK/pgbackrest
bench_pgbackrest "$pgbr" repo1-type=s3 repo1-path=/pgbackrest repo1-s3-endpoint=localhost \
  "repo1-storage-port=$CEPH_RGW_PORT" repo1-s3-uri-style=path "repo1-s3-region=$CEPH_REGION" \
  "repo1-s3-bucket=$CEPH_BUCKET" "repo1-s3-key=$CEPH_ACCESS_KEY" \
  "repo1-s3-key-secret=$CEPH_SECRET_KEY" "repo1-storage-ca-file=$CEPH_CA"
pgbackrest=("${PGBACKREST[@]}")
pg_stop primary

# --- per segment: the two take turns on segments neither has stored yet
per_cfg=$(config per-segment)
walferry_ms=() pgbr_ms=()
note "per segment: $runs samples each, taking turns"
for ((i = 0; i < runs; i++)); do
  f=${all[i]}
  t0=$(now_ms)
  e2e_as_user "$push" -c "$per_cfg" "$f" || fail "walferry-push ${f##*/} failed"
  walferry_ms+=($(($(now_ms) - t0)))
  t0=$(now_ms)
  "${pgbackrest[@]}" archive-push "$f" || fail "pgbackrest archive-push ${f##*/} failed"
  pgbr_ms+=($(($(now_ms) - t0)))
done
m_walferry=$(printf '%s\n' "${walferry_ms[@]}" | median)
m_pgbr=$(printf '%s\n' "${pgbr_ms[@]}" | median)
stored_walferry=0
for ((i = 0; i < runs; i++)); do
  n=${all[i]##*/}
  [[ "$(ceph_s3 HEAD "/$CEPH_BUCKET/per-segment/$n.zst")" == 200 ]] || fail "$n not on RGW"
  size=$(sed -n 's/^[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' "$CEPH_S3_BODY")
  stored_walferry=$((stored_walferry + size))
done
note "per segment: walferry $m_walferry ms, pgBackRest $m_pgbr ms (medians)"

# --- sustained: every segment in a pg_wal with .ready files, in order, one shell as the archiver
pgwal=$E2E_WORK/node/pg_wal
e2e_mkdir "$pgwal/archive_status"
for f in "${all[@]}"; do
  e2e_as_user cp "$f" "$pgwal/"
  e2e_as_user touch "$pgwal/archive_status/${f##*/}.ready"
done
sus_cfg=$(config archive)
note "sustained: walferry-push, ${#all[@]} segments, batch = $batch"
s_walferry=$(bench_archiver_loop "$push -c $sus_cfg $pgwal/%f" "$pgwal/archive_status" "${all[@]##*/}") ||
  fail "sustained walferry-push failed"
stored=$(ceph_s3_list archive/ | grep -cE '^archive/[0-9A-F]{24}\.zst$' || true)
((stored == ${#all[@]})) || fail "RGW holds $stored of ${#all[@]} segments after the sustained run"

# --- the store's own floor: the very objects walferry stored, PUT again by curl (libcurl, TLS,
# SigV4, UNSIGNED-PAYLOAD, no compression or hashing to do): one process per object (a new TLS
# connection each, as a single walferry-push call has), then every object by one process over one
# keep-alive connection, then the same with 4 transfers at a time (curl --parallel).
stored_dir=$E2E_WORK/stored
mkdir -p "$stored_dir"
for f in "${all[@]}"; do ceph_s3_get "archive/${f##*/}.zst" "$stored_dir/${f##*/}.zst"; done
floor_curl=(curl -sS -o /dev/null --fail --max-time 120 --cacert "$CEPH_CA"
  --aws-sigv4 "aws:amz:$CEPH_REGION:s3" --user "$CEPH_ACCESS_KEY:$CEPH_SECRET_KEY"
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
# floor_puts PREFIX [CURL_OPTION...]: one curl process PUTs every stored object under PREFIX/.
floor_puts() {
  local prefix=$1 f
  shift
  local -a args=()
  for f in "$stored_dir"/*.zst; do args+=(-T "$f" "$CEPH_ENDPOINT/$CEPH_BUCKET/$prefix/${f##*/}"); done
  "${floor_curl[@]}" "$@" "${args[@]}"
}
note "floor: curl PUTs of the stored objects"
one_ms=()
for ((i = 0; i < runs; i++)); do
  f=$stored_dir/${all[i]##*/}.zst
  t0=$(now_ms)
  "${floor_curl[@]}" -T "$f" "$CEPH_ENDPOINT/$CEPH_BUCKET/floor-one/${f##*/}" || fail "curl PUT failed"
  one_ms+=($(($(now_ms) - t0)))
done
m_one=$(printf '%s
' "${one_ms[@]}" | median)
t0=$(now_ms)
floor_puts floor-seq || fail "curl sequential PUTs failed"
f_seq=$(($(now_ms) - t0))
t0=$(now_ms)
floor_puts floor-par --parallel --parallel-max 4 || fail "curl parallel PUTs failed"
f_par=$(($(now_ms) - t0))
stored_bytes=$(cat "$stored_dir"/*.zst | wc -c)
note "floor: one PUT $m_one ms; ${#all[@]} in sequence $f_seq ms, 4 at a time $f_par ms"

# --- replay from RGW (the sustained run's archive) vs cp from a local directory
replay_n=0
REPLAY=""
# replay LABEL RESTORE_COMMAND: sets REPLAY to "wall_ms restored", wall from `pg_ctl start`
# until the server accepts connections after recovery. In this shell: the EXIT trap must know it.
replay() {
  local node=replay$((replay_n += 1)) t0 restored
  note "replay: $1 ($node)"
  bench_prepare_recovery "$node" "$2"
  t0=$(now_ms)
  bench_recover "$node"
  REPLAY="$(($(now_ms) - t0))"
  restored=$(grep -c 'restored log file "[0-9A-F]*" from archive' "${E2E_NODE_LOG[$node]}" || true)
  ((restored >= segments)) || fail "$node restored only $restored segments"
  expect_eq "pgbench_accounts rows on $node" "$accounts" "$(pg_sql "$node" "SELECT count(*) FROM pgbench_accounts")"
  pg_stop "$node"
  e2e_as_user rm -rf "${E2E_NODE_DATA[$node]}"
  REPLAY+=" $restored"
}
replay "cp from a local directory" "cp $wal/%f %p"
read -r r_cp restored_cp <<<"$REPLAY"
replay "walferry-fetch from RGW, prefetch = $prefetch" "$fetch %f %p -c $sus_cfg"
read -r r_walferry restored_walferry <<<"$REPLAY"

# --- cleanup of a big archive: one real segment (so walferry.info is there, as in every archive
# walferry wrote), then $objects empty objects named like the segments of timeline 1 after it
big_cfg=$(config big)
e2e_as_user "$push" -c "$big_cfg" "${all[0]}" || fail "walferry-push into big/ failed"
first_big=4096
note "creating $objects objects under big/ (boto3, 64 threads)"
t0=$(now_ms)
AK=$CEPH_ACCESS_KEY SK=$CEPH_SECRET_KEY /usr/bin/python3 - "$CEPH_ENDPOINT" "$CEPH_CA" "$CEPH_REGION" "$CEPH_BUCKET" "$first_big" "$objects" <<'PY' ||
import os, sys, concurrent.futures, boto3, botocore.config
endpoint, ca, region, bucket = sys.argv[1:5]
first, n = int(sys.argv[5]), int(sys.argv[6])
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, region_name=region,
                  aws_access_key_id=os.environ["AK"], aws_secret_access_key=os.environ["SK"],
                  config=botocore.config.Config(s3={"addressing_style": "path"},
                                                max_pool_connections=64, retries={"max_attempts": 10}))
def put(i):
    s3.put_object(Bucket=bucket, Key="big/%08X%08X%08X.zst" % (1, i // 256, i % 256), Body=b"")
with concurrent.futures.ThreadPoolExecutor(64) as pool:
    list(pool.map(put, range(first, first + n), chunksize=256))
PY
  fail "creating the objects failed"
note "created in $(seconds $(($(now_ms) - t0))) s"
mid=$((first_big + objects / 2))
cutoff=$(printf '%08X%08X%08X' 1 $((mid / 256)) $((mid % 256)))
t0=$(now_ms)
e2e_as_user "$cleanup" -n -c "$big_cfg" "s3://$CEPH_BUCKET/big" "$cutoff" >"$E2E_WORK/big-dry.out" ||
  fail "walferry-cleanup -n failed"
c_dry=$(($(now_ms) - t0))
t0=$(now_ms)
e2e_as_user "$cleanup" -c "$big_cfg" "s3://$CEPH_BUCKET/big" "$cutoff" || fail "walferry-cleanup failed"
c_real=$(($(now_ms) - t0))
left=$(ceph_s3_list big/ | grep -c '\.zst$' || true)
removed=$((objects + 1 - left))
# Below the cutoff: the real segment and the first half of the generated ones.
((removed == objects / 2 + 1)) || fail "cleanup removed $removed objects, expected $((objects / 2 + 1))"

cat <<EOF

## walferry on S3 (Ceph RGW 16.2 over TLS, same machine)

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), $("$push" --version | head -n 1),
$(pgbackrest version), $(radosgw --version | cut -d' ' -f1-3), memstore OSD.
Real pgbench WAL: ${#all[@]} segments of 16 MiB (pgbench -i -s $scale).

| method (16 MiB pgbench segments, RGW over TLS) | per segment, median ms ($runs runs) | × pgBackRest | stored / raw |
|---|---:|---:|---:|
| pgBackRest archive-push, repo1-type=s3, lz4 | $m_pgbr | 1.00 | |
| walferry-push, s3:// | $m_walferry | $(ratio "$m_walferry" "$m_pgbr") | $(awk -v s="$stored_walferry" -v n="$runs" 'BEGIN { printf "%.3f", s / (n * 16777216) }') |

| sustained (archiver loop, ${#all[@]} segments in pg_wal) | s | segments/s |
|---|---:|---:|
| walferry-push, s3://, batch = $batch | $(seconds "$s_walferry") | $(rate "${#all[@]}" "$s_walferry") |

| the store's floor: curl PUTs of the same stored objects (mean $((stored_bytes / ${#all[@]} / 1024)) KiB) | ms | per segment, ms | segments/s |
|---|---:|---:|---:|
| one PUT per curl process (new TLS connection), median of $runs | $m_one | $m_one | $(rate 1 "$m_one") |
| ${#all[@]} PUTs by one process, one keep-alive connection | $f_seq | $(awk -v a="$f_seq" -v n="${#all[@]}" 'BEGIN { printf "%.1f", a / n }') | $(rate "${#all[@]}" "$f_seq") |
| ${#all[@]} PUTs by one process, 4 connections at a time | $f_par | $(awk -v a="$f_par" -v n="${#all[@]}" 'BEGIN { printf "%.1f", a / n }') | $(rate "${#all[@]}" "$f_par") |

| replay of a base backup (recovery to the end of the archive) | segments restored | s to end of recovery | × cp |
|---|---:|---:|---:|
| \`cp\` from a local directory (the floor) | $restored_cp | $(seconds "$r_cp") | 1.00 |
| walferry-fetch from RGW, prefetch = $prefetch | $restored_walferry | $(seconds "$r_walferry") | $(awk -v a="$r_walferry" -v b="$r_cp" 'BEGIN { printf "%.3f", a / b }') |

| cleanup of $((objects + 1)) objects on RGW (cutoff $cutoff) | s |
|---|---:|
| walferry-cleanup -n (ListObjectsV2 of all, decisions) | $(seconds "$c_dry") |
| walferry-cleanup, removing $removed (DeleteObjects, ≤ 1000 a request) | $(seconds "$c_real") |

Targets: per segment ≤ 0.4× pgBackRest, sustained ≥ 40 segments/s, replay ≤ 1.1× the \`cp\` floor.
EOF
