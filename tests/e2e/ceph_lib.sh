# shellcheck shell=bash
# tests/e2e/ceph_lib.sh: a real S3 endpoint for the s3:// end-to-end tests and bench/: a one-host
# Ceph cluster (one ceph-mon, one ceph-osd on memstore, one radosgw serving HTTPS) on 127.0.0.1.
# Source it after lib.sh, then call ceph_setup and ceph_start after e2e_setup:
#
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/ceph_lib.sh"
#   e2e_setup walferry-push walferry-fetch
#   ceph_setup                          # dirs, EXIT trap chain
#   ceph_start                          # mon, osd, rgw (TLS), S3 user, bucket $CEPH_BUCKET
#   ceph_destination s3 cluster1 >>"$cfg"          # a [[destination]] for s3://$CEPH_BUCKET/cluster1
#   code=$(ceph_s3 PUT "/$CEPH_BUCKET/k" "$file" -H 'If-None-Match: *')   # a signed request
#   ceph_rgw_stop; ...; ceph_rgw_start  # the endpoint down and back, for fault tests
#
# What it guarantees:
# - Debian's ceph-mon, ceph-osd and radosgw (S3_TESTBED.md has the facts this follows), never a
#   fake S3 server. Every daemon is started with `-c $CEPH_CONF`; its data, pid file, admin socket
#   and log live in $CEPH_DIR ($E2E_WORK/ceph). memstore keeps the objects in RAM: the cluster is
#   ready in a few seconds and leaves nothing on disk.
# - Everything listens on 127.0.0.1 only, on ports nobody else uses (checked once it listens):
#   the monitor (msgr2), the OSD (a private range of ms bind ports) and radosgw, which speaks
#   HTTPS only ($CEPH_ENDPOINT), with a certificate for DNS:localhost and IP:127.0.0.1 signed by
#   a CA generated for this test ($CEPH_CA).
# - The daemons and the ceph tools run as the test user ($E2E_USER, as PostgreSQL does): nothing
#   of the cluster needs root (no port below 1024, no device, all state in the work dir), and so a
#   test as root cannot touch the system's /var/lib/ceph or /etc/ceph. Daemons are started with
#   setpriv, which execs (runuser forks and stays the parent), so that the PID kept is the
#   daemon's own.
# - An S3 user ($CEPH_ACCESS_KEY, $CEPH_SECRET_KEY, the secret also in $CEPH_SECRET_FILE, mode
#   600, owned by the test user) and a bucket $CEPH_BUCKET; a probe PUT and DELETE have created
#   the data pool before ceph_start returns.
# - At exit (normal, failure, INT, TERM) every daemon this test started is stopped by its PID, one
#   at a time: radosgw, then the OSD, then the monitor (all at once, radosgw waits for the gone
#   OSD until killed). If the test's shell is killed outright, a detached watchdog per daemon stops
#   it. The daemons' logs are printed with the others when the test fails.
#
# Environment: WALFERRY_CEPH_MEMSTORE_MIB: the OSD's capacity in MiB (default 2048; a full OSD
# makes writes hang, not fail; memstore holds about 2.4x the stored bytes in RAM).
# Naming: ceph_* functions; CEPH_* variables; per-daemon PIDs in CEPH_PID[mon|osd|rgw].

# shellcheck source=tests/e2e/assert_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/assert_lib.sh"

declare -gA CEPH_PID=()
CEPH_DIR=""
CEPH_CONF=""
CEPH_CA=""
CEPH_ENDPOINT=""
CEPH_RGW_PORT=""
CEPH_MON_PORT=""
CEPH_REGION=us-east-1
CEPH_BUCKET=walferry
CEPH_ACCESS_KEY=""
CEPH_SECRET_KEY=""
CEPH_SECRET_FILE=""
CEPH_PREVIOUS_EXIT_TRAP=""
CEPH_S3_BODY=""  # the body of the last ceph_s3 response
# The SHA-256 of an empty body, signed in x-amz-content-sha256 by requests without one.
CEPH_EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# ceph_setup: $CEPH_DIR and its subdirectories (owned by the test user), the S3 keys, the EXIT
# trap chain. Call after e2e_setup (and after sshd_setup if the test uses both).
ceph_setup() {
  [[ -n "$E2E_WORK" ]] || fail "ceph_setup: call e2e_setup first"
  local tool
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool openssl curl; do
    command -v "$tool" >/dev/null ||
      fail "$tool not found (run scripts/install-deps.sh: ceph-mon ceph-osd radosgw ceph-common)"
  done
  CEPH_DIR=$E2E_WORK/ceph
  CEPH_CONF=$CEPH_DIR/ceph.conf
  CEPH_CA=$CEPH_DIR/tls/ca.pem
  CEPH_S3_BODY=$CEPH_DIR/s3-body
  e2e_mkdir "$CEPH_DIR"/{run,log,mon,osd,rgw,tls}
  CEPH_ACCESS_KEY=$(ceph_random 'A-Z0-9' 20)
  CEPH_SECRET_KEY=$(ceph_random 'A-Za-z0-9' 40)
  CEPH_SECRET_FILE=$CEPH_DIR/s3.secret
  printf '%s\n' "$CEPH_SECRET_KEY" | e2e_as_user tee "$CEPH_SECRET_FILE" >/dev/null
  e2e_as_user chmod 600 "$CEPH_SECRET_FILE"
  local -a words=()
  eval "words=($(trap -p EXIT))" # trap -- 'COMMAND' EXIT
  CEPH_PREVIOUS_EXIT_TRAP=${words[2]:-}
  trap 'ceph_on_exit $?' EXIT
}

