# Shared by the end-to-end tests: start/stop the real daemon, assertions.
# Each test is a bash script that sources this file; a failed assertion
# exits non-zero with a message. Traffic stays on 127.0.0.0/8 and ::1.

set -euo pipefail

: "${PBXGUARD:?set PBXGUARD to the pbxguard binary}"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
T=$(mktemp -d /tmp/pbxguard-e2e.XXXXXX)
DAEMON_PID=
trap 'cleanup' EXIT

cleanup() {
	local rc=$?
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if [ $rc -ne 0 ] && [ -f "$T/daemon.log" ]; then
		echo "--- daemon log (last 30 lines) ---" >&2
		tail -n 30 "$T/daemon.log" >&2
	fi
	if [ -n "${E2E_KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
	exit $rc
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	echo "  ok: $*"
}

# Writes a config for port $1 with the userdb $2 and extra auth options $3.
write_conf() {
	local port=$1 userdb=$2 extra=${3:-}
	cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
[module::Authentication]
auth-domains = example.org 127.0.0.1
file-path = $userdb
$extra
[sip]
transports = udp:127.0.0.1:$port tcp:127.0.0.1:$port udp:[::1]:$port
CONF
}

start_daemon() {
	"$PBXGUARD" serve -c "${1:-$T/pbxguard.conf}" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 1 100); do
		grep -q "pbxguard ready" "$T/daemon.log" 2>/dev/null && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited at start: $(cat "$T/daemon.log")"
		sleep 0.05
	done
	fail "daemon did not become ready"
}

# Stops the daemon; it must exit 0 with no sanitizer report.
stop_daemon() {
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ $rc -eq 0 ] || fail "daemon exited with status $rc"
	if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/daemon.log"; then
		fail "sanitizer report in the daemon log"
	fi
}

# users.csv for sipp: user;[authentication username=.. password=..]
make_users() { # $1 = file, $2 = count, $3 = prefix
	local f=$1 n=$2 prefix=${3:-u}
	echo SEQUENTIAL >"$f"
	for i in $(seq 1 "$n"); do
		echo "$prefix$i;[authentication username=$prefix$i password=pw-$prefix$i-Secret]"
	done >>"$f"
}

# A userdb with n users prefix1..prefixN@example.org, written by our own tool.
make_userdb() { # $1 = file, $2 = count, $3 = prefix
	printf 'version:1\n' >"$1"
	for i in $(seq 1 "$2"); do
		printf 'pw-%s%s-Secret\n' "$3" "$i" | "$PBXGUARD" userdb add "$1" "$3$i@example.org" >/dev/null
	done
}

count() { grep -c -- "$1" "$2" || true; }
