#!/usr/bin/env bash
# The sftp:// and s3:// backends are modules (lib/walferry/store-sftp.so, store-s3.so) that the
# commands load from a fixed place relative to their own executable, only when a call opens such
# a store. No server is needed: an sftp:// destination on a port nobody listens on is enough to
# tell a loaded backend ("cannot connect", WF012) from one that is not (WF014).
# (1) with the modules in place each backend is loaded and reached;
# (2) in a copy of the binaries without the modules, --version and a push to a local archive work
#     (nothing loads what the call does not use); a call that opens an sftp:// or s3:// store
#     fails with one line naming the missing file (WF014: an installation problem), exit 10 from
#     walferry-push and 255 from walferry-fetch --mode recovery (stop, not "not found");
# (3) neither the environment (LD_LIBRARY_PATH) nor the working directory can supply a module;
# (4) a module of another build, a module of the other scheme and a file that is no shared
#     object are refused with one line each, naming the file;
# (5) what the dynamic linker loads (LD_DEBUG=files): --version none of libcrypto, libssh2 and
#     libcurl; a push to a local archive libcrypto (for SHA-256, the system's libcrypto.so.3,
#     loaded when it hashes) but neither backend.
#
# Environment: WALFERRY_BIN_DIR (set by ctest), WALFERRY_KEEP=1 keeps the work dir.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

e2e_setup walferry-push walferry-fetch walferry-test-foreign-store.so
note "work dir $E2E_WORK, user $E2E_USER, modules in $E2E_MODULE_DIR"
unset WALFERRY_CONFIG