# ceph_random CHARSET LENGTH: random characters of a tr(1) set.
ceph_random() {
  local s
  s=$(LC_ALL=C tr -dc "$1" </dev/urandom | head -c "$2") || true
  printf '%s' "$s"
}

# ceph_on_exit STATUS: the EXIT trap: stop the cluster, then run the trap that was there before
# with STATUS as $?.
ceph_on_exit() {
  local status=$1
  set +e
  ceph_stop
  (exit "$status")
  eval "$CEPH_PREVIOUS_EXIT_TRAP"
}

# ceph_start: the whole test bed, ready for S3 requests. Fails (and the EXIT trap stops what
# started) if a daemon does not come up within its bound.
ceph_start() {
  local start=$SECONDS
  ceph_write_tls
  ceph_write_conf
  ceph_start_mon
  ceph_start_osd
  ceph_rgw_start
  ceph_make_user_and_bucket
  note "ceph: mon, osd and radosgw up at $CEPH_ENDPOINT in $((SECONDS - start))s"
}

# ceph_write_tls: a CA and a server certificate (subjectAltName DNS:localhost, IP:127.0.0.1:
# libcurl checks the IP, pgBackRest only DNS names) signed by it; radosgw reads certificate and
# key from one file.
ceph_write_tls() {
  local tls=$CEPH_DIR/tls
  ceph_make_ca "$tls/ca"
  printf '%s\n' 'subjectAltName = DNS:localhost, IP:127.0.0.1' 'basicConstraints = CA:FALSE' \
    'keyUsage = digitalSignature, keyEncipherment' 'extendedKeyUsage = serverAuth' |
    e2e_as_user tee "$tls/server.ext" >/dev/null
  e2e_as_user openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/server.key" -out "$tls/server.csr" -subj /CN=localhost 2>/dev/null ||
    fail "openssl: cannot make the server key"
  e2e_as_user openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null ||
    fail "openssl: cannot sign the server certificate"
  # shellcheck disable=SC2016 # the script is for the sh of the test user
  e2e_as_user sh -c 'cat "$1/server.crt" "$1/server.key" >"$1/server.pem"' sh "$tls"
}

