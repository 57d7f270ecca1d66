#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The command lines of the built hibernatectl and hibernated, as a user (or a script reading
# --json) meets them: --version everywhere, COMMAND --help and help COMMAND, --json errors
# as one JSON object, a missing --config as an error.  Needs no patched kernel, no root.
#
#   test-cli.sh HIBERNATECTL HIBERNATED VERSION SHIPPED_HIBERNATE_CONF
set -u
ctl=$1 daemon=$2 version=$3 shipped_conf=$4
fails=0 n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HIBERNATECTL_NO_DAEMON=1
unset HIBERNATE_CONF

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
# expect NAME RC CMD...: CMD exits RC; stdout in $tmp/out, stderr in $tmp/err
expect() {
	local name=$1 want=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$want" ]; then
		ok "$name"
	else
		not_ok "$name: exit $rc, wanted $want (stderr: $(head -c 300 "$tmp/err"))"
	fi
}
# is_json_error MSG_SUBSTRING EXIT: stdout is one object {"error": ..., "exit_status": EXIT}
is_json_error() {
	python3 - "$tmp/out" "$1" "$2" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert sys.argv[2] in o["error"], o
assert o["exit_status"] == int(sys.argv[3]), o
PY
}
check() { if "$@"; then ok "$label"; else not_ok "$label"; fi; }

# --version: exit 0, the meson project version, for every command too.
expect "hibernatectl --version" 0 "$ctl" --version
label="hibernatectl --version prints $version"; check grep -qx "hibernatectl $version" "$tmp/out"
expect "hibernatectl -V" 0 "$ctl" -V
for cmd in freeze thaw status hibernate resume "image info" "image verify" check recover \
	   "policy check"; do
	# shellcheck disable=SC2086
	expect "hibernatectl $cmd --version" 0 "$ctl" $cmd --version
	label="hibernatectl $cmd --version prints $version"
	check grep -qx "hibernatectl $version" "$tmp/out"
	# shellcheck disable=SC2086
	expect "hibernatectl $cmd --help" 0 "$ctl" $cmd --help
	label="hibernatectl $cmd --help is that command's"
	check grep -q "^Usage: hibernatectl $cmd" "$tmp/out"
	cp "$tmp/out" "$tmp/help1"
	# shellcheck disable=SC2086
	expect "hibernatectl help $cmd" 0 "$ctl" help $cmd
	label="hibernatectl help $cmd is $cmd --help"; check cmp -s "$tmp/out" "$tmp/help1"
done
expect "hibernatectl --help" 0 "$ctl" --help
label="hibernatectl --help lists the commands"; check grep -q "^Commands:" "$tmp/out"
expect "hibernatectl help nosuch: usage error" 2 "$ctl" help nosuch
expect "hibernated --version" 0 "$daemon" --version
label="hibernated --version prints $version"; check grep -qx "hibernated $version" "$tmp/out"
expect "hibernated --help" 0 "$daemon" --help
expect "hibernated --bogus: usage error" 2 "$daemon" --bogus

# A missing --config is an error, never the defaults; under --json a JSON error.
for cmd in check recover resume "image info $tmp/none" "image verify $tmp/none"; do
	# shellcheck disable=SC2086
	expect "hibernatectl $cmd --config missing: exit 1" 1 "$ctl" $cmd --config "$tmp/missing.conf"
	label="hibernatectl $cmd --config missing: says so"
	check grep -q "missing.conf does not exist" "$tmp/err"
done
expect "check --json --config missing: exit 1" 1 "$ctl" check --json --config "$tmp/missing.conf"
label="check --json --config missing: JSON error"
check is_json_error "missing.conf does not exist" 1
HIBERNATE_CONF=$tmp/missing.conf expect "HIBERNATE_CONF missing: exit 1" 1 "$ctl" check
printf '[protect]\nbogus = 1\n' >"$tmp/bad.conf"
expect "check --json with a bad --config: exit 1" 1 "$ctl" check --json --config "$tmp/bad.conf"
label="check --json with a bad --config: JSON error naming the line"
check is_json_error "bad.conf:2: unknown key 'bogus'" 1
expect "image info --json --config missing" 1 "$ctl" image info "$tmp/none" --json \
	--config "$tmp/missing.conf"
label="image info --json --config missing: JSON error"
check is_json_error "missing.conf does not exist" 1

# Usage errors under --json: one JSON object on stdout, exit 2, the text on stderr.
expect "check --json --bogus: exit 2" 2 "$ctl" check --json --bogus
label="check --json --bogus: JSON error"; check is_json_error "unknown option '--bogus'" 2
label="check --json --bogus: message on stderr"; check grep -q "unknown option" "$tmp/err"
expect "status --json extra: exit 2" 2 "$ctl" status --json extra
label="status --json extra: JSON error"; check is_json_error "takes no arguments" 2
expect "policy check --json --policy-dir D FILE: exit 2" 2 "$ctl" policy check --json \
	--policy-dir /x /y
label="policy check --json, dir and files: JSON error"; check is_json_error "not both" 2
expect "no --json, usage error: nothing on stdout" 2 "$ctl" check --bogus
label="no --json: stdout empty"; check test ! -s "$tmp/out"

# policy check --json: an unreadable policy "directory" (a file) is a JSON error.
: >"$tmp/notadir"
expect "policy check --json --policy-dir FILE: exit 1" 1 "$ctl" policy check --json \
	--policy-dir "$tmp/notadir"
label="policy check --json --policy-dir FILE: JSON error"; check is_json_error "notadir" 1

# The shipped hibernate.conf parses as it is (everything commented out), and with every
# example setting uncommented (but passphrase-file: it excludes key-file).
is_check_result() {
	python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); assert "can_hibernate" in o, o' \
		"$tmp/out"
}
"$ctl" check --json --config "$shipped_conf" >"$tmp/out" 2>"$tmp/err"
label="the shipped hibernate.conf is accepted"; check is_check_result
sed -E 's/^# ([a-z0-9-]+ = )/\1/; /^passphrase-file/d' "$shipped_conf" >"$tmp/all.conf"
label="the shipped hibernate.conf's examples uncommented: every key"
check test "$(grep -cE '^[a-z0-9-]+ = ' "$tmp/all.conf")" -ge 20
"$ctl" check --json --config "$tmp/all.conf" >"$tmp/out" 2>"$tmp/err"
label="the shipped hibernate.conf's examples uncommented are accepted"; check is_check_result

echo "1..$n"
[ "$fails" = 0 ]