MODULE_REL=${E2E_MODULE_DIR#"$E2E_WORK"/} # e.g. lib/walferry, as below the bin directory's parent
HISTORY=$E2E_WORK/00000002.history
ARCHIVE=$E2E_WORK/archive
SFTP=sftp://nobody@127.0.0.1:1/archive # nothing listens on port 1
S3=s3://walferry-test/archive
# shellcheck disable=SC2016 # sh -c reads its argument as $1
e2e_as_user sh -c 'printf "1\t0/3000000\tno recovery target specified\n" >"$1"' _ "$HISTORY"
e2e_mkdir "$ARCHIVE" "$E2E_WORK/archive2"
# Only the spool from the config (the destinations come from the command line).
CFG=$E2E_WORK/walferry.toml
printf 'spool = "%s"\n' "$E2E_WORK/spool" >"$CFG"
chmod 644 "$CFG"

# copy_without_modules NAME: a copy of walferry-push and walferry-fetch in $E2E_WORK/NAME/bin
# with an empty module directory where they look for modules; prints the module directory.
copy_without_modules() {
  local root=$E2E_WORK/$1
  mkdir -p "$root/bin" "$root/$MODULE_REL"
  install -m 755 "$(walferry_bin walferry-push)" "$(walferry_bin walferry-fetch)" "$root/bin"
  chmod -R a+rX "$root"
  echo "$root/$MODULE_REL"
}

# refused_with WHAT STATUS REGEX: the last run exited STATUS with one line on stderr matching REGEX.
refused_with() {
  expect_rc "$2" "$1"
  expect_stderr_lines 1 "$1"
  expect_stderr_matches "$3" "$1"
}

# fetch_stopped WHAT REGEX: the last fetch exited 255 (recovery stops), its one line about the
# source matching REGEX, then its summary (both WF014).
fetch_stopped() {
  expect_rc 255 "$1"
  expect_stderr_lines 2 "$1"
  expect_stderr_matches "$2" "$1"
  expect_stderr_matches 'no usable copy of "00000002\.history" in 1 source\(s\); stopping recovery.*\(WF014\)$' "$1"
}

note "(1) the modules in place: each backend loaded and asked"
run "$(walferry_bin walferry-push)" -c "$CFG" "$HISTORY" "$SFTP"
expect_stderr_matches 'cannot connect to nobody@127\.0\.0\.1:1.*\(WF012\)' "push to $SFTP"
run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$(walferry_bin walferry-push)" -c "$CFG" "$HISTORY" "$S3"
expect_stderr_matches 'no access key.*\(WF010\)' "push to $S3 (the backend checks credentials)"

note "(2) without the modules"
bare=$(copy_without_modules bare)
BARE_PUSH=$E2E_WORK/bare/bin/walferry-push
BARE_FETCH=$E2E_WORK/bare/bin/walferry-fetch
run "$BARE_PUSH" --version
expect_rc 0 "--version without modules"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$ARCHIVE"
expect_rc 0 "push to a local archive without modules"
expect_stderr_empty "push to a local archive without modules"
check "the local push stored the file" test -f "$ARCHIVE/00000002.history.zst"
missing="cannot load the sftp:// backend \"$bare/store-sftp.so\": cannot open shared object file"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
refused_with "push to sftp:// without its module" 10 "^walferry-push: error: $missing.*\(WF014\)$"
run "$BARE_FETCH" -c "$CFG" --mode recovery 00000002.history "$E2E_WORK/restored" "$SFTP"
fetch_stopped "fetch --mode recovery from sftp:// without its module" "$missing.*\(WF014\)$"
check "nothing restored" test ! -e "$E2E_WORK/restored"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$S3"
refused_with "push to s3:// without its module" 10 \
  "cannot load the s3:// backend \"$bare/store-s3.so\": cannot open shared object file.*\(WF014\)$"
# One module there, the other not: each is loaded on its own.
install -m 644 "$E2E_MODULE_DIR/store-sftp.so" "$bare/"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
expect_stderr_matches '\(WF012\)' "push to sftp:// with store-sftp.so only"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$S3"
expect_stderr_matches 'store-s3\.so.*\(WF014\)' "push to s3:// with store-sftp.so only"
rm "$bare/store-sftp.so"

note "(3) the environment and the working directory supply no module"
mkdir -p "$E2E_WORK/cwd/$MODULE_REL" "$E2E_WORK/cwd/bin"
cp "$E2E_MODULE_DIR/store-sftp.so" "$E2E_WORK/cwd/$MODULE_REL/"
cp "$E2E_MODULE_DIR/store-sftp.so" "$E2E_WORK/cwd/"
chmod -R a+rX "$E2E_WORK/cwd"
run env "LD_LIBRARY_PATH=$E2E_WORK/cwd:$E2E_WORK/cwd/$MODULE_REL" "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
refused_with "LD_LIBRARY_PATH naming a module" 10 "$missing"
run_in "$E2E_WORK/cwd/bin" "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
refused_with "a module below the working directory" 10 "$missing"

note "(4) modules that are not this build's sftp:// backend"
install -m 644 "$(walferry_bin walferry-test-foreign-store.so)" "$bare/store-sftp.so"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
refused_with "a module of another build" 10 \
  "the sftp:// backend \"$bare/store-sftp.so\" belongs to another walferry build \(built as \"walferry-0\.0\.0-foreignbuild0000\", this program as \"walferry-[^\"]+\"\).*\(WF014\)$"
install -m 644 "$E2E_MODULE_DIR/store-s3.so" "$bare/store-sftp.so"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
refused_with "the s3:// module as store-sftp.so" 10 \
  "the sftp:// backend \"$bare/store-sftp.so\" does not serve sftp://.*\(WF014\)$"
printf 'not a shared object\n' >"$bare/store-sftp.so"
run "$BARE_PUSH" -c "$CFG" "$HISTORY" "$SFTP"
refused_with "a file that is no shared object" 10 \
  "cannot load the sftp:// backend \"$bare/store-sftp.so\": .*(invalid ELF header|file too short).*\(WF014\)$"
run "$BARE_FETCH" -c "$CFG" --mode recovery 00000002.history "$E2E_WORK/restored" "$SFTP"
fetch_stopped "fetch --mode recovery with a broken module" "store-sftp\.so\": .*\(WF014\)$"

note "(5) what each call loads"
# loaded LIB: the last run's LD_DEBUG=files output shows LIB (a soname prefix) loaded.
loaded() { grep -qE "file=$1[^ ]* \[[0-9]+\];  (needed|dynamically loaded) by" "$ERR"; }
run env LD_DEBUG=files "$(walferry_bin walferry-push)" --version
expect_rc 0 "--version"
check "LD_DEBUG=files shows the loading at all" loaded libstdc++
for lib in libcrypto libssh2 libcurl; do
  check_not "--version loads $lib" loaded "$lib"
done
run env LD_DEBUG=files "$(walferry_bin walferry-push)" -c "$CFG" "$HISTORY" "$E2E_WORK/archive2"
expect_rc 0 "push to a local archive"
check "a push that hashes loads libcrypto" loaded libcrypto.so.3
check "libcrypto is loaded on demand" grep -qE 'file=libcrypto\.so\.3 \[[0-9]+\];  dynamically loaded by' "$ERR"
for lib in libssh2 libcurl; do
  check_not "a push to a local archive loads $lib" loaded "$lib"
done

assert_done