# ceph_make_ca PREFIX: a new self-signed CA, PREFIX.pem and PREFIX.key (owned by the test user).
# Tests use a second one as "the wrong CA".
ceph_make_ca() {
  e2e_as_user openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=walferry e2e CA ${1##*/}" 2>/dev/null ||
    fail "openssl: cannot make the CA $1"
}

# ceph_write_conf: ports, fsid and $CEPH_CONF (the settings S3_TESTBED.md found to matter).
# tcp_nodelay=1 on beast: without it every small answer (a HEAD, a ranged GET of walferry.info)
# waits about 40 ms (Nagle on RGW's side meets the client's delayed ACK): a single push took
# 270-410 ms instead of 120-150 here. Production RGW deployments set it for the same reason.
ceph_write_conf() {
  local bind_min fsid memstore=$((${WALFERRY_CEPH_MEMSTORE_MIB:-2048} * 1024 * 1024))
  e2e_free_port CEPH_MON_PORT
  e2e_free_port CEPH_RGW_PORT
  ceph_free_range bind_min 8
  CEPH_ENDPOINT=https://127.0.0.1:$CEPH_RGW_PORT
  fsid=$(cat /proc/sys/kernel/random/uuid)
  e2e_as_user tee "$CEPH_CONF" >/dev/null <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$CEPH_MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
ms bind port min = $bind_min
ms bind port max = $((bind_min + 7))
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
run dir = $CEPH_DIR/run
pid file = $CEPH_DIR/run/\$name.pid
admin socket = $CEPH_DIR/run/\$name.\$pid.asok
log file = $CEPH_DIR/log/\$name.log
keyring = $CEPH_DIR/keyring
mon data = $CEPH_DIR/mon/\$id
osd data = $CEPH_DIR/osd/\$id
osd objectstore = memstore
memstore device bytes = $memstore
[mon]
paxos propose interval = 0.01
paxos min wait = 0.001
[client.rgw.a]
rgw frontends = beast ssl_endpoint=127.0.0.1:$CEPH_RGW_PORT ssl_certificate=$CEPH_DIR/tls/server.pem ssl_private_key=$CEPH_DIR/tls/server.pem tcp_nodelay=1
rgw data = $CEPH_DIR/rgw
ms mon client mode = crc
rgw enable lc threads = false
rgw enable gc threads = false
EOF
}

# ceph_free_range VAR COUNT: store in VAR the first of COUNT consecutive free TCP ports (the
# OSD binds several: public, cluster, two heartbeat), none handed out by e2e_free_port yet.
ceph_free_range() {
  local _cr_var=$1 _cr_count=$2 _cr_base _cr_try _cr_p _cr_ok
  for _cr_try in {1..200}; do
    _cr_base=$((20000 + (SRANDOM % 40000)))
    _cr_ok=1
    for ((_cr_p = _cr_base; _cr_p < _cr_base + _cr_count; _cr_p++)); do
      if [[ " ${E2E_PORTS[*]} " == *" $_cr_p "* || -n "$(ss -Htan "( sport = :$_cr_p )")" ]]; then
        _cr_ok=0
        break
      fi
    done
    ((_cr_ok)) || continue
    for ((_cr_p = _cr_base; _cr_p < _cr_base + _cr_count; _cr_p++)); do E2E_PORTS+=("$_cr_p"); done
    printf -v "$_cr_var" '%s' "$_cr_base"
    return 0
  done
  fail "no $_cr_count consecutive free TCP ports found after $_cr_try tries"
}

# ceph_tool CMD [ARG...]: a ceph command-line tool as the test user, with the cluster's config,
# bounded in time (a client waits for an absent monitor forever).
ceph_tool() {
  local tool=$1
  shift
  e2e_as_user timeout 60 "$tool" -c "$CEPH_CONF" "$@"
}

# ceph_start_mon: monmap, keyring, mkfs, then ceph-mon; waits until it answers.
ceph_start_mon() {
  ceph_tool monmaptool --create --fsid "$(sed -n 's/^fsid = //p' "$CEPH_CONF")" \
    --addv a "[v2:127.0.0.1:$CEPH_MON_PORT]" "$CEPH_DIR/monmap" >/dev/null ||
    fail "ceph: monmaptool failed"
  ceph_tool ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. \
    --cap mon 'allow *' >/dev/null || fail "ceph: ceph-authtool failed"
  ceph_tool ceph-mon --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring" \
    >"$CEPH_DIR/log/mkfs-mon.log" 2>&1 || fail "ceph: ceph-mon --mkfs failed (see $CEPH_DIR/log/mkfs-mon.log)"
  ceph_spawn mon ceph-mon -f -i a
}

# ceph_start_osd: osd 0 registered (the first command to the monitor: it waits for the monitor to
# answer), mkfs'd and started (memstore). Not waited for: radosgw's start waits for its pools,
# which need the OSD, and one wait saves a ceph CLI start (a second on a busy machine).
ceph_start_osd() {
  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph_tool ceph --connect-timeout 30 osd new "$uuid") || fail "ceph: osd new failed"
  [[ "$id" == 0 ]] || fail "ceph: osd new gave id '$id', expected 0"
  e2e_mkdir "$CEPH_DIR/osd/0"
  ceph_tool ceph-osd -i 0 --mkfs --osd-uuid "$uuid" >"$CEPH_DIR/log/mkfs-osd.log" 2>&1 ||
    fail "ceph: ceph-osd --mkfs failed (see $CEPH_DIR/log/mkfs-osd.log)"
  ceph_spawn osd ceph-osd -f -i 0
}

# ceph_rgw_start: radosgw (again, after ceph_rgw_stop: same config and port); returns once it
# answers HTTPS.
ceph_rgw_start() {
  [[ -z "${CEPH_PID[rgw]:-}" ]] || fail "ceph_rgw_start: radosgw runs already"
  ceph_spawn rgw radosgw -f -n client.rgw.a
  e2e_wait_for 60 "radosgw to answer on $CEPH_ENDPOINT" ceph_rgw_answering
  ceph_check_listening
}

