# shellcheck shell=bash
# tests/e2e/sshd_lib.sh: real OpenSSH servers ("standby hosts") for the sftp:// end-to-end tests.
# Source it after lib.sh, then call sshd_setup after e2e_setup:
#
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/sshd_lib.sh"
#   e2e_setup walferry-push walferry-fetch
#   sshd_setup                          # user key, known_hosts, every sshd stopped at exit
#   sshd_start sb1 127.0.0.2            # own host key, free port, `sshd -D` in the background
#   sshd_destination sb1 "$E2E_WORK/sb1/archive" >>"$cfg"   # a [[destination]] for it
#
# What it guarantees:
# - The sshd of openssh-server, never the system's instance or config: `sshd -D -e -f <own config>`
#   with its own host keys (ed25519 unless other types are given), PidFile and log in
#   $E2E_WORK/sshd-<name>, ListenAddress <127.0.0.x>:<free port> only (checked once it listens).
# - Logins by public key only, as the test user $E2E_USER (lib.sh's walferry-test when root, else
#   the current user), with one generated ed25519 key ($SSHD_USER_KEY) authorized on every server.
#   $SSHD_KNOWN_HOSTS lists every started server's host keys as "[host]:port type key".
# - SFTP is internal-sftp: the same code as /usr/lib/openssh/sftp-server (SSH_FXP_RENAME as link()
#   + unlink(), never replacing), and it needs no login shell (the test user's is nologin).
# - UsePAM yes: as root, the test user's password is locked ("!"), and sshd without PAM refuses a
#   locked account even for a key; PAM's account check does not.
# - At exit (normal, failure, INT, TERM) every sshd this test started is stopped before lib.sh's
#   clean-up runs (sshd_setup chains the EXIT trap); if the test's shell is killed outright, a
#   detached watchdog per server stops it. Server logs are printed with the others on failure.
#
# Naming: sshd_* functions; per-server facts in SSHD_HOST/PORT/PID/DIR[<name>].

# shellcheck source=tests/e2e/assert_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/assert_lib.sh"

declare -gA SSHD_HOST=() SSHD_PORT=() SSHD_PID=() SSHD_DIR=()
SSHD_USER_KEY=""
SSHD_KNOWN_HOSTS=""
SSHD_PREVIOUS_EXIT_TRAP=""
SSHD_BIN=${WALFERRY_SSHD:-/usr/sbin/sshd}

# sshd_setup: the user key pair and an empty known_hosts in $E2E_WORK/ssh (owned by the test user,
# who runs walferry), /run/sshd when root, and the EXIT trap chain. Call after e2e_setup.
sshd_setup() {
  [[ -n "$E2E_WORK" ]] || fail "sshd_setup: call e2e_setup first"
  [[ -x "$SSHD_BIN" ]] || fail "$SSHD_BIN not found (install openssh-server)"
  command -v ssh-keygen >/dev/null || fail "ssh-keygen not found (install openssh-client)"
  # sshd as root insists on its privilege separation directory.
  if ((EUID == 0)) && [[ ! -d /run/sshd ]]; then
    mkdir -p /run/sshd && chmod 755 /run/sshd
  fi
  e2e_mkdir "$E2E_WORK/ssh"
  SSHD_USER_KEY=$E2E_WORK/ssh/id_ed25519
  SSHD_KNOWN_HOSTS=$E2E_WORK/ssh/known_hosts
  e2e_as_user ssh-keygen -q -t ed25519 -N '' -C walferry-e2e-user -f "$SSHD_USER_KEY" </dev/null ||
    fail "cannot generate the user key"
  e2e_as_user touch "$SSHD_KNOWN_HOSTS"
  local -a words=()
  eval "words=($(trap -p EXIT))"  # trap -- 'COMMAND' EXIT
  SSHD_PREVIOUS_EXIT_TRAP=${words[2]:-}
  trap 'sshd_on_exit $?' EXIT
}

# sshd_on_exit STATUS: the EXIT trap: stop the servers, then run the trap that was there before
# with STATUS as $?.
sshd_on_exit() {
  local status=$1
  set +e
  sshd_stop_all
  (exit "$status")
  eval "$SSHD_PREVIOUS_EXIT_TRAP"
}