# ceph_rgw_answering: true when radosgw runs and answers an HTTPS request (any status); fails
# the test at once if a daemon has died.
ceph_rgw_answering() {
  local name
  for name in mon osd rgw; do
    ceph_alive "${CEPH_PID[$name]}" || fail "ceph: $name (pid ${CEPH_PID[$name]}) died"
  done
  curl -s -o /dev/null --max-time 5 --cacert "$CEPH_CA" "$CEPH_ENDPOINT/"
}

# ceph_rgw_stop: stop radosgw alone (the endpoint then refuses connections).
ceph_rgw_stop() { ceph_stop_daemon rgw; }

# ceph_check_listening: every socket the daemons listen on is on 127.0.0.1.
ceph_check_listening() {
  local name pid other
  for name in "${!CEPH_PID[@]}"; do
    pid=${CEPH_PID[$name]}
    [[ -n "$pid" ]] || continue
    other=$(ss -Htlnp | grep -F "pid=$pid," | awk '{ print $4 }' | grep -v '^127\.0\.0\.1:' || true)
    [[ -z "$other" ]] || fail "ceph $name (pid $pid) listens on $other, not only 127.0.0.1"
  done
}

# ceph_spawn NAME DAEMON [ARG...]: start a daemon in the foreground of a background job, as the
# test user, with the cluster's config; records its PID, its log for failures, and a watchdog.
ceph_spawn() {
  local name=$1 log=$CEPH_DIR/log/$1.out
  shift
  local -a as=()
  ((EUID == 0)) && as=(setpriv --reuid="$E2E_USER" --regid="$E2E_USER" --init-groups --)
  (cd "$CEPH_DIR" && exec "${as[@]}" "$@" -c "$CEPH_CONF" </dev/null >>"$log" 2>&1 {E2E_ERR}>&-) &
  CEPH_PID[$name]=$!
  # shellcheck disable=SC2034 # lib.sh prints every E2E_NODE_LOG when the test fails
  E2E_NODE_LOG["ceph-$name"]=$log
  ceph_watchdog "$name"
}

# ceph_watchdog NAME: a detached process that stops NAME's daemon once this test's shell is gone
# (it checks the PID still runs this cluster's config, so a reused PID is never hit).
ceph_watchdog() {
  # shellcheck disable=SC2016 # the script is for the watchdog's bash
  setsid -f bash -c '
    parent=$1 pid=$2 conf=$3
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    if tr "\0" " " <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$conf"; then
      kill -TERM "$pid"; sleep 5; kill -KILL "$pid"
    fi
  ' ceph-watchdog "$$" "${CEPH_PID[$1]}" "$CEPH_CONF" </dev/null >/dev/null 2>&1 {E2E_ERR}>&-
}

# ceph_alive PID: true while PID runs and is not yet a zombie.
ceph_alive() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# ceph_stop_daemon NAME: TERM, KILL after 10 s, and wait; never fails.
ceph_stop_daemon() {
  local name=$1 pid=${CEPH_PID[$1]:-} i
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    ceph_alive "$pid" || break
    sleep 0.1
  done
  if ceph_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    printf 'warning: had to kill ceph %s (pid %s)\n' "$name" "$pid" >&"$E2E_ERR"
  fi
  wait "$pid" 2>/dev/null || true
  CEPH_PID[$name]=""
}

# ceph_stop: every daemon, one at a time: radosgw, OSD, monitor. Never fails.
ceph_stop() {
  local name
  for name in rgw osd mon; do ceph_stop_daemon "$name"; done
}

# ceph_make_user_and_bucket: the S3 user (radosgw-admin), the bucket (a signed PUT), and a probe
# PUT + DELETE (the first object PUT creates the data pool).
ceph_make_user_and_bucket() {
  ceph_tool radosgw-admin user create --uid=walferry-e2e --display-name=walferry-e2e \
    --access-key="$CEPH_ACCESS_KEY" --secret-key="$CEPH_SECRET_KEY" >/dev/null ||
    fail "ceph: radosgw-admin user create failed"
  local code probe=$CEPH_DIR/probe
  code=$(ceph_s3 PUT "/$CEPH_BUCKET")
  [[ "$code" == 200 ]] || fail "ceph: creating bucket $CEPH_BUCKET: HTTP $code $(cat "$CEPH_S3_BODY")"
  echo probe >"$probe"
  code=$(ceph_s3 PUT "/$CEPH_BUCKET/.probe" "$probe")
  [[ "$code" == 200 ]] || fail "ceph: probe PUT: HTTP $code $(cat "$CEPH_S3_BODY")"
  code=$(ceph_s3 DELETE "/$CEPH_BUCKET/.probe")
  [[ "$code" == 204 ]] || fail "ceph: probe DELETE: HTTP $code $(cat "$CEPH_S3_BODY")"
}

# ceph_s3 METHOD PATH [BODY_FILE [CURL_ARG...]]: one SigV4-signed request to radosgw, path style
# (PATH is /BUCKET[/KEY][?QUERY], already URL-encoded, query parameters sorted); the body's
# SHA-256 is signed in x-amz-content-sha256. Prints the HTTP status (000 when there was no
# answer); the response body is in $CEPH_S3_BODY. Bounded in time (a full OSD hangs writes).
ceph_s3() {
  local method=$1 path=$2 body=${3:-}
  shift $(($# >= 3 ? 3 : 2))
  local sha=$CEPH_EMPTY_SHA256
  local -a data=() how=(-X "$method")
  [[ "$method" != HEAD ]] || how=(-I) # -X HEAD would wait for a body
  if [[ -n "$body" ]]; then
    sha=$(sha256sum <"$body") sha=${sha%% *}
    data=(--data-binary "@$body" -H 'Content-Type: application/octet-stream')
  fi
  curl -s -o "$CEPH_S3_BODY" -w '%{http_code}' --max-time 120 --cacert "$CEPH_CA" \
    --aws-sigv4 "aws:amz:$CEPH_REGION:s3" --user "$CEPH_ACCESS_KEY:$CEPH_SECRET_KEY" \
    "${how[@]}" -H "x-amz-content-sha256: $sha" "${data[@]}" "$@" "$CEPH_ENDPOINT$path" || true
}

# ceph_s3_get KEY OUT: download s3://$CEPH_BUCKET/KEY to OUT; fails the test unless HTTP 200.
ceph_s3_get() {
  local code
  code=$(ceph_s3 GET "/$CEPH_BUCKET/$1")
  [[ "$code" == 200 ]] || fail "GET $1: HTTP $code $(head -c 300 "$CEPH_S3_BODY")"
  cp -- "$CEPH_S3_BODY" "$2"
}

# ceph_s3_has KEY: true if s3://$CEPH_BUCKET/KEY exists (HEAD answers 200).
ceph_s3_has() { [[ "$(ceph_s3 HEAD "/$CEPH_BUCKET/$1")" == 200 ]]; }

# ceph_s3_list PREFIX: every key of $CEPH_BUCKET under PREFIX, one a line, in S3 order
# (ListObjectsV2, following continuation tokens). Keys must not need XML unescaping (WAL names,
# walferry.info and walferry's own subfolders do not).
ceph_s3_list() {
  local prefix=$1 token="" code query
  while :; do
    query="list-type=2&prefix=$(ceph_urlencode "$prefix")"
    [[ -z "$token" ]] || query="continuation-token=$(ceph_urlencode "$token")&$query"
    code=$(ceph_s3 GET "/$CEPH_BUCKET?$query")
    [[ "$code" == 200 ]] || fail "ListObjectsV2 $prefix: HTTP $code $(head -c 300 "$CEPH_S3_BODY")"
    grep -o '<Key>[^<]*</Key>' "$CEPH_S3_BODY" | sed 's/<Key>\(.*\)<\/Key>/\1/' || true
    grep -q '<IsTruncated>true</IsTruncated>' "$CEPH_S3_BODY" || return 0
    token=$(grep -o '<NextContinuationToken>[^<]*</NextContinuationToken>' "$CEPH_S3_BODY" |
      sed 's/<[^>]*>//g')
  done
}

# ceph_urlencode STRING: percent-encode all but RFC 3986's unreserved characters.
ceph_urlencode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
    [A-Za-z0-9._~-]) out+=$c ;;
    *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

# ceph_destination NAME PREFIX [TOML_LINE...]: a walferry.toml [[destination]] block for
# s3://$CEPH_BUCKET/PREFIX on this RGW (path style, the test CA, the secret file), then the extra
# lines.
ceph_destination() {
  local name=$1 prefix=$2
  shift 2
  printf '[[destination]]\nname = "%s"\nurl = "s3://%s/%s"\nendpoint = "%s"\nregion = "%s"\n' \
    "$name" "$CEPH_BUCKET" "$prefix" "$CEPH_ENDPOINT" "$CEPH_REGION"
  printf 'uri_style = "path"\naccess_key_id = "%s"\nsecret_access_key_file = "%s"\nca_file = "%s"\n' \
    "$CEPH_ACCESS_KEY" "$CEPH_SECRET_FILE" "$CEPH_CA"
  (($# == 0)) || printf '%s\n' "$@"
}