# sshd_start NAME HOST [KEY_TYPE...]: a new sshd NAME on HOST (127.0.0.x) and a free port, with
# host keys of the given types (default ed25519), their lines added to $SSHD_KNOWN_HOSTS.
sshd_start() {
  local name=$1 host=$2 port dir type
  shift 2
  (($#)) || set -- ed25519
  [[ "$name" =~ ^[a-z][a-z0-9_]*$ ]] || fail "bad sshd name '$name'"
  [[ -z "${SSHD_DIR[$name]:-}" ]] || fail "sshd $name exists already"
  [[ "$host" =~ ^127\.0\.0\.[0-9]{1,3}$ ]] || fail "sshd listens on 127.0.0.x only, not '$host'"
  dir=$E2E_WORK/sshd-$name
  mkdir -p "$dir"
  e2e_free_port port
  SSHD_HOST[$name]=$host SSHD_PORT[$name]=$port SSHD_DIR[$name]=$dir
  # shellcheck disable=SC2034 # lib.sh prints every E2E_NODE_LOG when the test fails
  E2E_NODE_LOG["sshd-$name"]=$dir/sshd.log
  local authorized=$dir/authorized_keys
  install -m 644 "$SSHD_USER_KEY.pub" "$authorized"
  {
    echo "ListenAddress $host:$port"
    for type; do
      ssh-keygen -q -t "$type" -N '' -C "walferry-e2e-$name" -f "$dir/host_$type" </dev/null ||
        fail "cannot generate a $type host key"
      echo "HostKey $dir/host_$type"
    done
    cat <<EOF
PidFile $dir/sshd.pid
AuthorizedKeysFile $authorized
AllowUsers $E2E_USER
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
StrictModes no
UsePAM yes
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
  } >"$dir/sshd_config"
  "$SSHD_BIN" -t -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 ||
    fail "sshd $name: bad config: $(cat "$dir/sshd.log")"
  "$SSHD_BIN" -D -e -f "$dir/sshd_config" </dev/null >>"$dir/sshd.log" 2>&1 {E2E_ERR}>&- &
  SSHD_PID[$name]=$!
  sshd_watchdog "$name"
  e2e_wait_for 60 "sshd $name to listen on $host:$port" sshd_listening "$name"
  local actual
  actual=$(ss -Htln "( sport = :$port )" | awk '{ print $4 }' | sort -u | paste -sd ' ')
  [[ "$actual" == "$host:$port" ]] || fail "sshd $name listens on '$actual', expected only $host:$port"
  for type; do
    printf '[%s]:%s %s\n' "$host" "$port" "$(cut -d' ' -f1,2 "$dir/host_$type.pub")" |
      e2e_as_user tee -a "$SSHD_KNOWN_HOSTS" >/dev/null
  done
}

# sshd_listening NAME: true once NAME's sshd runs and listens on its address.
sshd_listening() {
  kill -0 "${SSHD_PID[$1]}" 2>/dev/null &&
    [[ -n "$(ss -Htln "( sport = :${SSHD_PORT[$1]} )")" ]]
}

# sshd_watchdog NAME: a detached process that stops NAME's sshd once this test's shell is gone
# (it checks the pid still runs NAME's config, so a reused pid is never hit).
sshd_watchdog() {
  local pid=${SSHD_PID[$1]} config=${SSHD_DIR[$1]}/sshd_config
  # shellcheck disable=SC2016 # the script is for the watchdog's bash
  setsid -f bash -c '
    parent=$1 pid=$2 config=$3
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    if tr "\0" " " <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$config"; then
      kill -CONT "$pid"; kill -TERM "$pid"; sleep 2; kill -KILL "$pid"
    fi
  ' sshd-watchdog "$$" "$pid" "$config" </dev/null >/dev/null 2>&1 {E2E_ERR}>&-
}

# sshd_pause NAME / sshd_resume NAME: SIGSTOP / SIGCONT the listener. While paused the kernel
# still accepts connections, but no banner ever comes: a host that answers TCP and nothing else.
# sshd_resume returns once the server answers a new connection again: first it must accept and
# fork a child for every connection queued while it was stopped, which on a busy machine takes
# longer than a short io_timeout (the cause of a flake).
sshd_pause() { kill -STOP "${SSHD_PID[$1]}"; }
sshd_resume() {
  kill -CONT "${SSHD_PID[$1]}"
  sshd_wait_answering "$1"
}

# sshd_answering NAME: true when a new connection to NAME's sshd gets the SSH banner (each try
# is given 30 s; a try sshd drops under MaxStartups, or one still queued, is just retried).
sshd_answering() {
  local banner
  # shellcheck disable=SC2016 # the script is for the probe's bash
  banner=$(timeout 30 bash -c 'exec 3<>"/dev/tcp/$1/$2" && head -c 4 <&3' sshd-probe \
    "${SSHD_HOST[$1]}" "${SSHD_PORT[$1]}" 2>/dev/null) && [[ $banner == SSH- ]]
}

# sshd_wait_answering NAME: waits (up to 180 s) until NAME's sshd answers a new connection.
sshd_wait_answering() { e2e_wait_for 180 "sshd $1 to answer a new connection" sshd_answering "$1"; }

# sshd_stop NAME: TERM (KILL after 5 s) and wait; never fails.
sshd_stop() {
  local pid=${SSHD_PID[$1]:-}
  [[ -n "$pid" ]] || return 0
  kill -CONT "$pid" 2>/dev/null
  kill -TERM "$pid" 2>/dev/null
  for _ in {1..50}; do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    printf 'warning: had to kill sshd %s (pid %s)\n' "$1" "$pid" >&"$E2E_ERR"
  fi
  wait "$pid" 2>/dev/null || true
  SSHD_PID[$1]=""
}

# sshd_restart NAME: a stopped server again, same config, keys and port.
sshd_restart() {
  local name=$1 dir=${SSHD_DIR[$1]}
  "$SSHD_BIN" -D -e -f "$dir/sshd_config" </dev/null >>"$dir/sshd.log" 2>&1 {E2E_ERR}>&- &
  SSHD_PID[$name]=$!
  sshd_watchdog "$name"
  e2e_wait_for 60 "sshd $name to listen again" sshd_listening "$name"
}

# sshd_stop_all: every sshd this test started.
sshd_stop_all() {
  local name
  for name in "${!SSHD_PID[@]}"; do sshd_stop "$name"; done
}

# sshd_url NAME DIR: sftp://<user>@<host>:<port><DIR>
sshd_url() { printf 'sftp://%s@%s:%s%s' "$E2E_USER" "${SSHD_HOST[$1]}" "${SSHD_PORT[$1]}" "$2"; }

# sshd_destination NAME DIR [TOML_LINE...]: a walferry.toml [[destination]] block for NAME's
# archive DIR, with the user key and $SSHD_KNOWN_HOSTS, then the extra lines.
sshd_destination() {
  local name=$1 dir=$2
  shift 2
  printf '[[destination]]\nname = "%s"\nurl = "%s"\nidentity = "%s"\nknown_hosts = "%s"\n' \
    "$name" "$(sshd_url "$name" "$dir")" "$SSHD_USER_KEY" "$SSHD_KNOWN_HOSTS"
  (($# == 0)) || printf '%s\n' "$@"
}

# sshd_fingerprint NAME [KEY_TYPE]: the SHA256 fingerprint of NAME's host key (default ed25519).
sshd_fingerprint() {
  ssh-keygen -l -E sha256 -f "${SSHD_DIR[$1]}/host_${2:-ed25519}.pub" | awk '{ print $2 }'
}

# sshd_push_setup SEGMENTS NAME...: what the push tests against sshd hosts start with: e2e_setup
# with walferry-push, sshd_setup, an sshd NAME on 127.0.0.2, the next on 127.0.0.3 ..., each with
# an empty archive directory $E2E_WORK/<NAME>/archive; segments 1..SEGMENTS (seed = segment
# number) in $SRC; PUSH, SRC, SPOOL (made) and CFG (not written) set.
sshd_push_setup() {
  local segments=$1 name host=2 n
  shift
  e2e_setup walferry-push walferry-test-make-segment
  sshd_setup
  for name; do
    sshd_start "$name" "127.0.0.$host"
    e2e_mkdir "$E2E_WORK/$name/archive"
    host=$((host + 1))
  done
  # shellcheck disable=SC2034 # read by the tests
  PUSH=$(walferry_bin walferry-push) CFG=$E2E_WORK/walferry.toml
  SRC=$E2E_WORK/src
  SPOOL=$E2E_WORK/spool
  e2e_mkdir "$SRC" "$SPOOL"
  for ((n = 1; n <= segments; n++)); do
    e2e_as_user "$(walferry_bin walferry-test-make-segment)" --segno "$n" --seed "$n" \
      --out "$SRC" >/dev/null || fail "walferry-test-make-segment --segno $n failed"
  done
}
